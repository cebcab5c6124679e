//! Live wandering alerts: a Server-Sent Events channel from the API to a
//! facility's devices, the acknowledgement, and the escalation of alerts
//! nobody acknowledged. Alerts are opened by the database when a
//! `wandering_alert` record is stored (migration 0019); every change is an
//! event with a position and a NOTIFY. Each API instance keeps one listener
//! connection (shared with token revocations) and fans notices out to its
//! own push connections, so any instance behind a load balancer serves any
//! device.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::Json;
use futures_util::stream::{self, Stream, StreamExt};
use sqlx::PgPool;
use tend_domain::wire::{AlertEvent, ErrorBody, LiveAlert, DEFAULT_WANDERING_ESCALATION_MINUTES};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::context::{begin_scoped, insert_audit, Audit, Ctx, Scope};
use crate::error::{ApiError, Result};
use crate::identity::DeviceAuth;
use crate::AppState;

/// The channel the database notifies on (migration 0019).
pub const ALERT_CHANNEL: &str = "tend_wandering_alert";

/// How often an idle push connection carries a comment, so proxies keep it open.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// Most events replayed to one connection (a device offline for days pulls
/// the rest of the story through sync).
const MAX_REPLAY: i64 = 1000;

/// How far back a fresh connection (no `Last-Event-ID`) is told of alerts
/// still open.
const FRESH_WINDOW_HOURS: i64 = 12;

/// This instance's fan-out: one notice from PostgreSQL, every push
/// connection of the facility.
#[derive(Debug)]
pub struct AlertHub {
    sender: std::sync::Mutex<broadcast::Sender<Arc<Notice>>>,
}

/// An event and the facility it belongs to.
#[derive(Debug)]
pub struct Notice {
    pub facility_id: i64,
    pub event: AlertEvent,
}

#[derive(serde::Deserialize)]
struct NoticeBody {
    facility_id: i64,
    event: AlertEvent,
}

impl Default for AlertHub {
    fn default() -> Self {
        // A slow connection that falls this far behind is closed and resumes
        // with Last-Event-ID.
        Self {
            sender: std::sync::Mutex::new(Self::channel()),
        }
    }
}

impl AlertHub {
    fn channel() -> broadcast::Sender<Arc<Notice>> {
        broadcast::channel(1024).0
    }

    fn sender(&self) -> broadcast::Sender<Arc<Notice>> {
        self.sender
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Notice>> {
        self.sender().subscribe()
    }

    /// Push connections this instance holds.
    pub fn connections(&self) -> usize {
        self.sender().receiver_count()
    }

    /// A notice on [`ALERT_CHANNEL`], heard by the instance's one listener
    /// connection (`identity::listen_for_revocations`), to every push
    /// connection of this instance.
    pub fn receive(&self, payload: &str) {
        match serde_json::from_str::<NoticeBody>(payload) {
            Ok(n) => {
                let _ = self.sender().send(Arc::new(Notice {
                    facility_id: n.facility_id,
                    event: n.event,
                }));
            }
            Err(e) => tracing::warn!(error = %e, "unreadable alert notice"),
        }
    }

    /// The listener lost its connection and may have missed notices: every
    /// push connection ends (its receiver sees the channel closed), and each
    /// device resumes with `Last-Event-ID` from the events table.
    pub fn restart(&self) {
        *self.sender.lock().unwrap_or_else(|p| p.into_inner()) = Self::channel();
    }
}

fn sse_event(e: &AlertEvent) -> Event {
    Event::default()
        .event("wandering_alert")
        .id(e.seq.to_string())
        .json_data(e)
        .unwrap_or_else(|_| Event::default().comment("unencodable event"))
}

/// Events of the facility after `after`, or (a fresh connection) the events
/// of alerts still open.
async fn replay(
    pool: &PgPool,
    scope: Scope,
    facility_id: i64,
    after: Option<i64>,
) -> Result<Vec<AlertEvent>> {
    let mut tx = begin_scoped(pool, scope, None).await?;
    let rows: Vec<(
        i64,
        String,
        chrono::DateTime<chrono::Utc>,
        sqlx::types::Json<LiveAlert>,
    )> = match after {
        Some(after) => {
            sqlx::query_as(
                "SELECT seq, event, at, alert FROM wandering_alert_events \
                     WHERE facility_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .bind(facility_id)
            .bind(after)
            .bind(MAX_REPLAY)
            .fetch_all(&mut *tx)
            .await?
        }
        None => {
            sqlx::query_as(
                "SELECT e.seq, e.event, e.at, e.alert FROM wandering_alert_events e \
                     JOIN wandering_alerts a ON a.id = e.alert_id \
                     WHERE e.facility_id = $1 AND a.resolved_at IS NULL \
                       AND a.raised_at > now() - make_interval(hours => $2::int) \
                     ORDER BY e.seq LIMIT $3",
            )
            .bind(facility_id)
            .bind(FRESH_WINDOW_HOURS as i32)
            .bind(MAX_REPLAY)
            .fetch_all(&mut *tx)
            .await?
        }
    };
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .filter_map(|(seq, event, at, alert)| {
            let event = serde_json::from_value(serde_json::Value::String(event)).ok()?;
            Some(AlertEvent {
                seq,
                event,
                at,
                alert: alert.0,
            })
        })
        .collect())
}

/// The position a reconnecting client sends (`Last-Event-ID`).
fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>> {
    match headers.get("last-event-id") {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<i64>().ok().filter(|n| *n >= 0))
            .map_or(Ok(None), |n| {
                n.map(Some)
                    .ok_or_else(|| ApiError::parameter("Last-Event-ID", "not an event id"))
            }),
    }
}

