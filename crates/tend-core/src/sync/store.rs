//! The sync tables of the vault (schema 3): writing a record into the outbox
//! and the timeline in one transaction, reading what the UI shows, applying
//! a pulled page and a push answer each in one transaction. Synchronous:
//! callers run these on a blocking thread.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;
use tend_domain::records::{check_corrects, RecordBody, RecordDraft, RecordKind};
use tend_domain::wire::{
    AuditOutcome, DeviceAuditAction, DeviceAuditEvent, EmergencyContact, OperationPayload,
    SyncChange, SyncOperation, SyncPullPage, SyncPushResult, SyncedFacility,
};
use tend_domain::{CodeStatus, ErrorCode, FacilityPolicy, FallRisk, Language, PatientStatus};
use uuid::Uuid;

use crate::vault::migrate::db_error;
use crate::{CoreError, Result};

/// The change-feed stream in `sync_cursors`.
pub const FACILITY_STREAM: &str = "facility";
/// The `device_credentials` name of the organization's badge key.
pub const BADGE_KEY_CREDENTIAL: &str = "badge_key";
/// The `device_settings` key of the facility's policy as last pulled.
pub const FACILITY_POLICY_SETTING: &str = "facility_policy";

/// Where a record stands with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum RecordSyncState {
    /// Written here, not yet confirmed by the server.
    Pending,
    /// The server has it.
    Synced,
    /// The server refused it for good; `rejection` says why. Never resent.
    Rejected,
}

impl RecordSyncState {
    pub(crate) fn parse(value: &str) -> Self {
        match value {
            "synced" => Self::Synced,
            "rejected" => Self::Rejected,
            _ => Self::Pending,
        }
    }
}

/// Why the server refused an operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Rejection {
    pub code: ErrorCode,
    pub message: String,
}

/// A record of the device's timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LocalRecord {
    pub id: Uuid,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub patient_id: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub author_user_id: i64,
    /// The writing device's clock.
    pub recorded_at: DateTime<Utc>,
    /// The server's clock; `None` until the server has the record.
    pub occurred_at: Option<DateTime<Utc>>,
    pub amends: Option<Uuid>,
    /// Set when this record corrects the one it `amends`: why.
    pub correction_reason: Option<String>,
    /// The author as the synced staff list names them (`None` when unknown).
    pub author_name: Option<String>,
    pub body: RecordBody,
    /// Written on this device (rather than pulled from another).
    pub written_here: bool,
    pub sync_state: RecordSyncState,
    pub rejection: Option<Rejection>,
}

/// A patient of the facility as the roster shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RosterPatient {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    pub mrn: String,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub room: Option<String>,
    pub status: PatientStatus,
    pub admitted_at: Option<DateTime<Utc>>,
    pub allergies: Option<String>,
    pub code_status: Option<CodeStatus>,
    pub diet: Option<String>,
    pub fall_risk: Option<FallRisk>,
    pub emergency_contact: Option<EmergencyContact>,
    /// The server's row version: send it back with an edit so a stale one
    /// is refused (409) instead of overwriting someone else's change.
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub version: i64,
}

/// The outbox and sync bookkeeping, as status and heartbeat report them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredSyncState {
    pub pending: u32,
    pub oldest_pending_since: Option<DateTime<Utc>>,
    pub rejected: u32,
    pub last_sync: Option<DateTime<Utc>>,
    pub last_error: Option<(ErrorCode, String, DateTime<Utc>)>,
    pub update_needed: bool,
    pub cursor: Option<String>,
}

/// What applying a push answer changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushApplied {
    pub synced: usize,
    pub rejected: usize,
}

pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_ts(value: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
        })
}

fn parse_opt_ts(value: Option<String>) -> rusqlite::Result<Option<DateTime<Utc>>> {
    value.as_deref().map(parse_ts).transpose()
}

fn json_error(e: serde_json::Error) -> CoreError {
    CoreError::Database(format!("stored JSON: {e}"))
}

fn parse_code(value: &str) -> ErrorCode {
    serde_json::from_value(serde_json::Value::String(value.to_owned()))
        .unwrap_or(ErrorCode::Internal)
}

pub(crate) fn immediate(conn: &mut Connection) -> Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)
}

