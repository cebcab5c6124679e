//! The isolation matrix: every endpoint that takes a tenant id × every role ×
//! a target in the caller's own facility, another facility of its
//! organization, and another organization. Expected outcomes come from a
//! small model of the policy, not from a hand-written table:
//!   visible  = platform admin: always; org admin: same organization; others: own facility
//!   status   = 404 if not visible, else 403 if the role may not, else 2xx
//! Successful cross-facility access by an ORG_ADMIN, and any access by a
//! PLATFORM_ADMIN, must leave an audit row; refused requests must carry no data.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tend_domain::Role;

use crate::helpers::{spawn_app, unique, Site, World};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    OwnFacility,
    OtherFacilitySameOrg,
    OtherOrganization,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The resource lives in a facility.
    Facility,
    /// The resource is the organization itself.
    Organization,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allowed {
    Everyone,
    Admins,
    OrgAdmins,
    /// Roles that admit and edit residents (RN, LPN, admins).
    ResidentManagers,
    /// The same, checked before the body is read: a role that may never
    /// admit anyone gets 403 whatever facility the body names.
    ResidentManagersRoleFirst,
}

impl Allowed {
    fn permits(self, role: Role) -> bool {
        match self {
            Allowed::Everyone => true,
            Allowed::Admins => role.is_admin(),
            Allowed::OrgAdmins => matches!(role, Role::OrgAdmin | Role::PlatformAdmin),
            Allowed::ResidentManagers | Allowed::ResidentManagersRoleFirst => {
                role.may_manage_residents()
            }
        }
    }
}

struct Endpoint {
    name: &'static str,
    /// The documented route this case exercises.
    route: &'static str,
    method: Method,
    level: Level,
    allowed: Allowed,
    write: bool,
    build: fn(&Site) -> (String, Option<Value>),
}

