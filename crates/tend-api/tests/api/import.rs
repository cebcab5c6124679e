//! `tend-api import`: CSV files in, idempotent on natural keys, every problem
//! reported by file, line and column, badges kept only as keyed hashes.

use std::path::PathBuf;
use std::process::Command;

use reqwest::{Method, StatusCode};
use sqlx::PgPool;
use tend_api::import::{Counts, Files, Outcome};

use crate::helpers::{
    device_token_for, fresh_database, insert_device, insert_facility, insert_org, spawn_app,
};

pub(crate) const BADGE: &str = "04A1B2C3D4E5F6";

pub(crate) const FACILITIES: &str = "\
Name,Facility_Type,Licensed_Beds,Timezone
Maple House,ALF,40,America/Chicago
Birch Hospice,HOSPICE,12,America/Chicago
";

pub(crate) fn staff_csv() -> String {
    format!(
        "\
facility,role,employee_id,username,first_name,last_name,email,badge_uid
Maple House,RN,E100,maple.rn1,Ada,Lovelace,ada@example.org,{BADGE}
Maple House,CNA,E101,maple.cna1,Grace,Hopper,,
Birch Hospice,FACILITY_ADMIN,E102,birch.admin,Alan,Turing,alan@example.org,04A1B2C3D4E5F7
"
    )
}

pub(crate) const RESIDENTS: &str = "\
mrn,facility,first_name,last_name,date_of_birth,room,status,admission_date
M-1,Maple House,Edith,Clarke,1931-04-02,101,active,2024-01-15
M-2,Maple House,\"O'Neil, Jr.\",Smith,1940-12-30,102,on_leave,
B-1,Birch Hospice,Mae,Jemison,1935-10-17,,active,2025-06-01
";

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

async fn org(owner: &PgPool) -> i64 {
    insert_org(owner, &crate::helpers::unique("Import Org "), false).await
}

async fn import(owner: &PgPool, org: i64, files: &Files, dry_run: bool) -> Outcome {
    tend_api::import::run(owner, org, files, dry_run)
        .await
        .expect("import runs")
}