/// Appends an operation (`kind` `record` or `audit`, `payload` the JSON of an
/// `OperationPayload`) to the outbox inside `tx`, with the next sequence
/// number — never reused, even after uploaded rows are pruned.
pub(crate) fn enqueue(
    tx: &Transaction<'_>,
    id: Uuid,
    kind: &str,
    patient_id: Option<i64>,
    author_user_id: Option<i64>,
    payload: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let seq: i64 = tx
        .query_row(
            "UPDATE sync_state SET last_seq = max(last_seq, coalesce((SELECT max(seq) FROM outbox), 0)) + 1
             WHERE id = 1 RETURNING last_seq",
            [],
            |r| r.get(0),
        )
        .map_err(db_error)?;
    tx.execute(
        "INSERT INTO outbox (id, seq, kind, patient_server_id, author_user_id, payload, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id.to_string(),
            seq,
            kind,
            patient_id,
            author_user_id,
            payload,
            ts(now)
        ],
    )
    .map_err(db_error)?;
    Ok(seq)
}

/// The measured offset of the server's clock from this device's (server − device).
pub(crate) fn clock_offset(conn: &Connection) -> Result<Duration> {
    let ms: i64 = conn
        .query_row(
            "SELECT clock_offset_ms FROM sync_state WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .map_err(db_error)?;
    Ok(Duration::milliseconds(ms))
}

/// Validates `draft` and writes it, with a new UUIDv7 and the next sequence
/// number, to the outbox and the timeline in one transaction. Needs no network.
pub fn write_record(conn: &mut Connection, draft: &RecordDraft) -> Result<LocalRecord> {
    if let Err(errors) = draft.validate() {
        let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for e in errors {
            fields
                .entry(e.field.to_owned())
                .or_default()
                .push(e.message);
        }
        return Err(CoreError::Invalid {
            message: "the record is not complete or has implausible values".into(),
            fields,
        });
    }
    if let (Some(_), Some(amends)) = (&draft.correction_reason, draft.amends) {
        check_correction(conn, draft, amends)?;
    }
    let id = Uuid::now_v7();
    let payload =
        serde_json::to_string(&OperationPayload::Record(draft.clone())).map_err(json_error)?;
    let body = serde_json::to_string(&draft.body).map_err(json_error)?;
    let now = Utc::now();
    let tx = immediate(conn)?;
    let sort_at = draft.recorded_at + clock_offset(&tx)?;
    enqueue(
        &tx,
        id,
        "record",
        Some(draft.patient_id),
        Some(draft.author_user_id),
        &payload,
        now,
    )?;
    tx.execute(
        "INSERT INTO records (id, patient_id, author_user_id, kind, body, amends, recorded_at,
                              sort_at, written_here, sync_state, correction_reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, 'pending', ?9)",
        params![
            id.to_string(),
            draft.patient_id,
            draft.author_user_id,
            draft.body.kind().as_str(),
            body,
            draft.amends.map(|a| a.to_string()),
            ts(draft.recorded_at),
            ts(sort_at),
            draft.correction_reason,
        ],
    )
    .map_err(db_error)?;
    let author_name: Option<String> = tx
        .query_row(
            "SELECT full_name FROM staff WHERE id = ?1",
            [draft.author_user_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_error)?;
    tx.commit().map_err(db_error)?;
    Ok(LocalRecord {
        id,
        patient_id: draft.patient_id,
        author_user_id: draft.author_user_id,
        recorded_at: draft.recorded_at,
        occurred_at: None,
        amends: draft.amends,
        correction_reason: draft.correction_reason.clone(),
        author_name,
        body: draft.body.clone(),
        written_here: true,
        sync_state: RecordSyncState::Pending,
        rejection: None,
    })
}

/// A correction amends a record of the same resident and kind that this
/// device holds (the server checks the same).
fn check_correction(conn: &Connection, draft: &RecordDraft, amends: Uuid) -> Result<()> {
    let original: Option<(i64, String)> = conn
        .query_row(
            "SELECT patient_id, kind FROM records WHERE id = ?1",
            [amends.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(db_error)?;
    let Some((_, kind)) = original.filter(|(p, _)| *p == draft.patient_id) else {
        return Err(CoreError::invalid(
            "amends",
            "the record to correct is not on this device for this resident",
        ));
    };
    let kind = RecordKind::parse(&kind).map_err(|e| CoreError::Database(e.to_string()))?;
    check_corrects(kind, draft.body.kind()).map_err(|e| CoreError::invalid(e.field, &e.message))
}

const RECORD_COLUMNS: &str =
    "id, patient_id, author_user_id, recorded_at, occurred_at, amends, body,
     written_here, sync_state, rejection_code, rejection_reason, correction_reason,
     (SELECT full_name FROM staff WHERE staff.id = records.author_user_id)";

fn record_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(LocalRecord, String)> {
    let id: String = r.get(0)?;
    let amends: Option<String> = r.get(5)?;
    let body: String = r.get(6)?;
    let state: String = r.get(8)?;
    let code: Option<String> = r.get(9)?;
    let reason: Option<String> = r.get(10)?;
    let uuid = |s: &str| {
        Uuid::parse_str(s).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
        })
    };
    Ok((
        LocalRecord {
            id: uuid(&id)?,
            patient_id: r.get(1)?,
            author_user_id: r.get(2)?,
            recorded_at: parse_ts(&r.get::<_, String>(3)?)?,
            occurred_at: parse_opt_ts(r.get(4)?)?,
            amends: amends.as_deref().map(uuid).transpose()?,
            correction_reason: r.get(11)?,
            author_name: r.get(12)?,
            // Placeholder; the caller parses the body (a serde error is not a rusqlite one).
            body: RecordBody::CareNote(tend_domain::records::CareNote {
                text: String::new(),
            }),
            written_here: r.get::<_, i64>(7)? == 1,
            sync_state: RecordSyncState::parse(&state),
            rejection: code.map(|c| Rejection {
                code: parse_code(&c),
                message: reason.unwrap_or_default(),
            }),
        },
        body,
    ))
}

fn finish_record((mut record, body): (LocalRecord, String)) -> Result<LocalRecord> {
    record.body = serde_json::from_str(&body).map_err(json_error)?;
    Ok(record)
}

/// A patient's timeline, newest first (by the server's time once known).
pub fn timeline(conn: &Connection, patient_id: i64, limit: u32) -> Result<Vec<LocalRecord>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {RECORD_COLUMNS} FROM records WHERE patient_id = ?1
             ORDER BY sort_at DESC, id DESC LIMIT ?2"
        ))
        .map_err(db_error)?;
    let rows = stmt
        .query_map(params![patient_id, limit], record_row)
        .map_err(db_error)?;
    rows.map(|r| finish_record(r.map_err(db_error)?)).collect()
}

