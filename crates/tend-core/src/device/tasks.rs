//! The runtime's background work: the device session (heartbeats until the
//! server ends the enrollment, then the wipe), the vault's sync loop, the
//! badge entrance reading the reader watcher, and the connectivity watch.

use std::sync::{Arc, Mutex, OnceLock};

use chrono::Utc;
use tend_badge::BadgeRead;

use super::{BadgeFeed, DeviceRuntime, Started};
use crate::app_status::{ClosedNotice, ConnectionState};
use crate::login::offline::OfflineVerifiers;
use crate::login::SessionState;
use crate::session::SessionEvent;
use crate::sync::{Placement, Relocation, SyncEngine, SyncSettings};
use crate::{CoreError, Result};
use tend_domain::ErrorCode;

/// What the login tells on every change: the window hears it, and lock,
/// unlock and logout go to the audit log with the next sync.
pub(super) fn session_listener(
    started: Arc<OnceLock<Started>>,
    verifiers: Arc<OfflineVerifiers>,
) -> impl Fn(&SessionState) + Send + Sync + 'static {
    let previous: Mutex<Option<SessionState>> = Mutex::new(None);
    move |session| {
        let Some(started) = started.get() else {
            return;
        };
        started.events.session_changed(session);
        let before = previous
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(session.clone());
        let Some(before) = before else {
            return;
        };
        if let Some(event) =
            crate::login::offline::session_change_event(&before, session, Utc::now())
        {
            let verifiers = verifiers.clone();
            started.handle.spawn(async move {
                if let Err(e) = verifiers.audit(event).await {
                    tracing::warn!(code = %e.code(), "session audit event not queued");
                }
            });
        }
    }
}

/// Reads the reader watcher: reader comings and goings reach the lock
/// screen, taps the badge entrance (an unsupported card the admin console's
/// badge capture when it waits, else the lock screen).
pub(super) async fn badge_entrance(runtime: DeviceRuntime, feed: BadgeFeed) {
    let BadgeFeed { mut reads, source } = feed;
    // The watcher lives as long as this task.
    let _source = source;
    while let Some(read) = reads.recv().await {
        let changed = runtime.lock_readers().apply(&read);
        if let Some(status) = changed {
            tracing::info!(status = ?status, "badge reader status");
            runtime.tell(|e| e.reader_status_changed(status));
        }
        match read {
            BadgeRead::Present { uid, .. } => {
                // Not awaited here, so removals and reader events keep
                // flowing while the server answers.
                let tapped = runtime.clone();
                runtime.spawn(async move {
                    tapped.badge_presented(uid).await;
                });
            }
            BadgeRead::Unsupported { reason, .. } => {
                tracing::info!(reason = reason.code(), "unsupported card presented");
                if !runtime.inner.admin.badge_capture().unsupported_card() {
                    runtime.inner.login.unsupported_card();
                }
            }
            _ => {}
        }
    }
}

/// Probes the server and keeps the status bar's connection state true;
/// coming back online wakes the sync loop.
pub(super) async fn watch_connection(runtime: DeviceRuntime) {
    let Some(server_url) = runtime.status().server_url else {
        return;
    };
    let client = match crate::connectivity::shared_client(&runtime.inner.info.version) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "no HTTP client; the app stays offline");
            return;
        }
    };
    let on_change = move |connection| runtime.connection_changed(connection);
    crate::connectivity::watch(
        client,
        server_url,
        crate::connectivity::PROBE_INTERVAL,
        on_change,
    )
    .await;
}

impl DeviceRuntime {
    /// Records the server's reachability and tells the window.
    fn connection_changed(&self, connection: ConnectionState) {
        if let Some((status, back_online)) = self.inner.status.set_connection(connection) {
            self.tell(|e| e.status_changed(&status));
            // Back online: what was written offline goes up now, not at
            // the end of the sync loop's back-off (up to a minute).
            if back_online {
                if let Some(engine) = self.sync_engine_if_running() {
                    engine.sync_now();
                }
            }
        }
    }

    /// The vault's state reaches the status bar and the lock screen.
    fn vault_state_changed(&self, vault: crate::vault::UnlockState) {
        if let Some(status) = self.inner.status.set_vault(vault) {
            self.tell(|e| e.status_changed(&status));
        }
    }

    /// Records whether the server refuses the device for a closed facility
    /// or organization, and tells the window.
    fn closed_changed(&self, closed: Option<ClosedNotice>) {
        if let Some(status) = self.inner.status.set_closed(closed) {
            self.tell(|e| e.status_changed(&status));
        }
    }

