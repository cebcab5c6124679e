//! The device vault against real SQLCipher files in temp directories:
//! encryption at rest, typed key errors, recovery, newer-schema refusal,
//! migration from every earlier version, wipe, rekey, the key-file backend
//! and the server-bound key.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use rusqlite::params;
use tend_core::vault::{
    self, migrate, DatabaseKey, KeyFileStore, KeyMode, MemoryStore, RecoveryReason, SecretBackend,
    SecretBytes, SecretStore, UnlockState, Vault, VaultOptions,
};
use tend_core::CoreError;
use tend_domain::ErrorCode;

const MARKER: &str = "PLAINTEXT-MARKER-Zq7xw3";

fn memory() -> Arc<MemoryStore> {
    Arc::new(MemoryStore::new())
}

fn strict() -> VaultOptions {
    VaultOptions {
        recover_unreadable: false,
        ..VaultOptions::default()
    }
}

fn insert_outbox(conn: &rusqlite::Connection, seq: i64, note: &str) {
    let id = uuid::Uuid::now_v7().to_string();
    let payload = serde_json::json!({ "note": note, "vitals": { "pulse": 72 } }).to_string();
    conn.execute(
        "INSERT INTO outbox (id, seq, kind, patient_server_id, author_user_id, payload, created_at)
         VALUES (?1, ?2, 'progress_note', 17, 4, ?3, '2026-11-26T10:00:00.000Z')",
        params![id, seq, payload],
    )
    .unwrap();
}

fn count(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every byte of the database and its WAL.
fn file_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["vault.db", "vault.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.join(name)) {
            all.extend(bytes);
        }
    }
    all
}

fn sqlite3_tables(path: &Path) -> std::process::Output {
    Command::new("sqlite3")
        .arg(path)
        .arg(".tables")
        .output()
        .expect("the sqlite3 CLI is installed")
}

fn db_key(store: &dyn SecretStore) -> DatabaseKey {
    DatabaseKey::from_secret(&store.get(vault::DB_KEY_NAME).unwrap().expect("key stored")).unwrap()
}

#[test]
fn database_and_wal_are_encrypted_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let store = memory();
    let (v, report) = Vault::open(tmp.path(), store.clone(), VaultOptions::default()).unwrap();
    assert!(report.created);
    assert!(report.posture.encrypted);
    assert_eq!(report.posture.key_store, Some(SecretBackend::Memory));
    assert!(report.posture.cipher_version.is_some());
    assert_eq!(report.migrations.to, migrate::latest_version());
    for seq in 1..=50 {
        insert_outbox(v.connection(), seq, MARKER);
    }
    v.connection()
        .execute(
            "INSERT INTO roster_patients (server_id, facility_id, mrn, first_name, last_name, status, synced_at)
             VALUES (1, 1, ?1, ?1, ?1, 'active', 'now')",
            params![MARKER],
        )
        .unwrap();
    // While open, the rows sit in the WAL; both files must be ciphertext.
    assert!(tmp.path().join("vault.db-wal").exists());
    let bytes = file_bytes(tmp.path());
    assert!(bytes.len() > 4096);
    assert!(!contains(&bytes, MARKER.as_bytes()), "plaintext on disk");
    assert!(!contains(&bytes, b"SQLite format 3"), "plain SQLite header");
    let out = sqlite3_tables(&tmp.path().join("vault.db"));
    assert!(
        !out.status.success() || !String::from_utf8_lossy(&out.stdout).contains("outbox"),
        "sqlite3 read the encrypted file: {out:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a database"));
    drop(v);

    // After a clean close (WAL checkpointed into the main file) too.
    let bytes = file_bytes(tmp.path());
    assert!(!contains(&bytes, MARKER.as_bytes()));
    assert!(!sqlite3_tables(&tmp.path().join("vault.db"))
        .status
        .success());
}

