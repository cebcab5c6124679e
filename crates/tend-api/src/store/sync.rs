//! Storage of the sync protocol: the facility change feed read page by page
//! (one snapshot, one query per table, merged by position in Rust), applied
//! operation ids, clinical records and device audit events.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;
use sqlx::PgConnection;
use tend_domain::records::{ClinicalRecord, RecordBody, RecordKind};
use tend_domain::wire::{
    JsonObject, Patient, RemovedId, StaffMember, SyncChange, SyncedBadge, SyncedFacility,
};
use tend_domain::{FacilityType, PatientStatus, Role};
use uuid::Uuid;

use super::decode;
use crate::error::Result;

/// What the feed and the push need to know about the device's facility.
#[derive(sqlx::FromRow)]
pub struct FacilityRow {
    pub id: i64,
    pub organization_id: i64,
    pub name: String,
    pub facility_type: String,
    pub timezone: String,
    pub settings: Json<JsonObject>,
    pub features: Json<BTreeMap<String, bool>>,
    pub policy: Json<tend_domain::FacilityPolicy>,
    pub change_seq: i64,
    /// The feed's last position (in the reader's snapshot).
    pub last_seq: i64,
    /// The organization's badge key, once it has one.
    pub badge_key: Option<Vec<u8>>,
}

impl FacilityRow {
    pub fn feature(&self, name: &str) -> bool {
        self.features.0.get(name) == Some(&true)
    }

    fn to_wire(&self) -> Result<SyncedFacility> {
        Ok(SyncedFacility {
            id: self.id,
            organization_id: self.organization_id,
            name: self.name.clone(),
            facility_type: decode(FacilityType::parse, &self.facility_type)?,
            timezone: self.timezone.clone(),
            settings: self.settings.0.clone(),
            features: self.features.0.clone(),
            policy: self.policy.0.sanitized(),
        })
    }
}

/// The facility (under the caller's scope, so only the device's own).
pub async fn facility(conn: &mut PgConnection, facility_id: i64) -> Result<Option<FacilityRow>> {
    Ok(sqlx::query_as(
        "SELECT f.id, f.organization_id, f.name, f.facility_type, f.timezone, f.settings, f.features, \
         f.policy, f.change_seq, greatest(f.change_seq, \
             (SELECT max(change_seq) FROM patients WHERE facility_id = f.id), \
             (SELECT max(change_seq) FROM users WHERE facility_id = f.id), \
             (SELECT max(change_seq) FROM badges WHERE facility_id = f.id), \
             (SELECT max(change_seq) FROM sync_tombstones WHERE facility_id = f.id), \
             (SELECT max(change_seq) FROM clinical_records WHERE facility_id = f.id)) AS last_seq, \
         k.badge_key \
         FROM facilities f \
         LEFT JOIN organization_badge_keys k ON k.organization_id = f.organization_id \
         WHERE f.id = $1",
    )
    .bind(facility_id)
    .fetch_optional(conn)
    .await?)
}

#[derive(sqlx::FromRow)]
struct PatientRow {
    id: i64,
    organization_id: i64,
    facility_id: i64,
    mrn: String,
    first_name: String,
    last_name: String,
    date_of_birth: NaiveDate,
    status: String,
    room: Option<String>,
    admitted_at: Option<DateTime<Utc>>,
    discharged_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i32,
    change_seq: i64,
    #[sqlx(flatten)]
    care: super::patients::CareRow,
}

#[derive(sqlx::FromRow)]
struct StaffRow {
    id: i64,
    full_name: String,
    role: String,
    employee_id: String,
    preferred_language: Option<String>,
    is_active: bool,
    change_seq: i64,
}

#[derive(sqlx::FromRow)]
struct BadgeRow {
    id: i64,
    user_id: i64,
    badge_hash: String,
    removed: bool,
    change_seq: i64,
}

