//! tend-core's audit log client (`AdminSession::audit_log`) against the real
//! API: an organization administrator's look into another facility is on
//! the log, marked cross-facility, with names; filters and paging work; a
//! facility administrator cannot read another facility's log.

use tend_core::admin::{AdminConsole, AuditLogQuery};
use tend_domain::wire::Secret;
use tend_domain::{ErrorCode, Role};

use crate::helpers::{insert_user, spawn_app, world, PASSWORD};

#[tokio::test]
async fn the_audit_log_marks_cross_facility_views_and_filters() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (org_admin_id, org_admin) =
        insert_user(&app.owner, w.a1.org, w.a1.facility, Role::OrgAdmin).await;
    let console = AdminConsole::new("test");
    let me = console
        .sign_in(Some(&app.base), &org_admin, &Secret::new(PASSWORD))
        .await
        .unwrap();
    assert_eq!(me.facility_id, w.a1.facility, "the console knows home");
    let session = console.session().await.unwrap();

    // Switching to A2 and looking at its devices is a cross-facility read.
    session.devices(w.a2.facility).await.unwrap();
    let mine = AuditLogQuery {
        actor_user_id: Some(org_admin_id as u32),
        ..Default::default()
    };
    let page = session.audit_log(&mine).await.unwrap();
    let view = page
        .items
        .iter()
        .find(|e| e.facility_id == Some(w.a2.facility))
        .expect("the view of A2 is on the log");
    assert!(view.cross_facility);
    assert!(!view.denied);
    assert_eq!(view.facility_name.as_deref(), Some("A2"));
    assert_eq!(view.actor_name.as_deref(), Some("Test ORG_ADMIN"));

    // Only cross-facility rows, only in A2.
    let cross = session
        .audit_log(&AuditLogQuery {
            facility_id: Some(w.a2.facility as u32),
            cross_facility_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!cross.items.is_empty());
    assert!(cross
        .items
        .iter()
        .all(|e| e.cross_facility && e.facility_id == Some(w.a2.facility)));

    // A family of actions matches by prefix only.
    let devices_only = session
        .audit_log(&AuditLogQuery {
            action_prefix: Some("device.".into()),
            ..mine.clone()
        })
        .await
        .unwrap();
    assert!(!devices_only.items.is_empty());
    assert!(devices_only
        .items
        .iter()
        .all(|e| e.action.starts_with("device.")));

    // Paging: 60 more reads make a second page with no row twice.
    for _ in 0..60 {
        session.devices(w.a2.facility).await.unwrap();
    }
    let first = session.audit_log(&mine).await.unwrap();
    let cursor = first.next_cursor.clone().expect("a second page");
    let second = session
        .audit_log(&AuditLogQuery {
            cursor: Some(cursor),
            ..mine.clone()
        })
        .await
        .unwrap();
    assert!(!second.items.is_empty());
    let last_of_first = first.items.last().unwrap().id;
    assert!(second.items.iter().all(|e| e.id < last_of_first));

    // A bad filter never reaches the server; its field is named.
    let err = session
        .audit_log(&AuditLogQuery {
            action_prefix: Some("%".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed);
    assert!(err.fields().contains_key("action_prefix"));

    // A facility administrator of A1 cannot read A2's log.
    let (_, fa) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::FacilityAdmin).await;
    let fa_console = AdminConsole::new("test");
    fa_console
        .sign_in(Some(&app.base), &fa, &Secret::new(PASSWORD))
        .await
        .unwrap();
    let err = fa_console
        .session()
        .await
        .unwrap()
        .audit_log(&AuditLogQuery {
            facility_id: Some(w.a2.facility as u32),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err.code(), ErrorCode::NotFound | ErrorCode::Forbidden),
        "{err:?}"
    );
}

/// The console's tamper check and CSV export through tend-core: an
/// organization administrator may check now and sees the verdict; a facility
/// administrator sees it but may not start one; the export lands as a new
/// file holding the filtered events only.
#[tokio::test]
async fn the_console_checks_the_chain_and_saves_the_filtered_log_as_csv() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (_, org_admin) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::OrgAdmin).await;
    let (_, facility_admin) =
        insert_user(&app.owner, w.a1.org, w.a1.facility, Role::FacilityAdmin).await;
    let console = AdminConsole::new("test");
    console
        .sign_in(Some(&app.base), &org_admin, &Secret::new(PASSWORD))
        .await
        .unwrap();
    let session = console.session().await.unwrap();
    session.devices(w.a2.facility).await.unwrap();

    let before = session.audit_chain().await.unwrap();
    assert!(before.can_verify);
    assert!(before.chains.is_empty(), "never checked yet");
    let checked = session.verify_audit_chain().await.unwrap();
    assert_eq!(checked.chains.len(), 1);
    let line = &checked.chains[0];
    assert_eq!(line.organization_id, Some(w.a1.org));
    assert!(line.intact && line.from_console && line.events_checked >= 1);

    let dir = tempfile::tempdir().unwrap();
    let now = chrono::Utc::now();
    let query = AuditLogQuery {
        facility_id: Some(w.a2.facility as u32),
        action_prefix: Some("device.".into()),
        ..Default::default()
    };
    let saved = session
        .export_audit_csv(&query, dir.path(), now)
        .await
        .unwrap();
    assert!(!saved.truncated);
    let csv = std::fs::read_to_string(&saved.path).unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("id,recorded_at,"));
    let rows: Vec<&str> = lines.collect();
    assert!(!rows.is_empty());
    for row in &rows {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells[3], w.a2.facility.to_string(), "{row}");
        assert!(cells[8].starts_with("device."), "{row}");
    }
    // The same second again: a new name is refused rather than overwritten.
    let again = session.export_audit_csv(&query, dir.path(), now).await;
    assert!(again.is_err());

    console.sign_out().await;
    console
        .sign_in(Some(&app.base), &facility_admin, &Secret::new(PASSWORD))
        .await
        .unwrap();
    let session = console.session().await.unwrap();
    let seen = session.audit_chain().await.unwrap();
    assert!(!seen.can_verify);
    assert_eq!(seen.chains.len(), 1, "the organization's verdict");
    let refused = session.verify_audit_chain().await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::Forbidden);
}