#[test]
fn the_same_checks_do_see_plaintext_without_a_key() {
    // The control for the test above: the checks would notice plaintext.
    let tmp = tempfile::tempdir().unwrap();
    let options = VaultOptions {
        encryption_required: false,
        ..VaultOptions::default()
    };
    let (v, report) = Vault::open_unencrypted(tmp.path(), options).unwrap();
    assert!(!report.posture.encrypted);
    insert_outbox(v.connection(), 1, MARKER);
    assert!(contains(&file_bytes(tmp.path()), MARKER.as_bytes()));
    drop(v);
    let out = sqlite3_tables(&tmp.path().join("vault.db"));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("outbox"));
}

#[test]
fn encryption_required_refuses_an_unencrypted_database() {
    let tmp = tempfile::tempdir().unwrap();
    let err = Vault::open_unencrypted(tmp.path(), VaultOptions::default()).unwrap_err();
    assert!(matches!(err, CoreError::EncryptionRequired(_)), "{err}");
    assert!(!tmp.path().join("vault.db").exists());
}

#[test]
fn reopening_keeps_data_and_applies_nothing_new() {
    let tmp = tempfile::tempdir().unwrap();
    let store = memory();
    let (v, _) = Vault::open(tmp.path(), store.clone(), VaultOptions::default()).unwrap();
    insert_outbox(v.connection(), 1, "kept");
    drop(v);
    let (v, report) = Vault::open(tmp.path(), store, VaultOptions::default()).unwrap();
    assert!(!report.created);
    assert!(report.recovered.is_none());
    assert!(report.migrations.applied.is_empty());
    assert_eq!(v.schema_version().unwrap(), migrate::latest_version());
    assert_eq!(count(v.connection(), "SELECT count(*) FROM outbox"), 1);
    let fk: i64 = v
        .connection()
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    let mode: String = v
        .connection()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn wrong_key_is_a_typed_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (v, _) = Vault::open(tmp.path(), memory(), VaultOptions::default()).unwrap();
    drop(v);
    // Another store holding another key.
    let other = memory();
    other
        .set(vault::DB_KEY_NAME, &SecretBytes::random(32).unwrap())
        .unwrap();
    let err = Vault::open(tmp.path(), other, strict()).unwrap_err();
    assert!(matches!(err, CoreError::VaultKeyRejected { .. }), "{err}");
    assert_eq!(err.code(), ErrorCode::StorageUnavailable);
    // A store with no key at all.
    let err = Vault::open(tmp.path(), memory(), strict()).unwrap_err();
    assert!(matches!(err, CoreError::VaultKeyMissing { .. }), "{err}");
    // The raw opener says the same.
    let key = DatabaseKey::random().unwrap();
    let err = vault::open_database(&tmp.path().join("vault.db"), Some(&key)).unwrap_err();
    assert!(matches!(err, CoreError::VaultKeyRejected { .. }));
    // Strict opens never touch the file.
    assert!(tmp.path().join("vault.db").exists());
}

#[test]
fn unopenable_database_is_moved_aside_and_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let (v, _) = Vault::open(tmp.path(), memory(), VaultOptions::default()).unwrap();
    insert_outbox(v.connection(), 1, "lost");
    drop(v);
    // The key is gone (a new keyring, a reinstalled OS).
    let store = memory();
    let (v, report) = Vault::open(tmp.path(), store.clone(), VaultOptions::default()).unwrap();
    let recovery = report.recovered.clone().expect("recovered");
    assert_eq!(recovery.reason, RecoveryReason::KeyMissing);
    assert!(report.created);
    assert!(Path::new(&recovery.moved_to).exists());
    assert!(Path::new(&recovery.moved_to)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with(vault::UNREADABLE_PREFIX));
    assert_eq!(count(v.connection(), "SELECT count(*) FROM outbox"), 0);
    let (kind, detail): (String, String) = v
        .connection()
        .query_row("SELECT kind, detail FROM vault_events", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(kind, "database_recovered");
    assert!(detail.contains("key_missing"));
    drop(v);
    // No loop: the next start opens the new database normally.
    let (_, report) = Vault::open(tmp.path(), store, VaultOptions::default()).unwrap();
    assert!(report.recovered.is_none());
    assert!(!report.created);
}

