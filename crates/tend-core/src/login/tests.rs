use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tend_badge::{BadgeRead, BadgeUid};
use tend_domain::wire::{LoginResponse, Secret, User};
use tend_domain::{ErrorCode, Role};

use super::*;
use crate::{CoreError, Result};

fn badge(n: u8) -> BadgeUid {
    BadgeUid::from_bytes(&[0x04, n, 0x10, 0x20]).unwrap()
}

fn session(user_id: i64) -> Result<LoginResponse> {
    Ok(LoginResponse {
        token: format!("token-{user_id}"),
        token_type: "Bearer".into(),
        expires_at: Utc::now() + chrono::Duration::hours(8),
        user: User {
            id: user_id,
            organization_id: 1,
            facility_id: 1,
            employee_id: format!("E{user_id}"),
            username: format!("nurse{user_id}"),
            full_name: format!("Nurse {user_id}"),
            email: None,
            role: Role::Rn,
            is_active: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            preferred_language: None,
        },
    })
}

fn refused(code: ErrorCode) -> Result<LoginResponse> {
    Err(CoreError::Api {
        code,
        message: code.to_string(),
    })
}

fn machine(start: Instant) -> LoginMachine {
    LoginMachine::new(LoginSettings::new(Duration::from_secs(120)), start)
}

fn ask(outcome: TapOutcome) -> Credentials {
    match outcome {
        TapOutcome::AskServer(c) => c,
        other => panic!("expected a server call, got {other:?}"),
    }
}

fn signed_in_as(m: &mut LoginMachine, n: u8, user_id: i64, now: Instant) {
    let c = ask(m.tap(badge(n), now));
    assert_eq!(m.state(now).phase, SessionPhase::Verifying);
    m.answer(c, session(user_id), now);
}

#[test]
fn an_offline_session_says_so_and_has_no_token_for_the_api() {
    let start = Instant::now();
    let mut m = machine(start);
    signed_in_as(&mut m, 1, 7, start);
    assert!(!m.state(start).offline);
    assert!(m.user_token().is_some());
    m.logout();
    let c = ask(m.tap(badge(2), start));
    let mut offline = session(8).unwrap();
    offline.token = crate::login::offline::OFFLINE_SESSION_TOKEN.to_owned();
    m.answer(c, Ok(offline), start);
    let state = m.state(start);
    assert_eq!(
        state.phase,
        SessionPhase::Active {
            idle_warning: false
        }
    );
    assert!(state.offline);
    assert_eq!(m.user_token(), None, "nothing to send to the server");
    assert_eq!(
        m.signed_in_user().map(|u| u.id),
        Some(8),
        "documenting works offline"
    );
}

#[test]
fn the_session_carries_the_users_language_and_follows_their_choice() {
    let start = Instant::now();
    let mut m = machine(start);
    let c = ask(m.tap(badge(1), start));
    let mut answer = session(7).unwrap();
    answer.user.preferred_language = Some(tend_domain::Language::Es);
    m.answer(c, Ok(answer), start);
    let user = m.state(start).user.unwrap();
    assert_eq!(user.language, Some(tend_domain::Language::Es));
    assert!(m.set_language(7, None));
    assert_eq!(m.state(start).user.unwrap().language, None);
    assert!(
        !m.set_language(8, Some(tend_domain::Language::Es)),
        "not 8's session"
    );
    m.logout();
    assert!(
        !m.set_language(7, Some(tend_domain::Language::Es)),
        "signed out"
    );
}

#[test]
fn only_an_unlocked_session_has_a_documenting_user() {
    let start = Instant::now();
    let mut m = machine(start);
    assert_eq!(m.signed_in_user(), None);
    signed_in_as(&mut m, 1, 7, start);
    assert_eq!(m.signed_in_user().map(|u| u.id), Some(7));
    assert!(m.lock());
    assert_eq!(
        m.signed_in_user(),
        None,
        "a locked screen documents for nobody"
    );
}