/// Queues an audit event in the outbox; sync uploads it with the records.
pub fn queue_audit(conn: &mut Connection, event: &DeviceAuditEvent) -> Result<()> {
    let payload = serde_json::to_string(&OperationPayload::Audit(event.clone()))
        .map_err(|e| CoreError::Database(e.to_string()))?;
    let tx = immediate(conn)?;
    enqueue(
        &tx,
        Uuid::now_v7(),
        "audit",
        event.patient_id,
        event.user_id,
        &payload,
        Utc::now(),
    )?;
    tx.commit().map_err(db_error)
}

/// Queues "`reader` opened resident `patient_id`'s record" for the audit
/// log, if the vault holds that resident; says whether it did.
pub fn queue_read(
    conn: &mut Connection,
    reader: i64,
    patient_id: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    let known: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM roster_patients WHERE server_id = ?1)",
            [patient_id],
            |r| r.get(0),
        )
        .map_err(db_error)?;
    if known {
        queue_audit(
            conn,
            &DeviceAuditEvent {
                action: DeviceAuditAction::ResidentViewed,
                user_id: Some(reader),
                occurred_at: now,
                outcome: AuditOutcome::Success,
                reason: None,
                patient_id: Some(patient_id),
            },
        )?;
    }
    Ok(known)
}

/// One record by id.
pub fn record(conn: &Connection, id: Uuid) -> Result<Option<LocalRecord>> {
    conn.query_row(
        &format!("SELECT {RECORD_COLUMNS} FROM records WHERE id = ?1"),
        [id.to_string()],
        record_row,
    )
    .optional()
    .map_err(db_error)?
    .map(finish_record)
    .transpose()
}

/// The roster: patients of the facility in room order (the way a nurse walks
/// the hall: numeric part first, so "9" before "101" and "102A" after "102";
/// residents without a room last), then by name; `search` matches name, MRN
/// or room (case-insensitive), empty means everyone.
pub fn roster(conn: &Connection, search: &str) -> Result<Vec<RosterPatient>> {
    let pattern = format!(
        "%{}%",
        search
            .trim()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let mut stmt = conn
        .prepare_cached(
            "SELECT server_id, mrn, first_name, last_name, date_of_birth, room, status, version,
                    admitted_at, allergies, code_status, diet, fall_risk, emergency_contact
             FROM roster_patients
             WHERE first_name LIKE ?1 ESCAPE '\\' OR last_name LIKE ?1 ESCAPE '\\'
                OR (first_name || ' ' || last_name) LIKE ?1 ESCAPE '\\'
                OR mrn LIKE ?1 ESCAPE '\\' OR coalesce(room, '') LIKE ?1 ESCAPE '\\'
             ORDER BY room IS NULL, CAST(room AS INTEGER), room, last_name, first_name, server_id",
        )
        .map_err(db_error)?;
    let rows = stmt
        .query_map([pattern], |r| {
            let dob: Option<String> = r.get(4)?;
            let status: String = r.get(6)?;
            Ok(RosterPatient {
                id: r.get(0)?,
                mrn: r.get(1)?,
                first_name: r.get(2)?,
                last_name: r.get(3)?,
                date_of_birth: dob.and_then(|d| d.parse().ok()),
                room: r.get(5)?,
                status: PatientStatus::parse(&status).unwrap_or(PatientStatus::Active),
                version: r.get(7)?,
                admitted_at: parse_opt_ts(r.get(8)?)?,
                allergies: r.get(9)?,
                code_status: r
                    .get::<_, Option<String>>(10)?
                    .and_then(|c| CodeStatus::parse(&c).ok()),
                diet: r.get(11)?,
                fall_risk: r
                    .get::<_, Option<String>>(12)?
                    .and_then(|f| FallRisk::parse(&f).ok()),
                emergency_contact: r
                    .get::<_, Option<String>>(13)?
                    .and_then(|c| serde_json::from_str(&c).ok()),
            })
        })
        .map_err(db_error)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_error)
}

