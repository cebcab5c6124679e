//! The served OpenAPI document: 3.1, internally consistent, and covering
//! every route the router answers.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::spawn_app;

/// Every route the issue asks for. The router is built from the documented
/// handlers, so this list, the router and the document must all agree.
const EXPECTED: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/openapi.json"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/logout"),
    ("get", "/api/auth/me"),
    ("post", "/api/auth/sign-out-everywhere"),
    ("get", "/api/organizations"),
    ("post", "/api/organizations"),
    ("get", "/api/organizations/{id}"),
    ("put", "/api/organizations/{id}"),
    ("post", "/api/organizations/{id}/import"),
    ("get", "/api/facilities"),
    ("post", "/api/facilities"),
    ("get", "/api/facilities/{id}"),
    ("put", "/api/facilities/{id}"),
    ("put", "/api/facilities/{id}/census"),
    ("post", "/api/facilities/{id}/census/reconcile"),
    ("get", "/api/facilities/{id}/devices"),
    ("get", "/api/facilities/{id}/dashboard"),
    ("get", "/api/facilities/{id}/census-history"),
    ("get", "/api/devices"),
    ("post", "/api/devices"),
    ("get", "/api/devices/{id}"),
    ("put", "/api/devices/{id}"),
    ("post", "/api/devices/{id}/deactivate"),
    ("get", "/api/users"),
    ("post", "/api/users"),
    ("get", "/api/users/{id}"),
    ("put", "/api/users/{id}"),
    ("post", "/api/users/{id}/sign-out-everywhere"),
    ("put", "/api/users/me/language"),
    ("get", "/api/patients"),
    ("post", "/api/patients"),
    ("get", "/api/patients/{id}"),
    ("put", "/api/patients/{id}"),
    ("get", "/api/audit-events"),
    ("get", "/api/audit-events/export/csv"),
    ("get", "/api/audit-events/export/fhir"),
    ("get", "/api/audit-chain"),
    ("post", "/api/audit-chain/verify"),
    ("get", "/api/facilities/{id}/enrollment-codes"),
    ("post", "/api/facilities/{id}/enrollment-codes"),
    (
        "post",
        "/api/facilities/{id}/enrollment-codes/{code_id}/revoke",
    ),
    ("post", "/api/devices/enroll"),
    ("post", "/api/devices/{id}/approve"),
    ("post", "/api/devices/{id}/reject"),
    ("post", "/api/devices/auth/challenge"),
    ("get", "/api/server-key"),
    ("post", "/api/devices/auth/token"),
    ("post", "/api/devices/{id}/heartbeat"),
    ("get", "/api/devices/{id}/vault-secret"),
    ("post", "/api/devices/{id}/vault-secret/rotate"),
    ("delete", "/api/devices/{id}/vault-secret/previous"),
    ("get", "/api/server-key"),
    ("get", "/api/users/{id}/badges"),
    ("post", "/api/users/{id}/badges"),
    ("post", "/api/users/{id}/badges/{badge_id}/revoke"),
    ("put", "/api/users/{id}/pin"),
    ("get", "/api/patients/{id}/visitor-codes"),
    ("post", "/api/patients/{id}/visitor-codes"),
    ("post", "/api/patients/{id}/visitor-codes/{code_id}/revoke"),
    ("get", "/api/patients/{id}/family-updates"),
    ("post", "/api/patients/{id}/family-updates"),
    ("get", "/api/patients/{id}/family-messages"),
    ("post", "/api/family/check-in"),
    ("get", "/api/family/summary"),
    ("post", "/api/family/messages"),
    ("post", "/api/family/end"),
    ("post", "/api/auth/badge-login"),
    ("get", "/api/patients/{id}/records"),
    ("get", "/api/break-glass"),
    ("post", "/api/break-glass"),
    ("get", "/api/break-glass/facilities"),
    ("post", "/api/break-glass/{id}/review"),
    ("post", "/api/sync/push"),
    ("get", "/api/sync/pull"),
    ("get", "/api/devices/events"),
    ("post", "/api/wandering-alerts/{id}/acknowledge"),
];

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                if k == "$ref" {
                    if let Some(s) = val.as_str() {
                        out.push(s.to_owned());
                    }
                } else {
                    collect_refs(val, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_refs(i, out)),
        _ => {}
    }
}

