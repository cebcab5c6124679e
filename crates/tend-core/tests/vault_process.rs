//! Vault behaviour that needs a second process: killed mid-transaction,
//! killed mid-migration, and start-up without any D-Bus session. The test
//! binary re-runs itself (`helper` below, selected by `TEND_VAULT_HELPER`)
//! as that process; the key is shared through a key-file store.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::params;
use tend_core::vault::{
    self, migrate, select_secret_store, DatabaseKey, KeyFileStore, SecretBackend, SecretStore,
    SecretStoreConfig, Vault, VaultOptions,
};
use tend_core::CoreError;

const HELPER_ENV: &str = "TEND_VAULT_HELPER";
const DIR_ENV: &str = "TEND_VAULT_HELPER_DIR";
const COMMITTED_ROWS: i64 = 1_000;

fn strict() -> VaultOptions {
    VaultOptions {
        recover_unreadable: false,
        ..VaultOptions::default()
    }
}

fn key_store(dir: &Path) -> Arc<KeyFileStore> {
    Arc::new(KeyFileStore::new(dir.join("keys")).unwrap())
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

fn insert_outbox(conn: &rusqlite::Connection, seq: i64, kind: &str) {
    let payload = serde_json::json!({
        "note": "Resident ate 80% of lunch, ambulated to the dining room with walker.",
        "vitals": { "pulse": 72, "bp": "128/82", "temp_c": 36.8 },
        "padding": "x".repeat(600),
    })
    .to_string();
    conn.execute(
        "INSERT INTO outbox (id, seq, kind, patient_server_id, author_user_id, payload, created_at)
         VALUES (?1, ?2, ?3, 17, 4, ?4, '2026-11-26T10:00:00.000Z')",
        params![uuid::Uuid::now_v7().to_string(), seq, kind, payload],
    )
    .unwrap();
}

/// The other process. Does nothing unless started by [`spawn_helper`].
#[test]
fn helper() {
    let Ok(mode) = std::env::var(HELPER_ENV) else {
        return;
    };
    let dir = std::path::PathBuf::from(std::env::var(DIR_ENV).unwrap());
    match mode.as_str() {
        "write" => helper_write(&dir),
        "migrate" => helper_migrate(&dir),
        "select" => helper_select(&dir),
        "wrong_key" => helper_wrong_key(&dir),
        other => panic!("unknown helper mode {other}"),
    }
}

/// Commits some rows, then writes far more in one transaction until killed.
fn helper_write(dir: &Path) {
    let (mut v, _) = Vault::open(dir, key_store(dir), VaultOptions::default()).unwrap();
    // A small page cache, so the big transaction spills into the WAL early.
    v.connection()
        .pragma_update(None, "cache_size", -1024)
        .unwrap();
    let tx = v.connection_mut().transaction().unwrap();
    for seq in 1..=COMMITTED_ROWS {
        insert_outbox(&tx, seq, "committed");
    }
    tx.commit().unwrap();
    say("COMMITTED");
    let tx = v.connection_mut().transaction().unwrap();
    // Past the 16 MiB page cache: uncommitted pages spill into the WAL.
    for seq in (COMMITTED_ROWS + 1)..=400_000 {
        insert_outbox(&tx, seq, "uncommitted");
        if seq == COMMITTED_ROWS + 30_000 {
            say("WRITING");
        }
    }
    // Never commit; wait to be killed.
    std::thread::sleep(Duration::from_secs(60));
}

/// Brings the database to version 1, then runs a version-2 migration that
/// takes long enough to be killed in the middle.
fn helper_migrate(dir: &Path) {
    let store = key_store(dir);
    let key = DatabaseKey::random().unwrap();
    store.set(vault::DB_KEY_NAME, &key.to_secret()).unwrap();
    let mut conn = vault::open_database(&dir.join(vault::DATABASE_FILE), Some(&key)).unwrap();
    migrate::migrate(&mut conn, &migrate::MIGRATIONS[..1]).unwrap();
    conn.pragma_update(None, "cache_size", -1024).unwrap();
    insert_outbox(&conn, 1, "before the upgrade");
    let slow_sql: &'static str = Box::leak(
        format!(
            // Real DDL, then 40 MB of rows (past the page cache, so
            // uncommitted pages reach the WAL), then minutes of pure CPU.
            "{}\nCREATE TABLE slow_fill (n INTEGER, filler BLOB);
             WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 200000)
             INSERT INTO slow_fill SELECT n, randomblob(200) FROM c;
             CREATE TABLE spin AS
             WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 2000000000)
             SELECT count(*) AS n FROM c;",
            migrate::MIGRATIONS[1].sql
        )
        .into_boxed_str(),
    );
    let slow = [
        migrate::MIGRATIONS[0],
        migrate::Migration {
            version: 2,
            name: "slow",
            sql: slow_sql,
        },
    ];
    say("MIGRATING");
    migrate::migrate(&mut conn, &slow).unwrap();
    say("MIGRATION-FINISHED");
    std::thread::sleep(Duration::from_secs(60));
}

