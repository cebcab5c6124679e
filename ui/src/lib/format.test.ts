import { afterEach, describe, expect, it } from "vitest";
import { connectionLabel, deviceTypeName, facilityTypeName, formatLastSync, formatPending, heldMessage, organizationTypeName, roleName, serverHost } from "./format";
import { setDeviceLanguage, setTimeZone } from "./i18n/index.svelte";

const NOW = new Date("2026-11-26T15:00:00Z");

describe("formatLastSync", () => {
  it("says when the device has never synced", () => {
    expect(formatLastSync(null, NOW)).toBe("Never synced");
  });

  it("uses relative wording for recent syncs", () => {
    expect(formatLastSync("2026-11-26T14:59:30Z", NOW)).toBe("Synced just now");
    expect(formatLastSync("2026-11-26T15:00:20Z", NOW)).toBe("Synced just now");
    expect(formatLastSync("2026-11-26T14:59:00Z", NOW)).toBe("Synced 1 minute ago");
    expect(formatLastSync("2026-11-26T14:55:00Z", NOW)).toBe("Synced 5 minutes ago");
    expect(formatLastSync("2026-11-26T12:00:00Z", NOW)).toBe("Synced 3 hours ago");
  });

  it("uses a date for old syncs", () => {
    expect(formatLastSync("2026-11-20T12:00:00Z", NOW)).toMatch(/^Synced Nov 2\d, /);
  });

  it("copes with an unreadable timestamp", () => {
    expect(formatLastSync("yesterday-ish", NOW)).toBe("Last sync time unknown");
  });
});

describe("formatPending", () => {
  it("counts changes waiting to sync", () => {
    expect(formatPending(0)).toBe("Nothing waiting to sync");
    expect(formatPending(1)).toBe("1 change waiting to sync");
    expect(formatPending(12)).toBe("12 changes waiting to sync");
  });
});

describe("connection wording", () => {
  it("names every connection state", () => {
    expect(connectionLabel("online")).toBe("Online");
    expect(connectionLabel("offline")).toBe("Offline");
    expect(connectionLabel("not_configured")).toBe("Not connected to a server yet");
  });

  it("shows a server by its host", () => {
    expect(serverHost("https://tend.example.org:8443/api")).toBe("tend.example.org:8443");
    expect(serverHost("not a url")).toBe("not a url");
    expect(serverHost(null)).toBeNull();
  });
});

describe("heldMessage", () => {
  const uuid = "4c4c4544-0042-3510-8052-b4c04f4e4d32";

  it("tells a forgotten device's staff that nothing was deleted and how to get it back", () => {
    const m = heldMessage({ code: "DEVICE_UNKNOWN", reason: "unsigned", device_uuid: uuid, since: "2026-12-04T00:00:00Z" });
    expect(m.title).toBe("Device locked — nothing was deleted");
    expect(m.detail).toContain("no longer recognises this device");
    expect(m.detail).toContain(`re-adopt device ${uuid}`);
  });

  it("names a deactivation that did not come from the device's server", () => {
    const m = heldMessage({ code: "DEVICE_DEACTIVATED", reason: "bad_signature", device_uuid: uuid, since: "2026-12-04T00:00:00Z" });
    expect(m.detail).toContain("deactivated, without a signed order (the order did not come from this device's server)");
  });
});

describe("names of roles, facility, organization and device types", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("name every role and type in English and Spanish", () => {
    expect(roleName("RN")).toBe("Registered nurse (RN)");
    expect(facilityTypeName("MEMORY_CARE")).toBe("Memory care");
    expect(organizationTypeName(null)).toBe("Type not set");
    expect(deviceTypeName("TABLET")).toBe("Tablet");
    setDeviceLanguage("es");
    expect(roleName("CNA")).toBe("Auxiliar de enfermería (CNA)");
    expect(facilityTypeName("HOME_HEALTH")).toBe("Salud en el hogar (sin camas)");
    expect(organizationTypeName("SNF_CHAIN")).toBe("Cadena de enfermería especializada");
    expect(deviceTypeName("BADGE_READER")).toBe("Lector de credenciales");
  });
});

describe("sync wording in Spanish", () => {
  afterEach(() => {
    setDeviceLanguage("en");
    setTimeZone(null);
  });

  it("uses Spanish plurals for minutes, hours and changes", () => {
    setDeviceLanguage("es");
    expect(formatLastSync(null, NOW)).toBe("Nunca sincronizado");
    expect(formatLastSync("2026-11-26T14:59:30Z", NOW)).toBe("Sincronizado hace un momento");
    expect(formatLastSync("2026-11-26T14:59:00Z", NOW)).toBe("Sincronizado hace 1 minuto");
    expect(formatLastSync("2026-11-26T14:55:00Z", NOW)).toBe("Sincronizado hace 5 minutos");
    expect(formatLastSync("2026-11-26T14:00:00Z", NOW)).toBe("Sincronizado hace 1 hora");
    expect(formatLastSync("2026-11-26T12:00:00Z", NOW)).toBe("Sincronizado hace 3 horas");
    expect(formatPending(0)).toBe("Nada pendiente de sincronizar");
    expect(formatPending(1)).toBe("1 cambio pendiente de sincronizar");
    expect(formatPending(12)).toBe("12 cambios pendientes de sincronizar");
    expect(connectionLabel("offline")).toBe("Sin conexión");
    expect(connectionLabel("not_configured")).toBe("Todavía no está conectado a un servidor");
  });

  it("dates an old sync at the facility, in the shown language", () => {
    setTimeZone("America/Chicago");
    expect(formatLastSync("2026-11-20T02:30:00Z", NOW)).toMatch(/^Synced Nov 19, 8:30\sPM$/);
    setDeviceLanguage("es");
    expect(formatLastSync("2026-11-20T02:30:00Z", NOW)).toMatch(/^Sincronizado el 19 nov\.?, 8:30\sp\.\s?m\.$/);
  });

  it("says a held device's state in Spanish", () => {
    setDeviceLanguage("es");
    const m = heldMessage({ code: "DEVICE_REJECTED", reason: "no_pinned_key", device_uuid: "abc", since: "2026-12-04T00:00:00Z" });
    expect(m.title).toBe("Dispositivo bloqueado — no se eliminó nada");
    expect(m.detail).toContain("fue rechazado, sin una orden firmada (este dispositivo no tiene una clave del servidor");
    expect(m.detail).toContain("el dispositivo abc.");
  });
});