#[test]
fn recovery_is_reported_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (v, _) = Vault::open(tmp.path(), memory(), VaultOptions::default()).unwrap();
    drop(v);
    let (v, _) = Vault::open(tmp.path(), memory(), VaultOptions::default()).unwrap();
    let events = v.unreported_events().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "database_recovered");
    v.mark_events_reported(&[events[0].id]).unwrap();
    assert!(v.unreported_events().unwrap().is_empty());
}

#[cfg(unix)]
#[test]
fn a_key_kept_in_another_backend_is_not_a_lost_key() {
    let tmp = tempfile::tempdir().unwrap();
    let key_file = Arc::new(KeyFileStore::new(tmp.path().join("keys")).unwrap());
    let (v, _) = Vault::open(tmp.path(), key_file, VaultOptions::default()).unwrap();
    insert_outbox(v.connection(), 1, "kept");
    drop(v);
    // This start got another backend (a config change): refuse, never shred.
    let err = Vault::open(tmp.path(), memory(), VaultOptions::default()).unwrap_err();
    assert!(matches!(err, CoreError::SecretStore { .. }), "{err}");
    assert!(err.to_string().contains("key_file"), "{err}");
    assert!(tmp.path().join("vault.db").exists());
    let (v, _) = Vault::open(
        tmp.path(),
        Arc::new(KeyFileStore::new(tmp.path().join("keys")).unwrap()),
        strict(),
    )
    .unwrap();
    assert_eq!(count(v.connection(), "SELECT count(*) FROM outbox"), 1);
}

#[test]
fn corrupted_file_is_recovered() {
    let tmp = tempfile::tempdir().unwrap();
    let store = memory();
    let (v, _) = Vault::open(tmp.path(), store.clone(), VaultOptions::default()).unwrap();
    drop(v);
    // Garbage over the whole file: the key no longer decrypts anything.
    let path = tmp.path().join("vault.db");
    let len = std::fs::metadata(&path).unwrap().len() as usize;
    std::fs::write(&path, vec![0xA5u8; len.max(8192)]).unwrap();
    let err = Vault::open(tmp.path(), store.clone(), strict()).unwrap_err();
    assert!(matches!(err, CoreError::VaultKeyRejected { .. }), "{err}");
    let (_, report) = Vault::open(tmp.path(), store, VaultOptions::default()).unwrap();
    assert_eq!(
        report.recovered.unwrap().reason,
        RecoveryReason::KeyRejected
    );
}

#[test]
fn newer_schema_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let store = memory();
    let (v, _) = Vault::open(tmp.path(), store.clone(), VaultOptions::default()).unwrap();
    let newer = migrate::latest_version() + 1;
    v.connection()
        .pragma_update(None, "user_version", newer)
        .unwrap();
    drop(v);
    let err = Vault::open(tmp.path(), store.clone(), VaultOptions::default()).unwrap_err();
    assert!(
        matches!(err, CoreError::SchemaTooNew { found, known } if found == newer && known == migrate::latest_version()),
        "{err}"
    );
    assert_eq!(err.code(), ErrorCode::UnsupportedVersion);
    assert!(err.to_string().contains("update Tend"));
    // Not recovered, not downgraded.
    let conn = vault::open_database(&tmp.path().join("vault.db"), Some(&db_key(&*store))).unwrap();
    assert_eq!(migrate::schema_version(&conn).unwrap(), newer);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 4); // db, wal, shm, marker
}

