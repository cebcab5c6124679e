//! The device vault: the one SQLCipher-encrypted SQLite database holding
//! everything Tend keeps on a device (roster, outbox, badge verifiers,
//! credentials), with its key in a [`SecretStore`]. Opening applies the
//! embedded migrations; a database that its key cannot open is moved aside
//! and replaced (never a crash loop); a wipe destroys the key first.

pub mod key;
pub mod migrate;
pub mod secret;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

pub use key::{
    derive_server_bound_key, DatabaseKey, KeyMode, MemoryServerSecretCache, ServerSecretCache,
    UnlockState,
};
pub use migrate::{latest_version, MigrationOutcome, MIGRATIONS};
pub use secret::{
    keyring_namespace, select_secret_store, KeyFileStore, KeyringStore, MemoryStore, SecretBackend,
    SecretBytes, SecretStore, SecretStoreChoice, SecretStoreConfig,
};

use migrate::db_error;
use secret::{create_private_dir, sync_dir, BACKEND_MARKER};

use crate::{CoreError, Result};

/// The database file inside the data directory (plus `-wal` and `-shm`).
pub const DATABASE_FILE: &str = "vault.db";
/// Prefix of a database moved aside because it could not be opened.
pub const UNREADABLE_PREFIX: &str = "vault-unreadable-";

/// Secret-store names: the current secret and the one a rekey is about to
/// install (kept until the rekey is done, so a crash mid-rekey loses nothing).
const DB_KEY: (&str, &str) = (DB_KEY_NAME, "vault-db-key-next");
const LOCAL_SECRET: (&str, &str) = (LOCAL_SECRET_NAME, "vault-local-secret-next");
/// The secret-store name of the database key ([`KeyMode::Local`]).
pub const DB_KEY_NAME: &str = "vault-db-key";
/// The secret-store name of the local half of a server-bound key.
pub const LOCAL_SECRET_NAME: &str = "vault-local-secret";

/// How to open the vault.
#[derive(Debug, Clone)]
pub struct VaultOptions {
    /// Policy `encryption_required`: refuse to open or create anything
    /// unencrypted. On by default.
    pub encryption_required: bool,
    /// Move an unopenable database aside and start fresh (the app); off in
    /// tools that must not touch a damaged file.
    pub recover_unreadable: bool,
    pub key_mode: KeyMode,
    pub busy_timeout: Duration,
}

impl Default for VaultOptions {
    fn default() -> Self {
        Self {
            encryption_required: true,
            recover_unreadable: true,
            key_mode: KeyMode::Local,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The device's encryption posture, reported to the server in heartbeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EncryptionPosture {
    pub encrypted: bool,
    /// Where the key lives; `None` when unencrypted.
    pub key_store: Option<SecretBackend>,
    /// The key needs the server's part (see [`KeyMode::ServerBound`]).
    pub server_bound: bool,
    /// SQLCipher's version string, e.g. `4.5.7 community`.
    pub cipher_version: Option<String>,
}

/// Why a database was moved aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum RecoveryReason {
    /// The stored key does not open it (damaged file, or a different key).
    KeyRejected,
    /// Its key is no longer in the secret store.
    KeyMissing,
}

/// A database that was moved aside and replaced by a fresh one. Also
/// recorded in the new database's `vault_events` for the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Recovery {
    pub reason: RecoveryReason,
    /// Where the old file now is.
    pub moved_to: String,
    /// RFC 3339.
    pub at: String,
}

/// What [`Vault::open`] found and did.
#[derive(Debug, Clone)]
pub struct OpenReport {
    pub posture: EncryptionPosture,
    /// A new database file was created.
    pub created: bool,
    pub migrations: MigrationOutcome,
    pub recovered: Option<Recovery>,
    /// An interrupted rekey was completed on this open.
    pub finished_rekey: bool,
    pub elapsed: Duration,
}

