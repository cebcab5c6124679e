// Wording for the admin console's device and enrollment-code tables, kept out of the
// components so each rule can be tested alone.

import type { DeviceStatus, DeviceType, EncryptionPosture, SyncStatus } from "./bindings";
import { plural } from "./format";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const DEVICE_TYPES: readonly { code: DeviceType; name: string }[] = [
  { code: "WORKSTATION", name: "Workstation" },
  { code: "LAPTOP", name: "Laptop" },
  { code: "TABLET", name: "Tablet" },
  { code: "RASPBERRY_PI", name: "Wall kiosk (Raspberry Pi)" },
  { code: "BADGE_READER", name: "Badge reader" },
];

export function deviceTypeLabel(type: DeviceType): string {
  return DEVICE_TYPES.find((t) => t.code === type)?.name ?? type;
}

export function deviceStatusLabel(status: DeviceStatus): string {
  switch (status) {
    case "PENDING":
      return "Waiting for approval";
    case "ACTIVE":
      return "Active";
    case "REJECTED":
      return "Rejected";
    case "DEACTIVATED":
      return "Deactivated";
  }
}

export function syncStatusLabel(status: SyncStatus): string {
  switch (status) {
    case "SYNCED":
      return "Up to date";
    case "STALE":
      return "Behind (not synced recently)";
    case "OUT_OF_SYNC":
      return "Out of sync — check this device";
    case "NEVER_SYNCED":
      return "Never synced";
  }
}

/** Where the device keeps its database key, in words an administrator can judge. */
export function postureLabel(posture: EncryptionPosture | null | undefined, encryptionRequired: boolean): string {
  switch (posture) {
    case "keyring":
      return "Encrypted (key in the system keyring)";
    case "server_bound":
      return "Encrypted (key held with the server)";
    case "key_file":
      return "Encrypted (key in a protected file)";
    case "none":
      return encryptionRequired ? "Not encrypted — required by policy" : "Not encrypted";
    default:
      return "Not reported yet";
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
  if (!at) return "never";
  const time = new Date(at);
  if (Number.isNaN(time.getTime())) return "unknown";
  const age = now.getTime() - time.getTime();
  if (age < MINUTE) return "just now";
  if (age < HOUR) return `${plural(Math.floor(age / MINUTE), "minute")} ago`;
  if (age < DAY) return `${plural(Math.floor(age / HOUR), "hour")} ago`;
  return `${plural(Math.floor(age / DAY), "day")} ago`;
}

/** "in 3 hours", "in 2 days", or "expired" for a time in the past. */
export function formatExpiry(at: string, now: Date = new Date()): string {
  const left = new Date(at).getTime() - now.getTime();
  if (Number.isNaN(left)) return "unknown";
  if (left <= 0) return "expired";
  if (left < HOUR) return `in ${plural(Math.max(1, Math.floor(left / MINUTE)), "minute")}`;
  if (left < DAY) return `in ${plural(Math.floor(left / HOUR), "hour")}`;
  return `in ${plural(Math.floor(left / DAY), "day")}`;
}

export interface CodeFacts {
  uses: number;
  max_uses: number;
  expires_at: string;
  revoked_at?: string | null;
  is_usable: boolean;
}

/** One word for a code's state: revoked wins over used up, which wins over expired. */
export function codeStatus(code: CodeFacts, now: Date = new Date()): "Usable" | "Revoked" | "Used up" | "Expired" {
  if (code.revoked_at) return "Revoked";
  if (code.uses >= code.max_uses) return "Used up";
  if (new Date(code.expires_at).getTime() <= now.getTime()) return "Expired";
  return code.is_usable ? "Usable" : "Expired";
}

/** A code split into its dash-separated groups, for large, readable display. */
export function codeGroups(code: string): string[] {
  return code.split("-").filter((g) => g.length > 0);
}
