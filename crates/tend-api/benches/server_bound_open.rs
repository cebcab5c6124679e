//! Opening a kiosk's server-bound vault (prints figures; results go to
//! docs/benchmarks.md): the real API in this process on a fresh PostgreSQL
//! database, loopback HTTP, tend-core's device link and a SQLCipher vault
//! whose secrets are in a key file (a kiosk without a keyring).
//!
//! 1. At boot: authenticate (challenge + token), fetch the server's part,
//!    derive the key, open the vault (target ≤ 100 ms).
//! 2. With a device token already cached: fetch the part and open.
//! 3. For comparison: the same vault opened with a local key.
//!
//! `TEND_TEST_PG_URL=… cargo bench -p tend-api --bench server_bound_open`
//! (optional: `TEND_BENCH_OPENS`, default 50).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tend_core::enrollment::{save_state, Enrollment, EnrollmentState};
use tend_core::identity::IdentityProbe;
use tend_core::link::DeviceLink;
use tend_core::vault::{KeyFileStore, MemoryStore, SecretStore, Vault, VaultOptions};
use tend_domain::DeviceStatus;

const APP_ROLE: &str = "tend_bench_vault";
const APP_PASSWORD: &str = "tend-bench-vault-password";

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(bench());
}

fn summary(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{name}: n={} p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        times.len(),
        ms(at(0.5)),
        ms(at(0.95)),
        ms(*times.last().unwrap())
    );
}

async fn bench() {
    let opens = common::env_number("TEND_BENCH_OPENS", 50) as usize;
    let server = common::BenchApi::start(APP_ROLE, APP_PASSWORD).await;
    let loaded = tend_api::load::seed_sync_load(
        &server.owner,
        tend_api::load::SyncLoad {
            records: 1_000,
            ..Default::default()
        },
    )
    .await
    .unwrap();

    // A kiosk: machine-id below a temporary root, secrets in a key file.
    let machine = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(machine.path().join("etc")).unwrap();
    std::fs::write(
        machine.path().join("etc/machine-id"),
        format!("{}\n", uuid::Uuid::new_v4().simple()),
    )
    .unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn SecretStore> =
        Arc::new(KeyFileStore::new(data_dir.path().join("keys")).unwrap());
    let enrollment = Arc::new(
        Enrollment::new(data_dir.path(), "0.1.0").with(IdentityProbe::new(machine.path()), store),
    );
    let identity = enrollment.identity().unwrap();
    let key = enrollment.device_key().await.unwrap();
    sqlx::query(
        "UPDATE devices SET device_uuid = $1::uuid, identity_public_key = $2, status = 'ACTIVE', is_active = true \
         WHERE id = $3",
    )
    .bind(&identity.device_uuid)
    .bind(key.public_key_base64())
    .bind(loaded.device_id)
    .execute(&server.owner)
    .await
    .unwrap();
    let (organization_id, facility_id): (i64, i64) =
        sqlx::query_as("SELECT organization_id, facility_id FROM devices WHERE id = $1")
            .bind(loaded.device_id)
            .fetch_one(&server.owner)
            .await
            .unwrap();
    save_state(
        data_dir.path(),
        &EnrollmentState {
            server_url: server.base.clone(),
            device_id: loaded.device_id,
            device_uuid: identity.device_uuid.clone(),
            organization_id,
            facility_id,
            facility_name: None,
            status: DeviceStatus::Active,
            checked_at: chrono::Utc::now(),
            server_key: None,
        },
    )
    .unwrap();

    // First open: creates the vault, bound from the start.
    let started = Instant::now();
    let link = DeviceLink::new(enrollment.clone());
    let vault = tend_core::server_bound::fetch_and_open(&enrollment, &link)
        .await
        .unwrap();
    assert!(vault.posture().server_bound);
    drop(vault);
    println!(
        "first open (create, bound): {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );

    let mut boot = Vec::with_capacity(opens);
    for _ in 0..opens {
        let link = DeviceLink::new(enrollment.clone());
        let started = Instant::now();
        let vault = tend_core::server_bound::fetch_and_open(&enrollment, &link)
            .await
            .unwrap();
        boot.push(started.elapsed());
        drop(vault);
    }
    summary("at boot (challenge + token + part + open)", boot);

    let link = DeviceLink::new(enrollment.clone());
    drop(
        tend_core::server_bound::fetch_and_open(&enrollment, &link)
            .await
            .unwrap(),
    );
    let mut warm = Vec::with_capacity(opens);
    for _ in 0..opens {
        let started = Instant::now();
        let vault = tend_core::server_bound::fetch_and_open(&enrollment, &link)
            .await
            .unwrap();
        warm.push(started.elapsed());
        drop(vault);
    }
    summary("token cached (part + open)", warm);

    let local_dir = tempfile::tempdir().unwrap();
    let local_store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    drop(
        Vault::open(
            local_dir.path(),
            local_store.clone(),
            VaultOptions::default(),
        )
        .unwrap(),
    );
    let mut local = Vec::with_capacity(opens);
    for _ in 0..opens {
        let started = Instant::now();
        let vault = Vault::open(
            local_dir.path(),
            local_store.clone(),
            VaultOptions::default(),
        )
        .unwrap();
        local.push(started.elapsed());
        drop(vault);
    }
    summary("local key, for comparison (open only)", local);
    server.finish().await;
}