    /// Reads the facility from the vault: its name into the status bar, its
    /// policy into the lock screen and the family kiosk (no restart needed).
    async fn refresh_facility(&self, engine: &SyncEngine) {
        match engine.facility().await {
            Ok(facility) => {
                let policy = facility.as_ref().map(|f| f.policy).unwrap_or_default();
                self.apply_policy(&policy);
                let (name, timezone) =
                    facility.map_or((None, None), |f| (Some(f.name), Some(f.timezone)));
                if let Some(status) = self.inner.status.set_facility(name, timezone) {
                    self.tell(|e| e.status_changed(&status));
                }
            }
            Err(e) => tracing::warn!(code = %e.code(), "facility not read from the vault"),
        }
    }

    /// Applies the facility's policy to what runs in memory; the rest of it
    /// (badge grace, the nurse home's windows) is read from the vault where
    /// it is used. `TEND_IDLE_LOCK_SECS` and `TEND_FAMILY_IDLE_SECS` keep
    /// precedence when set.
    pub(crate) fn apply_policy(&self, policy: &tend_domain::FacilityPolicy) {
        let host = self.inner.policy_host;
        if !host.idle_lock_from_env {
            self.inner.login.set_idle_lock(policy.idle_lock(host.kiosk));
        }
        if !host.family_idle_from_env {
            self.inner
                .family
                .set_idle_reset(std::time::Duration::from_secs(u64::from(
                    policy.family_session_secs,
                )));
        }
    }
}

/// The enrolled device's session: sync runs beside it; heartbeats keep the
/// connection state. When the server ends the enrollment with a verified
/// order the device is wiped and the window is told to return to setup; an
/// unsigned end locks the device, keeps everything and waits to be known
/// again (then the session starts over and the outbox goes up).
pub(super) async fn run_session(runtime: DeviceRuntime) {
    loop {
        // The window learns at once that the device is enrolled (status bar).
        let status = runtime.status();
        runtime.tell(|e| e.status_changed(&status));
        let sync = start_sync(&runtime).await;
        let push = runtime.start_alerts();
        let reporting = sync.as_ref().map(|(engine, _)| engine.clone());
        let result = heartbeats(&runtime, reporting).await;
        if let Some(push) = push {
            push.abort();
        }
        // The session is over (wiped, held, or ended): sync stops and lets go of the vault.
        if let Some((_, stop)) = sync {
            let _ = stop.send(true);
        }
        runtime.set_sync_engine(None);
        runtime.inner.login.api().offline.attach(None);
        let resume = match result {
            Ok(crate::session::SessionOutcome::Held(notice)) => hold(&runtime, notice).await,
            Ok(crate::session::SessionOutcome::Wiped(_)) => false,
            Err(e) => {
                tracing::error!(code = %e.code(), error = %e, "device session ended with an error");
                false
            }
        };
        if !resume {
            break;
        }
        tracing::info!("the server knows this device again; the session starts over");
    }
    runtime
        .inner
        .session_running
        .store(false, std::sync::atomic::Ordering::SeqCst);
    // Wiped (even partly): the enrollment is gone, so back to setup.
    if matches!(runtime.inner.enrollment.saved(), Ok(None)) {
        runtime.inner.link.forget().await;
        runtime.inner.alerts.clear();
        // Nobody stays signed in on a wiped device; no visit goes on.
        runtime.inner.login.logout();
        runtime.inner.family.end().await;
        let status = runtime.inner.status.forget_server();
        runtime.tell(|e| e.status_changed(&status));
        if let Ok(Some(notice)) = runtime.inner.enrollment.wipe_notice() {
            runtime.tell(|e| e.device_wiped(&notice));
        }
    }
}

/// An unsigned end of the enrollment: nobody stays signed in, the window
/// shows why, nothing is deleted. Every interval the device asks again:
/// known and active → `true` (resume); a verified order → wiped, `false`;
/// unknown → it asks to be re-adopted (an administrator pre-registers its
/// UUID and approves it).
async fn hold(runtime: &DeviceRuntime, notice: crate::session::HeldNotice) -> bool {
    runtime.inner.login.logout();
    runtime.inner.family.end().await;
    if let Some(status) = runtime.inner.status.set_held(Some(notice)) {
        runtime.tell(|e| e.status_changed(&status));
    }
    loop {
        tokio::time::sleep(runtime.inner.heartbeat_interval).await;
        runtime.inner.link.forget().await;
        match ask_again(runtime).await {
            Held::Waiting => continue,
            Held::Wiped => return false,
            Held::KnownAgain => {
                runtime.inner.link.forget().await;
                if let Some(status) = runtime.inner.status.set_held(None) {
                    runtime.tell(|e| e.status_changed(&status));
                }
                return true;
            }
        }
    }
}

