//! Live wandering alerts on the device: the push channel runs beside sync
//! for as long as the enrolled session does; the list merges pushed events
//! with synced records, so it is right whichever arrives first. The list is
//! what the lock screen may show (room and first name), so it needs nobody
//! signed in; acknowledging does (online, as the signed-in user).

use chrono::Utc;
use tend_domain::wire::LiveAlert;
use uuid::Uuid;

use super::DeviceRuntime;
use crate::alerts::{run_push, LinkFeed, WanderingAlerts};
use crate::api_call::Caller;
use crate::sync::alerts::ALERT_WINDOW;
use crate::{CoreError, Result};

impl DeviceRuntime {
    /// Starts the push channel; the caller aborts it when the session ends.
    pub(super) fn start_alerts(&self) -> Option<tokio::task::JoinHandle<()>> {
        let started = self.inner.started.get()?;
        let runtime = self.clone();
        Some(started.handle.spawn(async move {
            let feed = LinkFeed(runtime.inner.link.clone());
            let state = runtime.inner.alerts.clone();
            let changed = || {
                let runtime = runtime.clone();
                runtime
                    .clone()
                    .spawn(async move { runtime.alerts_changed().await });
            };
            run_push(&feed, &state, changed).await;
        }))
    }

    /// Tells the window the current list.
    pub(super) async fn alerts_changed(&self) {
        match self.wandering_alerts().await {
            Ok(list) => self.tell(|e| e.alerts_changed(&list)),
            Err(e) => tracing::warn!(code = %e.code(), "wandering alerts not read"),
        }
    }

    /// The facility's open wandering alerts: pushed ones merged with the
    /// synced records of the last 12 hours.
    pub async fn wandering_alerts(&self) -> Result<WanderingAlerts> {
        let recorded = match self.sync_engine_if_running() {
            Some(engine) => engine.recorded_alerts().await?,
            None => Vec::new(),
        };
        let state = &self.inner.alerts;
        Ok(WanderingAlerts {
            alerts: state.merged(recorded, Utc::now() - ALERT_WINDOW),
            live: state.connected(),
        })
    }

    /// Acknowledges an alert as the signed-in clinician (online; the server
    /// keeps the first acknowledger when someone was quicker).
    pub async fn acknowledge_wandering_alert(&self, id: Uuid) -> Result<LiveAlert> {
        let (access, api) = self.online_user("acknowledging a wandering alert").await?;
        if !access.user.role.is_clinical() {
            return Err(CoreError::Api {
                code: tend_domain::ErrorCode::Forbidden,
                message: "only clinical staff acknowledge wandering alerts".to_owned(),
            });
        }
        let request = api.request(
            reqwest::Method::POST,
            &format!("/api/wandering-alerts/{id}/acknowledge"),
        );
        let alert: LiveAlert = crate::api_call::send(request.json(&serde_json::json!({}))).await?;
        self.inner.alerts.acknowledged(alert.clone());
        self.alerts_changed().await;
        Ok(alert)
    }
}