#[derive(sqlx::FromRow)]
struct TombstoneRow {
    entity: String,
    entity_id: i64,
    change_seq: i64,
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    id: Uuid,
    organization_id: i64,
    facility_id: i64,
    patient_id: i64,
    author_user_id: i64,
    device_id: Option<i64>,
    recorded_at: DateTime<Utc>,
    occurred_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    amends: Option<Uuid>,
    correction_reason: Option<String>,
    body: Json<RecordBody>,
}

impl RecordRow {
    fn into_wire(self) -> ClinicalRecord {
        ClinicalRecord {
            id: self.id,
            organization_id: self.organization_id,
            facility_id: self.facility_id,
            patient_id: self.patient_id,
            author_user_id: self.author_user_id,
            device_id: self.device_id,
            recorded_at: self.recorded_at,
            occurred_at: self.occurred_at,
            received_at: self.received_at,
            amends: self.amends,
            correction_reason: self.correction_reason,
            body: self.body.0,
        }
    }
}

#[derive(sqlx::FromRow)]
struct FeedRecordRow {
    #[sqlx(flatten)]
    record: RecordRow,
    change_seq: i64,
}

const RECORD_COLUMNS: &str =
    "r.id, r.organization_id, r.facility_id, r.patient_id, r.author_user_id, \
    r.device_id, r.recorded_at, r.occurred_at, r.received_at, r.amends, r.correction_reason, r.body";

/// Patients no longer in the facility's care are served as removals.
fn in_care(status: PatientStatus) -> bool {
    !matches!(status, PatientStatus::Discharged | PatientStatus::Deceased)
}

