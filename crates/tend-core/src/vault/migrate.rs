//! Schema migrations of the device database: the numbered SQL files of
//! `migrations/device/`, embedded by `build.rs`. Each runs in its own
//! transaction together with the version bump, so a crash mid-way leaves the
//! previous version intact. A database newer than this app is refused.

use rusqlite::{Connection, TransactionBehavior};

use crate::{CoreError, Result};

/// One numbered SQL file.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every device migration, in order (version 1, 2, …; checked by build.rs).
pub const MIGRATIONS: &[Migration] = include!(concat!(env!("OUT_DIR"), "/device_migrations.rs"));

/// The schema version this build of the app writes.
pub fn latest_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationOutcome {
    pub from: u32,
    pub to: u32,
    pub applied: Vec<u32>,
}

/// The recorded schema version (`PRAGMA user_version`; 0 for a new file).
pub fn schema_version(conn: &Connection) -> Result<u32> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db_error)?;
    u32::try_from(version).map_err(|_| CoreError::Database(format!("bad user_version {version}")))
}

/// Applies the migrations above the current version, each in its own
/// `BEGIN IMMEDIATE` transaction (so two processes never apply one twice).
pub fn migrate(conn: &mut Connection, migrations: &[Migration]) -> Result<MigrationOutcome> {
    let known = migrations.last().map_or(0, |m| m.version);
    let from = schema_version(conn)?;
    if from > known {
        return Err(CoreError::SchemaTooNew { found: from, known });
    }
    let mut applied = Vec::new();
    for migration in migrations.iter().filter(|m| m.version > from) {
        let failed = |reason: String| CoreError::Migration {
            version: migration.version,
            name: migration.name.to_owned(),
            reason,
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| failed(e.to_string()))?;
        // Another process may have migrated while we waited for the lock.
        let current = schema_version(&tx)?;
        if current >= migration.version {
            continue;
        }
        if current != migration.version - 1 {
            return Err(failed(format!(
                "database is at version {current}, expected {}",
                migration.version - 1
            )));
        }
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    INTEGER PRIMARY KEY NOT NULL,
                 name       TEXT NOT NULL,
                 applied_at TEXT NOT NULL
             ) STRICT;",
        )
        .map_err(|e| failed(e.to_string()))?;
        tx.execute_batch(migration.sql)
            .map_err(|e| failed(e.to_string()))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![
                migration.version,
                migration.name,
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ],
        )
        .map_err(|e| failed(e.to_string()))?;
        tx.pragma_update(None, "user_version", migration.version)
            .map_err(|e| failed(e.to_string()))?;
        tx.commit().map_err(|e| failed(e.to_string()))?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "device database migrated"
        );
        applied.push(migration.version);
    }
    Ok(MigrationOutcome {
        from,
        to: schema_version(conn)?,
        applied,
    })
}

pub(crate) fn db_error(e: rusqlite::Error) -> CoreError {
    CoreError::Database(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_migrations_are_numbered_from_one() {
        assert!(MIGRATIONS.len() >= 2);
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
            assert!(!m.sql.trim().is_empty(), "{} is empty", m.name);
        }
        assert_eq!(latest_version(), MIGRATIONS.len() as u32);
    }

    #[test]
    fn every_prefix_migrates_up_to_latest() {
        for start in 0..=MIGRATIONS.len() {
            let mut conn = Connection::open_in_memory().unwrap();
            let first = migrate(&mut conn, &MIGRATIONS[..start]).unwrap();
            assert_eq!(first.to as usize, start);
            let rest = migrate(&mut conn, MIGRATIONS).unwrap();
            assert_eq!(rest.from as usize, start);
            assert_eq!(rest.to, latest_version());
            assert_eq!(rest.applied.len(), MIGRATIONS.len() - start);
            let recorded: i64 = conn
                .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
                .unwrap();
            assert_eq!(recorded as usize, MIGRATIONS.len());
        }
    }

    #[test]
    fn newer_schema_is_refused_not_downgraded() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, MIGRATIONS).unwrap();
        conn.pragma_update(None, "user_version", latest_version() + 1)
            .unwrap();
        let err = migrate(&mut conn, MIGRATIONS).unwrap_err();
        assert!(
            matches!(err, CoreError::SchemaTooNew { found, known } if found == latest_version() + 1 && known == latest_version())
        );
        assert_eq!(schema_version(&conn).unwrap(), latest_version() + 1);
    }

    #[test]
    fn failing_migration_rolls_back_to_the_previous_version() {
        let broken = [
            MIGRATIONS[0],
            Migration {
                version: 2,
                name: "broken",
                sql: "CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);",
            },
        ];
        let mut conn = Connection::open_in_memory().unwrap();
        let err = migrate(&mut conn, &broken).unwrap_err();
        assert!(matches!(err, CoreError::Migration { version: 2, .. }));
        assert_eq!(schema_version(&conn).unwrap(), 1);
        let half: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'half_done'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(half, 0);
    }
}
