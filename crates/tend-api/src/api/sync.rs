//! Background sync, the server half (protocol in `tend_domain::wire::sync`):
//! devices push their outbox (idempotent per operation id, one transaction
//! per batch) and pull their facility's change feed. Both take the facility
//! from the device token, never from the request.

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, Duration, TimeZone, Utc};
use sqlx::{PgConnection, Postgres, Transaction};
use tend_domain::records::{check_correction_reason, check_corrects, check_record_id, RecordKind};
use tend_domain::wire::{
    DeviceAuditAction, ErrorBody, OperationPayload, RejectedOperation, SyncChange, SyncPullPage,
    SyncPullQuery, SyncPush, SyncPushResult, DEVICE_SCHEMA_VERSION, MAX_PULL_CHANGES,
    MAX_PUSH_OPERATIONS, SYNC_PROTOCOL_VERSION,
};
use tend_domain::{ErrorCode, Role, ValidationError};
use uuid::Uuid;

use crate::context::{begin_scoped_with, insert_audit, scope_statement, Audit};
use crate::error::{ApiError, Result};
use crate::extract::{ApiJson, ApiQuery};
use crate::identity::tokens::DevicePrincipal;
use crate::identity::{ClientAddress, DeviceAuth};
use crate::store;
use crate::store::sync::{AppliedOperation, DeviceAuditRow, NewRecord};
use crate::AppState;

/// The oldest device vault schema this server still reconciles.
pub const MIN_DEVICE_SCHEMA_VERSION: u32 = 3;

/// How far outside a session a record's time may fall and still count as
/// written in it. A record's time is the device's clock corrected by the
/// offset measured at upload; a device that drifted or had its clock set
/// between writing and uploading is off by that much, and an online login's
/// start is the server's clock. Five minutes covers ordinary drift over days
/// offline and a clock set by NTP, and is far shorter than any session.
pub const AUTHORSHIP_CLOCK_TOLERANCE_SECS: i64 = 300;

/// Refuses versions this server cannot serve, before anything is read or written.
fn check_versions(protocol_version: u32, schema_version: u32) -> Result<()> {
    let schema_ok = (MIN_DEVICE_SCHEMA_VERSION..=DEVICE_SCHEMA_VERSION).contains(&schema_version);
    if protocol_version != SYNC_PROTOCOL_VERSION || !schema_ok {
        return Err(ApiError::UnsupportedVersion);
    }
    Ok(())
}

/// Starts a transaction under the device's facility scope. A pull reads in
/// one snapshot (REPEATABLE READ), so every table is seen at the same moment
/// and no change can fall between two of its queries.
async fn begin_device(
    state: &AppState,
    device: &DevicePrincipal,
    snapshot: bool,
) -> Result<Transaction<'static, Postgres>> {
    // The feed reads each table in position order. Row-level security's
    // predicate makes the planner believe few rows match, so it would rather
    // sort a whole facility's records than walk the feed index and stop at the
    // page size; without sorts (and for these small, ordered reads, without
    // parallel workers) it walks the index.
    let begin = if snapshot {
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET LOCAL enable_sort = off; \
         SET LOCAL max_parallel_workers_per_gather = 0"
    } else {
        "BEGIN"
    };
    let tx = begin_scoped_with(&state.pool, begin, device.scope(), None).await?;
    Ok(tx)
}

/// Timestamps a device may send: a clock hours or years off is corrected,
/// one outside this range is broken (and PostgreSQL could not store it).
fn plausible(t: DateTime<Utc>) -> bool {
    let earliest = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single();
    let latest = Utc.with_ymd_and_hms(2200, 1, 1, 0, 0, 0).single();
    matches!((earliest, latest), (Some(e), Some(l)) if t >= e && t < l)
}

fn rejected(id: Uuid, code: ErrorCode, message: &str) -> RejectedOperation {
    RejectedOperation {
        id,
        code,
        message: message.to_owned(),
        fields: Default::default(),
    }
}

fn invalid(id: Uuid, errors: Vec<ValidationError>) -> RejectedOperation {
    let mut op = rejected(
        id,
        ErrorCode::ValidationFailed,
        "the operation has invalid fields",
    );
    for e in errors {
        op.fields
            .entry(e.field.to_owned())
            .or_default()
            .push(e.message.to_string());
    }
    op
}

