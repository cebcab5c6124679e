//! What the API benchmarks share: the real API served from this process on
//! a fresh PostgreSQL database (migrated, with the non-owner app role the
//! server runs as), over loopback HTTP, and dropped afterwards.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

/// A number from the environment, or `default`.
pub fn env_number(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `url` with its database name replaced.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let slash = base.rfind('/').expect("database URL has a path");
    let mut out = format!("{}/{db}", &base[..slash]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn with_user(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let host = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    format!("{scheme}://{user}:{password}@{host}")
}

/// The API running on its own throwaway database.
pub struct BenchApi {
    /// e.g. `http://127.0.0.1:41234`.
    pub base: String,
    /// The database owner's pool, for seeding past RLS.
    pub owner: PgPool,
    admin_pool: PgPool,
    database: String,
}

impl BenchApi {
    /// Creates the database from `TEND_TEST_PG_URL` (a superuser URL),
    /// migrates it, and serves the API as `app_role`.
    pub async fn start(app_role: &str, app_password: &str) -> Self {
        let admin = std::env::var("TEND_TEST_PG_URL").expect("TEND_TEST_PG_URL (a superuser URL)");
        let database = format!("tend_bench_{}", uuid::Uuid::new_v4().simple());
        let admin_pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(&admin)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {database}"))
            .execute(&admin_pool)
            .await
            .unwrap();
        let owner_url = with_database(&admin, &database);
        let owner = PgPoolOptions::new()
            .max_connections(4)
            .connect(&owner_url)
            .await
            .unwrap();
        tend_api::db::migrate(&owner).await.unwrap();
        tend_api::db::ensure_app_login(&owner, app_role, app_password)
            .await
            .unwrap();
        let url: tend_api::config::DatabaseUrl = with_user(&owner_url, app_role, app_password)
            .parse()
            .unwrap();
        let pool = tend_api::db::connect(&url, 8).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = tend_api::app(pool, Duration::from_secs(3600));
        tokio::spawn(async move {
            tend_api::serve(listener, router, std::future::pending())
                .await
                .unwrap();
        });
        Self {
            base,
            owner,
            admin_pool,
            database,
        }
    }

    /// Drops the database (the server's connections with it).
    pub async fn finish(self) {
        self.owner.close().await;
        let _ = sqlx::query(&format!("DROP DATABASE {} WITH (FORCE)", self.database))
            .execute(&self.admin_pool)
            .await;
    }
}
