import { afterEach, describe, expect, it } from "vitest";
import { ACTION_FAMILIES, actionLabel, actorLabel, chainVerdict, formatWhen } from "./audit";
import { setDeviceLanguage, setTimeZone } from "./i18n/index.svelte";

describe("audit wording", () => {
  it("words known actions and keeps unknown ones readable", () => {
    expect(actionLabel("facility.census.update")).toBe("Updated the census");
    expect(actionLabel("device.offline_login")).toBe("Signed in on a device while offline");
    expect(actionLabel("sync.record_forged")).toContain("wasn't signed in on that device");
    expect(actionLabel("something.new")).toBe("something.new");
  });

  it("says who acted even when the name is out of reach", () => {
    expect(actorLabel({ actor_user_id: 3, actor_name: "Ana Ruiz", actor_device_id: null })).toBe("Ana Ruiz");
    expect(actorLabel({ actor_user_id: 3, actor_name: null, actor_device_id: 9 })).toBe(
      "Staff member #3 (not in your facilities)",
    );
    expect(actorLabel({ actor_user_id: null, actor_name: null, actor_device_id: 9 })).toBe("Device #9");
    expect(actorLabel({ actor_user_id: null, actor_name: null, actor_device_id: null })).toBe("System");
  });

  it("offers only prefixes the core accepts", () => {
    for (const family of ACTION_FAMILIES) expect(family.prefix).toMatch(/^[a-z_.]+$/);
    expect(new Set(ACTION_FAMILIES.map((f) => f.prefix)).size).toBe(ACTION_FAMILIES.length);
  });
});

describe("audit wording in Spanish", () => {
  afterEach(() => {
    setDeviceLanguage("en");
    setTimeZone(null);
  });

  const chain = { intact: true, events_checked: 1204, last_event_id: 5521, broken_event_id: null, broken_seq: null, problem: null };

  it("words actions, families, actors and verdicts in the language shown, and keeps unknown codes as recorded", () => {
    setDeviceLanguage("es");
    expect(actionLabel("facility.census.update")).toBe("Actualizó el censo");
    expect(actionLabel("something.new")).toBe("something.new");
    expect(ACTION_FAMILIES.find((f) => f.prefix === "auth.")?.label()).toBe("Inicios y cierres de sesión");
    expect(actorLabel({ actor_user_id: null, actor_name: null, actor_device_id: 9 })).toBe("Dispositivo n.º 9");
    expect(chainVerdict({ ...chain, events_checked: 1, last_event_id: null })).toBe("intacta, 1 evento verificado");
    expect(chainVerdict({ ...chain, intact: false, broken_event_id: null, broken_seq: 7, problem: "events are missing" })).toBe(
      "rota en un evento que falta (posición 7): events are missing",
    );
    setDeviceLanguage("en");
    expect(ACTION_FAMILIES.find((f) => f.prefix === "auth.")?.label()).toBe("Sign-ins and sign-outs");
  });

  it("dates an event in the facility's time zone and the language shown", () => {
    setTimeZone("America/Chicago");
    expect(formatWhen("2026-03-15T02:30:00Z")).toBe("Mar 14, 9:30 PM");
    setDeviceLanguage("es");
    expect(formatWhen("2026-03-15T02:30:00Z")).toMatch(/^14 mar, 9:30\sp\.\s?m\.$/);
    expect(formatWhen("not a time")).toBe("not a time");
  });
});