fn audit_action(action: DeviceAuditAction) -> &'static str {
    match action {
        DeviceAuditAction::OfflineLogin => "device.offline_login",
        DeviceAuditAction::OfflineLoginFailed => "device.offline_login_failed",
        DeviceAuditAction::Lock => "device.lock",
        DeviceAuditAction::Unlock => "device.unlock",
        DeviceAuditAction::Logout => "device.logout",
        // The same action as a read through the API: one query answers who
        // looked at a resident's record, on a device or in the console.
        DeviceAuditAction::ResidentViewed => "patient.read",
    }
}

/// Upload a batch of the device's outbox (device token).
///
/// All operations apply in one transaction. Each is answered in exactly one
/// list: `accepted` (applied now), `duplicates` (applied by an earlier push;
/// nothing changed) or `rejected` (never applicable as sent: do not resend).
/// A record whose author had no session on this device at its time (an
/// online badge or password login through it, or an offline login it
/// reported) is rejected as `FORGED_AUTHOR`, and the attempt is audited.
#[utoipa::path(post, path = "/api/sync/push", tag = "sync", request_body = SyncPush,
    responses(
        (status = 200, description = "Applied; every operation is in accepted, duplicates or rejected", body = SyncPushResult),
        (status = 400, description = "Malformed JSON, or not 1–500 operations (VALIDATION_FAILED naming operations)", body = ErrorBody),
        (status = 401, description = "No valid device token (UNAUTHORIZED, DEVICE_*)", body = ErrorBody),
        (status = 403, description = "`facility_id` names a facility this device did not leave at its latest move (FORBIDDEN; nothing applied), or the device's facility or organization is closed (FACILITY_CLOSED, ORGANIZATION_CLOSED)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields (an implausible device_time)", body = ErrorBody),
        (status = 426, description = "UNSUPPORTED_VERSION: this protocol or schema version cannot sync; nothing was applied", body = ErrorBody)),
    security(("device" = [])))]
pub async fn push(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    ClientAddress(address): ClientAddress,
    ApiJson(body): ApiJson<SyncPush>,
) -> Result<Json<SyncPushResult>> {
    check_versions(body.protocol_version, body.schema_version)?;
    if body.operations.is_empty() || body.operations.len() > MAX_PUSH_OPERATIONS {
        return Err(ApiError::parameter(
            "operations",
            format!("a push carries 1 to {MAX_PUSH_OPERATIONS} operations"),
        ));
    }
    if !plausible(body.device_time) {
        return Err(ApiError::field(
            "device_time",
            "the device clock is implausible (before 2000 or after 2200)",
        ));
    }
    let server_time = Utc::now();
    // How far the device clock is ahead of ours; records shift by it.
    let offset = server_time.signed_duration_since(body.device_time);
    let mut tx = begin_device(&state, &device, false).await?;
    let current_facility = device.facility_id;
    let device = match body.facility_id {
        Some(left) if left != device.facility_id => moved_outbox(&mut tx, &device, left).await?,
        _ => device,
    };
    // An offline login's session lasts as long as an online one would.
    let session_lifetime = Duration::from_std(state.token_ttl).unwrap_or(Duration::hours(12));
    let result = apply(
        &mut tx,
        &device,
        address.as_deref(),
        &body,
        Clock {
            server_time,
            offset,
            session_lifetime,
        },
    )
    .await?;
    if device.facility_id != current_facility && !result.accepted.is_empty() {
        let reason =
            format!("documentation written before the device moved to facility {current_facility}");
        let audit = Audit::new("sync.push_after_move", "device")
            .resource(device.device_id)
            .facility(device.organization_id, device.facility_id)
            .device(device.device_id)
            .reason(&reason);
        insert_audit(&mut tx, None, &audit, "success", false, address.as_deref()).await?;
    }
    tx.commit().await?;
    crate::metrics::metrics()
        .sync_rows
        .with_label_values(&["pushed"])
        .inc_by(result.accepted.len() as u64);
    tracing::info!(
        device_id = device.device_id,
        accepted = result.accepted.len(),
        duplicates = result.duplicates.len(),
        rejected = result.rejected.len(),
        "sync push"
    );
    Ok(Json(result))
}

/// A push of operations written for facility `left` by a device that now
/// belongs to another one. Accepted only for the facility the device left at
/// its latest move: the push then runs under that facility's scope, so each
/// record is checked against, and filed in, the facility where its resident
/// lives (nothing written before a move is lost). Any other facility is
/// refused (403); the device keeps its outbox.
async fn moved_outbox(
    tx: &mut PgConnection,
    device: &DevicePrincipal,
    left: i64,
) -> Result<DevicePrincipal> {
    if store::devices::moved_from(tx, device.device_id).await? != Some(left) {
        return Err(ApiError::ForbiddenBecause(
            "this device did not leave that facility at its latest move; \
             its documentation cannot be filed there (it stays on the device)",
        ));
    }
    let moved = DevicePrincipal {
        facility_id: left,
        ..*device
    };
    sqlx::query(&scope_statement(moved.scope(), None))
        .execute(&mut *tx)
        .await?;
    Ok(moved)
}