fn endpoints() -> Vec<Endpoint> {
    use Allowed::*;
    use Level::*;
    let e = |name, route, method, level, allowed, write, build| Endpoint {
        name,
        route,
        method,
        level,
        allowed,
        write,
        build,
    };
    vec![
        e(
            "get organization",
            "/api/organizations/{id}",
            Method::GET,
            Organization,
            Everyone,
            false,
            |s| (format!("/api/organizations/{}", s.org), None),
        ),
        e(
            "update organization",
            "/api/organizations/{id}",
            Method::PUT,
            Organization,
            OrgAdmins,
            true,
            |s| {
                (
                    format!("/api/organizations/{}", s.org),
                    Some(json!({"state_license_number": unique("LIC-")})),
                )
            },
        ),
        e(
            "create facility",
            "/api/facilities",
            Method::POST,
            Organization,
            OrgAdmins,
            true,
            |s| {
                let body = json!({"organization_id": s.org, "name": unique("New Site "), "facility_type": "HOSPICE"});
                ("/api/facilities".to_owned(), Some(body))
            },
        ),
        e(
            "get facility",
            "/api/facilities/{id}",
            Method::GET,
            Facility,
            Everyone,
            false,
            |s| (format!("/api/facilities/{}", s.facility), None),
        ),
        e(
            "update facility",
            "/api/facilities/{id}",
            Method::PUT,
            Facility,
            OrgAdmins,
            true,
            |s| {
                (
                    format!("/api/facilities/{}", s.facility),
                    Some(json!({"address": unique("1 Main St #")})),
                )
            },
        ),
        e(
            "update census",
            "/api/facilities/{id}/census",
            Method::PUT,
            Facility,
            Admins,
            true,
            |s| {
                (
                    format!("/api/facilities/{}/census", s.facility),
                    Some(json!({"current_census": 3})),
                )
            },
        ),
        e(
            "reconcile census",
            "/api/facilities/{id}/census/reconcile",
            Method::POST,
            Facility,
            Admins,
            true,
            |s| {
                (
                    format!("/api/facilities/{}/census/reconcile", s.facility),
                    None,
                )
            },
        ),
        e(
            "facility devices",
            "/api/facilities/{id}/devices",
            Method::GET,
            Facility,
            Admins,
            false,
            |s| (format!("/api/facilities/{}/devices", s.facility), None),
        ),
        e(
            "facility dashboard",
            "/api/facilities/{id}/dashboard",
            Method::GET,
            Facility,
            Admins,
            false,
            |s| (format!("/api/facilities/{}/dashboard", s.facility), None),
        ),
        e(
            "facility census history",
            "/api/facilities/{id}/census-history",
            Method::GET,
            Facility,
            Admins,
            false,
            |s| {
                (
                    format!("/api/facilities/{}/census-history?days=90", s.facility),
                    None,
                )
            },
        ),
        e(
            "list devices by facility",
            "/api/devices",
            Method::GET,
            Facility,
            Admins,
            false,
            |s| (format!("/api/devices?facility_id={}", s.facility), None),
        ),
        e(
            "get device",
            "/api/devices/{id}",
            Method::GET,
            Facility,
            Admins,
            false,
            |s| (format!("/api/devices/{}", s.device), None),
        ),
        e(
            "update device",
            "/api/devices/{id}",
            Method::PUT,
            Facility,
            Admins,
            true,
            |s| {
                (
                    format!("/api/devices/{}", s.device),
                    Some(json!({"app_version": unique("1.0.")})),
                )
            },
        ),
        e(
            "deactivate device",
            "/api/devices/{id}/deactivate",
            Method::POST,
            Facility,
            Admins,
            true,
            |s| (format!("/api/devices/{}/deactivate", s.device), None),
        ),
        e(
            "register device",
            "/api/devices",
            Method::POST,
            Facility,
            Admins,
            true,
            |s| {
                let body = json!({"facility_id": s.facility, "device_name": "Hall Kiosk", "device_type": "RASPBERRY_PI",
                "device_uuid": uuid::Uuid::new_v4().to_string()});
                ("/api/devices".to_owned(), Some(body))
            },
        ),
        e(
            "create enrollment code",
            "/api/facilities/{id}/enrollment-codes",
            Method::POST,
            Facility,
            Admins,
            true,
            |s| {
                (
                    format!("/api/facilities/{}/enrollment-codes", s.facility),
                    Some(json!({"max_uses": 2})),
                )
            },
        ),
        e(
            "list enrollment codes",
            "/api/facilities/{id}/enrollment-codes",
            Method::GET,
            Facility,
            Admins,
            false,
            |s| {
                (
                    format!("/api/facilities/{}/enrollment-codes", s.facility),
                    None,
                )
            },
        ),
        e(
            "revoke enrollment code",
            "/api/facilities/{id}/enrollment-codes/{code_id}/revoke",
            Method::POST,
            Facility,
            Admins,
            true,
            |s| {
                (
                    format!(
                        "/api/facilities/{}/enrollment-codes/{}/revoke",
                        s.facility, s.code
                    ),
                    None,
                )
            },
        ),
        e(
            "approve device",
            "/api/devices/{id}/approve",
            Method::POST,
            Facility,
            Admins,
            true,
            |s| (format!("/api/devices/{}/approve", s.pending_device), None),
        ),
        e(
            "reject device",
            "/api/devices/{id}/reject",
            Method::POST,
            Facility,
            Admins,
            true,
            |s| (format!("/api/devices/{}/reject", s.pending_device2), None),
        ),
        e(
            "list users by facility",
            "/api/users",
            Method::GET,
            Facility,
            Admins,
            false,
            |s| (format!("/api/users?facility_id={}", s.facility), None),
        ),
        e(
            "get user",
            "/api/users/{id}",
            Method::GET,
            Facility,
            Admins,
            false,
            |s| (format!("/api/users/{}", s.staff), None),
        ),
        e(
            "update user",
            "/api/users/{id}",
            Method::PUT,
            Facility,
            Admins,
            true,
            |s| {
                (
                    format!("/api/users/{}", s.staff),
                    Some(json!({"full_name": unique("Renamed ")})),
                )
            },
        ),
        e(
            "create user",
            "/api/users",
            Method::POST,
            Facility,
            Admins,
            true,
            |s| {
                let body = json!({"facility_id": s.facility, "employee_id": unique("EMP"), "username": unique("new.cna"),
                "full_name": "New Aide", "role": "CNA", "password": "a long enough password"});
                ("/api/users".to_owned(), Some(body))
            },
        ),
        e(
            "sign a user out everywhere",
            "/api/users/{id}/sign-out-everywhere",
            Method::POST,
            Facility,
            Admins,
            true,
            |s| (format!("/api/users/{}/sign-out-everywhere", s.staff), None),
        ),
        e(
            "list badges",
            "/api/users/{id}/badges",
            Method::GET,
            Facility,
            Admins,
            false,
            |s| (format!("/api/users/{}/badges", s.staff), None),
        ),
        e(
            "assign badge",
            "/api/users/{id}/badges",
            Method::POST,
            Facility,
            Admins,
            true,
            |s| {
                // A fresh 7-byte UID each time, so no case collides with another.
                let uid = &uuid::Uuid::new_v4().simple().to_string()[..14];
                (
                    format!("/api/users/{}/badges", s.staff),
                    Some(json!({"badge_uid": uid, "label": "matrix"})),
                )
            },
        ),
        e(
            "revoke badge",
            "/api/users/{id}/badges/{badge_id}/revoke",
            Method::POST,
            Facility,
            Admins,
            true,
            |s| {
                (
                    format!("/api/users/{}/badges/{}/revoke", s.staff, s.badge),
                    None,
                )
            },
        ),
        e(
            "set PIN",
            "/api/users/{id}/pin",
            Method::PUT,
            Facility,
            Admins,
            true,
            |s| {
                (
                    format!("/api/users/{}/pin", s.staff),
                    Some(json!({"pin": "4821"})),
                )
            },
        ),
        e(
            "list patients by facility",
            "/api/patients",
            Method::GET,
            Facility,
            Everyone,
            false,
            |s| {
                (
                    format!("/api/patients?facility_id={}&status=active", s.facility),
                    None,
                )
            },
        ),
        e(
            "get patient",
            "/api/patients/{id}",
            Method::GET,
            Facility,
            Everyone,
            false,
            |s| (format!("/api/patients/{}", s.patient), None),
        ),
        e(
            "patient records",
            "/api/patients/{id}/records",
            Method::GET,
            Facility,
            Everyone,
            false,
            |s| (format!("/api/patients/{}/records", s.patient), None),
        ),
        e(
            "update patient",
            "/api/patients/{id}",
            Method::PUT,
            Facility,
            ResidentManagers,
            true,
            |s| {
                (
                    format!("/api/patients/{}", s.patient),
                    Some(json!({"room": unique("R")})),
                )
            },
        ),
        e(
            "create patient",
            "/api/patients",
            Method::POST,
            Facility,
            ResidentManagersRoleFirst,
            true,
            |s| {
                let body = json!({"facility_id": s.facility, "mrn": unique("MRN-NEW-"), "first_name": "Grace",
                "last_name": "Hopper", "date_of_birth": "1936-12-09"});
                ("/api/patients".to_owned(), Some(body))
            },
        ),
        e(
            "issue visitor code",
            "/api/patients/{id}/visitor-codes",
            Method::POST,
            Facility,
            Everyone,
            true,
            |s| {
                (
                    format!("/api/patients/{}/visitor-codes", s.patient),
                    Some(json!({"visitor_name": "Ana Hernández", "relationship": "daughter"})),
                )
            },
        ),
        e(
            "list visitor codes",
            "/api/patients/{id}/visitor-codes",
            Method::GET,
            Facility,
            Everyone,
            false,
            |s| (format!("/api/patients/{}/visitor-codes", s.patient), None),
        ),
        e(
            "revoke visitor code",
            "/api/patients/{id}/visitor-codes/{code_id}/revoke",
            Method::POST,
            Facility,
            Everyone,
            true,
            |s| {
                (
                    format!(
                        "/api/patients/{}/visitor-codes/{}/revoke",
                        s.patient, s.visitor_code
                    ),
                    None,
                )
            },
        ),
        e(
            "publish family update",
            "/api/patients/{id}/family-updates",
            Method::POST,
            Facility,
            Everyone,
            true,
            |s| {
                (
                    format!("/api/patients/{}/family-updates", s.patient),
                    Some(json!({"kind": "activity", "body": "Sang in the choir"})),
                )
            },
        ),
        e(
            "list family updates",
            "/api/patients/{id}/family-updates",
            Method::GET,
            Facility,
            Everyone,
            false,
            |s| (format!("/api/patients/{}/family-updates", s.patient), None),
        ),
        e(
            "list family messages",
            "/api/patients/{id}/family-messages",
            Method::GET,
            Facility,
            Everyone,
            false,
            |s| (format!("/api/patients/{}/family-messages", s.patient), None),
        ),
        e(
            "audit events by facility",
            "/api/audit-events",
            Method::GET,
            Facility,
            Admins,
            false,
            |s| {
                (
                    format!("/api/audit-events?facility_id={}", s.facility),
                    None,
                )
            },
        ),
        // Exports are always audited (written), whoever asks.
        e(
            "audit export as CSV by facility",
            "/api/audit-events/export/csv",
            Method::GET,
            Facility,
            Admins,
            true,
            |s| {
                (
                    format!("/api/audit-events/export/csv?facility_id={}", s.facility),
                    None,
                )
            },
        ),
        e(
            "audit export as FHIR by resident",
            "/api/audit-events/export/fhir",
            Method::GET,
            Facility,
            Admins,
            true,
            |s| {
                (
                    format!(
                        "/api/audit-events/export/fhir?facility_id={}&patient_id={}",
                        s.facility, s.patient
                    ),
                    None,
                )
            },
        ),
        e(
            "import into organization",
            "/api/organizations/{id}/import",
            Method::POST,
            Organization,
            OrgAdmins,
            true,
            |s| {
                let csv = format!(
                    "name,facility_type,licensed_beds\n{},ALF,10\n",
                    unique("Imported ")
                );
                (
                    format!("/api/organizations/{}/import", s.org),
                    Some(json!({"facilities": {"name": "facilities.csv", "csv": csv}})),
                )
            },
        ),
    ]
}

