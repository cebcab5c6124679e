//! The vault's keys in the real Secret Service (gnome-keyring on a private
//! D-Bus session bus). Start it first:
//!
//! ```sh
//! eval "$(bash scripts/services/keyring.sh start /tmp/tend-keyring)"
//! cargo test -p tend-core --test vault_keyring
//! ```
//!
//! With `TEND_TEST_SECRET_SERVICE=1` (set by the script) an unreachable
//! service fails these tests; without it they only run when a service answers.

use std::sync::Arc;
use std::time::Duration;

use tend_core::vault::{
    self, select_secret_store, KeyringStore, SecretBackend, SecretBytes, SecretStore,
    SecretStoreChoice, SecretStoreConfig, Vault, VaultOptions,
};
use tend_core::CoreError;

fn required() -> bool {
    std::env::var("TEND_TEST_SECRET_SERVICE").as_deref() == Ok("1")
}

fn unique_namespace() -> String {
    format!("tend-test-{}", uuid::Uuid::new_v4().simple())
}

/// The keyring backend, or `None` when no Secret Service answers and none
/// is required.
fn keyring(data_dir: &std::path::Path, namespace: &str) -> Option<SecretStoreChoice> {
    let config = SecretStoreConfig {
        namespace: namespace.to_owned(),
        key_file_dir: data_dir.join("keys"),
        probe_timeout: Duration::from_secs(5),
        allow_key_file: false,
        force: None,
        previous: None,
    };
    match select_secret_store(&config) {
        Ok(choice) => Some(choice),
        Err(e) if required() => panic!(
            "TEND_TEST_SECRET_SERVICE=1 but the Secret Service is unreachable: {e}\n\
             start it with: eval \"$(bash scripts/services/keyring.sh start /tmp/tend-keyring)\""
        ),
        Err(e) => {
            eprintln!(
                "note: no Secret Service on this session ({e}); set TEND_TEST_SECRET_SERVICE=1 \
                 and start scripts/services/keyring.sh to require it"
            );
            None
        }
    }
}

#[test]
fn selection_picks_the_secret_service_and_secrets_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let namespace = unique_namespace();
    let Some(choice) = keyring(tmp.path(), &namespace) else {
        return;
    };
    assert_eq!(choice.backend, SecretBackend::Keyring);
    assert_eq!(choice.store.backend(), SecretBackend::Keyring);
    assert!(choice.reason.contains("keyring"), "{}", choice.reason);
    assert!(
        !tmp.path().join("keys").exists(),
        "no key file when the keyring answers"
    );

    // Arbitrary bytes (not UTF-8), seen by a second, independent store object.
    let value = SecretBytes::new(vec![0x00, 0xff, 0x80, 0x7f, 0x0a, 0x00, 0xc3]);
    choice.store.set("round-trip", &value).unwrap();
    let other = KeyringStore::new(namespace.clone());
    assert_eq!(other.get("round-trip").unwrap().unwrap(), value);
    // Another namespace does not see it.
    assert!(KeyringStore::new(unique_namespace())
        .get("round-trip")
        .unwrap()
        .is_none());
    other
        .set("round-trip", &SecretBytes::new(vec![9; 32]))
        .unwrap();
    assert_eq!(
        choice.store.get("round-trip").unwrap().unwrap().expose(),
        &[9; 32]
    );
    other.delete("round-trip").unwrap();
    other.delete("round-trip").unwrap();
    assert!(choice.store.get("round-trip").unwrap().is_none());
}

#[test]
fn vault_keyed_by_the_secret_service_reopens_and_wipes() {
    let tmp = tempfile::tempdir().unwrap();
    let namespace = unique_namespace();
    let Some(choice) = keyring(tmp.path(), &namespace) else {
        return;
    };
    let (v, report) =
        Vault::open(tmp.path(), choice.store.clone(), VaultOptions::default()).unwrap();
    assert_eq!(report.posture.key_store, Some(SecretBackend::Keyring));
    assert!(report.posture.encrypted);
    v.connection()
        .execute(
            "INSERT INTO sync_cursors (stream, cursor, updated_at) VALUES ('roster', '42', 'now')",
            [],
        )
        .unwrap();
    drop(v);
    assert_eq!(
        vault::secret::read_backend_marker(tmp.path()),
        Some(SecretBackend::Keyring)
    );
    // The key sits in the keyring, not on disk.
    let key = KeyringStore::new(namespace.clone())
        .get(vault::DB_KEY_NAME)
        .unwrap()
        .expect("database key in the keyring");
    assert_eq!(key.len(), 32);
    assert!(!tmp.path().join("keys").exists());

    // A restart: a new store object over the same namespace opens it.
    let again: Arc<dyn SecretStore> = Arc::new(KeyringStore::new(namespace.clone()));
    let strict = VaultOptions {
        recover_unreadable: false,
        ..VaultOptions::default()
    };
    let (v, report) = Vault::open(tmp.path(), again.clone(), strict.clone()).unwrap();
    assert!(!report.created);
    let cursor: String = v
        .connection()
        .query_row(
            "SELECT cursor FROM sync_cursors WHERE stream = 'roster'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(cursor, "42");

    // Keep a copy of the file, wipe, and show the copy is now undecryptable.
    v.connection()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(tmp.path().join("vault.db"), copy.path().join("vault.db")).unwrap();
    v.wipe().unwrap();
    assert!(
        again.get(vault::DB_KEY_NAME).unwrap().is_none(),
        "key left in the keyring"
    );
    assert!(!tmp.path().join("vault.db").exists());
    let err = Vault::open(copy.path(), again, strict).unwrap_err();
    assert!(matches!(err, CoreError::VaultKeyMissing { .. }), "{err}");
}

#[test]
fn for_data_dir_defaults_use_a_stable_namespace_per_directory() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let config = SecretStoreConfig::for_data_dir(a.path());
    assert_eq!(config.namespace, vault::keyring_namespace(a.path()));
    assert_eq!(
        config.namespace,
        SecretStoreConfig::for_data_dir(a.path()).namespace
    );
    assert_ne!(config.namespace, vault::keyring_namespace(b.path()));
    assert!(config.namespace.starts_with("tend-"));
    assert_eq!(config.previous, None);
    assert!(config.probe_timeout <= Duration::from_secs(5));
}
