//! The sync protocol between a device and the central API (protocol 1).
//!
//! **Push** (`POST /api/sync/push`, device token): the device uploads its
//! durable outbox in batches of at most [`MAX_PUSH_OPERATIONS`]. Every
//! operation carries its UUIDv7 id and the device's sequence number. The server
//! applies a batch in one transaction and remembers each operation id, so a
//! replayed batch (the response was lost, the device retried) changes nothing:
//! the answer lists which ids were new (`accepted`), which were already there
//! (`duplicates`) and which can never be applied (`rejected`, with the reason —
//! the device keeps those for people to see and does not resend them). A
//! record is applied only if its author had a session on the pushing device
//! at its time (`FORGED_AUTHOR` otherwise; see the API's `api::sync`).
//!
//! **Pull** (`GET /api/sync/pull?cursor=…`, device token): a change feed of the
//! device's own facility (from the token, never from the request) in order of
//! a server-assigned, monotonic per-facility position. The opaque `cursor`
//! names the position after the last change received; an absent cursor starts
//! an initial sync. Deletes and revocations arrive as tombstones
//! (`patient_removed`, `staff_removed`, `badge_revoked`). Documentation is
//! limited to the facility's active patients and to the last
//! `documentation_window_days` (the facility's policy, default 30).
//!
//! **Versions**: both carry the device's `protocol_version` and
//! `schema_version`; the server answers `UNSUPPORTED_VERSION` (HTTP 426) to
//! versions it cannot serve, and the device keeps its outbox and asks for an
//! update.
//!
//! **Time**: the device sends its clock (`device_time`); the server measures
//! the offset and stores each record's `occurred_at` on its own clock, so a
//! device clock hours off changes no ordering.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{JsonObject, Patient};
use crate::records::{ClinicalRecord, RecordDraft};
use crate::{ErrorCode, FacilityType, Language, Role};

/// The protocol this build speaks.
pub const SYNC_PROTOCOL_VERSION: u32 = 1;

/// The device vault schema this build writes (sent so the server can refuse
/// devices whose stored data it can no longer reconcile).
pub const DEVICE_SCHEMA_VERSION: u32 = 7;

/// Most operations in one push.
pub const MAX_PUSH_OPERATIONS: usize = 500;

/// Most changes in one pull page (the device may ask for fewer with `limit`).
pub const MAX_PULL_CHANGES: u32 = 5000;

/// A batch of the device's outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncPush {
    pub protocol_version: u32,
    pub schema_version: u32,
    /// The device's clock when it sent the batch.
    pub device_time: DateTime<Utc>,
    /// 1–500 operations, in the device's sequence order.
    pub operations: Vec<SyncOperation>,
    /// The facility these operations were written for, when it is not the
    /// device's facility now: after an administrator moved the device, its
    /// outbox still holds documentation of the facility it left, which the
    /// server files there (only for the facility the device left at its
    /// latest move). Absent: the device's current facility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility_id: Option<i64>,
}

/// One operation of the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncOperation {
    /// UUIDv7 made on the device: the idempotency key, and the record's id.
    pub id: Uuid,
    /// The device's own counter, increasing with every operation it writes.
    pub seq: i64,
    pub payload: OperationPayload,
}

/// What an operation carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OperationPayload {
    /// A new clinical record.
    Record(RecordDraft),
    /// Something the device recorded for the audit log (an offline login, a lock).
    Audit(DeviceAuditEvent),
}

/// Events a device records for the audit log, also while offline: session
/// events, and residents' records opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DeviceAuditAction {
    /// A badge login verified on the device while the API was unreachable.
    OfflineLogin,
    /// A failed offline login (unknown badge, wrong PIN).
    OfflineLoginFailed,
    /// The session was locked (by hand, by tap-out or idle).
    Lock,
    /// The locked session was unlocked by its user.
    Unlock,
    /// The user logged out (or was logged out by another user's tap).
    Logout,
    /// The user opened a resident's record (their page: details and
    /// documentation) on the device, online or offline; names `patient_id`.
    /// The server's audit log keeps it as `patient.read` by that user from
    /// that device (HIPAA §164.312(b)).
    ResidentViewed,
}

/// A device-side audit event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceAuditEvent {
    pub action: DeviceAuditAction,
    /// The user concerned, when known.
    #[serde(default)]
    pub user_id: Option<i64>,
    /// Device clock.
    pub occurred_at: DateTime<Utc>,
    /// `success` or `denied`.
    pub outcome: AuditOutcome,
    /// Why (a code such as `BADGE_PIN_WRONG`, `idle`, `tap_out`); never a badge value or PIN.
    #[serde(default)]
    pub reason: Option<String>,
    /// The resident concerned (`resident_viewed`); left out of the JSON
    /// otherwise, so session events read as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AuditOutcome {
    Success,
    Denied,
}