/// Routes that take no tenant id at all, so they have no foreign variant:
/// health, the document, login/logout/me, and creating an organization
/// (platform-only; refused for others in `validation`).
const TENANT_FREE: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/openapi.json"),
    ("post", "/api/auth/login"),
    // Badge login is device-authenticated: the tenant is the device's, and
    // `badges` tests which users a device may log in.
    ("post", "/api/auth/badge-login"),
    ("post", "/api/auth/logout"),
    ("get", "/api/auth/me"),
    // The caller's own sessions; `login_abuse` tests it.
    ("post", "/api/auth/sign-out-everywhere"),
    // The caller's own language: no id is taken, so nobody else's row can be
    // named; `language::a_cna_sets_their_own_language_but_not_anyone_elses` tests it.
    ("put", "/api/users/me/language"),
    ("get", "/api/organizations"),
    ("post", "/api/organizations"),
    ("get", "/api/facilities"),
    // Device endpoints: unauthenticated enrollment and authentication, and
    // the device-token heartbeat (own id only). The tenant comes from the
    // code or the device's token, never from the caller; `identity` tests them.
    ("post", "/api/devices/enroll"),
    ("post", "/api/devices/auth/challenge"),
    ("post", "/api/devices/auth/token"),
    // The server's public order-signing key: the same for every tenant.
    ("get", "/api/server-key"),
    ("post", "/api/devices/{id}/heartbeat"),
    // The vault secret: the device's own token and id only (403 for another
    // id, 401 without a token; `device_client` tests both).
    ("get", "/api/devices/{id}/vault-secret"),
    ("post", "/api/devices/{id}/vault-secret/rotate"),
    ("delete", "/api/devices/{id}/vault-secret/previous"),
    // The server's public order-signing key: the same for everyone.
    ("get", "/api/server-key"),
    // Family check-in is device-authenticated (the device's facility) and
    // the family endpoints are bound to one resident by the family session;
    // `family` tests them, and `a_family_token_opens_nothing_else` below.
    ("post", "/api/family/check-in"),
    ("get", "/api/family/summary"),
    ("post", "/api/family/messages"),
    ("post", "/api/family/end"),
    // Sync: device token only, the facility always the token's; `sync`
    // tests that a device never receives another facility's rows, even with
    // a copied or forged cursor.
    ("post", "/api/sync/push"),
    ("get", "/api/sync/pull"),
    // Live wandering alerts: the push channel is device-token only (the
    // facility is the token's); acknowledging takes an alert's UUID, not a
    // tenant id, and is limited to clinical staff of the alert's facility.
    // `alerts` tests both: another facility's device is sent nothing, and an
    // acknowledgement from another organization is 404, from another
    // facility of the organization 403 or 404, by an administrator 403.
    ("get", "/api/devices/events"),
    ("post", "/api/wandering-alerts/{id}/acknowledge"),
    // The audit chain of the caller's own organization (every chain for a
    // platform admin): no tenant id is taken; `audit_chain` tests the scope.
    ("get", "/api/audit-chain"),
    ("post", "/api/audit-chain/verify"),
    // Break-glass access reaches, by design, another facility of the
    // caller's organization: outside this matrix's model (own facility only
    // for clinicians). `break_glass` tests its own matrix: a grant into
    // another facility of the organization, 404 into another organization,
    // the review queue for the admins of either facility and not of an
    // unrelated one, 403 for clinicians, 404 for foreign administrators.
    ("get", "/api/break-glass"),
    ("post", "/api/break-glass"),
    ("get", "/api/break-glass/facilities"),
    ("post", "/api/break-glass/{id}/review"),
];

