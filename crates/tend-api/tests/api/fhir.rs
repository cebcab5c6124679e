//! The FHIR R4 API against the real server: what an integrator's client
//! sees (content type, Bundles and paging, OperationOutcome), the isolation
//! matrix through FHIR, LOINC-coded vitals, auditing of resident data, bulk
//! `$export`, and every resource Tend serves validated with maintained FHIR
//! validators from npm (`scripts/fhir-validate`: the R4 JSON schema and
//! Medplum's StructureDefinition validator with the vital-signs profiles).

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tend_domain::Role;

use crate::helpers::{insert_patient, insert_user, spawn_app, world, Site, TestApp};

struct Fhir {
    status: StatusCode,
    content_type: String,
    location: Option<String>,
    body: Value,
    text: String,
}

async fn fhir(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> Fhir {
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        format!("{}{path}", app.base)
    };
    let mut req = app.client.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type").unwrap_or_default();
    let location = header("content-location");
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Fhir {
        status,
        content_type,
        location,
        body,
        text,
    }
}

async fn get(app: &TestApp, path: &str, token: &str) -> Fhir {
    fhir(app, Method::GET, path, Some(token), &[]).await
}

/// A clinical record written as a device would have (owner connection).
async fn insert_record(
    owner: &PgPool,
    site: &Site,
    author: i64,
    body: Value,
    amends: Option<uuid::Uuid>,
) -> uuid::Uuid {
    let id = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO clinical_records (id, organization_id, facility_id, patient_id, author_user_id, device_id, \
         kind, body, recorded_at, occurred_at, received_at, amends) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), now(), now(), $9)",
    )
    .bind(id)
    .bind(site.org)
    .bind(site.facility)
    .bind(site.patient)
    .bind(author)
    .bind(site.device)
    .bind(body["kind"].as_str().unwrap())
    .bind(&body)
    .bind(amends)
    .execute(owner)
    .await
    .unwrap();
    id
}

/// One of each clinical kind for a site's resident: vitals, a PRN dose with
/// its effectiveness, an exit-door alert closed by "found".
async fn chart(owner: &PgPool, site: &Site) -> (uuid::Uuid, uuid::Uuid, uuid::Uuid) {
    let vitals = insert_record(
        owner,
        site,
        site.staff,
        json!({"kind": "vital_signs", "temperature_c": 37.4, "pulse_bpm": 88, "respiration_rate": 18,
               "systolic_mmhg": 132, "diastolic_mmhg": 84, "spo2_percent": 95, "pain_score": 4,
               "blood_glucose_mg_dl": 142}),
        None,
    )
    .await;
    let dose = insert_record(
        owner,
        site,
        site.staff,
        json!({"kind": "prn_administration", "medication": "Acetaminophen", "dose": "500 mg",
               "route": "oral", "reason": "Knee pain", "follow_up_minutes": 60}),
        None,
    )
    .await;
    insert_record(
        owner,
        site,
        site.staff,
        json!({"kind": "prn_follow_up", "effectiveness": "effective", "note": "Resting"}),
        Some(dose),
    )
    .await;
    let alert = insert_record(
        owner,
        site,
        site.staff,
        json!({"kind": "wandering_alert", "alert": "exit_door", "location": "East exit"}),
        None,
    )
    .await;
    insert_record(
        owner,
        site,
        site.staff,
        json!({"kind": "wandering_alert", "alert": "found", "location": "Garden"}),
        Some(alert),
    )
    .await;
    (vitals, dose, alert)
}