/// The push's times: the server's now, how far the device's clock is
/// behind it, and how long an offline login's session lasts.
#[derive(Clone, Copy)]
struct Clock {
    server_time: DateTime<Utc>,
    offset: Duration,
    session_lifetime: Duration,
}

/// Who had a session on the pushing device, and when: the sessions stored
/// for the batch's authors around the batch's times, plus the offline logins
/// reported earlier in the same batch (an offline session's records usually
/// travel with its login).
struct Authorship {
    sessions: Vec<store::device_sessions::SessionSpan>,
    /// Users whose badge this device verified online, and since when: only
    /// they can log in offline here (the device keeps an offline verifier
    /// only after an online badge login), so an offline login reported for
    /// anyone else opens no session.
    badge_since: HashMap<i64, DateTime<Utc>>,
    tolerance: Duration,
}

impl Authorship {
    async fn load(
        conn: &mut PgConnection,
        device_id: i64,
        body: &SyncPush,
        clock: Clock,
    ) -> Result<Self> {
        let tolerance = Duration::seconds(AUTHORSHIP_CLOCK_TOLERANCE_SECS);
        let mut authors = Vec::new();
        let mut times = Vec::new();
        let mut offline = Vec::new();
        for op in &body.operations {
            match &op.payload {
                OperationPayload::Record(r) => {
                    authors.push(r.author_user_id);
                    // Implausible times are refused before authorship is asked.
                    times.extend(
                        r.recorded_at
                            .checked_add_signed(clock.offset)
                            .filter(|t| plausible(*t) && plausible(r.recorded_at))
                            .map(|t| t.min(clock.server_time)),
                    );
                }
                OperationPayload::Audit(a) if a.action == DeviceAuditAction::OfflineLogin => {
                    offline.extend(a.user_id);
                }
                OperationPayload::Audit(_) => {}
            }
        }
        let sessions = match (times.iter().min(), times.iter().max()) {
            (Some(from), Some(to)) => {
                store::device_sessions::overlapping(
                    conn,
                    device_id,
                    &authors,
                    from.checked_sub_signed(tolerance).unwrap_or(*from),
                    to.checked_add_signed(tolerance).unwrap_or(*to),
                )
                .await?
            }
            _ => Vec::new(),
        };
        let badge_since = if offline.is_empty() {
            HashMap::new()
        } else {
            store::device_sessions::first_badge_logins(conn, device_id, &offline)
                .await?
                .into_iter()
                .collect()
        };
        Ok(Self {
            sessions,
            badge_since,
            tolerance,
        })
    }

    /// Whether `user` had a session on the device covering `at`.
    fn covers(&self, user: i64, at: DateTime<Utc>) -> bool {
        self.sessions.iter().any(|s| {
            s.user_id == user
                && s.started_at - self.tolerance <= at
                && at <= s.ends_at + self.tolerance
        })
    }

    /// An offline login reported in this batch: the session it opens, if the
    /// device could have verified this user's badge offline at that time.
    fn offline_login(&mut self, user: i64, at: DateTime<Utc>, lifetime: Duration) -> bool {
        let known = self
            .badge_since
            .get(&user)
            .is_some_and(|since| *since - self.tolerance <= at);
        if known {
            self.sessions.push(store::device_sessions::SessionSpan {
                user_id: user,
                started_at: at,
                ends_at: at + lifetime,
            });
        }
        known
    }
}

fn forged(id: Uuid) -> RejectedOperation {
    let mut r = rejected(
        id,
        ErrorCode::ForgedAuthor,
        "the author had no session on this device at the record's time",
    );
    r.fields.insert(
        "author_user_id".into(),
        vec!["not signed in on this device at the record's time".into()],
    );
    r
}

/// What a push decided for one operation before anything is written.
enum Verdict {
    Duplicate,
    Rejected(RejectedOperation),
    Record(NewRecord),
    Audit(DeviceAuditRow),
}

