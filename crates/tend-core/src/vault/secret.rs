//! Where the vault's key lives: a small [`SecretStore`] trait with three
//! backends — the OS keyring, a key file for kiosks without one, and memory
//! for tests — and [`select_secret_store`], which picks one at start-up and
//! says why. The chosen backend is part of the device's encryption posture.

use std::collections::HashMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{CoreError, Result};

/// Secret bytes (a key, a server secret). `Debug` never shows them and the
/// memory is zeroed on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// `len` bytes from the operating system's CSPRNG.
    pub fn random(len: usize) -> Result<Self> {
        let mut bytes = vec![0u8; len];
        getrandom::fill(&mut bytes).map_err(|e| CoreError::SecretStore {
            backend: "os-random".into(),
            reason: format!("no randomness available: {e}"),
        })?;
        Ok(Self(bytes))
    }

    /// The bytes themselves; keep the borrow short and never log it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<redacted, {} bytes>)", self.0.len())
    }
}

/// Which kind of store holds the device's keys. Serialized as `"keyring"`,
/// `"key_file"` or `"memory"` (the posture reported in heartbeats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum SecretBackend {
    /// The OS keyring: macOS Keychain, Windows Credential Manager, or the
    /// Secret Service on Linux (gnome-keyring, KWallet, KeePassXC).
    Keyring,
    /// A file readable only by the app's user (0600 in a 0700 directory).
    /// Weaker: anyone who gets a copy of the disk gets the key with the data.
    KeyFile,
    /// Process memory; gone when the process exits. Tests only.
    Memory,
}

impl SecretBackend {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretBackend::Keyring => "keyring",
            SecretBackend::KeyFile => "key_file",
            SecretBackend::Memory => "memory",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "keyring" => Some(SecretBackend::Keyring),
            "key_file" => Some(SecretBackend::KeyFile),
            "memory" => Some(SecretBackend::Memory),
            _ => None,
        }
    }

    /// One sentence on what this backend protects against, for the log and
    /// the settings screen.
    pub fn posture_note(self) -> &'static str {
        match self {
            SecretBackend::Keyring => {
                "the database key is held by the OS keyring, apart from the data"
            }
            SecretBackend::KeyFile => {
                "WEAKER: the database key is a file on the same disk, readable only by this \
                 user; a copy of the whole disk can be decrypted"
            }
            SecretBackend::Memory => "the database key lives only in this process (tests)",
        }
    }
}

impl fmt::Display for SecretBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Named secrets (bytes). `get` of an unknown name is `Ok(None)`; `delete`
/// of an unknown name succeeds, so a wipe can be repeated.
pub trait SecretStore: Send + Sync + fmt::Debug {
    fn backend(&self) -> SecretBackend;
    fn get(&self, name: &str) -> Result<Option<SecretBytes>>;
    fn set(&self, name: &str, value: &SecretBytes) -> Result<()>;
    fn delete(&self, name: &str) -> Result<()>;
}

/// Secret names are short, lowercase identifiers so they are safe as file
/// names and keyring attributes.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(CoreError::SecretStore {
            backend: "any".into(),
            reason: format!("invalid secret name {name:?}"),
        })
    }
}

/// Process memory. Clones share the same map, so a test can "restart" the
/// vault with the same store.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    secrets: Arc<Mutex<HashMap<String, SecretBytes>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, SecretBytes>> {
        // A panic while holding the lock cannot leave the map half-written.
        self.secrets.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SecretStore for MemoryStore {
    fn backend(&self) -> SecretBackend {
        SecretBackend::Memory
    }
    fn get(&self, name: &str) -> Result<Option<SecretBytes>> {
        check_name(name)?;
        Ok(self.map().get(name).cloned())
    }
    fn set(&self, name: &str, value: &SecretBytes) -> Result<()> {
        check_name(name)?;
        self.map().insert(name.to_owned(), value.clone());
        Ok(())
    }
    fn delete(&self, name: &str) -> Result<()> {
        check_name(name)?;
        self.map().remove(name);
        Ok(())
    }
}