#[test]
fn migrates_up_from_every_earlier_version() {
    for start in 0..migrate::latest_version() as usize {
        let tmp = tempfile::tempdir().unwrap();
        let store = memory();
        let key = DatabaseKey::random().unwrap();
        store.set(vault::DB_KEY_NAME, &key.to_secret()).unwrap();
        {
            let mut conn = vault::open_database(&tmp.path().join("vault.db"), Some(&key)).unwrap();
            migrate::migrate(&mut conn, &migrate::MIGRATIONS[..start]).unwrap();
            if start >= 1 {
                insert_outbox(&conn, 1, "written by an older app");
            }
        }
        let (v, report) = Vault::open(tmp.path(), store, strict()).unwrap();
        assert_eq!(report.migrations.from as usize, start);
        assert_eq!(report.migrations.to, migrate::latest_version());
        assert_eq!(
            report.migrations.applied,
            ((start as u32 + 1)..=migrate::latest_version()).collect::<Vec<_>>()
        );
        if start >= 1 {
            let attempts: i64 = v
                .connection()
                .query_row(
                    "SELECT upload_attempts FROM outbox WHERE seq = 1",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(attempts, 0);
        }
        assert_eq!(
            count(v.connection(), "SELECT count(*) FROM schema_migrations"),
            i64::from(migrate::latest_version())
        );
    }
}

#[test]
fn wipe_leaves_nothing_decryptable() {
    let tmp = tempfile::tempdir().unwrap();
    let store = memory();
    let (v, _) = Vault::open(tmp.path(), store.clone(), VaultOptions::default()).unwrap();
    insert_outbox(v.connection(), 1, MARKER);
    // What an attacker might have copied (or the disk might still hold).
    let copy = tempfile::tempdir().unwrap();
    v.connection()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    std::fs::copy(tmp.path().join("vault.db"), copy.path().join("vault.db")).unwrap();
    let old_key = db_key(&*store);

    let report = v.wipe().unwrap();
    assert!(report.files_removed.iter().any(|p| p.ends_with("vault.db")));
    assert!(
        store.get(vault::DB_KEY_NAME).unwrap().is_none(),
        "key survived the wipe"
    );
    for name in ["vault.db", "vault.db-wal", "vault.db-shm", "vault.backend"] {
        assert!(!tmp.path().join(name).exists(), "{name} survived the wipe");
    }
    // The copy cannot be opened with what is left in the store…
    let err = Vault::open(copy.path(), store.clone(), strict()).unwrap_err();
    assert!(matches!(err, CoreError::VaultKeyMissing { .. }), "{err}");
    // …and only the destroyed key would have opened it (sanity of the copy).
    vault::open_database(&copy.path().join("vault.db"), Some(&old_key)).unwrap();
    assert!(!contains(
        &std::fs::read(copy.path().join("vault.db")).unwrap(),
        MARKER.as_bytes()
    ));

    // A start after the wipe is a fresh, empty vault.
    let (v, report) = Vault::open(tmp.path(), store.clone(), VaultOptions::default()).unwrap();
    assert!(report.created && report.recovered.is_none());
    assert_eq!(count(v.connection(), "SELECT count(*) FROM outbox"), 0);
    drop(v);
    // Wiping twice (or a vault that cannot be opened) is fine.
    Vault::wipe_dir(tmp.path(), &*store).unwrap();
    Vault::wipe_dir(tmp.path(), &*store).unwrap();
}

#[test]
fn rekey_changes_the_key_and_keeps_the_data() {
    let tmp = tempfile::tempdir().unwrap();
    let store = memory();
    let (mut v, _) = Vault::open(tmp.path(), store.clone(), VaultOptions::default()).unwrap();
    insert_outbox(v.connection(), 1, "survives rekey");
    let old_key = db_key(&*store);
    v.rekey().unwrap();
    assert!(!tmp.path().join("vault.rekey").exists());
    assert!(store.get("vault-db-key-next").unwrap().is_none());
    insert_outbox(v.connection(), 2, "after rekey");
    drop(v);
    let new_key = db_key(&*store);
    assert!(new_key != old_key);
    let path = tmp.path().join("vault.db");
    assert!(matches!(
        vault::open_database(&path, Some(&old_key)),
        Err(CoreError::VaultKeyRejected { .. })
    ));
    let (v, report) = Vault::open(tmp.path(), store, strict()).unwrap();
    assert!(!report.finished_rekey);
    assert_eq!(count(v.connection(), "SELECT count(*) FROM outbox"), 2);
}

#[test]
fn a_rekey_cut_off_before_the_store_was_updated_is_finished_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let store = memory();
    let (v, _) = Vault::open(tmp.path(), store.clone(), VaultOptions::default()).unwrap();
    insert_outbox(v.connection(), 1, "kept");
    drop(v);
    // Simulate: the next key is staged and the file rekeyed, then the
    // process died before the store's current key was replaced.
    let next = DatabaseKey::random().unwrap();
    store.set("vault-db-key-next", &next.to_secret()).unwrap();
    {
        let conn =
            vault::open_database(&tmp.path().join("vault.db"), Some(&db_key(&*store))).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA rekey = \"x'{}'\";",
            hex(&next.to_secret())
        ))
        .unwrap();
    }
    let (v, report) = Vault::open(tmp.path(), store.clone(), strict()).unwrap();
    assert!(report.finished_rekey);
    assert!(db_key(&*store) == next);
    assert!(store.get("vault-db-key-next").unwrap().is_none());
    assert_eq!(count(v.connection(), "SELECT count(*) FROM outbox"), 1);
}