/// Selects a secret store as the app does and opens the vault with it.
fn helper_select(dir: &Path) {
    let mut config = SecretStoreConfig::for_data_dir(dir);
    config.probe_timeout = Duration::from_secs(2);
    let started = Instant::now();
    let choice = select_secret_store(&config).unwrap();
    say(&format!("ELAPSED_MS={}", started.elapsed().as_millis()));
    say(&format!("BACKEND={}", choice.backend));
    say(&format!("REASON={}", choice.reason));
    let (_, report) = Vault::open(dir, choice.store, VaultOptions::default()).unwrap();
    say(&format!(
        "POSTURE={}",
        serde_json::to_string(&report.posture).unwrap()
    ));
    // The key is now known to live in the key file: later starts stay there.
    config.previous = vault::secret::read_backend_marker(dir);
    say(&format!("PREVIOUS={:?}", config.previous));
    // A vault whose key is in the keyring must not fall back.
    config.previous = Some(SecretBackend::Keyring);
    match select_secret_store(&config) {
        Err(CoreError::SecretStore { reason, .. }) => say(&format!("KEYRING_REQUIRED={reason}")),
        other => say(&format!("UNEXPECTED={other:?}")),
    }
}

/// Opens a vault with a key that is not its own.
fn helper_wrong_key(dir: &Path) {
    let (v, _) = Vault::open(dir, key_store(dir), VaultOptions::default()).unwrap();
    drop(v);
    let other = tend_core::vault::MemoryStore::new();
    other
        .set(
            vault::DB_KEY_NAME,
            &tend_core::vault::SecretBytes::random(32).unwrap(),
        )
        .unwrap();
    for _ in 0..3 {
        let err = Vault::open(dir, Arc::new(other.clone()), strict()).unwrap_err();
        say(&format!("ERR={err}"));
    }
}

struct Helper {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Helper {
    /// Reads the helper's stdout up to a line starting with `prefix`.
    fn wait_for(&mut self, prefix: &str) -> String {
        for line in self.lines.by_ref() {
            let line = line.unwrap();
            // libtest may print "test helper ... " in front of the first line.
            if let Some(at) = line.find(prefix) {
                return line[at..].to_owned();
            }
        }
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
        }
        panic!("helper exited ({status}) before printing {prefix}; stderr:\n{stderr}");
    }

    fn kill(mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the helper ended before it could be killed mid-way"
        );
        // SIGKILL: no destructors, no rollback, no checkpoint.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

fn spawn_helper(mode: &str, dir: &Path, env: &[(&str, Option<&str>)]) -> Helper {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "helper", "--nocapture", "--test-threads=1"])
        .env(HELPER_ENV, mode)
        .env(DIR_ENV, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
    let mut child = cmd.spawn().unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    Helper { child, lines }
}

fn wal_size(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("vault.db-wal")).map_or(0, |m| m.len())
}

