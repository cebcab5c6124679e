// Keeps the background sync's status for the status bar and its details panel: Rust
// pushes `syncStatusChanged` on every change, and a slow poll of `syncStatus` backs it
// up (and keeps "Synced 2 minutes ago" moving). Also the plain words for sync problems.

import type { AppError } from "./bindings";
import { errorMessage } from "./errors";
import { call, subscribe } from "./ipc";
import { nurseCommands, nurseEvents } from "./nurse-api";
import type { SyncProblem, SyncStatus } from "./nurse-types";

export const SYNC_POLL_MS = 30_000;

export class SyncWatcher {
  status = $state<SyncStatus | null>(null);
  error = $state<AppError | null>(null);
  #stops: (() => void)[] = [];
  #inFlight = false;

  async refresh(): Promise<void> {
    if (this.#inFlight) return;
    this.#inFlight = true;
    try {
      const result = await call(() => nurseCommands.syncStatus());
      if (result.status === "ok") {
        this.status = result.data;
        this.error = null;
      } else {
        this.error = result.error;
      }
    } finally {
      this.#inFlight = false;
    }
  }

  start(intervalMs: number = SYNC_POLL_MS): void {
    this.stop();
    this.#stops.push(
      subscribe(nurseEvents.syncStatusChanged, (status) => {
        this.status = status;
        this.error = null;
      }),
    );
    void this.refresh();
    const timer = setInterval(() => void this.refresh(), intervalMs);
    this.#stops.push(() => clearInterval(timer));
  }

  stop(): void {
    for (const stop of this.#stops.splice(0)) stop();
  }

  /** Asks for a sync round now; the result arrives as a status change. */
  async syncNow(): Promise<AppError | null> {
    const result = await call(() => nurseCommands.syncNow());
    if (result.status === "error") return result.error;
    void this.refresh();
    return null;
  }
}

/** The last sync failure in words a nurse can act on. */
export function syncProblemText(problem: Pick<SyncProblem, "code" | "message">): string {
  switch (problem.code) {
    case "OFFLINE":
      return "The server couldn't be reached. Tend keeps trying on its own; your work is safe on this device.";
    case "UNAVAILABLE":
      return "The server isn't answering right now. Tend keeps trying on its own; your work is safe on this device.";
    case "UNSUPPORTED_VERSION":
      return "This version of Tend is too old for the server. Ask your administrator to update Tend; your unsynced work is kept.";
    case "UNAUTHORIZED":
    case "DEVICE_UNKNOWN":
    case "DEVICE_DEACTIVATED":
      return `The server no longer accepts this device. ${errorMessage(problem as AppError)}`;
    case "RATE_LIMITED":
      return "The server asked Tend to slow down. It will try again in a moment.";
    case "INTERNAL":
      return "The server had a problem. Tend will try again; if it keeps happening, contact support.";
    default:
      return errorMessage(problem as AppError);
  }
}