/// Something that happened to the vault itself, kept for the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VaultEvent {
    pub id: i64,
    pub occurred_at: String,
    /// `database_recovered`.
    pub kind: String,
    /// JSON, e.g. a serialized [`Recovery`].
    pub detail: String,
}

/// What [`Vault::wipe`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WipeReport {
    pub files_removed: Vec<PathBuf>,
}

/// The open device database.
pub struct Vault {
    conn: Connection,
    data_dir: PathBuf,
    path: PathBuf,
    store: Option<Arc<dyn SecretStore>>,
    key_mode: KeyMode,
    posture: EncryptionPosture,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.path)
            .field("posture", &self.posture)
            .finish_non_exhaustive()
    }
}

/// Why a keyed open did not produce a connection.
enum OpenFailure {
    /// The key does not decrypt the file, or the file is not a database.
    Rejected,
    Other(CoreError),
}

impl From<CoreError> for OpenFailure {
    fn from(e: CoreError) -> Self {
        OpenFailure::Other(e)
    }
}

impl Vault {
    /// Opens (or creates) the encrypted database in `data_dir` with the key
    /// from `store`, and migrates it to the latest schema.
    #[tracing::instrument(skip_all, fields(backend = %store.backend()))]
    pub fn open(
        data_dir: &Path,
        store: Arc<dyn SecretStore>,
        options: VaultOptions,
    ) -> Result<(Self, OpenReport)> {
        Self::open_inner(data_dir, Some(store), options)
    }

    /// Opens (or creates) the database WITHOUT encryption: the same SQLite
    /// library, schema and settings, plain file format. Only for
    /// measurements and tools; refused when `encryption_required` is set.
    pub fn open_unencrypted(data_dir: &Path, options: VaultOptions) -> Result<(Self, OpenReport)> {
        if options.encryption_required {
            return Err(CoreError::EncryptionRequired(
                "opening the device database without a key".into(),
            ));
        }
        Self::open_inner(data_dir, None, options)
    }

