//! tend-core's admin directory (`tend_core::admin_directory`) against the real
//! API: organizations, facilities, staff accounts, badges and PINs — field
//! errors on the right fields, refusals by role, nothing half-written, and a
//! badge that works at a device until it is revoked.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tend_core::admin::{AdminConsole, AdminSession};
use tend_core::admin_directory::{FacilityForm, OrganizationForm, StaffForm};
use tend_domain::wire::Secret;
use tend_domain::{ErrorCode, FacilityType, OrganizationType, Role};

use crate::helpers::{
    device_token_for, insert_org, insert_user, spawn_app, unique, world, TestApp, World, PASSWORD,
};

const BADGE: &str = "04:5A:77:C1:2B:19:80";
const PIN: &str = "58203947";

/// A console signed in as a new `role` user of facility A1 (of `org`).
async fn signed_in(app: &TestApp, org: i64, facility: i64, role: Role) -> AdminConsole {
    let (_, username) = insert_user(&app.owner, org, facility, role).await;
    let console = AdminConsole::new("test");
    console
        .sign_in(Some(&app.base), &username, &Secret::new(PASSWORD))
        .await
        .unwrap();
    console
}

fn facility_form(name: &str, timezone: &str) -> FacilityForm {
    FacilityForm {
        id: None,
        organization_id: None,
        name: name.to_owned(),
        facility_type: FacilityType::MemoryCare,
        medicaid_provider_number: "MCD-4411".to_owned(),
        medicare_provider_number: "555123".to_owned(),
        state_license_number: "OR-MC-19".to_owned(),
        licensed_beds: "24".to_owned(),
        address: "12 Elm Street, Salem, OR".to_owned(),
        timezone: timezone.to_owned(),
        features: BTreeMap::from([
            ("behavior_tracking".to_owned(), true),
            ("wandering_alerts".to_owned(), true),
            ("family_portal".to_owned(), false),
        ]),
        device_protection_minimum: None,
        policy: None,
        is_active: None,
    }
}

fn staff_form(facility_id: i64, username: &str, employee_id: &str) -> StaffForm {
    StaffForm {
        id: None,
        facility_id,
        employee_id: employee_id.to_owned(),
        username: username.to_owned(),
        full_name: "Rosa Alvarez".to_owned(),
        email: "rosa@example.org".to_owned(),
        role: Role::Rn,
        preferred_language: None,
    }
}

async fn facilities_named(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM facilities WHERE name = $1")
        .bind(name)
        .fetch_one(&app.owner)
        .await
        .unwrap()
}

async fn session(console: &AdminConsole) -> std::sync::Arc<AdminSession> {
    console.session().await.unwrap()
}

