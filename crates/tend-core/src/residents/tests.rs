use chrono::{NaiveDate, TimeZone, Utc};

use super::*;

fn draft() -> ResidentDraft {
    ResidentDraft {
        mrn: " MRN-7 ".to_owned(),
        first_name: "Ada".to_owned(),
        last_name: "Byrne".to_owned(),
        date_of_birth: "1941-02-03".to_owned(),
        room: "12B".to_owned(),
        admission_date: "2026-12-01".to_owned(),
        allergies: "Penicillin".to_owned(),
        code_status: Some(CodeStatus::Dnr),
        diet: "Mechanical soft".to_owned(),
        fall_risk: Some(FallRisk::High),
        contact_name: "Cora Byrne".to_owned(),
        contact_relationship: "Daughter".to_owned(),
        contact_phone: "+1 503 555 0142".to_owned(),
    }
}

fn fields(e: CoreError) -> Vec<String> {
    e.fields().into_keys().collect()
}

#[test]
fn an_admission_carries_every_field_trimmed_and_the_day_at_the_facilitys_midnight() {
    let body = admission(4, &draft(), "America/Chicago").unwrap();
    assert_eq!(body.facility_id, Some(4));
    assert_eq!(body.mrn, "MRN-7");
    assert_eq!(
        body.date_of_birth,
        NaiveDate::from_ymd_opt(1941, 2, 3).unwrap()
    );
    // Midnight in Chicago (UTC-6 in December) is 06:00 UTC.
    assert_eq!(
        body.admitted_at,
        Some(Utc.with_ymd_and_hms(2026, 12, 1, 6, 0, 0).unwrap())
    );
    assert_eq!(body.code_status, Some(CodeStatus::Dnr));
    assert_eq!(body.fall_risk, Some(FallRisk::High));
    let contact = body.emergency_contact.unwrap();
    assert_eq!(contact.name, "Cora Byrne");
    assert_eq!(contact.relationship.as_deref(), Some("Daughter"));
}

#[test]
fn blank_optional_fields_are_not_recorded_and_a_blank_admission_day_is_left_to_the_server() {
    let blank = ResidentDraft {
        room: " ".to_owned(),
        admission_date: String::new(),
        allergies: String::new(),
        diet: String::new(),
        contact_name: String::new(),
        contact_relationship: String::new(),
        contact_phone: String::new(),
        code_status: None,
        fall_risk: None,
        ..draft()
    };
    let body = admission(4, &blank, "UTC").unwrap();
    assert_eq!(body.room, None);
    assert_eq!(body.admitted_at, None);
    assert_eq!(body.allergies, None);
    assert_eq!(body.emergency_contact, None);
}

#[test]
fn missing_names_and_a_bad_date_are_named_before_anything_is_sent() {
    let bad = ResidentDraft {
        first_name: " ".to_owned(),
        mrn: String::new(),
        date_of_birth: "03/02/1941".to_owned(),
        ..draft()
    };
    let err = admission(4, &bad, "UTC").unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed);
    assert_eq!(fields(err), ["date_of_birth", "first_name", "mrn"]);
}

#[test]
fn a_contact_needs_both_a_name_and_a_number() {
    let half = ResidentDraft {
        contact_phone: String::new(),
        ..draft()
    };
    assert_eq!(
        fields(admission(4, &half, "UTC").unwrap_err()),
        ["emergency_contact.phone"]
    );
    let relationship_only = ResidentDraft {
        contact_name: String::new(),
        contact_phone: String::new(),
        ..draft()
    };
    assert_eq!(
        fields(admission(4, &relationship_only, "UTC").unwrap_err()),
        ["emergency_contact.name", "emergency_contact.phone"]
    );
}

#[test]
fn an_edit_sends_every_field_with_the_version_and_blanks_clear() {
    let cleared = ResidentDraft {
        allergies: String::new(),
        fall_risk: None,
        ..draft()
    };
    let body = edit(&cleared, 7, "UTC").unwrap();
    assert_eq!(body.version, Some(7));
    assert_eq!(body.allergies, Some(None));
    assert_eq!(body.fall_risk, Some(None));
    assert_eq!(body.room, Some(Some("12B".to_owned())));
    // An edit never moves or discharges anyone.
    assert_eq!(body.facility_id, None);
    assert_eq!(body.status, None);
}

#[test]
fn a_departure_needs_a_date_not_in_the_future() {
    let body = departure(Departure::Deceased, "2026-11-30", 3, "America/New_York").unwrap();
    assert_eq!(body.status, Some(PatientStatus::Deceased));
    assert_eq!(
        body.discharged_at,
        Some(Some(Utc.with_ymd_and_hms(2026, 11, 30, 5, 0, 0).unwrap()))
    );
    assert_eq!(
        fields(departure(Departure::Discharged, "", 3, "UTC").unwrap_err()),
        ["discharged_at"]
    );
    assert_eq!(
        fields(departure(Departure::Discharged, "2999-01-01", 3, "UTC").unwrap_err()),
        ["discharged_at"]
    );
}

#[test]
fn midnight_in_a_dst_gap_is_the_first_instant_of_the_day() {
    // Santiago skipped 00:00–01:00 on 2024-09-08.
    let day = NaiveDate::from_ymd_opt(2024, 9, 8).unwrap();
    assert_eq!(
        start_of_day(day, "America/Santiago"),
        Utc.with_ymd_and_hms(2024, 9, 8, 4, 0, 0).unwrap()
    );
    assert_eq!(
        start_of_day(day, "Not/AZone"),
        Utc.with_ymd_and_hms(2024, 9, 8, 0, 0, 0).unwrap()
    );
}

#[test]
fn a_stale_edits_409_reads_as_the_resident_now() {
    let body = r#"{"error":{"code":"CONFLICT","message":"changed","current":{
        "id":9,"organization_id":1,"facility_id":2,"mrn":"M","first_name":"A","last_name":"B",
        "date_of_birth":"1940-01-01","status":"active","room":"3","admitted_at":null,
        "discharged_at":null,"allergies":"Latex","code_status":"full_code","diet":null,
        "fall_risk":"low","emergency_contact":null,"created_at":"2026-01-01T00:00:00Z",
        "updated_at":"2026-01-02T00:00:00Z","version":4}}}"#;
    let parsed: ErrorBody = serde_json::from_str(body).unwrap();
    let current: Resident = (*parsed.error.current.unwrap()).into();
    assert_eq!(current.version, 4);
    assert_eq!(current.allergies.as_deref(), Some("Latex"));
    let saved: ResidentSaved = UpdateAnswer::Stale(Patient {
        allergies: None,
        ..serde_json::from_str::<ErrorBody>(body)
            .unwrap()
            .error
            .current
            .map(|p| *p)
            .unwrap()
    })
    .into();
    assert!(matches!(saved, ResidentSaved::Conflict { current } if current.id == 9));
}
