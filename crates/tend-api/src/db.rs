//! Pools, embedded migrations and the API's database role.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::config::DatabaseUrl;

/// `migrations/server/*.sql`, embedded at build time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/server");

/// The NOLOGIN role the migrations grant to; login roles for the API join it.
pub const APP_GROUP_ROLE: &str = "tend_app";

pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    connect_with(
        url,
        PoolSettings {
            max_connections,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: None,
        },
    )
    .await
}

/// How the serving pool behaves under load.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a request waits for a free connection before it is answered
    /// 503 with `Retry-After` (short: a queue of waiters only grows).
    pub acquire_timeout: Duration,
    /// PostgreSQL `statement_timeout` for every connection; `None` leaves the
    /// role's or server's setting.
    pub statement_timeout: Option<Duration>,
}

pub async fn connect_with(
    url: &DatabaseUrl,
    settings: PoolSettings,
) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.expose().parse()?;
    let statement_timeout = settings.statement_timeout.map(|t| t.as_millis());
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                // A plain SET on each new connection (not a startup option:
                // PgBouncer refuses unknown startup parameters).
                if let Some(ms) = statement_timeout {
                    sqlx::query(&format!("SET statement_timeout = {ms}"))
                        .execute(conn)
                        .await?;
                }
                Ok(())
            })
        })
        .connect_with(options.application_name("tend-api"))
        .await
}

/// Applies pending migrations (as the schema owner).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// True when every embedded migration is recorded as applied.
pub async fn migrations_current(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await?;
    Ok(MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .all(|m| applied.contains(&m.version)))
}

/// Refuses to serve through a role that could see past row-level security.
pub async fn check_app_role(pool: &PgPool) -> anyhow::Result<()> {
    let (superuser, bypass, owns): (bool, bool, bool) = sqlx::query_as(
        "SELECT r.rolsuper, r.rolbypassrls, \
           EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = 'public' AND t.tablename = 'patients' \
                   AND pg_has_role(current_user, t.tableowner, 'USAGE')) \
         FROM pg_roles r WHERE r.rolname = current_user",
    )
    .fetch_one(pool)
    .await?;
    if superuser || bypass || owns {
        anyhow::bail!(
            "the API's database role must not be a superuser, bypass RLS or own the tables; \
             create a login role in {APP_GROUP_ROLE} (tend-api migrate --app-user NAME)"
        );
    }
    Ok(())
}

/// Creates (or re-passwords) a login role that is a member of `tend_app`.
pub async fn ensure_app_login(owner: &PgPool, name: &str, password: &str) -> anyhow::Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        anyhow::bail!("role names are lowercase letters, digits and _");
    }
    let literal = format!("'{}'", password.replace('\'', "''"));
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(name)
            .fetch_one(owner)
            .await?;
    if exists {
        sqlx::query(&format!(
            "ALTER ROLE {name} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD {literal}"
        ))
        .execute(owner)
        .await?;
    } else {
        sqlx::query(&format!(
            "CREATE ROLE {name} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD {literal}"
        ))
        .execute(owner)
        .await?;
    }
    sqlx::query(&format!("GRANT {APP_GROUP_ROLE} TO {name}"))
        .execute(owner)
        .await?;
    Ok(())
}
