//! Synthetic sync load for benchmarks and soak tests: one new facility (in a
//! new organization) with patients, staff each holding a badge, and clinical
//! records spread over the last 30 days. Set-based SQL (`generate_series`),
//! so 100,000 records take seconds. Runs as the schema owner; the rows go
//! through the same feed triggers as the API's writes.
//!
//! Staff cannot log in with a password (their hash is not a valid one) and
//! badge hashes are random: this is data to sync, not accounts to use.

use sqlx::PgPool;

/// How much to generate.
#[derive(Debug, Clone, Copy)]
pub struct SyncLoad {
    pub patients: i64,
    pub staff: i64,
    pub records: i64,
}

impl Default for SyncLoad {
    /// The 120-bed facility.
    fn default() -> Self {
        Self {
            patients: 120,
            staff: 200,
            records: 100_000,
        }
    }
}

/// What was created.
#[derive(Debug, Clone, Copy)]
pub struct LoadedFacility {
    pub organization_id: i64,
    pub facility_id: i64,
    /// An active device of the facility (for device tokens).
    pub device_id: i64,
}

impl std::fmt::Display for LoadedFacility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "organization {} facility {} device {}",
            self.organization_id, self.facility_id, self.device_id
        )
    }
}

/// Fills a new facility with `load`; one transaction.
pub async fn seed_sync_load(owner: &PgPool, load: SyncLoad) -> anyhow::Result<LoadedFacility> {
    anyhow::ensure!(
        load.patients >= 1 && load.staff >= 1 && load.records >= 0,
        "a load needs at least one patient and one staff member"
    );
    let mut tx = owner.begin().await?;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let tag = &tag[..12];
    let organization_id: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, organization_type) VALUES ($1, 'ALF_OPERATOR') RETURNING id",
    )
    .bind(format!("Sync Load {tag}"))
    .fetch_one(&mut *tx)
    .await?;
    let beds = i32::try_from(load.patients.max(1)).unwrap_or(i32::MAX);
    let facility_id: i64 = sqlx::query_scalar(
        "INSERT INTO facilities (organization_id, name, facility_type, licensed_beds, current_census, features) \
         VALUES ($1, $2, 'MEMORY_CARE', $3, $3, '{\"behavior_tracking\": true, \"wandering_alerts\": true}') \
         RETURNING id",
    )
    .bind(organization_id)
    .bind(format!("Load Facility {tag}"))
    .bind(beds)
    .fetch_one(&mut *tx)
    .await?;
    let key: Vec<u8> = [
        uuid::Uuid::new_v4().into_bytes(),
        uuid::Uuid::new_v4().into_bytes(),
    ]
    .concat();
    sqlx::query("INSERT INTO organization_badge_keys (organization_id, badge_key) VALUES ($1, $2)")
        .bind(organization_id)
        .bind(&key)
        .execute(&mut *tx)
        .await?;
    let device_id: i64 = sqlx::query_scalar(
        "INSERT INTO devices (organization_id, facility_id, device_name, device_type, device_uuid) \
         VALUES ($1, $2, 'Load Station', 'WORKSTATION', $3) RETURNING id",
    )
    .bind(organization_id)
    .bind(facility_id)
    .bind(uuid::Uuid::new_v4())
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO users (organization_id, facility_id, employee_id, username, full_name, role, password_hash) \
         SELECT $1, $2, 'L' || n, $3 || '.staff' || n, 'Staff Member ' || n, \
                (ARRAY['RN','LPN','CNA','CNA','MED_TECH'])[1 + n % 5], '!not-a-password-hash' \
         FROM generate_series(1, $4) AS n",
    )
    .bind(organization_id)
    .bind(facility_id)
    .bind(format!("load{tag}"))
    .bind(load.staff)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO badges (organization_id, facility_id, user_id, badge_hash) \
         SELECT organization_id, facility_id, id, sha256(convert_to($2 || id, 'UTF8')) \
         FROM users WHERE facility_id = $1",
    )
    .bind(facility_id)
    .bind(format!("load-badge-{tag}-"))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO patients (organization_id, facility_id, mrn, first_name, last_name, date_of_birth, room, admitted_at) \
         SELECT $1, $2, 'LM' || n, 'Resident', 'Number ' || n, date '1930-01-01' + ((n * 97) % 9000)::int, \
                (100 + n)::text, now() - interval '200 days' \
         FROM generate_series(1, $3) AS n",
    )
    .bind(organization_id)
    .bind(facility_id)
    .bind(load.patients)
    .execute(&mut *tx)
    .await?;
    // Records: UUIDv7 ids (a random UUID whose first 48 bits are the
    // occurrence time in milliseconds, version nibble 7), oldest first.
    sqlx::query(
        "WITH p AS (SELECT array_agg(id ORDER BY id) AS ids FROM patients WHERE facility_id = $2), \
              u AS (SELECT array_agg(id ORDER BY id) AS ids FROM users WHERE facility_id = $2), \
              g AS (SELECT n, now() - (interval '29 days 23 hours') * (1 - n::float8 / $3) AS at \
                    FROM generate_series(1, $3) AS n) \
         INSERT INTO clinical_records (id, organization_id, facility_id, patient_id, author_user_id, kind, body, \
                                       recorded_at, occurred_at, received_at) \
         SELECT encode(set_byte(overlay(uuid_send(gen_random_uuid()) \
                    PLACING substring(int8send((extract(epoch FROM g.at) * 1000)::bigint) FROM 3) FROM 1 FOR 6), \
                    6, (get_byte(uuid_send(gen_random_uuid()), 6) & 15) | 112), 'hex')::uuid, \
                $1, $2, p.ids[1 + g.n % cardinality(p.ids)], u.ids[1 + (g.n * 7) % cardinality(u.ids)], \
                k.kind, k.body, g.at, g.at, g.at \
         FROM g CROSS JOIN p CROSS JOIN u \
         CROSS JOIN LATERAL (SELECT CASE g.n % 4 \
             WHEN 0 THEN 'care_note' WHEN 1 THEN 'vital_signs' \
             WHEN 2 THEN 'behavior_event' ELSE 'prn_administration' END AS kind) AS kk \
         CROSS JOIN LATERAL (SELECT kk.kind, CASE kk.kind \
             WHEN 'care_note' THEN jsonb_build_object('kind', 'care_note', 'text', \
                  'Resident rested comfortably; ate most of the meal. Observation ' || g.n) \
             WHEN 'vital_signs' THEN jsonb_build_object('kind', 'vital_signs', 'temperature_c', 36.5 + (g.n % 10) / 10.0, \
                  'pulse_bpm', 60 + g.n % 30, 'systolic_mmhg', 110 + g.n % 30, 'diastolic_mmhg', 70 + g.n % 15, \
                  'spo2_percent', 94 + g.n % 6) \
             WHEN 'behavior_event' THEN jsonb_build_object('kind', 'behavior_event', 'behavior', 'sundowning', \
                  'antecedent', 'Late afternoon, busy hallway', 'intervention', 'Quiet room and music', \
                  'outcome', 'improved') \
             ELSE jsonb_build_object('kind', 'prn_administration', 'medication', 'Acetaminophen', 'dose', '500 mg', \
                  'route', 'oral', 'reason', 'Reported knee pain', 'follow_up_minutes', 60) END AS body) AS k \
         ORDER BY g.n",
    )
    .bind(organization_id)
    .bind(facility_id)
    .bind(load.records)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(LoadedFacility {
        organization_id,
        facility_id,
        device_id,
    })
}
