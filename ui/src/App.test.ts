import { render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { setDeviceLanguage, setUserLanguage } from "$lib/i18n/index.svelte";
import { events, type AppStatus, type EnrollmentState } from "$lib/bindings";
import App from "./App.svelte";
import { DESKTOP_INFO, NOT_CONFIGURED, mockCommands, reject } from "./test/ipc";

const ENROLLED: EnrollmentState = {
  server_url: "https://tend.example.org",
  device_id: 7,
  device_uuid: "4c4c4544-0042-3510-8052-b4c04f4e4d32",
  organization_id: 1,
  facility_id: 2,
  facility_name: "Sunrise ALF - North Campus",
  status: "ACTIVE",
  checked_at: "2026-11-27T02:00:00Z",
};
const ONLINE: AppStatus = { connection: "online", server_url: "https://tend.example.org", last_sync: null, pending: 2, language: "en" };
const NURSE = { id: 7, full_name: "Ada Nightingale", username: "ada", role: "RN" } as const;
const ACTIVE = { phase: "active", idle_warning: false, failure: null, idle_lock_ms: 120_000, offline: false, user: NURSE } as const;
const PIN_PENDING = { phase: "pin_required", attempts_left: null, failure: null, idle_lock_ms: 120_000, offline: false, user: null } as const;
/** Commands that return resident data; none may be called before a complete sign-in. */
const CLINICAL_COMMANDS = ["roster", "patient_timeline", "facility_info", "due_follow_ups", "handoff_notes"];
const AGNES = { id: 12, mrn: "MRN12", first_name: "Agnes", last_name: "Moore", date_of_birth: "1941-03-02", room: "104", status: "active" };

function startAt(hash: string): void {
  window.history.replaceState(null, "", hash ? `/${hash}` : "/");
}

describe("App shell and router", () => {
  it("shows a not-found screen for an unknown route, with a way back", async () => {
    mockCommands({ app_info: DESKTOP_INFO, app_status: ONLINE, ui_ready: null, enrollment_status: ENROLLED });
    startAt("#/no-such-screen");
    render(App);

    expect(screen.getByTestId("not-found")).toBeInTheDocument();
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("We can't find that screen");
    expect(screen.getByTestId("not-found-path")).toHaveTextContent("/no-such-screen");

    await userEvent.click(screen.getByTestId("not-found-back"));
    // "#/" resolves to the lock screen on an enrolled device.
    await waitFor(() => expect(window.location.hash).toBe("#/lock"));
    expect(await screen.findByRole("heading", { level: 1, name: "Tap your badge" })).toBeInTheDocument();
    expect(screen.queryByTestId("not-found")).not.toBeInTheDocument();
  });

  it("sends a device with a server address but no enrollment to setup", async () => {
    mockCommands({
      app_info: DESKTOP_INFO,
      app_status: ONLINE,
      ui_ready: null,
      enrollment_status: null,
      device_identity: null,
      wipe_notice: null,
    });
    startAt("");
    render(App);

    expect(await screen.findByRole("heading", { level: 1, name: "Set up this device" })).toBeInTheDocument();
    expect(window.location.hash).toBe("#/setup");
    await waitFor(() => expect(screen.getByTestId("server-url-input")).toHaveValue("https://tend.example.org"));
  });

  it("sends a device with no server to setup on first start", async () => {
    mockCommands({ app_info: DESKTOP_INFO, app_status: NOT_CONFIGURED, ui_ready: null });
    startAt("");
    render(App);

    expect(await screen.findByRole("heading", { level: 1, name: "Set up this device" })).toBeInTheDocument();
    expect(window.location.hash).toBe("#/setup");
    expect(screen.getByTestId("status-connection")).toHaveTextContent("Not connected to a server yet");
  });

  it("navigates between screens from the nav bar and marks the current one", async () => {
    mockCommands({ app_info: DESKTOP_INFO, app_status: ONLINE, ui_ready: null });
    startAt("#/lock");
    render(App);

    // Home and Residents need a signed-in user; covered below.
    for (const id of ["setup", "lock", "admin", "family", "about"]) {
      expect(screen.getByTestId(`nav-${id}`)).toHaveAttribute("href", `#/${id}`);
    }
    expect(screen.queryByTestId("nav-home")).not.toBeInTheDocument();
    expect(screen.getByTestId("nav-lock")).toHaveAttribute("aria-current", "page");

    await userEvent.click(screen.getByTestId("nav-admin"));
    expect(await screen.findByRole("heading", { level: 1, name: "Admin console" })).toBeInTheDocument();
    expect(screen.getByTestId("nav-admin")).toHaveAttribute("aria-current", "page");
    expect(screen.getByTestId("nav-lock")).not.toHaveAttribute("aria-current");
    await waitFor(() => expect(document.activeElement).toBe(screen.getByRole("heading", { level: 1 })));
    expect(document.title).toBe("Admin console · Tend");
    expect(screen.getByTestId("status-connection")).toHaveTextContent("Online");
  });

  it("offers no Setup once the device is enrolled, and no Admin on a kiosk", async () => {
    mockCommands({
      app_info: { ...DESKTOP_INFO, profile: "kiosk" },
      app_status: ONLINE,
      ui_ready: null,
      enrollment_status: ENROLLED,
    });
    startAt("#/lock");
    render(App);

    await waitFor(() => expect(screen.queryByTestId("nav-setup")).not.toBeInTheDocument());
    await waitFor(() => expect(screen.queryByTestId("nav-admin")).not.toBeInTheDocument());
    for (const id of ["lock", "family", "about"]) expect(screen.getByTestId(`nav-${id}`)).toBeInTheDocument();
  });

  it("hides the navigation on the family kiosk but keeps a way out for staff", async () => {
    mockCommands({ app_info: DESKTOP_INFO, app_status: ONLINE, ui_ready: null });
    startAt("#/lock");
    render(App);

    await userEvent.click(screen.getByTestId("nav-family"));

    expect(await screen.findByRole("heading", { level: 1, name: "Welcome" })).toBeInTheDocument();
    expect(screen.queryByRole("navigation", { name: "Main" })).not.toBeInTheDocument();
    expect(screen.getByTestId("nav-staff")).toHaveAttribute("href", "#/lock");
  });

  it("switches to the kiosk scale when the device profile is kiosk", async () => {
    mockCommands({ app_info: { ...DESKTOP_INFO, profile: "kiosk" }, app_status: ONLINE, ui_ready: null });
    startAt("#/lock");
    render(App);

    await waitFor(() => expect(document.documentElement.dataset.profile).toBe("kiosk"));
  });

  it("stays on the desktop scale for the desktop profile", async () => {
    const calls = mockCommands({ app_info: DESKTOP_INFO, app_status: ONLINE, ui_ready: null });
    startAt("#/lock");
    render(App);

    await waitFor(() => expect(calls).toContain("app_info"));
    expect(document.documentElement.dataset.profile).toBeUndefined();
  });

  it("tells the backend once its first frame is on screen", async () => {
    const calls = mockCommands({ app_info: DESKTOP_INFO, app_status: ONLINE, ui_ready: null });
    startAt("#/lock");
    render(App);

    await waitFor(() => expect(calls).toContain("ui_ready"));
    expect(calls.filter((cmd) => cmd === "ui_ready")).toHaveLength(1);
  });

  it("updates the status bar when the backend pushes a status change", async () => {
    mockCommands({ app_info: DESKTOP_INFO, app_status: ONLINE, ui_ready: null });
    startAt("#/lock");
    render(App);
    await waitFor(() => expect(screen.getByTestId("status-connection")).toHaveAttribute("data-state", "online"));

    await events.appStatusChanged.emit({ ...ONLINE, connection: "offline", pending: 5 });

    await waitFor(() => expect(screen.getByTestId("status-connection")).toHaveAttribute("data-state", "offline"));
    expect(screen.getByTestId("status-pending")).toHaveTextContent("5 changes waiting to sync");
  });

  it("has landmarks and a skip link that focuses the main content", async () => {
    mockCommands({ app_info: DESKTOP_INFO, app_status: ONLINE, ui_ready: null, due_follow_ups: [], handoff_notes: [] });
    startAt("#/home");
    render(App);

    expect(screen.getByRole("banner")).toBeInTheDocument();
    expect(screen.getByRole("main")).toBeInTheDocument();
    expect(screen.getByRole("contentinfo", { name: "Connection and sync status" })).toBeInTheDocument();

    await userEvent.click(screen.getByRole("link", { name: "Skip to main content" }));
    expect(document.activeElement).toBe(screen.getByRole("main"));
    expect(window.location.hash).toBe("#/home");
  });

  it("opens a resident's page from its path and marks Residents in the nav", async () => {
    mockCommands({
      app_info: DESKTOP_INFO,
      app_status: ONLINE,
      ui_ready: null,
      session_state: ACTIVE,
      roster: [{ id: 12, mrn: "MRN12", first_name: "Agnes", last_name: "Moore", date_of_birth: null, room: "104", status: "active" }],
      facility_info: null,
      patient_timeline: [],
    });
    startAt("#/patients/12");
    render(App);

    expect(await screen.findByRole("heading", { level: 1, name: "Agnes Moore" })).toBeInTheDocument();
    expect(screen.getByTestId("nav-patients")).toHaveAttribute("aria-current", "page");
    expect(screen.queryByTestId("nav-patient")).not.toBeInTheDocument();
    expect(document.title).toBe("Resident · Tend");
  });

  it("leaves the residents' screens for the lock screen when the session locks", async () => {
    mockCommands({
      app_info: DESKTOP_INFO,
      app_status: ONLINE,
      ui_ready: null,
      roster: [],
      session_state: { phase: "locked", user: null, failure: null, idle_lock_ms: 120_000, offline: false },
    });
    startAt("#/patients");
    render(App);

    await waitFor(() => expect(window.location.hash).toBe("#/lock"));
  });

  it("offers residents' links only to a signed-in session, and no sign-in link during one", async () => {
    let state: Record<string, unknown> = { phase: "locked", user: null, failure: null, idle_lock_ms: 120_000, offline: false };
    mockCommands({ app_info: DESKTOP_INFO, app_status: ONLINE, ui_ready: null, session_state: () => state });
    startAt("#/lock");
    render(App);
    await waitFor(() => expect(screen.queryByTestId("nav-patients")).not.toBeInTheDocument());
    expect(screen.queryByTestId("nav-home")).not.toBeInTheDocument();
    expect(screen.getByTestId("nav-lock")).toBeInTheDocument();
    expect(screen.getByTestId("nav-admin")).toBeInTheDocument();

    state = { phase: "active", idle_warning: false, failure: null, idle_lock_ms: 120_000, offline: false,
      user: { id: 7, full_name: "Ada Nightingale", username: "ada", role: "RN" } };
    await events.sessionChanged.emit(state as never);
    await waitFor(() => expect(screen.getByTestId("nav-patients")).toBeInTheDocument());
    expect(screen.getByTestId("nav-home")).toBeInTheDocument();
    expect(screen.queryByTestId("nav-lock")).not.toBeInTheDocument();
  });

  it("offers no residents' screens while a PIN is pending, and refuses their addresses", async () => {
    const calls = mockCommands({
      app_info: DESKTOP_INFO,
      app_status: ONLINE,
      ui_ready: null,
      reader_status: "connected",
      enrollment_status: ENROLLED,
      session_state: PIN_PENDING,
      roster: [AGNES],
      patient_timeline: [],
      facility_info: null,
      due_follow_ups: [],
      handoff_notes: [],
    });
    startAt("#/lock");
    render(App);
    expect(await screen.findByTestId("pin-pad")).toBeInTheDocument();
    expect(screen.queryByTestId("nav-home")).not.toBeInTheDocument();
    expect(screen.queryByTestId("nav-patients")).not.toBeInTheDocument();
    expect(screen.getByTestId("nav-lock")).toBeInTheDocument();

    for (const address of ["#/home", "#/patients", "#/patients/12"]) {
      window.location.hash = address;
      await waitFor(() => expect(window.location.hash).toBe("#/lock"));
      expect(await screen.findByTestId("sign-in-notice")).toHaveTextContent("Nobody is signed in");
      expect(screen.getByTestId("pin-pad")).toBeInTheDocument();
    }
    expect(document.body.textContent).not.toMatch(/Agnes|Moore|MRN12|1941/);
    expect(calls.filter((cmd) => CLINICAL_COMMANDS.includes(cmd))).toEqual([]);
  });

  it("does not mount a resident's screen before the session is known", async () => {
    const calls = mockCommands({
      app_info: DESKTOP_INFO,
      app_status: ONLINE,
      ui_ready: null,
      session_state: () => new Promise(() => undefined),
      roster: [AGNES],
      patient_timeline: [],
      facility_info: null,
    });
    startAt("#/patients/12");
    render(App);

    expect(await screen.findByTestId("clinical-refused")).toHaveTextContent("Sign in to see residents");
    expect(window.location.hash).toBe("#/patients/12");
    expect(calls.filter((cmd) => CLINICAL_COMMANDS.includes(cmd))).toEqual([]);
  });

  it("refuses residents' screens on a signed-out family kiosk too", async () => {
    const calls = mockCommands({
      app_info: { ...DESKTOP_INFO, profile: "kiosk" },
      app_status: ONLINE,
      ui_ready: null,
      family_settings: { idle_reset_ms: 60_000 },
      session_state: { phase: "signed_out", user: null, failure: null, idle_lock_ms: 120_000, offline: false },
      roster: [AGNES],
    });
    startAt("#/family");
    render(App);
    expect(await screen.findByRole("heading", { level: 1, name: "Welcome" })).toBeInTheDocument();

    window.location.hash = "#/patients";
    await waitFor(() => expect(window.location.hash).toBe("#/lock"));
    expect(calls).not.toContain("roster");
  });

  it("returns to the lock screen with the reason when Rust answers NOT_SIGNED_IN", async () => {
    mockCommands({
      app_info: DESKTOP_INFO,
      app_status: ONLINE,
      ui_ready: null,
      reader_status: "connected",
      enrollment_status: ENROLLED,
      session_state: ACTIVE,
      roster: reject("NOT_SIGNED_IN", "nobody is signed in on this device"),
    });
    startAt("#/patients");
    render(App);

    await waitFor(() => expect(window.location.hash).toBe("#/lock"));
    expect(await screen.findByTestId("sign-in-notice")).toHaveTextContent(
      "Nobody is signed in on this device. Tap your badge (and enter your PIN) to see residents.",
    );
    // Rust is the truth: the window's "active" copy no longer opens residents' screens.
    expect(screen.queryByTestId("nav-patients")).not.toBeInTheDocument();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(window.location.hash).toBe("#/lock");

    // A new sign-in (the phase changes) opens them again.
    await events.sessionChanged.emit({ phase: "signed_out", user: null, failure: null, idle_lock_ms: 120_000, offline: false });
    await events.sessionChanged.emit(ACTIVE as never);
    await waitFor(() => expect(window.location.hash).toBe("#/home"));
  });

  it("shows residents once the PIN completes the sign-in", async () => {
    let state: Record<string, unknown> = { ...PIN_PENDING };
    const calls = mockCommands({
      app_info: DESKTOP_INFO,
      app_status: ONLINE,
      ui_ready: null,
      reader_status: "connected",
      enrollment_status: ENROLLED,
      session_state: () => state,
      roster: [AGNES],
    });
    startAt("#/patients");
    render(App);
    await waitFor(() => expect(window.location.hash).toBe("#/lock"));
    expect(calls).not.toContain("roster");

    state = { ...ACTIVE };
    await events.sessionChanged.emit(state as never);
    await waitFor(() => expect(screen.getByTestId("nav-patients")).toBeInTheDocument());
    expect(screen.queryByTestId("sign-in-notice")).not.toBeInTheDocument();
    await userEvent.click(screen.getByTestId("nav-patients"));
    expect(await screen.findByText(/Agnes Moore|Moore, Agnes/)).toBeInTheDocument();
  });

  it("keeps an offline banner up while the session was opened offline", async () => {
    const active = { phase: "active", idle_warning: false, failure: null, idle_lock_ms: 120_000 };
    const user = { id: 7, full_name: "Ada Nightingale", username: "ada", role: "RN" };
    mockCommands({
      app_info: DESKTOP_INFO,
      app_status: ONLINE,
      ui_ready: null,
      roster: [],
      due_follow_ups: [], handoff_notes: [],
      session_state: { ...active, user, offline: true },
    });
    startAt("#/home");
    render(App);

    const banner = await screen.findByTestId("offline-banner");
    expect(banner).toHaveTextContent("Signed in offline");
    expect(banner).toHaveAttribute("role", "status");
  });

  it("shows the background sync in the status bar, with its details", async () => {
    mockCommands({
      app_info: DESKTOP_INFO,
      app_status: ONLINE,
      ui_ready: null,
      sync_status: {
        online: true,
        syncing: false,
        last_sync: null,
        pending: 7,
        oldest_pending_since: null,
        rejected: 0,
        initial_sync: null,
        last_error: null,
        update_needed: false,
      },
    });
    startAt("#/lock");
    render(App);

    await waitFor(() => expect(screen.getByTestId("status-pending")).toHaveTextContent("7 changes waiting to sync"));
    await userEvent.click(screen.getByRole("button", { name: "Sync details" }));
    expect(screen.getByRole("dialog", { name: "Sync details" })).toBeInTheDocument();
  });
});

describe("App shell in Spanish", () => {
  afterEach(() => {
    setDeviceLanguage("en");
    setUserLanguage(null);
    document.documentElement.lang = "en-US";
  });

  it("lets whoever walks up switch the device's language while nobody is signed in, and the device keeps it", async () => {
    let status: AppStatus = ONLINE;
    const calls = mockCommands({
      app_info: DESKTOP_INFO,
      app_status: () => status,
      ui_ready: null,
      set_device_language: ({ language }: Record<string, unknown>) => (status = { ...ONLINE, language: language as "en" | "es" }),
    });
    startAt("#/lock");
    render(App);
    // Named in its own language, for a screen reader too.
    const toggle = await screen.findByRole("button", { name: "Español" });
    expect(toggle).toHaveAttribute("lang", "es");
    await userEvent.click(toggle);
    await waitFor(() => expect(calls).toContain("set_device_language"));
    expect(await screen.findByRole("heading", { level: 1, name: "Acerque su credencial" })).toBeInTheDocument();
    expect(screen.getByTestId("device-language-toggle")).toHaveTextContent("English");
    expect(screen.getByTestId("device-language-toggle")).toHaveAttribute("lang", "en");
  });

  it("speaks the signed-in person's own language over the device's, and the device's once locked", async () => {
    let state: unknown = { ...ACTIVE, user: { ...NURSE, language: "en" } };
    mockCommands({
      app_info: DESKTOP_INFO,
      app_status: { ...ONLINE, language: "es", facility_timezone: "America/Phoenix" },
      ui_ready: null,
      enrollment_status: ENROLLED,
      session_state: () => state,
      roster: [],
      due_follow_ups: [],
      handoff_notes: [],
    });
    startAt("#/home");
    render(App);
    await waitFor(() => expect(screen.getByTestId("home-lock")).toHaveTextContent("Lock"));
    expect(document.documentElement.lang).toBe("en-US");
    // Her own choice is on her home; the device's switch waits until nobody is signed in.
    expect(screen.queryByTestId("device-language-toggle")).not.toBeInTheDocument();
    state = { phase: "locked", user: { ...NURSE, language: "en" }, failure: null, idle_lock_ms: 120_000, offline: false };
    await events.sessionChanged.emit(state as never);
    await waitFor(() => expect(document.documentElement.lang).toBe("es-US"));
  });


  afterEach(() => setDeviceLanguage("en"));

  it("sets the page's language, the navigation, the window title and the status bar from the language shown", async () => {
    let status: AppStatus = ONLINE;
    mockCommands({ app_info: DESKTOP_INFO, app_status: () => status, ui_ready: null });
    startAt("#/lock");
    render(App);
    expect(document.documentElement.lang).toBe("en-US");
    expect(screen.getByTestId("nav-about")).toHaveTextContent("About");

    // The device's language arrives with the status (chosen on this or another screen).
    status = { ...ONLINE, language: "es" };
    await events.appStatusChanged.emit(status);
    await waitFor(() => expect(screen.getByTestId("nav-about")).toHaveTextContent("Acerca de"));
    await waitFor(() => expect(document.documentElement.lang).toBe("es-US"));
    expect(screen.getByTestId("nav-lock")).toHaveTextContent("Iniciar sesión");
    expect(screen.getByRole("link", { name: "Ir al contenido principal" })).toBeInTheDocument();
    expect(await screen.findByRole("heading", { level: 1, name: "Acerque su credencial" })).toBeInTheDocument();
    await waitFor(() => expect(document.title).toBe("Acerque su credencial · Tend"));
    await waitFor(() => expect(screen.getByTestId("status-connection")).toHaveTextContent("En línea"));
  });

  it("says a screen is not found in Spanish", async () => {
    mockCommands({ app_info: DESKTOP_INFO, app_status: { ...ONLINE, language: "es" }, ui_ready: null, enrollment_status: ENROLLED });
    startAt("#/no-such-screen");
    render(App);
    await waitFor(() => expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("No encontramos esa pantalla"));
    expect(screen.getByTestId("not-found-back")).toHaveTextContent("Volver a la pantalla de inicio");
    await waitFor(() => expect(document.title).toBe("No encontrado · Tend"));
  });
});
