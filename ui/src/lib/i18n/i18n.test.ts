import { afterEach, describe, expect, it } from "vitest";
import {
  currentLanguage,
  formatLongDate,
  formatTime,
  setDeviceLanguage,
  setScreenLanguage,
  setTimeZone,
  setUserLanguage,
  t,
} from "./index.svelte";
import { LANGUAGES, english, spanish, type Language } from "./resources";

const PLURAL_SUFFIX = /_(zero|one|two|few|many|other)$/;

/** Every leaf of a dictionary as "part.key" → text. */
function leaves(tree: unknown, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === "string") out.set(path, value);
    else for (const [k, v] of leaves(value, path)) out.set(k, v);
  }
  return out;
}

function placeholders(text: string): string[] {
  return [...text.matchAll(/\{\{\s*([\w.]+)\s*(?:,[^}]*)?\}\}/g)].map((m) => m[1] ?? "").sort();
}

const dictionaries: Record<Language, unknown> = { en: english, es: spanish };

/** Base key (plural suffix removed) → its forms. */
function byBase(language: Language): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const [key, text] of leaves(dictionaries[language])) {
    const base = key.replace(PLURAL_SUFFIX, "");
    const forms = out.get(base) ?? new Map<string, string>();
    forms.set(key.slice(base.length) || "", text);
    out.set(base, forms);
  }
  return out;
}

describe("the dictionaries", () => {
  const en = byBase("en");
  const es = byBase("es");

  it("have every key in both languages", () => {
    const missingInSpanish = [...en.keys()].filter((k) => !es.has(k));
    const missingInEnglish = [...es.keys()].filter((k) => !en.has(k));
    expect(missingInSpanish).toEqual([]);
    expect(missingInEnglish).toEqual([]);
    expect(en.size).toBeGreaterThan(40);
  });

  it("have every plural form each language's grammar asks for", () => {
    for (const language of LANGUAGES) {
      const categories = new Intl.PluralRules(language).resolvedOptions().pluralCategories;
      for (const [base, forms] of byBase(language)) {
        if (forms.has("")) continue; // not a plural
        const missing = categories.filter((c) => !forms.has(`_${c}`) && !(c === "zero" || c === "two" || c === "few"));
        expect(missing, `${language}: ${base}`).toEqual([]);
      }
    }
  });

  it("use the same {{placeholders}} in both languages and no empty text", () => {
    for (const [base, enForms] of en) {
      const esForms = es.get(base);
      if (!esForms) continue;
      const names = (forms: Map<string, string>) =>
        [...new Set([...forms.values()].flatMap(placeholders).filter((p) => p !== "count"))].sort();
      expect(names(esForms), base).toEqual(names(enForms));
      for (const text of [...enForms.values(), ...esForms.values()]) expect(text.trim(), base).not.toBe("");
    }
  });
});

describe("the language shown", () => {
  afterEach(() => {
    setScreenLanguage(null);
    setUserLanguage(null);
    setDeviceLanguage("en");
    setTimeZone(null);
  });

  it("is the person's, else the device's, and a screen's own choice above both", () => {
    setDeviceLanguage("es");
    expect(currentLanguage()).toBe("es");
    expect(t("family.welcomeTitle")).toBe("Bienvenido");
    setUserLanguage("en");
    expect(t("family.welcomeTitle")).toBe("Welcome");
    setUserLanguage(null);
    expect(currentLanguage()).toBe("es");
    setScreenLanguage("en");
    expect(currentLanguage()).toBe("en");
  });

  it("fills placeholders and plural forms", () => {
    expect(t("family.messageHint", { count: 1 })).toBe("1 character left");
    expect(t("family.dayTitle", { name: "Ana" })).toBe("Ana's day");
    setDeviceLanguage("es");
    expect(t("family.messageHint", { count: 2 })).toBe("Quedan 2 caracteres");
    expect(t("family.dayTitle", { name: "Ana" })).toBe("El día de Ana");
  });

  it("ignores a language it does not have", () => {
    setDeviceLanguage("fr" as Language);
    expect(currentLanguage()).toBe("en");
  });
});

describe("dates and times", () => {
  afterEach(() => {
    setDeviceLanguage("en");
    setTimeZone(null);
  });

  // 02:30 UTC on 15 March is still the 14th, in the evening, in Chicago.
  const instant = "2026-03-15T02:30:00Z";

  it("are shown in the facility's time zone", () => {
    setTimeZone("America/Chicago");
    expect(formatTime(instant)).toBe("9:30 PM");
    expect(formatLongDate(instant)).toBe("Saturday, March 14");
    setTimeZone("Europe/Madrid");
    expect(formatTime(instant)).toBe("3:30 AM");
  });

  it("in the shown language", () => {
    setTimeZone("America/Chicago");
    setDeviceLanguage("es");
    expect(formatLongDate(instant)).toBe("sábado, 14 de marzo");
  });

  it("fall back to the device's zone for a zone that does not exist", () => {
    setTimeZone("America/Atlantis");
    expect(formatTime(instant)).toBe(new Date(instant).toLocaleTimeString("en-US", { hour: "numeric", minute: "2-digit" }));
  });
});
