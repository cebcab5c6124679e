// Wording for the admin console's device and enrollment-code tables, kept out of the
// components so each rule can be tested alone. Every label is looked up when it is
// called, in the language shown then.

import type { DeviceStatus, DeviceType, EncryptionPosture, SyncStatus } from "./bindings";
import { t } from "./i18n/index.svelte";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The device types in the order the register form offers them. */
export const DEVICE_TYPES: readonly DeviceType[] = ["WORKSTATION", "LAPTOP", "TABLET", "RASPBERRY_PI", "BADGE_READER"];

export function deviceStatusLabel(status: DeviceStatus): string {
  return t(`console.devices.statuses.${status}`);
}

export function syncStatusLabel(status: SyncStatus): string {
  return t(`console.devices.sync.${status}`);
}

/** Where the device keeps its database key, in words an administrator can judge. */
export function postureLabel(posture: EncryptionPosture | null | undefined, encryptionRequired: boolean): string {
  switch (posture) {
    case "keyring":
    case "server_bound":
    case "key_file":
      return t(`console.devices.posture.${posture}`);
    case "none":
      return encryptionRequired ? t("console.devices.posture.noneRequired") : t("console.devices.posture.none");
    default:
      return t("console.devices.posture.unknown");
  }
}

/** True when the posture needs the administrator's attention. */
export function postureIsUnsafe(posture: EncryptionPosture | null | undefined, encryptionRequired: boolean): boolean {
  return posture === "none" && encryptionRequired;
}

/** A version's numbers ("0.2.10" → [0, 2, 10]); anything after `-` or `+` is ignored. */
function versionParts(version: string): number[] {
  return (version.split(/[-+]/)[0] ?? "")
    .split(".")
    .map((part) => Number.parseInt(part, 10))
    .map((n) => (Number.isFinite(n) ? n : 0));
}

/** Orders versions by their numbers: negative when `a` is older than `b`. */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [versionParts(a), versionParts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The newest app version any of these devices runs (the release the others should reach). */
export function newestVersion(versions: readonly (string | null | undefined)[]): string | null {
  let newest: string | null = null;
  for (const v of versions) {
    if (v && (newest === null || compareVersions(v, newest) > 0)) newest = v;
  }
  return newest;
}

/** "just now", "5 minutes ago", "3 hours ago", "2 days ago"; "never" without a time. */
export function formatRelative(at: string | null | undefined, now: Date = new Date()): string {
  if (!at) return t("console.time.never");
  const time = new Date(at);
  if (Number.isNaN(time.getTime())) return t("console.time.unknown");
  const age = now.getTime() - time.getTime();
  if (age < MINUTE) return t("console.time.justNow");
  if (age < HOUR) return t("console.time.minutesAgo", { count: Math.floor(age / MINUTE) });
  if (age < DAY) return t("console.time.hoursAgo", { count: Math.floor(age / HOUR) });
  return t("console.time.daysAgo", { count: Math.floor(age / DAY) });
}

/** "in 3 hours", "in 2 days", or "expired" for a time in the past. */
export function formatExpiry(at: string, now: Date = new Date()): string {
  const left = new Date(at).getTime() - now.getTime();
  if (Number.isNaN(left)) return t("console.time.unknown");
  if (left <= 0) return t("console.time.expired");
  if (left < HOUR) return t("console.time.inMinutes", { count: Math.max(1, Math.floor(left / MINUTE)) });
  if (left < DAY) return t("console.time.inHours", { count: Math.floor(left / HOUR) });
  return t("console.time.inDays", { count: Math.floor(left / DAY) });
}

export interface CodeFacts {
  uses: number;
  max_uses: number;
  expires_at: string;
  revoked_at?: string | null;
  is_usable: boolean;
}

/** A code's state (a fixed word, not shown as is): revoked wins over used up, which wins over expired. */
export function codeStatus(code: CodeFacts, now: Date = new Date()): "Usable" | "Revoked" | "Used up" | "Expired" {
  if (code.revoked_at) return "Revoked";
  if (code.uses >= code.max_uses) return "Used up";
  if (new Date(code.expires_at).getTime() <= now.getTime()) return "Expired";
  return code.is_usable ? "Usable" : "Expired";
}

/** A code's state (from `codeStatus`) in the language shown. */
export function codeStatusLabel(state: ReturnType<typeof codeStatus>): string {
  switch (state) {
    case "Usable":
      return t("console.codes.states.usable");
    case "Revoked":
      return t("console.codes.states.revoked");
    case "Used up":
      return t("console.codes.states.usedUp");
    case "Expired":
      return t("console.codes.states.expired");
  }
}

/** A code split into its dash-separated groups, for large, readable display. */
export function codeGroups(code: string): string[] {
  return code.split("-").filter((g) => g.length > 0);
}
