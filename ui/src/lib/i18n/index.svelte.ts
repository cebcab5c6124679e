// Every word the app shows, in English and Spanish, through one i18next instance shared by
// the staff screens and the family kiosk. Components call `t("lock.title")`; the keys are
// checked by the compiler against the English dictionary, and `i18n.test.ts` checks that
// Spanish has every key, every plural form and every {{placeholder}}.
//
// Which language: the signed-in person's own choice, else the device's, else English.
// Dates and times are shown in the facility's time zone, not the device's clock zone: a
// laptop brought from another state still says when things happened at the facility.

import i18next, { type TFunction } from "i18next";
import { resources, type Language } from "./resources";

export { LANGUAGES, type Language } from "./resources";

/** The BCP 47 tag dates and numbers are formatted with: US English and US Spanish. */
const LOCALE_TAGS: Record<Language, string> = { en: "en-US", es: "es-US" };

/** Each language's own name, for language pickers (a Spanish reader finds "Español"). */
export const LANGUAGE_NAMES: Record<Language, string> = { en: "English", es: "Español" };

const instance = i18next.createInstance();
void instance.init({
  resources,
  lng: "en",
  fallbackLng: false,
  supportedLngs: ["en", "es"],
  // Svelte escapes what it renders; escaping here too would show "&amp;".
  interpolation: { escapeValue: false },
  returnNull: false,
  // The dictionaries are bundled: initialise synchronously so the first render has words.
  initAsync: false,
});

const choice = $state({
  device: "en" as Language,
  user: null as Language | null,
  /** A screen's own choice (the family kiosk's toggle), above both. */
  override: null as Language | null,
  timeZone: undefined as string | undefined,
});

/** The language shown now. Reading it in a template or `$derived` re-renders on a change. */
export function currentLanguage(): Language {
  return choice.override ?? choice.user ?? choice.device;
}

/** The device's own language (what the lock screen shows; a person's own choice aside). */
export function deviceLanguage(): Language {
  return choice.device;
}

/** The BCP 47 tag of the language shown now (for `lang` attributes and Intl). */
export function localeTag(): string {
  return LOCALE_TAGS[currentLanguage()];
}

// `t` below is the checked interface; underneath, keys are plain strings.
const untypedT = instance.t.bind(instance) as unknown as (key: string | string[], options: Record<string, unknown>) => string;

/**
 * Translates a key in the language shown now. Typed as i18next's own `t`, so a key that
 * is not in the English dictionary does not compile.
 */
export const t: TFunction = ((key: string | string[], options?: Record<string, unknown>) =>
  untypedT(key, { ...options, lng: currentLanguage() })) as unknown as TFunction;

function isLanguage(value: unknown): value is Language {
  return value === "en" || value === "es";
}

/** The device's language (set on the device, used when nobody with a preference is signed in). */
export function setDeviceLanguage(language: Language | null | undefined): void {
  choice.device = isLanguage(language) ? language : "en";
}

/** The signed-in person's preferred language; `null` when signed out or without a preference. */
export function setUserLanguage(language: Language | null | undefined): void {
  choice.user = isLanguage(language) ? language : null;
}

/** A screen's own language choice above the device's and the person's; `null` to drop it. */
export function setScreenLanguage(language: Language | null): void {
  choice.override = language;
}

/** The facility's IANA time zone; unknown (before the first sync) means the device's own. */
export function setTimeZone(timeZone: string | null | undefined): void {
  choice.timeZone = timeZone && isTimeZone(timeZone) ? timeZone : undefined;
}

export function currentTimeZone(): string | undefined {
  return choice.timeZone;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function toDate(value: string | number | Date): Date | null {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Formats an instant in the shown language and the facility's time zone ("" when it does not parse). */
export function formatInstant(value: string | number | Date, options: Intl.DateTimeFormatOptions): string {
  const date = toDate(value);
  if (!date) return "";
  return new Intl.DateTimeFormat(localeTag(), { ...options, timeZone: options.timeZone ?? choice.timeZone }).format(date);
}

/** "3:05 PM" / "15:05": a time of day at the facility. */
export function formatTime(value: string | number | Date): string {
  return formatInstant(value, { hour: "numeric", minute: "2-digit" });
}

/** "Mar 14" / "14 mar": a short date at the facility. */
export function formatShortDate(value: string | number | Date): string {
  return formatInstant(value, { month: "short", day: "numeric" });
}

/** "Saturday, March 14" / "sábado, 14 de marzo": a long date at the facility. */
export function formatLongDate(value: string | number | Date): string {
  return formatInstant(value, { weekday: "long", month: "long", day: "numeric" });
}

/** "Mar 14, 3:05 PM": a short date and time at the facility. */
export function formatDateTime(value: string | number | Date): string {
  return formatInstant(value, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
}

/** "1,234" / "1234": a count in the shown language. */
export function formatNumber(value: number): string {
  return new Intl.NumberFormat(localeTag()).format(value);
}
