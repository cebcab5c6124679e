import { render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { BadgeSummary_Serialize, CaptureOutcome_Serialize, StaffMember_Serialize } from "$lib/bindings";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import { DESKTOP_INFO, mockCommands, reject } from "../../../test/ipc";
import BadgePanel from "./BadgePanel.svelte";

const ROSA: StaffMember_Serialize = {
  id: 21,
  facility_id: 10,
  employee_id: "E-100",
  username: "rosa.alvarez",
  full_name: "Rosa Alvarez",
  email: null,
  role: "RN",
  is_active: true,
  created_at: "2026-01-01T00:00:00Z",
  preferred_language: null,
};

const BADGE: BadgeSummary_Serialize = {
  id: 5,
  user_id: 21,
  label: "main badge",
  is_active: true,
  locked_until: null,
  created_at: new Date(Date.now() - 60_000).toISOString(),
  revoked_at: null,
  last_used_at: null,
};

/** A backend whose "tap a badge" wait ends when the test says so. */
function waitingBackend(overrides: Record<string, unknown> = {}) {
  let badges: BadgeSummary_Serialize[] = [];
  let end: (outcome: CaptureOutcome_Serialize) => void = () => undefined;
  const started: unknown[] = [];
  const wedged: unknown[] = [];
  let cancels = 0;
  const calls = mockCommands({
    admin_user_badges: () => badges,
    reader_status: "connected",
    app_info: DESKTOP_INFO,
    admin_badge_capture_start: (args: Record<string, unknown>) => {
      started.push(args);
      return new Promise<CaptureOutcome_Serialize>((resolve) => {
        end = (outcome) => {
          if (outcome.outcome === "assigned") badges = [outcome.badge];
          resolve(outcome);
        };
      });
    },
    admin_badge_capture_cancel: () => {
      cancels += 1;
      end({ outcome: "cancelled" });
      return null;
    },
    admin_badge_capture_wedge: (args: Record<string, unknown>) => {
      wedged.push(args.value);
      return true;
    },
    ...overrides,
  });
  return {
    calls,
    started,
    wedged,
    end: (outcome: CaptureOutcome_Serialize) => end(outcome),
    cancels: () => cancels,
  };
}

async function armed(): Promise<void> {
  await waitFor(() => expect(screen.getByTestId("badge-capture-status")).toHaveTextContent("Waiting for a badge tap on this device's reader"));
}

describe("BadgePanel: tap a badge to assign", () => {
  it("waits for a tap with a live status and Cancel in focus, then says the badge is assigned, never its number", async () => {
    const user = userEvent.setup();
    const backend = waitingBackend();
    render(BadgePanel, { member: ROSA, onclose: () => undefined });
    expect(await screen.findByText("No badge yet")).toBeInTheDocument();

    await user.type(screen.getByLabelText("Note (optional)"), "main badge");
    await user.click(screen.getByRole("button", { name: "Tap a badge to assign" }));
    await armed();
    const status = screen.getByTestId("badge-capture-status");
    expect(status).toHaveAttribute("role", "status");
    expect(screen.getByRole("button", { name: "Cancel" })).toHaveFocus();
    expect(screen.queryByRole("button", { name: "Tap a badge to assign" })).toBeNull();
    expect(screen.getByTestId("badge-assign")).toBeDisabled();
    expect(screen.getByLabelText("Note (optional)")).toHaveAttribute("readonly");
    expect(screen.getByLabelText("Badge number")).toHaveAttribute("readonly");
    expect(backend.started).toEqual([{ userId: 21, label: "main badge" }]);

    backend.end({ outcome: "assigned", badge: BADGE });
    expect(await screen.findByTestId("badge-notice")).toHaveTextContent("A badge is assigned to Rosa Alvarez");
    expect(await screen.findByTestId("badge-status-5")).toHaveTextContent("Active");
    expect(screen.getByTestId("badge-capture-status")).not.toHaveTextContent("Waiting");
    expect(screen.getByRole("button", { name: "Tap a badge to assign" })).toHaveFocus();
    expect(screen.getByLabelText("Note (optional)")).toHaveValue("");
  });

  it("sends a keyboard-wedge reader's burst to Rust while waiting, never into a field or onto the screen", async () => {
    const user = userEvent.setup();
    const backend = waitingBackend();
    render(BadgePanel, { member: ROSA, onclose: () => undefined });
    await screen.findByText("No badge yet");
    await user.click(screen.getByRole("button", { name: "Tap a badge to assign" }));
    await armed();
    screen.getByLabelText("Note (optional)").focus();
    // Dispatched back to back: machine speed, as a wedge reader types.
    for (const key of [..."0012345678", "Enter"]) {
      window.dispatchEvent(new KeyboardEvent("keydown", { key }));
    }
    await waitFor(() => expect(backend.wedged).toEqual(["0012345678"]));
    expect(screen.getByLabelText("Note (optional)")).toHaveValue("");
    expect(screen.getByTestId("badge-panel")).not.toHaveTextContent("0012345678");

    backend.end({ outcome: "assigned", badge: BADGE });
    await screen.findByTestId("badge-notice");
    // Once the wait is over, a burst goes nowhere.
    for (const key of [..."0012345679", "Enter"]) {
      window.dispatchEvent(new KeyboardEvent("keydown", { key }));
    }
    expect(backend.wedged).toEqual(["0012345678"]);
  });

  it("says so when the reader sent something that is not a badge, and keeps waiting", async () => {
    const user = userEvent.setup();
    waitingBackend({ admin_badge_capture_wedge: reject("VALIDATION_FAILED", "a badge number is hex") });
    render(BadgePanel, { member: ROSA, onclose: () => undefined });
    await screen.findByText("No badge yet");
    await user.click(screen.getByRole("button", { name: "Tap a badge to assign" }));
    await armed();
    for (const key of [..."ZZZZZZ", "Enter"]) window.dispatchEvent(new KeyboardEvent("keydown", { key }));
    expect(await screen.findByTestId("badge-capture-wedge-error")).toHaveTextContent("isn't a badge number");
    expect(screen.getByTestId("badge-capture-status")).toHaveTextContent("Waiting for a badge tap");
  });

  it("stops waiting on Cancel and says nothing was assigned", async () => {
    const user = userEvent.setup();
    const backend = waitingBackend();
    render(BadgePanel, { member: ROSA, onclose: () => undefined });
    await screen.findByText("No badge yet");
    await user.click(screen.getByRole("button", { name: "Tap a badge to assign" }));
    await armed();
    // Keyboard only: Cancel has focus.
    await user.keyboard("{Enter}");
    expect(await screen.findByTestId("badge-capture-ended")).toHaveTextContent("Stopped waiting for a badge. Nothing was assigned.");
    expect(backend.cancels()).toBe(1);
    expect(screen.getByRole("button", { name: "Tap a badge to assign" })).toHaveFocus();
  });

  it("says when nobody tapped in time, and points to typing", async () => {
    const user = userEvent.setup();
    const backend = waitingBackend();
    render(BadgePanel, { member: ROSA, onclose: () => undefined });
    await screen.findByText("No badge yet");
    await user.click(screen.getByRole("button", { name: "Tap a badge to assign" }));
    await armed();
    backend.end({ outcome: "timed_out", seconds: 60 });
    expect(await screen.findByTestId("badge-capture-ended")).toHaveTextContent("No badge was tapped within 60 seconds");
    expect(screen.getByTestId("badge-capture-ended")).toHaveTextContent("type the badge number below");
  });

  it("says when the card tapped cannot be a badge", async () => {
    const user = userEvent.setup();
    const backend = waitingBackend();
    render(BadgePanel, { member: ROSA, onclose: () => undefined });
    await screen.findByText("No badge yet");
    await user.click(screen.getByRole("button", { name: "Tap a badge to assign" }));
    await armed();
    backend.end({ outcome: "unsupported_card" });
    expect(await screen.findByTestId("badge-capture-ended")).toHaveTextContent("can't be used as a badge");
  });

  it("refuses a badge that is someone else's in words, not as an edit conflict", async () => {
    const user = userEvent.setup();
    waitingBackend({ admin_badge_capture_start: reject("CONFLICT", "the badge is active for someone else") });
    render(BadgePanel, { member: ROSA, onclose: () => undefined });
    await screen.findByText("No badge yet");
    await user.click(screen.getByRole("button", { name: "Tap a badge to assign" }));
    const alert = await screen.findByTestId("badge-capture-error");
    expect(alert).toHaveAttribute("data-code", "CONFLICT");
    expect(alert).toHaveTextContent("already assigned to someone else");
    expect(alert).not.toHaveTextContent("changed this at the same time");
  });

  it("with no reader connected says so and points to the wedge or typing", async () => {
    const user = userEvent.setup();
    waitingBackend({ reader_status: "no_reader" });
    render(BadgePanel, { member: ROSA, onclose: () => undefined });
    await screen.findByText("No badge yet");
    await user.click(screen.getByRole("button", { name: "Tap a badge to assign" }));
    await armed();
    expect(await screen.findByTestId("badge-capture-no-reader")).toHaveTextContent("No badge reader is connected");
    expect(screen.getByTestId("badge-capture-no-reader")).toHaveTextContent("type the badge number below");
  });

  it("returns to sign-in when the console's session ended while waiting", async () => {
    const user = userEvent.setup();
    const backend = waitingBackend();
    const onsignedout = vi.fn();
    render(BadgePanel, { member: ROSA, onclose: () => undefined, onsignedout });
    await screen.findByText("No badge yet");
    await user.click(screen.getByRole("button", { name: "Tap a badge to assign" }));
    await armed();
    backend.end({ outcome: "session_ended" });
    await waitFor(() => expect(onsignedout).toHaveBeenCalledTimes(1));
  });

  it("stops the wait when the panel closes", async () => {
    const user = userEvent.setup();
    const backend = waitingBackend();
    const { unmount } = render(BadgePanel, { member: ROSA, onclose: () => undefined });
    await screen.findByText("No badge yet");
    await user.click(screen.getByRole("button", { name: "Tap a badge to assign" }));
    await armed();
    unmount();
    await waitFor(() => expect(backend.cancels()).toBe(1));
  });
});

describe("BadgePanel in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("asks for the tap, waits and says how the wait ended in Spanish", async () => {
    setDeviceLanguage("es");
    const user = userEvent.setup();
    const backend = waitingBackend();
    render(BadgePanel, { member: ROSA, onclose: () => undefined });
    expect(await screen.findByText("Todavía no tiene credencial")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Credenciales y PIN de Rosa Alvarez" })).toBeInTheDocument();
    expect(screen.getByText(/^Acerque la nueva credencial al lector de este dispositivo/)).toHaveTextContent("Así, el próximo acercamiento será para Rosa Alvarez, no para la pantalla de bloqueo.");
    expect(screen.getByLabelText("Nuevo PIN")).toHaveAccessibleDescription(/^De 4 a 8 dígitos\./);

    await user.click(screen.getByRole("button", { name: "Acercar una credencial para asignarla" }));
    await waitFor(() =>
      expect(screen.getByTestId("badge-capture-status")).toHaveTextContent("Esperando que acerque una credencial al lector de este dispositivo…"),
    );
    expect(screen.getByRole("button", { name: "Cancelar" })).toHaveFocus();
    backend.end({ outcome: "timed_out", seconds: 60 });
    expect(await screen.findByTestId("badge-capture-ended")).toHaveTextContent(
      "No se acercó ninguna credencial en 60 segundos, así que no se asignó nada.",
    );
    // The message follows a change of language while it shows.
    setDeviceLanguage("en");
    expect(await screen.findByText(/^No badge was tapped within 60 seconds/)).toBeInTheDocument();
  });

  it("names a badge's state and a badge someone else holds in Spanish", async () => {
    setDeviceLanguage("es");
    mockCommands({ admin_user_badges: [{ ...BADGE, label: null }], admin_facility_detail: reject("FORBIDDEN", "no") });
    render(BadgePanel, { member: ROSA, onclose: () => undefined });
    expect(await screen.findByTestId("badge-status-5")).toHaveTextContent("Activa");
    expect(screen.getByRole("rowheader", { name: "Credencial 1" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Revocar la credencial 1" })).toBeInTheDocument();
  });
});
