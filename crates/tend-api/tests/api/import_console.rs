//! `POST /api/organizations/{id}/import`: the admin console's upload runs
//! the command line's import as the administrator, in the organization's
//! row-level-security scope, and answers counts or every problem.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tend_domain::Role;

use crate::helpers::{spawn_app, world, TestApp};
use crate::import::{staff_csv, FACILITIES, RESIDENTS};

fn files() -> Value {
    json!({
        "facilities": {"name": "facilities.csv", "csv": FACILITIES},
        "staff": {"name": "Staff 2026.csv", "csv": staff_csv()},
        "residents": {"name": "residents.csv", "csv": RESIDENTS},
    })
}

fn counts(report: &Value) -> Vec<(String, u64, u64, u64)> {
    report["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["created"].as_u64().unwrap(),
                f["updated"].as_u64().unwrap(),
                f["unchanged"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn rows(app: &TestApp, org: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM facilities WHERE organization_id = $1) \
              + (SELECT count(*) FROM users WHERE organization_id = $1) \
              + (SELECT count(*) FROM patients WHERE organization_id = $1)",
    )
    .bind(org)
    .fetch_one(&app.owner)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_org_admin_checks_then_imports_and_a_second_upload_changes_nothing() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let org = w.a1.org;
    let admin = w.token(Role::OrgAdmin);
    let path = format!("/api/organizations/{org}/import");
    let before = rows(&app, org).await;

    let r = app
        .post(&format!("{path}?dry_run=true"), admin, files())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["dry_run"], true);
    assert_eq!(r.body["problems"], json!([]));
    let expected = vec![
        ("facilities.csv".to_owned(), 2, 0, 0),
        ("Staff 2026.csv".to_owned(), 3, 0, 0),
        ("residents.csv".to_owned(), 3, 0, 0),
    ];
    assert_eq!(counts(&r.body), expected);
    assert_eq!(r.body["files"][1]["badges_added"], 2);
    assert_eq!(rows(&app, org).await, before, "a dry run writes nothing");

    let r = app.post(&path, admin, files()).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["dry_run"], false);
    assert_eq!(counts(&r.body), expected);
    assert_eq!(rows(&app, org).await, before + 8);

    // Audited in the administrator's name, counts only.
    let audited: Vec<(String, Option<i64>, String)> = sqlx::query_as(
        "SELECT action, actor_user_id, reason FROM audit_events \
         WHERE organization_id = $1 AND action LIKE 'import.%' ORDER BY id",
    )
    .bind(org)
    .fetch_all(&app.owner)
    .await
    .unwrap();
    assert_eq!(audited.len(), 3, "{audited:?}");
    assert!(audited
        .iter()
        .all(|(_, actor, _)| *actor == Some(w.user(Role::OrgAdmin))));
    assert_eq!(
        audited[1].2,
        "admin console import: 3 created, 0 updated, 0 unchanged, 2 badges added"
    );

    let r = app.post(&path, admin, files()).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        counts(&r.body),
        vec![
            ("facilities.csv".to_owned(), 0, 0, 2),
            ("Staff 2026.csv".to_owned(), 0, 0, 3),
            ("residents.csv".to_owned(), 0, 0, 3),
        ]
    );
    assert_eq!(rows(&app, org).await, before + 8);

    // No cell of the files is in any column of any table.
    for secret in [crate::import::BADGE, "Jemison", "Edith"] {
        let found: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM audit_events t WHERE row_to_json(t)::text ILIKE '%' || $1 || '%'",
        )
        .bind(secret)
        .fetch_one(&app.owner)
        .await
        .unwrap();
        assert_eq!(found, 0, "{secret} is in the audit log");
    }
}