/// The facility's live wandering alerts, as Server-Sent Events (device token).
///
/// One connection per device. Each event is named `wandering_alert`, its
/// `id:` is the event's position and its `data:` an [`AlertEvent`]. A
/// reconnecting client sends the last position it saw as `Last-Event-ID` and
/// is sent what it missed first (at most 1000 events; sync has the records);
/// a fresh connection is first sent the events of the alerts still open from
/// the last 12 hours. A comment line every 15 seconds keeps proxies from
/// closing an idle connection. The connection ends when the device token
/// expires: reconnect with a new token and `Last-Event-ID`.
#[utoipa::path(get, path = "/api/devices/events", tag = "alerts",
    params(("Last-Event-ID" = Option<i64>, Header, description = "The last event position seen (resume after it)")),
    responses(
        (status = 200, description = "An event stream (text/event-stream) of AlertEvent", content_type = "text/event-stream", body = AlertEvent),
        (status = 400, description = "Last-Event-ID is not an event position (VALIDATION_FAILED)", body = ErrorBody),
        (status = 401, description = "No valid device token (UNAUTHORIZED, DEVICE_*)", body = ErrorBody),
        (status = 403, description = "The device's facility or organization is closed", body = ErrorBody)),
    security(("device" = [])))]
pub async fn device_events(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    headers: HeaderMap,
) -> Result<impl IntoResponse> {
    let after = last_event_id(&headers)?;
    // Revoked while listening (deactivated, moved): the stream ends at once.
    let revocations = state.identity.tokens.revocations();
    // Subscribe before reading what was missed, so nothing falls between.
    let live = state.identity.alerts.subscribe();
    let missed = replay(&state.pool, device.scope(), device.facility_id, after).await?;
    let sent: std::collections::HashSet<i64> = missed.iter().map(|e| e.seq).collect();
    let facility_id = device.facility_id;
    let until = (device.expires_at - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    let replayed = stream::iter(missed.into_iter().map(|e| Ok(sse_event(&e))));
    let live = stream::unfold((live, sent), move |(mut rx, sent)| async move {
        loop {
            match rx.recv().await {
                Ok(n) if n.facility_id == facility_id && !sent.contains(&n.event.seq) => {
                    return Some((Ok::<_, Infallible>(sse_event(&n.event)), (rx, sent)));
                }
                Ok(_) => {}
                // Fell behind: end the stream; the client resumes from its last id.
                Err(_) => return None,
            }
        }
    });
    let events: std::pin::Pin<
        Box<dyn Stream<Item = std::result::Result<Event, Infallible>> + Send>,
    > = Box::pin(
        replayed
            .chain(live)
            .take_until(ended(revocations, device.device_id, until)),
    );
    Ok((
        [(CACHE_CONTROL, "no-cache")],
        Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT)),
    ))
}

/// When a push channel must end: its token expires, or its device's tokens
/// are revoked. A receiver that fell behind may have missed its own device's
/// revocation, so it ends too (the device reconnects and is checked again).
async fn ended(
    mut revocations: tokio::sync::broadcast::Receiver<i64>,
    device_id: i64,
    until: std::time::Duration,
) {
    use tokio::sync::broadcast::error::RecvError;
    let expiry = tokio::time::sleep(until);
    tokio::pin!(expiry);
    loop {
        tokio::select! {
            () = &mut expiry => return,
            revoked = revocations.recv() => match revoked {
                Ok(id) if id == device_id => return,
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => return,
                Err(RecvError::Closed) => return expiry.await,
            },
        }
    }
}

#[derive(sqlx::FromRow)]
struct AlertRow {
    organization_id: i64,
    facility_id: i64,
    patient_id: i64,
    acknowledged: bool,
}