fn entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"]
        .as_array()
        .map(|e| e.iter().map(|x| x["resource"].clone()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_capability_statement_names_what_is_served() {
    let app = spawn_app().await;
    let r = fhir(&app, Method::GET, "/fhir/R4/metadata", None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.content_type.starts_with("application/fhir+json"),
        "{}",
        r.content_type
    );
    assert_eq!(r.body["resourceType"], "CapabilityStatement");
    assert_eq!(r.body["fhirVersion"], "4.0.1");
    let resources = r.body["rest"][0]["resource"].as_array().unwrap();
    let patient = resources.iter().find(|x| x["type"] == "Patient").unwrap();
    let names: Vec<&str> = patient["searchParam"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"organization") && names.contains(&"identifier"),
        "{names:?}"
    );
    assert!(resources.iter().any(|x| x["type"] == "Observation"));
}

/// Every type × every role × own facility, sister facility, other
/// organization: visible exactly where the REST API would show it.
#[tokio::test]
async fn the_isolation_matrix_holds_through_fhir() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut charts = Vec::new();
    for site in [&w.a1, &w.a2, &w.b1] {
        charts.push(chart(&app.owner, site).await);
    }
    let roles = [
        Role::Rn,
        Role::Cna,
        Role::FacilityAdmin,
        Role::OrgAdmin,
        Role::PlatformAdmin,
    ];
    for role in roles {
        let token = w.token(role);
        for (i, site) in [&w.a1, &w.a2, &w.b1].into_iter().enumerate() {
            let visible = match role {
                Role::PlatformAdmin => true,
                Role::OrgAdmin => i < 2,
                _ => i == 0,
            };
            let (vitals, dose, alert) = charts[i];
            let reads = [
                format!("Organization/{}", site.org),
                format!("Location/{}", site.facility),
                format!("Group/{}", site.facility),
                format!("Device/{}", site.device),
                format!("Practitioner/{}", site.staff),
                format!("PractitionerRole/{}", site.staff),
                format!("Patient/{}", site.patient),
                format!("Observation/{vitals}-hr"),
                format!("MedicationAdministration/{dose}"),
                format!("Flag/{alert}"),
            ];
            for path in &reads {
                let r = get(&app, &format!("/fhir/R4/{path}"), token).await;
                // Organization A is visible to everyone homed in it.
                let expect = visible || (path.starts_with("Organization/") && i == 1);
                let want = if expect {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                };
                assert_eq!(
                    r.status, want,
                    "{role:?} reading {path} of site {i}: {}",
                    r.text
                );
                if !expect {
                    assert_eq!(r.body["resourceType"], "OperationOutcome");
                }
            }
            let r = get(
                &app,
                &format!("/fhir/R4/Observation?patient=Patient/{}", site.patient),
                token,
            )
            .await;
            assert_eq!(r.status, StatusCode::OK);
            assert_eq!(
                entries(&r.body).is_empty(),
                !visible,
                "{role:?} searching site {i}'s vitals"
            );
            let r = get(
                &app,
                &format!("/fhir/R4/Patient?organization=Organization/{}", site.org),
                token,
            )
            .await;
            let ids: Vec<String> = entries(&r.body)
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(
                ids.contains(&site.patient.to_string()),
                visible,
                "{role:?} Patient?organization of site {i}"
            );
        }
    }
}

#[tokio::test]
async fn vitals_are_loinc_coded_observations_in_ucum() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (vitals, _, _) = chart(&app.owner, &w.a1).await;
    let nurse = w.token(Role::Rn);
    let r = get(
        &app,
        &format!("/fhir/R4/Observation?patient={}", w.a1.patient),
        nurse,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["type"], "searchset");
    let obs = entries(&r.body);
    let codes: Vec<(&str, &str)> = obs
        .iter()
        .map(|o| {
            (
                o["code"]["coding"][0]["code"].as_str().unwrap(),
                o["valueQuantity"]["code"].as_str().unwrap_or("panel"),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("8310-5", "Cel"),
            ("8867-4", "/min"),
            ("9279-1", "/min"),
            ("85354-9", "panel"),
            ("2708-6", "%"),
            ("72514-3", "{score}"),
            ("41653-7", "mg/dL"),
        ]
    );
    let bp = &obs[3];
    assert_eq!(bp["component"][0]["code"]["coding"][0]["code"], "8480-6");
    assert_eq!(bp["component"][0]["valueQuantity"]["value"], 132.0);
    assert_eq!(bp["component"][1]["code"]["coding"][0]["code"], "8462-4");
    assert_eq!(obs[1]["valueQuantity"]["value"], 88.0);
    assert_eq!(
        obs[1]["subject"]["reference"],
        format!("Patient/{}", w.a1.patient)
    );
    // Search by code and by category.
    let r = get(
        &app,
        "/fhir/R4/Observation?code=http://loinc.org|8867-4",
        nurse,
    )
    .await;
    let only: Vec<Value> = entries(&r.body);
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["id"], format!("{vitals}-hr"));
    let r = get(&app, "/fhir/R4/Observation?category=laboratory", nurse).await;
    assert_eq!(entries(&r.body)[0]["code"]["coding"][0]["code"], "41653-7");
    let r = get(
        &app,
        "/fhir/R4/Observation?date=ge2000-01-01&date=lt2000-02-01",
        nurse,
    )
    .await;
    assert!(
        entries(&r.body).is_empty(),
        "nothing charted in January 2000"
    );
    let r = get(&app, &format!("/fhir/R4/Observation/{vitals}-bp"), nurse).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body["meta"]["profile"][1],
        "http://hl7.org/fhir/StructureDefinition/bp"
    );
    let r = get(&app, &format!("/fhir/R4/Observation/{vitals}-nope"), nurse).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn searches_page_with_next_links_and_lose_nothing() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut expected = vec![w.a1.patient];
    for _ in 0..6 {
        expected.push(insert_patient(&app.owner, w.a1.org, w.a1.facility, "active").await);
    }
    for _ in 0..3 {
        chart(&app.owner, &w.a1).await;
    }
    let nurse = w.token(Role::Rn);
    let mut url = "/fhir/R4/Patient?_count=2&name=a".to_owned();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = get(&app, &url, nurse).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let self_link = r.body["link"][0]["url"].as_str().unwrap();
        assert!(
            self_link.contains("_count=2") && self_link.contains("name=a"),
            "{self_link}"
        );
        for p in entries(&r.body) {
            seen.push(p["id"].as_str().unwrap().parse::<i64>().unwrap());
        }
        pages += 1;
        match r.body["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
        {
            Some(next) => url = next["url"].as_str().unwrap().to_owned(),
            None => break,
        }
    }
    expected.sort_unstable();
    assert_eq!(seen, expected);
    assert_eq!(pages, 4);
    // Observations: 3 records × 7 values, in pages of 5.
    let mut url = "/fhir/R4/Observation?_count=5".to_owned();
    let mut ids = Vec::new();
    loop {
        let r = get(&app, &url, nurse).await;
        let page = entries(&r.body);
        assert!(page.len() <= 5);
        ids.extend(page.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
        match r.body["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
        {
            Some(next) => url = next["url"].as_str().unwrap().to_owned(),
            None => break,
        }
    }
    assert_eq!(ids.len(), 21, "{ids:?}");
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 21, "no observation twice");
}