    fn open_inner(
        data_dir: &Path,
        store: Option<Arc<dyn SecretStore>>,
        options: VaultOptions,
    ) -> Result<(Self, OpenReport)> {
        let started = Instant::now();
        create_private_dir(data_dir, false)?;
        let path = data_dir.join(DATABASE_FILE);
        let existed = path.exists();
        let mut recovered = None;
        let mut finished_rekey = false;
        let mut key_mode = options.key_mode.clone();

        let mut conn = match &store {
            None => match open_connection(&path, None, &options) {
                Ok(conn) => conn,
                Err(OpenFailure::Rejected) => {
                    return Err(CoreError::VaultKeyRejected {
                        path: path.display().to_string(),
                    })
                }
                Err(OpenFailure::Other(e)) => return Err(e),
            },
            Some(store) => {
                let keys = KeySource::new(store.as_ref(), &options.key_mode)?;
                let current = keys.current()?;
                let attempt = match (&current, existed) {
                    (Some(key), _) => open_connection(&path, Some(key), &options),
                    (None, false) => {
                        let key = keys.create(data_dir)?;
                        open_connection(&path, Some(&key), &options)
                    }
                    (None, true) => Err(OpenFailure::Rejected),
                };
                match attempt {
                    Ok(conn) => {
                        // Only after a rekey was started: a keyring read is
                        // a D-Bus round trip, not worth paying on every start.
                        if rekey_marker(data_dir).exists() {
                            keys.forget_pending()?;
                            if options.key_mode.is_server_bound() {
                                // A binding finished all but forgetting the old key.
                                store.delete(DB_KEY.0)?;
                            }
                            clear_rekey_marker(data_dir)?;
                        }
                        conn
                    }
                    Err(OpenFailure::Other(e)) => return Err(e),
                    Err(OpenFailure::Rejected) => {
                        // A rekey may have been cut off after the file got the
                        // new key but before the store did.
                        let pending = keys.pending()?;
                        let by_pending = match &pending {
                            Some(key) => match open_connection(&path, Some(key), &options) {
                                Ok(conn) => Some(conn),
                                Err(OpenFailure::Rejected) => None,
                                Err(OpenFailure::Other(e)) => return Err(e),
                            },
                            None => None,
                        };
                        // Server-bound mode over a vault still on its local
                        // key: not bound yet, or the binding was cut off
                        // before the file changed. Open it; the app binds it.
                        let unbound = if by_pending.is_none() && options.key_mode.is_server_bound()
                        {
                            match KeySource::new(store.as_ref(), &KeyMode::Local)?.current()? {
                                Some(key) => match open_connection(&path, Some(&key), &options) {
                                    Ok(conn) => Some(conn),
                                    Err(OpenFailure::Rejected) => None,
                                    Err(OpenFailure::Other(e)) => return Err(e),
                                },
                                None => None,
                            }
                        } else {
                            None
                        };
                        if let Some(conn) = by_pending {
                            keys.promote_pending()?;
                            if options.key_mode.is_server_bound() {
                                store.delete(DB_KEY.0)?;
                            }
                            clear_rekey_marker(data_dir)?;
                            finished_rekey = true;
                            tracing::info!("finished an interrupted vault rekey");
                            conn
                        } else if let Some(conn) = unbound {
                            if rekey_marker(data_dir).exists() {
                                keys.forget_pending()?;
                                clear_rekey_marker(data_dir)?;
                            }
                            tracing::warn!(
                                "server-bound key configured but the vault still uses its local \
                                 key; it stays readable from this disk alone until bound"
                            );
                            key_mode = KeyMode::Local;
                            conn
                        } else {
                            let reason = if current.is_some() {
                                RecoveryReason::KeyRejected
                            } else {
                                RecoveryReason::KeyMissing
                            };
                            let refuse = || match reason {
                                RecoveryReason::KeyRejected => CoreError::VaultKeyRejected {
                                    path: path.display().to_string(),
                                },
                                RecoveryReason::KeyMissing => CoreError::VaultKeyMissing {
                                    path: path.display().to_string(),
                                    backend: store.backend().to_string(),
                                },
                            };
                            // A server-bound key that does not fit may be a wrong
                            // answer from the server: never shred data over it.
                            if !options.recover_unreadable
                                || (options.key_mode.is_server_bound()
                                    && reason == RecoveryReason::KeyRejected)
                            {
                                return Err(refuse());
                            }
                            // Local mode over a server-bound vault (policy
                            // turned off without unbinding): the key is not
                            // lost, it needs the server's part.
                            if !options.key_mode.is_server_bound()
                                && reason == RecoveryReason::KeyMissing
                                && store.get(LOCAL_SECRET.0)?.is_some()
                            {
                                return Err(CoreError::SecretStore {
                                    backend: store.backend().to_string(),
                                    reason: "the device database is bound to the server; open \
                                             it in server-bound mode"
                                        .into(),
                                });
                            }
                            // The key was kept in another backend (a config
                            // change, a keyring that came back empty-handed
                            // under another name): not lost, so not a reason
                            // to start over.
                            if let Some(kept_in) = secret::read_backend_marker(data_dir) {
                                if kept_in != store.backend() {
                                    return Err(CoreError::SecretStore {
                                        backend: store.backend().to_string(),
                                        reason: format!(
                                            "the key of {} is kept in the {kept_in} backend, \
                                             not here; start with that backend (or wipe)",
                                            path.display()
                                        ),
                                    });
                                }
                            }
                            let recovery = move_aside(data_dir, &path, reason)?;
                            let key = keys.create(data_dir)?;
                            let conn = match open_connection(&path, Some(&key), &options) {
                                Ok(conn) => conn,
                                Err(OpenFailure::Rejected) => return Err(refuse()),
                                Err(OpenFailure::Other(e)) => return Err(e),
                            };
                            recovered = Some(recovery);
                            conn
                        }
                    }
                }
            }
        };

        let cipher_version: Option<String> = conn
            .query_row("PRAGMA cipher_version", [], |r| r.get(0))
            .ok()
            .filter(|v: &String| !v.is_empty());
        if store.is_some() && cipher_version.is_none() && options.encryption_required {
            return Err(CoreError::EncryptionRequired(
                "this build of Tend has no SQLCipher".into(),
            ));
        }
        let posture = EncryptionPosture {
            encrypted: store.is_some() && cipher_version.is_some(),
            key_store: store.as_ref().map(|s| s.backend()),
            server_bound: store.is_some() && key_mode.is_server_bound(),
            cipher_version,
        };

        let migrations = migrate::migrate(&mut conn, MIGRATIONS)?;
        if let Some(recovery) = &recovered {
            tracing::error!(
                reason = ?recovery.reason,
                moved_to = %recovery.moved_to,
                "device database could not be opened; moved it aside and started a fresh one"
            );
            record_event(&conn, "database_recovered", recovery)?;
        }
        let report = OpenReport {
            posture: posture.clone(),
            created: !existed || recovered.is_some(),
            migrations,
            recovered,
            finished_rekey,
            elapsed: started.elapsed(),
        };
        tracing::info!(
            encrypted = posture.encrypted,
            key_store = posture.key_store.map(SecretBackend::as_str),
            server_bound = posture.server_bound,
            schema = report.migrations.to,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "device vault open"
        );
        Ok((
            Self {
                conn,
                data_dir: data_dir.to_path_buf(),
                path,
                store,
                key_mode,
                posture,
            },
            report,
        ))
    }

