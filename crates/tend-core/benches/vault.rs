//! Vault benchmark (prints figures; results go to docs/benchmarks.md):
//! the sync-apply workload — 100,000 realistic documentation records
//! inserted in batches, then read back by index — on SQLCipher and on plain
//! SQLite (the same library and code, opened without a key), and the time
//! to open the encrypted database with its key.
//!
//! `cargo bench -p tend-core --bench vault` (optional: `TEND_BENCH_ROWS`,
//! `TEND_BENCH_BATCH` (default 500 records per transaction) and
//! `TEND_BENCH_CACHE_KIB` to override the page cache of both runs).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::params;
use tend_core::vault::{KeyringStore, MemoryStore, SecretStore, Vault, VaultOptions};

/// Records per transaction (`TEND_BENCH_BATCH` overrides).
fn batch() -> usize {
    std::env::var("TEND_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

struct Record {
    id: String,
    seq: i64,
    kind: &'static str,
    patient: i64,
    author: i64,
    payload: String,
    created_at: String,
}

/// Deterministic pseudo-random numbers (xorshift), so both runs see the
/// same data without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn records(count: usize) -> Vec<Record> {
    const KINDS: [&str; 5] = [
        "progress_note",
        "vitals",
        "medication_administration",
        "adl",
        "incident",
    ];
    const PHRASES: [&str; 8] = [
        "Resident alert and oriented x3, pleasant and cooperative with care.",
        "Ate 75% of breakfast, fluids encouraged, tolerated well.",
        "Ambulated to the dining room with rolling walker and stand-by assist.",
        "Skin intact, no redness over bony prominences, repositioned every 2 hours.",
        "Reports pain 3/10 in left knee, PRN acetaminophen given per order.",
        "Family visited in the afternoon; resident in good spirits.",
        "Slept through the night, call light within reach, bed in low position.",
        "Blood glucose checked before lunch, within parameters, no insulin needed.",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-01T06:00:00Z").unwrap();
    (0..count)
        .map(|i| {
            let kind = KINDS[rng.below(KINDS.len() as u64) as usize];
            let mut note = String::new();
            for _ in 0..(2 + rng.below(4)) {
                note.push_str(PHRASES[rng.below(PHRASES.len() as u64) as usize]);
                note.push(' ');
            }
            let shift = ["day", "evening", "night"][rng.below(3) as usize];
            let payload = serde_json::json!({
                "note": note.trim_end(),
                "vitals": {
                    "pulse": 55 + rng.below(50),
                    "bp_systolic": 100 + rng.below(60),
                    "bp_diastolic": 60 + rng.below(30),
                    "temp_c": 36.0 + (rng.below(20) as f64) / 10.0,
                    "spo2": 90 + rng.below(10),
                },
                "shift": shift,
                "signed": true,
            })
            .to_string();
            let created = start + chrono::Duration::seconds(i as i64 * 37);
            Record {
                id: uuid::Uuid::now_v7().to_string(),
                seq: i as i64 + 1,
                kind,
                patient: 1 + rng.below(120) as i64,
                author: 1 + rng.below(30) as i64,
                payload,
                created_at: created.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            }
        })
        .collect()
}

struct Figures {
    insert: Duration,
    read_by_id: Duration,
    read_by_patient: Duration,
}

impl Figures {
    fn total(&self) -> Duration {
        self.insert + self.read_by_id + self.read_by_patient
    }
}

fn workload(vault: &mut Vault, data: &[Record]) -> Figures {
    if let Some(kib) = std::env::var("TEND_BENCH_CACHE_KIB")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
    {
        vault
            .connection()
            .pragma_update(None, "cache_size", -kib)
            .unwrap();
    }
    let started = Instant::now();
    for chunk in data.chunks(batch()) {
        let tx = vault.connection_mut().transaction().unwrap();
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO outbox (id, seq, kind, patient_server_id, author_user_id, payload, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .unwrap();
            for r in chunk {
                insert
                    .execute(params![
                        r.id,
                        r.seq,
                        r.kind,
                        r.patient,
                        r.author,
                        r.payload,
                        r.created_at
                    ])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let insert = started.elapsed();

    // Every record by its id (primary key), in a shuffled order.
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut rng = Rng(42);
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let conn = vault.connection();
    let started = Instant::now();
    let mut bytes = 0usize;
    {
        let mut by_id = conn
            .prepare_cached("SELECT seq, kind, payload FROM outbox WHERE id = ?1")
            .unwrap();
        for &i in &order {
            let payload: String = by_id.query_row(params![data[i].id], |r| r.get(2)).unwrap();
            bytes += payload.len();
        }
    }
    let read_by_id = started.elapsed();

    // Every patient's records in time order (the outbox_patient index).
    let started = Instant::now();
    let mut rows = 0usize;
    {
        let mut by_patient = conn
            .prepare_cached(
                "SELECT id, payload FROM outbox WHERE patient_server_id = ?1 ORDER BY created_at",
            )
            .unwrap();
        for patient in 1..=120i64 {
            let mut q = by_patient.query(params![patient]).unwrap();
            while let Some(row) = q.next().unwrap() {
                bytes += row.get_ref(1).unwrap().as_str().unwrap().len();
                rows += 1;
            }
        }
    }
    let read_by_patient = started.elapsed();
    assert_eq!(rows, data.len());
    assert!(bytes > 0);
    Figures {
        insert,
        read_by_id,
        read_by_patient,
    }
}

fn encrypted(dir: &Path, store: &Arc<MemoryStore>) -> Vault {
    Vault::open(dir, store.clone(), VaultOptions::default())
        .unwrap()
        .0
}

fn plain(dir: &Path) -> Vault {
    let options = VaultOptions {
        encryption_required: false,
        ..VaultOptions::default()
    };
    Vault::open_unencrypted(dir, options).unwrap().0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter we ignore.
    let rows: usize = std::env::var("TEND_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let data = records(rows);
    let payload_bytes: usize = data.iter().map(|r| r.payload.len()).sum();
    println!(
        "vault bench: {rows} outbox records, mean payload {} bytes, batches of {}",
        payload_bytes / rows.max(1),
        batch()
    );

    // Warm up the code paths and the file system once, untimed.
    {
        let warm = tempfile::tempdir().unwrap();
        let store = Arc::new(MemoryStore::new());
        workload(
            &mut encrypted(warm.path(), &store),
            &data[..rows.min(5_000)],
        );
    }

    let plain_dir = tempfile::tempdir().unwrap();
    let plain_figures = workload(&mut plain(plain_dir.path()), &data);
    let cipher_dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let cipher_figures = workload(&mut encrypted(cipher_dir.path(), &store), &data);

    println!(
        "{:<10} {:>12} {:>16} {:>20} {:>12}",
        "", "insert ms", "read by id ms", "read by patient ms", "total ms"
    );
    for (name, f) in [("plain", &plain_figures), ("sqlcipher", &cipher_figures)] {
        println!(
            "{name:<10} {:>12.0} {:>16.0} {:>20.0} {:>12.0}",
            ms(f.insert),
            ms(f.read_by_id),
            ms(f.read_by_patient),
            ms(f.total())
        );
    }
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "ratio sqlcipher/plain: insert {:.2}x, read by id {:.2}x, read by patient {:.2}x, total {:.2}x (target <= 1.5x)",
        ratio(cipher_figures.insert, plain_figures.insert),
        ratio(cipher_figures.read_by_id, plain_figures.read_by_id),
        ratio(cipher_figures.read_by_patient, plain_figures.read_by_patient),
        ratio(cipher_figures.total(), plain_figures.total()),
    );
    let size =
        |dir: &Path| std::fs::metadata(dir.join("vault.db")).map_or(0, |m| m.len()) / (1024 * 1024);
    println!(
        "database size: plain {} MiB, sqlcipher {} MiB",
        size(plain_dir.path()),
        size(cipher_dir.path())
    );

    // Opening the existing encrypted database with its key: secret-store
    // read, raw key (no KDF), schema check, pragmas, migration check.
    assert!(store.get("vault-db-key").unwrap().is_some());
    let mut opens = Vec::new();
    for _ in 0..21 {
        let started = Instant::now();
        let (vault, report) =
            Vault::open(cipher_dir.path(), store.clone(), VaultOptions::default()).unwrap();
        opens.push(started.elapsed());
        assert!(!report.created);
        drop(vault);
    }
    report_opens("memory store", &mut opens);

    // The same with the key in the OS keyring (a D-Bus round trip per open),
    // when a Secret Service is reachable (scripts/services/keyring.sh).
    let keyring = KeyringStore::new(format!("tend-bench-{}", uuid::Uuid::new_v4().simple()));
    let key = store.get("vault-db-key").unwrap().unwrap();
    match keyring.set("vault-db-key", &key) {
        Ok(()) => {
            let keyring: Arc<dyn SecretStore> = Arc::new(keyring);
            let mut opens = Vec::new();
            for _ in 0..21 {
                let started = Instant::now();
                let (vault, _) =
                    Vault::open(cipher_dir.path(), keyring.clone(), VaultOptions::default())
                        .unwrap();
                opens.push(started.elapsed());
                drop(vault);
            }
            let mut gets = Vec::new();
            for _ in 0..21 {
                let started = Instant::now();
                keyring.get("vault-db-key").unwrap().unwrap();
                gets.push(started.elapsed());
            }
            gets.sort();
            println!(
                "read the key from the Secret Service alone: median {:.1} ms",
                ms(gets[gets.len() / 2])
            );
            keyring.delete("vault-db-key").unwrap();
            report_opens("Secret Service", &mut opens);
        }
        Err(e) => println!("open with the key in the OS keyring: not measured ({e})"),
    }
}

fn report_opens(store: &str, opens: &mut [Duration]) {
    opens.sort();
    println!(
        "open existing encrypted vault, key in {store}: median {:.1} ms, max {:.1} ms over {} opens (target <= 20 ms)",
        ms(opens[opens.len() / 2]),
        ms(*opens.last().unwrap()),
        opens.len()
    );
}