fn done(outcome: Outcome) -> Vec<Counts> {
    match outcome {
        Outcome::Done { files, .. } => files.iter().map(|f| f.counts).collect(),
        Outcome::Problems(p) => panic!(
            "problems: {}",
            p.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

fn problems(outcome: Outcome) -> Vec<String> {
    match outcome {
        Outcome::Problems(p) => p.iter().map(|p| p.to_string()).collect(),
        Outcome::Done { .. } => panic!("expected problems"),
    }
}

fn counts(created: u64, updated: u64, unchanged: u64, badges_added: u64) -> Counts {
    Counts {
        created,
        updated,
        unchanged,
        badges_added,
    }
}

/// Rows of the organization's tables with their xmin (a rewritten row gets a new one).
async fn snapshot(owner: &PgPool, org: i64) -> Vec<(String, i64, String, String)> {
    sqlx::query_as(
        "SELECT 'facility', id, xmin::text, updated_at::text FROM facilities WHERE organization_id = $1 \
         UNION ALL SELECT 'user', id, xmin::text, updated_at::text FROM users WHERE organization_id = $1 \
         UNION ALL SELECT 'patient', id, xmin::text, updated_at::text FROM patients WHERE organization_id = $1 \
         UNION ALL SELECT 'badge', id, xmin::text, created_at::text FROM badges WHERE organization_id = $1 \
         ORDER BY 1, 2",
    )
    .bind(org)
    .fetch_all(owner)
    .await
    .unwrap()
}

async fn count(owner: &PgPool, sql: &str, org: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(org)
        .fetch_one(owner)
        .await
        .unwrap()
}

#[tokio::test]
async fn import_twice_changes_nothing_the_second_time() {
    let (owner, _, _) = fresh_database().await;
    let org = org(&owner).await;
    let dir = Dir::new();
    let files = Files {
        facilities: Some(dir.file("facilities.csv", FACILITIES)),
        staff: Some(dir.file("staff.csv", &staff_csv())),
        residents: Some(dir.file("residents.csv", RESIDENTS)),
    };

    // A dry run reports what would happen and writes nothing.
    let rehearsed = done(import(&owner, org, &files, true).await);
    assert_eq!(
        rehearsed,
        vec![counts(2, 0, 0, 0), counts(3, 0, 0, 2), counts(3, 0, 0, 0)]
    );
    assert!(snapshot(&owner, org).await.is_empty());

    let first = done(import(&owner, org, &files, false).await);
    assert_eq!(first, rehearsed);
    assert_eq!(
        count(&owner, "SELECT count(*) FROM audit_events WHERE organization_id = $1 AND action LIKE 'import.%'", org).await,
        3
    );
    let before = snapshot(&owner, org).await;
    assert_eq!(before.len(), 2 + 3 + 3 + 2);

    let second = done(import(&owner, org, &files, false).await);
    assert_eq!(
        second,
        vec![counts(0, 0, 2, 0), counts(0, 0, 3, 0), counts(0, 0, 3, 0)]
    );
    assert_eq!(snapshot(&owner, org).await, before, "no row was rewritten");

    // What was stored: names joined, no password, the room, the admission in the facility's zone.
    let (full_name, email, password): (String, Option<String>, String) = sqlx::query_as(
        "SELECT full_name, email, password_hash FROM users WHERE organization_id = $1 AND employee_id = 'E101'",
    )
    .bind(org)
    .fetch_one(&owner)
    .await
    .unwrap();
    assert_eq!(full_name, "Grace Hopper");
    assert_eq!(email, None);
    assert!(!password.starts_with("$argon2"));
    let (first_name, admitted): (String, String) = sqlx::query_as(
        "SELECT p.first_name, (p.admitted_at AT TIME ZONE 'America/Chicago')::text FROM patients p \
         WHERE p.organization_id = $1 AND p.mrn = 'M-1'",
    )
    .bind(org)
    .fetch_one(&owner)
    .await
    .unwrap();
    assert_eq!(first_name, "Edith");
    assert_eq!(admitted, "2024-01-15 00:00:00");
    let reasons: Vec<String> = sqlx::query_scalar(
        "SELECT reason FROM audit_events WHERE organization_id = $1 AND action = 'import.staff' ORDER BY id",
    )
    .bind(org)
    .fetch_all(&owner)
    .await
    .unwrap();
    assert_eq!(
        reasons,
        vec![
            "tend-api import: 3 created, 0 updated, 0 unchanged, 2 badges added",
            "tend-api import: 0 created, 0 updated, 3 unchanged, 0 badges added"
        ]
    );

    // A resident who moved rooms is updated, and only that resident.
    let moved = RESIDENTS.replace(",101,active,", ",117,active,");
    let files = Files {
        residents: Some(dir.file("residents.csv", &moved)),
        ..Files::default()
    };
    assert_eq!(
        done(import(&owner, org, &files, false).await),
        vec![counts(0, 1, 2, 0)]
    );
    let (room, version): (String, i32) = sqlx::query_as(
        "SELECT room, version FROM patients WHERE organization_id = $1 AND mrn = 'M-1'",
    )
    .bind(org)
    .fetch_one(&owner)
    .await
    .unwrap();
    assert_eq!((room.as_str(), version), ("117", 2));
}

#[tokio::test]
async fn a_staff_file_with_three_bad_lines_names_them_and_writes_nothing() {
    let (owner, _, _) = fresh_database().await;
    let org = org(&owner).await;
    insert_facility(&owner, org, "Maple House", Some(40)).await;
    let dir = Dir::new();
    let staff = dir.file(
        "staff.csv",
        "\
facility,role,employee_id,username,first_name,last_name,email
Maple House,RN,E1,maple.a,Ada,Lovelace,ada@example.org
Maple House,NURSE,E2,maple.b,Bea,Smith,bea@example.org
Maple House,CNA,E3,maple.c,Cy,Jones,not-an-email
Maple House,LPN,E4,maple.d,Di,Brown,di@example.org
Maple House,CNA,E1,maple.e,Ed,Green,ed@example.org
",
    );
    let files = Files {
        staff: Some(staff.clone()),
        ..Files::default()
    };
    let file = staff.display().to_string();
    let expected = [
        format!("{file}:3:role:"),
        format!("{file}:4:email:"),
        format!("{file}:6:employee_id:"),
    ];
    for dry_run in [true, false] {
        let found = problems(import(&owner, org, &files, dry_run).await);
        assert_eq!(found.len(), 3, "{found:#?}");
        for (problem, prefix) in found.iter().zip(&expected) {
            assert!(
                problem.starts_with(prefix),
                "{problem} should start {prefix}"
            );
        }
        assert!(found[2].contains("line 2"), "{}", found[2]);
        assert_eq!(
            count(
                &owner,
                "SELECT count(*) FROM users WHERE organization_id = $1",
                org
            )
            .await,
            0
        );
    }

    // The binary: problems on stderr, exit status 1; the dry run the same.
    for dry_run in [true, false] {
        let mut cmd = bin(&owner).await;
        cmd.args(["import", "--organization", &org.to_string(), "--staff"])
            .arg(&staff);
        if dry_run {
            cmd.arg("--dry-run");
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        for prefix in &expected {
            assert!(stderr.contains(prefix.as_str()), "{stderr}");
        }
    }
    assert_eq!(
        count(
            &owner,
            "SELECT count(*) FROM users WHERE organization_id = $1",
            org
        )
        .await,
        0
    );
}

/// The binary with the owner URL of `owner`'s database.
async fn bin(owner: &PgPool) -> Command {
    let db: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(owner)
        .await
        .unwrap();
    let url = crate::helpers::with_database(&crate::helpers::admin_url(), &db);
    let mut c = Command::new(env!("CARGO_BIN_EXE_tend-api"));
    c.env_remove("TEND_DATABASE_URL")
        .env("TEND_MIGRATE_DATABASE_URL", url)
        .env("TEND_LOG", "warn");
    c
}

#[tokio::test]
async fn the_binary_prints_a_summary_per_file() {
    let (owner, _, _) = fresh_database().await;
    let org = org(&owner).await;
    let dir = Dir::new();
    let facilities = dir.file("facilities.csv", FACILITIES);
    let residents = dir.file("residents.csv", RESIDENTS);
    let run = |cmd: &mut Command| {
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut cmd = bin(&owner).await;
    cmd.args(["import", "--organization", &org.to_string()])
        .arg("--facilities")
        .arg(&facilities)
        .arg("--residents")
        .arg(&residents);
    let out = run(&mut cmd);
    assert!(
        out.contains("facilities (") && out.contains("2 created, 0 updated, 0 unchanged"),
        "{out}"
    );
    assert!(out.contains("3 created, 0 updated, 0 unchanged"), "{out}");
    let out = run(&mut cmd);
    assert!(out.contains("0 created, 0 updated, 2 unchanged"), "{out}");
    assert!(out.contains("0 created, 0 updated, 3 unchanged"), "{out}");
}

#[tokio::test]
async fn an_imported_badge_signs_in_and_its_value_is_nowhere() {
    let app = spawn_app().await;
    let owner = &app.owner;
    let org = org(owner).await;
    let dir = Dir::new();
    let files = Files {
        facilities: Some(dir.file("facilities.csv", FACILITIES)),
        staff: Some(dir.file("staff.csv", &staff_csv())),
        ..Files::default()
    };
    done(import(owner, org, &files, false).await);

    // The stored hash is the one badge login computes with the organization's key.
    let key: Vec<u8> = sqlx::query_scalar(
        "SELECT badge_key FROM organization_badge_keys WHERE organization_id = $1",
    )
    .bind(org)
    .fetch_one(owner)
    .await
    .unwrap();
    let hash = tend_badge::BadgeUid::parse(BADGE).unwrap().keyed_hash(&key);
    let (user, facility): (i64, i64) = sqlx::query_as(
        "SELECT u.id, u.facility_id FROM badges b JOIN users u ON u.id = b.user_id \
         WHERE b.organization_id = $1 AND b.badge_hash = $2 AND b.revoked_at IS NULL",
    )
    .bind(org)
    .bind(hash.as_bytes().as_slice())
    .fetch_one(owner)
    .await
    .unwrap();
    let employee: String = sqlx::query_scalar("SELECT employee_id FROM users WHERE id = $1")
        .bind(user)
        .fetch_one(owner)
        .await
        .unwrap();
    assert_eq!(employee, "E100");

    // A badge login at a device of the facility, once the user has a PIN.
    const PIN: &str = "73946281";
    sqlx::query("UPDATE users SET pin_hash = $2, pin_set_at = now() WHERE id = $1")
        .bind(user)
        .bind(tend_api::auth::hash_password(PIN).unwrap())
        .execute(owner)
        .await
        .unwrap();
    let device = insert_device(owner, org, facility).await;
    let device_token = device_token_for(owner, device).await;
    let r = app
        .call(
            Method::POST,
            "/api/auth/badge-login",
            Some(&device_token),
            Some(serde_json::json!({"badge_uid": BADGE.to_ascii_lowercase(), "pin": PIN})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");

    // The value is in no column of any table.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(owner)
    .await
    .unwrap();
    for table in tables {
        let found: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM \"{table}\" t WHERE row_to_json(t)::text ILIKE '%' || $1 || '%'"
        ))
        .bind(BADGE)
        .fetch_one(owner)
        .await
        .unwrap();
        assert_eq!(found, 0, "the badge value is in {table}");
    }
}

#[tokio::test]
async fn another_organizations_facility_and_unknown_columns_are_refused() {
    let (owner, _, _) = fresh_database().await;
    let org = org(&owner).await;
    let other = insert_org(&owner, "Someone Else", false).await;
    insert_facility(&owner, org, "Maple House", Some(40)).await;
    insert_facility(&owner, other, "Their House", Some(40)).await;
    let dir = Dir::new();
    let residents = dir.file(
        "residents.csv",
        "\
facility,mrn,first_name,last_name,date_of_birth,status
Maple House,M-1,Edith,Clarke,1931-04-02,active
Their House,T-1,Mae,Jemison,1935-10-17,active
",
    );
    let file = residents.display().to_string();
    let found = problems(
        import(
            &owner,
            org,
            &Files {
                residents: Some(residents),
                ..Files::default()
            },
            false,
        )
        .await,
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with(&format!("{file}:3:facility:")),
        "{}",
        found[0]
    );

    let staff = dir.file(
        "staff.csv",
        "facility,role,employee_id,username,first_name,last_name,email,shoe_size\n\
         Maple House,RN,E1,maple.a,Ada,Lovelace,,44\n",
    );
    let file = staff.display().to_string();
    let found = problems(
        import(
            &owner,
            org,
            &Files {
                staff: Some(staff),
                ..Files::default()
            },
            false,
        )
        .await,
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with(&format!("{file}:1:shoe_size: unknown column")),
        "{}",
        found[0]
    );

    // A missing required column is named too.
    let staff = dir.file(
        "staff2.csv",
        "facility,role,employee_id\nMaple House,RN,E1\n",
    );
    let found = problems(
        import(
            &owner,
            org,
            &Files {
                staff: Some(staff),
                ..Files::default()
            },
            false,
        )
        .await,
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains(":1:username: required column is missing")),
        "{found:#?}"
    );
    assert_eq!(
        count(
            &owner,
            "SELECT count(*) FROM patients WHERE organization_id = $1",
            org
        )
        .await,
        0
    );
    assert!(matches!(
        tend_api::import::run(&owner, 999_999, &Files::default(), true).await,
        Err(e) if e.to_string().contains("no organization 999999")
    ));
}

#[tokio::test]
async fn a_discharge_date_is_checked_against_the_status_and_stored_in_the_facilitys_zone() {
    let (owner, _, _) = fresh_database().await;
    let org = org(&owner).await;
    let dir = Dir::new();
    let facilities = Files {
        facilities: Some(dir.file("facilities.csv", FACILITIES)),
        ..Files::default()
    };
    done(import(&owner, org, &facilities, false).await);

    let bad = dir.file(
        "bad.csv",
        "\
facility,mrn,first_name,last_name,date_of_birth,status,admission_date,discharge_date
Maple House,D-3,Cy,Ode,1930-01-01,discharged,2024-01-15,
Maple House,D-4,Di,Ode,1930-01-01,active,2024-01-15,2024-02-01
Maple House,D-5,Ed,Ode,1930-01-01,deceased,2024-01-15,2023-12-31
Maple House,D-6,Fa,Ode,1930-01-01,discharged,,2999-01-01
Maple House,D-7,Gi,Ode,1930-01-01,discharged,,01/02/2024
",
    );
    let file = bad.display().to_string();
    let found = problems(
        import(
            &owner,
            org,
            &Files {
                residents: Some(bad),
                ..Files::default()
            },
            true,
        )
        .await,
    );
    let at: Vec<String> = found
        .iter()
        .map(|p| p.strip_prefix(&format!("{file}:")).unwrap().to_owned())
        .collect();
    assert_eq!(
        at,
        vec![
            "2:discharge_date: required when the status is discharged or deceased",
            "3:discharge_date: only discharged or deceased patients have a discharge time",
            "4:discharge_date: must not be before admission_date",
            "5:discharge_date: must not be in the future",
            "6:discharge_date: must be a date written YYYY-MM-DD",
        ]
    );

    let residents = "\
facility,mrn,first_name,last_name,date_of_birth,status,admission_date,discharge_date
Maple House,D-1,Ann,Lee,1930-01-01,discharged,2024-01-15,2024-03-01
Maple House,D-2,Bo,Ray,1931-01-01,active,2024-01-15,
";
    let files = Files {
        residents: Some(dir.file("residents.csv", residents)),
        ..Files::default()
    };
    assert_eq!(
        done(import(&owner, org, &files, false).await),
        vec![counts(2, 0, 0, 0)]
    );
    let discharged = || async {
        sqlx::query_as::<_, (String, Option<String>)>(
            "SELECT mrn, (discharged_at AT TIME ZONE 'America/Chicago')::text FROM patients \
             WHERE organization_id = $1 ORDER BY mrn",
        )
        .bind(org)
        .fetch_all(&owner)
        .await
        .unwrap()
    };
    let stored = vec![
        ("D-1".to_owned(), Some("2024-03-01 00:00:00".to_owned())),
        ("D-2".to_owned(), None),
    ];
    assert_eq!(discharged().await, stored);
    let before = snapshot(&owner, org).await;
    assert_eq!(
        done(import(&owner, org, &files, false).await),
        vec![counts(0, 0, 2, 0)]
    );
    assert_eq!(snapshot(&owner, org).await, before);

    // Without the column, the stored discharge time stays.
    let without = dir.file(
        "without.csv",
        "facility,mrn,first_name,last_name,date_of_birth,status\n\
         Maple House,D-1,Ann,Lee,1930-01-01,discharged\n",
    );
    let files = Files {
        residents: Some(without),
        ..Files::default()
    };
    assert_eq!(
        done(import(&owner, org, &files, false).await),
        vec![counts(0, 0, 1, 0)]
    );
    assert_eq!(discharged().await, stored);

    // A corrected discharge date is an update.
    let moved = residents.replace("2024-03-01", "2024-03-02");
    let files = Files {
        residents: Some(dir.file("residents.csv", &moved)),
        ..Files::default()
    };
    assert_eq!(
        done(import(&owner, org, &files, false).await),
        vec![counts(0, 1, 1, 0)]
    );
}

/// Every row of a legacy database's tables with its xmin (a write would change it).
async fn legacy_rows(legacy: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT xmin::text, row_to_json(u)::text FROM users u \
         UNION ALL SELECT xmin::text, row_to_json(p)::text FROM patients p ORDER BY 2",
    )
    .fetch_all(legacy)
    .await
    .unwrap()
}

/// A pre-multi-tenant database as the design's migration path finds it:
/// `users` and `patients` with a nullable `facility_id`.
async fn legacy_database(maple: i64) -> (PgPool, String) {
    let (_, url) = crate::helpers::create_database().await;
    let legacy = PgPool::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE users (id serial PRIMARY KEY, username varchar(80) NOT NULL, email text, \
             full_name text NOT NULL, role text NOT NULL, employee_id text, password_hash text, \
             facility_id integer); \
         CREATE TABLE patients (id serial PRIMARY KEY, mrn text NOT NULL, first_name text, last_name text, \
             date_of_birth date, room text, status text, admission_date timestamp, location text, \
             facility_id integer);",
    )
    .execute(&legacy)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO users (username, email, full_name, role, employee_id, password_hash, facility_id) VALUES \
         ('legacy.rn', 'rn@example.org', 'Florence Nightingale', 'RN', 'L-1', 'md5-whatever', NULL), \
         ('legacy.cna', NULL, 'Mary Seacole', 'cna', 'L-2', NULL, $1), \
         ('legacy.admin', 'admin@example.org', 'Clara Barton', 'FACILITY_ADMIN', 'L-3', NULL, 999999)",
    )
    .bind(i32::try_from(maple).unwrap())
    .execute(&legacy)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO patients (mrn, first_name, last_name, date_of_birth, room, status, admission_date, location, \
             facility_id) VALUES \
         ('P-1', 'Ada', 'Byron', '1931-04-02', '12', 'active', '2024-01-15 08:30', 'main', NULL), \
         ('P-2', 'Bea', 'Cole', '1932-05-03', NULL, 'on_leave', NULL, 'main', $1), \
         ('P-3', 'Cy', 'Dunn', '1933-06-04', '14', 'discharged', '2020-01-01', 'annex', 424242)",
    )
    .bind(i32::try_from(maple).unwrap())
    .execute(&legacy)
    .await
    .unwrap();
    (legacy, url)
}

