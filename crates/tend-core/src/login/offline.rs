//! Offline badge login: while the central API cannot be reached, a badge tap
//! is checked against an **offline verifier** kept in the vault for each user
//! who recently signed in on this device online with their badge and PIN.
//!
//! A verifier holds the keyed badge hash (HMAC-SHA256 under the
//! organization's badge key, which sync delivers — the same hash the server
//! keeps), an argon2id hash of the PIN typed here, and when that online
//! badge+PIN login happened. The facility's policy applies as online: the
//! badge alone within the grace period after it, the PIN after that, and no
//! offline login at all once the full re-authentication is due (the verifier
//! expires then). Five wrong PINs offline delete the verifier until the next
//! online login. A badge revoked on the server loses its verifier with the
//! next sync (its tombstone deletes by hash). Every offline login and failed
//! offline attempt is queued for the server's audit log.

use std::sync::Mutex;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use tend_badge::BadgeUid;
use tend_domain::badge_login::{BadgeLoginPolicy, MAX_FAILED_PIN_ATTEMPTS};
use tend_domain::wire::{
    AuditOutcome, DeviceAuditAction, DeviceAuditEvent, LoginResponse, Secret, User,
};
use tend_domain::{ErrorCode, Role};

use crate::sync::store::{queue_audit, ts, BADGE_KEY_CREDENTIAL};
use crate::sync::SharedVault;
use crate::{CoreError, Result};

/// The session token of an offline login: there is none (the server never
/// saw it), so the app can tell the session is offline.
pub const OFFLINE_SESSION_TOKEN: &str = "";

/// The vault's verifiers, once the vault is open.
#[derive(Default)]
pub struct OfflineVerifiers {
    vault: Mutex<Option<SharedVault>>,
}

impl std::fmt::Debug for OfflineVerifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OfflineVerifiers")
    }
}

impl OfflineVerifiers {
    /// Gives the verifiers the vault (when the device session starts), or
    /// takes it away (`None`, when it ends or the device is wiped).
    pub fn attach(&self, vault: Option<SharedVault>) {
        *self.vault.lock().unwrap_or_else(|p| p.into_inner()) = vault;
    }