#[tokio::test]
async fn refusals_are_operation_outcomes() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let nurse = w.token(Role::Rn);
    let r = fhir(&app, Method::GET, "/fhir/R4/Patient", None, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["resourceType"], "OperationOutcome");
    assert_eq!(r.body["issue"][0]["code"], "login");
    assert!(r.content_type.starts_with("application/fhir+json"));
    let r = get(&app, "/fhir/R4/Claim", nurse).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["issue"][0]["code"], "not-found");
    let r = get(&app, "/fhir/R4/Patient?_count=500", nurse).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["issue"][0]["expression"][0], "_count");
    let r = get(&app, "/fhir/R4/Patient?birthdate=yesterday", nurse).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["issue"][0]["expression"][0], "birthdate");
    // Unknown parameters: ignored (and left out of the self link) unless strict.
    let r = get(&app, "/fhir/R4/Patient?shoe-size=9", nurse).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body["link"][0]["url"].as_str().unwrap().contains("shoe"));
    let r = fhir(
        &app,
        Method::GET,
        "/fhir/R4/Patient?shoe-size=9",
        Some(nurse),
        &[("prefer", "handling=strict")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["issue"][0]["expression"][0], "shoe-size");
    let r = fhir(
        &app,
        Method::GET,
        "/fhir/R4/Patient",
        Some(nurse),
        &[("accept", "application/fhir+xml")],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);
    let r = fhir(&app, Method::POST, "/fhir/R4/Patient", Some(nurse), &[]).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.body["issue"][0]["code"], "not-supported");
    let r = get(&app, "/fhir/R4/Patient/not-a-number", nurse).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // POST _search takes a form body.
    let r = app
        .client
        .post(format!("{}/fhir/R4/Patient/_search", app.base))
        .bearer_auth(nurse)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_id={}", w.a1.patient))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(entries(&body).len(), 1);
}

