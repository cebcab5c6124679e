//! Bad input: 422 with fields, 400 malformed, 413 oversize, 415 not JSON, 409
//! duplicates — always the same error shape — and nothing half-written.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tend_domain::Role;

use crate::helpers::{spawn_app, world, Resp};

fn assert_shape(r: &Resp, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.code(), code, "{r:?}");
    assert!(r.body["error"]["message"].is_string(), "{r:?}");
    assert!(r.body["error"]["fields"].is_object(), "{r:?}");
}

#[tokio::test]
async fn writes_are_validated_with_field_errors() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let platform = w.token(Role::PlatformAdmin);
    let org_admin = w.token(Role::OrgAdmin);

    // NPI check digit.
    let r = app
        .post(
            "/api/organizations",
            platform,
            json!({"name": "X", "organization_type": "SNF_CHAIN", "npi": "1234567890"}),
        )
        .await;
    assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(
        r.body["error"]["fields"]["npi"][0]
            .as_str()
            .unwrap()
            .contains("check digit"),
        "{r:?}"
    );
    let r = app.post("/api/organizations", platform, json!({"name": "X", "organization_type": "SNF_CHAIN", "npi": "1234567893", "tax_id": "123456789"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["tax_id"], "12-3456789");
    let r = app
        .post(
            "/api/organizations",
            platform,
            json!({"name": "Y", "organization_type": "SNF_CHAIN", "npi": "1234567893"}),
        )
        .await;
    assert_shape(&r, StatusCode::CONFLICT, "CONFLICT");
    assert!(r.body["error"]["fields"]["npi"].is_array());

    // Several problems at once.
    let r = app.post("/api/facilities", org_admin, json!({"name": " ", "facility_type": "ALF", "licensed_beds": 10, "current_census": 11, "timezone": "mars"})).await;
    assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let fields = r.body["error"]["fields"].as_object().unwrap();
    for f in ["name", "current_census", "timezone"] {
        assert!(fields.contains_key(f), "{f} missing in {r:?}");
    }
    let r = app
        .post(
            "/api/facilities",
            org_admin,
            json!({"name": "HH", "facility_type": "HOME_HEALTH", "licensed_beds": 10}),
        )
        .await;
    assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");

    // Census: negative, above beds, fine.
    let census = format!("/api/facilities/{}/census", w.a1.facility);
    let r = app
        .put(&census, org_admin, json!({"current_census": -1}))
        .await;
    assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(r.body["error"]["fields"]["current_census"].is_array());
    let r = app
        .put(&census, org_admin, json!({"current_census": 41}))
        .await;
    assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let r = app
        .put(&census, org_admin, json!({"current_census": 35}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["occupancy_rate"], 87.5);
    assert_eq!(r.body["available_beds"], 5);

    // Facility moved to another organization.
    let r = app
        .put(
            &format!("/api/facilities/{}", w.a2.facility),
            platform,
            json!({"organization_id": w.b1.org}),
        )
        .await;
    assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(r.body["error"]["fields"]["organization_id"].is_array());

    // Duplicate device_uuid and employee_id.
    let uuid = uuid::Uuid::new_v4().to_string();
    let device = json!({"facility_id": w.a1.facility, "device_name": "Kiosk", "device_type": "RASPBERRY_PI", "device_uuid": uuid, "mac_address": "B8-27-EB-12-34-56"});
    let r = app.post("/api/devices", org_admin, device.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["mac_address"], "b8:27:eb:12:34:56");
    assert_eq!(r.body["is_online"], false);
    assert_eq!(r.body["sync_status"], "NEVER_SYNCED");
    let mut other_facility = device.clone();
    other_facility["facility_id"] = json!(w.a2.facility);
    let r = app.post("/api/devices", org_admin, other_facility).await;
    assert_shape(&r, StatusCode::CONFLICT, "CONFLICT");
    assert!(r.body["error"]["fields"]["device_uuid"].is_array());
    let r = app.post("/api/devices", org_admin, json!({"facility_id": w.a1.facility, "device_name": "K", "device_type": "TABLET", "device_uuid": "00000000-0000-0000-0000-000000000000"})).await;
    assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(r.body["error"]["fields"]["device_uuid"].is_array());

    let user = json!({"facility_id": w.a1.facility, "employee_id": "E-77", "username": "nurse.one", "full_name": "Nurse One", "role": "RN", "password": "long enough password"});
    assert_eq!(
        app.post("/api/users", org_admin, user.clone()).await.status,
        StatusCode::CREATED
    );
    let mut dup = user.clone();
    dup["username"] = json!("nurse.two");
    dup["facility_id"] = json!(w.a2.facility);
    let r = app.post("/api/users", org_admin, dup).await;
    assert_shape(&r, StatusCode::CONFLICT, "CONFLICT");
    assert!(r.body["error"]["fields"]["employee_id"].is_array(), "{r:?}");
    // The same employee id in another organization is fine.
    let mut elsewhere = user.clone();
    elsewhere["username"] = json!("nurse.three");
    elsewhere["facility_id"] = json!(w.b1.facility);
    assert_eq!(
        app.post("/api/users", platform, elsewhere).await.status,
        StatusCode::CREATED
    );
    let mut weak = user.clone();
    weak["username"] = json!("nurse.four");
    weak["employee_id"] = json!("E-78");
    weak["password"] = json!("short");
    let r = app.post("/api/users", org_admin, weak).await;
    assert!(r.body["error"]["fields"]["password"].is_array(), "{r:?}");
    // A facility admin cannot mint an org admin.
    let mut escalate = user.clone();
    escalate["username"] = json!("boss");
    escalate["employee_id"] = json!("E-79");
    escalate["role"] = json!("ORG_ADMIN");
    assert_eq!(
        app.post("/api/users", w.token(Role::FacilityAdmin), escalate)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Patients: dates and duplicates.
    let rn = w.token(Role::Rn);
    let r = app.post("/api/patients", rn, json!({"mrn": "M-1", "first_name": "A", "last_name": "B", "date_of_birth": "2999-01-01"})).await;
    assert!(
        r.body["error"]["fields"]["date_of_birth"].is_array(),
        "{r:?}"
    );
    assert_eq!(app.post("/api/patients", rn, json!({"mrn": "M-1", "first_name": "A", "last_name": "B", "date_of_birth": "1950-01-01"})).await.status, StatusCode::CREATED);
    let r = app.post("/api/patients", rn, json!({"mrn": "M-1", "first_name": "C", "last_name": "D", "date_of_birth": "1950-01-01"})).await;
    assert_shape(&r, StatusCode::CONFLICT, "CONFLICT");
}

#[tokio::test]
async fn malformed_bodies_share_the_error_shape() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let token = w.token(Role::Rn);
    let r = app
        .raw(
            Method::POST,
            "/api/patients",
            token,
            "application/json",
            b"{\"mrn\": ".to_vec(),
        )
        .await;
    assert_shape(&r, StatusCode::BAD_REQUEST, "MALFORMED_REQUEST");
    let r = app.raw(Method::POST, "/api/patients", token, "application/json", br#"{"mrn": "M", "first_name": "A", "last_name": "B", "date_of_birth": "1950-01-01"} x"#.to_vec()).await;
    assert_shape(&r, StatusCode::BAD_REQUEST, "MALFORMED_REQUEST");
    let r = app
        .post(
            "/api/patients",
            token,
            json!({"mrn": 5, "first_name": "A", "last_name": "B", "date_of_birth": "1950-01-01"}),
        )
        .await;
    assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(r.body["error"]["fields"]["mrn"].is_array(), "{r:?}");
    let r = app.post("/api/patients", token, json!({"mrn": "M", "first_name": "A", "last_name": "B", "date_of_birth": "1950-01-01", "ssn": "x"})).await;
    assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(r.body["error"]["fields"]["ssn"].is_array(), "{r:?}");
    let r = app.post("/api/patients", token, json!({"mrn": "M", "first_name": "A", "last_name": "B", "date_of_birth": "1950-01-01", "status": "asleep"})).await;
    assert!(r.body["error"]["fields"]["status"].is_array(), "{r:?}");
    let r = app.post("/api/patients", token, json!([1, 2])).await;
    assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let big = format!("{{\"mrn\": \"{}\"}}", "x".repeat(200_000));
    let r = app
        .raw(
            Method::POST,
            "/api/patients",
            token,
            "application/json",
            big.into_bytes(),
        )
        .await;
    assert_shape(&r, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");
    let r = app
        .raw(
            Method::POST,
            "/api/patients",
            token,
            "text/plain",
            b"{}".to_vec(),
        )
        .await;
    assert_shape(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "MALFORMED_REQUEST");
    let r = app.get("/api/patients?limit=0", token).await;
    assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let r = app.get("/api/patients?status=asleep", token).await;
    assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let r = app.get("/api/patients?cursor=nope", token).await;
    assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let r = app.get("/api/patients/abc", token).await;
    assert_shape(&r, StatusCode::NOT_FOUND, "NOT_FOUND");
    let r = app.get("/api/no-such-route", token).await;
    assert_shape(&r, StatusCode::NOT_FOUND, "NOT_FOUND");
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/patients/{}", w.a1.patient),
            Some(token),
            None,
        )
        .await;
    assert_shape(&r, StatusCode::METHOD_NOT_ALLOWED, "MALFORMED_REQUEST");
}

#[tokio::test]
async fn a_failing_request_writes_nothing() {
    let app = spawn_app().await;
    let w = world(&app).await;
    // Make the audit insert of patient creation fail: the patient row must go too.
    sqlx::query(
        "CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
           IF NEW.action = 'patient.create' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$",
    )
    .execute(&app.owner)
    .await
    .unwrap();
    sqlx::query("CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fail_audit()")
        .execute(&app.owner)
        .await
        .unwrap();
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM patients")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    let r = app
        .post("/api/patients", w.token(Role::Rn), json!({"mrn": "ATOMIC-1", "first_name": "A", "last_name": "B", "date_of_birth": "1950-01-01"}))
        .await;
    assert_shape(&r, StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL");
    assert!(
        !r.body.to_string().contains("injected"),
        "internal detail leaked: {r:?}"
    );
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM patients")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(
        before, after,
        "the patient was written without its audit event"
    );
}

/// The design's own example creates an organization with a name and an NPI
/// only; a caller who may not create organizations learns nothing about the
/// body's shape: 403 whatever it sends.
#[tokio::test]
async fn organizations_are_created_as_the_design_shows_and_refused_before_the_body_is_read() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let platform = w.token(Role::PlatformAdmin);
    let r = app
        .post(
            "/api/organizations",
            platform,
            json!({"name": "Your Healthcare Organization", "npi": "1234567893"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["organization_type"], serde_json::Value::Null);
    assert_eq!(r.body["npi"], "1234567893");
    let nurse = w.token(Role::Rn);
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM organizations")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    for body in [
        json!({"name": "Mine"}),
        json!({"name": "Mine", "organization_type": "SNF_CHAIN"}),
        json!({"nonsense": true}),
    ] {
        let r = app.post("/api/organizations", nurse, body).await;
        assert_shape(&r, StatusCode::FORBIDDEN, "FORBIDDEN");
    }
    let r = app
        .raw(
            Method::POST,
            "/api/organizations",
            nurse,
            "text/plain",
            b"{oops".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM organizations")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(before, after);
    // The platform admin still gets the body's problems named.
    let r = app
        .post("/api/organizations", platform, json!({"npi": "1234567893"}))
        .await;
    assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(r.body["error"]["fields"]["name"].is_array(), "{r:?}");
}

/// A facility's time zone must exist: "America/Atlantis" used to be taken
/// and silently read as UTC.
#[tokio::test]
async fn a_facility_time_zone_must_be_a_real_iana_zone() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let org_admin = w.token(Role::OrgAdmin);
    for zone in ["America/Atlantis", "Europe/Gotham"] {
        let r = app
            .post(
                "/api/facilities",
                org_admin,
                json!({"name": "Harbor House", "facility_type": "ALF", "licensed_beds": 20, "timezone": zone}),
            )
            .await;
        assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
        assert!(r.body["error"]["fields"]["timezone"].is_array(), "{r:?}");
        let r = app
            .put(
                &format!("/api/facilities/{}", w.a1.facility),
                org_admin,
                json!({"timezone": zone}),
            )
            .await;
        assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    }
    let r = app
        .post(
            "/api/facilities",
            org_admin,
            json!({"name": "Harbor House", "facility_type": "ALF", "licensed_beds": 20, "timezone": "America/Indiana/Indianapolis"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
}

/// Settings are free-form JSON stored in jsonb, which keeps numbers as exact
/// decimals: f64::MAX came back as 309 digits the JSON reader refused, so a
/// facility could be stored and never read again (a 500 found by
/// schemathesis). Numbers beyond ±10^15 are refused up front, naming
/// `settings`, and nothing is written.
#[tokio::test]
async fn settings_numbers_that_could_not_be_read_back_are_refused() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let org_admin = w.token(Role::OrgAdmin);
    for huge in [json!(1.7976931348623157e308), json!([1, {"deep": -1e16}])] {
        let r = app
            .post(
                "/api/facilities",
                org_admin,
                json!({"name": "Edge House", "facility_type": "ALF", "licensed_beds": 10,
                       "settings": {"x": huge}}),
            )
            .await;
        assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
        assert!(r.body["error"]["fields"]["settings"].is_array(), "{r:?}");
        let r = app
            .put(
                &format!("/api/organizations/{}", w.a1.org),
                org_admin,
                json!({"settings": {"x": huge}}),
            )
            .await;
        assert_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    }
    let edge: i64 = sqlx::query_scalar("SELECT count(*) FROM facilities WHERE name = 'Edge House'")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(edge, 0);
    // Ordinary numbers, fractions and tiny ones are kept and read back.
    let r = app
        .post(
            "/api/facilities",
            org_admin,
            json!({"name": "Edge House", "facility_type": "ALF", "licensed_beds": 10,
                   "settings": {"rounds_per_shift": 3, "ratio": 0.125, "tiny": 5e-324, "big": 1e15}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let id = r.body["id"].as_i64().unwrap();
    let r = app.get(&format!("/api/facilities/{id}"), org_admin).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["settings"]["ratio"], 0.125);
    assert_eq!(r.body["settings"]["tiny"].as_f64(), Some(5e-324));
}