/// Up to `limit` changes of each kind after `after`, each with its position
/// (unsorted across kinds; the caller merges). Run inside one snapshot.
pub async fn changes_after(
    conn: &mut PgConnection,
    facility: &FacilityRow,
    after: i64,
    limit: i64,
    documentation_since: DateTime<Utc>,
) -> Result<Vec<(i64, SyncChange)>> {
    let f = facility.id;
    let mut out = Vec::new();
    if facility.change_seq > after {
        out.push((
            facility.change_seq,
            SyncChange::Facility(facility.to_wire()?),
        ));
    }

    let patients: Vec<PatientRow> = sqlx::query_as(
        "SELECT id, organization_id, facility_id, mrn, first_name, last_name, date_of_birth, status, room, \
         admitted_at, discharged_at, created_at, updated_at, version, change_seq, allergies, code_status, \
         diet, fall_risk, emergency_contact_name, emergency_contact_relationship, emergency_contact_phone \
         FROM patients WHERE facility_id = $1 AND change_seq > $2 ORDER BY change_seq LIMIT $3",
    )
    .bind(f)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    for p in patients {
        let status = decode(PatientStatus::parse, &p.status)?;
        let change = if in_care(status) {
            let care = p.care.into_care()?;
            SyncChange::Patient(Patient {
                id: p.id,
                organization_id: p.organization_id,
                facility_id: p.facility_id,
                mrn: p.mrn,
                first_name: p.first_name,
                last_name: p.last_name,
                date_of_birth: p.date_of_birth,
                status,
                room: p.room,
                admitted_at: p.admitted_at,
                discharged_at: p.discharged_at,
                allergies: care.allergies,
                code_status: care.code_status,
                diet: care.diet,
                fall_risk: care.fall_risk,
                emergency_contact: care.emergency_contact,
                created_at: p.created_at,
                updated_at: p.updated_at,
                version: i64::from(p.version),
            })
        } else {
            SyncChange::PatientRemoved(RemovedId { id: p.id })
        };
        out.push((p.change_seq, change));
    }

    let staff: Vec<StaffRow> = sqlx::query_as(
        "SELECT id, full_name, role, employee_id, preferred_language, is_active, change_seq \
         FROM users WHERE facility_id = $1 AND change_seq > $2 ORDER BY change_seq LIMIT $3",
    )
    .bind(f)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    for s in staff {
        let change = if s.is_active {
            SyncChange::Staff(StaffMember {
                id: s.id,
                full_name: s.full_name,
                role: decode(Role::parse, &s.role)?,
                employee_id: s.employee_id,
                preferred_language: s
                    .preferred_language
                    .as_deref()
                    .map(|l| decode(tend_domain::Language::parse, l))
                    .transpose()?,
            })
        } else {
            SyncChange::StaffRemoved(RemovedId { id: s.id })
        };
        out.push((s.change_seq, change));
    }

    // A badge of a deactivated user opens nothing: it is served as revoked.
    let badges: Vec<BadgeRow> = sqlx::query_as(
        "SELECT b.id, b.user_id, encode(b.badge_hash, 'hex') AS badge_hash, \
         (b.revoked_at IS NOT NULL OR NOT u.is_active) AS removed, b.change_seq \
         FROM badges b JOIN users u ON u.id = b.user_id \
         WHERE b.facility_id = $1 AND b.change_seq > $2 ORDER BY b.change_seq LIMIT $3",
    )
    .bind(f)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    for b in badges {
        let change = if b.removed {
            SyncChange::BadgeRevoked(RemovedId { id: b.id })
        } else {
            SyncChange::Badge(SyncedBadge {
                id: b.id,
                user_id: b.user_id,
                badge_hash: b.badge_hash,
            })
        };
        out.push((b.change_seq, change));
    }

    let tombstones: Vec<TombstoneRow> = sqlx::query_as(
        "SELECT entity, entity_id, change_seq FROM sync_tombstones \
         WHERE facility_id = $1 AND change_seq > $2 ORDER BY change_seq LIMIT $3",
    )
    .bind(f)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    for t in tombstones {
        let id = RemovedId { id: t.entity_id };
        let change = match t.entity.as_str() {
            "patient" => SyncChange::PatientRemoved(id),
            "user" => SyncChange::StaffRemoved(id),
            _ => SyncChange::BadgeRevoked(id),
        };
        out.push((t.change_seq, change));
    }

    // Documentation of patients in care, within the window. (The patients
    // are read first: a join would check each record's patient row against
    // row-level security again.)
    let in_care: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM patients WHERE facility_id = $1 AND status NOT IN ('discharged', 'deceased')",
    )
    .bind(f)
    .fetch_all(&mut *conn)
    .await?;
    let records: Vec<FeedRecordRow> = sqlx::query_as(&format!(
        "SELECT {RECORD_COLUMNS}, r.change_seq FROM clinical_records r \
         WHERE r.facility_id = $1 AND r.change_seq > $2 AND r.occurred_at >= $4 \
           AND r.patient_id = ANY($5) \
         ORDER BY r.change_seq LIMIT $3"
    ))
    .bind(f)
    .bind(after)
    .bind(limit)
    .bind(documentation_since)
    .bind(&in_care)
    .fetch_all(&mut *conn)
    .await?;
    for r in records {
        out.push((r.change_seq, SyncChange::Record(r.record.into_wire())));
    }
    Ok(out)
}

/// About how many changes follow `after` (records outside the device's
/// view included): for progress bars. Counted by a narrow function, as
/// checking row-level security on every row of a facility's feed would
/// cost more than the page itself.
pub async fn count_after(conn: &mut PgConnection, facility_id: i64, after: i64) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT tend_sync_remaining($1, $2)")
        .bind(facility_id)
        .bind(after)
        .fetch_one(conn)
        .await?)
}

/// A patient's documentation, newest first (keyset on `(occurred_at, id)`).
pub async fn patient_records(
    conn: &mut PgConnection,
    patient_id: i64,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<ClinicalRecord>> {
    let rows: Vec<RecordRow> = match before {
        Some((at, id)) => {
            sqlx::query_as(&format!(
                "SELECT {RECORD_COLUMNS} FROM clinical_records r WHERE r.patient_id = $1 \
                 AND (r.occurred_at, r.id) < ($2, $3) ORDER BY r.occurred_at DESC, r.id DESC LIMIT $4"
            ))
            .bind(patient_id)
            .bind(at)
            .bind(id)
            .bind(limit)
            .fetch_all(conn)
            .await?
        }
        None => {
            sqlx::query_as(&format!(
                "SELECT {RECORD_COLUMNS} FROM clinical_records r WHERE r.patient_id = $1 \
                 ORDER BY r.occurred_at DESC, r.id DESC LIMIT $2"
            ))
            .bind(patient_id)
            .bind(limit)
            .fetch_all(conn)
            .await?
        }
    };
    Ok(rows.into_iter().map(RecordRow::into_wire).collect())
}

/// Which of `ids` were applied before (by any push).
pub async fn applied(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM sync_operations WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(conn)
            .await?,
    )
}