/// The facility's policy as last pulled; the defaults before the first
/// pull (today's behaviour) or when the stored value cannot be read.
pub fn facility_policy(conn: &Connection) -> Result<FacilityPolicy> {
    let value: Option<Vec<u8>> = conn
        .query_row(
            "SELECT value FROM device_settings WHERE key = ?1",
            [FACILITY_POLICY_SETTING],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_error)?;
    Ok(value
        .and_then(|v| serde_json::from_slice::<FacilityPolicy>(&v).ok())
        .map(FacilityPolicy::sanitized)
        .unwrap_or_default())
}

/// The facility as last pulled.
pub fn facility(conn: &Connection) -> Result<Option<SyncedFacility>> {
    let row = conn
        .query_row(
            "SELECT id, organization_id, name, facility_type, timezone, settings, features FROM facility",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                ))
            },
        )
        .optional()
        .map_err(db_error)?;
    let Some((id, organization_id, name, facility_type, timezone, settings, features)) = row else {
        return Ok(None);
    };
    Ok(Some(SyncedFacility {
        id,
        organization_id,
        name,
        facility_type: tend_domain::FacilityType::parse(&facility_type)?,
        timezone,
        settings: serde_json::from_str(&settings).map_err(json_error)?,
        features: serde_json::from_str(&features).map_err(json_error)?,
        policy: facility_policy(conn)?,
    }))
}

/// Up to `limit` pending operations in sequence order. An operation whose
/// stored payload cannot be read any more is marked rejected here, so it
/// can never hold up the ones behind it.
pub fn pending_operations(conn: &mut Connection, limit: usize) -> Result<Vec<SyncOperation>> {
    let rows: Vec<(String, i64, String)> = {
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, seq, payload FROM outbox WHERE state = 'pending' ORDER BY seq LIMIT ?1",
            )
            .map_err(db_error)?;
        let rows = stmt
            .query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(db_error)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db_error)?
    };
    let mut operations = Vec::with_capacity(rows.len());
    let mut unreadable = Vec::new();
    for (id, seq, payload) in rows {
        match (
            Uuid::parse_str(&id),
            serde_json::from_str::<OperationPayload>(&payload),
        ) {
            (Ok(id), Ok(payload)) => operations.push(SyncOperation { id, seq, payload }),
            _ => unreadable.push(id),
        }
    }
    if !unreadable.is_empty() {
        tracing::error!(
            count = unreadable.len(),
            "unreadable outbox operations set aside"
        );
        let tx = immediate(conn)?;
        for id in &unreadable {
            reject(
                &tx,
                id,
                ErrorCode::Internal,
                "this entry could not be read back from the device database",
            )?;
        }
        tx.commit().map_err(db_error)?;
    }
    Ok(operations)
}

fn reject(tx: &Transaction<'_>, id: &str, code: ErrorCode, message: &str) -> Result<()> {
    tx.prepare_cached(
        "UPDATE outbox SET state = 'rejected', rejection_code = ?2, rejection_reason = ?3
         WHERE id = ?1 AND state = 'pending'",
    )
    .and_then(|mut s| s.execute(params![id, code.as_str(), message]))
    .map_err(db_error)?;
    tx.prepare_cached(
        "UPDATE records SET sync_state = 'rejected', rejection_code = ?2, rejection_reason = ?3
         WHERE id = ?1 AND sync_state = 'pending'",
    )
    .and_then(|mut s| s.execute(params![id, code.as_str(), message]))
    .map_err(db_error)?;
    Ok(())
}

