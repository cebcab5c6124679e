//! tend-core's dashboard calls (`tend_core::admin::dashboard`) against the
//! real API: the figures, occupancy over time, the census update with the
//! field errors the form marks, and the codes for foreign or ended sessions.

use tend_core::admin::AdminConsole;
use tend_domain::wire::Secret;
use tend_domain::{ErrorCode, HistoryDays, Role};

use crate::helpers::{insert_user, spawn_app, world, PASSWORD};

async fn history_rows(app: &crate::helpers::TestApp, facility: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM census_history WHERE facility_id = $1")
        .bind(facility)
        .fetch_one(&app.owner)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_administrator_reads_the_dashboard_and_history_and_updates_the_census() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let fid = w.a1.facility;
    let (_, username) = insert_user(&app.owner, w.a1.org, fid, Role::FacilityAdmin).await;
    let console = AdminConsole::new("test");
    console
        .sign_in(Some(&app.base), &username, &Secret::new(PASSWORD))
        .await
        .unwrap();
    let session = console.session().await.unwrap();

    let figures = session.dashboard(fid).await.unwrap();
    assert_eq!(figures.facility_id, fid);
    assert_eq!(figures.current_census, 0);
    assert_eq!(figures.licensed_beds, Some(40));
    assert_eq!(figures.occupancy_rate, Some(0.0));
    assert_eq!(figures.available_beds, Some(40));
    assert_eq!(figures.active_devices, 1);
    assert_eq!(figures.online_devices, 0);
    assert_eq!(figures.devices_with_sync_issues, 1);

    // A valid census: saved, with the capacity the shared math derives.
    let saved = session.update_census(fid, 30).await.unwrap();
    assert_eq!(saved.current_census, 30);
    assert_eq!(saved.occupancy_rate, Some(75.0));
    assert_eq!(saved.available_beds, Some(10));
    let rows = history_rows(&app, fid).await;

    // Above the licensed beds: the server's refusal names the field.
    let err = session.update_census(fid, 41).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed);
    assert!(
        err.fields()["current_census"][0].contains("40 licensed beds"),
        "{err:?}"
    );
    // Negative: refused here, before any request.
    let err = session.update_census(fid, -2).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed);
    assert!(err.fields()["current_census"][0].contains("negative"));
    assert_eq!(history_rows(&app, fid).await, rows, "nothing was saved");

    // The world's one resident of the facility: the dashboard shows the
    // census (30) against the list (1), and the reconcile sets it to 1.
    let figures = session.dashboard(fid).await.unwrap();
    assert_eq!(figures.active_residents, 1);
    let reconciled = session.reconcile_census(fid).await.unwrap();
    assert_eq!(reconciled.current_census, 1);
    assert_eq!(reconciled.available_beds, Some(39));
    let figures = session.dashboard(fid).await.unwrap();
    assert_eq!(i64::from(figures.current_census), figures.active_residents);
    session.update_census(fid, 30).await.unwrap();
    assert_eq!(session.dashboard(fid).await.unwrap().current_census, 30);

    // Occupancy over time: 90 days ending today with the new census.
    let history = session
        .census_history(fid, HistoryDays::new(90).unwrap())
        .await
        .unwrap();
    assert_eq!(history.facility_id, fid);
    assert_eq!(history.days, 90);
    assert_eq!(history.timezone, "America/New_York");
    assert_eq!(history.points.len(), 90);
    let today = history.points.last().unwrap();
    assert_eq!(today.current_census, Some(30));
    assert_eq!(today.occupancy_rate, Some(75.0));
    assert!(
        history.points[0].current_census.is_none(),
        "before the facility existed"
    );

    // Another organization's facility is not there.
    for err in [
        session.dashboard(w.b1.facility).await.unwrap_err(),
        session
            .census_history(w.b1.facility, HistoryDays::DEFAULT)
            .await
            .unwrap_err(),
        session.update_census(w.b1.facility, 1).await.unwrap_err(),
    ] {
        assert_eq!(err.code(), ErrorCode::NotFound, "{err:?}");
    }

    // A session the server no longer accepts is forgotten.
    drop(session);
    sqlx::query("DELETE FROM auth_tokens")
        .execute(&app.owner)
        .await
        .unwrap();
    let err = console
        .with_session(|s| async move { s.dashboard(fid).await })
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unauthorized);
    assert_eq!(console.user().await, None);
}

#[tokio::test]
async fn an_org_admin_updates_another_facility_of_its_organization() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (_, username) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::OrgAdmin).await;
    let console = AdminConsole::new("test");
    console
        .sign_in(Some(&app.base), &username, &Secret::new(PASSWORD))
        .await
        .unwrap();
    let session = console.session().await.unwrap();
    let saved = session.update_census(w.a2.facility, 12).await.unwrap();
    assert_eq!(saved.facility_id, w.a2.facility);
    let history = session
        .census_history(w.a2.facility, HistoryDays::new(7).unwrap())
        .await
        .unwrap();
    assert_eq!(history.points.last().unwrap().current_census, Some(12));
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE facility_id = $1 AND cross_facility \
         AND action IN ('facility.census.update', 'facility.census_history')",
    )
    .bind(w.a2.facility)
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(audited, 2);
}
