//! Wandering alerts as the vault knows them: alert records synced (or written
//! here) in the last [`ALERT_WINDOW`] that no later `found` closed. This is
//! how alerts still reach the screen when the push channel is down; the push
//! channel adds who acknowledged and escalations (see [`crate::alerts`]).

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection};
use tend_domain::records::{RecordBody, RecordKind, WanderingAlertType};
use tend_domain::wire::LiveAlert;
use uuid::Uuid;

use super::store::{clock_offset, parse_ts, ts};
use crate::vault::migrate::db_error;
use crate::{CoreError, Result};

/// How far back an alert stays on screen without a `found`.
pub const ALERT_WINDOW: Duration = Duration::hours(12);

/// Open alerts of residents in care, oldest first. `now` is this device's
/// clock (corrected by the measured server offset).
pub fn recorded_alerts(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<LiveAlert>> {
    let now = now + clock_offset(conn)?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT r.id, r.patient_id, p.first_name, p.room, r.body, r.sort_at, r.amends
             FROM records r
             JOIN roster_patients p ON p.server_id = r.patient_id
             WHERE p.status IN ('active', 'on_leave') AND r.kind = ?1
               AND r.sync_state <> 'rejected' AND r.sort_at >= ?2
             ORDER BY r.sort_at, r.id",
        )
        .map_err(db_error)?;
    let rows = stmt
        .query_map(
            params![RecordKind::WanderingAlert.as_str(), ts(now - ALERT_WINDOW)],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    parse_ts(&r.get::<_, String>(5)?)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            },
        )
        .map_err(db_error)?;
    let mut open: Vec<(i64, LiveAlert)> = Vec::new();
    for row in rows {
        let (id, patient_id, first_name, room, body, at, amends) = row.map_err(db_error)?;
        let RecordBody::WanderingAlert(alert) = serde_json::from_str(&body)
            .map_err(|e| CoreError::Database(format!("stored JSON: {e}")))?
        else {
            continue;
        };
        match alert.alert {
            // Found: every earlier alert of the resident is over.
            WanderingAlertType::Found => open.retain(|(p, _)| *p != patient_id),
            // A corrected alert (amends) replaces the one it amends.
            _ => {
                if let Some(amended) = amends.as_deref().and_then(|a| Uuid::parse_str(a).ok()) {
                    open.retain(|(_, a)| a.id != amended);
                }
                open.push((
                    patient_id,
                    LiveAlert {
                        id: Uuid::parse_str(&id)
                            .map_err(|e| CoreError::Database(format!("stored record id: {e}")))?,
                        room,
                        first_name,
                        alert: alert.alert,
                        location: alert.location,
                        occurred_at: at,
                        acknowledged_at: None,
                        acknowledged_by: None,
                        escalated_at: None,
                        resolved_at: None,
                    },
                ));
            }
        }
    }
    Ok(open.into_iter().map(|(_, a)| a).collect())
}

#[cfg(test)]
mod tests {
    use tend_domain::records::WanderingAlert;
    use tend_domain::PatientStatus;

    use super::*;
    use crate::sync::testing::{apply, engine, patient, pulled};

    fn alert(kind: WanderingAlertType, location: &str) -> RecordBody {
        RecordBody::WanderingAlert(WanderingAlert {
            alert: kind,
            location: location.into(),
            note: None,
        })
    }

    #[tokio::test]
    async fn synced_alerts_are_open_until_a_later_found_and_show_room_and_first_name() {
        let (engine, _dir) = engine();
        let now = Utc::now();
        let ago = |minutes: i64| now - Duration::minutes(minutes);
        let (first, a) = pulled(
            1,
            ago(30),
            None,
            alert(WanderingAlertType::ExitDoor, "east exit"),
        );
        let (_, found) = pulled(
            1,
            ago(20),
            Some(first),
            alert(WanderingAlertType::Found, "garden"),
        );
        let (second, b) = pulled(
            1,
            ago(10),
            None,
            alert(WanderingAlertType::Missing, "garden"),
        );
        let (_, old) = pulled(
            2,
            ago(13 * 60),
            None,
            alert(WanderingAlertType::Missing, "lobby"),
        );
        let (_, gone) = pulled(3, ago(5), None, alert(WanderingAlertType::Missing, "lobby"));
        apply(
            &engine,
            vec![
                patient(1, "Maria", "12", PatientStatus::Active),
                patient(2, "Ada", "14", PatientStatus::Active),
                patient(3, "Edith", "15", PatientStatus::Discharged),
                a,
                found,
                b,
                old,
                gone,
            ],
        );
        let alerts = {
            let vault = engine.vault().lock().unwrap();
            recorded_alerts(vault.connection(), now).unwrap()
        };
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].id, second);
        assert_eq!(alerts[0].first_name, "Maria");
        assert_eq!(alerts[0].room.as_deref(), Some("12"));
        assert_eq!(alerts[0].alert, WanderingAlertType::Missing);
        assert!(alerts[0].is_active());
    }
}