async fn apply(
    conn: &mut PgConnection,
    device: &DevicePrincipal,
    address: Option<&str>,
    body: &SyncPush,
    clock: Clock,
) -> Result<SyncPushResult> {
    let Clock {
        server_time,
        offset,
        session_lifetime,
    } = clock;
    let facility = store::sync::facility(conn, device.facility_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let ids: Vec<Uuid> = body.operations.iter().map(|o| o.id).collect();
    let already: HashSet<Uuid> = store::sync::applied(conn, &ids)
        .await?
        .into_iter()
        .collect();

    // Everything the checks need, in a few set-based reads.
    let mut patient_ids = Vec::new();
    let mut user_ids = Vec::new();
    let mut amended = Vec::new();
    for op in &body.operations {
        match &op.payload {
            OperationPayload::Record(r) => {
                patient_ids.push(r.patient_id);
                user_ids.push(r.author_user_id);
                amended.extend(r.amends);
            }
            OperationPayload::Audit(a) => {
                user_ids.extend(a.user_id);
                patient_ids.extend(a.patient_id);
            }
        }
    }
    let patients: HashSet<i64> = store::sync::facility_patients(conn, facility.id, &patient_ids)
        .await?
        .into_iter()
        .collect();
    let absent: Vec<i64> = patient_ids
        .iter()
        .copied()
        .filter(|p| !patients.contains(p))
        .collect();
    let left: HashMap<i64, DateTime<Utc>> = if absent.is_empty() {
        HashMap::new()
    } else {
        store::sync::patients_left(conn, facility.id, &absent)
            .await?
            .into_iter()
            .collect()
    };
    let users: HashMap<i64, store::sync::Author> =
        store::sync::authors(conn, facility.organization_id, &user_ids)
            .await?
            .into_iter()
            .map(|a| (a.user_id, a))
            .collect();
    // Records amended by this batch count too: a PRN follow-up often travels
    // with its administration.
    let mut amendable: HashMap<Uuid, (i64, RecordKind)> =
        store::sync::amended_records(conn, &amended)
            .await?
            .into_iter()
            .collect();

    let mut authorship = Authorship::load(conn, device.device_id, body, clock).await?;
    // Offline logins of this batch that open a session, by operation id.
    let mut offline_sessions: HashMap<Uuid, store::device_sessions::NewSession> = HashMap::new();
    // Records refused as forged: (operation, claimed author, patient).
    let mut forgeries: Vec<(Uuid, i64, i64)> = Vec::new();

    let mut seen = HashSet::new();
    let mut verdicts = Vec::with_capacity(body.operations.len());
    for op in &body.operations {
        let verdict = if already.contains(&op.id) || !seen.insert(op.id) {
            Verdict::Duplicate
        } else if let Err(e) = check_record_id(&op.id) {
            Verdict::Rejected(invalid(op.id, vec![e]))
        } else {
            match &op.payload {
                OperationPayload::Record(draft) => {
                    let v = check_record(
                        op.id,
                        draft,
                        &facility,
                        Residents {
                            here: &patients,
                            left: &left,
                        },
                        &users,
                        &amendable,
                        server_time,
                        offset,
                    );
                    match v {
                        Verdict::Record(r)
                            if !authorship.covers(r.author_user_id, r.occurred_at) =>
                        {
                            forgeries.push((op.id, r.author_user_id, r.patient_id));
                            Verdict::Rejected(forged(op.id))
                        }
                        Verdict::Record(r) => {
                            amendable.insert(r.id, (r.patient_id, r.record_kind));
                            Verdict::Record(r)
                        }
                        other => other,
                    }
                }
                OperationPayload::Audit(event) => {
                    let v =
                        check_audit(op.id, event, device, &users, &patients, server_time, offset);
                    if let (Verdict::Audit(row), Some(user)) = (&v, event.user_id) {
                        let opens = event.action == DeviceAuditAction::OfflineLogin
                            && event.outcome == tend_domain::wire::AuditOutcome::Success;
                        if opens && authorship.offline_login(user, row.at, session_lifetime) {
                            offline_sessions.insert(
                                op.id,
                                store::device_sessions::NewSession {
                                    organization_id: facility.organization_id,
                                    facility_id: facility.id,
                                    device_id: device.device_id,
                                    user_id: user,
                                    method: store::device_sessions::SessionMethod::Offline,
                                    started_at: row.at,
                                    ends_at: row.at + session_lifetime,
                                },
                            );
                        }
                    }
                    v
                }
            }
        };
        verdicts.push(verdict);
    }

    // Claim the ids of what will be applied; one claimed by a concurrent push
    // of the same batch meanwhile is a duplicate.
    let to_claim: Vec<AppliedOperation> = body
        .operations
        .iter()
        .zip(&verdicts)
        .filter_map(|(op, v)| match v {
            Verdict::Record(_) => Some(AppliedOperation {
                id: op.id,
                seq: op.seq,
                kind: "record",
            }),
            Verdict::Audit(..) => Some(AppliedOperation {
                id: op.id,
                seq: op.seq,
                kind: "audit",
            }),
            _ => None,
        })
        .collect();
    let claimed: HashSet<Uuid> = if to_claim.is_empty() {
        HashSet::new()
    } else {
        store::sync::claim(
            conn,
            facility.organization_id,
            facility.id,
            device.device_id,
            &to_claim,
        )
        .await?
        .into_iter()
        .collect()
    };

    let mut result = SyncPushResult {
        server_time,
        accepted: Vec::new(),
        duplicates: Vec::new(),
        rejected: Vec::new(),
    };
    let mut records = Vec::new();
    for (op, verdict) in body.operations.iter().zip(verdicts) {
        match verdict {
            Verdict::Duplicate => result.duplicates.push(op.id),
            Verdict::Rejected(r) => result.rejected.push(r),
            Verdict::Record(_) | Verdict::Audit(..) if !claimed.contains(&op.id) => {
                result.duplicates.push(op.id)
            }
            Verdict::Record(record) => {
                result.accepted.push(op.id);
                records.push(record);
            }
            Verdict::Audit(event) => {
                result.accepted.push(op.id);
                store::sync::insert_device_audit(
                    conn,
                    facility.organization_id,
                    facility.id,
                    device.device_id,
                    &event,
                )
                .await?;
                if let Some(session) = offline_sessions.get(&op.id) {
                    store::device_sessions::insert(conn, session).await?;
                }
            }
        }
    }
    // A forged record is refused, and the attempt is audited against the
    // user it claims (never its content).
    for (id, author, patient) in &forgeries {
        let reason = format!(
            "operation {id} for patient {patient} names an author without a session on this device at its time"
        );
        let audit = Audit::new("sync.record_forged", "user")
            .resource(*author)
            .facility(facility.organization_id, facility.id)
            .device(device.device_id)
            .reason(&reason);
        insert_audit(conn, None, &audit, "denied", false, address).await?;
        tracing::warn!(
            device_id = device.device_id,
            author_user_id = author,
            "sync push: record refused, its author had no session on this device"
        );
    }
    // Records by an organization admin of another facility are allowed, and
    // audited as cross-facility writes.
    for record in &records {
        let cross = users
            .get(&record.author_user_id)
            .is_some_and(|u| u.facility_id != facility.id);
        if cross {
            let audit = Audit::new("record.create", "patient")
                .resource(record.patient_id)
                .facility(facility.organization_id, facility.id)
                .device(device.device_id)
                .reason("documented on a device of another facility");
            insert_audit(
                conn,
                Some(record.author_user_id),
                &audit,
                "success",
                true,
                address,
            )
            .await?;
        }
    }
    store::sync::insert_records(
        conn,
        facility.organization_id,
        facility.id,
        Some(device.device_id),
        server_time,
        &records,
    )
    .await?;
    Ok(result)
}

/// The facility's residents as a push's checks see them: those here now, and
/// those who left, with when.
struct Residents<'a> {
    here: &'a HashSet<i64>,
    left: &'a HashMap<i64, DateTime<Utc>>,
}