#[test]
fn a_recognized_tap_signs_in_and_the_same_badge_taps_out() {
    let t0 = Instant::now();
    let mut m = machine(t0);
    assert_eq!(m.state(t0).phase, SessionPhase::SignedOut);
    signed_in_as(&mut m, 1, 7, t0);
    let s = m.state(t0);
    assert_eq!(
        s.phase,
        SessionPhase::Active {
            idle_warning: false
        }
    );
    assert_eq!(s.user.unwrap().id, 7);
    assert!(m.user_token().is_some());
    // A bounce of the same tap is ignored …
    assert!(matches!(
        m.tap(badge(1), t0 + Duration::from_secs(1)),
        TapOutcome::Ignored
    ));
    // … a real second tap locks without asking the server.
    let t1 = t0 + Duration::from_secs(5);
    assert!(matches!(m.tap(badge(1), t1), TapOutcome::Changed));
    assert_eq!(m.state(t1).phase, SessionPhase::Locked);
    assert_eq!(m.state(t1).user.unwrap().id, 7);
    assert!(m.user_token().is_none());
    // Her own tap unlocks (verified by the server again).
    let t2 = t1 + Duration::from_secs(5);
    let c = ask(m.tap(badge(1), t2));
    m.answer(c, session(7), t2);
    assert!(matches!(m.state(t2).phase, SessionPhase::Active { .. }));
}

#[test]
fn another_users_tap_on_a_locked_screen_replaces_the_previous_user() {
    let t0 = Instant::now();
    let mut m = machine(t0);
    signed_in_as(&mut m, 1, 7, t0);
    assert!(m.lock());
    signed_in_as(&mut m, 2, 8, t0);
    let s = m.state(t0);
    assert!(matches!(s.phase, SessionPhase::Active { .. }));
    assert_eq!(s.user.unwrap().id, 8);
    assert_eq!(m.user_token().unwrap().expose(), "token-8");
}

#[test]
fn an_unknown_badge_keeps_a_locked_session_locked_and_says_why() {
    let t0 = Instant::now();
    let mut m = machine(t0);
    signed_in_as(&mut m, 1, 7, t0);
    m.lock();
    let c = ask(m.tap(badge(9), t0));
    m.answer(c, refused(ErrorCode::BadgeUnknown), t0);
    let s = m.state(t0);
    assert_eq!(s.phase, SessionPhase::Locked);
    assert_eq!(s.user.unwrap().id, 7);
    assert_eq!(s.failure.unwrap().code, ErrorCode::BadgeUnknown);
    // The same unknown badge may be tried again at once (no debounce).
    assert!(matches!(m.tap(badge(9), t0), TapOutcome::AskServer(_)));
}

#[test]
fn pin_required_then_wrong_pin_then_right_pin() {
    let t0 = Instant::now();
    let mut m = machine(t0);
    let c = ask(m.tap(badge(1), t0));
    m.answer(c, refused(ErrorCode::BadgePinRequired), t0);
    let s = m.state(t0);
    assert_eq!(
        s.phase,
        SessionPhase::PinRequired {
            attempts_left: None
        }
    );
    assert!(s.failure.is_none(), "asking for a PIN is not a failure");

    let c = m.submit_pin(Secret::new("0000")).unwrap();
    assert!(matches!(&c, Credentials::Badge { pin: Some(_), .. }));
    m.answer(
        c,
        Err(CoreError::BadgePinWrong {
            message: "wrong PIN".into(),
            attempts_left: 4,
        }),
        t0,
    );
    let s = m.state(t0);
    assert_eq!(
        s.phase,
        SessionPhase::PinRequired {
            attempts_left: Some(4)
        }
    );
    assert_eq!(s.failure.unwrap().code, ErrorCode::BadgePinWrong);

    let c = m.submit_pin(Secret::new("1234")).unwrap();
    m.answer(c, session(7), t0);
    assert!(matches!(m.state(t0).phase, SessionPhase::Active { .. }));
}

#[test]
fn a_locked_badge_leaves_the_pin_pad_with_its_message() {
    let t0 = Instant::now();
    let mut m = machine(t0);
    let c = ask(m.tap(badge(1), t0));
    m.answer(c, refused(ErrorCode::BadgePinRequired), t0);
    let c = m.submit_pin(Secret::new("0000")).unwrap();
    m.answer(c, refused(ErrorCode::BadgeLocked), t0);
    let s = m.state(t0);
    assert_eq!(s.phase, SessionPhase::SignedOut);
    assert_eq!(s.failure.unwrap().code, ErrorCode::BadgeLocked);
    assert!(m.submit_pin(Secret::new("1234")).is_none());
}

#[test]
fn idle_warns_then_locks_and_activity_postpones_both() {
    let t0 = Instant::now();
    let mut m = machine(t0);
    signed_in_as(&mut m, 1, 7, t0);
    let wall = Utc::now();
    let at = |secs| t0 + Duration::from_secs(secs);
    m.tick(at(100), wall);
    assert_eq!(
        m.state(at(100)).phase,
        SessionPhase::Active {
            idle_warning: false
        }
    );
    assert_eq!(
        m.state(at(105)).phase,
        SessionPhase::Active { idle_warning: true }
    );
    m.activity(at(110));
    m.tick(at(200), wall);
    assert!(matches!(
        m.state(at(200)).phase,
        SessionPhase::Active { .. }
    ));
    m.tick(at(230), wall);
    assert_eq!(m.state(at(230)).phase, SessionPhase::Locked);
}

