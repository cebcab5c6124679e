//! The family kiosk's core: a visitor code typed on the kiosk becomes a
//! family session (through the device's own token), which reads only what
//! staff shared for one resident and leaves messages for the care team.
//!
//! [`FamilyKiosk`] holds the family token in memory only, never logs it, and
//! forgets it when the visit ends, when the server refuses it, and when the
//! kiosk has been idle for its reset time (the window also returns to the
//! welcome screen then). [`DeviceFamily`] is the real server side.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tend_domain::wire::{
    FamilyCheckIn, FamilyItem, FamilySession, FamilySummary, Secret, SendFamilyMessage,
    FAMILY_TEXT_MAX,
};
use tend_domain::{parse_visitor_code, ErrorCode, ValidationError};

use crate::{CoreError, Result};

pub use crate::config::DEFAULT_FAMILY_IDLE_RESET as DEFAULT_IDLE_RESET;

/// Who the family member is visiting, after a check-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FamilyVisit {
    pub visitor_name: String,
    /// First name and last initial ("Margaret H.").
    pub resident_name: String,
    pub room: Option<String>,
}

/// One shared item, as the kiosk shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FamilyNote {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    pub body: String,
    pub posted_at: DateTime<Utc>,
}

impl From<FamilyItem> for FamilyNote {
    fn from(item: FamilyItem) -> Self {
        Self {
            id: item.id,
            body: item.body,
            posted_at: item.posted_at,
        }
    }
}

/// The resident's day as staff shared it: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FamilyDay {
    pub visit: FamilyVisit,
    pub day_summary: Option<FamilyNote>,
    pub activities: Vec<FamilyNote>,
    /// Messages from the care team.
    pub messages: Vec<FamilyNote>,
}

impl From<FamilySummary> for FamilyDay {
    fn from(s: FamilySummary) -> Self {
        Self {
            visit: FamilyVisit {
                visitor_name: s.visitor_name,
                resident_name: s.resident.display_name,
                room: s.resident.room,
            },
            day_summary: s.day_summary.map(Into::into),
            activities: s.activities.into_iter().map(Into::into).collect(),
            messages: s.messages.into_iter().map(Into::into).collect(),
        }
    }
}

/// The kiosk's timing, for the window's idle reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FamilySettings {
    /// Untouched this long, the kiosk returns to its welcome screen.
    pub idle_reset_ms: u32,
}

/// The server calls the kiosk makes.
pub trait FamilyApi: Send + Sync {
    /// Check-in with the device's token.
    fn check_in(
        &self,
        body: &FamilyCheckIn,
    ) -> impl std::future::Future<Output = Result<FamilySession>> + Send;
    fn summary(
        &self,
        family_token: &str,
    ) -> impl std::future::Future<Output = Result<FamilySummary>> + Send;
    fn send_message(
        &self,
        family_token: &str,
        body: &SendFamilyMessage,
    ) -> impl std::future::Future<Output = Result<()>> + Send;
    fn end(&self, family_token: &str) -> impl std::future::Future<Output = Result<()>> + Send;
}

impl<T: FamilyApi> FamilyApi for std::sync::Arc<T> {
    fn check_in(
        &self,
        body: &FamilyCheckIn,
    ) -> impl std::future::Future<Output = Result<FamilySession>> + Send {
        (**self).check_in(body)
    }
    fn summary(
        &self,
        family_token: &str,
    ) -> impl std::future::Future<Output = Result<FamilySummary>> + Send {
        (**self).summary(family_token)
    }
    fn send_message(
        &self,
        family_token: &str,
        body: &SendFamilyMessage,
    ) -> impl std::future::Future<Output = Result<()>> + Send {
        (**self).send_message(family_token, body)
    }
    fn end(&self, family_token: &str) -> impl std::future::Future<Output = Result<()>> + Send {
        (**self).end(family_token)
    }
}

/// The family session token; never printed.
struct FamilyToken(String);

impl std::fmt::Debug for FamilyToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FamilyToken(<redacted>)")
    }
}

#[derive(Debug)]
struct Visit {
    token: FamilyToken,
    last_used: Instant,
}

fn visit_over() -> CoreError {
    CoreError::Api {
        code: ErrorCode::Unauthorized,
        message: "the visit has ended; check in again with the visitor code".to_owned(),
    }
}

/// One family visit at a time on this kiosk.
pub struct FamilyKiosk<A> {
    api: A,
    /// The facility's family session length; changes with its policy.
    idle_reset: Mutex<Duration>,
    visit: Mutex<Option<Visit>>,
}