impl Residents<'_> {
    /// Whether the resident was in the facility at `at`.
    fn here_at(&self, patient: i64, at: DateTime<Utc>) -> bool {
        self.here.contains(&patient) || self.left.get(&patient).is_some_and(|left| at < *left)
    }
}

#[allow(clippy::too_many_arguments)]
fn check_record(
    id: Uuid,
    draft: &tend_domain::records::RecordDraft,
    facility: &store::sync::FacilityRow,
    residents: Residents<'_>,
    users: &HashMap<i64, store::sync::Author>,
    amendable: &HashMap<Uuid, (i64, RecordKind)>,
    server_time: DateTime<Utc>,
    offset: Duration,
) -> Verdict {
    if let Err(errors) = draft.validate() {
        return Verdict::Rejected(invalid(id, errors));
    }
    let occurred_at = draft.recorded_at.checked_add_signed(offset);
    let Some(occurred_at) = occurred_at.filter(|t| plausible(*t) && plausible(draft.recorded_at))
    else {
        return Verdict::Rejected(invalid(
            id,
            vec![ValidationError::new("recorded_at", "implausible time")],
        ));
    };
    let body = match serde_json::to_string(&draft.body) {
        Ok(b) => b,
        Err(_) => {
            return Verdict::Rejected(invalid(
                id,
                vec![ValidationError::new("body", "not storable")],
            ))
        }
    };
    // PostgreSQL's jsonb cannot hold a NUL character.
    if body.contains("\\u0000") {
        return Verdict::Rejected(invalid(
            id,
            vec![ValidationError::new(
                "body",
                "must not contain NUL characters",
            )],
        ));
    }
    // Judged by the state when the record was written: a resident who moved
    // away since, or an author deactivated since, does not undo it.
    let occurred_at = occurred_at.min(server_time);
    if !residents.here_at(draft.patient_id, occurred_at) {
        let mut r = rejected(
            id,
            ErrorCode::NotFound,
            "no such patient in this device's facility",
        );
        r.fields.insert(
            "patient_id".into(),
            vec!["not found in this facility".into()],
        );
        return Verdict::Rejected(r);
    }
    let author_ok = users.get(&draft.author_user_id).is_some_and(|u| {
        let active_then = u.is_active || u.deactivated_at.is_some_and(|d| occurred_at < d);
        active_then
            && (u.facility_id == facility.id || matches!(Role::parse(&u.role), Ok(Role::OrgAdmin)))
    });
    if !author_ok {
        let mut r = rejected(
            id,
            ErrorCode::NotFound,
            "the author is not an active user of this facility",
        );
        r.fields.insert(
            "author_user_id".into(),
            vec!["not an active user of this facility".into()],
        );
        return Verdict::Rejected(r);
    }
    if let Some(feature) = draft.body.required_feature() {
        if !facility.feature(feature) {
            let mut r = rejected(
                id,
                ErrorCode::Forbidden,
                "this kind of record needs a facility feature that is off",
            );
            r.fields.insert(
                "body.kind".into(),
                vec![format!("the facility feature {feature} is off")],
            );
            return Verdict::Rejected(r);
        }
    }
    let mut correction_reason = None;
    if let Some(amends) = draft.amends {
        let Some((_, original)) = amendable
            .get(&amends)
            .filter(|(patient, _)| *patient == draft.patient_id)
        else {
            let mut r = rejected(
                id,
                ErrorCode::NotFound,
                "the amended record does not exist for this patient",
            );
            r.fields.insert(
                "amends".into(),
                vec!["no such record of this patient".into()],
            );
            return Verdict::Rejected(r);
        };
        if let Some(reason) = &draft.correction_reason {
            let checked = check_corrects(*original, draft.body.kind())
                .and_then(|()| check_correction_reason(reason));
            match checked {
                Ok(reason) => correction_reason = Some(reason),
                Err(e) => return Verdict::Rejected(invalid(id, vec![e])),
            }
        }
    }
    Verdict::Record(NewRecord {
        id,
        patient_id: draft.patient_id,
        author_user_id: draft.author_user_id,
        kind: draft.body.kind().as_str(),
        body,
        recorded_at: draft.recorded_at,
        occurred_at,
        amends: draft.amends,
        correction_reason,
        record_kind: draft.body.kind(),
    })
}

