// Keeps the app's connection and sync state fresh for the status bar by polling `appStatus`.

import { commands, type AppError, type AppStatus } from "./bindings";
import { call } from "./ipc";

export const STATUS_POLL_MS = 15_000;

export class StatusPoller {
  status = $state<AppStatus | null>(null);
  error = $state<AppError | null>(null);
  /** True once the first answer (status or error) has arrived. */
  settled = $state(false);

  #timer: ReturnType<typeof setInterval> | undefined;
  #inFlight = false;
  #refreshSoon = (): void => {
    void this.refresh();
  };

  async refresh(): Promise<void> {
    // Polls can pile up behind a slow backend on a Pi; one at a time is enough.
    if (this.#inFlight) return;
    this.#inFlight = true;
    try {
      const result = await call(() => commands.appStatus());
      if (result.status === "ok") {
        this.status = result.data;
        this.error = null;
      } else {
        this.error = result.error;
      }
    } finally {
      this.#inFlight = false;
      this.settled = true;
    }
  }

  /** Starts polling and refreshes immediately when the OS reports the network changed. */
  start(intervalMs: number = STATUS_POLL_MS): void {
    this.stop();
    void this.refresh();
    this.#timer = setInterval(this.#refreshSoon, intervalMs);
    window.addEventListener("online", this.#refreshSoon);
    window.addEventListener("offline", this.#refreshSoon);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    window.removeEventListener("online", this.#refreshSoon);
    window.removeEventListener("offline", this.#refreshSoon);
  }
}
