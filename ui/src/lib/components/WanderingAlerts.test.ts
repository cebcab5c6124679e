import { render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import type { LiveAlert } from "$lib/bindings";
import { AlertWatcher, alertText } from "$lib/alerts.svelte";
import { mockCommands, reject } from "../../test/ipc";
import WanderingAlerts from "./WanderingAlerts.svelte";

const MARIA: LiveAlert = {
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
};
const ACKED: LiveAlert = {
  ...MARIA,
  id: "0190a3b4-0000-7000-8000-000000000002",
  first_name: "Ada",
  room: "14",
  alert: "missing",
  acknowledged_at: "2026-12-05T10:01:00Z",
  acknowledged_by: "Ruth Torres",
};

describe("WanderingAlerts", () => {
  it("says room, first name and type in one line", () => {
    expect(alertText(MARIA)).toBe("Wandering alert: Room 12, Maria — exit door");
    expect(alertText({ ...MARIA, room: null, alert: "missing" })).toBe("Wandering alert: Maria — missing");
  });

  it("on the lock screen shows only active alerts, announced as they arrive, as a list, with no button", () => {
    render(WanderingAlerts, { alerts: [MARIA, ACKED] });
    const items = screen.getAllByTestId("wandering-alert");
    expect(items).toHaveLength(1);
    expect(items[0]).toHaveTextContent("Wandering alert: Room 12, Maria — exit door");
    expect(screen.getByTestId("wandering-alerts")).toHaveAttribute("aria-live", "assertive");
    // A list keeps its list semantics (axe: listitem), so a screen reader says how many.
    expect(screen.getByRole("list")).toContainElement(items[0]!);
    expect(screen.queryByTestId("alert-acknowledge")).not.toBeInTheDocument();
  });

  it("shows staff an Acknowledge button, who acknowledged, and escalations", async () => {
    const onacknowledge = vi.fn();
    render(WanderingAlerts, {
      alerts: [{ ...MARIA, escalated_at: "2026-12-05T10:05:00Z" }, ACKED],
      staff: true,
      onacknowledge,
    });
    expect(screen.getAllByTestId("wandering-alert")).toHaveLength(2);
    expect(screen.getByTestId("alert-escalated")).toHaveTextContent("nobody has acknowledged yet");
    expect(screen.getByTestId("alert-acknowledged-by")).toHaveTextContent("Acknowledged by Ruth Torres");
    await userEvent.click(screen.getByRole("button", { name: "Acknowledge" }));
    expect(onacknowledge).toHaveBeenCalledWith(MARIA.id);
  });

  it("shows nothing when there is no alert, and says why an acknowledgement failed", () => {
    render(WanderingAlerts, {
      alerts: [],
      staff: true,
      error: { code: "OFFLINE", message: "the server is unreachable" },
    });
    expect(screen.queryByTestId("wandering-alert")).not.toBeInTheDocument();
    expect(screen.getByTestId("alert-error")).not.toBeEmptyDOMElement();
  });
});

describe("AlertWatcher", () => {
  it("takes pushed lists and acknowledges through Rust", async () => {
    mockCommands({
      wandering_alerts: { alerts: [], live: false },
      acknowledge_wandering_alert: ({ id }: Record<string, unknown>) => ({ ...MARIA, id, acknowledged_by: "Ada Nightingale", acknowledged_at: "2026-12-05T10:02:00Z" }),
    });
    const watcher = new AlertWatcher();
    watcher.start(60_000);
    await waitFor(() => expect(watcher.settled).toBe(true));
    await emit("wandering-alerts-changed", { alerts: [MARIA], live: true });
    await waitFor(() => expect(watcher.alerts).toHaveLength(1));
    expect(watcher.live).toBe(true);
    await watcher.acknowledge(MARIA.id);
    expect(watcher.alerts[0]?.acknowledged_by).toBe("Ada Nightingale");
    expect(watcher.error).toBeNull();
    watcher.stop();
  });

  it("keeps the alert and the reason when acknowledging fails", async () => {
    mockCommands({
      wandering_alerts: { alerts: [MARIA], live: false },
      acknowledge_wandering_alert: reject("OFFLINE", "acknowledging a wandering alert needs the server"),
    });
    const watcher = new AlertWatcher();
    await watcher.refresh();
    await watcher.acknowledge(MARIA.id);
    expect(watcher.alerts[0]?.acknowledged_by).toBeNull();
    expect(watcher.error?.code).toBe("OFFLINE");
  });
});

describe("WanderingAlerts in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("says room, first name and type in Spanish, and who acknowledged", () => {
    setDeviceLanguage("es");
    expect(alertText(MARIA)).toBe("Alerta de deambulación: habitación 12, Maria — puerta de salida");
    expect(alertText({ ...MARIA, room: null, alert: "missing" })).toBe("Alerta de deambulación: Maria — desaparecido/a");
    render(WanderingAlerts, { alerts: [MARIA, ACKED], staff: true });
    expect(screen.getByTestId("wandering-alerts")).toHaveAccessibleName("Alertas de deambulación");
    expect(screen.getByTestId("alert-acknowledge")).toHaveTextContent("Confirmar");
    expect(screen.getByTestId("alert-acknowledged-by")).toHaveTextContent("Confirmada por Ruth Torres");
    expect(screen.getAllByTestId("wandering-alert")[0]).toHaveTextContent("en east exit");
  });
});