/// One operation to remember as applied.
pub struct AppliedOperation {
    pub id: Uuid,
    pub seq: i64,
    pub kind: &'static str,
}

/// Claims operation ids; returns those claimed now. An id claimed by a
/// concurrent push of the same batch waits for it and is then left out.
pub async fn claim(
    conn: &mut PgConnection,
    organization_id: i64,
    facility_id: i64,
    device_id: i64,
    ops: &[AppliedOperation],
) -> Result<Vec<Uuid>> {
    let ids: Vec<Uuid> = ops.iter().map(|o| o.id).collect();
    let seqs: Vec<i64> = ops.iter().map(|o| o.seq).collect();
    let kinds: Vec<&str> = ops.iter().map(|o| o.kind).collect();
    Ok(sqlx::query_scalar(
        "INSERT INTO sync_operations (id, organization_id, facility_id, device_id, seq, kind) \
         SELECT id, $2, $3, $4, seq, kind FROM unnest($1::uuid[], $5::bigint[], $6::text[]) AS o(id, seq, kind) \
         ON CONFLICT (id) DO NOTHING RETURNING id",
    )
    .bind(&ids)
    .bind(organization_id)
    .bind(facility_id)
    .bind(device_id)
    .bind(&seqs)
    .bind(&kinds)
    .fetch_all(conn)
    .await?)
}

/// Residents among `ids` who left the facility for another one, with when
/// they last left it: a record written here before that still belongs here.
pub async fn patients_left(
    conn: &mut PgConnection,
    facility_id: i64,
    ids: &[i64],
) -> Result<Vec<(i64, DateTime<Utc>)>> {
    Ok(
        sqlx::query_as("SELECT patient_id, left_at FROM tend_sync_patients_left($1, $2)")
            .bind(facility_id)
            .bind(ids)
            .fetch_all(conn)
            .await?,
    )
}

/// Patients of the facility among `ids`.
pub async fn facility_patients(
    conn: &mut PgConnection,
    facility_id: i64,
    ids: &[i64],
) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM patients WHERE facility_id = $1 AND id = ANY($2)")
            .bind(facility_id)
            .bind(ids)
            .fetch_all(conn)
            .await?,
    )
}

/// Users of the organization among `ids`: what the author check needs.
#[derive(sqlx::FromRow)]
pub struct Author {
    pub user_id: i64,
    pub facility_id: i64,
    pub role: String,
    pub is_active: bool,
    /// When the account was deactivated (a record written before still counts).
    pub deactivated_at: Option<DateTime<Utc>>,
}

pub async fn authors(
    conn: &mut PgConnection,
    organization_id: i64,
    ids: &[i64],
) -> Result<Vec<Author>> {
    Ok(
        sqlx::query_as("SELECT * FROM tend_sync_author_lookup($1, $2)")
            .bind(organization_id)
            .bind(ids)
            .fetch_all(conn)
            .await?,
    )
}

