// The nurse workspace's commands, typed like the generated ones in bindings.ts (same
// `{status, data | error}` result). When the lead regenerates bindings with these
// commands, each function body becomes `commands.<name>(...)` and this file can go.

import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { AppError } from "./bindings";
import type { Result } from "./ipc";
import type { LocalRecord, RecordBody, RosterPatient, SyncedFacility, SyncStatus } from "./nurse-types";

/** The same folding the generated `typedError` does: Rust's Err is a value, JS errors throw. */
async function typed<T>(result: Promise<T>): Promise<Result<T, AppError>> {
  try {
    return { status: "ok", data: await result };
  } catch (e) {
    if (e instanceof Error) throw e;
    return { status: "error", error: e as AppError };
  }
}

export const nurseCommands = {
  /** The facility's patients matching `search` (name, room or MRN), sorted by room. */
  roster: (search: string) => typed<RosterPatient[]>(invoke("roster", { search })),
  /** A patient's records, newest first. */
  patientTimeline: (patientId: number, limit: number) =>
    typed<LocalRecord[]>(invoke("patient_timeline", { patientId, limit })),
  /** Writes a record locally (author and time stamped by the app); it syncs later. */
  writeRecord: (patientId: number, amends: string | null, body: RecordBody) =>
    typed<LocalRecord>(invoke("write_record", { patientId, amends, body })),
  /** The device's facility (name, features), or null before the first sync. */
  facilityInfo: () => typed<SyncedFacility | null>(invoke("facility_info")),
  syncStatus: () => typed<SyncStatus>(invoke("sync_status")),
  syncNow: () => typed<null>(invoke("sync_now")),
};

export const nurseEvents = {
  /** Pushed by Rust whenever the sync status changes (tauri-specta's kebab-case name). */
  syncStatusChanged: {
    listen: (handler: (event: { payload: SyncStatus }) => void) => listen<SyncStatus>("sync-status-changed", handler),
  },
};