/// Every documented operation is either in the matrix or has no tenant id
/// (unfiltered lists are checked by `unfiltered_lists_stay_in_scope`).
#[tokio::test]
async fn the_matrix_covers_every_documented_operation() {
    let doc = serde_json::to_value(tend_api::openapi::document()).unwrap();
    let covered: Vec<(String, String)> = endpoints()
        .iter()
        .map(|e| (e.method.as_str().to_lowercase(), e.route.to_owned()))
        .chain(
            TENANT_FREE
                .iter()
                .map(|(m, p)| ((*m).to_owned(), (*p).to_owned())),
        )
        .collect();
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if !covered.contains(&(method.clone(), path.clone())) {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "operations outside the isolation matrix: {missing:?}"
    );
}

fn visible(role: Role, level: Level, target: Target) -> bool {
    match (role, level, target) {
        (Role::PlatformAdmin, _, _) => true,
        (_, _, Target::OtherOrganization) => false,
        (_, Level::Organization, _) => true,
        (Role::OrgAdmin, Level::Facility, _) => true,
        (_, Level::Facility, t) => t == Target::OwnFacility,
    }
}

/// Every organization and facility id appearing anywhere in a JSON body.
fn tenant_ids(v: &Value, orgs: &mut Vec<i64>, facilities: &mut Vec<i64>) {
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                match (k.as_str(), val.as_i64()) {
                    ("organization_id", Some(id)) => orgs.push(id),
                    ("facility_id", Some(id)) => facilities.push(id),
                    _ => tenant_ids(val, orgs, facilities),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| tenant_ids(i, orgs, facilities)),
        _ => {}
    }
}