#[test]
fn a_rekey_cut_off_before_the_file_changed_drops_the_staged_key() {
    let tmp = tempfile::tempdir().unwrap();
    let store = memory();
    let (v, _) = Vault::open(tmp.path(), store.clone(), VaultOptions::default()).unwrap();
    drop(v);
    let current = db_key(&*store);
    // Staged, marker written, then the process died before PRAGMA rekey.
    std::fs::write(tmp.path().join("vault.rekey"), b"").unwrap();
    store
        .set("vault-db-key-next", &SecretBytes::random(32).unwrap())
        .unwrap();
    let (_, report) = Vault::open(tmp.path(), store.clone(), strict()).unwrap();
    assert!(!report.finished_rekey);
    assert!(db_key(&*store) == current);
    assert!(store.get("vault-db-key-next").unwrap().is_none());
    assert!(!tmp.path().join("vault.rekey").exists());
}

fn hex(secret: &SecretBytes) -> String {
    secret.expose().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(unix)]
#[test]
fn key_file_backend_is_private_and_refuses_loose_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    let data_dir_mode = std::fs::metadata(tmp.path()).unwrap().permissions().mode();
    let store = Arc::new(KeyFileStore::new(&keys).unwrap());
    let (v, report) = Vault::open(tmp.path(), store.clone(), VaultOptions::default()).unwrap();
    assert_eq!(report.posture.key_store, Some(SecretBackend::KeyFile));
    insert_outbox(v.connection(), 1, "kiosk");
    drop(v);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&keys), 0o700);
    // The data directory chosen by the user is not re-permissioned.
    assert_eq!(mode(tmp.path()), data_dir_mode & 0o777);
    let created = tmp.path().join("new-data-dir");
    let (v2, _) = Vault::open(&created, memory(), VaultOptions::default()).unwrap();
    drop(v2);
    assert_eq!(
        mode(&created),
        0o700,
        "a new data directory is created private"
    );
    let key_file = keys.join("vault-db-key.key");
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(std::fs::metadata(&key_file).unwrap().len(), 32);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("vault.backend")).unwrap(),
        "key_file\n"
    );
    // A fresh store object over the same directory opens the vault.
    let again = Arc::new(KeyFileStore::new(&keys).unwrap());
    let (v, _) = Vault::open(tmp.path(), again.clone(), strict()).unwrap();
    assert_eq!(count(v.connection(), "SELECT count(*) FROM outbox"), 1);
    drop(v);

    // A key others can read is refused, not used.
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = Vault::open(tmp.path(), again.clone(), VaultOptions::default()).unwrap_err();
    assert!(matches!(err, CoreError::SecretStore { .. }), "{err}");
    assert!(err.to_string().contains("0644"));
    assert_eq!(err.code(), ErrorCode::Unavailable);
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();

    // A loose directory is tightened on start.
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o755)).unwrap();
    let tightened = Arc::new(KeyFileStore::new(&keys).unwrap());
    assert_eq!(mode(&keys), 0o700);

    let (v, _) = Vault::open(tmp.path(), tightened.clone(), strict()).unwrap();
    v.wipe().unwrap();
    assert!(!key_file.exists());
    assert!(tightened.get(vault::DB_KEY_NAME).unwrap().is_none());
}