    /// The connection, for the modules that own tables in the vault.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn posture(&self) -> &EncryptionPosture {
        &self.posture
    }

    pub fn schema_version(&self) -> Result<u32> {
        migrate::schema_version(&self.conn)
    }

    /// Re-encrypts the database under a fresh key (`PRAGMA rekey`). The new
    /// secret is stored as "next" first, so a crash at any point leaves a
    /// key that opens the file (the next open finishes the job).
    pub fn rekey(&mut self) -> Result<()> {
        let mode = self.key_mode.clone();
        self.rekey_into(&mode, &[])?;
        tracing::info!("device vault rekeyed");
        Ok(())
    }

    /// Binds the key to the server (a facility's kiosk policy): re-encrypts
    /// under a key derived from a new local secret and `server_secret`, then
    /// destroys the local-only key. From then on the database opens only
    /// with the server's part in memory.
    pub fn bind_to_server(&mut self, device: &str, server_secret: &SecretBytes) -> Result<()> {
        if self.key_mode.is_server_bound() {
            return Err(CoreError::Database(
                "the device database is already bound to the server".into(),
            ));
        }
        let mode = KeyMode::ServerBound {
            device: device.to_owned(),
            server_secret: Some(server_secret.clone()),
        };
        self.rekey_into(&mode, &[DB_KEY.0])?;
        self.key_mode = mode;
        self.posture.server_bound = true;
        tracing::info!("device vault bound to the server");
        Ok(())
    }

    /// Re-keys a server-bound vault under a new server part (after the
    /// server rotated it): a new local secret too, the same crash-safe way.
    pub fn rebind_to_server(&mut self, device: &str, server_secret: &SecretBytes) -> Result<()> {
        if !self.key_mode.is_server_bound() {
            return Err(CoreError::Database(
                "the device database is not bound to the server".into(),
            ));
        }
        let mode = KeyMode::ServerBound {
            device: device.to_owned(),
            server_secret: Some(server_secret.clone()),
        };
        self.rekey_into(&mode, &[])?;
        self.key_mode = mode;
        tracing::info!("device vault re-keyed under the server's new part");
        Ok(())
    }

    /// Whether the vault in `store` is bound to the server: its local secret
    /// is there and no local-only key is.
    pub fn is_bound_to_server(store: &dyn SecretStore) -> Result<bool> {
        Ok(store.get(LOCAL_SECRET.0)?.is_some() && store.get(DB_KEY.0)?.is_none())
    }

    /// Stages the next secret of `mode`, rekeys the file, promotes the
    /// secret, then deletes `obsolete` secrets; a marker file tells the next
    /// open to finish or undo a cut-off run.
    fn rekey_into(&mut self, mode: &KeyMode, obsolete: &[&str]) -> Result<()> {
        let store = self.store.clone().ok_or_else(|| {
            CoreError::EncryptionRequired("cannot rekey an unencrypted database".into())
        })?;
        let keys = KeySource::new(store.as_ref(), mode)?;
        // The marker holds no secret.
        let marker = rekey_marker(&self.data_dir);
        std::fs::write(&marker, b"").map_err(|e| CoreError::storage(&marker, e))?;
        sync_dir(&self.data_dir);
        let next = keys.stage_next()?;
        // SQLCipher rekeys page by page; a WAL would keep pages under the old
        // key, so checkpoint it away first.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(db_error)?;
        let sql = zeroize::Zeroizing::new(format!("PRAGMA rekey = \"{}\";", &*next.pragma_value()));
        self.conn
            .execute_batch(&sql)
            .map_err(|e| CoreError::Database(format!("rekey failed: {}", sqlite_code(&e))))?;
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(db_error)?;
        keys.promote_pending()?;
        for name in obsolete {
            store.delete(name)?;
        }
        clear_rekey_marker(&self.data_dir)
    }

    /// Vault events (a recovered database, …) not yet reported to the server.
    pub fn unreported_events(&self) -> Result<Vec<VaultEvent>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, occurred_at, kind, detail FROM vault_events
                 WHERE reported_at IS NULL ORDER BY id",
            )
            .map_err(db_error)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(VaultEvent {
                    id: r.get(0)?,
                    occurred_at: r.get(1)?,
                    kind: r.get(2)?,
                    detail: r.get(3)?,
                })
            })
            .map_err(db_error)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_error)
    }

    /// Marks events as delivered to the server.
    pub fn mark_events_reported(&self, ids: &[i64]) -> Result<()> {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut stmt = self
            .conn
            .prepare_cached("UPDATE vault_events SET reported_at = ?1 WHERE id = ?2")
            .map_err(db_error)?;
        for id in ids {
            stmt.execute(rusqlite::params![now, id]).map_err(db_error)?;
        }
        Ok(())
    }

    /// Crypto-shred: destroys the key in the secret store, then deletes the
    /// database files. Afterwards nothing left on disk can be decrypted.
    pub fn wipe(self) -> Result<WipeReport> {
        let Self {
            conn,
            data_dir,
            store,
            ..
        } = self;
        if let Err((_, e)) = conn.close() {
            tracing::warn!(error = %e, "closing the vault before the wipe failed");
        }
        match store {
            Some(store) => Self::wipe_dir(&data_dir, store.as_ref()),
            None => remove_vault_files(&data_dir),
        }
    }

    /// Wipes the vault of `data_dir` without opening it (a remote wipe of a
    /// locked device). Keys first; if a key cannot be destroyed the files
    /// are still deleted and the error is returned.
    pub fn wipe_dir(data_dir: &Path, store: &dyn SecretStore) -> Result<WipeReport> {
        let mut first_error = None;
        for name in [DB_KEY.0, DB_KEY.1, LOCAL_SECRET.0, LOCAL_SECRET.1] {
            if let Err(e) = store.delete(name) {
                first_error.get_or_insert(e);
            }
        }
        let report = remove_vault_files(data_dir)?;
        tracing::warn!(
            files = report.files_removed.len(),
            key_destroyed = first_error.is_none(),
            "device vault wiped"
        );
        match first_error {
            None => Ok(report),
            Some(e) => Err(e),
        }
    }
}

