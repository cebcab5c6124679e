// Live wandering alerts for the lock screen and the workspace banner: Rust pushes
// `wanderingAlertsChanged` (from the push channel or a sync), and a slow poll of
// `wanderingAlerts` backs that up. An alert carries only a room and a first name.

import { commands, events, type AppError, type LiveAlert, type WanderingAlerts } from "./bindings";
import { t } from "./i18n/index.svelte";
import { call, subscribe } from "./ipc";

export const ALERTS_POLL_MS = 15_000;

const TYPE_KEYS = {
  exit_door: "status.alerts.types.exit_door",
  missing: "status.alerts.types.missing",
  found: "status.alerts.types.found",
} as const satisfies Record<LiveAlert["alert"], string>;

/** "Wandering alert: Room 12, Maria — exit door" (room and first name only), in the language shown. */
export function alertText(alert: LiveAlert): string {
  const type = t(TYPE_KEYS[alert.alert]);
  return alert.room
    ? t("status.alerts.withRoom", { room: alert.room, name: alert.first_name, type })
    : t("status.alerts.noRoom", { name: alert.first_name, type });
}

/** Not acknowledged and not closed by a later "found". */
export function isActive(alert: LiveAlert): boolean {
  return !alert.acknowledged_at && !alert.resolved_at && alert.alert !== "found";
}

export class AlertWatcher {
  alerts = $state<LiveAlert[]>([]);
  /** The push channel is up (else alerts arrive with sync). */
  live = $state(false);
  error = $state<AppError | null>(null);
  /** True once the first answer has arrived. */
  settled = $state(false);

  #timer: ReturnType<typeof setInterval> | undefined;
  #unsubscribe: (() => void) | undefined;

  /** Bumped by every pushed list, so an older poll's answer never replaces it. */
  #pushes = 0;

  #take(list: WanderingAlerts): void {
    this.alerts = list.alerts;
    this.live = list.live;
  }

  async refresh(): Promise<void> {
    const pushes = this.#pushes;
    const result = await call(() => commands.wanderingAlerts());
    if (result.status === "ok" && pushes === this.#pushes) this.#take(result.data);
    this.settled = true;
  }

  start(intervalMs: number = ALERTS_POLL_MS): void {
    this.stop();
    this.#unsubscribe = subscribe(events.wanderingAlertsChanged, (list) => {
      this.#pushes += 1;
      this.#take(list);
    });
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), intervalMs);
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Acknowledges as the signed-in user; the answer names who did (maybe someone quicker). */
  async acknowledge(id: string): Promise<void> {
    const result = await call(() => commands.acknowledgeWanderingAlert(id));
    if (result.status === "ok") {
      this.error = null;
      this.alerts = this.alerts.map((a) => (a.id === id ? result.data : a));
    } else {
      this.error = result.error;
    }
  }
}