fn server_bound(server: Option<&SecretBytes>) -> VaultOptions {
    VaultOptions {
        key_mode: KeyMode::ServerBound {
            device: "device-0001".into(),
            server_secret: server.cloned(),
        },
        ..VaultOptions::default()
    }
}

#[test]
fn server_bound_vault_waits_for_the_network_and_needs_the_right_server_part() {
    let tmp = tempfile::tempdir().unwrap();
    let store = memory();
    let server = SecretBytes::random(32).unwrap();

    // Before the server has answered: nothing is created, the UI shows the lock screen.
    let err = Vault::open(tmp.path(), store.clone(), server_bound(None)).unwrap_err();
    assert!(matches!(err, CoreError::WaitingForNetwork));
    assert_eq!(err.code(), ErrorCode::Offline);
    assert_eq!(
        UnlockState::from_error(&err),
        UnlockState::WaitingForNetwork
    );
    assert!(!tmp.path().join("vault.db").exists());

    let (v, report) = Vault::open(tmp.path(), store.clone(), server_bound(Some(&server))).unwrap();
    assert!(report.posture.server_bound);
    insert_outbox(v.connection(), 1, "bound");
    drop(v);

    // The store holds only the local half; it alone does not open the file,
    // and no database key is stored.
    assert!(store.get(vault::DB_KEY_NAME).unwrap().is_none());
    let local = store.get(vault::LOCAL_SECRET_NAME).unwrap().unwrap();
    let as_key = DatabaseKey::from_secret(&local).unwrap();
    assert!(vault::open_database(&tmp.path().join("vault.db"), Some(&as_key)).is_err());
    // The server part is nowhere on disk.
    let mut on_disk = file_bytes(tmp.path());
    on_disk.extend(std::fs::read(tmp.path().join("vault.backend")).unwrap());
    assert!(!contains(&on_disk, server.expose()));

    // After a reboot without network: waiting again, the file untouched.
    let err = Vault::open(tmp.path(), store.clone(), server_bound(None)).unwrap_err();
    assert!(matches!(err, CoreError::WaitingForNetwork));

    // A wrong server answer is an error, never a reason to shred the data.
    let wrong = SecretBytes::random(32).unwrap();
    let err = Vault::open(tmp.path(), store.clone(), server_bound(Some(&wrong))).unwrap_err();
    assert!(matches!(err, CoreError::VaultKeyRejected { .. }), "{err}");
    assert!(tmp.path().join("vault.db").exists());

    let (mut v, report) =
        Vault::open(tmp.path(), store.clone(), server_bound(Some(&server))).unwrap();
    assert!(report.recovered.is_none());
    assert_eq!(count(v.connection(), "SELECT count(*) FROM outbox"), 1);
    // Rekeying a server-bound vault replaces the local half.
    v.rekey().unwrap();
    drop(v);
    assert!(store.get(vault::LOCAL_SECRET_NAME).unwrap().unwrap() != local);
    let (v, _) = Vault::open(tmp.path(), store.clone(), server_bound(Some(&server))).unwrap();
    assert_eq!(count(v.connection(), "SELECT count(*) FROM outbox"), 1);
    v.wipe().unwrap();
    assert!(store.get(vault::LOCAL_SECRET_NAME).unwrap().is_none());
}