#[test]
fn an_expired_session_signs_out() {
    let t0 = Instant::now();
    let mut m = machine(t0);
    signed_in_as(&mut m, 1, 7, t0);
    m.tick(t0, Utc::now() + chrono::Duration::hours(9));
    assert_eq!(m.state(t0).phase, SessionPhase::SignedOut);
    assert!(m.user_token().is_none());
}

#[test]
fn password_login_signs_in_and_logout_forgets_the_user() {
    let t0 = Instant::now();
    let mut m = machine(t0);
    let c = m
        .password("nurse7".into(), Secret::new("correct horse"))
        .unwrap();
    m.answer(c, session(7), t0);
    assert!(matches!(m.state(t0).phase, SessionPhase::Active { .. }));
    // A password session has no badge to tap out with; a tap asks the server.
    assert!(matches!(m.tap(badge(1), t0), TapOutcome::AskServer(_)));
    m.answer(
        Credentials::Badge {
            badge: badge(1),
            pin: None,
        },
        refused(ErrorCode::BadgeUnknown),
        t0,
    );
    assert!(m.logout());
    let s = m.state(t0);
    assert_eq!(s.phase, SessionPhase::SignedOut);
    assert!(s.user.is_none() && s.failure.is_none());
    assert!(!m.logout());
    assert!(!m.lock());
}

#[test]
fn taps_during_a_check_are_ignored() {
    let t0 = Instant::now();
    let mut m = machine(t0);
    let _ = ask(m.tap(badge(1), t0));
    assert!(matches!(m.tap(badge(2), t0), TapOutcome::Ignored));
    assert!(m.password("x".into(), Secret::new("y")).is_none());
}

#[test]
fn short_idle_times_still_warn_before_locking() {
    let s = LoginSettings::new(Duration::from_secs(4));
    assert_eq!(s.warning_after(), Duration::from_secs(2));
    let s = LoginSettings::new(Duration::from_secs(120));
    assert_eq!(s.warning_after(), Duration::from_secs(105));
    use crate::config::Profile;
    assert_eq!(default_idle_lock(Profile::Kiosk), Duration::from_secs(120));
    assert_eq!(
        default_idle_lock(Profile::Desktop),
        Duration::from_secs(600)
    );
}

#[test]
fn reader_status_follows_plug_and_service_events() {
    let mut r = Readers::default();
    assert_eq!(r.status(), ReaderStatus::Unknown);
    assert_eq!(r.started(), ReaderStatus::NoReader);
    let added = BadgeRead::ReaderAdded {
        reader: "ACS ACR122U".into(),
    };
    assert_eq!(r.apply(&added), Some(ReaderStatus::Connected));
    assert_eq!(r.apply(&added), None);
    assert_eq!(
        r.apply(&BadgeRead::ServiceLost),
        Some(ReaderStatus::ServiceUnavailable)
    );
    assert_eq!(
        r.apply(&BadgeRead::ServiceRestored),
        Some(ReaderStatus::NoReader)
    );
    r.apply(&added);
    assert_eq!(
        r.apply(&BadgeRead::ReaderRemoved {
            reader: "ACS ACR122U".into()
        }),
        Some(ReaderStatus::NoReader)
    );
}

#[tokio::test]
async fn bad_input_is_refused_before_the_server_is_asked() {
    struct NoServer;
    impl LoginApi for NoServer {
        async fn badge_login(&self, _: &BadgeUid, _: Option<&Secret>) -> Result<LoginResponse> {
            panic!("the server must not be asked")
        }
        async fn password_login(&self, _: &str, _: &Secret) -> Result<LoginResponse> {
            panic!("the server must not be asked")
        }
    }
    let login = Login::new(
        NoServer,
        LoginSettings::new(Duration::from_secs(60)),
        |_| {},
    );
    for pin in ["", "123", "123456789", "12a4", "１２３４"] {
        let e = login.submit_pin(pin).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::ValidationFailed);
    }
    // A well-formed PIN without a pending badge changes nothing.
    assert_eq!(
        login.submit_pin("4711").await.unwrap().phase,
        SessionPhase::SignedOut
    );
    assert!(login.password(" ", "pw").await.is_err());
    assert!(login.password("nurse", "").await.is_err());
    let s = login.unsupported_card();
    assert_eq!(s.failure.unwrap().code, ErrorCode::ValidationFailed);
}

