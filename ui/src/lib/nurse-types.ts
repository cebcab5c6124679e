// TypeScript mirrors of the Rust types behind the nurse workspace commands, field for
// field as serde writes them (snake_case fields, `kind`-tagged record bodies, i64 ids as
// numbers, Uuid and DateTime as strings, Option as null). They stand in until the lead
// regenerates bindings.ts from Rust; then this file becomes re-exports of bindings.ts.
//
// Sources: tend-core `sync.rs` (SyncStatus, InitialSyncProgress, SyncProblem),
// tend-core `sync/store.rs` (LocalRecord, RecordSyncState, Rejection, RosterPatient),
// tend-domain `records.rs` (RecordBody and its kinds), tend-domain `wire/sync.rs`
// (SyncedFacility), tend-domain `kinds.rs` (PatientStatus, FacilityType).

import type { ErrorCode } from "./bindings";

export type PatientStatus = "active" | "on_leave" | "discharged" | "deceased";

export type FacilityType = "HOME_HEALTH" | "ALF" | "MEMORY_CARE" | "SNF" | "HOSPICE";

/** A patient of the facility as the roster shows them. */
export interface RosterPatient {
  id: number;
  mrn: string;
  first_name: string;
  last_name: string;
  /** "1942-03-01" */
  date_of_birth: string | null;
  room: string | null;
  status: PatientStatus;
}

export type RecordKind =
  | "care_note"
  | "vital_signs"
  | "behavior_event"
  | "prn_administration"
  | "prn_follow_up"
  | "wandering_alert";

export type BehaviorType =
  | "agitation"
  | "verbal_aggression"
  | "physical_aggression"
  | "exit_seeking"
  | "refusing_care"
  | "sundowning"
  | "repetitive_vocalization"
  | "other";

export type BehaviorOutcome = "resolved" | "improved" | "unchanged" | "escalated";

export type MedicationRoute =
  | "oral"
  | "sublingual"
  | "topical"
  | "inhaled"
  | "injection"
  | "rectal"
  | "transdermal"
  | "other";

export type PrnEffectiveness = "effective" | "partially_effective" | "not_effective";

export type WanderingAlertType = "exit_door" | "missing" | "found";

export interface CareNote {
  text: string;
}

export interface VitalSigns {
  temperature_c: number | null;
  pulse_bpm: number | null;
  respiration_rate: number | null;
  systolic_mmhg: number | null;
  diastolic_mmhg: number | null;
  spo2_percent: number | null;
  pain_score: number | null;
  blood_glucose_mg_dl: number | null;
}

export interface BehaviorEvent {
  behavior: BehaviorType;
  antecedent: string;
  intervention: string;
  outcome: BehaviorOutcome;
  note: string | null;
}

export interface PrnAdministration {
  medication: string;
  dose: string;
  route: MedicationRoute;
  reason: string;
  /** 15–240 (default 60). */
  follow_up_minutes: number;
}

export interface PrnFollowUp {
  effectiveness: PrnEffectiveness;
  note: string | null;
}

export interface WanderingAlert {
  alert: WanderingAlertType;
  location: string;
  note: string | null;
}

/** What a record says; `kind` tags it on the wire. */
export type RecordBody =
  | ({ kind: "care_note" } & CareNote)
  | ({ kind: "vital_signs" } & VitalSigns)
  | ({ kind: "behavior_event" } & BehaviorEvent)
  | ({ kind: "prn_administration" } & PrnAdministration)
  | ({ kind: "prn_follow_up" } & PrnFollowUp)
  | ({ kind: "wandering_alert" } & WanderingAlert);

export type RecordSyncState = "pending" | "synced" | "rejected";

export interface Rejection {
  code: ErrorCode;
  message: string;
}

/** A record of the device's timeline. */
export interface LocalRecord {
  id: string;
  patient_id: number;
  author_user_id: number;
  /** The writing device's clock. */
  recorded_at: string;
  /** The server's clock; null until the server has the record. */
  occurred_at: string | null;
  amends: string | null;
  body: RecordBody;
  written_here: boolean;
  sync_state: RecordSyncState;
  rejection: Rejection | null;
}

export interface SyncedFacility {
  id: number;
  organization_id: number;
  name: string;
  facility_type: FacilityType;
  timezone: string;
  settings: Record<string, unknown>;
  features: Record<string, boolean>;
}

export interface InitialSyncProgress {
  received: number;
  remaining: number;
  /** 0–100. */
  percent: number;
}

export interface SyncProblem {
  code: ErrorCode;
  message: string;
  at: string;
}

export interface SyncStatus {
  /** null before the first call to the server. */
  online: boolean | null;
  syncing: boolean;
  last_sync: string | null;
  pending: number;
  oldest_pending_since: string | null;
  rejected: number;
  initial_sync: InitialSyncProgress | null;
  last_error: SyncProblem | null;
  update_needed: boolean;
}