#[tokio::test]
async fn problems_are_listed_by_file_line_and_column_and_nothing_is_written() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let org = w.a1.org;
    let admin = w.token(Role::OrgAdmin);
    let path = format!("/api/organizations/{org}/import");
    let before = rows(&app, org).await;
    let staff = "\
facility,role,employee_id,username,first_name,last_name,email
A1,RN,E1,a1.ada,Ada,Lovelace,ada@example.org
A1,NURSE,E2,a1.bea,Bea,Smith,bea@example.org
A1,CNA,E3,a1.cy,Cy,Jones,not-an-email
";
    // A username held in another organization, which the scope cannot see.
    let taken: String =
        sqlx::query_scalar("SELECT username FROM users WHERE organization_id = $1 LIMIT 1")
            .bind(w.b1.org)
            .fetch_one(&app.owner)
            .await
            .unwrap();
    let residents =
        "facility,mrn,first_name,last_name,date_of_birth,status\nA1,M-9,Ida,Wells,2199-01-01,active\n";
    let body = json!({
        "facilities": {"name": "facilities.csv", "csv": FACILITIES},
        "staff": {"name": "staff.csv", "csv": format!("{staff}A1,LPN,E4,{taken},Di,Brown,\n")},
        "residents": {"name": "residents.csv", "csv": residents},
    });
    let expected = json!([
        {"file": "staff.csv", "line": 3, "column": "role"},
        {"file": "staff.csv", "line": 4, "column": "email"},
        {"file": "staff.csv", "line": 5, "column": "username"},
        {"file": "residents.csv", "line": 2, "column": "date_of_birth"},
    ]);
    let shape = |problems: &Value| -> Value {
        Value::Array(
            problems
                .as_array()
                .expect("problems")
                .iter()
                .map(|p| {
                    assert!(!p["message"].as_str().unwrap().is_empty());
                    json!({"file": p["file"], "line": p["line"], "column": p["column"]})
                })
                .collect(),
        )
    };

    let r = app
        .post(&format!("{path}?dry_run=true"), admin, body.clone())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(shape(&r.body["problems"]), expected, "{r:?}");
    assert_eq!(r.body["files"], json!([]));

    let r = app
        .post(&format!("{path}?dry_run=false"), admin, body)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert_eq!(r.code(), "VALIDATION_FAILED");
    assert_eq!(shape(&r.body["error"]["import_problems"]), expected);
    assert_eq!(rows(&app, org).await, before, "nothing was written");

    // No file at all, or a nameless one, is refused before anything is read.
    let r = app.post(&path, admin, json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    let r = app
        .post(&path, admin, json!({"staff": {"name": " ", "csv": staff}}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.body["error"]["fields"]["staff.name"].is_array(), "{r:?}");
}

#[tokio::test]
async fn only_organization_and_platform_admins_import_and_only_into_their_scope() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let one_resident = json!({"residents": {"name": "r.csv", "csv":
        "facility,mrn,first_name,last_name,date_of_birth,status\nB1,Q-1,Ida,Wells,1932-07-16,active\n"}});
    let org_a = format!("/api/organizations/{}/import?dry_run=true", w.a1.org);
    let org_b = format!("/api/organizations/{}/import", w.b1.org);

    for role in [Role::FacilityAdmin, Role::Rn, Role::Cna] {
        let r = app.post(&org_a, w.token(role), one_resident.clone()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role:?}: {r:?}");
        let r = app.post(&org_b, w.token(role), one_resident.clone()).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{role:?}: {r:?}");
    }
    let r = app
        .post(&org_b, w.token(Role::OrgAdmin), one_resident.clone())
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    let r = app
        .post(
            "/api/organizations/999999/import",
            w.token(Role::PlatformAdmin),
            one_resident.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");

    // A platform admin names any care organization, not the platform's own.
    let r = app
        .post(&org_b, w.token(Role::PlatformAdmin), one_resident.clone())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["files"][0]["created"], 1);
    let actor: Option<i64> = sqlx::query_scalar(
        "SELECT actor_user_id FROM audit_events WHERE organization_id = $1 AND action = 'import.residents'",
    )
    .bind(w.b1.org)
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(actor, Some(w.user(Role::PlatformAdmin)));
    let platform: i64 =
        sqlx::query_scalar("SELECT id FROM organizations WHERE settings->>'platform' = 'true'")
            .fetch_one(&app.owner)
            .await
            .unwrap();
    let r = app
        .post(
            &format!("/api/organizations/{platform}/import"),
            w.token(Role::PlatformAdmin),
            one_resident,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
}

#[tokio::test]
async fn the_upload_takes_files_larger_than_other_requests() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut residents = String::from("facility,mrn,first_name,last_name,date_of_birth,status\n");
    for i in 0..3000 {
        residents.push_str(&format!(
            "A1,BULK-{i:05},Resident,Number {i},1940-01-01,active\n"
        ));
    }
    assert!(residents.len() > tend_api::BODY_LIMIT);
    let r = app
        .post(
            &format!("/api/organizations/{}/import?dry_run=true", w.a1.org),
            w.token(Role::OrgAdmin),
            json!({"residents": {"name": "residents.csv", "csv": residents}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["files"][0]["created"], 3000);
    // Other routes keep the small limit.
    let r = app
        .raw(
            reqwest::Method::POST,
            "/api/patients",
            w.token(Role::OrgAdmin),
            "application/json",
            vec![b' '; tend_api::BODY_LIMIT + 1],
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{r:?}");
}

/// The console's client (tend-core): a check, problems as a report, then the import.
#[tokio::test]
async fn the_consoles_client_checks_reports_problems_and_imports() {
    use tend_core::admin::AdminConsole;
    use tend_domain::wire::{ImportFile, ImportRequest, Secret};

    let app = spawn_app().await;
    let w = world(&app).await;
    let (_, username) =
        crate::helpers::insert_user(&app.owner, w.a1.org, w.a1.facility, Role::OrgAdmin).await;
    let console = AdminConsole::new("test");
    console
        .sign_in(
            Some(&app.base),
            &username,
            &Secret::new(crate::helpers::PASSWORD),
        )
        .await
        .unwrap();
    let file = |csv: &str| ImportFile {
        name: "residents.csv".to_owned(),
        csv: csv.to_owned(),
    };
    let good = ImportRequest {
        residents: Some(file(
            "facility,mrn,first_name,last_name,date_of_birth,status\nA1,C-1,Ida,Wells,1932-07-16,active\n",
        )),
        ..ImportRequest::default()
    };
    let bad = ImportRequest {
        residents: Some(file(
            "facility,mrn,first_name,last_name,date_of_birth,status\nA1,C-2,Ida,Wells,16/07/1932,active\n",
        )),
        ..ImportRequest::default()
    };
    let org = w.a1.org;
    let run = |files: ImportRequest, dry_run: bool| {
        let console = &console;
        async move {
            console
                .with_session(|s| async move { s.import_csv(org, &files, dry_run).await })
                .await
        }
    };

    let checked = run(good.clone(), true).await.unwrap();
    assert!(checked.dry_run && checked.problems.is_empty());
    assert_eq!(checked.files[0].created, 1);
    // A real run with problems is a report too (the API's 422), nothing written.
    for dry_run in [true, false] {
        let report = run(bad.clone(), dry_run).await.unwrap();
        assert_eq!(report.problems.len(), 1, "{report:?}");
        assert_eq!(
            (report.problems[0].line, report.problems[0].column.as_str()),
            (2, "date_of_birth")
        );
        assert!(report.files.is_empty());
    }
    let imported = run(good.clone(), false).await.unwrap();
    assert!(!imported.dry_run);
    assert_eq!(imported.files[0].created, 1);
    let again = run(good, false).await.unwrap();
    assert_eq!(again.files[0].unchanged, 1);
    // Nothing to send is refused before the server is asked.
    let err = run(ImportRequest::default(), true).await.unwrap_err();
    assert_eq!(err.code(), tend_domain::ErrorCode::ValidationFailed);
    // Another organization is not there for an organization admin.
    let err = console
        .with_session(|s| async move {
            s.import_csv(
                w.b1.org,
                &ImportRequest {
                    residents: Some(file("x")),
                    ..ImportRequest::default()
                },
                true,
            )
            .await
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tend_domain::ErrorCode::NotFound);
}