#[tokio::test]
async fn an_organization_admin_creates_and_edits_a_facility() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let console = signed_in(&app, w.a1.org, w.a1.facility, Role::OrgAdmin).await;
    let s = session(&console).await;

    // Their own organization only: they edit its details, but do not close it.
    let orgs = s.organizations().await.unwrap();
    assert_eq!(orgs.iter().map(|o| o.id).collect::<Vec<_>>(), [w.a1.org]);
    let own = s.organization(w.a1.org).await.unwrap();
    assert!(own.facility_count.unwrap() >= 2);
    let mut details = OrganizationForm {
        id: Some(own.id),
        name: "Org A Senior Care".to_owned(),
        organization_type: own.organization_type.unwrap_or(OrganizationType::SnfChain),
        npi: "1234567893".to_owned(),
        tax_id: "41-2938471".to_owned(),
        state_license_number: "MN-100".to_owned(),
        license_state: "mn".to_owned(),
        is_active: None,
    };
    let renamed = s.save_organization(&details).await.unwrap();
    assert_eq!(renamed.name, "Org A Senior Care");
    assert_eq!(renamed.tax_id.as_deref(), Some("41-2938471"));
    assert_eq!(renamed.license_state.as_deref(), Some("MN"));
    details.is_active = Some(false);
    let err = s.save_organization(&details).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
    assert!(s.organization(own.id).await.unwrap().is_active);

    // A time zone the server refuses comes back on its field; nothing is created.
    let name = unique("Maple Memory Care ");
    let err = s
        .save_facility(&facility_form(&name, "Chicago"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed);
    assert_eq!(err.fields().keys().collect::<Vec<_>>(), ["timezone"]);
    // Beds that are not a number are caught before the call.
    let mut bad_beds = facility_form(&name, "America/Chicago");
    bad_beds.licensed_beds = "twenty".to_owned();
    let err = s.save_facility(&bad_beds).await.unwrap_err();
    assert!(err.fields().contains_key("licensed_beds"), "{err:?}");
    assert_eq!(facilities_named(&app, &name).await, 0);

    let created = s
        .save_facility(&facility_form(&name, "America/Chicago"))
        .await
        .unwrap();
    assert_eq!(created.organization_id, w.a1.org);
    assert_eq!(created.licensed_beds, Some(24));
    assert_eq!(created.available_beds, Some(24));
    assert!(created.features["wandering_alerts"]);
    assert!(s
        .facilities()
        .await
        .unwrap()
        .iter()
        .any(|f| f.id == created.id));

    // Edit: renamed, beds changed, the Medicare number cleared, one feature on.
    let mut edit = facility_form(&format!("{name} (East)"), "America/Denver");
    edit.id = Some(created.id);
    edit.licensed_beds = "30".to_owned();
    edit.medicare_provider_number = " ".to_owned();
    edit.features.insert("family_portal".to_owned(), true);
    let updated = s.save_facility(&edit).await.unwrap();
    let read = s.facility(created.id).await.unwrap();
    assert_eq!(read, updated);
    assert_eq!(read.name, format!("{name} (East)"));
    assert_eq!(read.licensed_beds, Some(30));
    assert_eq!(read.medicare_provider_number, None);
    assert_eq!(read.medicaid_provider_number.as_deref(), Some("MCD-4411"));
    assert_eq!(read.timezone, "America/Denver");
    assert!(read.features["family_portal"]);

    // Another organization's facility is not there to edit.
    let mut foreign = facility_form("Not mine", "America/Chicago");
    foreign.id = Some(w.b1.facility);
    let err = s.save_facility(&foreign).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    let err = s.facility(w.b1.facility).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
}