/// Secrets as files `<dir>/<name>.key`, mode 0600, in a directory of mode
/// 0700. For Linux kiosks without a Secret Service. A key file whose mode
/// lets anyone else read it is refused rather than used.
#[derive(Debug, Clone)]
pub struct KeyFileStore {
    dir: PathBuf,
}

impl KeyFileStore {
    /// Creates `dir` (0700) if needed and tightens its mode if it is looser.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        create_private_dir(&dir, true)?;
        Ok(Self { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.key"))
    }

    fn error(&self, path: &Path, reason: impl fmt::Display) -> CoreError {
        CoreError::SecretStore {
            backend: SecretBackend::KeyFile.as_str().into(),
            reason: format!("{}: {reason}", path.display()),
        }
    }
}

/// Creates a directory only its owner can enter (0700 on Unix). An existing
/// directory is tightened only when `tighten` (the key directory, which the
/// vault owns); a data directory chosen by the user is left as it is (it
/// could be a shared directory) with a warning.
pub(crate) fn create_private_dir(dir: &Path, tighten: bool) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| CoreError::storage(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir).map_err(|e| CoreError::storage(dir, e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            if tighten {
                tracing::warn!(dir = %dir.display(), "tightening directory permissions to 0700");
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| CoreError::storage(dir, e))?;
            } else {
                tracing::warn!(
                    dir = %dir.display(),
                    "directory is readable by other users (the database is encrypted, but \
                     0700 is better)"
                );
            }
        }
    }
    Ok(())
}

impl SecretStore for KeyFileStore {
    fn backend(&self) -> SecretBackend {
        SecretBackend::KeyFile
    }

    fn get(&self, name: &str) -> Result<Option<SecretBytes>> {
        check_name(name)?;
        let path = self.path(name);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => Zeroizing::new(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.error(&path, e)),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map_err(|e| self.error(&path, e))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(self.error(
                    &path,
                    format!(
                        "mode {:04o} lets other users read the key; it must be 0600 \
                         (fix with chmod 600, or wipe the device)",
                        mode & 0o7777
                    ),
                ));
            }
        }
        Ok(Some(SecretBytes::new(bytes.to_vec())))
    }

    fn set(&self, name: &str, value: &SecretBytes) -> Result<()> {
        check_name(name)?;
        let path = self.path(name);
        let tmp = self.dir.join(format!("{name}.key.tmp"));
        let _ = std::fs::remove_file(&tmp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(|e| self.error(&tmp, e))?;
        file.write_all(value.expose())
            .and_then(|()| file.sync_all())
            .map_err(|e| self.error(&tmp, e))?;
        drop(file);
        // Rename is atomic: a crash leaves either the old key or the new one.
        std::fs::rename(&tmp, &path).map_err(|e| self.error(&path, e))?;
        sync_dir(&self.dir);
        Ok(())
    }

    fn delete(&self, name: &str) -> Result<()> {
        check_name(name)?;
        let path = self.path(name);
        // Overwrite before unlinking: cheap, and on a plain filesystem it
        // keeps the old bytes out of free blocks (flash may still keep them,
        // which is why the data itself is encrypted).
        if let Ok(meta) = std::fs::metadata(&path) {
            if let Ok(mut file) = std::fs::OpenOptions::new().write(true).open(&path) {
                let zeros = vec![0u8; usize::try_from(meta.len()).unwrap_or(0)];
                let _ = file.write_all(&zeros).and_then(|()| file.sync_all());
            }
        }
        match std::fs::remove_file(&path) {
            Ok(()) => {
                sync_dir(&self.dir);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.error(&path, e)),
        }
    }
}

