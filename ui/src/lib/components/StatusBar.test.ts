import { render, screen } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import { setDeviceLanguage, setTimeZone } from "$lib/i18n/index.svelte";
import StatusBar from "./StatusBar.svelte";

const NOW = new Date("2026-11-26T15:00:00Z");

describe("StatusBar", () => {
  it("alerts that a device the server forgot is locked with nothing deleted, and says how to get it back", () => {
    render(StatusBar, {
      status: {
        connection: "online",
        server_url: "https://tend.example.org",
        last_sync: null,
        pending: 4, language: "en",
        facility_name: null,
        held: { code: "DEVICE_UNKNOWN", reason: "unsigned", device_uuid: "4c4c4544-0042-3510-8052-b4c04f4e4d32", since: "2026-12-04T00:00:00Z" },
      },
      now: NOW,
    });
    const alert = screen.getByRole("alert");
    expect(alert).toHaveAttribute("data-code", "DEVICE_UNKNOWN");
    expect(alert).toHaveTextContent("Device locked — nothing was deleted");
    expect(alert).toHaveTextContent("re-adopt device 4c4c4544-0042-3510-8052-b4c04f4e4d32");
    expect(screen.getByTestId("status-pending")).toHaveTextContent("4");
  });

  it("says a kiosk whose key the server holds waits for the network, and unlocks by itself", () => {
    render(StatusBar, {
      status: { connection: "offline", server_url: "https://tend.example.org", last_sync: null, pending: 0, language: "en", vault: "waiting_for_network" },
      now: NOW,
    });
    expect(screen.getByTestId("status-vault-waiting")).toHaveTextContent("Locked until the server can be reached");
  });

  it("says the facility is closed in Tend, in the core's words, and that nothing was deleted", () => {
    render(StatusBar, {
      status: {
        connection: "online",
        server_url: "https://tend.example.org",
        last_sync: null,
        pending: 2, language: "en",
        facility_name: "Maple House",
        held: null,
        closed: { code: "FACILITY_CLOSED", message: "This facility is closed in Tend; ask an administrator", since: "2026-12-04T00:00:00Z" },
      },
      now: NOW,
    });
    const alert = screen.getByTestId("status-closed");
    expect(alert).toHaveAttribute("role", "alert");
    expect(alert).toHaveAttribute("data-code", "FACILITY_CLOSED");
    expect(alert).toHaveTextContent("This facility is closed in Tend; ask an administrator.");
    expect(alert).toHaveTextContent("Nothing on this device was deleted");
    expect(screen.queryByTestId("status-held")).not.toBeInTheDocument();
    expect(screen.getByTestId("status-pending")).toHaveTextContent("2");
  });

  it("shows no alert for a device the server knows", () => {
    render(StatusBar, { status: { connection: "online", server_url: "https://tend.example.org", last_sync: null, pending: 0, language: "en" } });
    expect(screen.queryByTestId("status-held")).not.toBeInTheDocument();
    expect(screen.queryByTestId("status-closed")).not.toBeInTheDocument();
  });

  it("says it is checking before the first status arrives", () => {
    render(StatusBar, { status: null });
    const connection = screen.getByTestId("status-connection");
    expect(connection).toHaveAttribute("data-state", "loading");
    expect(connection).toHaveTextContent("Checking connection");
  });

  it("renders 'not connected to a server yet' with a way to set up, and no sync line", () => {
    render(StatusBar, { status: { connection: "not_configured", server_url: null, last_sync: null, pending: 0, language: "en" } });
    const connection = screen.getByTestId("status-connection");
    expect(connection).toHaveAttribute("data-state", "not_configured");
    expect(connection).toHaveTextContent("Not connected to a server yet");
    expect(screen.getByRole("link", { name: "Set up" })).toHaveAttribute("href", "#/setup");
    expect(screen.queryByTestId("status-sync")).not.toBeInTheDocument();
  });

  it("shows online with the server host, last sync and an empty queue", () => {
    render(StatusBar, {
      status: { connection: "online", server_url: "https://tend.example.org", last_sync: "2026-11-26T14:55:00Z", pending: 0, language: "en" },
      now: NOW,
    });
    const connection = screen.getByTestId("status-connection");
    expect(connection).toHaveAttribute("data-state", "online");
    expect(connection).toHaveTextContent("Online");
    expect(connection).toHaveTextContent("tend.example.org");
    expect(screen.getByTestId("status-last-sync")).toHaveTextContent("Synced 5 minutes ago");
    expect(screen.getByTestId("status-pending")).toHaveTextContent("Nothing waiting to sync");
  });

  it("shows offline with pending changes kept on the device", () => {
    render(StatusBar, {
      status: { connection: "offline", server_url: "https://tend.example.org", last_sync: null, pending: 3, language: "en" },
      now: NOW,
    });
    const connection = screen.getByTestId("status-connection");
    expect(connection).toHaveAttribute("data-state", "offline");
    expect(connection).toHaveTextContent("Offline");
    expect(connection).toHaveTextContent("Changes are kept on this device");
    expect(screen.getByTestId("status-last-sync")).toHaveTextContent("Never synced");
    expect(screen.getByTestId("status-pending")).toHaveTextContent("3 changes waiting to sync");
  });

  it("shows a readable message when the status can't be read", () => {
    render(StatusBar, { status: null, error: { code: "STORAGE_UNAVAILABLE", message: "EIO" } });
    const connection = screen.getByTestId("status-connection");
    expect(connection).toHaveAttribute("data-state", "unknown");
    expect(connection).toHaveTextContent("Connection status unavailable");
    expect(connection).toHaveTextContent("can't read or save its data");
    expect(connection).not.toHaveTextContent("EIO");
  });

  it("keeps the last known status when a refresh fails", () => {
    render(StatusBar, {
      status: { connection: "online", server_url: "https://tend.example.org", last_sync: null, pending: 0, language: "en" },
      error: { code: "INTERNAL", message: "" },
    });
    expect(screen.getByTestId("status-connection")).toHaveAttribute("data-state", "online");
  });
});