async fn cross_facility_audits(app: &crate::helpers::TestApp, actor: i64, facility: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE actor_user_id = $1 AND facility_id = $2 AND cross_facility")
        .bind(actor)
        .bind(facility)
        .fetch_one(&app.owner)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_endpoint_every_role_every_foreign_target() {
    let app = spawn_app().await;
    let w: World = crate::helpers::world(&app).await;
    let mut cases = 0;
    let mut failures = Vec::new();
    for endpoint in endpoints() {
        for (role, actor, token) in &w.tokens {
            for (target, site) in [
                (Target::OwnFacility, w.a1),
                (Target::OtherFacilitySameOrg, w.a2),
                (Target::OtherOrganization, w.b1),
            ] {
                cases += 1;
                let (path, body) = (endpoint.build)(&site);
                let audits_before = crate::helpers::audit_count(&app.owner, *actor).await;
                let cross_before = cross_facility_audits(&app, *actor, site.facility).await;
                let resp = app
                    .call(endpoint.method.clone(), &path, Some(token), body)
                    .await;
                let role_first = endpoint.allowed == Allowed::ResidentManagersRoleFirst;
                let expected = if role_first && !endpoint.allowed.permits(*role) {
                    StatusCode::FORBIDDEN
                } else if !visible(*role, endpoint.level, target) {
                    StatusCode::NOT_FOUND
                } else if !endpoint.allowed.permits(*role) {
                    StatusCode::FORBIDDEN
                } else if path.ends_with("/sign-out-everywhere") {
                    StatusCode::NO_CONTENT
                } else if endpoint.method == Method::POST
                    && ![
                        "/deactivate",
                        "/revoke",
                        "/approve",
                        "/reject",
                        "/import",
                        "/reconcile",
                    ]
                    .iter()
                    .any(|action| path.ends_with(action))
                {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                let label = format!("{} as {role} on {target:?} ({path})", endpoint.name);
                if resp.status != expected {
                    failures.push(format!("{label}: expected {expected}, got {resp:?}"));
                    continue;
                }
                if resp.status == StatusCode::FORBIDDEN {
                    // A refusal in scope is itself on the record; a 404 writes nothing.
                    let denied: i64 = sqlx::query_scalar(
                        "SELECT count(*) FROM audit_events WHERE actor_user_id = $1 AND outcome = 'denied' \
                         AND action = 'access.denied' AND reason = $2",
                    )
                    .bind(*actor)
                    .bind(format!("{} {}", endpoint.method, endpoint.route))
                    .fetch_one(&app.owner)
                    .await
                    .unwrap();
                    if denied == 0 {
                        failures.push(format!("{label}: refusal not audited"));
                    }
                } else if resp.status == StatusCode::NOT_FOUND
                    && crate::helpers::audit_count(&app.owner, *actor).await != audits_before
                {
                    failures.push(format!("{label}: a 404 wrote audit rows"));
                }
                if !resp.status.is_success() {
                    // Refusals carry the error shape and nothing else.
                    let keys: Vec<_> = resp
                        .body
                        .as_object()
                        .map(|o| o.keys().cloned().collect())
                        .unwrap_or_default();
                    if keys != ["error"] || resp.body.to_string().contains("\"id\"") {
                        failures.push(format!("{label}: refusal leaked data: {}", resp.body));
                    }
                    continue;
                }
                // Success: the data belongs to the target, and the audit trail has what policy demands.
                let (mut orgs, mut facilities) = (Vec::new(), Vec::new());
                tenant_ids(&resp.body, &mut orgs, &mut facilities);
                if orgs.iter().any(|o| *o != site.org)
                    || facilities.iter().any(|f| *f != site.facility)
                {
                    failures.push(format!("{label}: foreign rows in answer: {}", resp.body));
                }
                let audits_after = crate::helpers::audit_count(&app.owner, *actor).await;
                let cross_after = cross_facility_audits(&app, *actor, site.facility).await;
                let must_audit = endpoint.write
                    || *role == Role::PlatformAdmin
                    || (*role == Role::OrgAdmin
                        && target != Target::OwnFacility
                        && endpoint.level == Level::Facility);
                if must_audit && audits_after <= audits_before {
                    failures.push(format!("{label}: no audit event written"));
                }
                let must_be_cross = endpoint.level == Level::Facility
                    && (*role == Role::PlatformAdmin
                        || (*role == Role::OrgAdmin && target != Target::OwnFacility));
                if must_be_cross && cross_after <= cross_before {
                    failures.push(format!(
                        "{label}: no cross_facility audit event for facility {}",
                        site.facility
                    ));
                }
                if target == Target::OwnFacility
                    && *role != Role::PlatformAdmin
                    && cross_after != cross_before
                {
                    failures.push(format!(
                        "{label}: own-facility access marked cross_facility"
                    ));
                }
            }
        }
    }
    assert!(cases >= 500, "only {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Lists without a facility filter return only rows inside the caller's scope.
#[tokio::test]
async fn unfiltered_lists_stay_in_scope() {
    let app = spawn_app().await;
    let w = crate::helpers::world(&app).await;
    let lists = [
        "/api/organizations",
        "/api/facilities",
        "/api/devices",
        "/api/users",
        "/api/patients",
        "/api/audit-events",
    ];
    let mut failures = Vec::new();
    for (role, _, token) in &w.tokens {
        for path in lists {
            let resp = app.get(&format!("{path}?limit=200"), token).await;
            if resp.status == StatusCode::FORBIDDEN {
                assert!(!role.is_admin(), "{path} refused {role}");
                continue;
            }
            assert_eq!(resp.status, StatusCode::OK, "{path} as {role}: {resp:?}");
            let items = resp.body["items"].as_array().expect("items");
            for item in items {
                let org = if path == "/api/organizations" {
                    item["id"].as_i64()
                } else {
                    item["organization_id"].as_i64()
                };
                let facility = if path == "/api/facilities" {
                    item["id"].as_i64()
                } else {
                    item["facility_id"].as_i64()
                };
                let ok = match role {
                    Role::PlatformAdmin => true,
                    Role::OrgAdmin => org == Some(w.a1.org),
                    _ => {
                        org == Some(w.a1.org)
                            && (path == "/api/organizations" || facility == Some(w.a1.facility))
                    }
                };
                if !ok {
                    failures.push(format!("{path} as {role} returned {item}"));
                }
            }
            if *role == Role::PlatformAdmin && path == "/api/patients" {
                assert!(items.len() >= 3, "platform admin sees all patients");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Ids that do not exist at all look exactly like foreign ones.
#[tokio::test]
async fn missing_and_foreign_ids_are_indistinguishable() {
    let app = spawn_app().await;
    let w = crate::helpers::world(&app).await;
    let token = w.token(Role::Rn);
    for path in [
        "/api/patients/",
        "/api/devices/",
        "/api/users/",
        "/api/facilities/",
        "/api/organizations/",
    ] {
        let foreign_id = match path {
            "/api/patients/" => w.b1.patient,
            "/api/devices/" => w.b1.device,
            "/api/users/" => w.b1.staff,
            "/api/facilities/" => w.b1.facility,
            _ => w.b1.org,
        };
        let foreign = app.get(&format!("{path}{foreign_id}"), token).await;
        let missing = app.get(&format!("{path}999999999"), token).await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(foreign.body, missing.body, "{path}");
    }
}

/// The family role: a family session (visitor code checked in on a kiosk)
/// opens only the family endpoints. Every other documented operation that
/// needs credentials answers 401 or 403 to it, with nothing but the error.
#[tokio::test]
async fn a_family_token_opens_nothing_else() {
    let app = spawn_app().await;
    let w = crate::helpers::world(&app).await;
    let family_token = crate::family::check_in_as_family(&app, &w.a1, w.token(Role::Rn)).await;
    let doc = serde_json::to_value(tend_api::openapi::document()).unwrap();
    let site = w.a1;
    let mut checked = 0;
    let mut failures = Vec::new();
    for (route, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let schemes: Vec<String> = op["security"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|s| s.as_object())
                        .flat_map(|s| s.keys().cloned())
                        .collect()
                })
                .unwrap_or_default();
            if schemes.is_empty() || schemes.iter().any(|s| s == "family") {
                continue;
            }
            let id = if route.starts_with("/api/organizations") {
                site.org
            } else if route.starts_with("/api/facilities") {
                site.facility
            } else if route.starts_with("/api/devices") {
                site.device
            } else if route.starts_with("/api/users") {
                site.staff
            } else {
                site.patient
            };
            let code = if route.contains("visitor-codes") {
                site.visitor_code
            } else {
                site.code
            };
            let path = route
                .replace("{id}", &id.to_string())
                .replace("{code_id}", &code.to_string())
                .replace("{badge_id}", &site.badge.to_string());
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = (method != Method::GET).then(|| json!({}));
            let resp = app
                .call(method.clone(), &path, Some(&family_token), body)
                .await;
            checked += 1;
            let keys: Vec<_> = resp
                .body
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            if !matches!(
                resp.status,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            ) || keys != ["error"]
            {
                failures.push(format!("{method} {path}: {resp:?}"));
            }
        }
    }
    assert!(checked >= 40, "only {checked} operations checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // And the token does open its own endpoint.
    let summary = app.get("/api/family/summary", &family_token).await;
    assert_eq!(summary.status, StatusCode::OK, "{summary:?}");
}
