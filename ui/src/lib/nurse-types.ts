// The nurse workspace's types, generated from Rust into bindings.ts (tend-core's sync
// store and status, tend-domain's records). Re-exported under the names the workspace
// uses, in the shape Rust sends them (`*_Serialize`: every field present, null when
// empty). `SyncStatus` here is the device's sync status (`DeviceSyncStatus` in
// bindings, where `SyncStatus` is the seed's per-device enum).

export type {
  BehaviorEvent_Serialize as BehaviorEvent,
  BehaviorOutcome,
  BehaviorType,
  CareNote,
  DueFollowUp_Serialize as DueFollowUp,
  HandoffNote_Serialize as HandoffNote,
  FacilityType,
  InitialSyncProgress,
  LocalRecord_Serialize as LocalRecord,
  MedicationRoute,
  PatientStatus,
  PrnAdministration_Serialize as PrnAdministration,
  PrnEffectiveness,
  PrnFollowUp_Serialize as PrnFollowUp,
  RecordBody_Serialize as RecordBody,
  RecordSyncState,
  Rejection,
  RosterPatient_Serialize as RosterPatient,
  SyncedFacility,
  SyncProblem,
  VitalSigns_Serialize as VitalSigns,
  WanderingAlert_Serialize as WanderingAlert,
  WanderingAlertType,
  DeviceSyncStatus_Serialize as SyncStatus,
} from "./bindings";

import type { RecordBody_Serialize } from "./bindings";

/** What a record is: the `kind` tag of its body. */
export type RecordKind = RecordBody_Serialize["kind"];