/// Applies the server's answer to a push of `sent` (sent at `device_time`) in
/// one transaction: accepted and duplicate operations become synced,
/// rejected ones rejected with their reason.
pub fn apply_push_result(
    conn: &mut Connection,
    sent: &[Uuid],
    device_time: DateTime<Utc>,
    result: &SyncPushResult,
) -> Result<PushApplied> {
    let now = ts(Utc::now());
    // The server corrects the device's clock by the same offset.
    let offset = result.server_time - device_time;
    let tx = immediate(conn)?;
    let mut applied = PushApplied::default();
    {
        let mut attempts = tx
            .prepare_cached("UPDATE outbox SET upload_attempts = upload_attempts + 1, last_error = NULL WHERE id = ?1")
            .map_err(db_error)?;
        for id in sent {
            attempts.execute([id.to_string()]).map_err(db_error)?;
        }
        let mut outbox = tx
            .prepare_cached(
                "UPDATE outbox SET state = 'synced', synced_at = ?2 WHERE id = ?1 AND state = 'pending'",
            )
            .map_err(db_error)?;
        let mut records = tx
            .prepare_cached(
                "UPDATE records SET sync_state = 'synced',
                     sort_at = CASE WHEN occurred_at IS NULL
                         THEN strftime('%Y-%m-%dT%H:%M:%f000Z', recorded_at, ?2) ELSE sort_at END
                 WHERE id = ?1 AND sync_state = 'pending'",
            )
            .map_err(db_error)?;
        let shift = format!("{:+.3} seconds", offset.num_milliseconds() as f64 / 1000.0);
        for id in result.accepted.iter().chain(&result.duplicates) {
            applied.synced += outbox
                .execute(params![id.to_string(), now])
                .map_err(db_error)?;
            records
                .execute(params![id.to_string(), shift])
                .map_err(db_error)?;
        }
    }
    for rejected in &result.rejected {
        let mut message = rejected.message.clone();
        for (field, problems) in &rejected.fields {
            message.push_str(&format!("; {field}: {}", problems.join(", ")));
        }
        reject(&tx, &rejected.id.to_string(), rejected.code, &message)?;
        applied.rejected += 1;
    }
    tx.execute(
        "UPDATE sync_state SET clock_offset_ms = ?1 WHERE id = 1",
        [offset.num_milliseconds()],
    )
    .map_err(db_error)?;
    tx.commit().map_err(db_error)?;
    Ok(applied)
}

/// Applies one page of the change feed, and saves its cursor, in one
/// transaction: a crash leaves the page either fully applied or not at all.
pub fn apply_page(conn: &mut Connection, page: &SyncPullPage) -> Result<()> {
    let now = Utc::now();
    let synced_at = ts(now);
    let offset = page.server_time - now;
    let tx = immediate(conn)?;
    // Only a device with records still waiting needs its outbox checked
    // against every pulled record.
    let has_unsynced: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE state = 'pending')",
            [],
            |r| r.get(0),
        )
        .map_err(db_error)?;
    for change in &page.changes {
        apply_change(&tx, change, &synced_at, has_unsynced)?;
    }
    if let Some(key) = &page.badge_key {
        use base64::Engine as _;
        match base64::engine::general_purpose::STANDARD.decode(key) {
            Ok(bytes) => {
                tx.execute(
                    "INSERT INTO device_credentials (name, secret, issued_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET secret = excluded.secret, issued_at = excluded.issued_at
                     WHERE secret <> excluded.secret",
                    params![BADGE_KEY_CREDENTIAL, bytes, synced_at],
                )
                .map_err(db_error)?;
            }
            Err(_) => tracing::warn!("the server's badge key is not base64; ignored"),
        }
    }
    tx.execute(
        "INSERT INTO sync_cursors (stream, cursor, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (stream) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        params![FACILITY_STREAM, page.cursor, synced_at],
    )
    .map_err(db_error)?;
    tx.execute(
        "UPDATE sync_state SET clock_offset_ms = ?1 WHERE id = 1",
        [offset.num_milliseconds()],
    )
    .map_err(db_error)?;
    tx.commit().map_err(db_error)
}

/// A resident as the server answered an edit made on this device: the roster
/// shows it at once instead of at the next sync (which brings the same row
/// again; applying it twice changes nothing). A resident no longer in the
/// facility's care leaves the roster.
pub fn apply_resident(conn: &mut Connection, change: &SyncChange) -> Result<()> {
    let tx = conn.transaction().map_err(db_error)?;
    let synced_at = ts(Utc::now());
    apply_change(&tx, change, &synced_at, false)?;
    tx.commit().map_err(db_error)
}

