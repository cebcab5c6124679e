//! The tamper-evident audit log: recomputing each event's hash from its
//! columns, walking a chain against the server's signed checkpoints, and
//! signing new checkpoints. Migration 0011 defines the chain (and computes it
//! in a trigger on insert); this module checks it without trusting anything
//! in the database but the rows themselves and the public key.
//!
//! What a walk detects: an edited event (its hash no longer matches its
//! content), a deleted one (a gap in the sequence), reordered or swapped ones
//! (the previous-hash link or the hash breaks), a rewritten chain with
//! recomputed hashes or a cut-off end (a signed checkpoint disagrees or lies
//! beyond the end), and a forged checkpoint (its signature fails).

use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, SubsecRound, Utc};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

use crate::error::{ApiError, Result};

/// The chain of events that belong to no organization.
pub const PLATFORM_CHAIN: i64 = 0;

/// Domain tag of an event's hash (the canonical content's version).
const EVENT_TAG: &[u8] = b"tend-audit-v1";
/// Domain tag of a checkpoint's signed message.
const CHECKPOINT_TAG: &str = "tend-audit-checkpoint-v1";
/// The previous hash of a chain's first event.
pub const GENESIS: [u8; 32] = [0; 32];
/// Events read per statement while walking a chain.
const WALK_PAGE: usize = 5_000;
/// `pg_try_advisory_xact_lock` key: one instance signs checkpoints at a time.
const CHECKPOINT_LOCK: i64 = 0x7465_6e64_0019;

/// The chain an event with this organization belongs to.
pub fn chain_key(organization_id: Option<i64>) -> i64 {
    organization_id.unwrap_or(PLATFORM_CHAIN)
}

/// One audit event as stored, with its place in the chain.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChainedEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor_device_id: Option<i64>,
    pub organization_id: Option<i64>,
    pub facility_id: Option<i64>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<i64>,
    pub outcome: String,
    pub cross_facility: bool,
    pub reason: Option<String>,
    pub client_address: Option<String>,
    /// Optional here although NOT NULL in the schema: the verifier reads what
    /// a database owner may have left, not what the schema promises.
    pub chain_seq: Option<i64>,
    pub prev_hash: Option<Vec<u8>>,
    pub hash: Option<Vec<u8>>,
}

/// The columns [`ChainedEvent`] reads.
pub const EVENT_COLUMNS: &str = "id, at, actor_user_id, actor_device_id, organization_id, facility_id, \
     action, resource_type, resource_id, outcome, cross_facility, reason, client_address, chain_seq, \
     prev_hash, hash";

fn field(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => out.extend_from_slice(&[0xff; 4]),
        Some(v) => {
            let len = u32::try_from(v.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(v.as_bytes());
        }
    }
}

fn int(out: &mut Vec<u8>, value: Option<i64>) {
    field(out, value.map(|v| v.to_string()).as_deref());
}

/// The hash of `event` at place `seq` of chain `chain`, after `prev` — the
/// definition in migration 0011, computed here from the columns alone.
pub fn event_hash(prev: &[u8], chain: i64, seq: i64, event: &ChainedEvent) -> [u8; 32] {
    let mut content = Vec::with_capacity(256);
    content.extend_from_slice(EVENT_TAG);
    content.extend_from_slice(prev);
    int(&mut content, Some(chain));
    int(&mut content, Some(seq));
    int(&mut content, Some(event.id));
    int(&mut content, Some(event.at.timestamp_micros()));
    int(&mut content, event.actor_user_id);
    int(&mut content, event.actor_device_id);
    int(&mut content, event.organization_id);
    int(&mut content, event.facility_id);
    field(&mut content, Some(&event.action));
    field(&mut content, Some(&event.resource_type));
    int(&mut content, event.resource_id);
    field(&mut content, Some(&event.outcome));
    field(
        &mut content,
        Some(if event.cross_facility {
            "true"
        } else {
            "false"
        }),
    );
    field(&mut content, event.reason.as_deref());
    field(&mut content, event.client_address.as_deref());
    Sha256::digest(&content).into()
}

