import { render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it } from "vitest";
import { DOMAIN_RULES, type SessionState } from "$lib/bindings";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import { DESKTOP_INFO, mockCommands, reject } from "../test/ipc";
import LockScreen from "./LockScreen.svelte";

const NURSE = { id: 7, full_name: "Ada Nightingale", username: "ada", role: "RN" } as const;

function state(phase: SessionState["phase"], extra: Partial<SessionState> = {}): SessionState {
  const base = { user: null, failure: null, idle_lock_ms: 120_000, offline: false };
  if (phase === "pin_required") return { ...base, phase, attempts_left: null, ...extra } as SessionState;
  if (phase === "active") return { ...base, phase, idle_warning: false, ...extra } as SessionState;
  return { ...base, phase, ...extra } as SessionState;
}

describe("LockScreen", () => {
  it("waits for a badge and shows the reader's status", async () => {
    mockCommands({ session_state: state("signed_out"), reader_status: "connected" });
    render(LockScreen);
    expect(await screen.findByTestId("lock-state")).toHaveTextContent("Waiting for a badge");
    await waitFor(() => expect(screen.getByTestId("reader-status")).toHaveAttribute("data-status", "connected"));
    expect(screen.getByTestId("reader-status")).toHaveTextContent("Badge reader connected");
  });

  it("names the facility this device is enrolled in", async () => {
    mockCommands({
      session_state: state("signed_out"),
      reader_status: "connected",
      enrollment_status: {
        server_url: "https://tend.example.org",
        device_id: 7,
        device_uuid: "4c4c4544-0042-3510-8052-b4c04f4e4d32",
        organization_id: 1,
        facility_id: 2,
        facility_name: "Sunrise ALF - North Campus",
        status: "ACTIVE",
        checked_at: "2026-11-27T02:00:00Z",
      },
    });
    render(LockScreen);
    expect(await screen.findByTestId("facility-name")).toHaveTextContent("Sunrise ALF - North Campus");
  });

  it("takes the facility's name from the app status, and asks for nothing clinical", async () => {
    const calls = mockCommands({
      session_state: state("signed_out"),
      reader_status: "connected",
      app_status: { connection: "online", server_url: "https://tend.example.org", last_sync: null, pending: 0, facility_name: "Sunrise ALF - South" },
      enrollment_status: null,
    });
    render(LockScreen);
    expect(await screen.findByTestId("facility-name")).toHaveTextContent("Sunrise ALF - South");
    for (const clinical of ["facility_info", "roster", "patient_timeline", "due_follow_ups", "handoff_notes"]) {
      expect(calls).not.toContain(clinical);
    }
  });

  it("shows an active wandering alert to everyone, room and first name only, live", async () => {
    const maria = {
      id: "0190a3b4-0000-7000-8000-000000000001",
      room: "12",
      first_name: "Maria",
      alert: "exit_door",
      location: "east exit",
      occurred_at: "2026-12-05T10:00:00Z",
      acknowledged_at: null,
      acknowledged_by: null,
      escalated_at: null,
      resolved_at: null,
    } as const;
    mockCommands({ session_state: state("signed_out"), reader_status: "connected", wandering_alerts: { alerts: [maria], live: true } });
    render(LockScreen);
    expect(await screen.findByTestId("wandering-alert")).toHaveTextContent("Wandering alert: Room 12, Maria — exit door");
    expect(screen.getByTestId("wandering-alerts")).toHaveAttribute("aria-live", "assertive");
    expect(screen.queryByTestId("alert-acknowledge")).not.toBeInTheDocument();
    // Pushed: another alert arrives, Maria's was acknowledged elsewhere (it leaves the lock screen).
    await emit("wandering-alerts-changed", {
      live: true,
      alerts: [
        { ...maria, acknowledged_at: "2026-12-05T10:01:00Z", acknowledged_by: "Ruth Torres" },
        { ...maria, id: "0190a3b4-0000-7000-8000-000000000002", room: "14", first_name: "Ada", alert: "missing" },
      ],
    });
    await waitFor(() => expect(screen.getByTestId("wandering-alert")).toHaveTextContent("Wandering alert: Room 14, Ada — missing"));
    expect(screen.getAllByTestId("wandering-alert")).toHaveLength(1);
  });

  it("sizes the PIN pad by Rust's PIN rules", async () => {
    mockCommands({ session_state: state("pin_required"), reader_status: "connected" });
    render(LockScreen);
    const input = await screen.findByTestId("pin-input");
    expect(input).toHaveAttribute("maxlength", String(DOMAIN_RULES.pin.max_digits));
    for (let i = 0; i < DOMAIN_RULES.pin.min_digits - 1; i++) await userEvent.click(screen.getByTestId("pin-key-5"));
    expect(screen.getByTestId("pin-submit")).toBeDisabled();
    await userEvent.click(screen.getByTestId("pin-key-2"));
    expect(screen.getByTestId("pin-submit")).toBeEnabled();
    for (let i = 0; i < DOMAIN_RULES.pin.max_digits; i++) await userEvent.click(screen.getByTestId("pin-key-1"));
    expect(input).toHaveValue(`${"5".repeat(DOMAIN_RULES.pin.min_digits - 1)}2${"1".repeat(DOMAIN_RULES.pin.max_digits - DOMAIN_RULES.pin.min_digits)}`);
  });

  it("shows no facility line when the name is not known", async () => {
    mockCommands({ session_state: state("signed_out"), reader_status: "connected", enrollment_status: null });
    render(LockScreen);
    await screen.findByText(/Waiting for a badge/);
    await waitFor(() => expect(screen.getByTestId("reader-status")).toHaveAttribute("data-status", "connected"));
    expect(screen.queryByTestId("facility-name")).not.toBeInTheDocument();
  });

  it("says when no reader is connected, and follows the reader event", async () => {
    mockCommands({ session_state: state("signed_out"), reader_status: "no_reader" });
    render(LockScreen);
    await waitFor(() => expect(screen.getByTestId("reader-status")).toHaveTextContent("No badge reader connected"));
    await emit("reader-status-changed", "connected");
    await waitFor(() => expect(screen.getByTestId("reader-status")).toHaveTextContent("Badge reader connected"));
  });

  it("shows 'Reading badge…' as soon as Rust reports a tap", async () => {
    mockCommands({ session_state: state("signed_out"), reader_status: "connected" });
    render(LockScreen);
    await screen.findByText(/Waiting for a badge/);
    await emit("session-changed", state("verifying"));
    await waitFor(() => expect(screen.getByTestId("lock-state")).toHaveTextContent("Reading badge…"));
  });

  it("sends a keyboard-wedge burst and shows feedback before the answer", async () => {
    let sent: unknown = null;
    let answer: (s: SessionState) => void = () => undefined;
    mockCommands({
      session_state: state("signed_out"),
      reader_status: "no_reader",
      badge_login_wedge: (args: Record<string, unknown>) => {
        sent = args.value;
        return new Promise<SessionState>((resolve) => (answer = resolve));
      },
    });
    render(LockScreen);
    await screen.findByText(/Waiting for a badge/);
    // Dispatched back to back: machine speed, as a wedge reader types.
    for (const key of ["0", "0", "1", "2", "3", "4", "Enter"]) {
      window.dispatchEvent(new KeyboardEvent("keydown", { key }));
    }
    await waitFor(() => expect(screen.getByTestId("lock-state")).toHaveTextContent("Reading badge…"));
    expect(sent).toBe("001234");
    answer(state("pin_required"));
    expect(await screen.findByTestId("pin-pad")).toBeInTheDocument();
  });

  it("recognizes the wedge format configured for this device", async () => {
    const sent: unknown[] = [];
    mockCommands({
      session_state: state("signed_out"),
      reader_status: "no_reader",
      app_info: { ...DESKTOP_INFO, wedge: { ...DESKTOP_INFO.wedge, prefix: ";", suffix: "?", min_length: 5 } },
      badge_login_wedge: (args: Record<string, unknown>) => {
        sent.push(args.value);
        return state("signed_out", { failure: { code: "BADGE_UNKNOWN", message: "unknown" } });
      },
    });
    render(LockScreen);
    await screen.findByText(/Waiting for a badge/);
    const burst = (keys: string) => {
      for (const key of [...keys, "Enter"]) window.dispatchEvent(new KeyboardEvent("keydown", { key }));
    };
    // Until the format arrives the defaults apply; wait for it to take effect.
    await waitFor(() => {
      burst(";00042?");
      expect(sent[sent.length - 1]).toBe("00042");
    });
    await screen.findByText(/Waiting for a badge/);
    sent.length = 0;
    burst("00042"); // no prefix: not this reader
    burst(";0042?"); // too short
    burst(";00077?");
    await waitFor(() => expect(sent).toEqual(["00077"]));
  });

  it("says when only one PIN attempt is left", async () => {
    mockCommands({
      session_state: state("pin_required", {
        attempts_left: 1,
        failure: { code: "BADGE_PIN_WRONG", message: "wrong PIN" },
      } as Partial<SessionState>),
      reader_status: "connected",
    });
    render(LockScreen);
    expect(await screen.findByTestId("pin-attempts")).toHaveTextContent(/^1 attempt left$/);
    expect(screen.getByTestId("login-error")).toHaveTextContent("One more wrong PIN locks this badge");
  });

  it("takes the PIN on large keys and says how many attempts are left", async () => {
    const pins: unknown[] = [];
    mockCommands({
      session_state: state("pin_required"),
      reader_status: "connected",
      submit_pin: (args: Record<string, unknown>) => {
        pins.push(args.pin);
        return state("pin_required", {
          attempts_left: 3,
          failure: { code: "BADGE_PIN_WRONG", message: "wrong PIN" },
        } as Partial<SessionState>);
      },
    });
    render(LockScreen);
    const pad = await screen.findByTestId("pin-pad");
    expect(pad).toBeInTheDocument();
    expect(screen.getByTestId("pin-submit")).toBeDisabled();
    for (const d of ["4", "7", "1", "1"]) await userEvent.click(screen.getByTestId(`pin-key-${d}`));
    await userEvent.click(screen.getByTestId("pin-submit"));
    expect(pins).toEqual(["4711"]);
    expect(await screen.findByTestId("pin-attempts")).toHaveTextContent("3 attempts left");
    expect(screen.getByTestId("login-error")).toHaveAttribute("data-code", "BADGE_PIN_WRONG");
    expect(screen.getByTestId("login-error")).toHaveTextContent("3 attempts left before this badge locks");
    expect(screen.getByTestId("pin-input")).toHaveValue("");
  });

  it.each([
    ["BADGE_UNKNOWN", /isn't assigned to anyone/],
    ["BADGE_REVOKED", /has been cancelled/],
    ["BADGE_PIN_NOT_SET", /haven't set one yet/],
    ["BADGE_LOCKED", /locked for 15 minutes/],
    ["BADGE_DEVICE_NOT_ALLOWED", /another facility/],
    ["OFFLINE", /offline/],
  ] as const)("explains %s in words", async (code, text) => {
    mockCommands({
      session_state: state("signed_out", { failure: { code, message: "server words" } }),
      reader_status: "connected",
    });
    render(LockScreen);
    const alert = await screen.findByTestId("login-error");
    expect(alert).toHaveAttribute("data-code", code);
    expect(alert).toHaveTextContent(text);
  });

  it("shows whose session is locked", async () => {
    mockCommands({ session_state: state("locked", { user: NURSE }), reader_status: "connected" });
    render(LockScreen);
    expect(await screen.findByRole("heading", { name: "Locked" })).toBeInTheDocument();
    expect(screen.getByText(/Ada Nightingale's session is locked/)).toBeInTheDocument();
  });

  it("signs in with a password instead, and marks an empty field", async () => {
    const sent: unknown[] = [];
    mockCommands({
      session_state: state("signed_out"),
      reader_status: "no_reader",
      password_login: (args: Record<string, unknown>) => {
        sent.push(args);
        if (!args.password) return reject("VALIDATION_FAILED", "enter your password");
        return state("active", { user: NURSE });
      },
    });
    render(LockScreen);
    await userEvent.click(await screen.findByTestId("use-password"));
    await userEvent.type(screen.getByTestId("password-username"), "ada");
    await userEvent.click(screen.getByTestId("password-submit"));
    expect(await screen.findByTestId("login-error")).toHaveAttribute("data-code", "VALIDATION_FAILED");
    await userEvent.type(screen.getByTestId("password-password"), "correct horse");
    await userEvent.click(screen.getByTestId("password-submit"));
    expect(sent).toEqual([
      { username: "ada", password: "" },
      { username: "ada", password: "correct horse" },
    ]);
    await waitFor(() => expect(screen.queryByTestId("password-form")).not.toBeInTheDocument());
  });
});

describe("LockScreen in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("asks for the badge and shows the reader's status in Spanish", async () => {
    setDeviceLanguage("es");
    mockCommands({ session_state: state("signed_out"), reader_status: "connected" });
    render(LockScreen);
    expect(await screen.findByRole("heading", { level: 1 })).toHaveTextContent("Acerque su credencial");
    expect(screen.getByTestId("lock-state")).toHaveTextContent("Esperando una credencial…");
    await waitFor(() => expect(screen.getByTestId("reader-status")).toHaveTextContent("Lector de credenciales conectado"));
    expect(screen.getByTestId("use-password")).toHaveTextContent("Usar contraseña");
  });

  it("says a wrong PIN and the attempts left in Spanish, with plurals", async () => {
    setDeviceLanguage("es");
    mockCommands({
      session_state: state("pin_required", {
        attempts_left: 3,
        failure: { code: "BADGE_PIN_WRONG", message: "wrong PIN" },
      } as Partial<SessionState>),
      reader_status: "connected",
    });
    render(LockScreen);
    expect(await screen.findByTestId("pin-attempts")).toHaveTextContent(/^Quedan 3 intentos$/);
    expect(screen.getByRole("heading", { name: "Ingrese su PIN" })).toBeInTheDocument();
    const error = screen.getByTestId("login-error");
    expect(error).toHaveTextContent("No se inició sesión");
    expect(error).toHaveTextContent(
      `Ese PIN no es correcto. Quedan 3 intentos antes de que esta credencial se bloquee durante ${DOMAIN_RULES.pin.lockout_minutes} minutos.`,
    );
    expect(screen.getByTestId("pin-delete")).toHaveAccessibleName("Borrar el último dígito");
  });

  it("says the last attempt and a locked badge in Spanish", async () => {
    setDeviceLanguage("es");
    mockCommands({
      session_state: state("pin_required", {
        attempts_left: 1,
        failure: { code: "BADGE_PIN_WRONG", message: "wrong PIN" },
      } as Partial<SessionState>),
      reader_status: "connected",
    });
    render(LockScreen);
    expect(await screen.findByTestId("pin-attempts")).toHaveTextContent(/^Queda 1 intento$/);
    expect(screen.getByTestId("login-error")).toHaveTextContent("Un PIN incorrecto más bloqueará esta credencial");
  });
});
