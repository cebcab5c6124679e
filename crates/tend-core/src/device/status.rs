//! The status bar's data as the runtime keeps it: each update returns the
//! new status when something changed, for the status event.

use std::sync::Mutex;

use crate::app_status::{AppStatus, ConnectionState};
use crate::sync::SyncStatus;

pub(super) struct StatusBoard(Mutex<AppStatus>);

impl StatusBoard {
    pub(super) fn new(initial: AppStatus) -> Self {
        Self(Mutex::new(initial))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, AppStatus> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn get(&self) -> AppStatus {
        self.lock().clone()
    }

    /// Records the server's reachability. `back_online` is true when the
    /// device just came back (sync should go at once).
    pub(super) fn set_connection(&self, connection: ConnectionState) -> Option<(AppStatus, bool)> {
        let mut status = self.lock();
        // A wiped device has no server; a probe still in flight must not
        // bring the old one back.
        if status.connection == connection || status.server_url.is_none() {
            return None;
        }
        let back_online =
            connection == ConnectionState::Online && status.connection == ConnectionState::Offline;
        status.connection = connection;
        Some((status.clone(), back_online))
    }

    /// Copies sync's last sync time and pending count.
    pub(super) fn set_sync_summary(&self, sync: &SyncStatus) -> Option<AppStatus> {
        let mut status = self.lock();
        let last_sync = sync.last_sync.map(|t| t.to_rfc3339());
        if status.last_sync == last_sync && status.pending == sync.pending {
            return None;
        }
        status.last_sync = last_sync;
        status.pending = sync.pending;
        Some(status.clone())
    }

    /// The facility's name as last synced (the lock screen shows it).
    pub(super) fn set_facility_name(&self, name: Option<String>) -> Option<AppStatus> {
        let mut status = self.lock();
        if status.facility_name == name {
            return None;
        }
        status.facility_name = name;
        Some(status.clone())
    }

    /// The facility as last synced: its name (the lock screen shows it) and
    /// its time zone (every date and time on screen is in it).
    pub(super) fn set_facility(
        &self,
        name: Option<String>,
        timezone: Option<String>,
    ) -> Option<AppStatus> {
        let mut status = self.lock();
        if status.facility_name == name && status.facility_timezone == timezone {
            return None;
        }
        status.facility_name = name;
        status.facility_timezone = timezone;
        Some(status.clone())
    }

    /// The server this device enrolled with; it just answered.
    pub(super) fn set_server_url(&self, server_url: &str) -> AppStatus {
        let mut status = self.lock();
        status.server_url = Some(server_url.to_owned());
        status.connection = ConnectionState::Online;
        status.clone()
    }

    /// The server ended the enrollment unsigned (`Some`), or knows the
    /// device again (`None`).
    pub(super) fn set_held(&self, held: Option<crate::session::HeldNotice>) -> Option<AppStatus> {
        let mut status = self.lock();
        if status.held == held {
            return None;
        }
        status.held = held;
        Some(status.clone())
    }

    /// The vault's state (see [`AppStatus::vault`]).
    pub(super) fn set_vault(&self, vault: crate::vault::UnlockState) -> Option<AppStatus> {
        let mut status = self.lock();
        if status.vault == Some(vault) {
            return None;
        }
        status.vault = Some(vault);
        Some(status.clone())
    }

    /// The server refuses the device because its facility or organization
    /// is closed (`Some`), or accepts it again (`None`). A notice already
    /// shown keeps its time.
    pub(super) fn set_closed(
        &self,
        closed: Option<crate::app_status::ClosedNotice>,
    ) -> Option<AppStatus> {
        let mut status = self.lock();
        let same = match (&status.closed, &closed) {
            (Some(shown), Some(new)) => shown.code == new.code,
            (None, None) => true,
            _ => false,
        };
        if same {
            return None;
        }
        status.closed = closed;
        Some(status.clone())
    }

    /// The device's language (see [`AppStatus::language`]).
    pub(super) fn set_language(&self, language: tend_domain::Language) -> Option<AppStatus> {
        let mut status = self.lock();
        if status.language == language {
            return None;
        }
        status.language = language;
        Some(status.clone())
    }

    /// The device was wiped: back to first-run setup, nothing of the old
    /// facility kept.
    pub(super) fn forget_server(&self) -> AppStatus {
        let mut status = self.lock();
        status.server_url = None;
        status.connection = ConnectionState::NotConfigured;
        status.facility_name = None;
        status.last_sync = None;
        status.pending = 0;
        status.held = None;
        status.vault = None;
        status.closed = None;
        status.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board() -> StatusBoard {
        StatusBoard::new(AppStatus {
            connection: ConnectionState::Offline,
            server_url: Some("https://tend.example.org".into()),
            last_sync: None,
            pending: 0,
            facility_name: None,
            facility_timezone: None,
            held: None,
            vault: None,
            closed: None,
            language: tend_domain::Language::En,
        })
    }

    #[test]
    fn each_change_is_reported_once() {
        let b = board();
        let (status, back) = b.set_connection(ConnectionState::Online).unwrap();
        assert_eq!(status.connection, ConnectionState::Online);
        assert!(back, "offline → online wakes sync");
        assert!(b.set_connection(ConnectionState::Online).is_none());
        assert_eq!(
            b.set_facility_name(Some("North".into()))
                .unwrap()
                .facility_name
                .as_deref(),
            Some("North")
        );
        assert!(b.set_facility_name(Some("North".into())).is_none());
        let status = b
            .set_facility(Some("North".into()), Some("America/Phoenix".into()))
            .unwrap();
        assert_eq!(status.facility_timezone.as_deref(), Some("America/Phoenix"));
        assert!(b
            .set_facility(Some("North".into()), Some("America/Phoenix".into()))
            .is_none());
        let status = b.set_language(tend_domain::Language::Es).unwrap();
        assert_eq!(status.language, tend_domain::Language::Es);
        assert!(b.set_language(tend_domain::Language::Es).is_none());
    }

    #[test]
    fn a_closed_facility_is_shown_once_and_cleared_when_the_server_accepts_the_device() {
        let b = board();
        let since = chrono::Utc::now();
        let closed = crate::app_status::ClosedNotice::for_code(
            tend_domain::ErrorCode::FacilityClosed,
            since,
        );
        let status = b.set_closed(closed).unwrap();
        let notice = status.closed.unwrap();
        assert_eq!(
            notice.message,
            "This facility is closed in Tend; ask an administrator"
        );
        // Asked again a minute later: the same notice, nothing to tell.
        let later = crate::app_status::ClosedNotice::for_code(
            tend_domain::ErrorCode::FacilityClosed,
            since + chrono::Duration::minutes(1),
        );
        assert!(b.set_closed(later).is_none());
        assert_eq!(b.get().closed.unwrap().since, since);
        assert!(b.set_closed(None).unwrap().closed.is_none());
        assert!(crate::app_status::ClosedNotice::for_code(
            tend_domain::ErrorCode::Unauthorized,
            since
        )
        .is_none());
    }

    #[test]
    fn a_wipe_forgets_the_server_and_the_facility() {
        let b = board();
        b.set_facility_name(Some("North".into()));
        b.set_language(tend_domain::Language::Es);
        let status = b.forget_server();
        assert_eq!(status.connection, ConnectionState::NotConfigured);
        assert_eq!(status.facility_name, None);
        assert_eq!(status.server_url, None);
        assert_eq!(
            status.language,
            tend_domain::Language::Es,
            "a display setting stays"
        );
        // A probe still in flight does not bring the server back.
        assert!(b.set_connection(ConnectionState::Online).is_none());
    }
}