/// The message a checkpoint's signature covers.
pub fn checkpoint_message(
    chain: i64,
    seq: i64,
    hash: &[u8],
    signed_at: DateTime<Utc>,
    key_id: &str,
) -> Vec<u8> {
    format!(
        "{CHECKPOINT_TAG}\n{chain}\n{seq}\n{}\n{}\n{key_id}",
        hex(hash),
        signed_at.timestamp_micros()
    )
    .into_bytes()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The key checkpoints must verify against, and its id.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    pub key_id: String,
    pub key: VerifyingKey,
}

impl TrustedKey {
    /// From the base64 public key (as `GET /api/server-key` and
    /// `server_signing_key.public_key` give it).
    pub fn parse(base64: &str) -> Result<Self, String> {
        let bytes = STANDARD
            .decode(base64.trim())
            .map_err(|_| "the public key is not base64".to_owned())?;
        let bytes: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| "an Ed25519 public key is 32 bytes".to_owned())?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| "not a valid Ed25519 public key".to_owned())?;
        Ok(Self {
            key_id: crate::identity::orders::key_id(&bytes),
            key,
        })
    }
}

/// A stored checkpoint.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Checkpoint {
    pub id: i64,
    pub seq: i64,
    pub hash: Vec<u8>,
    pub signed_at: DateTime<Utc>,
    pub key_id: String,
    pub signature: Vec<u8>,
}

impl Checkpoint {
    fn signed_by(&self, chain: i64, key: Option<&TrustedKey>) -> bool {
        let Some(key) = key else { return false };
        let Ok(signature) = Signature::from_slice(&self.signature) else {
            return false;
        };
        self.key_id == key.key_id
            && key
                .key
                .verify(
                    &checkpoint_message(chain, self.seq, &self.hash, self.signed_at, &self.key_id),
                    &signature,
                )
                .is_ok()
    }
}

/// What is wrong at the first broken place of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// An event has no place in the chain (its sequence number was removed).
    Unplaced,
    /// Events are missing before this one (deleted): `expected` was next.
    Missing { found_seq: i64 },
    /// Two events claim the same place.
    Duplicate,
    /// The event does not link to the one before it.
    Link,
    /// The event's content no longer matches its hash (edited, or swapped).
    Content,
    /// A checkpoint's signature does not verify with the server's key.
    ForgedCheckpoint { checkpoint_id: i64 },
    /// A signed checkpoint records another hash here: the chain up to this
    /// event was rewritten (hashes recomputed) since it was signed.
    Rewritten { checkpoint_id: i64 },
    /// The chain ends before a signed checkpoint: its end was cut off.
    CutOff {
        checkpoint_id: i64,
        checkpoint_seq: i64,
    },
    /// The chain's recorded head disagrees with its last event.
    Head { head_seq: i64 },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unplaced => write!(f, "an event has no sequence number or hash"),
            Self::Missing { found_seq } => write!(
                f,
                "events are missing from the chain (the next one present is at seq {found_seq})"
            ),
            Self::Duplicate => write!(f, "two events claim the same place in the chain"),
            Self::Link => write!(f, "the event does not link to the previous event's hash"),
            Self::Content => write!(
                f,
                "the event's content does not match its hash (edited or swapped)"
            ),
            Self::ForgedCheckpoint { checkpoint_id } => write!(
                f,
                "checkpoint {checkpoint_id} is not signed by the server's key"
            ),
            Self::Rewritten { checkpoint_id } => write!(
                f,
                "signed checkpoint {checkpoint_id} records another hash for this event: the chain \
                 was rewritten up to here"
            ),
            Self::CutOff {
                checkpoint_id,
                checkpoint_seq,
            } => write!(
                f,
                "the chain ends before signed checkpoint {checkpoint_id} (seq {checkpoint_seq}): \
                 its end was cut off"
            ),
            Self::Head { head_seq } => write!(
                f,
                "the chain's recorded head (seq {head_seq}) disagrees with its last event"
            ),
        }
    }
}