/// Makes a rename or unlink durable (best effort; not possible on Windows).
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The OS keyring through the `keyring` crate. Entries are
/// `service = <namespace>`, `user = <secret name>`; the namespace keeps two
/// data directories on one machine (tests, a second profile) apart.
///
/// Every call is bounded by a timeout: a locked collection makes the Secret
/// Service show an unlock prompt, which on a kiosk nobody answers.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    namespace: String,
    timeout: Duration,
}

impl KeyringStore {
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            timeout: Duration::from_secs(10),
        }
    }

    /// How long one keyring call may take before it fails (default 10 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Runs `op` on the entry in a thread and waits at most the timeout;
    /// a hung call is abandoned (its thread ends when the service answers).
    fn call<T: Send + 'static>(
        &self,
        name: &str,
        op: impl FnOnce(keyring::Entry) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        check_name(name)?;
        let entry = keyring::Entry::new(&self.namespace, name).map_err(keyring_error)?;
        bounded(self.timeout, move || op(entry))
    }
}

fn bounded<T: Send + 'static>(
    timeout: Duration,
    op: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let unavailable = |reason: String| CoreError::SecretStore {
        backend: SecretBackend::Keyring.as_str().into(),
        reason,
    };
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("keyring-call".into())
        .spawn(move || {
            let _ = tx.send(op());
        })
        .map_err(|e| unavailable(format!("cannot start a keyring call: {e}")))?;
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => Err(unavailable(format!(
            "no answer within {} ms (is the keyring locked?)",
            timeout.as_millis()
        ))),
    }
}

/// Only the `Display` of keyring errors is used: their `Debug` can carry
/// credential bytes.
fn keyring_error(e: keyring::Error) -> CoreError {
    CoreError::SecretStore {
        backend: SecretBackend::Keyring.as_str().into(),
        reason: e.to_string(),
    }
}

impl SecretStore for KeyringStore {
    fn backend(&self) -> SecretBackend {
        SecretBackend::Keyring
    }
    fn get(&self, name: &str) -> Result<Option<SecretBytes>> {
        self.call(name, |entry| match entry.get_secret() {
            Ok(bytes) => Ok(Some(SecretBytes::new(bytes))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        })
    }
    fn set(&self, name: &str, value: &SecretBytes) -> Result<()> {
        let value = value.clone();
        self.call(name, move |entry| {
            entry.set_secret(value.expose()).map_err(keyring_error)
        })
    }
    fn delete(&self, name: &str) -> Result<()> {
        self.call(name, |entry| match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        })
    }
}

/// How [`select_secret_store`] chooses.
#[derive(Debug, Clone)]
pub struct SecretStoreConfig {
    /// Keyring namespace (service name); see [`keyring_namespace`].
    pub namespace: String,
    /// Directory of the key-file backend.
    pub key_file_dir: PathBuf,
    /// How long the keyring probe may take before it counts as unavailable
    /// (a D-Bus call to a missing or hung service must not hang start-up).
    pub probe_timeout: Duration,
    /// Whether falling back to the key file is allowed at all.
    pub allow_key_file: bool,
    /// Use this backend and no other (a kiosk's config forcing `key_file`).
    pub force: Option<SecretBackend>,
    /// The backend that already holds this device's key, if any. A vault
    /// whose key is in the keyring never silently moves to a key file: that
    /// would lose the key and, with it, the data.
    pub previous: Option<SecretBackend>,
}

/// The file in the data directory that records which backend holds the key
/// (the word only — never a secret).
pub const BACKEND_MARKER: &str = "vault.backend";

impl SecretStoreConfig {
    /// The defaults for a data directory: keys under `<data_dir>/keys`, the
    /// namespace derived from the directory, a 3 s probe, and the backend
    /// recorded by an earlier start.
    pub fn for_data_dir(data_dir: &Path) -> Self {
        Self {
            namespace: keyring_namespace(data_dir),
            key_file_dir: data_dir.join("keys"),
            probe_timeout: Duration::from_secs(3),
            allow_key_file: true,
            force: None,
            previous: read_backend_marker(data_dir),
        }
    }
}