describe("StatusBar in Spanish", () => {
  afterEach(() => {
    setDeviceLanguage("en");
    setTimeZone(null);
  });

  it("names the connection and says when it last synced, with plurals", () => {
    setDeviceLanguage("es");
    render(StatusBar, {
      status: { connection: "online", server_url: "https://tend.example.org", last_sync: "2026-11-26T14:55:00Z", language: "en", pending: 1 },
      now: NOW,
    });
    expect(screen.getByTestId("status-connection")).toHaveTextContent("En línea");
    expect(screen.getByTestId("status-last-sync")).toHaveTextContent("Sincronizado hace 5 minutos");
    expect(screen.getByTestId("status-pending")).toHaveTextContent("1 cambio pendiente de sincronizar");
    expect(screen.getByRole("contentinfo")).toHaveAccessibleName("Estado de la conexión y de la sincronización");
  });

  it("says offline, one minute, and a date in the facility's time zone", () => {
    setDeviceLanguage("es");
    setTimeZone("America/Chicago");
    const { unmount } = render(StatusBar, {
      status: { connection: "offline", server_url: "https://tend.example.org", last_sync: "2026-11-26T14:59:00Z", language: "en", pending: 3 },
      now: NOW,
    });
    expect(screen.getByTestId("status-connection")).toHaveTextContent("Sin conexión");
    expect(screen.getByTestId("status-connection")).toHaveTextContent("Los cambios se guardan en este dispositivo");
    expect(screen.getByTestId("status-last-sync")).toHaveTextContent("Sincronizado hace 1 minuto");
    expect(screen.getByTestId("status-pending")).toHaveTextContent("3 cambios pendientes de sincronizar");
    unmount();
    // 02:30 UTC on 20 November is still the 19th, in the evening, in Chicago.
    render(StatusBar, {
      status: { connection: "online", server_url: "https://tend.example.org", last_sync: "2026-11-20T02:30:00Z", language: "en", pending: 0 },
      now: NOW,
    });
    expect(screen.getByTestId("status-last-sync")).toHaveTextContent(/^Sincronizado el 19 nov\.?, 8:30\sp\.\s?m\.$/);
  });

  it("alerts a held device in Spanish, with its hardware ID", () => {
    setDeviceLanguage("es");
    render(StatusBar, {
      status: {
        connection: "online",
        server_url: "https://tend.example.org",
        last_sync: null,
        language: "en", pending: 0,
        held: { code: "DEVICE_UNKNOWN", reason: "unsigned", device_uuid: "4c4c4544-0042-3510-8052-b4c04f4e4d32", since: "2026-12-04T00:00:00Z" },
      },
      now: NOW,
    });
    const alert = screen.getByTestId("status-held");
    expect(alert).toHaveTextContent("Dispositivo bloqueado — no se eliminó nada");
    expect(alert).toHaveTextContent("vuelva a adoptar el dispositivo 4c4c4544-0042-3510-8052-b4c04f4e4d32");
  });
});
