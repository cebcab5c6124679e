//! Bootstrap data, written as the schema owner: the first platform
//! administrator, and a realistic demo (four organizations, six facilities
//! covering every facility type, staff of every role, 300+ patients, devices,
//! and badges with PINs for a few staff of Sunrise ALF - North Campus).

use anyhow::Context as _;
use chrono::{Duration, NaiveDate, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use tend_domain::{Npi, Role};

use crate::auth::hash_password;

/// NPI from nine base digits plus the computed check digit.
pub fn npi_from_base(base: u32) -> String {
    let s = format!("{base:09}");
    let digits: Vec<u32> = s.bytes().map(|b| u32::from(b - b'0')).collect();
    format!("{s}{}", Npi::check_digit(&digits))
}

/// The organization and facility platform administrators belong to
/// (users always have a facility); created on first use.
async fn platform_home(conn: &mut PgConnection) -> anyhow::Result<(i64, i64)> {
    let existing: Option<(i64, i64)> = sqlx::query_as(
        "SELECT o.id, f.id FROM organizations o JOIN facilities f ON f.organization_id = o.id \
         WHERE o.settings->>'platform' = 'true' ORDER BY o.id, f.id LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(ids) = existing {
        return Ok(ids);
    }
    let org: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, organization_type, settings) \
         VALUES ('Tend Platform Operations', 'MULTI_SITE_SYSTEM', '{\"platform\": true}') RETURNING id",
    )
    .fetch_one(&mut *conn)
    .await?;
    let facility: i64 = sqlx::query_scalar(
        "INSERT INTO facilities (organization_id, name, facility_type, timezone, settings) \
         VALUES ($1, 'Tend Platform Operations', 'HOME_HEALTH', 'UTC', '{\"platform\": true}') RETURNING id",
    )
    .bind(org)
    .fetch_one(&mut *conn)
    .await?;
    Ok((org, facility))
}