/// `tend-<16 hex of SHA-256(canonical data dir)>`: stable for a directory,
/// different for two directories.
pub fn keyring_namespace(data_dir: &Path) -> String {
    use sha2::Digest;
    let canonical = data_dir
        .canonicalize()
        .unwrap_or_else(|_| data_dir.to_path_buf());
    let digest = sha2::Sha256::digest(canonical.to_string_lossy().as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("tend-{hex}")
}

pub fn read_backend_marker(data_dir: &Path) -> Option<SecretBackend> {
    std::fs::read_to_string(data_dir.join(BACKEND_MARKER))
        .ok()
        .and_then(|s| SecretBackend::parse(&s))
}

/// The chosen store, its backend, and why it was chosen (for the log and
/// the device's posture report).
#[derive(Debug, Clone)]
pub struct SecretStoreChoice {
    pub store: Arc<dyn SecretStore>,
    pub backend: SecretBackend,
    pub reason: String,
}

/// Picks the secret store: the OS keyring if it answers within the probe
/// timeout, otherwise the key file (when allowed), and says why. Refuses to
/// fall back when the key is known to be in the keyring.
pub fn select_secret_store(config: &SecretStoreConfig) -> Result<SecretStoreChoice> {
    let choice = choose(config)?;
    tracing::info!(
        backend = %choice.backend,
        reason = %choice.reason,
        posture = choice.backend.posture_note(),
        "secret store selected"
    );
    Ok(choice)
}

fn choose(config: &SecretStoreConfig) -> Result<SecretStoreChoice> {
    let key_file = |reason: String| -> Result<SecretStoreChoice> {
        let store = KeyFileStore::new(&config.key_file_dir)?;
        Ok(SecretStoreChoice {
            store: Arc::new(store),
            backend: SecretBackend::KeyFile,
            reason,
        })
    };
    match config.force {
        Some(SecretBackend::KeyFile) => {
            return key_file("key_file backend forced by configuration".into());
        }
        Some(SecretBackend::Memory) => {
            return Ok(SecretStoreChoice {
                store: Arc::new(MemoryStore::new()),
                backend: SecretBackend::Memory,
                reason: "memory backend forced by configuration".into(),
            });
        }
        Some(SecretBackend::Keyring) | None => {}
    }
    if config.force.is_none() && config.previous == Some(SecretBackend::KeyFile) {
        // Stay where the key is; moving it to the keyring is a deliberate
        // migration, not something to do on a start-up.
        return key_file("the database key is already in the key file".into());
    }

    let store = KeyringStore::new(config.namespace.clone());
    // Before the key is in the keyring, prove it can be written: a locked
    // collection answers reads but refuses (or prompts for) new items.
    let write = config.previous != Some(SecretBackend::Keyring);
    match probe_keyring(&store, config.probe_timeout, write) {
        Ok(()) => Ok(SecretStoreChoice {
            store: Arc::new(store),
            backend: SecretBackend::Keyring,
            reason: "the OS keyring answered".into(),
        }),
        Err(why) => {
            if config.force == Some(SecretBackend::Keyring) {
                return Err(CoreError::SecretStore {
                    backend: SecretBackend::Keyring.as_str().into(),
                    reason: format!("{why} (keyring backend forced by configuration)"),
                });
            }
            if config.previous == Some(SecretBackend::Keyring) {
                return Err(CoreError::SecretStore {
                    backend: SecretBackend::Keyring.as_str().into(),
                    reason: format!(
                        "{why}; the database key is kept there, so Tend waits for the keyring \
                         instead of starting over with a key file"
                    ),
                });
            }
            if !config.allow_key_file {
                return Err(CoreError::SecretStore {
                    backend: SecretBackend::Keyring.as_str().into(),
                    reason: format!("{why}; the key-file fallback is disabled"),
                });
            }
            tracing::warn!(reason = %why, "OS keyring unavailable; using the key file backend");
            key_file(format!(
                "OS keyring unavailable ({why}); fell back to the key file"
            ))
        }
    }
}

/// Reads a probe entry (a missing one is fine: the service answered) and,
/// with `write`, stores and deletes one; each call waits at most `timeout`.
fn probe_keyring(
    store: &KeyringStore,
    timeout: Duration,
    write: bool,
) -> std::result::Result<(), String> {
    let store = store.clone().with_timeout(timeout);
    let probe = || -> Result<()> {
        store.get("probe")?;
        if write {
            store.set("probe", &SecretBytes::random(16)?)?;
            store.delete("probe")?;
        }
        Ok(())
    };
    match probe() {
        Ok(()) => Ok(()),
        Err(CoreError::SecretStore { reason, .. }) => Err(reason),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secret_bytes() {
        let secret = SecretBytes::new(b"hunter2-very-secret".to_vec());
        let shown = format!("{secret:?}");
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn backend_serializes_as_posture_words() {
        for (backend, word) in [
            (SecretBackend::Keyring, "\"keyring\""),
            (SecretBackend::KeyFile, "\"key_file\""),
            (SecretBackend::Memory, "\"memory\""),
        ] {
            assert_eq!(serde_json::to_string(&backend).unwrap(), word);
            assert_eq!(SecretBackend::parse(backend.as_str()), Some(backend));
        }
    }

    #[test]
    fn memory_store_round_trip_and_shared_clones() {
        let store = MemoryStore::new();
        let other = store.clone();
        assert!(store.get("k").unwrap().is_none());
        store.set("k", &SecretBytes::new(vec![1, 2, 3])).unwrap();
        assert_eq!(other.get("k").unwrap().unwrap().expose(), &[1, 2, 3]);
        other.delete("k").unwrap();
        other.delete("k").unwrap();
        assert!(store.get("k").unwrap().is_none());
        assert!(store.get("../escape").is_err());
    }

    fn config(dir: &Path) -> SecretStoreConfig {
        SecretStoreConfig {
            namespace: "tend-unit-test".into(),
            key_file_dir: dir.join("keys"),
            probe_timeout: Duration::from_millis(500),
            allow_key_file: true,
            force: None,
            previous: None,
        }
    }

    #[test]
    fn forced_and_remembered_backends_skip_the_keyring_probe() {
        let tmp = tempfile::tempdir().unwrap();
        let mut forced = config(tmp.path());
        forced.force = Some(SecretBackend::KeyFile);
        let choice = select_secret_store(&forced).unwrap();
        assert_eq!(choice.backend, SecretBackend::KeyFile);
        assert!(choice.reason.contains("forced"));
        assert!(tmp.path().join("keys").is_dir());

        let mut remembered = config(tmp.path());
        remembered.previous = Some(SecretBackend::KeyFile);
        let choice = select_secret_store(&remembered).unwrap();
        assert_eq!(choice.backend, SecretBackend::KeyFile);
        assert!(choice.reason.contains("already in the key file"));

        let mut memory = config(tmp.path());
        memory.force = Some(SecretBackend::Memory);
        assert_eq!(
            select_secret_store(&memory).unwrap().store.backend(),
            SecretBackend::Memory
        );
    }

    #[test]
    fn the_key_file_posture_is_called_weaker() {
        assert!(SecretBackend::KeyFile.posture_note().starts_with("WEAKER"));
        assert!(!SecretBackend::Keyring.posture_note().contains("WEAKER"));
    }

    #[test]
    fn a_hung_keyring_call_times_out() {
        let started = std::time::Instant::now();
        let err = bounded(Duration::from_millis(100), || {
            std::thread::sleep(Duration::from_secs(2));
            Ok(())
        })
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(err.to_string().contains("locked"), "{err}");
        assert_eq!(bounded(Duration::from_secs(5), || Ok(7)).unwrap(), 7);
    }

    #[test]
    fn random_secrets_differ() {
        let a = SecretBytes::random(32).unwrap();
        let b = SecretBytes::random(32).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
