// Break-glass (emergency) access in words and numbers: the reason's rule (from Rust,
// through DOMAIN_RULES), the time left, and the banner's sentence. Kept out of the
// components so each rule can be tested alone.

import { DOMAIN_RULES } from "./bindings";
import { t } from "./i18n/index.svelte";
import { formatClock } from "./nurse";

export const BREAK_GLASS = DOMAIN_RULES.break_glass;

/** What is wrong with a typed reason, or undefined when it may be sent. */
export function reasonProblem(reason: string): string | undefined {
  const length = [...reason.trim()].length;
  if (length < BREAK_GLASS.reason_min || length > BREAK_GLASS.reason_max) {
    return t("nurse.emergency.reasonProblem", { min: BREAK_GLASS.reason_min, max: BREAK_GLASS.reason_max });
  }
  return undefined;
}

/** Whole seconds until `expiresAt` (never negative). */
export function secondsLeft(expiresAt: string, now: Date = new Date()): number {
  const end = new Date(expiresAt).getTime();
  if (Number.isNaN(end)) return 0;
  return Math.max(0, Math.floor((end - now.getTime()) / 1000));
}

/** "12:04" or "1:02:04": what is left, for the countdown. */
export function formatCountdown(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

/** The banner's sentence while access lasts. */
export function bannerText(expiresAt: string): string {
  return t("nurse.emergency.banner", { time: formatClock(expiresAt) });
}