    fn vault(&self) -> Option<SharedVault> {
        self.vault.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn with_vault<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<Option<T>> {
        let Some(vault) = self.vault() else {
            return Ok(None);
        };
        tokio::task::spawn_blocking(move || {
            let mut guard = vault.lock().unwrap_or_else(|p| p.into_inner());
            work(guard.connection_mut()).map(Some)
        })
        .await
        .map_err(|e| CoreError::Database(format!("offline login task stopped: {e}")))?
    }

    /// After an online badge login: keeps (or refreshes) the verifier. With
    /// the PIN typed, the PIN hash and the grace period start anew; without
    /// it, only the user's details are refreshed.
    pub async fn remember(
        &self,
        badge: &BadgeUid,
        pin: Option<&Secret>,
        response: &LoginResponse,
    ) -> Result<()> {
        let badge = badge.clone();
        let pin = pin.map(|p| p.expose().to_owned());
        let user = response.user.clone();
        self.with_vault(move |conn| {
            let Some(hash) = badge_hash(conn, &badge)? else {
                // No badge key synced yet: no verifier can match the server's.
                return Ok(());
            };
            let pin_hash = match pin {
                Some(pin) => Some(
                    Argon2::default()
                        .hash_password(pin.as_bytes(), &SaltString::generate(&mut OsRng))
                        .map_err(|e| CoreError::Database(format!("PIN hash: {e}")))?
                        .to_string(),
                ),
                None => None,
            };
            remember_in(conn, &hash, &user, pin_hash.as_deref(), Utc::now())
        })
        .await
        .map(|_| ())
    }

    /// A badge tap while the server cannot be reached. Answers like the
    /// server would (`BADGE_PIN_REQUIRED`, `BADGE_PIN_WRONG` with attempts
    /// left, `BADGE_LOCKED`), or `OFFLINE` when this badge cannot sign in
    /// offline here. Queues an audit event either way.
    pub async fn verify(&self, badge: &BadgeUid, pin: Option<&Secret>) -> Result<LoginResponse> {
        let badge = badge.clone();
        let pin = pin.map(|p| p.expose().to_owned());
        let answer = self
            .with_vault(move |conn| {
                let now = Utc::now();
                let hash = badge_hash(conn, &badge)?;
                let outcome = match &hash {
                    Some(hash) => verify_in(conn, hash, pin.as_deref(), now),
                    None => Err(cannot_offline()),
                };
                let (user_id, audit) = match &outcome {
                    Ok(response) => (
                        Some(response.user.id),
                        Some((DeviceAuditAction::OfflineLogin, AuditOutcome::Success, None)),
                    ),
                    // Asking for the PIN is not a failure.
                    Err(e) if e.code() == ErrorCode::BadgePinRequired => (None, None),
                    Err(e) => (
                        hash.as_deref()
                            .and_then(|h| verifier_user(conn, h).ok().flatten()),
                        Some((
                            DeviceAuditAction::OfflineLoginFailed,
                            AuditOutcome::Denied,
                            Some(e.code().as_str().to_owned()),
                        )),
                    ),
                };
                if let Some((action, result, reason)) = audit {
                    queue_audit(
                        conn,
                        &DeviceAuditEvent {
                            action,
                            user_id,
                            occurred_at: now,
                            outcome: result,
                            reason,
                            patient_id: None,
                        },
                    )?;
                }
                outcome
            })
            .await?;
        answer.ok_or_else(cannot_offline)
    }

    /// The server refused this badge for good (revoked, unknown): its
    /// verifier goes at once, before sync would remove it.
    pub async fn forget(&self, badge: &BadgeUid) -> Result<()> {
        let badge = badge.clone();
        self.with_vault(move |conn| {
            if let Some(hash) = badge_hash(conn, &badge)? {
                conn.execute("DELETE FROM badge_verifiers WHERE badge_hash = ?1", [hash])
                    .map_err(db_error)?;
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// Queues a session event (lock, unlock, logout) for the audit log.
    pub async fn audit(&self, event: DeviceAuditEvent) -> Result<()> {
        self.with_vault(move |conn| queue_audit(conn, &event))
            .await
            .map(|_| ())
    }
}

/// The audit event a lock-screen change means, if any: a session locked,
/// unlocked by its user, or ended (logged out, or replaced by another user's
/// tap). Logins are audited by the server (or as offline logins above).
pub fn session_change_event(
    before: &crate::login::SessionState,
    after: &crate::login::SessionState,
    now: DateTime<Utc>,
) -> Option<DeviceAuditEvent> {
    use crate::login::SessionPhase;
    let event = |action, user: Option<&crate::login::SessionUser>| DeviceAuditEvent {
        action,
        user_id: user.map(|u| u.id),
        occurred_at: now,
        outcome: AuditOutcome::Success,
        reason: None,
        patient_id: None,
    };
    let signed_in = |s: &crate::login::SessionState| {
        matches!(s.phase, SessionPhase::Active { .. } | SessionPhase::Locked)
    };
    match (&before.phase, &after.phase) {
        (SessionPhase::Active { .. }, SessionPhase::Locked) => {
            Some(event(DeviceAuditAction::Lock, after.user.as_ref()))
        }
        (SessionPhase::Locked, SessionPhase::Active { .. })
            if before.user.as_ref().map(|u| u.id) == after.user.as_ref().map(|u| u.id) =>
        {
            Some(event(DeviceAuditAction::Unlock, after.user.as_ref()))
        }
        _ if signed_in(before)
            && before.user.is_some()
            && before.user.as_ref().map(|u| u.id) != after.user.as_ref().map(|u| u.id)
            && !matches!(
                after.phase,
                SessionPhase::Verifying | SessionPhase::PinRequired { .. }
            ) =>
        {
            Some(event(DeviceAuditAction::Logout, before.user.as_ref()))
        }
        _ => None,
    }
}

fn cannot_offline() -> CoreError {
    CoreError::Api {
        code: ErrorCode::Offline,
        message: "The server can't be reached, and this badge can't sign in offline on this \
                  device. Sign in with it once while online, or use your password when the \
                  connection is back."
            .into(),
    }
}

fn db_error(e: rusqlite::Error) -> CoreError {
    CoreError::Database(e.to_string())
}

fn parse_ts(value: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| CoreError::Database(format!("bad time in the vault: {e}")))
}

/// The badge's keyed hash under the organization's key, if sync delivered it.
fn badge_hash(conn: &Connection, badge: &BadgeUid) -> Result<Option<String>> {
    let key: Option<Vec<u8>> = conn
        .query_row(
            "SELECT secret FROM device_credentials WHERE name = ?1",
            [BADGE_KEY_CREDENTIAL],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_error)?;
    Ok(key.map(|key| badge.keyed_hash(&key).to_hex()))
}

/// The facility's badge policy as last synced (defaults before that).
fn policy(conn: &Connection) -> Result<BadgeLoginPolicy> {
    Ok(crate::sync::store::facility_policy(conn)?.badge_login())
}

fn verifier_user(conn: &Connection, hash: &str) -> Result<Option<i64>> {
    conn.query_row(
        "SELECT user_id FROM badge_verifiers WHERE badge_hash = ?1",
        [hash],
        |r| r.get(0),
    )
    .optional()
    .map_err(db_error)
}

/// Stores or refreshes a verifier. Without a PIN hash only an existing
/// verifier's user details change (a badge-alone login proves no PIN).
pub fn remember_in(
    conn: &mut Connection,
    hash: &str,
    user: &User,
    pin_hash: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let policy = policy(conn)?;
    let role = user.role.as_str();
    // The server's answer is the freshest word on the person's language.
    crate::sync::store::set_staff_language(conn, user.id, user.preferred_language)?;
    match pin_hash {
        Some(pin_hash) => {
            conn.execute(
                "INSERT INTO badge_verifiers (badge_hash, user_id, organization_id, facility_id,
                     username, full_name, employee_id, role, pin_hash, pin_verified_at,
                     expires_at, failed_attempts, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0, ?10)
                 ON CONFLICT (badge_hash) DO UPDATE SET
                     user_id = excluded.user_id, organization_id = excluded.organization_id,
                     facility_id = excluded.facility_id, username = excluded.username,
                     full_name = excluded.full_name, employee_id = excluded.employee_id,
                     role = excluded.role, pin_hash = excluded.pin_hash,
                     pin_verified_at = excluded.pin_verified_at, expires_at = excluded.expires_at,
                     failed_attempts = 0, updated_at = excluded.updated_at",
                params![
                    hash,
                    user.id,
                    user.organization_id,
                    user.facility_id,
                    user.username,
                    user.full_name,
                    user.employee_id,
                    role,
                    pin_hash,
                    ts(now),
                    ts(now + policy.reauth),
                ],
            )
            .map_err(db_error)?;
        }
        None => {
            conn.execute(
                "UPDATE badge_verifiers SET username = ?2, full_name = ?3, role = ?4,
                     failed_attempts = 0, updated_at = ?5
                 WHERE badge_hash = ?1 AND user_id = ?6",
                params![hash, user.username, user.full_name, role, ts(now), user.id],
            )
            .map_err(db_error)?;
        }
    }
    Ok(())
}

struct Verifier {
    user: User,
    pin_hash: String,
    pin_verified_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    failed_attempts: u32,
}

fn load(conn: &Connection, hash: &str) -> Result<Option<Verifier>> {
    let row = conn
        .query_row(
            "SELECT user_id, organization_id, facility_id, username, full_name, employee_id, role,
                    pin_hash, pin_verified_at, expires_at, failed_attempts, updated_at
             FROM badge_verifiers WHERE badge_hash = ?1",
            [hash],
            |r| {
                Ok((
                    (
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                    ),
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, String>(9)?,
                    r.get::<_, u32>(10)?,
                    r.get::<_, String>(11)?,
                ))
            },
        )
        .optional()
        .map_err(db_error)?;
    let Some((
        (id, org, facility, username, full_name, employee_id, role),
        pin_hash,
        verified,
        expires,
        failed,
        updated,
    )) = row
    else {
        return Ok(None);
    };
    let updated = parse_ts(&updated)?;
    // The language as the device's copy of the staff has it (synced, or
    // chosen here): an offline sign-in shows the person's own choice too.
    let preferred_language = crate::sync::store::staff_language(conn, id)?;
    Ok(Some(Verifier {
        user: User {
            id,
            organization_id: org,
            facility_id: facility,
            employee_id,
            username,
            full_name,
            email: None,
            role: Role::parse(&role)?,
            is_active: true,
            created_at: updated,
            updated_at: updated,
            preferred_language,
        },
        pin_hash,
        pin_verified_at: parse_ts(&verified)?,
        expires_at: parse_ts(&expires)?,
        failed_attempts: failed,
    }))
}

/// Decides an offline tap of the badge whose keyed hash is `hash`.
pub fn verify_in(
    conn: &mut Connection,
    hash: &str,
    pin: Option<&str>,
    now: DateTime<Utc>,
) -> Result<LoginResponse> {
    let Some(verifier) = load(conn, hash)? else {
        return Err(cannot_offline());
    };
    if verifier.expires_at <= now {
        conn.execute("DELETE FROM badge_verifiers WHERE badge_hash = ?1", [hash])
            .map_err(db_error)?;
        return Err(CoreError::Api {
            code: ErrorCode::Offline,
            message: "It's time to sign in again with your badge and PIN while online; offline \
                      sign-in has ended for this badge."
                .into(),
        });
    }
    let policy = policy(conn)?;
    let session = |expires_at| LoginResponse {
        token: OFFLINE_SESSION_TOKEN.to_owned(),
        token_type: "Bearer".to_owned(),
        expires_at,
        user: verifier.user.clone(),
    };
    let expires_at = policy
        .session_expiry(verifier.pin_verified_at, now, Duration::hours(12))
        .min(verifier.expires_at);
    match pin {
        None => match policy.badge_alone(Some(verifier.pin_verified_at), now) {
            Ok(()) => Ok(session(expires_at)),
            Err(reason) => Err(CoreError::Api {
                code: ErrorCode::BadgePinRequired,
                message: reason.message().to_owned(),
            }),
        },
        Some(pin) => {
            let matches = PasswordHash::new(&verifier.pin_hash)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(pin.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false);
            if matches {
                conn.execute(
                    "UPDATE badge_verifiers SET failed_attempts = 0, updated_at = ?2 WHERE badge_hash = ?1",
                    params![hash, ts(now)],
                )
                .map_err(db_error)?;
                return Ok(session(expires_at));
            }
            let failed = verifier.failed_attempts + 1;
            if failed >= MAX_FAILED_PIN_ATTEMPTS {
                conn.execute("DELETE FROM badge_verifiers WHERE badge_hash = ?1", [hash])
                    .map_err(db_error)?;
                return Err(CoreError::Api {
                    code: ErrorCode::BadgeLocked,
                    message:
                        "Too many wrong PINs: this badge can't sign in offline on this device \
                              until it signs in online again. Use your password when the \
                              connection is back."
                            .into(),
                });
            }
            conn.execute(
                "UPDATE badge_verifiers SET failed_attempts = ?2, updated_at = ?3 WHERE badge_hash = ?1",
                params![hash, failed, ts(now)],
            )
            .map_err(db_error)?;
            let attempts_left = MAX_FAILED_PIN_ATTEMPTS - failed;
            Err(CoreError::BadgePinWrong {
                message: format!("Wrong PIN. {attempts_left} attempts left."),
                attempts_left,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tend_domain::wire::{RemovedId, SyncChange, SyncPullPage, SyncedBadge};

    use super::*;
    use crate::vault::{MemoryStore, Vault, VaultOptions};

    const KEY: [u8; 32] = [7; 32];

    fn vault() -> (tempfile::TempDir, Vault) {
        let dir = tempfile::tempdir().unwrap();
        let (vault, _) = Vault::open(
            dir.path(),
            Arc::new(MemoryStore::new()),
            VaultOptions::default(),
        )
        .unwrap();
        (dir, vault)
    }

    fn with_key(conn: &Connection) {
        conn.execute(
            "INSERT INTO device_credentials (name, secret, issued_at) VALUES (?1, ?2, 'now')",
            params![BADGE_KEY_CREDENTIAL, KEY.to_vec()],
        )
        .unwrap();
    }

    fn badge() -> BadgeUid {
        BadgeUid::parse("04A1B2C3D4E5F6").unwrap()
    }

    fn nurse() -> User {
        let now = Utc::now();
        User {
            id: 7,
            organization_id: 1,
            facility_id: 2,
            employee_id: "E-7".into(),
            username: "rn.flores".into(),
            full_name: "Joseph Flores".into(),
            email: None,
            role: Role::Rn,
            is_active: true,
            created_at: now,
            updated_at: now,
            preferred_language: None,
        }
    }

    fn pin_hash(pin: &str) -> String {
        Argon2::default()
            .hash_password(pin.as_bytes(), &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string()
    }

    fn code(r: Result<LoginResponse>) -> ErrorCode {
        r.map(|_| ()).unwrap_err().code()
    }

    fn audits(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT payload FROM outbox WHERE kind = 'audit' ORDER BY seq")
            .unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|p| p.unwrap())
            .collect()
    }

    fn state(phase: crate::login::SessionPhase, user: Option<i64>) -> crate::login::SessionState {
        crate::login::SessionState {
            phase,
            user: user.map(|id| crate::login::SessionUser {
                id,
                full_name: format!("Nurse {id}"),
                username: format!("nurse{id}"),
                role: Role::Rn,
                language: None,
            }),
            failure: None,
            idle_lock_ms: 120_000,
            offline: false,
        }
    }

    #[test]
    fn lock_unlock_and_logout_become_audit_events_and_nothing_else_does() {
        use crate::login::SessionPhase::*;
        let now = Utc::now();
        let active = |u| {
            state(
                Active {
                    idle_warning: false,
                },
                Some(u),
            )
        };
        let action = |a: &crate::login::SessionState, b: &crate::login::SessionState| {
            session_change_event(a, b, now).map(|e| (e.action, e.user_id))
        };
        assert_eq!(
            action(&active(7), &state(Locked, Some(7))),
            Some((DeviceAuditAction::Lock, Some(7)))
        );
        assert_eq!(
            action(&state(Locked, Some(7)), &active(7)),
            Some((DeviceAuditAction::Unlock, Some(7)))
        );
        assert_eq!(
            action(&active(7), &state(SignedOut, None)),
            Some((DeviceAuditAction::Logout, Some(7)))
        );
        // Another user's tap on a locked screen: the previous user is logged out.
        assert_eq!(
            action(&state(Locked, Some(7)), &active(8)),
            Some((DeviceAuditAction::Logout, Some(7)))
        );
        // Checking a badge, the idle warning, a refused tap: no event.
        assert_eq!(
            action(&state(Locked, Some(7)), &state(Verifying, Some(7))),
            None
        );
        assert_eq!(
            action(&active(7), &state(Active { idle_warning: true }, Some(7))),
            None
        );
        assert_eq!(
            action(&state(SignedOut, None), &state(SignedOut, None)),
            None
        );
    }

    #[test]
    fn within_the_grace_period_the_badge_alone_signs_in_offline() {
        let (_dir, mut vault) = vault();
        let conn = vault.connection_mut();
        with_key(conn);
        let hash = badge().keyed_hash(&KEY).to_hex();
        let t0 = Utc::now();
        remember_in(conn, &hash, &nurse(), Some(&pin_hash("73946281")), t0).unwrap();

        let session = verify_in(conn, &hash, None, t0 + Duration::hours(2)).unwrap();
        assert_eq!(session.token, OFFLINE_SESSION_TOKEN);
        assert_eq!(session.user.full_name, "Joseph Flores");
        assert_eq!(session.user.role, Role::Rn);
        // The session never outlives the re-authentication due 12 h after the PIN.
        assert!(session.expires_at <= t0 + Duration::hours(12));
        // The stored hash is the server's form, never the badge value.
        let stored: String = conn
            .query_row("SELECT badge_hash FROM badge_verifiers", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored.len(), 64);
        assert!(!stored.to_uppercase().contains("04A1B2C3D4E5F6"));
    }

    #[test]
    fn an_offline_sign_in_carries_the_language_of_the_devices_staff_copy() {
        use tend_domain::wire::{StaffMember, SyncChange};
        use tend_domain::Language;
        let (_dir, mut vault) = vault();
        let conn = vault.connection_mut();
        with_key(conn);
        let hash = badge().keyed_hash(&KEY).to_hex();
        let t0 = Utc::now();
        // The facility's staff as pulled: the nurse prefers Spanish.
        crate::sync::store::apply_resident(
            conn,
            &SyncChange::Staff(StaffMember {
                id: 7,
                full_name: "Joseph Flores".into(),
                role: Role::Rn,
                employee_id: "E-7".into(),
                preferred_language: Some(Language::Es),
            }),
        )
        .unwrap();
        // The online login that made the verifier said Spanish too.
        let mut online = nurse();
        online.preferred_language = Some(Language::Es);
        remember_in(conn, &hash, &online, Some(&pin_hash("73946281")), t0).unwrap();
        let session = verify_in(conn, &hash, None, t0 + Duration::hours(1)).unwrap();
        assert_eq!(session.user.preferred_language, Some(Language::Es));

        // Changed on this device while offline: the next offline sign-in follows.
        crate::sync::store::set_staff_language(conn, 7, Some(Language::En)).unwrap();
        let session = verify_in(conn, &hash, None, t0 + Duration::hours(2)).unwrap();
        assert_eq!(session.user.preferred_language, Some(Language::En));

        // The next online login's answer (no preference) is the freshest word.
        remember_in(conn, &hash, &nurse(), None, t0 + Duration::hours(3)).unwrap();
        let session = verify_in(conn, &hash, None, t0 + Duration::hours(3)).unwrap();
        assert_eq!(session.user.preferred_language, None);
    }

    /// The facility's policy as a pull stores it.
    fn set_policy(conn: &Connection, policy: tend_domain::FacilityPolicy) {
        conn.execute(
            "INSERT INTO device_settings (key, value, updated_at) VALUES (?1, ?2, '2026-01-01')
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![
                crate::sync::store::FACILITY_POLICY_SETTING,
                serde_json::to_vec(&policy).unwrap()
            ],
        )
        .unwrap();
    }

    #[test]
    fn the_badge_grace_follows_the_facility_policy_as_synced() {
        let (_dir, mut vault) = vault();
        let conn = vault.connection_mut();
        with_key(conn);
        let hash = badge().keyed_hash(&KEY).to_hex();
        let t0 = Utc::now();
        remember_in(conn, &hash, &nurse(), Some(&pin_hash("73946281")), t0).unwrap();
        let later = t0 + Duration::hours(2);
        assert!(verify_in(conn, &hash, None, later).is_ok(), "default 8 h");
        set_policy(
            conn,
            tend_domain::FacilityPolicy {
                badge_grace_hours: 1,
                ..Default::default()
            },
        );
        assert_eq!(
            code(verify_in(conn, &hash, None, later)),
            ErrorCode::BadgePinRequired
        );
        set_policy(
            conn,
            tend_domain::FacilityPolicy {
                badge_grace_hours: 0,
                ..Default::default()
            },
        );
        assert_eq!(
            code(verify_in(conn, &hash, None, t0 + Duration::minutes(1))),
            ErrorCode::BadgePinRequired,
            "0: the PIN every time"
        );
        assert!(verify_in(conn, &hash, Some("73946281"), later).is_ok());
    }

    #[test]
    fn after_the_grace_period_the_pin_is_checked_and_five_wrong_ones_delete_the_verifier() {
        let (_dir, mut vault) = vault();
        let conn = vault.connection_mut();
        with_key(conn);
        let hash = badge().keyed_hash(&KEY).to_hex();
        let t0 = Utc::now();
        remember_in(conn, &hash, &nurse(), Some(&pin_hash("73946281")), t0).unwrap();
        let later = t0 + Duration::hours(9);

        assert_eq!(
            code(verify_in(conn, &hash, None, later)),
            ErrorCode::BadgePinRequired
        );
        assert!(verify_in(conn, &hash, Some("73946281"), later).is_ok());
        for left in (1..=4).rev() {
            match verify_in(conn, &hash, Some("11112222"), later) {
                Err(CoreError::BadgePinWrong { attempts_left, .. }) => {
                    assert_eq!(attempts_left, left)
                }
                other => panic!("expected a wrong PIN, got {:?}", other.map(|_| ())),
            }
        }
        assert_eq!(
            code(verify_in(conn, &hash, Some("11112222"), later)),
            ErrorCode::BadgeLocked
        );
        // Gone until the next online login: even the right PIN no longer works offline.
        assert_eq!(
            code(verify_in(conn, &hash, Some("73946281"), later)),
            ErrorCode::Offline
        );
    }

    #[test]
    fn a_verifier_expires_when_full_reauthentication_is_due_and_needs_a_pin_login_to_exist() {
        let (_dir, mut vault) = vault();
        let conn = vault.connection_mut();
        with_key(conn);
        let hash = badge().keyed_hash(&KEY).to_hex();
        let t0 = Utc::now();
        // A badge-alone online login creates nothing: no PIN was proven here.
        remember_in(conn, &hash, &nurse(), None, t0).unwrap();
        assert_eq!(code(verify_in(conn, &hash, None, t0)), ErrorCode::Offline);

        remember_in(conn, &hash, &nurse(), Some(&pin_hash("73946281")), t0).unwrap();
        let due = t0 + Duration::hours(12);
        assert_eq!(
            code(verify_in(conn, &hash, Some("73946281"), due)),
            ErrorCode::Offline
        );
        let left: i64 = conn
            .query_row("SELECT count(*) FROM badge_verifiers", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0, "an expired verifier is deleted");
    }

    #[test]
    fn a_revoked_badge_tombstone_from_sync_deletes_its_verifier() {
        let (_dir, mut vault) = vault();
        let conn = vault.connection_mut();
        with_key(conn);
        let hash = badge().keyed_hash(&KEY).to_hex();
        let t0 = Utc::now();
        remember_in(conn, &hash, &nurse(), Some(&pin_hash("73946281")), t0).unwrap();
        let page = |changes| SyncPullPage {
            server_time: t0,
            cursor: "c".into(),
            has_more: false,
            remaining: 0,
            changes,
            badge_key: None,
        };
        crate::sync::store::apply_page(
            conn,
            &page(vec![SyncChange::Badge(SyncedBadge {
                id: 9,
                user_id: 7,
                badge_hash: hash.clone(),
            })]),
        )
        .unwrap();
        assert!(verify_in(conn, &hash, None, t0).is_ok());
        crate::sync::store::apply_page(
            conn,
            &page(vec![SyncChange::BadgeRevoked(RemovedId { id: 9 })]),
        )
        .unwrap();
        assert_eq!(code(verify_in(conn, &hash, None, t0)), ErrorCode::Offline);
    }

    #[tokio::test]
    async fn offline_logins_and_failures_are_queued_for_the_audit_log_without_badge_or_pin() {
        let (_dir, vault) = vault();
        with_key(vault.connection());
        let shared: SharedVault = Arc::new(std::sync::Mutex::new(vault));
        let verifiers = OfflineVerifiers::default();
        // Without a vault nothing can be verified.
        assert_eq!(
            code(verifiers.verify(&badge(), None).await),
            ErrorCode::Offline
        );
        verifiers.attach(Some(shared.clone()));
        let online = LoginResponse {
            token: "server-token".into(),
            token_type: "Bearer".into(),
            expires_at: Utc::now() + Duration::hours(8),
            user: nurse(),
        };
        verifiers
            .remember(&badge(), Some(&Secret::new("73946281")), &online)
            .await
            .unwrap();
        assert!(verifiers.verify(&badge(), None).await.is_ok());
        let stranger = BadgeUid::parse("04C0FFEE").unwrap();
        assert_eq!(
            code(verifiers.verify(&stranger, None).await),
            ErrorCode::Offline
        );

        let guard = shared.lock().unwrap();
        let queued = audits(guard.connection());
        assert_eq!(queued.len(), 2, "{queued:?}");
        assert!(queued[0].contains("offline_login") && queued[0].contains("\"user_id\":7"));
        assert!(queued[1].contains("offline_login_failed") && queued[1].contains("OFFLINE"));
        for payload in &queued {
            assert!(!payload.contains("04A1B2C3D4E5F6") && !payload.contains("73946281"));
        }
    }
}