#[tokio::test]
async fn a_facility_admin_cannot_create_facilities_or_organizations() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let console = signed_in(&app, w.a1.org, w.a1.facility, Role::FacilityAdmin).await;
    let s = session(&console).await;
    let name = unique("Refused ");
    let err = s
        .save_facility(&facility_form(&name, "America/Chicago"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
    assert_eq!(facilities_named(&app, &name).await, 0);
    let mut edit = facility_form(&name, "America/Chicago");
    edit.id = Some(w.a1.facility);
    assert_eq!(
        s.save_facility(&edit).await.unwrap_err().code(),
        ErrorCode::Forbidden
    );
    let err = s
        .save_organization(&OrganizationForm {
            id: None,
            name: name.clone(),
            organization_type: OrganizationType::SnfChain,
            npi: String::new(),
            tax_id: String::new(),
            state_license_number: String::new(),
            license_state: String::new(),
            is_active: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
    // Its own facility reads fine.
    assert_eq!(s.facility(w.a1.facility).await.unwrap().id, w.a1.facility);
}

#[tokio::test]
async fn a_facility_admin_saves_their_facilitys_policy_alone_and_devices_receive_it() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let console = signed_in(&app, w.a1.org, w.a1.facility, Role::FacilityAdmin).await;
    let s = session(&console).await;
    let before = s.facility(w.a1.facility).await.unwrap();
    let typed = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };

    // A number out of range is named on its field and nothing is sent.
    let err = s
        .save_facility_policy(
            w.a1.facility,
            &typed(&[("idle_lock_desktop_secs", "30"), ("handoff_hours", "8")]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed);
    assert_eq!(
        err.fields().keys().collect::<Vec<_>>(),
        ["policy.idle_lock_desktop_secs"]
    );
    assert_eq!(s.facility(w.a1.facility).await.unwrap(), before);

    // Their own facility: the policy changes and nothing else does.
    let saved = s
        .save_facility_policy(
            w.a1.facility,
            &typed(&[
                ("idle_lock_desktop_secs", "60"),
                ("badge_grace_hours", "0"),
                ("handoff_hours", "8"),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(saved.policy.idle_lock_desktop_secs, 60);
    assert_eq!(saved.policy.badge_grace_hours, 0);
    assert_eq!(saved.policy.handoff_hours, 8);
    assert_eq!(
        saved.policy.idle_lock_kiosk_secs,
        tend_domain::FacilityPolicy::default().idle_lock_kiosk_secs,
        "a number left out takes its default"
    );
    let read = s.facility(w.a1.facility).await.unwrap();
    assert_eq!(read, saved);
    let mut unchanged = read.clone();
    unchanged.policy = before.policy;
    assert_eq!(unchanged, before, "only the policy changed");

    // The facility's devices receive it with their next sync.
    let device = device_token_for(&app.owner, w.a1.device).await;
    let path = format!(
        "/api/sync/pull?protocol_version={}&schema_version={}",
        tend_domain::wire::SYNC_PROTOCOL_VERSION,
        tend_domain::wire::DEVICE_SCHEMA_VERSION
    );
    let r = app.call(Method::GET, &path, Some(&device), None).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let synced = r.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "facility" && c["data"]["id"] == w.a1.facility)
        .unwrap_or_else(|| panic!("no facility in the sync feed: {r:?}"));
    assert_eq!(synced["data"]["policy"]["idle_lock_desktop_secs"], 60);
    assert_eq!(synced["data"]["policy"]["handoff_hours"], 8);

    // Another facility, of their organization or another one, is not there for them.
    for other in [w.a2.facility, w.b1.facility] {
        let err = s
            .save_facility_policy(other, &typed(&[("idle_lock_desktop_secs", "60")]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::NotFound, "{other}: {err:?}");
    }
    let r = app
        .get(
            &format!("/api/facilities/{}", w.a2.facility),
            w.token(Role::OrgAdmin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        r.body["policy"]["idle_lock_desktop_secs"],
        tend_domain::FacilityPolicy::default().idle_lock_desktop_secs,
        "{r:?}"
    );
}

#[tokio::test]
async fn a_platform_admin_creates_and_edits_organizations() {
    let app = spawn_app().await;
    let platform = insert_org(&app.owner, "Platform", true).await;
    let ops = crate::helpers::insert_facility(&app.owner, platform, "Ops", None).await;
    let console = signed_in(&app, platform, ops, Role::PlatformAdmin).await;
    let s = session(&console).await;
    let mut form = OrganizationForm {
        id: None,
        name: unique("Cedar Health "),
        organization_type: OrganizationType::MultiSiteSystem,
        npi: "1234567890".to_owned(),
        tax_id: "12-3456789".to_owned(),
        state_license_number: "WA-8812".to_owned(),
        license_state: "washington".to_owned(),
        is_active: None,
    };
    // A mistyped NPI and a state that is not a code: named, nothing sent.
    let err = s.save_organization(&form).await.unwrap_err();
    assert_eq!(
        err.fields().keys().collect::<Vec<_>>(),
        ["license_state", "npi"]
    );
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM organizations WHERE name = $1")
            .bind(&form.name)
            .fetch_one(&app.owner)
            .await
            .unwrap()
    };
    assert_eq!(count().await, 0);
    form.npi = "1234567893".to_owned();
    form.license_state = "wa".to_owned();
    let created = s.save_organization(&form).await.unwrap();
    assert_eq!(created.npi.as_deref(), Some("1234567893"));
    assert_eq!(created.license_state.as_deref(), Some("WA"));
    assert!(s
        .organizations()
        .await
        .unwrap()
        .iter()
        .any(|o| o.id == created.id));

    // A second organization with the same NPI: the server names the field.
    let mut twin = form.clone();
    twin.name = unique("Twin ");
    let err = s.save_organization(&twin).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert!(err.fields().contains_key("npi"), "{err:?}");

    // Edit: the EIN cleared, deactivated.
    form.id = Some(created.id);
    form.tax_id = String::new();
    form.is_active = Some(false);
    let updated = s.save_organization(&form).await.unwrap();
    assert_eq!(updated.tax_id, None);
    assert!(!updated.is_active);
    assert_eq!(s.organization(created.id).await.unwrap().tax_id, None);

    // A facility in the new organization, on the platform admin's behalf.
    let mut facility = facility_form(&unique("Cedar North "), "America/Los_Angeles");
    facility.organization_id = Some(created.id);
    assert_eq!(
        s.save_facility(&facility).await.unwrap().organization_id,
        created.id
    );
}

#[tokio::test]
async fn staff_badge_and_pin_from_creation_to_revocation() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let console = signed_in(&app, w.a1.org, w.a1.facility, Role::FacilityAdmin).await;
    let s = session(&console).await;

    // A new nurse; her username and employee id cannot be used twice.
    let username = unique("rosa.alvarez");
    let password = Secret::new("a first password for Rosa");
    let employee_id = unique("E-");
    let rosa = s
        .save_staff(
            &staff_form(w.a1.facility, &username, &employee_id),
            Some(&password),
        )
        .await
        .unwrap();
    assert!(rosa.is_active);
    assert_eq!(rosa.email.as_deref(), Some("rosa@example.org"));
    let err = s
        .save_staff(
            &staff_form(w.a1.facility, &username, &unique("E-")),
            Some(&password),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert_eq!(err.fields().keys().collect::<Vec<_>>(), ["username"]);
    let err = s
        .save_staff(
            &staff_form(w.a1.facility, &unique("rosa.two"), &employee_id),
            Some(&password),
        )
        .await
        .unwrap_err();
    assert_eq!(err.fields().keys().collect::<Vec<_>>(), ["employee_id"]);
    // An email the server refuses, and a role above the administrator's own.
    let mut bad = staff_form(w.a1.facility, &unique("rosa.three"), &unique("E-"));
    bad.email = "rosa-at-example".to_owned();
    let err = s.save_staff(&bad, Some(&password)).await.unwrap_err();
    assert_eq!(err.fields().keys().collect::<Vec<_>>(), ["email"]);
    bad.email = String::new();
    bad.role = Role::OrgAdmin;
    let err = s.save_staff(&bad, Some(&password)).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
    let listed = s.staff(w.a1.facility).await.unwrap();
    assert!(listed.iter().any(|u| u.id == rosa.id));
    assert_eq!(listed.iter().filter(|u| u.username == username).count(), 1);

    // Edit: a new role and no email; the password stays.
    let mut edit = staff_form(w.a1.facility, &username, &employee_id);
    edit.id = Some(rosa.id);
    edit.role = Role::Lpn;
    edit.email = String::new();
    let edited = s.save_staff(&edit, None).await.unwrap();
    assert_eq!((edited.role, edited.email), (Role::Lpn, None));

    // Her language: set, kept by a form that does not name it, then cleared.
    edit.preferred_language = Some(Some(tend_domain::Language::Es));
    let edited = s.save_staff(&edit, None).await.unwrap();
    assert_eq!(edited.preferred_language, Some(tend_domain::Language::Es));
    edit.preferred_language = None;
    let edited = s.save_staff(&edit, None).await.unwrap();
    assert_eq!(edited.preferred_language, Some(tend_domain::Language::Es));
    let listed = s.staff(w.a1.facility).await.unwrap();
    let shown = listed.iter().find(|u| u.id == rosa.id).unwrap();
    assert_eq!(shown.preferred_language, Some(tend_domain::Language::Es));
    edit.preferred_language = Some(None);
    let edited = s.save_staff(&edit, None).await.unwrap();
    assert_eq!(edited.preferred_language, None);

    // A badge by its number, then a PIN; the device's badge login works.
    let err = s
        .assign_badge(rosa.id, &Secret::new("04:5A"), None)
        .await
        .unwrap_err();
    assert!(err.fields().contains_key("badge_uid"));
    let badge = s
        .assign_badge(rosa.id, &Secret::new(BADGE), Some("main badge"))
        .await
        .unwrap();
    assert!(badge.is_active);
    assert_eq!(badge.label.as_deref(), Some("main badge"));
    let err = s.set_pin(rosa.id, &Secret::new("2345")).await.unwrap_err();
    assert!(err.fields().contains_key("pin"));
    let set = s.set_pin(rosa.id, &Secret::new(PIN)).await.unwrap();
    assert_eq!(set.user_id, rosa.id);
    let device = device_token_for(&app.owner, w.a1.device).await;
    let tap = |pin: Option<&str>| {
        let mut body = json!({"badge_uid": BADGE});
        if let Some(p) = pin {
            body["pin"] = json!(p);
        }
        app.call(
            Method::POST,
            "/api/auth/badge-login",
            Some(&device),
            Some(body),
        )
    };
    let r = tap(Some(PIN)).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["user"]["id"], rosa.id);

    // The same badge for someone else in the organization is refused on its field.
    let (other, _) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Cna).await;
    let err = s
        .assign_badge(other, &Secret::new(BADGE), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert!(err.fields().contains_key("badge_uid"));

    // Revoked: listed as such, and the tap no longer signs her in.
    let revoked = s.revoke_badge(rosa.id, badge.id).await.unwrap();
    assert!(!revoked.is_active);
    assert!(revoked.revoked_at.is_some());
    let badges = s.badges(rosa.id).await.unwrap();
    assert_eq!(badges.len(), 1);
    assert!(!badges[0].is_active);
    let r = tap(Some(PIN)).await;
    assert_eq!(r.body["error"]["code"], "BADGE_REVOKED", "{r:?}");

    // Deactivated: she can no longer sign in; reactivated: she can.
    let off = s.set_staff_active(rosa.id, false).await.unwrap();
    assert!(!off.is_active);
    assert_eq!(off.role, Role::Lpn);
    let login = |pw: &'static str| {
        app.call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": username, "password": pw})),
        )
    };
    let r = login("a first password for Rosa").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    assert!(s.set_staff_active(rosa.id, true).await.unwrap().is_active);
    let r = login("a first password for Rosa").await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");

    // Another organization's staff are out of reach.
    let (foreign, _) = insert_user(&app.owner, w.b1.org, w.b1.facility, Role::Rn).await;
    assert_eq!(
        s.badges(foreign).await.unwrap_err().code(),
        ErrorCode::NotFound
    );
    assert_eq!(
        s.staff(w.b1.facility).await.unwrap_err().code(),
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn badge_numbers_and_pins_stay_out_of_the_logs() {
    // Installed first: the client's and the server's log lines, every level.
    let logs = crate::helpers::captured_logs();
    let app = spawn_app().await;
    let w: World = world(&app).await;
    let console = signed_in(&app, w.a1.org, w.a1.facility, Role::FacilityAdmin).await;
    let s = session(&console).await;
    let (nurse, _) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Rn).await;
    s.assign_badge(nurse, &Secret::new(BADGE), None)
        .await
        .unwrap();
    s.set_pin(nurse, &Secret::new(PIN)).await.unwrap();
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
    assert!(logs.contains("badge assigned"), "the capture works");
    for secret in [BADGE, "045A77C12B1980", PIN] {
        assert!(!logs.contains(secret), "{secret} in the logs");
    }
}