/// Waits (up to a minute on a busy machine) until the WAL has grown past `bytes`.
fn wait_for_wal(dir: &Path, bytes: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while wal_size(dir) < bytes {
        assert!(
            Instant::now() < deadline,
            "the WAL never reached {bytes} bytes ({} now)",
            wal_size(dir)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn count(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn killed_during_a_large_write_keeps_committed_rows_only() {
    let tmp = tempfile::tempdir().unwrap();
    let mut helper = spawn_helper("write", tmp.path(), &[]);
    helper.wait_for("COMMITTED");
    let committed_wal = wal_size(tmp.path());
    helper.wait_for("WRITING");
    // Kill once uncommitted pages are on disk, not only in memory.
    wait_for_wal(tmp.path(), committed_wal + 4_000_000);
    helper.kill();

    let (v, report) = Vault::open(tmp.path(), key_store(tmp.path()), strict()).unwrap();
    assert!(report.recovered.is_none());
    let conn = v.connection();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    assert_eq!(
        count(conn, "SELECT count(*) FROM outbox WHERE kind = 'committed'"),
        COMMITTED_ROWS
    );
    assert_eq!(
        count(
            conn,
            "SELECT count(*) FROM outbox WHERE kind = 'uncommitted'"
        ),
        0
    );
    assert_eq!(count(conn, "SELECT max(seq) FROM outbox"), COMMITTED_ROWS);
}

#[test]
fn killed_during_a_migration_leaves_the_previous_version_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let mut helper = spawn_helper("migrate", tmp.path(), &[]);
    helper.wait_for("MIGRATING");
    let before = wal_size(tmp.path());
    wait_for_wal(tmp.path(), before + 4_000_000);
    helper.kill();

    let store = key_store(tmp.path());
    let key = DatabaseKey::from_secret(&store.get(vault::DB_KEY_NAME).unwrap().unwrap()).unwrap();
    {
        let conn =
            vault::open_database(&tmp.path().join(vault::DATABASE_FILE), Some(&key)).unwrap();
        assert_eq!(migrate::schema_version(&conn).unwrap(), 1);
        for table in ["slow_fill", "spin", "device_credentials", "vault_events"] {
            assert_eq!(
                count(
                    &conn,
                    &format!("SELECT count(*) FROM sqlite_master WHERE name = '{table}'")
                ),
                0,
                "{table} from the killed migration is visible"
            );
        }
        assert_eq!(count(&conn, "SELECT count(*) FROM outbox"), 1);
    }
    // The next start applies the real migration 2 over the intact version 1.
    let (v, report) = Vault::open(tmp.path(), store, strict()).unwrap();
    assert_eq!(report.migrations.from, 1);
    assert_eq!(report.migrations.to, migrate::latest_version());
    assert_eq!(count(v.connection(), "SELECT count(*) FROM outbox"), 1);
}

#[test]
fn a_wrong_key_is_an_error_and_writes_nothing_to_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let mut helper = spawn_helper("wrong_key", tmp.path(), &[]);
    let err = helper.wait_for("ERR=");
    assert!(err.contains("does not open with its key"), "{err}");
    let status = helper.child.wait().unwrap();
    assert!(status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut helper.child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.trim().is_empty(),
        "SQLCipher (or the vault) wrote to stderr: {stderr}"
    );
}

fn select_without_dbus(env: &[(&str, Option<&str>)]) {
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut helper = spawn_helper("select", tmp.path(), env);
    let elapsed: u128 = helper.wait_for("ELAPSED_MS=")["ELAPSED_MS=".len()..]
        .parse()
        .unwrap();
    assert_eq!(helper.wait_for("BACKEND="), "BACKEND=key_file");
    let reason = helper.wait_for("REASON=");
    assert!(reason.contains("keyring unavailable"), "{reason}");
    let posture = helper.wait_for("POSTURE=");
    assert!(posture.contains(r#""key_store":"key_file""#), "{posture}");
    assert!(posture.contains(r#""encrypted":true"#), "{posture}");
    assert_eq!(helper.wait_for("PREVIOUS="), "PREVIOUS=Some(KeyFile)");
    let required = helper.wait_for("KEYRING_REQUIRED=");
    assert!(required.contains("waits for the keyring"), "{required}");
    helper.child.wait().unwrap();
    // Bounded: at most the 2 s probe timeout, not a D-Bus default of 25 s.
    assert!(elapsed < 2_500, "selection took {elapsed} ms");
    assert!(started.elapsed() < Duration::from_secs(20));
    // The key file it fell back to is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tmp.path().join("keys/vault-db-key.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn without_a_dbus_session_the_key_file_is_chosen_and_said_so() {
    select_without_dbus(&[(
        "DBUS_SESSION_BUS_ADDRESS",
        Some("unix:path=/nonexistent/tend-test/bus"),
    )]);
}

#[test]
fn with_no_session_bus_address_at_all_the_key_file_is_chosen() {
    // libdbus would fall back to $XDG_RUNTIME_DIR/bus: point that at an empty dir.
    let runtime = tempfile::tempdir().unwrap();
    select_without_dbus(&[
        ("DBUS_SESSION_BUS_ADDRESS", None),
        ("DISPLAY", None),
        ("XDG_RUNTIME_DIR", Some(runtime.path().to_str().unwrap())),
    ]);
}

/// Stops a keyring.sh instance when the test ends, pass or fail.
struct KeyringService(std::path::PathBuf);

impl Drop for KeyringService {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(keyring_script())
            .arg("stop")
            .arg(&self.0)
            .status();
    }
}

fn keyring_script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/services/keyring.sh")
}

#[test]
fn a_locked_keyring_is_not_chosen_for_a_new_key() {
    if std::env::var("TEND_TEST_SECRET_SERVICE").as_deref() != Ok("1") {
        eprintln!("note: set TEND_TEST_SECRET_SERVICE=1 (scripts/services/keyring.sh) to run this");
        return;
    }
    // A second, private Secret Service whose login keyring is locked.
    let state = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(keyring_script())
        .args(["start"])
        .arg(state.path())
        .arg("--locked")
        .output()
        .unwrap();
    let _service = KeyringService(state.path().to_path_buf());
    assert!(
        out.status.success(),
        "keyring.sh start --locked failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exports: Vec<(String, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
        .collect();
    assert!(exports.iter().any(|(k, _)| k == "DBUS_SESSION_BUS_ADDRESS"));
    let env: Vec<(&str, Option<&str>)> = exports
        .iter()
        .map(|(k, v)| (k.as_str(), Some(v.as_str())))
        .collect();

    let tmp = tempfile::tempdir().unwrap();
    let mut helper = spawn_helper("select", tmp.path(), &env);
    assert_eq!(helper.wait_for("BACKEND="), "BACKEND=key_file");
    let reason = helper.wait_for("REASON=");
    assert!(reason.contains("locked"), "{reason}");
    helper.wait_for("POSTURE=");
    helper.child.wait().unwrap();
}
