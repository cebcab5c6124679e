//! Residents from admission to discharge through tend-core's console calls
//! (`tend_core::admin::residents`) against the real API: the care details a
//! facility needs on day one, a stale edit's 409 with the resident as they
//! are now, a transfer audited in both facilities, a discharge that leaves
//! the facility's sync feed, and who may do what.

use chrono::{TimeZone, Utc};
use serde_json::json;
use tend_core::admin::AdminConsole;
use tend_core::residents::{Departure, ResidentDraft, ResidentRef, ResidentSaved};
use tend_domain::wire::Secret;
use tend_domain::{CodeStatus, ErrorCode, FallRisk, PatientStatus, Role};

use crate::helpers::{device_token_for, insert_user, spawn_app, world, PASSWORD};
use crate::sync::{of_type, pull_all};

fn draft(mrn: &str) -> ResidentDraft {
    ResidentDraft {
        mrn: mrn.to_owned(),
        first_name: "Ada".to_owned(),
        last_name: "Byrne".to_owned(),
        date_of_birth: "1941-02-03".to_owned(),
        room: "12B".to_owned(),
        admission_date: "2026-12-01".to_owned(),
        allergies: "Penicillin, latex".to_owned(),
        code_status: Some(CodeStatus::DnrDni),
        diet: "Mechanical soft, thin liquids".to_owned(),
        fall_risk: Some(FallRisk::High),
        contact_name: "Cora Byrne".to_owned(),
        contact_relationship: "Daughter".to_owned(),
        contact_phone: "(503) 555-0142".to_owned(),
    }
}

async fn audit_rows(app: &crate::helpers::TestApp, action: &str, facility: i64, id: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = $1 AND facility_id = $2 AND resource_id = $3",
    )
    .bind(action)
    .bind(facility)
    .bind(id)
    .fetch_one(&app.owner)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_org_admin_admits_edits_transfers_and_discharges_a_resident() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (_, username) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::OrgAdmin).await;
    let console = AdminConsole::new("test");
    console
        .sign_in(Some(&app.base), &username, &Secret::new(PASSWORD))
        .await
        .unwrap();
    let s = console.session().await.unwrap();
    let device_a1 = device_token_for(&app.owner, w.a1.device).await;
    let device_a2 = device_token_for(&app.owner, w.a2.device).await;
    let (_, cursor_a1) = pull_all(&app, &device_a1, None, None).await;
    let (_, cursor_a2) = pull_all(&app, &device_a2, None, None).await;

    // Admission with everything a facility needs on day one.
    let admitted = s
        .admit_resident(w.a1.facility, &draft("ADM-1"))
        .await
        .unwrap();
    assert_eq!(admitted.status, PatientStatus::Active);
    assert_eq!(admitted.code_status, Some(CodeStatus::DnrDni));
    assert_eq!(admitted.fall_risk, Some(FallRisk::High));
    assert_eq!(admitted.allergies.as_deref(), Some("Penicillin, latex"));
    let contact = admitted.emergency_contact.clone().unwrap();
    assert_eq!(contact.phone, "(503) 555-0142");
    // The admission day is midnight in the facility's zone (New York).
    assert_eq!(
        admitted.admitted_at,
        Some(Utc.with_ymd_and_hms(2026, 12, 1, 5, 0, 0).unwrap())
    );
    assert_eq!(
        audit_rows(&app, "patient.create", w.a1.facility, admitted.id).await,
        1
    );
    // The facility's devices get the resident with the care details.
    let (changes, cursor_a1) = pull_all(&app, &device_a1, Some(&cursor_a1), None).await;
    let pulled = of_type(&changes, "patient");
    assert_eq!(pulled.len(), 1, "{changes:?}");
    assert_eq!(pulled[0]["data"]["code_status"], "dnr_dni");
    assert_eq!(pulled[0]["data"]["emergency_contact"]["name"], "Cora Byrne");
    let listed = s.residents(w.a1.facility).await.unwrap();
    assert!(listed
        .iter()
        .any(|r| r.id == admitted.id && r.diet == admitted.diet));

    // Someone else changes the allergies meanwhile (straight through the API).
    let rn = w.token(Role::Rn);
    let other = app
        .put(
            &format!("/api/patients/{}", admitted.id),
            rn,
            json!({"allergies": "Penicillin, latex, sulfa", "version": admitted.version}),
        )
        .await;
    assert_eq!(other.status, 200, "{}", other.body);

    // The console's edit from the older version: refused, nothing written,
    // and the answer is the resident as they are now.
    let at = ResidentRef {
        id: admitted.id,
        facility_id: admitted.facility_id,
        version: admitted.version,
    };
    let mine = ResidentDraft {
        room: "14A".to_owned(),
        ..draft("ADM-1")
    };
    let current = match s.edit_resident(at, &mine).await.unwrap() {
        ResidentSaved::Conflict { current } => current,
        saved => panic!("a stale edit was saved: {saved:?}"),
    };
    assert_eq!(
        current.allergies.as_deref(),
        Some("Penicillin, latex, sulfa")
    );
    assert_eq!(current.room.as_deref(), Some("12B"), "nothing was written");
    // The person keeps the server's allergies and their room: saved.
    let chosen = ResidentDraft {
        allergies: current.allergies.clone().unwrap(),
        ..mine
    };
    let again = ResidentRef {
        version: current.version,
        ..at
    };
    let saved = match s.edit_resident(again, &chosen).await.unwrap() {
        ResidentSaved::Saved { resident } => resident,
        conflict => panic!("{conflict:?}"),
    };
    assert_eq!(saved.room.as_deref(), Some("14A"));
    assert_eq!(saved.allergies.as_deref(), Some("Penicillin, latex, sulfa"));

    // Transfer to the sister facility: audited in both.
    let moved = match s
        .transfer_resident(
            ResidentRef {
                version: saved.version,
                ..again
            },
            w.a2.facility,
        )
        .await
        .unwrap()
    {
        ResidentSaved::Saved { resident } => resident,
        conflict => panic!("{conflict:?}"),
    };
    assert_eq!(moved.facility_id, w.a2.facility);
    for facility in [w.a1.facility, w.a2.facility] {
        assert_eq!(
            audit_rows(&app, "patient.transfer", facility, moved.id).await,
            1
        );
    }
    // The old facility's devices drop the resident; the new one's get them.
    let (changes, _) = pull_all(&app, &device_a1, Some(&cursor_a1), None).await;
    let removed = of_type(&changes, "patient_removed");
    assert_eq!(removed.len(), 1, "{changes:?}");
    assert_eq!(removed[0]["data"]["id"], moved.id);
    let (changes, cursor_a2) = pull_all(&app, &device_a2, Some(&cursor_a2), None).await;
    assert_eq!(of_type(&changes, "patient").len(), 1, "{changes:?}");

    // Another organization's facility is not a destination.
    let err = s
        .transfer_resident(
            ResidentRef {
                id: moved.id,
                facility_id: moved.facility_id,
                version: moved.version,
            },
            w.b1.facility,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);

    // Discharge on a day: the resident leaves the facility's care.
    let gone = match s
        .discharge_resident(
            ResidentRef {
                id: moved.id,
                facility_id: moved.facility_id,
                version: moved.version,
            },
            Departure::Discharged,
            "2026-12-03",
        )
        .await
        .unwrap()
    {
        ResidentSaved::Saved { resident } => resident,
        conflict => panic!("{conflict:?}"),
    };
    assert_eq!(gone.status, PatientStatus::Discharged);
    assert_eq!(
        gone.discharged_at,
        Some(Utc.with_ymd_and_hms(2026, 12, 3, 5, 0, 0).unwrap())
    );
    // A discharged resident leaves every device of the facility (a tombstone).
    let (changes, _) = pull_all(&app, &device_a2, Some(&cursor_a2), None).await;
    let removed = of_type(&changes, "patient_removed");
    assert_eq!(removed.len(), 1, "{changes:?}");
    assert_eq!(removed[0]["data"]["id"], gone.id);
}