/// Acknowledge a wandering alert (clinical staff of its facility).
///
/// Idempotent: acknowledging an alert someone already acknowledged answers
/// 200 with the alert as it stands (the first acknowledger is kept). The
/// acknowledgement is audited and pushed to every device of the facility.
#[utoipa::path(post, path = "/api/wandering-alerts/{id}/acknowledge", tag = "alerts",
    params(("id" = Uuid, Path, description = "The wandering_alert record's id")),
    responses(
        (status = 200, description = "Acknowledged (now, or already by someone: acknowledged_by names who)", body = LiveAlert),
        (status = 400, description = "The id is not a UUID", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not clinical staff of the alert's facility", body = ErrorBody),
        (status = 404, description = "No such alert in your scope", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn acknowledge_alert(mut ctx: Ctx, Path(id): Path<String>) -> Result<Json<LiveAlert>> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::parameter("id", "not a UUID"))?;
    let row: Option<AlertRow> = sqlx::query_as(
        "SELECT organization_id, facility_id, patient_id, acknowledged_at IS NOT NULL AS acknowledged \
         FROM wandering_alerts WHERE id = $1 AND alert <> 'found' FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *ctx.tx)
    .await?;
    let row = row.ok_or(ApiError::NotFound)?;
    let p = ctx.principal;
    if !p.role.is_clinical() || p.facility_id != row.facility_id {
        return Err(ctx.deny().await);
    }
    if !row.acknowledged {
        sqlx::query(
            "UPDATE wandering_alerts SET acknowledged_at = now(), acknowledged_by = $2 WHERE id = $1",
        )
        .bind(id)
        .bind(p.user_id)
        .execute(&mut *ctx.tx)
        .await?;
        sqlx::query("SELECT tend_wandering_alert_event($1, 'acknowledged')")
            .bind(id)
            .execute(&mut *ctx.tx)
            .await?;
        ctx.audit_write(
            Audit::new("wandering_alert.acknowledge", "patient")
                .resource(row.patient_id)
                .facility(row.organization_id, row.facility_id),
        )
        .await?;
    }
    let alert: sqlx::types::Json<LiveAlert> = sqlx::query_scalar(
        "SELECT alert FROM wandering_alert_events WHERE alert_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(id)
    .fetch_one(&mut *ctx.tx)
    .await?;
    ctx.commit().await?;
    Ok(Json(alert.0))
}

/// Escalates the alerts nobody acknowledged within their facility's
/// `wandering_escalation_minutes`, once: the `UPDATE` takes each row's lock,
/// so of several instances running this at the same moment exactly one
/// returns a given alert (the others re-check `escalated_at` and skip it).
/// Returns how many it escalated.
pub async fn escalate_due(pool: &PgPool) -> Result<usize> {
    let mut tx = begin_scoped(pool, Scope::Platform, None).await?;
    let due: Vec<(Uuid, i64, i64, i64)> = sqlx::query_as(
        "UPDATE wandering_alerts a SET escalated_at = now() \
         FROM facilities f \
         WHERE f.id = a.facility_id AND a.acknowledged_at IS NULL AND a.resolved_at IS NULL \
           AND a.escalated_at IS NULL AND a.alert <> 'found' \
           AND a.raised_at <= now() - make_interval(mins => \
               CASE WHEN jsonb_typeof(f.settings -> 'wandering_escalation_minutes') = 'number' \
                    THEN (f.settings ->> 'wandering_escalation_minutes')::numeric::int \
                    ELSE $1::int END) \
         RETURNING a.id, a.organization_id, a.facility_id, a.patient_id",
    )
    .bind(DEFAULT_WANDERING_ESCALATION_MINUTES as i32)
    .fetch_all(&mut *tx)
    .await?;
    for (id, organization_id, facility_id, patient_id) in &due {
        sqlx::query("SELECT tend_wandering_alert_event($1, 'escalated')")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let audit = Audit::new("wandering_alert.escalate", "patient")
            .resource(*patient_id)
            .facility(*organization_id, *facility_id)
            .reason("nobody acknowledged the wandering alert in time");
        insert_audit(&mut tx, None, &audit, "success", false, None).await?;
    }
    tx.commit().await?;
    Ok(due.len())
}

/// Runs [`escalate_due`] every `every` (zero: never).
pub async fn run_escalations(pool: PgPool, every: Duration) {
    if every.is_zero() {
        return;
    }
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match escalate_due(&pool).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(escalated = n, "wandering alerts escalated"),
            Err(e) => tracing::warn!(error = %e, "wandering alert escalation failed"),
        }
    }
}