#[tokio::test]
async fn a_legacy_database_without_facilities_gets_one_default_facility_and_a_rerun_changes_nothing(
) {
    use tend_api::import::legacy::{run_legacy, DefaultFacility};
    let (owner, _, _) = fresh_database().await;
    let org = org(&owner).await;
    let maple = insert_facility(&owner, org, "Maple House", Some(40)).await;
    sqlx::query("UPDATE facilities SET timezone = 'America/Chicago' WHERE id = $1")
        .bind(maple)
        .execute(&owner)
        .await
        .unwrap();
    let (legacy, legacy_url) = legacy_database(maple).await;
    let untouched = legacy_rows(&legacy).await;
    let default = DefaultFacility::default();
    let facilities = || async {
        count(
            &owner,
            "SELECT count(*) FROM facilities WHERE organization_id = $1",
            org,
        )
        .await
    };

    let rehearsed = run_legacy(&owner, org, &legacy, &default, true)
        .await
        .unwrap();
    assert_eq!(
        done(rehearsed),
        vec![counts(1, 0, 0, 0), counts(3, 0, 0, 0), counts(3, 0, 0, 0)]
    );
    assert_eq!(facilities().await, 1, "a dry run creates nothing");

    let first = run_legacy(&owner, org, &legacy, &default, false)
        .await
        .unwrap();
    assert_eq!(
        done(first),
        vec![counts(1, 0, 0, 0), counts(3, 0, 0, 0), counts(3, 0, 0, 0)]
    );
    let (main, facility_type, timezone): (i64, String, String) = sqlx::query_as(
        "SELECT id, facility_type, timezone FROM facilities WHERE organization_id = $1 \
         AND name = 'Main Campus' AND settings->>'default_facility' = 'true'",
    )
    .bind(org)
    .fetch_one(&owner)
    .await
    .unwrap();
    assert_eq!(
        facility_type, "SNF",
        "the type of the organization's first facility"
    );
    assert_eq!(timezone, "America/Chicago", "and its time zone");
    let placed: Vec<(String, i64)> = sqlx::query_as(
        "SELECT employee_id, facility_id FROM users WHERE organization_id = $1 \
         UNION ALL SELECT mrn, facility_id FROM patients WHERE organization_id = $1 ORDER BY 1",
    )
    .bind(org)
    .fetch_all(&owner)
    .await
    .unwrap();
    assert_eq!(
        placed,
        vec![
            ("L-1".to_owned(), main),
            ("L-2".to_owned(), maple),
            ("L-3".to_owned(), main),
            ("P-1".to_owned(), main),
            ("P-2".to_owned(), maple),
            ("P-3".to_owned(), main),
        ]
    );
    let (full_name, role, password): (String, String, String) = sqlx::query_as(
        "SELECT full_name, role, password_hash FROM users WHERE organization_id = $1 AND employee_id = 'L-2'",
    )
    .bind(org)
    .fetch_one(&owner)
    .await
    .unwrap();
    assert_eq!((full_name.as_str(), role.as_str()), ("Mary Seacole", "CNA"));
    assert_eq!(password, tend_api::import::NO_PASSWORD);
    let before = snapshot(&owner, org).await;

    // Again, through the binary (the URL from the environment): nothing changes.
    let mut cmd = bin(&owner).await;
    cmd.env("TEND_LEGACY_DATABASE_URL", &legacy_url).args([
        "import",
        "--organization",
        &org.to_string(),
    ]);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("staff (legacy users): 0 created, 0 updated, 3 unchanged"),
        "{stdout}"
    );
    assert!(
        stdout.contains("residents (legacy patients): 0 created, 0 updated, 3 unchanged"),
        "{stdout}"
    );
    assert!(!stdout.contains("default facility"), "{stdout}");
    assert_eq!(
        facilities().await,
        2,
        "the default facility was created once"
    );
    assert_eq!(snapshot(&owner, org).await, before, "no row was rewritten");
    assert_eq!(
        count(
            &owner,
            "SELECT count(*) FROM audit_events WHERE organization_id = $1 AND action = 'import.facilities'",
            org
        )
        .await,
        1
    );
    assert_eq!(
        legacy_rows(&legacy).await,
        untouched,
        "the legacy database is unchanged"
    );
}