#[tokio::test]
async fn document_is_valid_and_covers_every_route() {
    let app = spawn_app().await;
    let doc = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(doc.status, StatusCode::OK);
    let doc = doc.body;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    // Every $ref resolves.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in &refs {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
    }

    // Documented routes == expected routes.
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            documented.insert((method.clone(), path.clone()));
            // Each operation documents its responses; authenticated ones declare bearer auth
            // and a JSON error body for 401.
            let responses = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{method} {path}: no responses"));
            assert!(!responses.is_empty());
            if op.get("security").is_some() {
                let unauthorized = &responses["401"];
                assert!(
                    unauthorized["content"]["application/json"]["schema"]["$ref"]
                        .as_str()
                        .is_some_and(|r| r.ends_with("/ErrorBody")),
                    "{method} {path}: 401 not documented as ErrorBody"
                );
            }
        }
    }
    let expected: BTreeSet<_> = EXPECTED
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(documented, expected);
    for schema in [
        "ErrorBody",
        "ErrorCode",
        "Organization",
        "Facility",
        "Device",
        "User",
        "Patient",
        "AuditEvent",
        "FacilityDashboard",
        "EnrollmentCode",
        "CreatedEnrollmentCode",
        "EnrollDevice",
        "DeviceTokenRequest",
        "Heartbeat",
        "Badge",
        "AssignBadge",
        "BadgeLoginRequest",
        "SetPin",
        "IssuedVisitorCode",
        "FamilySummary",
        "FamilyCheckIn",
        "ImportRequest",
        "ImportReport",
        "ImportProblem",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema} missing"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["securitySchemes"]["family"].is_object());
    // Enums are documented with their wire names, exactly as served.
    for (schema, value) in [
        ("Role", "PLATFORM_ADMIN"),
        ("FacilityType", "HOME_HEALTH"),
        ("PatientStatus", "on_leave"),
        ("DeviceStatus", "ACTIVE"),
        ("DeviceType", "RASPBERRY_PI"),
        ("OrganizationType", "SNF_CHAIN"),
        ("ErrorCode", "NOT_FOUND"),
        ("ErrorCode", "ENROLLMENT_CODE_EXPIRED"),
        ("ErrorCode", "DEVICE_DEACTIVATED"),
        ("ErrorCode", "BADGE_PIN_WRONG"),
        ("ErrorCode", "VISITOR_CODE_INVALID"),
        ("FamilyUpdateKind", "day_summary"),
        ("EncryptionPosture", "key_file"),
        ("EncryptionPosture", "server_bound"),
    ] {
        let values = doc["components"]["schemas"][schema]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema} has no enum"));
        assert!(
            values.iter().any(|v| v == value),
            "{schema} does not list {value}: {values:?}"
        );
    }

    // And the router answers each of them (not with its no-route or wrong-method fallbacks).
    for (method, path) in EXPECTED {
        let concrete = path
            .replace("{id}", "1")
            .replace("{code_id}", "1")
            .replace("{badge_id}", "1");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let resp = app.call(m, &concrete, None, None).await;
        assert_ne!(
            resp.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        if resp.status == StatusCode::NOT_FOUND {
            assert_ne!(
                resp.body["error"]["message"], "no such endpoint",
                "{method} {path} is not routed"
            );
        }
    }
}

#[tokio::test]
async fn health_endpoints() {
    let app = spawn_app().await;
    let h = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (h.status, h.body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let r = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    // A pending migration makes the service unready.
    sqlx::query("DELETE FROM _sqlx_migrations")
        .execute(&app.owner)
        .await
        .unwrap();
    // Readiness is reused for a moment (devices probe it every 15 s).
    tokio::time::sleep(tend_api::api::health::READY_CACHE + std::time::Duration::from_millis(100))
        .await;
    let r = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.code(), "UNAVAILABLE");
}

/// What generated clients need: query parameters documented as `in: query`
/// (a client would otherwise put `cursor` into the path), and the record
/// kinds as a `oneOf` with a discriminator on the serde tag `kind`, each kind
/// a named schema requiring its one tag value.
#[tokio::test]
async fn clients_can_follow_query_parameters_and_record_kinds() {
    let app = spawn_app().await;
    let doc = app
        .call(Method::GET, "/api/openapi.json", None, None)
        .await
        .body;
    let params = doc["paths"]["/api/sync/pull"]["get"]["parameters"]
        .as_array()
        .expect("sync pull has parameters");
    let placed: BTreeSet<(String, String)> = params
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["in"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> =
        ["protocol_version", "schema_version", "cursor", "limit"]
            .iter()
            .map(|n| ((*n).to_owned(), "query".to_owned()))
            .collect();
    assert_eq!(placed, expected);
    // No path parameter anywhere that is not in its path template.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" {
                    let name = p["name"].as_str().unwrap();
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: path parameter {name} is not in the path"
                    );
                }
            }
        }
    }

    let schemas = &doc["components"]["schemas"];
    let body = &schemas["RecordBody"];
    assert_eq!(body["discriminator"]["propertyName"], "kind", "{body}");
    let mapping = body["discriminator"]["mapping"].as_object().unwrap();
    let one_of: Vec<&str> = body["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["$ref"].as_str().unwrap())
        .collect();
    let kinds = [
        ("care_note", "CareNoteBody", "text"),
        ("vital_signs", "VitalSignsBody", "pulse_bpm"),
        ("behavior_event", "BehaviorEventBody", "antecedent"),
        ("prn_administration", "PrnAdministrationBody", "medication"),
        ("prn_follow_up", "PrnFollowUpBody", "effectiveness"),
        ("wandering_alert", "WanderingAlertBody", "location"),
    ];
    assert_eq!(mapping.len(), kinds.len());
    for (tag, name, field) in kinds {
        let reference = format!("#/components/schemas/{name}");
        assert_eq!(mapping[tag], reference.as_str());
        assert!(one_of.contains(&reference.as_str()), "{one_of:?}");
        let variant = &schemas[name];
        assert_eq!(
            variant["properties"]["kind"]["enum"],
            json!([tag]),
            "{variant}"
        );
        assert!(
            variant["properties"][field].is_object(),
            "{name}: {variant}"
        );
        let required: Vec<&str> = variant["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(required.contains(&"kind"), "{name}: {required:?}");
    }
    // The wire is unchanged: the tag sits beside the kind's fields.
    let wire = serde_json::to_value(tend_domain::records::RecordBody::CareNote(
        tend_domain::records::CareNote {
            text: "Slept well".into(),
        },
    ))
    .unwrap();
    assert_eq!(wire, json!({"kind": "care_note", "text": "Slept well"}));
}
