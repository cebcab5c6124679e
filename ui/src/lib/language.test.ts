import { afterEach, describe, expect, it } from "vitest";
import type { AppStatus, SessionState } from "./bindings";
import { currentLanguage, setDeviceLanguage, setUserLanguage } from "./i18n/index.svelte";
import { applySessionLanguage, applyStatusLanguage, chooseDeviceLanguage, chooseMyLanguage, savedOnThisDeviceOnly } from "./language";
import { mockCommands, NOT_CONFIGURED, reject } from "../test/ipc";

const NURSE = { id: 7, full_name: "Ada Nightingale", username: "ada", role: "RN" } as const;

function session(language: "en" | "es" | null): SessionState {
  return { phase: "active", idle_warning: false, failure: null, idle_lock_ms: 120_000, offline: false, user: { ...NURSE, language } };
}

const SIGNED_OUT: SessionState = { phase: "signed_out", failure: null, idle_lock_ms: 120_000, offline: false, user: null };

function status(language: "en" | "es"): AppStatus {
  return { ...NOT_CONFIGURED, language };
}

describe("the language shown", () => {
  afterEach(() => {
    setDeviceLanguage("en");
    setUserLanguage(null);
  });

  it("follows the device's language from the status; English when there is none", () => {
    applyStatusLanguage(status("es"));
    expect(currentLanguage()).toBe("es");
    applyStatusLanguage(status("en"));
    expect(currentLanguage()).toBe("en");
    applyStatusLanguage(status("es"));
    applyStatusLanguage(null);
    expect(currentLanguage()).toBe("en");
  });

  it("is the signed-in person's own while their session is open, else the device's", () => {
    applyStatusLanguage(status("en"));
    applySessionLanguage(session("es"));
    expect(currentLanguage()).toBe("es");
    // No language of their own: the device's.
    applySessionLanguage(session(null));
    expect(currentLanguage()).toBe("en");
    applyStatusLanguage(status("es"));
    applySessionLanguage(session("en"));
    expect(currentLanguage()).toBe("en");
    // Signed out: the device's again.
    applySessionLanguage(SIGNED_OUT);
    expect(currentLanguage()).toBe("es");
  });

  it("changes with the device's choice once Rust kept it", async () => {
    const sent: unknown[] = [];
    mockCommands({
      set_device_language: ({ language }: Record<string, unknown>) => {
        sent.push(language);
        return status(language as "en" | "es");
      },
    });
    const result = await chooseDeviceLanguage("es");
    expect(result.status).toBe("ok");
    expect(sent).toEqual(["es"]);
    expect(currentLanguage()).toBe("es");
  });

  it("stays as it was when the device's choice could not be kept", async () => {
    mockCommands({ set_device_language: () => reject("STORAGE_UNAVAILABLE", "the data directory is read-only") });
    const result = await chooseDeviceLanguage("es");
    expect(result).toEqual({ status: "error", error: { code: "STORAGE_UNAVAILABLE", message: "the data directory is read-only" } });
    expect(currentLanguage()).toBe("en");
  });

  it("changes with the person's own choice, saved for their account", async () => {
    const sent: unknown[] = [];
    mockCommands({
      set_my_language: ({ language }: Record<string, unknown>) => {
        sent.push(language);
        return session(language as "en" | "es" | null);
      },
    });
    const result = await chooseMyLanguage("es");
    expect(result.status).toBe("ok");
    expect(savedOnThisDeviceOnly(result)).toBe(false);
    expect(currentLanguage()).toBe("es");
    await chooseMyLanguage(null);
    expect(sent).toEqual(["es", null]);
    expect(currentLanguage()).toBe("en");
  });

  it("offline, shows the person's choice on this device and says it was not saved for the account", async () => {
    mockCommands({ set_my_language: () => reject("OFFLINE", "Your language is saved on this device only") });
    const result = await chooseMyLanguage("es");
    expect(savedOnThisDeviceOnly(result)).toBe(true);
    expect(currentLanguage()).toBe("es");
  });

  it("changes nothing when nobody is signed in", async () => {
    mockCommands({ set_my_language: () => reject("NOT_SIGNED_IN", "sign in with your badge to choose your language") });
    const result = await chooseMyLanguage("es");
    expect(result.status).toBe("error");
    expect(savedOnThisDeviceOnly(result)).toBe(false);
    expect(currentLanguage()).toBe("en");
  });
});