fn apply_change(
    tx: &Transaction<'_>,
    change: &SyncChange,
    synced_at: &str,
    has_unsynced: bool,
) -> Result<()> {
    let run = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> Result<usize> {
        tx.prepare_cached(sql)
            .and_then(|mut s| s.execute(params))
            .map_err(db_error)
    };
    match change {
        SyncChange::Record(r) => {
            let id = r.id.to_string();
            let body = serde_json::to_string(&r.body).map_err(json_error)?;
            run(
                "INSERT INTO records (id, patient_id, author_user_id, kind, body, amends, device_id,
                                      recorded_at, occurred_at, received_at, sort_at, written_here, sync_state,
                                      correction_reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?9, 0, 'synced', ?11)
                 ON CONFLICT (id) DO UPDATE SET
                     device_id = excluded.device_id, occurred_at = excluded.occurred_at,
                     received_at = excluded.received_at, sort_at = excluded.sort_at,
                     sync_state = 'synced', rejection_code = NULL, rejection_reason = NULL",
                &[
                    &id,
                    &r.patient_id,
                    &r.author_user_id,
                    &r.body.kind().as_str(),
                    &body,
                    &r.amends.map(|a| a.to_string()),
                    &r.device_id,
                    &ts(r.recorded_at),
                    &ts(r.occurred_at),
                    &ts(r.received_at),
                    &r.correction_reason,
                ],
            )?;
            if has_unsynced {
                // The server has it, so the push's answer was lost: done.
                run(
                    "UPDATE outbox SET state = 'synced', synced_at = ?2 WHERE id = ?1 AND state = 'pending'",
                    &[&id, &synced_at],
                )?;
            }
        }
        SyncChange::Patient(p) => {
            // An MRN moved to another patient must not fail the page.
            run(
                "DELETE FROM roster_patients WHERE facility_id = ?1 AND mrn = ?2 AND server_id <> ?3",
                &[&p.facility_id, &p.mrn, &p.id],
            )?;
            run(
                "INSERT INTO roster_patients (server_id, facility_id, organization_id, mrn, first_name,
                     last_name, date_of_birth, room, status, admitted_at, discharged_at, created_at,
                     updated_at, synced_at, version, allergies, code_status, diet, fall_risk,
                     emergency_contact)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                         ?18, ?19, ?20)
                 ON CONFLICT (server_id) DO UPDATE SET
                     facility_id = excluded.facility_id, organization_id = excluded.organization_id,
                     mrn = excluded.mrn, first_name = excluded.first_name, last_name = excluded.last_name,
                     date_of_birth = excluded.date_of_birth, room = excluded.room, status = excluded.status,
                     admitted_at = excluded.admitted_at, discharged_at = excluded.discharged_at,
                     created_at = excluded.created_at, updated_at = excluded.updated_at,
                     synced_at = excluded.synced_at, version = excluded.version,
                     allergies = excluded.allergies, code_status = excluded.code_status,
                     diet = excluded.diet, fall_risk = excluded.fall_risk,
                     emergency_contact = excluded.emergency_contact",
                &[
                    &p.id,
                    &p.facility_id,
                    &p.organization_id,
                    &p.mrn,
                    &p.first_name,
                    &p.last_name,
                    &p.date_of_birth.to_string(),
                    &p.room,
                    &p.status.as_str(),
                    &p.admitted_at.map(ts),
                    &p.discharged_at.map(ts),
                    &ts(p.created_at),
                    &ts(p.updated_at),
                    &synced_at,
                    // The server's row version, for edits with optimistic concurrency.
                    &p.version,
                    &p.allergies,
                    &p.code_status.map(CodeStatus::as_str),
                    &p.diet,
                    &p.fall_risk.map(FallRisk::as_str),
                    &p.emergency_contact
                        .as_ref()
                        .map(serde_json::to_string)
                        .transpose()
                        .map_err(json_error)?,
                ],
            )?;
        }
        SyncChange::PatientRemoved(removed) => {
            run(
                "DELETE FROM roster_patients WHERE server_id = ?1",
                &[&removed.id],
            )?;
            // Records written here and not yet synced stay until the server answers.
            run(
                "DELETE FROM records WHERE patient_id = ?1 AND sync_state = 'synced'",
                &[&removed.id],
            )?;
        }
        SyncChange::Staff(s) => {
            run(
                "INSERT INTO staff (id, full_name, role, employee_id, synced_at, preferred_language)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET full_name = excluded.full_name, role = excluded.role,
                     employee_id = excluded.employee_id, synced_at = excluded.synced_at,
                     preferred_language = excluded.preferred_language",
                &[
                    &s.id,
                    &s.full_name,
                    &s.role.as_str(),
                    &s.employee_id,
                    &synced_at,
                    &s.preferred_language.map(Language::as_str),
                ],
            )?;
        }
        SyncChange::StaffRemoved(removed) => {
            run("DELETE FROM staff WHERE id = ?1", &[&removed.id])?;
            run("DELETE FROM badges WHERE user_id = ?1", &[&removed.id])?;
            run(
                "DELETE FROM badge_verifiers WHERE user_id = ?1",
                &[&removed.id],
            )?;
        }
        SyncChange::Badge(b) => {
            run(
                "INSERT INTO badges (id, user_id, badge_hash, synced_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id,
                     badge_hash = excluded.badge_hash, synced_at = excluded.synced_at",
                &[
                    &b.id,
                    &b.user_id,
                    &b.badge_hash.to_ascii_lowercase(),
                    &synced_at,
                ],
            )?;
        }
        SyncChange::BadgeRevoked(removed) => {
            let hash: Option<String> = tx
                .query_row(
                    "SELECT badge_hash FROM badges WHERE id = ?1",
                    [removed.id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_error)?;
            // Offline verifiers key on the same lower-case hex (vault schema 4).
            if let Some(hash) = hash {
                run(
                    "DELETE FROM badge_verifiers WHERE badge_hash = ?1",
                    &[&hash.to_ascii_lowercase()],
                )?;
            }
            run("DELETE FROM badges WHERE id = ?1", &[&removed.id])?;
        }
        SyncChange::Facility(f) => {
            run("DELETE FROM facility WHERE id <> ?1", &[&f.id])?;
            run(
                "INSERT INTO facility (id, organization_id, name, facility_type, timezone, settings, features, synced_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO UPDATE SET organization_id = excluded.organization_id,
                     name = excluded.name, facility_type = excluded.facility_type,
                     timezone = excluded.timezone, settings = excluded.settings,
                     features = excluded.features, synced_at = excluded.synced_at",
                &[
                    &f.id,
                    &f.organization_id,
                    &f.name,
                    &f.facility_type.as_str(),
                    &f.timezone,
                    &serde_json::to_string(&f.settings).map_err(json_error)?,
                    &serde_json::to_string(&f.features).map_err(json_error)?,
                    &synced_at,
                ],
            )?;
            run(
                "INSERT INTO device_settings (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                &[
                    &FACILITY_POLICY_SETTING,
                    &serde_json::to_vec(&f.policy.sanitized()).map_err(json_error)?,
                    &synced_at,
                ],
            )?;
        }
    }
    Ok(())
}

