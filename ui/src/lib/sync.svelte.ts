// Keeps the background sync's status for the status bar and its details panel: Rust
// pushes `syncStatusChanged` on every change, and a slow poll of `syncStatus` backs it
// up (and keeps "Synced 2 minutes ago" moving). Also the plain words for sync problems.

import type { AppError } from "./bindings";
import { errorMessage } from "./errors";
import { t } from "./i18n/index.svelte";
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

/** The last sync failure in words a nurse can act on, in the language shown. */
export function syncProblemText(problem: Pick<SyncProblem, "code" | "message">): string {
  switch (problem.code) {
    case "OFFLINE":
      return t("status.problems.offline");
    case "UNAVAILABLE":
      return t("status.problems.unavailable");
    case "UNSUPPORTED_VERSION":
      return t("status.problems.unsupportedVersion");
    case "UNAUTHORIZED":
    case "DEVICE_UNKNOWN":
    case "DEVICE_DEACTIVATED":
      return t("status.problems.notAccepted", { reason: errorMessage(problem as AppError) });
    case "RATE_LIMITED":
      return t("status.problems.rateLimited");
    case "INTERNAL":
      return t("status.problems.internal");
    default:
      return errorMessage(problem as AppError);
  }
}