/// The key names and derivation for one key mode.
struct KeySource<'a> {
    store: &'a dyn SecretStore,
    names: (&'static str, &'static str),
    /// `Some((device, server secret))` for a server-bound key.
    server: Option<(&'a str, &'a SecretBytes)>,
}

impl<'a> KeySource<'a> {
    fn new(store: &'a dyn SecretStore, mode: &'a KeyMode) -> Result<Self> {
        match mode {
            KeyMode::Local => Ok(Self {
                store,
                names: DB_KEY,
                server: None,
            }),
            KeyMode::ServerBound {
                device,
                server_secret,
            } => {
                let server = server_secret.as_ref().ok_or(CoreError::WaitingForNetwork)?;
                Ok(Self {
                    store,
                    names: LOCAL_SECRET,
                    server: Some((device.as_str(), server)),
                })
            }
        }
    }

    fn key_of(&self, secret: &SecretBytes) -> Result<Option<DatabaseKey>> {
        match self.server {
            None => Ok(DatabaseKey::from_secret(secret)),
            Some((device, server)) => derive_server_bound_key(secret, server, device).map(Some),
        }
    }

    fn load(&self, name: &str) -> Result<Option<DatabaseKey>> {
        match self.store.get(name)? {
            Some(secret) => {
                let key = self.key_of(&secret);
                if matches!(key, Ok(None)) {
                    tracing::warn!(
                        secret = name,
                        "stored vault secret has the wrong length; ignoring it"
                    );
                }
                key
            }
            None => Ok(None),
        }
    }