#[tokio::test]
async fn care_details_are_checked_and_named_and_nothing_half_written() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let rn = w.token(Role::Rn);
    let base =
        json!({"mrn": "V-1", "first_name": "Bo", "last_name": "Li", "date_of_birth": "1950-01-01"});
    let cases = [
        (
            json!({"emergency_contact": {"name": "Jo", "phone": "call me"}}),
            "emergency_contact.phone",
        ),
        (
            json!({"emergency_contact": {"name": " ", "phone": "5035550142"}}),
            "emergency_contact.name",
        ),
        (json!({"allergies": "x".repeat(1001)}), "allergies"),
        (json!({"diet": "line\u{0}break"}), "diet"),
        (json!({"code_status": "DNR"}), "code_status"),
        (json!({"fall_risk": "extreme"}), "fall_risk"),
    ];
    for (extra, field) in cases {
        let mut body = base.clone();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let r = app.post("/api/patients", rn, body).await;
        assert_eq!(r.status, 422, "{field}: {}", r.body);
        assert!(
            r.body["error"]["fields"].get(field).is_some()
                || r.body["error"]["message"].as_str().unwrap().contains(field),
            "{field}: {}",
            r.body
        );
    }
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM patients WHERE mrn = 'V-1'")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(none, 0, "nothing written");

    // Cleared with null; kept when absent.
    let mut full = base.clone();
    full["allergies"] = json!("NKDA");
    full["fall_risk"] = json!("moderate");
    let created = app.post("/api/patients", rn, full).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    let r = app
        .put(
            &format!("/api/patients/{id}"),
            rn,
            json!({"allergies": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["allergies"], serde_json::Value::Null);
    assert_eq!(r.body["fall_risk"], "moderate");
}

#[tokio::test]
async fn roles_that_may_not_manage_residents_get_403_whatever_they_send() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM patients")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    for role in [
        Role::Cna,
        Role::MedTech,
        Role::Therapist,
        Role::SocialWorker,
    ] {
        let token = w.token(role);
        for body in [
            json!({"mrn": "X", "first_name": "A", "last_name": "B", "date_of_birth": "1950-01-01"}),
            json!({"nonsense": true}),
        ] {
            let r = app.post("/api/patients", token, body).await;
            assert_eq!(r.status, 403, "{role:?}: {}", r.body);
        }
        let r = app
            .put(
                &format!("/api/patients/{}", w.a1.patient),
                token,
                json!({"room": "9"}),
            )
            .await;
        assert_eq!(r.status, 403, "{role:?}: {}", r.body);
        // Another facility's resident is still not there at all.
        let r = app
            .put(
                &format!("/api/patients/{}", w.b1.patient),
                token,
                json!({"room": "9"}),
            )
            .await;
        assert_eq!(r.status, 404, "{role:?}: {}", r.body);
    }
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM patients")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(before, after);
    // An LPN admits.
    let r = app
        .post(
            "/api/patients",
            w.token(Role::Lpn),
            json!({"mrn": "L-1", "first_name": "A", "last_name": "B", "date_of_birth": "1950-01-01"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}
