//! Device sync benchmark (prints figures; results go to docs/benchmarks.md):
//! the real API in this process on a fresh PostgreSQL database, loopback
//! HTTP, and tend-core's sync engine over an empty SQLCipher vault.
//!
//! 1. Initial sync of a 120-bed facility (`seed_sync_load`: 120 residents,
//!    200 staff with badges, 100,000 records) into an empty encrypted vault,
//!    end to end (target ≤ 3 s).
//! 2. Backlog upload: 10,000 records written offline, then uploaded; the
//!    server's row count is checked (exactly once; target ≤ 5 s).
//!
//! `TEND_TEST_PG_URL=… cargo bench -p tend-api --bench device_sync`
//! (optional: `TEND_BENCH_RECORDS`, `TEND_BENCH_BACKLOG`, `TEND_BENCH_PAGE`).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use sha2::{Digest, Sha256};
use tend_core::link::DeviceClient;
use tend_core::sync::{SyncApi, SyncEngine, SyncSettings};
use tend_core::vault::{MemoryStore, Vault, VaultOptions};
use tend_domain::records::{CareNote, RecordBody, RecordDraft};
use tend_domain::wire::{DeviceToken, SyncPullPage, SyncPullQuery, SyncPush, SyncPushResult};

const APP_ROLE: &str = "tend_bench_sync";
const APP_PASSWORD: &str = "tend-bench-sync-password";

/// The sync calls with a device token (as issued by the token endpoint).
struct TokenApi {
    client: DeviceClient,
    token: DeviceToken,
}

impl SyncApi for TokenApi {
    async fn push(&self, body: &SyncPush) -> tend_core::Result<SyncPushResult> {
        self.client.sync_push(&self.token, body).await
    }

    async fn pull(&self, query: &SyncPullQuery) -> tend_core::Result<SyncPullPage> {
        self.client.sync_pull(&self.token, query).await
    }
}

fn empty_vault(dir: &std::path::Path) -> SyncEngine {
    let (vault, report) = Vault::open(dir, Arc::new(MemoryStore::new()), VaultOptions::default())
        .expect("open the vault");
    assert!(report.posture.encrypted && report.created);
    SyncEngine::new(Arc::new(Mutex::new(vault))).unwrap()
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(bench());
}