#[tokio::test]
async fn every_access_to_resident_data_is_audited() {
    let app = spawn_app().await;
    let w = world(&app).await;
    chart(&app.owner, &w.a1).await;
    let nurse = w.token(Role::Rn);
    let nurse_id = w.user(Role::Rn);
    get(&app, &format!("/fhir/R4/Patient/{}", w.a1.patient), nurse).await;
    get(
        &app,
        &format!("/fhir/R4/Observation?patient=Patient/{}", w.a1.patient),
        nurse,
    )
    .await;
    get(&app, "/fhir/R4/Flag", nurse).await;
    let rows: Vec<(String, String, Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT action, resource_type, resource_id, reason FROM audit_events WHERE actor_user_id = $1 ORDER BY id",
    )
    .bind(nurse_id)
    .fetch_all(&app.owner)
    .await
    .unwrap();
    let p = Some(w.a1.patient);
    assert_eq!(
        rows,
        [
            (
                "fhir.read".to_owned(),
                "patient".to_owned(),
                p,
                Some("Patient".to_owned())
            ),
            (
                "fhir.search".to_owned(),
                "patient".to_owned(),
                p,
                Some("Observation".to_owned())
            ),
            (
                "fhir.search".to_owned(),
                "patient".to_owned(),
                None,
                Some("Flag".to_owned())
            ),
        ]
    );
    // The auditor's question "who looked at this resident" finds the FHIR reads.
    let admin = w.token(Role::FacilityAdmin);
    let r = app
        .get(
            &format!("/api/audit-events/export/csv?patient_id={}", w.a1.patient),
            admin,
        )
        .await;
    let csv = r.body.as_str().unwrap_or_default().to_owned();
    assert_eq!(csv.matches("fhir.").count(), 2, "{csv}");
}

async fn wait_for_export(app: &TestApp, status_url: &str, token: &str) -> Value {
    for _ in 0..300 {
        let r = fhir(app, Method::GET, status_url, Some(token), &[]).await;
        match r.status {
            StatusCode::ACCEPTED => tokio::time::sleep(Duration::from_millis(100)).await,
            StatusCode::OK => {
                assert!(
                    r.content_type.starts_with("application/json"),
                    "{}",
                    r.content_type
                );
                return r.body;
            }
            other => panic!("export status {other}: {}", r.text),
        }
    }
    panic!("export did not finish");
}