/// What [`erase_facility`] erased.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    pub residents: usize,
    /// Operations the server had refused for good (their records go too).
    pub refused: usize,
}

/// Erases everything of the device's facility, in one transaction, after a
/// move to another one: residents, records (so hand-off notes and due
/// follow-ups), staff, badges, offline badge verifiers, the facility itself,
/// the outbox's history and the change feed's position (the next pull is an
/// initial sync). Refuses, changing nothing, while any operation still waits
/// to be uploaded: nothing written here is erased before the server has it.
/// Sets a staff member's own language in the device's copy of the staff
/// (their choice made here, or the server's answer at an online sign-in), so
/// an offline sign-in shows it. Nothing when the staff row has not been
/// pulled yet.
pub fn set_staff_language(
    conn: &Connection,
    user_id: i64,
    language: Option<Language>,
) -> Result<()> {
    conn.execute(
        "UPDATE staff SET preferred_language = ?2 WHERE id = ?1",
        params![user_id, language.map(Language::as_str)],
    )
    .map_err(db_error)?;
    Ok(())
}

/// A staff member's own language as the device last knew it (`None`: none,
/// or not pulled yet).
pub fn staff_language(conn: &Connection, user_id: i64) -> Result<Option<Language>> {
    let stored: Option<Option<String>> = conn
        .query_row(
            "SELECT preferred_language FROM staff WHERE id = ?1",
            [user_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_error)?;
    // A value this build does not know (a newer server) counts as none.
    Ok(stored.flatten().and_then(|l| Language::parse(&l).ok()))
}

pub fn erase_facility(conn: &mut Connection) -> Result<Erased> {
    let tx = immediate(conn)?;
    let pending: i64 = tx
        .query_row(
            "SELECT count(*) FROM outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )
        .map_err(db_error)?;
    if pending > 0 {
        return Err(CoreError::Api {
            code: ErrorCode::Conflict,
            message: format!(
                "{pending} note(s) of the facility this device left still wait to be uploaded; \
                 they are kept, and the move finishes once the server has them"
            ),
        });
    }
    let refused: i64 = tx
        .query_row(
            "SELECT count(*) FROM outbox WHERE state = 'rejected'",
            [],
            |r| r.get(0),
        )
        .map_err(db_error)?;
    let residents = tx
        .execute("DELETE FROM roster_patients", [])
        .map_err(db_error)?;
    for table in [
        "records",
        "outbox",
        "staff",
        "badges",
        "badge_verifiers",
        "facility",
    ] {
        tx.execute(&format!("DELETE FROM {table}"), [])
            .map_err(db_error)?;
    }
    tx.execute(
        "DELETE FROM sync_cursors WHERE stream = ?1",
        [FACILITY_STREAM],
    )
    .map_err(db_error)?;
    // The new facility's policy applies once it is pulled; until then the defaults.
    tx.execute(
        "DELETE FROM device_settings WHERE key = ?1",
        [FACILITY_POLICY_SETTING],
    )
    .map_err(db_error)?;
    // The new facility has not been synced yet.
    tx.execute(
        "UPDATE sync_state SET last_sync = NULL, last_error_code = NULL, last_error_message = NULL,
             last_error_at = NULL WHERE id = 1",
        [],
    )
    .map_err(db_error)?;
    tx.commit().map_err(db_error)?;
    Ok(Erased {
        residents,
        refused: usize::try_from(refused).unwrap_or(usize::MAX),
    })
}

/// Forgets where the change feed stopped: the next pull is an initial sync.
pub fn forget_cursor(conn: &mut Connection) -> Result<()> {
    conn.execute(
        "DELETE FROM sync_cursors WHERE stream = ?1",
        [FACILITY_STREAM],
    )
    .map_err(db_error)?;
    Ok(())
}

/// The sync bookkeeping and outbox counts.
pub fn stored_state(conn: &Connection) -> Result<StoredSyncState> {
    let (pending, oldest, rejected): (i64, Option<String>, i64) = conn
        .query_row(
            // People's documentation only: the audit events the device
            // records (sign-ins, locks, residents opened) travel with it
            // but are nobody's "change waiting to sync".
            "SELECT count(*) FILTER (WHERE state = 'pending'),
                    min(created_at) FILTER (WHERE state = 'pending'),
                    count(*) FILTER (WHERE state = 'rejected')
             FROM outbox WHERE state <> 'synced' AND kind = 'record'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(db_error)?;
    let (last_sync, code, message, at, update_needed): (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        i64,
    ) = conn
        .query_row(
            "SELECT last_sync, last_error_code, last_error_message, last_error_at, update_needed
             FROM sync_state WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .map_err(db_error)?;
    let cursor: Option<String> = conn
        .query_row(
            "SELECT cursor FROM sync_cursors WHERE stream = ?1",
            [FACILITY_STREAM],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_error)?;
    let last_error = match (code, at) {
        (Some(code), Some(at)) => Some((
            parse_code(&code),
            message.unwrap_or_default(),
            parse_ts(&at).map_err(db_error)?,
        )),
        _ => None,
    };
    Ok(StoredSyncState {
        pending: u32::try_from(pending).unwrap_or(u32::MAX),
        oldest_pending_since: parse_opt_ts(oldest).map_err(db_error)?,
        rejected: u32::try_from(rejected).unwrap_or(u32::MAX),
        last_sync: parse_opt_ts(last_sync).map_err(db_error)?,
        last_error,
        update_needed: update_needed == 1,
        cursor,
    })
}

/// How long an uploaded operation stays in the outbox (the record itself
/// stays in the timeline); pruning keeps the outbox small on a busy device.
pub const KEEP_SYNCED_OPERATIONS: Duration = Duration::days(7);

/// Records a completed sync round (clears the last error) and prunes
/// operations uploaded more than [`KEEP_SYNCED_OPERATIONS`] ago.
pub fn record_success(conn: &Connection, at: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "UPDATE sync_state SET last_sync = ?1, last_error_code = NULL, last_error_message = NULL,
             last_error_at = NULL, update_needed = 0 WHERE id = 1",
        [ts(at)],
    )
    .map_err(db_error)?;
    conn.execute(
        "DELETE FROM outbox WHERE state = 'synced' AND synced_at < ?1",
        [ts(at - KEEP_SYNCED_OPERATIONS)],
    )
    .map_err(db_error)?;
    Ok(())
}

/// Records a failed round: its code and plain-words message (never record
/// contents), and whether the server asked for an app update.
pub fn record_failure(
    conn: &Connection,
    code: ErrorCode,
    message: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    conn.execute(
        "UPDATE sync_state SET last_error_code = ?1, last_error_message = ?2, last_error_at = ?3,
             update_needed = ?4 WHERE id = 1",
        params![
            code.as_str(),
            message,
            ts(at),
            i64::from(code == ErrorCode::UnsupportedVersion)
        ],
    )
    .map_err(db_error)?;
    Ok(())
}