/// The first broken place of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// Its place in the chain.
    pub seq: i64,
    /// The event there, when it is still there.
    pub event_id: Option<i64>,
    pub problem: Problem,
}

/// The result of walking one chain.
#[derive(Debug, Clone)]
pub struct ChainReport {
    pub chain: i64,
    pub started_at: DateTime<Utc>,
    pub events_checked: i64,
    pub checkpoints_checked: i64,
    /// The last event found intact.
    pub last_seq: Option<i64>,
    pub last_event_id: Option<i64>,
    pub broken: Option<Break>,
}

impl ChainReport {
    pub fn intact(&self) -> bool {
        self.broken.is_none()
    }

    pub fn organization_id(&self) -> Option<i64> {
        (self.chain != PLATFORM_CHAIN).then_some(self.chain)
    }

    /// `organization 7` or `platform`.
    pub fn chain_name(&self) -> String {
        match self.organization_id() {
            Some(id) => format!("organization {id}"),
            None => "platform".to_owned(),
        }
    }

    /// One line for the command line.
    pub fn summary(&self) -> String {
        match &self.broken {
            None => format!(
                "{}: intact, {} events, {} checkpoints{}",
                self.chain_name(),
                self.events_checked,
                self.checkpoints_checked,
                match (self.last_event_id, self.last_seq) {
                    (Some(id), Some(seq)) => format!(", through event {id} (seq {seq})"),
                    _ => String::new(),
                }
            ),
            Some(b) => format!(
                "{}: BROKEN at {} (seq {}): {}",
                self.chain_name(),
                b.event_id
                    .map_or_else(|| "a missing event".to_owned(), |id| format!("event {id}")),
                b.seq,
                b.problem
            ),
        }
    }
}

/// Walks chain `chain` on `conn` (open a REPEATABLE READ transaction first,
/// so events, checkpoints and head are one snapshot). `key` is the key
/// checkpoints must be signed with; without one, any checkpoint is forged.
pub async fn verify_chain(
    conn: &mut PgConnection,
    chain: i64,
    key: Option<&TrustedKey>,
) -> Result<ChainReport> {
    let started_at = Utc::now();
    let checkpoints: Vec<Checkpoint> = sqlx::query_as(
        "SELECT id, seq, hash, signed_at, key_id, signature FROM audit_checkpoints \
         WHERE chain_key = $1 ORDER BY seq, id",
    )
    .bind(chain)
    .fetch_all(&mut *conn)
    .await?;
    let head: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT seq, hash FROM tend_audit_chain_head($1)")
            .bind(chain)
            .fetch_optional(&mut *conn)
            .await?;
    let mut walk = Walk {
        chain,
        key,
        checkpoints: checkpoints.into_iter().peekable(),
        prev: GENESIS.to_vec(),
        expected: 1,
        events: 0,
        checkpoints_checked: 0,
        last: None,
    };
    let mut broken = None;
    // Pages in (seq, id) order: one statement per page stays well inside the
    // API's statement timeout however long the chain is.
    let query = format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events WHERE chain_key = $1 AND chain_seq IS NOT NULL \
         AND (chain_seq, id) > ($2, $3) ORDER BY chain_seq, id LIMIT {WALK_PAGE}"
    );
    let mut after = (0_i64, 0_i64);
    'pages: loop {
        let page: Vec<ChainedEvent> = sqlx::query_as(&query)
            .bind(chain)
            .bind(after.0)
            .bind(after.1)
            .fetch_all(&mut *conn)
            .await?;
        for event in &page {
            if let Some(b) = walk.step(event) {
                broken = Some(b);
                break 'pages;
            }
        }
        match page.last() {
            Some(last) if page.len() == WALK_PAGE => {
                after = (last.chain_seq.unwrap_or(0), last.id);
            }
            _ => break,
        }
    }
    if broken.is_none() {
        broken = walk.finish(head);
    }
    if broken.is_none() {
        // An event inserted with the chain's trigger disabled has no place.
        let unplaced: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM audit_events WHERE chain_key = $1 \
             AND (chain_seq IS NULL OR prev_hash IS NULL OR hash IS NULL) ORDER BY id LIMIT 1",
        )
        .bind(chain)
        .fetch_optional(&mut *conn)
        .await?;
        broken = unplaced.map(|id| Break {
            seq: walk.expected,
            event_id: Some(id),
            problem: Problem::Unplaced,
        });
    }
    Ok(ChainReport {
        chain,
        started_at,
        events_checked: walk.events,
        checkpoints_checked: walk.checkpoints_checked,
        last_seq: walk.last.map(|(seq, _)| seq),
        last_event_id: walk.last.map(|(_, id)| id),
        broken,
    })
}