/// Existing records among `ids` (of the caller's facility), with their
/// patient and kind (what amending one checks).
pub async fn amended_records(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, (i64, RecordKind))>> {
    let rows: Vec<(Uuid, i64, String)> =
        sqlx::query_as("SELECT id, patient_id, kind FROM clinical_records WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(conn)
            .await?;
    rows.into_iter()
        .map(|(id, patient, kind)| Ok((id, (patient, decode(RecordKind::parse, &kind)?))))
        .collect()
}

/// A record ready to store.
pub struct NewRecord {
    pub id: Uuid,
    pub patient_id: i64,
    pub author_user_id: i64,
    pub kind: &'static str,
    pub body: String,
    pub recorded_at: DateTime<Utc>,
    pub occurred_at: DateTime<Utc>,
    pub amends: Option<Uuid>,
    pub correction_reason: Option<String>,
    /// The body's kind (a correction in the same batch checks against it).
    pub record_kind: RecordKind,
}

/// Stores records in one statement (an amended record may be in the same batch).
pub async fn insert_records(
    conn: &mut PgConnection,
    organization_id: i64,
    facility_id: i64,
    device_id: Option<i64>,
    received_at: DateTime<Utc>,
    records: &[NewRecord],
) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(records.len());
    let mut patients = Vec::with_capacity(records.len());
    let mut authors = Vec::with_capacity(records.len());
    let mut kinds = Vec::with_capacity(records.len());
    let mut bodies = Vec::with_capacity(records.len());
    let mut recorded = Vec::with_capacity(records.len());
    let mut occurred = Vec::with_capacity(records.len());
    let mut amends = Vec::with_capacity(records.len());
    let mut reasons = Vec::with_capacity(records.len());
    for r in records {
        ids.push(r.id);
        patients.push(r.patient_id);
        authors.push(r.author_user_id);
        kinds.push(r.kind);
        bodies.push(r.body.as_str());
        recorded.push(r.recorded_at);
        occurred.push(r.occurred_at);
        amends.push(r.amends);
        reasons.push(r.correction_reason.as_deref());
    }
    sqlx::query(
        "INSERT INTO clinical_records (id, organization_id, facility_id, patient_id, author_user_id, device_id, \
         kind, body, recorded_at, occurred_at, received_at, amends, correction_reason) \
         SELECT id, $2, $3, patient_id, author_user_id, $4, kind, body::jsonb, recorded_at, occurred_at, $5, amends, \
                correction_reason \
         FROM unnest($1::uuid[], $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::timestamptz[], \
                     $11::timestamptz[], $12::uuid[], $13::text[]) WITH ORDINALITY \
              AS r(id, patient_id, author_user_id, kind, body, recorded_at, occurred_at, amends, correction_reason, n) \
         ORDER BY n",
    )
    .bind(&ids)
    .bind(organization_id)
    .bind(facility_id)
    .bind(device_id)
    .bind(received_at)
    .bind(&patients)
    .bind(&authors)
    .bind(&kinds)
    .bind(&bodies)
    .bind(&recorded)
    .bind(&occurred)
    .bind(&amends)
    .bind(&reasons)
    .execute(conn)
    .await?;
    Ok(())
}

/// An event a device recorded, for the audit log: a session event, or a
/// resident's record opened (`patient_id`).
pub struct DeviceAuditRow {
    pub action: &'static str,
    pub user_id: Option<i64>,
    pub at: DateTime<Utc>,
    pub outcome: &'static str,
    pub reason: Option<String>,
    pub cross_facility: bool,
    pub patient_id: Option<i64>,
}

pub async fn insert_device_audit(
    conn: &mut PgConnection,
    organization_id: i64,
    facility_id: i64,
    device_id: i64,
    event: &DeviceAuditRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (at, actor_user_id, actor_device_id, organization_id, facility_id, action, \
         resource_type, resource_id, outcome, cross_facility, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $10::bigint IS NULL THEN 'session' ELSE 'patient' END, $10, $7, $8, $9)",
    )
    .bind(event.at)
    .bind(event.user_id)
    .bind(device_id)
    .bind(organization_id)
    .bind(facility_id)
    .bind(event.action)
    .bind(event.outcome)
    .bind(event.cross_facility)
    .bind(event.reason.as_deref())
    .bind(event.patient_id)
    .execute(conn)
    .await?;
    crate::metrics::metrics().audit_rows.inc();
    Ok(())
}