impl<A: FamilyApi> FamilyKiosk<A> {
    pub fn new(api: A, idle_reset: Duration) -> Self {
        Self {
            api,
            idle_reset: Mutex::new(idle_reset),
            visit: Mutex::new(None),
        }
    }

    /// The family session length from now on (the facility's policy
    /// changed); a visit under way keeps going under the new length.
    pub fn set_idle_reset(&self, idle_reset: Duration) {
        *self.idle_reset.lock().unwrap_or_else(|p| p.into_inner()) = idle_reset;
    }

    fn idle_reset(&self) -> Duration {
        *self.idle_reset.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn settings(&self) -> FamilySettings {
        FamilySettings {
            idle_reset_ms: u32::try_from(self.idle_reset().as_millis()).unwrap_or(u32::MAX),
        }
    }

    /// Whether a visit is under way (its token held and not idle too long).
    pub fn visiting(&self, now: Instant) -> bool {
        self.token(now).is_some()
    }

    /// Whether a visit is under way, without counting as a use (the idle
    /// reset is not postponed).
    pub fn in_visit(&self, now: Instant) -> bool {
        let idle_reset = self.idle_reset();
        self.visit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|v| now.saturating_duration_since(v.last_used) < idle_reset)
    }

    /// The current token, touched; `None` (and forgotten) after the idle reset.
    fn token(&self, now: Instant) -> Option<String> {
        let idle_reset = self.idle_reset();
        let mut visit = self.visit.lock().unwrap_or_else(|p| p.into_inner());
        match visit.as_mut() {
            Some(v) if now.saturating_duration_since(v.last_used) < idle_reset => {
                v.last_used = now;
                Some(v.token.0.clone())
            }
            Some(_) => {
                *visit = None;
                None
            }
            None => None,
        }
    }

    fn forget(&self) -> Option<String> {
        self.visit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .map(|v| v.token.0)
    }