/// The state of a walk along one chain.
struct Walk<'k> {
    chain: i64,
    key: Option<&'k TrustedKey>,
    checkpoints: std::iter::Peekable<std::vec::IntoIter<Checkpoint>>,
    prev: Vec<u8>,
    expected: i64,
    events: i64,
    checkpoints_checked: i64,
    /// (seq, id) of the last intact event.
    last: Option<(i64, i64)>,
}

impl Walk<'_> {
    fn step(&mut self, event: &ChainedEvent) -> Option<Break> {
        let at = |seq: i64, problem| Break {
            seq,
            event_id: Some(event.id),
            problem,
        };
        let (Some(seq), Some(prev_hash), Some(hash)) =
            (event.chain_seq, &event.prev_hash, &event.hash)
        else {
            return Some(at(self.expected, Problem::Unplaced));
        };
        if seq < self.expected {
            return Some(at(seq, Problem::Duplicate));
        }
        if seq > self.expected {
            // A checkpoint inside the gap is forged or names a deleted event;
            // either way the first broken place is the gap.
            return Some(Break {
                seq: self.expected,
                event_id: None,
                problem: Problem::Missing { found_seq: seq },
            });
        }
        if *prev_hash != self.prev {
            return Some(at(seq, Problem::Link));
        }
        if event_hash(&self.prev, self.chain, seq, event).as_slice() != hash.as_slice() {
            return Some(at(seq, Problem::Content));
        }
        while let Some(cp) = self.checkpoints.next_if(|cp| cp.seq <= seq) {
            if !cp.signed_by(self.chain, self.key) {
                return Some(at(
                    cp.seq,
                    Problem::ForgedCheckpoint {
                        checkpoint_id: cp.id,
                    },
                ));
            }
            if cp.seq == seq && cp.hash != *hash {
                return Some(at(
                    seq,
                    Problem::Rewritten {
                        checkpoint_id: cp.id,
                    },
                ));
            }
            self.checkpoints_checked += 1;
        }
        self.prev.clone_from(hash);
        self.expected += 1;
        self.events += 1;
        self.last = Some((seq, event.id));
        None
    }

    /// After the last event: checkpoints beyond it, and the recorded head.
    fn finish(&mut self, head: Option<(i64, Vec<u8>)>) -> Option<Break> {
        let end = self.expected - 1;
        if let Some(cp) = self.checkpoints.next() {
            let problem = if cp.signed_by(self.chain, self.key) {
                Problem::CutOff {
                    checkpoint_id: cp.id,
                    checkpoint_seq: cp.seq,
                }
            } else {
                Problem::ForgedCheckpoint {
                    checkpoint_id: cp.id,
                }
            };
            return Some(Break {
                seq: end + 1,
                event_id: None,
                problem,
            });
        }
        match head {
            Some((seq, _)) if seq > end => Some(Break {
                seq: end + 1,
                event_id: None,
                problem: Problem::Head { head_seq: seq },
            }),
            Some((seq, hash)) if seq < end || hash != self.prev => Some(Break {
                seq: end,
                event_id: self.last.map(|(_, id)| id),
                problem: Problem::Head { head_seq: seq },
            }),
            _ => None,
        }
    }
}