fn check_audit(
    id: Uuid,
    event: &tend_domain::wire::DeviceAuditEvent,
    device: &DevicePrincipal,
    users: &HashMap<i64, store::sync::Author>,
    patients: &HashSet<i64>,
    server_time: DateTime<Utc>,
    offset: Duration,
) -> Verdict {
    // A resident opened names who and whom; session events name no resident.
    let reads = event.action == DeviceAuditAction::ResidentViewed;
    let mut problems = Vec::new();
    if reads && event.user_id.is_none() {
        problems.push(ValidationError::new(
            "user_id",
            "required for resident_viewed",
        ));
    }
    if reads && event.patient_id.is_none() {
        problems.push(ValidationError::new(
            "patient_id",
            "required for resident_viewed",
        ));
    }
    if !reads && event.patient_id.is_some() {
        problems.push(ValidationError::new(
            "patient_id",
            "only resident_viewed names a resident",
        ));
    }
    if !problems.is_empty() {
        return Verdict::Rejected(invalid(id, problems));
    }
    if let Some(patient) = event.patient_id.filter(|p| !patients.contains(p)) {
        let mut r = rejected(id, ErrorCode::NotFound, "no such resident in this facility");
        r.fields
            .insert("patient_id".into(), vec![format!("{patient} not found")]);
        return Verdict::Rejected(r);
    }
    let at = event
        .occurred_at
        .checked_add_signed(offset)
        .filter(|t| plausible(*t) && plausible(event.occurred_at));
    let Some(at) = at else {
        return Verdict::Rejected(invalid(
            id,
            vec![ValidationError::new("occurred_at", "implausible time")],
        ));
    };
    let reason = event
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if let Some(r) = reason {
        if r.chars().count() > 200 || r.chars().any(char::is_control) {
            return Verdict::Rejected(invalid(
                id,
                vec![ValidationError::new(
                    "reason",
                    "at most 200 characters, no control characters",
                )],
            ));
        }
    }
    let mut cross_facility = false;
    if let Some(user) = event.user_id {
        match users.get(&user) {
            Some(u) => cross_facility = u.facility_id != device.facility_id,
            None => {
                let mut r = rejected(id, ErrorCode::NotFound, "no such user in this organization");
                r.fields.insert("user_id".into(), vec!["not found".into()]);
                return Verdict::Rejected(r);
            }
        }
    }
    Verdict::Audit(DeviceAuditRow {
        action: audit_action(event.action),
        user_id: event.user_id,
        at: at.min(server_time),
        outcome: match event.outcome {
            tend_domain::wire::AuditOutcome::Success => "success",
            tend_domain::wire::AuditOutcome::Denied => "denied",
        },
        reason: reason.map(str::to_owned),
        cross_facility,
        patient_id: event.patient_id,
    })
}