/// A server that signs every badge and password in as user 7.
struct OneUser;
impl LoginApi for OneUser {
    async fn badge_login(&self, _: &BadgeUid, _: Option<&Secret>) -> Result<LoginResponse> {
        session(7)
    }
    async fn password_login(&self, _: &str, _: &Secret) -> Result<LoginResponse> {
        session(7)
    }
}

#[tokio::test]
async fn tick_tells_the_idle_warning_and_the_lock_once_each() {
    let heard = Arc::new(Mutex::new(Vec::<SessionPhase>::new()));
    let log = heard.clone();
    let mut settings = LoginSettings::new(Duration::ZERO);
    settings.debounce = Duration::ZERO;
    let login = Login::new(OneUser, settings, move |s| {
        log.lock().unwrap().push(s.phase.clone())
    });
    login.tap(badge(1)).await;
    // Idle time zero: the first tick locks; later ticks stay quiet.
    login.tick();
    login.tick();
    let phases = heard.lock().unwrap().clone();
    assert_eq!(
        phases,
        [
            SessionPhase::Verifying,
            SessionPhase::Active { idle_warning: true },
            SessionPhase::Locked
        ]
    );
}

#[test]
fn a_shorter_idle_lock_from_the_policy_applies_to_the_open_session() {
    let t0 = Instant::now();
    let mut m = LoginMachine::new(LoginSettings::new(Duration::from_secs(600)), t0);
    signed_in_as(&mut m, 1, 7, t0);
    let wall = Utc::now();
    let at = |secs| t0 + Duration::from_secs(secs);
    m.tick(at(59), wall);
    assert_eq!(m.state(at(59)).idle_lock_ms, 600_000);
    m.set_idle_lock(Duration::from_secs(60));
    assert_eq!(m.state(at(59)).idle_lock_ms, 60_000);
    m.tick(at(59), wall);
    assert!(matches!(m.state(at(59)).phase, SessionPhase::Active { .. }));
    m.tick(at(60), wall);
    assert_eq!(m.state(at(60)).phase, SessionPhase::Locked);
}

#[tokio::test]
async fn a_changed_idle_lock_is_told_to_the_window_once() {
    let heard = Arc::new(Mutex::new(Vec::<u32>::new()));
    let log = heard.clone();
    let login = Login::new(
        OneUser,
        LoginSettings::new(Duration::from_secs(600)),
        move |s| log.lock().unwrap().push(s.idle_lock_ms),
    );
    login.set_idle_lock(Duration::from_secs(60));
    login.set_idle_lock(Duration::from_secs(60));
    assert_eq!(heard.lock().unwrap().clone(), [60_000]);
    assert_eq!(login.state().idle_lock_ms, 60_000);
}

#[tokio::test]
async fn the_encryption_policy_locks_an_active_session_once() {
    let heard = Arc::new(Mutex::new(Vec::<SessionPhase>::new()));
    let log = heard.clone();
    let login = Login::new(
        OneUser,
        LoginSettings::new(Duration::from_secs(600)),
        move |s| log.lock().unwrap().push(s.phase.clone()),
    );
    // Nobody signed in: nothing to lock, nothing told.
    assert_eq!(login.lock_by_policy(), None);
    login.tap(badge(1)).await;
    let locked = login.lock_by_policy().expect("an active session locks");
    assert_eq!(locked.phase, SessionPhase::Locked);
    assert_eq!(locked.user.map(|u| u.id), Some(7));
    // The next heartbeat asks again: already locked, the window hears nothing new.
    assert_eq!(login.lock_by_policy(), None);
    assert_eq!(
        heard.lock().unwrap().clone(),
        [
            SessionPhase::Verifying,
            SessionPhase::Active {
                idle_warning: false
            },
            SessionPhase::Locked
        ]
    );
}

#[test]
fn the_state_never_shows_the_token_or_badge() {
    let t0 = Instant::now();
    let mut m = machine(t0);
    signed_in_as(&mut m, 1, 7, t0);
    let json = serde_json::to_string(&m.state(t0)).unwrap();
    assert!(!json.contains("token-7"));
    assert!(!json.contains("04011020"));
    assert!(json.contains("\"phase\":\"active\""));
    assert!(!format!("{m:?}").contains("token-7"));
}