#[test]
fn open_report_and_posture_serialize_for_the_app() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, report) = Vault::open(tmp.path(), memory(), VaultOptions::default()).unwrap();
    let posture = serde_json::to_value(&report.posture).unwrap();
    assert_eq!(posture["encrypted"], true);
    assert_eq!(posture["key_store"], "memory");
    assert_eq!(posture["server_bound"], false);
}

#[test]
fn a_local_vault_is_bound_to_the_server_and_then_needs_its_part() {
    let tmp = tempfile::tempdir().unwrap();
    let store = memory();
    let server = SecretBytes::random(32).unwrap();
    let (v, _) = Vault::open(tmp.path(), store.clone(), VaultOptions::default()).unwrap();
    insert_outbox(v.connection(), 1, "before binding");
    drop(v);

    // The policy arrives: server-bound mode finds the vault still on its
    // local key, opens it and says it is not bound yet.
    let (mut v, report) =
        Vault::open(tmp.path(), store.clone(), server_bound(Some(&server))).unwrap();
    assert!(report.recovered.is_none());
    assert!(!report.posture.server_bound);
    v.bind_to_server("device-0001", &server).unwrap();
    assert!(v.posture().server_bound);
    assert!(v.bind_to_server("device-0001", &server).is_err());
    insert_outbox(v.connection(), 2, "after binding");
    drop(v);
    assert!(
        store.get(vault::DB_KEY_NAME).unwrap().is_none(),
        "local-only key kept"
    );
    assert!(!tmp.path().join("vault.rekey").exists());

    let (v, report) = Vault::open(tmp.path(), store.clone(), server_bound(Some(&server))).unwrap();
    assert!(report.posture.server_bound);
    assert_eq!(count(v.connection(), "SELECT count(*) FROM outbox"), 2);
    drop(v);
    // Without the server's part: waiting, never recovered.
    assert!(matches!(
        Vault::open(tmp.path(), store.clone(), server_bound(None)),
        Err(CoreError::WaitingForNetwork)
    ));
    // Local mode (policy turned off without unbinding) must not shred it.
    let err = Vault::open(tmp.path(), store.clone(), VaultOptions::default()).unwrap_err();
    assert!(matches!(err, CoreError::SecretStore { .. }), "{err}");
    assert!(err.to_string().contains("bound to the server"));
    let (v, _) = Vault::open(tmp.path(), store, server_bound(Some(&server))).unwrap();
    assert_eq!(count(v.connection(), "SELECT count(*) FROM outbox"), 2);
}

#[test]
fn a_binding_cut_off_after_the_file_changed_is_finished_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let store = memory();
    let server = SecretBytes::random(32).unwrap();
    let (v, _) = Vault::open(tmp.path(), store.clone(), VaultOptions::default()).unwrap();
    insert_outbox(v.connection(), 1, "kept");
    drop(v);
    // Staged local secret, file rekeyed to the derived key, then the
    // process died: the store still has the old key and no current secret.
    let local = SecretBytes::random(32).unwrap();
    store.set("vault-local-secret-next", &local).unwrap();
    std::fs::write(tmp.path().join("vault.rekey"), b"").unwrap();
    let derived = vault::derive_server_bound_key(&local, &server, "device-0001").unwrap();
    {
        let conn =
            vault::open_database(&tmp.path().join("vault.db"), Some(&db_key(&*store))).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA rekey = \"x'{}'\";",
            hex(&derived.to_secret())
        ))
        .unwrap();
    }
    let (v, report) = Vault::open(tmp.path(), store.clone(), server_bound(Some(&server))).unwrap();
    assert!(report.finished_rekey);
    assert!(report.posture.server_bound);
    assert_eq!(store.get(vault::LOCAL_SECRET_NAME).unwrap().unwrap(), local);
    assert!(store.get(vault::DB_KEY_NAME).unwrap().is_none());
    assert!(store.get("vault-local-secret-next").unwrap().is_none());
    assert!(!tmp.path().join("vault.rekey").exists());
    assert_eq!(count(v.connection(), "SELECT count(*) FROM outbox"), 1);
}