    fn current(&self) -> Result<Option<DatabaseKey>> {
        self.load(self.names.0)
    }

    fn pending(&self) -> Result<Option<DatabaseKey>> {
        self.load(self.names.1)
    }

    /// A fresh secret stored as current, before any file is written with it.
    fn create(&self, data_dir: &Path) -> Result<DatabaseKey> {
        let secret = SecretBytes::random(key::KEY_LEN)?;
        let key = self
            .key_of(&secret)?
            .ok_or_else(|| CoreError::Database("key generation".into()))?;
        self.store.set(self.names.0, &secret)?;
        write_backend_marker(data_dir, self.store.backend())?;
        Ok(key)
    }

    fn stage_next(&self) -> Result<DatabaseKey> {
        let secret = SecretBytes::random(key::KEY_LEN)?;
        let key = self
            .key_of(&secret)?
            .ok_or_else(|| CoreError::Database("key generation".into()))?;
        self.store.set(self.names.1, &secret)?;
        Ok(key)
    }

    fn promote_pending(&self) -> Result<()> {
        if let Some(secret) = self.store.get(self.names.1)? {
            self.store.set(self.names.0, &secret)?;
            self.store.delete(self.names.1)?;
        }
        Ok(())
    }

    /// The current key opened the file, so a staged "next" never got used.
    fn forget_pending(&self) -> Result<()> {
        if self.store.get(self.names.1)?.is_some() {
            self.store.delete(self.names.1)?;
        }
        Ok(())
    }
}

/// Opens the database file with `key` and the vault's connection settings,
/// without migrations or recovery: for diagnostics, tools and tests.
pub fn open_database(path: &Path, key: Option<&DatabaseKey>) -> Result<Connection> {
    match open_connection(path, key, &VaultOptions::default()) {
        Ok(conn) => Ok(conn),
        Err(OpenFailure::Rejected) => Err(CoreError::VaultKeyRejected {
            path: path.display().to_string(),
        }),
        Err(OpenFailure::Other(e)) => Err(e),
    }
}