/// Every chain there is or should be: the platform's, each organization's
/// (an organization without events has an empty chain, which must stay
/// empty), and any with a checkpoint.
pub async fn chains(conn: &mut PgConnection) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT 0::bigint UNION SELECT id FROM organizations \
         UNION SELECT chain_key FROM audit_checkpoints ORDER BY 1",
    )
    .fetch_all(conn)
    .await?)
}

/// Records a run (one row per chain) for the console.
pub async fn record(
    conn: &mut PgConnection,
    report: &ChainReport,
    run_by_user_id: Option<i64>,
) -> Result<()> {
    let broken = report.broken.as_ref();
    sqlx::query(
        "INSERT INTO audit_verifications (chain_key, organization_id, started_at, intact, \
         events_checked, checkpoints_checked, last_seq, last_event_id, broken_seq, broken_event_id, \
         problem, run_by_user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(report.chain)
    .bind(report.organization_id())
    .bind(report.started_at)
    .bind(report.intact())
    .bind(report.events_checked)
    .bind(report.checkpoints_checked)
    .bind(report.last_seq)
    .bind(report.last_event_id)
    .bind(broken.map(|b| b.seq))
    .bind(broken.and_then(|b| b.event_id))
    .bind(broken.map(|b| b.problem.to_string()))
    .bind(run_by_user_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Signs a checkpoint for every chain whose head moved since its last one.
/// Safe with several instances: one holds the advisory lock per round, and a
/// checkpoint for a place already signed is not stored twice. Returns how many
/// were stored.
pub async fn checkpoint_round(
    pool: &PgPool,
    signer: &crate::identity::orders::OrderSigner,
) -> Result<usize> {
    let mut tx = pool.begin().await?;
    let ours: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(CHECKPOINT_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if !ours {
        return Ok(0);
    }
    let due: Vec<(i64, i64, Vec<u8>)> =
        sqlx::query_as("SELECT chain_key, seq, hash FROM tend_audit_checkpoints_due()")
            .fetch_all(&mut *tx)
            .await?;
    let mut stored = 0;
    let key_id = signer.public_key(pool).await?.key_id;
    for (chain, seq, hash) in due {
        // PostgreSQL keeps microseconds; sign what will be stored.
        let signed_at = Utc::now().trunc_subsecs(6);
        let message = checkpoint_message(chain, seq, &hash, signed_at, &key_id);
        let (key_id, signature) = signer.sign(pool, &message).await?;
        let new: bool =
            sqlx::query_scalar("SELECT tend_audit_checkpoint_store($1, $2, $3, $4, $5, $6)")
                .bind(chain)
                .bind(seq)
                .bind(&hash)
                .bind(signed_at)
                .bind(&key_id)
                .bind(signature.as_slice())
                .fetch_one(&mut *tx)
                .await?;
        if new {
            stored += 1;
            // The journal keeps a copy off the database: compare it with
            // audit_checkpoints to catch a rewrite by someone who holds the key.
            tracing::info!(
                chain,
                seq,
                hash = %hex(&hash),
                signed_at = %signed_at.to_rfc3339(),
                key_id = %key_id,
                signature = %STANDARD.encode(signature),
                "audit checkpoint signed"
            );
        }
    }
    tx.commit().await?;
    Ok(stored)
}

/// Signs checkpoints every `every` (the first after one interval) until the
/// process ends; a failed round is logged and retried at the next tick.
pub async fn run_checkpoints(
    pool: PgPool,
    identity: std::sync::Arc<crate::identity::IdentityState>,
    every: Duration,
) {
    if every.is_zero() {
        return;
    }
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = checkpoint_round(&pool, &identity.orders).await {
            tracing::warn!(error = %e, "audit checkpoint round failed");
        }
    }
}

/// The server's key as stored (read as the schema owner).
pub async fn stored_key(conn: &mut PgConnection) -> Result<Option<TrustedKey>> {
    let public: Option<String> = sqlx::query_scalar("SELECT public_key FROM server_signing_key")
        .fetch_optional(conn)
        .await?;
    public
        .map(|p| TrustedKey::parse(&p).map_err(|m| ApiError::internal(anyhow::anyhow!(m))))
        .transpose()
}

#[cfg(test)]
mod tests;