pub async fn create_platform_admin(
    pool: &PgPool,
    username: &str,
    full_name: &str,
    email: Option<&str>,
    password: &str,
) -> anyhow::Result<i64> {
    let username = username.trim().to_ascii_lowercase();
    let hash = hash_password(password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tx = pool.begin().await?;
    let (org, facility) = platform_home(&mut tx).await?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO users (organization_id, facility_id, employee_id, username, full_name, email, role, password_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, 'PLATFORM_ADMIN', $7) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(org)
    .bind(facility)
    .bind(format!("platform-{username}"))
    .bind(&username)
    .bind(full_name.trim())
    .bind(email)
    .bind(&hash)
    .fetch_optional(&mut *tx)
    .await
    .context("creating the admin (is the username valid: 3-64 of a-z 0-9 . _ -?)")?;
    let id = id.with_context(|| format!("user {username} already exists"))?;
    sqlx::query(
        "INSERT INTO audit_events (actor_user_id, organization_id, facility_id, action, resource_type, resource_id, \
         outcome, reason) VALUES ($1, $2, $3, 'user.create', 'user', $1, 'success', 'create-admin bootstrap')",
    )
    .bind(id)
    .bind(org)
    .bind(facility)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

struct DemoFacility {
    key: &'static str,
    name: &'static str,
    facility_type: &'static str,
    beds: Option<i32>,
    census: i32,
    timezone: &'static str,
    address: &'static str,
    features: serde_json::Value,
}

struct DemoOrg {
    name: &'static str,
    organization_type: &'static str,
    npi_base: u32,
    tax_id: &'static str,
    license_state: &'static str,
    facilities: Vec<DemoFacility>,
}

fn demo_orgs() -> Vec<DemoOrg> {
    vec![
        DemoOrg {
            name: "Sunrise Senior Living Inc",
            organization_type: "ALF_OPERATOR",
            npi_base: 154_201_337,
            tax_id: "41-2938471",
            license_state: "MN",
            facilities: vec![
                DemoFacility {
                    key: "sunrise-north",
                    name: "Sunrise ALF - North Campus",
                    facility_type: "ALF",
                    beds: Some(32),
                    census: 28,
                    timezone: "America/Chicago",
                    address: "1200 County Road E, Arden Hills, MN 55112",
                    features: json!({"family_portal": true}),
                },
                DemoFacility {
                    key: "sunrise-hospice",
                    name: "Sunrise Hospice - Lakeside",
                    facility_type: "HOSPICE",
                    beds: Some(20),
                    census: 14,
                    timezone: "America/Chicago",
                    address: "88 Lakeshore Drive, White Bear Lake, MN 55110",
                    features: json!({"family_portal": true}),
                },
            ],
        },
        DemoOrg {
            name: "Memory Lane Care Partners",
            organization_type: "MEMORY_CARE_GROUP",
            npi_base: 167_380_214,
            tax_id: "86-1047733",
            license_state: "AZ",
            facilities: vec![
                DemoFacility {
                    key: "memorylane-secure",
                    name: "Memory Lane - Secure Unit",
                    facility_type: "MEMORY_CARE",
                    beds: Some(16),
                    census: 15,
                    timezone: "America/Phoenix",
                    address: "4410 E Camelback Rd, Phoenix, AZ 85018",
                    features: json!({"behavior_tracking": true, "wandering_alerts": true, "family_portal": true}),
                },
                DemoFacility {
                    key: "memorylane-snf",
                    name: "Memory Lane SNF - Westside",
                    facility_type: "SNF",
                    beds: Some(120),
                    census: 104,
                    timezone: "America/Phoenix",
                    address: "9020 W Thomas Rd, Phoenix, AZ 85037",
                    features: json!({}),
                },
            ],
        },
        DemoOrg {
            name: "ComfortCare Home Health",
            organization_type: "HOME_HEALTH_AGENCY",
            npi_base: 132_904_776,
            tax_id: "74-3318290",
            license_state: "TX",
            facilities: vec![DemoFacility {
                key: "comfortcare-north",
                name: "ComfortCare - North Region",
                facility_type: "HOME_HEALTH",
                beds: None,
                census: 45,
                timezone: "America/Chicago",
                address: "301 Congress Ave, Austin, TX 78701",
                features: json!({}),
            }],
        },
        DemoOrg {
            name: "Golden Years Senior Living",
            organization_type: "ALF_OPERATOR",
            npi_base: 119_662_045,
            tax_id: "59-2274106",
            license_state: "FL",
            facilities: vec![DemoFacility {
                key: "goldenyears-riverside",
                name: "Golden Years ALF - Riverside",
                facility_type: "ALF",
                beds: Some(48),
                census: 44,
                timezone: "America/New_York",
                address: "2750 Riverside Ave, Jacksonville, FL 32205",
                features: json!({"family_portal": false}),
            }],
        },
    ]
}

const FIRST: &[&str] = &[
    "Mary",
    "James",
    "Patricia",
    "Robert",
    "Linda",
    "Michael",
    "Barbara",
    "William",
    "Elizabeth",
    "David",
    "Dorothy",
    "Richard",
    "Margaret",
    "Joseph",
    "Ruth",
    "Charles",
    "Helen",
    "Thomas",
    "Betty",
    "George",
    "Evelyn",
    "Harold",
    "Frances",
    "Walter",
    "Gloria",
];
const LAST: &[&str] = &[
    "Anderson",
    "Nguyen",
    "Johnson",
    "Garcia",
    "Olson",
    "Martinez",
    "Larson",
    "Brown",
    "Hernandez",
    "Peterson",
    "Wilson",
    "Lopez",
    "Schmidt",
    "Clark",
    "Rodriguez",
    "Lewis",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Hill",
    "Flores",
];

/// A demo badge: the NFC UID a reader reports (hex, as PC/SC `FF CA` reads it)
/// and the PIN of the staff member it belongs to. Public on purpose: they are
/// printed by `scripts/run.sh` ("badges to try") so a demo can tap them on the
/// virtual reader (`virtual-badge tap <uid>`).
pub struct DemoBadge {
    pub username: &'static str,
    pub uid: &'static str,
    pub pin: &'static str,
}

/// Badges of Sunrise ALF - North Campus staff (the facility `run.sh` enrolls
/// the app in). PINs follow the PIN policy (4–8 digits, no repeated digit or
/// run); hashes are made like any badge's, with the organization's key.
pub const DEMO_BADGES: &[DemoBadge] = &[
    DemoBadge {
        username: "sunrise-north.rn1",
        uid: "04D3A1B2C3D401",
        pin: "4826",
    },
    DemoBadge {
        username: "sunrise-north.rn2",
        uid: "04D3A1B2C3D402",
        pin: "5937",
    },
    DemoBadge {
        username: "sunrise-north.cna1",
        uid: "04D3A1B2C3D403",
        pin: "6048",
    },
];

/// Gives each [`DEMO_BADGES`] user the badge and, unless they set one already,
/// the PIN. Idempotent: a badge already active in the organization is left
/// alone (whoever holds it). Returns how many badges were added.
async fn seed_demo_badges(conn: &mut PgConnection) -> anyhow::Result<usize> {
    let mut added = 0;
    for demo in DEMO_BADGES {
        let user: Option<(i64, i64, i64)> = sqlx::query_as(
            "SELECT id, organization_id, facility_id FROM users WHERE username = $1",
        )
        .bind(demo.username)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((user_id, organization_id, facility_id)) = user else {
            anyhow::bail!("demo user {} is missing", demo.username);
        };
        let uid = tend_badge::BadgeUid::parse(demo.uid)
            .map_err(|e| anyhow::anyhow!("demo badge of {}: {e}", demo.username))?;
        tend_domain::Pin::parse_new(demo.pin)
            .map_err(|e| anyhow::anyhow!("demo PIN of {}: {e}", demo.username))?;
        let key = crate::store::badges::key_or_create(&mut *conn, organization_id).await?;
        let hash = uid.keyed_hash(&key);
        let taken: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM badges WHERE organization_id = $1 AND badge_hash = $2 \
             AND revoked_at IS NULL)",
        )
        .bind(organization_id)
        .bind(hash.as_bytes())
        .fetch_one(&mut *conn)
        .await?;
        if !taken {
            crate::store::badges::insert(
                &mut *conn,
                &crate::store::badges::NewBadge {
                    organization_id,
                    facility_id,
                    user_id,
                    badge_hash: hash.as_bytes(),
                    label: Some("Demo badge"),
                    created_by: user_id,
                },
            )
            .await?;
            added += 1;
        }
        let has_pin: bool =
            sqlx::query_scalar("SELECT pin_hash IS NOT NULL FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_one(&mut *conn)
                .await?;
        if !has_pin {
            let pin_hash = hash_password(demo.pin).map_err(|e| anyhow::anyhow!("{e}"))?;
            crate::store::badges::set_pin(&mut *conn, user_id, &pin_hash).await?;
        }
    }
    Ok(added)
}

/// Staff per facility: role, count.
const STAFF: &[(Role, usize)] = &[
    (Role::FacilityAdmin, 1),
    (Role::Rn, 2),
    (Role::Lpn, 1),
    (Role::Cna, 2),
    (Role::MedTech, 1),
    (Role::Therapist, 1),
    (Role::SocialWorker, 1),
];

/// Seeds the demo once; a second run finds it and changes nothing.
pub async fn seed_demo(pool: &PgPool, password: Option<&str>) -> anyhow::Result<String> {
    let mut tx = pool.begin().await?;
    // Serialize concurrent seeders.
    sqlx::query("SELECT pg_advisory_xact_lock(7331001)")
        .execute(&mut *tx)
        .await?;
    let orgs = demo_orgs();
    let marker = npi_from_base(orgs[0].npi_base);
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM organizations WHERE npi = $1)")
            .bind(&marker)
            .fetch_one(&mut *tx)
            .await?;
    if exists {
        // A demo seeded before the badges existed gets them now.
        let added = if password.is_some() {
            seed_demo_badges(&mut tx).await?
        } else {
            0
        };
        tx.commit().await?;
        return Ok(if added == 0 {
            "demo data already present; nothing changed".to_owned()
        } else {
            format!("demo data already present; added {added} demo badges")
        });
    }
    // One hash for all demo accounts; without a password they cannot log in.
    let hash = match password {
        Some(p) => hash_password(p).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => "!disabled".to_owned(),
    };
    let (platform_org, platform_facility) = platform_home(&mut tx).await?;
    insert_user(
        &mut tx,
        platform_org,
        platform_facility,
        "demo-platform",
        "demo.platform",
        "Pat Platform",
        Role::PlatformAdmin,
        &hash,
    )
    .await?;

    let now = Utc::now();
    let (mut n_facilities, mut n_users, mut n_patients, mut n_devices) = (0, 1, 0, 0);
    let mut seq = 0usize;
    for (oi, org) in orgs.iter().enumerate() {
        let org_id: i64 = sqlx::query_scalar(
            "INSERT INTO organizations (name, organization_type, npi, tax_id, state_license_number, license_state, settings) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(org.name)
        .bind(org.organization_type)
        .bind(npi_from_base(org.npi_base))
        .bind(org.tax_id)
        .bind(format!("{}-{:06}", org.license_state, 100_000 + oi * 7919))
        .bind(org.license_state)
        .bind(json!({"sync_thresholds": {"synced_within_minutes": 15, "out_of_sync_after_hours": 24}}))
        .fetch_one(&mut *tx)
        .await?;
        for (fi, f) in org.facilities.iter().enumerate() {
            let facility_id: i64 = sqlx::query_scalar(
                "INSERT INTO facilities (organization_id, name, facility_type, medicaid_provider_number, \
                 medicare_provider_number, state_license_number, licensed_beds, current_census, address, timezone, \
                 features) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(org_id)
            .bind(f.name)
            .bind(f.facility_type)
            .bind(format!("MCD{:07}", 3_100_000 + oi * 1000 + fi))
            .bind(format!("{:02}-{:04}", 10 + oi, 7000 + fi))
            .bind(format!("{}-FAC-{:05}", org.license_state, 20_000 + oi * 100 + fi))
            .bind(f.beds)
            .bind(f.census)
            .bind(f.address)
            .bind(f.timezone)
            .bind(&f.features)
            .fetch_one(&mut *tx)
            .await?;
            n_facilities += 1;
            seed_census_history(&mut tx, org_id, facility_id, f.beds, f.census, seq).await?;
            if fi == 0 {
                let key = f.key.split('-').next().unwrap_or(f.key);
                insert_user(
                    &mut tx,
                    org_id,
                    facility_id,
                    &format!("{key}-OA1"),
                    &format!("{key}.orgadmin"),
                    &format!("{} Admin", LAST[oi % LAST.len()]),
                    Role::OrgAdmin,
                    &hash,
                )
                .await?;
                n_users += 1;
            }
            for (role, count) in STAFF {
                for k in 1..=*count {
                    seq += 1;
                    let username = format!(
                        "{}.{}{k}",
                        f.key,
                        role.as_str().to_ascii_lowercase().replace('_', "")
                    );
                    let name = format!(
                        "{} {}",
                        FIRST[(seq * 7) % FIRST.len()],
                        LAST[(seq * 11) % LAST.len()]
                    );
                    insert_user(
                        &mut tx,
                        org_id,
                        facility_id,
                        &format!("E{:05}", 1000 + seq),
                        &username,
                        &name,
                        *role,
                        &hash,
                    )
                    .await?;
                    n_users += 1;
                }
            }
            // Patients: the census (a few on leave), plus discharged history.
            let on_leave = if f.census > 10 { 2 } else { 0 };
            let discharged = 11;
            for p in 0..(f.census + discharged) {
                seq += 1;
                let (status, discharged_at) = if p < f.census - on_leave {
                    ("active", None)
                } else if p < f.census {
                    ("on_leave", None)
                } else if p % 5 == 0 {
                    ("deceased", Some(now - Duration::days(i64::from(p) * 3)))
                } else {
                    ("discharged", Some(now - Duration::days(i64::from(p) * 2)))
                };
                let dob = NaiveDate::from_ymd_opt(
                    1928 + (seq % 40) as i32,
                    (seq % 12) as u32 + 1,
                    (seq % 28) as u32 + 1,
                )
                .context("date")?;
                let room = f.beds.map(|_| format!("{}{:02}", 1 + p / 20, p % 20 + 1));
                sqlx::query(
                    "INSERT INTO patients (organization_id, facility_id, mrn, first_name, last_name, date_of_birth, \
                     status, room, admitted_at, discharged_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(org_id)
                .bind(facility_id)
                .bind(format!("MRN-{facility_id:03}-{:05}", p + 1))
                .bind(FIRST[(seq * 3) % FIRST.len()])
                .bind(LAST[(seq * 5 + oi) % LAST.len()])
                .bind(dob)
                .bind(status)
                .bind(room)
                .bind(now - Duration::days(30 + i64::from(p) * 4))
                .bind(discharged_at)
                .execute(&mut *tx)
                .await?;
                n_patients += 1;
            }
            // Devices: a med-room workstation, nurse tablets, and exit badge
            // readers where wandering alerts are on.
            let mut devices = vec![
                ("Nurse Station A", "WORKSTATION"),
                ("Med Cart Tablet 1", "TABLET"),
                ("Hall Kiosk", "RASPBERRY_PI"),
            ];
            if f.features.get("wandering_alerts").and_then(|v| v.as_bool()) == Some(true) {
                devices.push(("Exit Door Badge Reader", "BADGE_READER"));
            }
            if f.facility_type == "HOME_HEALTH" {
                devices = vec![
                    ("Field Tablet 1", "TABLET"),
                    ("Field Tablet 2", "TABLET"),
                    ("Case Manager Laptop", "LAPTOP"),
                ];
            }
            for (di, (name, kind)) in devices.iter().enumerate() {
                let minutes = [1i64, 3, 45, 60 * 30][di % 4];
                sqlx::query(
                    "INSERT INTO devices (organization_id, facility_id, device_name, device_type, device_uuid, mac_address, \
                     encryption_enabled, encryption_required, app_version, status, enrolled_at, last_seen, last_sync, \
                     last_security_audit) VALUES ($1, $2, $3, $4, $5, $6::macaddr, true, true, '0.1.0', 'ACTIVE', $7, $8, $9, $10)",
                )
                .bind(org_id)
                .bind(facility_id)
                .bind(name)
                .bind(kind)
                .bind(uuid::Uuid::new_v4())
                .bind(format!("b8:27:eb:{:02x}:{:02x}:{:02x}", oi, fi, di))
                .bind(now - Duration::days(60))
                .bind(now - Duration::minutes(minutes))
                .bind(now - Duration::minutes(minutes + 2))
                .bind(now - Duration::days(14))
                .execute(&mut *tx)
                .await?;
                n_devices += 1;
            }
        }
    }
    // Badges let people sign in without a password: only for a demo whose
    // accounts can sign in at all.
    let n_badges = if password.is_some() {
        seed_demo_badges(&mut tx).await?
    } else {
        0
    };
    let n_notes = seed_demo_handoff_notes(&mut tx).await?;
    tx.commit().await?;
    Ok(format!(
        "seeded {} organizations, {n_facilities} facilities, {n_users} users, {n_patients} patients, {n_devices} devices, {n_badges} badges, {n_notes} care notes{}",
        orgs.len(),
        if password.is_some() { "" } else { " (no demo password given: demo accounts cannot log in)" }
    ))
}

/// Care notes the demo's night shift left at Sunrise North (by the second
/// demo nurse and the CNA), so the first demo nurse's home has hand-off notes.
const DEMO_HANDOFF_NOTES: &[(&str, i64, &str)] = &[
    (
        "sunrise-north.rn2",
        40,
        "Slept well after 2 am. Asked for extra blanket; given.",
    ),
    (
        "sunrise-north.cna1",
        95,
        "Needed help with breakfast tray; ate about half. Encourage fluids.",
    ),
    (
        "sunrise-north.rn2",
        180,
        "Daughter called, visiting this afternoon around 3 pm.",
    ),
    (
        "sunrise-north.cna1",
        260,
        "Restless around 4 am, walked the hallway with staff, settled by 4:30.",
    ),
    (
        "sunrise-north.rn2",
        420,
        "Complained of knee pain at bedtime; repositioned with pillow, relief reported.",
    ),
];

/// Writes [`DEMO_HANDOFF_NOTES`] for the residents of Sunrise North's last
/// rooms (the hall's first rooms stay without documentation for a fresh
/// start), minutes before now. Returns how many were written.
async fn seed_demo_handoff_notes(conn: &mut PgConnection) -> anyhow::Result<usize> {
    let now = Utc::now();
    let residents: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT p.id, p.organization_id, p.facility_id FROM patients p \
         JOIN users u ON u.facility_id = p.facility_id AND u.username = $1 \
         WHERE p.status = 'active' ORDER BY p.room DESC, p.id LIMIT $2",
    )
    .bind(DEMO_HANDOFF_NOTES[0].0)
    .bind(DEMO_HANDOFF_NOTES.len() as i64)
    .fetch_all(&mut *conn)
    .await?;
    for ((username, minutes_ago, text), (patient, org, facility)) in
        DEMO_HANDOFF_NOTES.iter().zip(&residents)
    {
        let at = now - Duration::minutes(*minutes_ago);
        let body = serde_json::to_value(tend_domain::records::RecordBody::CareNote(
            tend_domain::records::CareNote {
                text: (*text).to_owned(),
            },
        ))?;
        sqlx::query(
            "INSERT INTO clinical_records (id, organization_id, facility_id, patient_id, author_user_id, \
             kind, body, recorded_at, occurred_at, received_at) \
             SELECT $1, $2, $3, $4, u.id, 'care_note', $5, $6, $6, $6 FROM users u WHERE u.username = $7",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(org)
        .bind(facility)
        .bind(patient)
        .bind(body)
        .bind(at)
        .bind(username)
        .execute(&mut *conn)
        .await?;
    }
    Ok(residents.len().min(DEMO_HANDOFF_NOTES.len()))
}

/// Days of occupancy history each demo facility gets, so the dashboard's
/// chart has something to show.
const DEMO_HISTORY_DAYS: i64 = 90;

/// Census a day earlier than `census`, by a small deterministic walk
/// (`roll` in 0..100): most days nothing changes, some an admission or a
/// discharge, within 70 %–100 % of the beds (±30 % around today without beds).
fn census_before(census: i32, today: i32, beds: Option<i32>, roll: u64) -> i32 {
    let step = match roll {
        0..=14 => -2,
        15..=34 => -1,
        35..=54 => 1,
        55..=64 => 2,
        _ => 0,
    };
    let (low, high) = match beds {
        Some(b) => (b * 7 / 10, b),
        None => (today * 7 / 10, today * 13 / 10),
    };
    (census + step).clamp(low.max(0), high.max(low).max(0))
}

/// About [`DEMO_HISTORY_DAYS`] days of census changes before today's census
/// (which the facility's insert recorded just now).
async fn seed_census_history(
    conn: &mut PgConnection,
    organization_id: i64,
    facility_id: i64,
    beds: Option<i32>,
    census_today: i32,
    salt: usize,
) -> anyhow::Result<()> {
    let mut state = (facility_id as u64).wrapping_mul(6_364_136_223_846_793_005) ^ salt as u64;
    let mut roll = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % 100
    };
    let (mut days_ago, mut census_values, mut hours) = (Vec::new(), Vec::new(), Vec::new());
    let mut census = census_today;
    for day in 1..=DEMO_HISTORY_DAYS {
        let earlier = census_before(census, census_today, beds, roll());
        // `census` held from `day - 1` days ago; a row marks the day a value
        // started, so unchanged days need none (the chart carries it forward).
        if earlier != census {
            days_ago.push(day - 1);
            census_values.push(census);
            hours.push(7 + i64::try_from(roll() % 12).unwrap_or(0));
        }
        if day == DEMO_HISTORY_DAYS {
            days_ago.push(day);
            census_values.push(earlier);
            hours.push(7);
        }
        census = earlier;
    }
    sqlx::query(
        "INSERT INTO census_history (organization_id, facility_id, current_census, licensed_beds, recorded_at) \
         SELECT $1, $2, c, $3, least(now(), date_trunc('day', now()) - make_interval(days => d::int) + make_interval(hours => h::int)) \
         FROM unnest($4::bigint[], $5::int[], $6::bigint[]) AS t (d, c, h)",
    )
    .bind(organization_id)
    .bind(facility_id)
    .bind(beds)
    .bind(&days_ago)
    .bind(&census_values)
    .bind(&hours)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_user(
    conn: &mut PgConnection,
    org: i64,
    facility: i64,
    employee_id: &str,
    username: &str,
    full_name: &str,
    role: Role,
    hash: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO users (organization_id, facility_id, employee_id, username, full_name, email, role, password_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(org)
    .bind(facility)
    .bind(employee_id)
    .bind(username)
    .bind(full_name)
    .bind(format!("{username}@example.org"))
    .bind(role.as_str())
    .bind(hash)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_npis_are_valid_and_types_cover_everything() {
        for org in demo_orgs() {
            assert!(
                Npi::parse(&npi_from_base(org.npi_base)).is_ok(),
                "{}",
                org.name
            );
            assert!(
                tend_domain::Ein::parse(org.tax_id).is_ok(),
                "{}",
                org.tax_id
            );
        }
        let types: std::collections::BTreeSet<_> = demo_orgs()
            .iter()
            .flat_map(|o| o.facilities.iter().map(|f| f.facility_type))
            .collect();
        assert_eq!(types.len(), 5);
        assert_eq!(npi_from_base(123_456_789), "1234567893");
    }

    #[test]
    fn demo_badges_are_valid_and_scripts_run_prints_them() {
        let run_sh =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/run.sh"))
                .unwrap();
        let mut uids = std::collections::BTreeSet::new();
        for demo in DEMO_BADGES {
            assert!(
                tend_badge::BadgeUid::parse(demo.uid).is_ok(),
                "{}",
                demo.uid
            );
            assert!(
                tend_domain::Pin::parse_new(demo.pin).is_ok(),
                "{}",
                demo.username
            );
            assert!(uids.insert(demo.uid), "{} twice", demo.uid);
            let line = format!("{}  PIN {}", demo.uid, demo.pin);
            assert!(
                run_sh.contains(&line) && run_sh.contains(demo.username),
                "scripts/run.sh does not print {line} for {}",
                demo.username
            );
        }
    }
}