/// Where a held device stands after asking its server once more.
enum Held {
    /// Not yet known again: keep waiting.
    Waiting,
    /// A verified order arrived: the device was wiped.
    Wiped,
    /// Active again (reactivated, or re-adopted and approved).
    KnownAgain,
}

async fn ask_again(runtime: &DeviceRuntime) -> Held {
    let link = &runtime.inner.link;
    // Re-adoption asked for and pending an administrator's approval: ask
    // again where it stands (the link only serves an active device).
    if matches!(runtime.inner.enrollment.saved(), Ok(Some(s)) if s.status == tend_domain::DeviceStatus::Pending)
    {
        return readopted(runtime).await;
    }
    let server = match link.server().await {
        Ok(server) => server,
        Err(e) => {
            tracing::warn!(code = %e.code(), "held device has no server link");
            return Held::Waiting;
        }
    };
    let answer = {
        use crate::link::DeviceApi;
        server.authenticate().await
    };
    let e = match answer {
        Ok(_) => return Held::KnownAgain,
        Err(e) if crate::error::ends_enrollment(e.code()) => e,
        Err(e) => {
            tracing::debug!(code = %e.code(), "held device: server not answering yet");
            return Held::Waiting;
        }
    };
    let ending = crate::session::Ending {
        code: e.code(),
        order: e.device_order().cloned(),
    };
    match crate::session::conclude(link, ending).await {
        Ok(crate::session::SessionOutcome::Wiped(_)) => Held::Wiped,
        Ok(_) if e.code() == ErrorCode::DeviceUnknown => readopted(runtime).await,
        Ok(_) => Held::Waiting,
        Err(e) => {
            tracing::warn!(code = %e.code(), "held device could not conclude");
            Held::Waiting
        }
    }
}

/// Asks to be re-adopted (see [`crate::enrollment::Enrollment::request_readoption`]).
async fn readopted(runtime: &DeviceRuntime) -> Held {
    match runtime.inner.enrollment.request_readoption().await {
        Ok(state) if state.status == tend_domain::DeviceStatus::Active => Held::KnownAgain,
        Ok(_) => Held::Waiting,
        Err(e) => {
            tracing::info!(code = %e.code(), "re-adoption not granted yet");
            Held::Waiting
        }
    }
}

/// Heartbeats until the server ends the enrollment, then what that end
/// means for the device (see [`crate::session::conclude`]).
async fn heartbeats(
    runtime: &DeviceRuntime,
    sync: Option<Arc<SyncEngine>>,
) -> Result<crate::session::SessionOutcome> {
    let sync_state = || {
        sync.as_ref()
            .map(|engine| engine.heartbeat_state())
            .unwrap_or_default()
    };
    let on_event = |event| {
        let connection = match event {
            SessionEvent::Online(ack) => {
                // Encryption is required and this device reports none:
                // nothing stays open on screen until that is fixed.
                if ack.lock {
                    runtime.inner.login.lock_by_policy();
                }
                runtime.closed_changed(None);
                ConnectionState::Online
            }
            SessionEvent::Offline => ConnectionState::Offline,
            SessionEvent::Closed(code) => {
                runtime.closed_changed(ClosedNotice::for_code(code, Utc::now()));
                // The server answered: it is reachable, it only refuses.
                ConnectionState::Online
            }
        };
        runtime.connection_changed(connection);
    };
    crate::session::run_enrolled(
        &runtime.inner.link,
        runtime.inner.heartbeat_interval,
        sync_state,
        on_event,
    )
    .await
}

