import { afterEach, describe, expect, it } from "vitest";
import {
  codeGroups,
  codeStatus,
  codeStatusLabel,
  compareVersions,
  newestVersion,
  deviceStatusLabel,
  formatExpiry,
  formatRelative,
  postureIsUnsafe,
  postureLabel,
  syncStatusLabel,
} from "./admin";
import { setDeviceLanguage } from "./i18n/index.svelte";

const NOW = new Date("2026-03-01T12:00:00Z");

describe("admin wording", () => {
  it("says how long ago a device was seen", () => {
    expect(formatRelative(null, NOW)).toBe("never");
    expect(formatRelative("garbage", NOW)).toBe("unknown");
    expect(formatRelative("2026-03-01T11:59:40Z", NOW)).toBe("just now");
    expect(formatRelative("2026-03-01T11:59:00Z", NOW)).toBe("1 minute ago");
    expect(formatRelative("2026-03-01T09:00:00Z", NOW)).toBe("3 hours ago");
    expect(formatRelative("2026-02-27T12:00:00Z", NOW)).toBe("2 days ago");
    // A device clock slightly ahead still reads as now.
    expect(formatRelative("2026-03-01T12:00:05Z", NOW)).toBe("just now");
  });

  it("says when a code expires", () => {
    expect(formatExpiry("2026-03-01T11:00:00Z", NOW)).toBe("expired");
    expect(formatExpiry("2026-03-01T12:00:20Z", NOW)).toBe("in 1 minute");
    expect(formatExpiry("2026-03-02T11:00:00Z", NOW)).toBe("in 23 hours");
    expect(formatExpiry("2026-03-04T12:00:00Z", NOW)).toBe("in 3 days");
  });

  it("names a code's state, revoked first", () => {
    const base = { uses: 0, max_uses: 1, expires_at: "2026-03-02T00:00:00Z", revoked_at: null, is_usable: true };
    expect(codeStatus(base, NOW)).toBe("Usable");
    expect(codeStatus({ ...base, uses: 1, is_usable: false }, NOW)).toBe("Used up");
    expect(codeStatus({ ...base, expires_at: "2026-03-01T00:00:00Z", is_usable: false }, NOW)).toBe("Expired");
    expect(codeStatus({ ...base, uses: 1, revoked_at: "2026-03-01T10:00:00Z", is_usable: false }, NOW)).toBe("Revoked");
  });

  it("puts sync status and posture in words", () => {
    expect(syncStatusLabel("SYNCED")).toBe("Up to date");
    expect(syncStatusLabel("OUT_OF_SYNC")).toContain("Out of sync");
    expect(syncStatusLabel("NEVER_SYNCED")).toBe("Never synced");
    expect(deviceStatusLabel("PENDING")).toBe("Waiting for approval");
    expect(postureLabel(null, true)).toBe("Not reported yet");
    expect(postureLabel("keyring", true)).toContain("Encrypted");
    expect(postureLabel("none", true)).toContain("required");
    expect(postureIsUnsafe("none", true)).toBe(true);
    expect(postureIsUnsafe("none", false)).toBe(false);
    expect(postureIsUnsafe("key_file", true)).toBe(false);
  });

  it("splits a code into its groups", () => {
    expect(codeGroups("ABCD-EFGH-JKMN")).toEqual(["ABCD", "EFGH", "JKMN"]);
  });
});

describe("app versions", () => {
  it("orders versions by their numbers, not as text", () => {
    expect(compareVersions("0.10.0", "0.9.3")).toBeGreaterThan(0);
    expect(compareVersions("0.2.0", "0.2.0")).toBe(0);
    expect(compareVersions("0.2", "0.2.1")).toBeLessThan(0);
    expect(compareVersions("1.0.0-rc1", "1.0.0")).toBe(0);
  });

  it("finds the newest version a fleet runs, ignoring devices that never reported", () => {
    expect(newestVersion(["0.1.0", null, "0.10.1", "0.9.0", undefined])).toBe("0.10.1");
    expect(newestVersion([null, undefined])).toBeNull();
  });
});

describe("admin wording in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("says ages, expiries and states in the language shown when called", () => {
    setDeviceLanguage("es");
    expect(formatRelative(null, NOW)).toBe("nunca");
    expect(formatRelative("2026-03-01T11:59:00Z", NOW)).toBe("hace 1 minuto");
    expect(formatRelative("2026-02-27T12:00:00Z", NOW)).toBe("hace 2 días");
    expect(formatExpiry("2026-03-01T11:00:00Z", NOW)).toBe("vencido");
    expect(formatExpiry("2026-03-02T11:00:00Z", NOW)).toBe("en 23 horas");
    expect(codeStatusLabel("Used up")).toBe("Agotado");
    expect(deviceStatusLabel("PENDING")).toBe("Esperando aprobación");
    expect(syncStatusLabel("NEVER_SYNCED")).toBe("Nunca sincronizado");
    expect(postureLabel("none", true)).toBe("Sin cifrar: las normas lo exigen");
    setDeviceLanguage("en");
    expect(codeStatusLabel("Used up")).toBe("Used up");
  });
});