/// Opens the file, applies the key and proves it by reading the schema,
/// then sets the connection's pragmas.
fn open_connection(
    path: &Path,
    key: Option<&DatabaseKey>,
    options: &VaultOptions,
) -> std::result::Result<Connection, OpenFailure> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| CoreError::storage(path, format!("cannot open the database: {e}")))?;
    // A wrong key would otherwise make SQLCipher write to stderr.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")
        .map_err(db_error)?;
    if let Some(key) = key {
        let sql = zeroize::Zeroizing::new(format!("PRAGMA key = \"{}\";", &*key.pragma_value()));
        conn.execute_batch(&sql).map_err(|e| {
            CoreError::Database(format!("setting the key failed: {}", sqlite_code(&e)))
        })?;
    }
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(e, _))
            if matches!(
                e.code,
                rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
            ) =>
        {
            return Err(OpenFailure::Rejected)
        }
        Err(e) => return Err(db_error(e).into()),
    }
    conn.busy_timeout(options.busy_timeout).map_err(db_error)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(db_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(CoreError::Database(format!("journal_mode is {mode}, WAL expected")).into());
    }
    // SQLCipher decrypts a page on every page-cache miss (plain SQLite just
    // copies it from the OS cache), so the cache is what keeps encrypted
    // reads near plain speed: up to 64 MiB, allocated only as pages are used
    // (a typical device database is a few MiB). See docs/benchmarks.md.
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -65536;",
    )
    .map_err(db_error)?;
    Ok(conn)
}

/// An SQLite error's code only: key pragma failures must not echo SQL.
fn sqlite_code(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(err, _) => format!("{:?}", err.code),
        _ => "error".into(),
    }
}

/// Present while a rekey is in progress (or was cut off).
const REKEY_MARKER: &str = "vault.rekey";

fn rekey_marker(data_dir: &Path) -> PathBuf {
    data_dir.join(REKEY_MARKER)
}

fn clear_rekey_marker(data_dir: &Path) -> Result<()> {
    let marker = rekey_marker(data_dir);
    match std::fs::remove_file(&marker) {
        Ok(()) => {
            sync_dir(data_dir);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CoreError::storage(&marker, e)),
    }
}

fn write_backend_marker(data_dir: &Path, backend: SecretBackend) -> Result<()> {
    let path = data_dir.join(BACKEND_MARKER);
    let tmp = data_dir.join(format!("{BACKEND_MARKER}.tmp"));
    std::fs::write(&tmp, format!("{}\n", backend.as_str()))
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| CoreError::storage(&path, e))?;
    sync_dir(data_dir);
    Ok(())
}

/// Renames the database and its `-wal`/`-shm` to
/// `vault-unreadable-<UTC time>.db*`.
fn move_aside(data_dir: &Path, path: &Path, reason: RecoveryReason) -> Result<Recovery> {
    let now = chrono::Utc::now();
    let stamp = now.format("%Y%m%dT%H%M%S%.3fZ");
    let target = data_dir.join(format!("{UNREADABLE_PREFIX}{stamp}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", path.display()));
        let to = PathBuf::from(format!("{}{suffix}", target.display()));
        if from.exists() {
            std::fs::rename(&from, &to).map_err(|e| CoreError::storage(&from, e))?;
        }
    }
    sync_dir(data_dir);
    Ok(Recovery {
        reason,
        moved_to: target.display().to_string(),
        at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
}

fn record_event(conn: &Connection, kind: &str, detail: &impl Serialize) -> Result<()> {
    let detail = serde_json::to_string(detail).map_err(|e| CoreError::Database(e.to_string()))?;
    conn.execute(
        "INSERT INTO vault_events (occurred_at, kind, detail) VALUES (?1, ?2, ?3)",
        rusqlite::params![
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            kind,
            detail
        ],
    )
    .map_err(db_error)?;
    Ok(())
}

/// Deletes the database, its WAL and shared-memory files, databases moved
/// aside earlier, and the backend marker.
fn remove_vault_files(data_dir: &Path) -> Result<WipeReport> {
    let mut files_removed = Vec::new();
    let entries = match std::fs::read_dir(data_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(WipeReport { files_removed })
        }
        Err(e) => return Err(CoreError::storage(data_dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| CoreError::storage(data_dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = name == DATABASE_FILE
            || name.starts_with(&format!("{DATABASE_FILE}-"))
            || name.starts_with(UNREADABLE_PREFIX)
            || name.starts_with(BACKEND_MARKER)
            || name == REKEY_MARKER;
        if ours {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| CoreError::storage(&path, e))?;
            files_removed.push(path);
        }
    }
    sync_dir(data_dir);
    files_removed.sort();
    Ok(WipeReport { files_removed })
}