/// Opens the device's vault: with its local key where the secrets are in an
/// OS keyring; bound to the server where they would lie on the disk (a
/// kiosk), waiting — locked, and saying so — until the server's part
/// arrives (see [`crate::server_bound`]).
async fn open_vault(runtime: &DeviceRuntime) -> Result<crate::vault::Vault> {
    let enrollment = &runtime.inner.enrollment;
    let store = enrollment.secret_store().await?;
    if !crate::server_bound::binds_to_server(store.backend()) {
        return enrollment.open_vault().await;
    }
    let link = &runtime.inner.link;
    loop {
        match crate::server_bound::fetch_and_open(enrollment, link).await {
            Ok(mut vault) => {
                runtime.vault_state_changed(crate::vault::UnlockState::Unlocked);
                crate::server_bound::rotate_if_due(enrollment, link, &mut vault).await;
                return Ok(vault);
            }
            Err(CoreError::WaitingForNetwork) => {
                runtime.vault_state_changed(crate::vault::UnlockState::WaitingForNetwork);
                tokio::time::sleep(VAULT_UNLOCK_RETRY).await;
            }
            // A closed facility keeps the server's part until it reopens:
            // say so, and ask again now and then (nothing is deleted).
            Err(e) if ClosedNotice::for_code(e.code(), Utc::now()).is_some() => {
                runtime.closed_changed(ClosedNotice::for_code(e.code(), Utc::now()));
                runtime.vault_state_changed(crate::vault::UnlockState::Unavailable);
                tokio::time::sleep(VAULT_UNLOCK_RETRY * 12).await;
            }
            Err(e) => {
                runtime.vault_state_changed(crate::vault::UnlockState::from_error(&e));
                return Err(e);
            }
        }
    }
}

/// How often a kiosk waiting for the server's part of its key asks again.
const VAULT_UNLOCK_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// The runtime's side of a move to another facility (see
/// [`crate::sync::relocation`]): the enrollment record, the status bar's
/// facility name, and whoever is signed in.
struct FollowMoves(DeviceRuntime);

impl Relocation for FollowMoves {
    fn enrolled_facility(&self) -> Result<Option<i64>> {
        Ok(self.0.inner.enrollment.saved()?.map(|s| s.facility_id))
    }

    fn save_facility(&self, placement: &Placement) -> Result<()> {
        self.0
            .inner
            .enrollment
            .moved_to(placement.facility_id, placement.facility_name.clone())?;
        if let Some(status) = self
            .0
            .inner
            .status
            .set_facility_name(placement.facility_name.clone())
        {
            self.0.tell(|e| e.status_changed(&status));
        }
        Ok(())
    }

    fn sign_out_everyone(&self) {
        self.0.inner.login.logout();
        let family = self.0.clone();
        self.0.spawn(async move { family.inner.family.end().await });
    }
}

/// Opens the vault and starts the background sync loop for an active
/// device; its status reaches the window (and the status bar's last sync,
/// pending count and facility name). Returns the engine and the switch that
/// stops the loop; `None` when the vault cannot be opened (the app keeps
/// running without documentation; the log says why).
async fn start_sync(
    runtime: &DeviceRuntime,
) -> Option<(Arc<SyncEngine>, tokio::sync::watch::Sender<bool>)> {
    let opened = async {
        let vault = open_vault(runtime).await?;
        let engine = SyncEngine::new(Arc::new(Mutex::new(vault)))?
            .following_moves(Arc::new(FollowMoves(runtime.clone())));
        Ok::<_, CoreError>(Arc::new(engine))
    };
    let engine = match opened.await {
        Ok(engine) => engine,
        Err(e) => {
            tracing::error!(code = %e.code(), error = %e, "no vault: documentation and sync are off");
            return None;
        }
    };
    runtime.set_sync_engine(Some(engine.clone()));
    // Badge taps can be verified offline against the vault from now on.
    runtime
        .inner
        .login
        .api()
        .offline
        .attach(Some(engine.vault().clone()));
    runtime.refresh_facility(&engine).await;

    let mut changes = engine.subscribe();
    let watcher = runtime.clone();
    let watched = engine.clone();
    runtime.spawn(async move {
        let mut last_sync = None;
        loop {
            let status = changes.borrow_and_update().clone();
            if let Some(app_status) = watcher.inner.status.set_sync_summary(&status) {
                watcher.tell(|e| e.status_changed(&app_status));
            }
            watcher.tell(|e| e.sync_status_changed(&status));
            // A round completed: the facility may have been renamed or its
            // policy changed, and alert records may have arrived (the push
            // channel may be down).
            if status.last_sync != last_sync {
                last_sync = status.last_sync;
                watcher.refresh_facility(&watched).await;
                watcher.alerts_changed().await;
            }
            if changes.changed().await.is_err() {
                break;
            }
        }
    });

    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let link = runtime.inner.link.clone();
    let looping = engine.clone();
    runtime.spawn(async move {
        let end = looping
            .run(link.as_ref(), &SyncSettings::default(), async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await;
        tracing::info!(end = ?end, "sync loop ended");
    });
    Some((engine, stop))
}