/// The answer to a push. Every operation of the batch is in exactly one list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncPushResult {
    pub server_time: DateTime<Utc>,
    /// Applied now.
    pub accepted: Vec<Uuid>,
    /// Applied by an earlier push (a replay): nothing changed.
    pub duplicates: Vec<Uuid>,
    /// Can never be applied as sent; do not resend.
    pub rejected: Vec<RejectedOperation>,
}

/// Why an operation was refused for good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RejectedOperation {
    pub id: Uuid,
    /// `VALIDATION_FAILED`, `NOT_FOUND` (patient or amended record not in the facility), `FORBIDDEN` (feature off),
    /// `FORGED_AUTHOR` (the author had no session on this device at the record's time).
    pub code: ErrorCode,
    pub message: String,
    /// Per-field messages for `VALIDATION_FAILED`.
    #[serde(default)]
    pub fields: BTreeMap<String, Vec<String>>,
}

/// Query of `GET /api/sync/pull`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct SyncPullQuery {
    pub protocol_version: u32,
    pub schema_version: u32,
    /// The `cursor` of the previous page; absent for an initial sync.
    #[serde(default)]
    pub cursor: Option<String>,
    /// 1–5000 changes (default 5000).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One page of the change feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncPullPage {
    pub server_time: DateTime<Utc>,
    /// Pass back as `cursor` next time (also when `changes` is empty).
    pub cursor: String,
    /// More changes are waiting: pull again now.
    pub has_more: bool,
    /// About how many changes follow this page (for a progress bar).
    pub remaining: u64,
    pub changes: Vec<SyncChange>,
    /// The organization's badge key (base64), for computing keyed badge hashes
    /// of offline verifiers; null while the organization has no badges.
    pub badge_key: Option<String>,
}

/// One change of the feed, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SyncChange {
    /// The device's facility: name, settings, features.
    Facility(SyncedFacility),
    /// A patient of the facility (new or changed; `version` for optimistic concurrency).
    Patient(Patient),
    /// A patient left the device's view (discharged, deceased, moved).
    PatientRemoved(RemovedId),
    /// A staff member of the facility.
    Staff(StaffMember),
    /// A staff member left the facility or was deactivated.
    StaffRemoved(RemovedId),
    /// An active badge of a staff member (keyed hash only).
    Badge(SyncedBadge),
    /// A badge was revoked: forget it and its offline verifier.
    BadgeRevoked(RemovedId),
    /// Documentation of an active patient.
    Record(ClinicalRecord),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemovedId {
    pub id: i64,
}

/// What a device needs to know about its facility.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncedFacility {
    // Ids stay far below 2^53, so a TypeScript number holds them.
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub organization_id: i64,
    pub name: String,
    pub facility_type: FacilityType,
    /// IANA time zone name.
    pub timezone: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    // Not in the TypeScript type: JSON numbers have no exact TS type, and the
    // webview needs the name and features only.
    #[cfg_attr(feature = "specta", specta(skip))]
    pub settings: JsonObject,
    pub features: BTreeMap<String, bool>,
    /// The facility's policy, applied by the device as it arrives (absent
    /// from an older server: the defaults).
    #[serde(default)]
    // Not in the TypeScript type: the device core applies it, the webview
    // only sees its effects (the session's idle lock, the lists' windows).
    #[cfg_attr(feature = "specta", specta(skip))]
    pub policy: crate::FacilityPolicy,
}

/// A staff member as devices see them (no credentials).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaffMember {
    pub id: i64,
    pub full_name: String,
    pub role: Role,
    pub employee_id: String,
    /// Their own language, so an offline sign-in shows it (absent from an
    /// older server, or null: no preference).
    #[serde(default)]
    pub preferred_language: Option<Language>,
}

/// An active badge: the keyed hash (hex) under the organization's badge key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncedBadge {
    pub id: i64,
    pub user_id: i64,
    pub badge_hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{CareNote, RecordBody};

    #[test]
    fn operations_are_tagged_and_round_trip() {
        let op = SyncOperation {
            id: Uuid::now_v7(),
            seq: 7,
            payload: OperationPayload::Record(RecordDraft {
                patient_id: 3,
                author_user_id: 4,
                recorded_at: Utc::now(),
                amends: None,
                correction_reason: None,
                body: RecordBody::CareNote(CareNote {
                    text: "Slept well".into(),
                }),
            }),
        };
        let json = serde_json::to_value(&op).unwrap();
        assert_eq!(json["payload"]["type"], "record");
        assert_eq!(json["payload"]["data"]["body"]["kind"], "care_note");
        let back: SyncOperation = serde_json::from_value(json).unwrap();
        assert_eq!(back, op);
        let removed = serde_json::to_value(SyncChange::BadgeRevoked(RemovedId { id: 9 })).unwrap();
        assert_eq!(
            removed,
            serde_json::json!({"type": "badge_revoked", "data": {"id": 9}})
        );
    }
}