/// Where a device is in its facility's feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedCursor {
    pub facility_id: i64,
    pub position: i64,
    /// During a long sync, how many changes were left after this position
    /// (so later pages need not count again; only a progress bar uses it).
    pub remaining: Option<u64>,
}

/// `v1.<facility>.<position>[.<remaining>]`, base64url: opaque to devices.
pub fn encode_cursor(cursor: FeedCursor) -> String {
    let FeedCursor {
        facility_id,
        position,
        remaining,
    } = cursor;
    URL_SAFE_NO_PAD.encode(match remaining {
        Some(r) => format!("v1.{facility_id}.{position}.{r}"),
        None => format!("v1.{facility_id}.{position}"),
    })
}

/// The cursor, if it is one this API issued.
pub fn decode_cursor(cursor: &str) -> Option<FeedCursor> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let mut parts = text.strip_prefix("v1.")?.split('.');
    let facility_id = parts.next()?.parse::<i64>().ok()?;
    let position = parts.next()?.parse::<i64>().ok()?;
    let remaining = match parts.next() {
        Some(r) => Some(r.parse::<u64>().ok()?),
        None => None,
    };
    if parts.next().is_some() || facility_id <= 0 || position < 0 {
        return None;
    }
    Some(FeedCursor {
        facility_id,
        position,
        remaining,
    })
}

/// Read the device's facility change feed (device token).
///
/// Without `cursor`, an initial sync from the start; then pass back each
/// page's `cursor` (also after an empty page). Changes come in feed order;
/// pull again at once while `has_more`.
#[utoipa::path(get, path = "/api/sync/pull", tag = "sync", params(SyncPullQuery),
    responses(
        (status = 200, description = "A page of the facility's changes", body = SyncPullPage),
        (status = 400, description = "A cursor this API did not issue for this facility (VALIDATION_FAILED naming cursor)", body = ErrorBody),
        (status = 401, description = "No valid device token (UNAUTHORIZED, DEVICE_*)", body = ErrorBody),
        (status = 422, description = "Bad query parameter", body = ErrorBody),
        (status = 426, description = "UNSUPPORTED_VERSION: this protocol or schema version cannot sync", body = ErrorBody)),
    security(("device" = [])))]
