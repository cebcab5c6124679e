// The nurse workspace's commands and events, as generated in bindings.ts: the
// facility's residents and their documentation from the device's vault, writing a
// record (stamped with the signed-in user and the time by Rust), and sync status.

import { commands, events } from "./bindings";

export const nurseCommands = {
  /** The facility's patients matching `search` (name, room or MRN), sorted by room. */
  roster: commands.roster,
  /** PRN doses of the facility whose effectiveness check is due within 2 h or overdue. */
  dueFollowUps: commands.dueFollowUps,
  /** Colleagues' care notes of the last 12 h, newest first (not the signed-in user's own). */
  handoffNotes: commands.handoffNotes,
  /** A patient's records, newest first. */
  patientTimeline: commands.patientTimeline,
  /** Writes a record locally (author and time stamped by the app); it syncs later. */
  writeRecord: commands.writeRecord,
  /** The device's facility (name, features), or null before the first sync. */
  facilityInfo: commands.facilityInfo,
  syncStatus: commands.syncStatus,
  syncNow: commands.syncNow,
};

export const nurseEvents = {
  /** Pushed by Rust whenever the sync status changes. */
  syncStatusChanged: events.syncStatusChanged,
};
