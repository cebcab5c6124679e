// Keeps the app's connection and sync state fresh for the status bar: Rust pushes
// `appStatusChanged` when it changes, and a slow poll of `appStatus` backs that up.

import { commands, events, type AppError, type AppStatus } from "./bindings";
import { call, release } from "./ipc";

export const STATUS_POLL_MS = 15_000;

export class StatusPoller {
  status = $state<AppStatus | null>(null);
  error = $state<AppError | null>(null);
  /** True once the first answer (status or error) has arrived. */
  settled = $state(false);

  #timer: ReturnType<typeof setInterval> | undefined;
  #inFlight = false;
  #unlisten: (() => void) | undefined;
  /** Bumped by stop(), so a subscription that resolves after it is dropped at once. */
  #generation = 0;
  /** Bumped by every pushed status, so a poll that was asked before it never replaces it. */
  #pushes = 0;
  #refreshSoon = (): void => {
    void this.refresh();
  };

  async refresh(): Promise<void> {
    // Polls can pile up behind a slow backend on a Pi; one at a time is enough.
    if (this.#inFlight) return;
    this.#inFlight = true;
    const pushes = this.#pushes;
    try {
      const result = await call(() => commands.appStatus());
      if (pushes !== this.#pushes) return;
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

  /**
   * Listens for pushed changes, polls as a fallback, and refreshes immediately when the
   * OS reports the network changed.
   */
  start(intervalMs: number = STATUS_POLL_MS): void {
    this.stop();
    void this.#subscribe(this.#generation);
    void this.refresh();
    this.#timer = setInterval(this.#refreshSoon, intervalMs);
    window.addEventListener("online", this.#refreshSoon);
    window.addEventListener("offline", this.#refreshSoon);
  }

  async #subscribe(generation: number): Promise<void> {
    try {
      const unlisten = await events.appStatusChanged.listen((event) => {
        this.#pushes += 1;
        this.status = event.payload;
        this.error = null;
        this.settled = true;
      });
      if (generation === this.#generation) this.#unlisten = unlisten;
      else unlisten();
    } catch {
      // No event bridge (e.g. a plain browser during `npm run dev`): polling still works.
    }
  }

  stop(): void {
    this.#generation += 1;
    if (this.#unlisten) release(this.#unlisten);
    this.#unlisten = undefined;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    window.removeEventListener("online", this.#refreshSoon);
    window.removeEventListener("offline", this.#refreshSoon);
  }
}