pub async fn pull(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    ClientAddress(address): ClientAddress,
    ApiQuery(q): ApiQuery<SyncPullQuery>,
) -> Result<Json<SyncPullPage>> {
    check_versions(q.protocol_version, q.schema_version)?;
    let limit = match q.limit {
        None => MAX_PULL_CHANGES,
        Some(n) if (1..=MAX_PULL_CHANGES).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::field(
                "limit",
                format!("must be between 1 and {MAX_PULL_CHANGES}"),
            ))
        }
    };
    let (after, remaining_before) = match q.cursor.as_deref() {
        None => (0, None),
        Some(c) => match decode_cursor(c) {
            Some(c) if c.facility_id == device.facility_id => (c.position, c.remaining),
            Some(_) => return Err(refuse_foreign_cursor(&state, &device, address).await),
            None => {
                return Err(ApiError::parameter(
                    "cursor",
                    "not a cursor this API issued",
                ))
            }
        },
    };
    let mut tx = begin_device(&state, &device, true).await?;
    let facility = store::sync::facility(&mut tx, device.facility_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if after > facility.last_seq {
        return Err(ApiError::parameter(
            "cursor",
            "this cursor is ahead of the feed; start an initial sync",
        ));
    }
    // The facility's documentation window (its policy, default 30 days).
    let window = facility.policy.0.sanitized().documentation_window_days;
    let since = Utc::now() - Duration::days(i64::from(window));
    let fetch = i64::from(limit) + 1;
    let mut changes = store::sync::changes_after(&mut tx, &facility, after, fetch, since).await?;
    changes.sort_by_key(|(position, _)| *position);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let has_more = changes.len() > limit;
    changes.truncate(limit);
    // When every table was read to its end, the feed's last position is safe
    // to skip to (it also passes over changes filtered out of this device's
    // view, such as records outside the window).
    let position = if has_more {
        changes.last().map_or(after, |(p, _)| *p)
    } else {
        facility.last_seq.max(after)
    };
    // Counting is the costly part of a page early in an initial sync: count
    // once, then carry the figure in the cursor (changes arriving meanwhile
    // are not in it, which a progress bar can live with).
    let delivered = u64::try_from(changes.len()).unwrap_or(u64::MAX);
    let remaining = match remaining_before {
        _ if !has_more => 0,
        Some(before) if before > delivered => before - delivered,
        _ => {
            let count = store::sync::count_after(&mut tx, facility.id, position).await?;
            u64::try_from(count).unwrap_or(0)
        }
    };
    // Read-only: ending it by rollback costs nothing.
    drop(tx);
    let changes: Vec<SyncChange> = changes.into_iter().map(|(_, c)| c).collect();
    crate::metrics::metrics()
        .sync_rows
        .with_label_values(&["pulled"])
        .inc_by(delivered);
    Ok(Json(SyncPullPage {
        server_time: Utc::now(),
        cursor: encode_cursor(FeedCursor {
            facility_id: device.facility_id,
            position,
            remaining: has_more.then_some(remaining),
        }),
        has_more,
        remaining,
        changes,
        badge_key: facility.badge_key.as_deref().map(|k| STANDARD.encode(k)),
    }))
}

/// A cursor issued to another facility's device: refused (400) and audited,
/// as it means a copied or forged cursor.
async fn refuse_foreign_cursor(
    state: &AppState,
    device: &DevicePrincipal,
    address: Option<String>,
) -> ApiError {
    let written = async {
        let mut tx = begin_device(state, device, false).await?;
        let audit = Audit::new("sync.pull", "facility")
            .resource(device.facility_id)
            .facility(device.organization_id, device.facility_id)
            .device(device.device_id)
            .reason("cursor of another facility");
        insert_audit(&mut tx, None, &audit, "denied", false, address.as_deref()).await?;
        tx.commit().await?;
        Ok::<_, ApiError>(())
    }
    .await;
    if let Err(e) = written {
        return e;
    }
    tracing::warn!(
        device_id = device.device_id,
        "sync pull with another facility's cursor refused"
    );
    ApiError::parameter("cursor", "this cursor belongs to another facility")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = FeedCursor {
            facility_id: 7,
            position: 1234,
            remaining: None,
        };
        assert_eq!(decode_cursor(&encode_cursor(cursor)), Some(cursor));
        let counted = FeedCursor {
            remaining: Some(99),
            ..cursor
        };
        assert_eq!(decode_cursor(&encode_cursor(counted)), Some(counted));
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("v1.7.1.2.3")), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("v1.7.1.x")), None);
        assert_eq!(decode_cursor("garbage!"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("v1.7")), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("v2.7.1")), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("v1.7.-1")), None);
    }

    #[test]
    fn versions_outside_the_supported_range_are_refused() {
        assert!(check_versions(SYNC_PROTOCOL_VERSION, DEVICE_SCHEMA_VERSION).is_ok());
        assert!(matches!(
            check_versions(SYNC_PROTOCOL_VERSION + 1, DEVICE_SCHEMA_VERSION),
            Err(ApiError::UnsupportedVersion)
        ));
        assert!(check_versions(SYNC_PROTOCOL_VERSION, DEVICE_SCHEMA_VERSION + 1).is_err());
        assert!(check_versions(SYNC_PROTOCOL_VERSION, MIN_DEVICE_SCHEMA_VERSION - 1).is_err());
    }
}