#[tokio::test]
async fn a_legacy_row_tend_cannot_take_is_named_by_its_id_and_nothing_is_written() {
    use tend_api::import::legacy::{run_legacy, DefaultFacility};
    let (owner, _, _) = fresh_database().await;
    let org = org(&owner).await;
    let (legacy, _) = legacy_database(1).await;
    sqlx::query("UPDATE users SET role = 'JANITOR' WHERE employee_id = 'L-2'")
        .execute(&legacy)
        .await
        .unwrap();
    sqlx::query("UPDATE users SET employee_id = NULL WHERE employee_id = 'L-3'")
        .execute(&legacy)
        .await
        .unwrap();

    // No facility yet, so no type to take for the default one.
    let found = problems(
        run_legacy(&owner, org, &legacy, &DefaultFacility::default(), true)
            .await
            .unwrap(),
    );
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found[0].starts_with("default facility:0:facility_type:"),
        "{found:#?}"
    );
    assert!(found[1].starts_with("legacy users:2:role:"), "{found:#?}");
    assert!(
        found[2].starts_with("legacy users:3:employee_id:"),
        "{found:#?}"
    );

    let typed = DefaultFacility {
        facility_type: Some(tend_domain::FacilityType::Alf),
        ..DefaultFacility::default()
    };
    let found = problems(
        run_legacy(&owner, org, &legacy, &typed, false)
            .await
            .unwrap(),
    );
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(
        count(
            &owner,
            "SELECT count(*) FROM facilities WHERE organization_id = $1",
            org
        )
        .await,
        0
    );
}