    /// Forgets the token if the server no longer accepts it.
    fn refused<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            if e.code() == ErrorCode::Unauthorized {
                self.forget();
            }
        }
        result
    }

    /// Checks a family member in with the code they typed; an earlier visit
    /// on this kiosk ends first.
    pub async fn check_in(&self, typed_code: &Secret) -> Result<FamilyVisit> {
        let digits = parse_visitor_code(typed_code.expose())?;
        self.end().await;
        let session = self
            .api
            .check_in(&FamilyCheckIn {
                visitor_code: Secret::new(digits),
            })
            .await?;
        *self.visit.lock().unwrap_or_else(|p| p.into_inner()) = Some(Visit {
            token: FamilyToken(session.token),
            last_used: Instant::now(),
        });
        tracing::info!("family visit started");
        Ok(FamilyVisit {
            visitor_name: session.visitor_name,
            resident_name: session.resident.display_name,
            room: session.resident.room,
        })
    }

    /// What staff shared for the resident.
    pub async fn day(&self) -> Result<FamilyDay> {
        let token = self.token(Instant::now()).ok_or_else(visit_over)?;
        let summary = self.refused(self.api.summary(&token).await)?;
        Ok(summary.into())
    }

    /// A message for the care team (1–2000 characters).
    pub async fn send_message(&self, body: &str) -> Result<()> {
        let text = body.trim();
        if text.is_empty() || text.chars().count() > FAMILY_TEXT_MAX {
            return Err(ValidationError::new(
                "body",
                format!("a message is 1 to {FAMILY_TEXT_MAX} characters"),
            )
            .into());
        }
        let token = self.token(Instant::now()).ok_or_else(visit_over)?;
        self.refused(
            self.api
                .send_message(
                    &token,
                    &SendFamilyMessage {
                        body: text.to_owned(),
                    },
                )
                .await,
        )
    }

    /// Ends the visit: the token is forgotten here at once, and the server is
    /// told when it can be reached (the session expires there anyway).
    pub async fn end(&self) {
        if let Some(token) = self.forget() {
            if let Err(e) = self.api.end(&token).await {
                tracing::debug!(code = %e.code(), "family session not ended on the server");
            }
            tracing::info!("family visit ended");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tend_domain::wire::FamilyResident;

    /// A server that knows one code and counts what it is asked.
    #[derive(Default)]
    struct FakeServer {
        ended: AtomicUsize,
        refuse_summary: std::sync::atomic::AtomicBool,
        messages: Mutex<Vec<String>>,
    }

    impl FamilyApi for FakeServer {
        async fn check_in(&self, body: &FamilyCheckIn) -> Result<FamilySession> {
            if body.visitor_code.expose() != "48210937" {
                return Err(CoreError::Api {
                    code: ErrorCode::VisitorCodeInvalid,
                    message: "that visitor code did not work".into(),
                });
            }
            Ok(FamilySession {
                token: "tfam_secret".into(),
                expires_at: Utc::now(),
                visitor_name: "Ana".into(),
                resident: FamilyResident {
                    display_name: "Margaret H.".into(),
                    room: Some("12B".into()),
                },
            })
        }
        async fn summary(&self, token: &str) -> Result<FamilySummary> {
            assert_eq!(token, "tfam_secret");
            if self.refuse_summary.load(Ordering::SeqCst) {
                return Err(CoreError::Api {
                    code: ErrorCode::Unauthorized,
                    message: "authentication required".into(),
                });
            }
            Ok(FamilySummary {
                resident: FamilyResident {
                    display_name: "Margaret H.".into(),
                    room: None,
                },
                visitor_name: "Ana".into(),
                day_summary: Some(FamilyItem {
                    id: 1,
                    body: "A calm day".into(),
                    posted_at: Utc::now(),
                }),
                activities: vec![],
                messages: vec![],
            })
        }
        async fn send_message(&self, _: &str, body: &SendFamilyMessage) -> Result<()> {
            self.messages.lock().unwrap().push(body.body.clone());
            Ok(())
        }
        async fn end(&self, _: &str) -> Result<()> {
            self.ended.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    fn kiosk(idle: Duration) -> FamilyKiosk<FakeServer> {
        FamilyKiosk::new(FakeServer::default(), idle)
    }

    #[tokio::test]
    async fn a_visit_reads_the_day_and_sends_messages_until_it_ends() {
        let k = kiosk(DEFAULT_IDLE_RESET);
        assert_eq!(k.settings().idle_reset_ms, 60_000);
        let visit = k.check_in(&Secret::new("4821 0937")).await.unwrap();
        assert_eq!(visit.resident_name, "Margaret H.");
        assert_eq!(visit.room.as_deref(), Some("12B"));
        let day = k.day().await.unwrap();
        assert_eq!(day.day_summary.unwrap().body, "A calm day");
        k.send_message("  See you Sunday  ").await.unwrap();
        assert_eq!(*k.api.messages.lock().unwrap(), ["See you Sunday"]);
        k.end().await;
        assert_eq!(k.api.ended.load(Ordering::SeqCst), 1);
        assert_eq!(k.day().await.unwrap_err().code(), ErrorCode::Unauthorized);
        // Ending twice tells the server once.
        k.end().await;
        assert_eq!(k.api.ended.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn wrong_and_malformed_codes_start_no_visit() {
        let k = kiosk(DEFAULT_IDLE_RESET);
        let err = k.check_in(&Secret::new("1111 2222")).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::VisitorCodeInvalid);
        let err = k.check_in(&Secret::new("12ab")).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed);
        assert!(!k.visiting(Instant::now()));
        assert_eq!(k.day().await.unwrap_err().code(), ErrorCode::Unauthorized);
    }

    #[tokio::test]
    async fn the_token_is_forgotten_after_the_idle_reset() {
        let k = kiosk(Duration::from_secs(60));
        k.check_in(&Secret::new("48210937")).await.unwrap();
        let now = Instant::now();
        assert!(k.visiting(now + Duration::from_secs(59)));
        // Each use starts the minute again; a minute untouched ends it.
        assert!(!k.visiting(now + Duration::from_secs(59 + 60)));
        assert!(!k.visiting(now));
        assert_eq!(k.day().await.unwrap_err().code(), ErrorCode::Unauthorized);
    }

    #[tokio::test]
    async fn a_refused_token_is_forgotten_and_messages_are_checked_first() {
        let k = kiosk(DEFAULT_IDLE_RESET);
        k.check_in(&Secret::new("48210937")).await.unwrap();
        for bad in ["", "   ", &"x".repeat(2001)] {
            let err = k.send_message(bad).await.unwrap_err();
            assert_eq!(err.code(), ErrorCode::ValidationFailed);
        }
        k.api.refuse_summary.store(true, Ordering::SeqCst);
        assert_eq!(k.day().await.unwrap_err().code(), ErrorCode::Unauthorized);
        assert!(!k.visiting(Instant::now()));
    }

    #[test]
    fn the_token_never_shows_in_debug() {
        let v = Visit {
            token: FamilyToken("tfam_secret".into()),
            last_used: Instant::now(),
        };
        assert!(!format!("{v:?}").contains("secret"));
    }
}