#[tokio::test]
async fn a_facility_exports_as_ndjson_for_its_admin_only() {
    let app = spawn_app().await;
    let w = world(&app).await;
    chart(&app.owner, &w.a1).await;
    chart(&app.owner, &w.a2).await;
    let admin = w.token(Role::FacilityAdmin);
    let async_ = [
        ("prefer", "respond-async"),
        ("accept", "application/fhir+json"),
    ];
    let kick = format!("/fhir/R4/Group/{}/$export", w.a1.facility);
    // Without Prefer: respond-async, a nurse, a foreign facility.
    let r = fhir(&app, Method::GET, &kick, Some(admin), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = fhir(&app, Method::GET, &kick, Some(w.token(Role::Rn)), &async_).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = fhir(
        &app,
        Method::GET,
        &format!("/fhir/R4/Group/{}/$export", w.b1.facility),
        Some(admin),
        &async_,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = fhir(
        &app,
        Method::GET,
        &format!("{kick}?_type=Claim"),
        Some(admin),
        &async_,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["issue"][0]["expression"][0], "_type");

    let r = fhir(&app, Method::GET, &kick, Some(admin), &async_).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let status_url = r.location.expect("Content-Location");
    assert!(
        status_url.contains("/fhir/R4/$export-status/"),
        "{status_url}"
    );
    let manifest = wait_for_export(&app, &status_url, admin).await;
    assert_eq!(manifest["requiresAccessToken"], true);
    assert!(manifest["request"].as_str().unwrap().ends_with(&kick));
    let output = manifest["output"].as_array().unwrap();
    let mut patients = Vec::new();
    let mut counted = std::collections::BTreeMap::new();
    for file in output {
        let r = fhir(
            &app,
            Method::GET,
            file["url"].as_str().unwrap(),
            Some(admin),
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.content_type, "application/fhir+ndjson");
        let lines: Vec<Value> = r
            .text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len() as u64, file["count"].as_u64().unwrap());
        for resource in &lines {
            assert_eq!(resource["resourceType"], file["type"]);
            *counted
                .entry(file["type"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
            if resource["resourceType"] == "Patient" {
                patients.push(resource["id"].as_str().unwrap().to_owned());
            }
            if let Some(subject) = resource["subject"]["reference"].as_str() {
                assert_eq!(
                    subject,
                    format!("Patient/{}", w.a1.patient),
                    "only A1's residents"
                );
            }
        }
    }
    assert_eq!(patients, [w.a1.patient.to_string()]);
    assert_eq!(counted["Observation"], 7);
    assert_eq!(counted["MedicationAdministration"], 1);
    assert_eq!(counted["Flag"], 1);
    // Another user (even an organization admin) cannot see the job.
    let r = fhir(
        &app,
        Method::GET,
        &status_url,
        Some(w.token(Role::OrgAdmin)),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Kick-off and downloads are audited.
    let admin_id = w.user(Role::FacilityAdmin);
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE actor_user_id = $1 AND action LIKE 'fhir.export%' ORDER BY id",
    )
    .bind(admin_id)
    .fetch_all(&app.owner)
    .await
    .unwrap();
    assert_eq!(actions.len(), 1 + output.len());
    // Deleting ends it.
    let r = fhir(&app, Method::DELETE, &status_url, Some(admin), &[]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = fhir(&app, Method::GET, &status_url, Some(admin), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

fn validator() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fhir-validate")
}

/// Writes `value` to `dir/name` for the validator.
fn keep(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// Every resource type (read and search), the capability statement, an
/// OperationOutcome and an organization's `$export` NDJSON, validated by the
/// FHIR R4 JSON schema and Medplum's validator (base definitions and the
/// vital-signs profiles). Needs `npm ci` in scripts/fhir-validate
/// (scripts/test.sh does it).
#[tokio::test]
async fn every_resource_served_validates_against_fhir_r4() {
    let validator = validator();
    assert!(
        validator.join("node_modules/@medplum/core").exists(),
        "run `npm ci` in {} first (scripts/test.sh does)",
        validator.display()
    );
    let app = spawn_app().await;
    let w = world(&app).await;
    let (vitals, dose, alert) = chart(&app.owner, &w.a1).await;
    // A deceased resident and an email on a practitioner.
    let gone = insert_patient(&app.owner, w.a1.org, w.a1.facility, "deceased").await;
    let (with_email, _) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Lpn).await;
    sqlx::query("UPDATE users SET email = 'lpn@example.org' WHERE id = $1")
        .bind(with_email)
        .execute(&app.owner)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let org_admin = w.token(Role::OrgAdmin);
    let paths = [
        "metadata".to_owned(),
        format!("Organization/{}", w.a1.org),
        "Organization".to_owned(),
        format!("Location/{}", w.a1.facility),
        "Location".to_owned(),
        format!("Group/{}", w.a1.facility),
        format!("Device/{}", w.a1.device),
        "Device".to_owned(),
        format!("Practitioner/{with_email}"),
        "Practitioner".to_owned(),
        format!("PractitionerRole/{}", w.a1.staff),
        "PractitionerRole".to_owned(),
        format!("Patient/{}", w.a1.patient),
        format!("Patient/{gone}"),
        "Patient".to_owned(),
        format!("Observation/{vitals}-bp"),
        "Observation".to_owned(),
        format!("MedicationAdministration/{dose}"),
        "MedicationAdministration".to_owned(),
        format!("Flag/{alert}"),
        "Flag".to_owned(),
        "Patient?_count=0".to_owned(),
    ];
    for (i, path) in paths.iter().enumerate() {
        let r = get(&app, &format!("/fhir/R4/{path}"), org_admin).await;
        assert!(
            r.status == StatusCode::OK || path.ends_with("_count=0"),
            "{path}: {}",
            r.text
        );
        keep(dir.path(), &format!("{i:02}.json"), &r.text);
    }
    // An organization-wide export.
    let r = fhir(
        &app,
        Method::GET,
        "/fhir/R4/$export",
        Some(org_admin),
        &[("prefer", "respond-async")],
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let manifest = wait_for_export(&app, &r.location.unwrap(), org_admin).await;
    for (i, file) in manifest["output"].as_array().unwrap().iter().enumerate() {
        let r = get(&app, file["url"].as_str().unwrap(), org_admin).await;
        keep(dir.path(), &format!("export-{i:02}.ndjson"), &r.text);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let out = std::process::Command::new("node")
        .arg(validator.join("validate.mjs"))
        .args(&files)
        .output()
        .expect("node runs");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "FHIR validation failed:\n{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The validator saw every type.
    for t in [
        "Organization",
        "Location",
        "Group",
        "Device",
        "Practitioner",
        "PractitionerRole",
        "Patient",
        "Observation",
        "MedicationAdministration",
        "Flag",
        "CapabilityStatement",
        "OperationOutcome",
        "Bundle",
    ] {
        assert!(
            report.contains(&format!("{t} ")),
            "{t} not validated: {report}"
        );
    }
}