async fn bench() {
    let server = common::BenchApi::start(APP_ROLE, APP_PASSWORD).await;
    let (base, owner) = (server.base.clone(), server.owner.clone());

    let load = tend_api::load::SyncLoad {
        records: common::env_number("TEND_BENCH_RECORDS", 100_000),
        ..Default::default()
    };
    let started = Instant::now();
    let loaded = tend_api::load::seed_sync_load(&owner, load).await.unwrap();
    sqlx::query("ANALYZE").execute(&owner).await.unwrap();
    println!(
        "seeded {} patients, {} staff, {} records in {:.1} s",
        load.patients,
        load.staff,
        load.records,
        started.elapsed().as_secs_f64()
    );
    let token = format!("tdev_bench_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(
        "INSERT INTO device_tokens (token_hash, device_id, expires_at) VALUES ($1, $2, now() + interval '1 hour')",
    )
    .bind(Sha256::digest(token.as_bytes()).to_vec())
    .bind(loaded.device_id)
    .execute(&owner)
    .await
    .unwrap();
    let api = TokenApi {
        client: DeviceClient::new(tend_core::connectivity::api_client("bench").unwrap(), &base),
        token: DeviceToken {
            token,
            device_id: loaded.device_id,
            expires_at: Utc::now() + chrono::Duration::hours(1),
            facility_id: None,
            facility_name: None,
        },
    };
    let settings = SyncSettings {
        page_limit: std::env::var("TEND_BENCH_PAGE")
            .ok()
            .and_then(|v| v.parse().ok()),
        ..SyncSettings::default()
    };

    // 1. Initial sync into an empty encrypted vault.
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let engine = empty_vault(dir.path());
    let report = engine.sync_once(&api, &settings).await.unwrap();
    let elapsed = started.elapsed();
    let (records, patients, staff, badges): (i64, i64, i64, i64) = {
        let vault = engine.vault().lock().unwrap();
        vault
            .connection()
            .query_row(
                "SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM roster_patients),
                        (SELECT count(*) FROM staff), (SELECT count(*) FROM badges)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap()
    };
    println!(
        "initial sync: {} changes in {} pages ({records} records, {patients} patients, {staff} staff, \
         {badges} badges) in {:.0} ms = {:.0} rows/s (target ≤ 3,000 ms)",
        report.pulled,
        report.pages,
        elapsed.as_secs_f64() * 1000.0,
        report.pulled as f64 / elapsed.as_secs_f64()
    );

    // For the breakdown (after the sync, so the sync ran first on the fresh
    // database): the feed alone — server, loopback HTTP, JSON decoding.
    let started = Instant::now();
    let mut query = SyncPullQuery {
        protocol_version: settings.protocol_version,
        schema_version: settings.schema_version,
        cursor: None,
        limit: settings.page_limit,
    };
    let (mut changes, mut pages) = (0usize, 0usize);
    loop {
        let page = api.pull(&query).await.unwrap();
        changes += page.changes.len();
        pages += 1;
        query.cursor = Some(page.cursor);
        if !page.has_more {
            break;
        }
    }
    println!(
        "feed alone (no vault): {changes} changes in {pages} pages in {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );

    // 2. Backlog upload: written offline, then sent.
    let backlog = common::env_number("TEND_BENCH_BACKLOG", 10_000);
    let author: i64 = sqlx::query_scalar("SELECT min(id) FROM users WHERE facility_id = $1")
        .bind(loaded.facility_id)
        .fetch_one(&owner)
        .await
        .unwrap();
    let patient_ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM patients WHERE facility_id = $1 ORDER BY id")
            .bind(loaded.facility_id)
            .fetch_all(&owner)
            .await
            .unwrap();
    let started = Instant::now();
    for i in 0..backlog {
        engine
            .write_record(RecordDraft {
                patient_id: patient_ids[i as usize % patient_ids.len()],
                author_user_id: author,
                recorded_at: Utc::now(),
                amends: None,
                correction_reason: None,
                body: RecordBody::CareNote(CareNote {
                    text: format!("Queued offline, note {i}: resident comfortable, no complaints."),
                }),
            })
            .await
            .unwrap();
    }
    let writing = started.elapsed();
    let before: i64 =
        sqlx::query_scalar("SELECT count(*) FROM clinical_records WHERE device_id = $1")
            .bind(loaded.device_id)
            .fetch_one(&owner)
            .await
            .unwrap();
    let started = Instant::now();
    let report = engine.sync_once(&api, &settings).await.unwrap();
    let uploading = started.elapsed();
    let after: i64 =
        sqlx::query_scalar("SELECT count(*) FROM clinical_records WHERE device_id = $1")
            .bind(loaded.device_id)
            .fetch_one(&owner)
            .await
            .unwrap();
    let status = engine.status();
    assert_eq!(
        after - before,
        backlog,
        "every record on the server exactly once"
    );
    assert_eq!(status.pending, 0);
    println!(
        "backlog: {backlog} records written offline in {:.0} ms ({:.0}/s); uploaded in {:.0} ms \
         ({} pushed, {} pulled back) = {:.0} records/s (target ≤ 5,000 ms); server rows from the device: {}",
        writing.as_secs_f64() * 1000.0,
        backlog as f64 / writing.as_secs_f64(),
        uploading.as_secs_f64() * 1000.0,
        report.pushed,
        report.pulled,
        backlog as f64 / uploading.as_secs_f64(),
        after - before
    );
    drop(engine);
    server.finish().await;
}
