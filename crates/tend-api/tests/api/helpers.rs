//! Spawning the app against a fresh database, and a small tenant world.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

pub const APP_ROLE: &str = "tend_api_test";
pub const APP_PASSWORD: &str = "tend-api-test-password";
pub const PASSWORD: &str = "correct horse battery staple";

pub fn admin_url() -> String {
    std::env::var("TEND_TEST_PG_URL").unwrap_or_else(|_| {
        panic!(
            "TEND_TEST_PG_URL is not set. Start a throwaway PostgreSQL with \
             `eval \"$(bash scripts/services/postgres.sh start /tmp/tend-pg)\"` or run scripts/test-api.sh"
        )
    })
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let slash = base.rfind('/').expect("database URL has a path");
    let mut out = format!("{}/{}", &base[..slash], db);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// `url` with other credentials.
pub fn with_user(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let host = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    format!("{scheme}://{user}:{password}@{host}")
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// The schema owner (bypasses RLS as owner): for fixtures and assertions.
    pub owner: PgPool,
    /// URL of the API's own role on this database.
    pub app_url: String,
    /// The pool the server itself uses (to hold its connections in a test).
    pub app_pool: PgPool,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn create_database() -> (String, String) {
    let admin = admin_url();
    let name = format!("tend_test_{}", uuid::Uuid::new_v4().simple());
    let admin_pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&admin)
        .await
        .expect("connect admin URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin_pool)
        .await
        .expect("create database");
    admin_pool.close().await;
    (name.clone(), with_database(&admin, &name))
}

/// A fresh, migrated database and the app role's URL for it.
pub async fn fresh_database() -> (PgPool, String, String) {
    let (_, owner_url) = create_database().await;
    let owner = PgPoolOptions::new()
        .max_connections(4)
        .connect(&owner_url)
        .await
        .expect("connect owner");
    tend_api::db::migrate(&owner).await.expect("migrate");
    // Tests run in parallel on one cluster; the role is cluster-wide.
    for attempt in 0..5 {
        match tend_api::db::ensure_app_login(&owner, APP_ROLE, APP_PASSWORD).await {
            Ok(()) => break,
            Err(e) if attempt < 4 => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50 * (attempt + 1))).await;
            }
            Err(e) => panic!("creating the app role: {e:#}"),
        }
    }
    let app_url = with_user(&owner_url, APP_ROLE, APP_PASSWORD);
    (owner, owner_url, app_url)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(tend_api::identity::IdentityConfig::default()).await
}

/// [`spawn_app`] with device-identity settings (short token lifetimes, limits).
pub async fn spawn_app_with(config: tend_api::identity::IdentityConfig) -> TestApp {
    spawn_app_custom(
        config,
        tend_api::db::PoolSettings {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: None,
        },
        tend_api::http::HttpSettings::default(),
    )
    .await
}

/// [`spawn_app`] with every setting: device identity, the serving pool
/// (size, acquire and statement timeouts) and HTTP (trusted proxies, timeouts).
pub async fn spawn_app_custom(
    config: tend_api::identity::IdentityConfig,
    pool_settings: tend_api::db::PoolSettings,
    http: tend_api::http::HttpSettings,
) -> TestApp {
    let (owner, _owner_url, app_url) = fresh_database().await;
    let url: tend_api::config::DatabaseUrl = app_url.parse().unwrap();
    let pool = tend_api::db::connect_with(&url, pool_settings)
        .await
        .expect("connect as app role");
    tend_api::db::check_app_role(&pool)
        .await
        .expect("app role is unprivileged");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app_pool = pool.clone();
    let (app, _) = tend_api::build(pool, Duration::from_secs(3600), config, http);
    let server = tokio::spawn(async move {
        tend_api::serve(listener, app, std::future::pending())
            .await
            .unwrap();
    });
    TestApp {
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        owner,
        app_url,
        app_pool,
        server,
    }
}

impl TestApp {
    /// A second API instance on the same database (its own caches and
    /// buffers, as another process would have); returns its base URL.
    pub async fn second_instance(&self) -> (String, tokio::task::JoinHandle<()>) {
        self.second_instance_with(tend_api::identity::IdentityConfig::default())
            .await
    }

    /// [`TestApp::second_instance`] with device-identity settings (limits).
    pub async fn second_instance_with(
        &self,
        config: tend_api::identity::IdentityConfig,
    ) -> (String, tokio::task::JoinHandle<()>) {
        let url: tend_api::config::DatabaseUrl = self.app_url.parse().unwrap();
        let pool = tend_api::db::connect(&url, 4).await.expect("connect");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = tend_api::app_with(pool, Duration::from_secs(3600), config);
        let server = tokio::spawn(async move {
            tend_api::serve(listener, app, std::future::pending())
                .await
                .unwrap();
        });
        (format!("http://{addr}"), server)
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
}

impl std::fmt::Debug for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl Resp {
    /// The error code of an error body (panics on a non-error body).
    pub fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error body: {self:?}"))
    }
}

impl TestApp {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp { status, body }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
    pub async fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    /// Raw body request (for malformed JSON and size tests).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Resp {
        let res = self
            .client
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        let status = res.status();
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        Resp { status, body }
    }
}

/// A fixed argon2id hash of [`PASSWORD`], computed once per test binary.
pub fn password_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| tend_api::auth::hash_password(PASSWORD).unwrap())
}

/// Ids of one facility's fixtures.
#[derive(Debug, Clone, Copy)]
pub struct Site {
    pub org: i64,
    pub facility: i64,
    pub patient: i64,
    pub device: i64,
    /// A CNA working there (a target for user endpoints).
    pub staff: i64,
    /// An enrollment code of the facility.
    pub code: i64,
    /// Two devices that enrolled a key and wait for approval.
    pub pending_device: i64,
    pub pending_device2: i64,
    /// An active badge of `staff` (a random hash: its value is not needed).
    pub badge: i64,
    /// A visitor code of `patient` (the facility has the family portal on).
    pub visitor_code: i64,
}

/// Two organizations: A with facilities A1 and A2, B with B1; plus the
/// platform organization P. Every role has a user homed in A1 (the platform
/// admin in P1), each with a ready bearer token.
pub struct World {
    pub a1: Site,
    pub a2: Site,
    pub b1: Site,
    pub tokens: Vec<(tend_domain::Role, i64, String)>,
}

impl World {
    pub fn token(&self, role: tend_domain::Role) -> &str {
        &self
            .tokens
            .iter()
            .find(|(r, _, _)| *r == role)
            .expect("role")
            .2
    }
    pub fn user(&self, role: tend_domain::Role) -> i64 {
        self.tokens
            .iter()
            .find(|(r, _, _)| *r == role)
            .expect("role")
            .1
    }
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

pub async fn insert_org(owner: &PgPool, name: &str, platform: bool) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO organizations (name, organization_type, settings) VALUES ($1, 'SNF_CHAIN', $2) RETURNING id",
    )
    .bind(name)
    .bind(if platform { serde_json::json!({"platform": true}) } else { serde_json::json!({}) })
    .fetch_one(owner)
    .await
    .unwrap()
}

pub async fn insert_facility(owner: &PgPool, org: i64, name: &str, beds: Option<i32>) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO facilities (organization_id, name, facility_type, licensed_beds, current_census) \
         VALUES ($1, $2, $3, $4, 0) RETURNING id",
    )
    .bind(org)
    .bind(name)
    .bind(if beds.is_some() { "SNF" } else { "HOME_HEALTH" })
    .bind(beds)
    .fetch_one(owner)
    .await
    .unwrap()
}

pub async fn insert_user(
    owner: &PgPool,
    org: i64,
    facility: i64,
    role: tend_domain::Role,
) -> (i64, String) {
    let username = unique(&format!(
        "u{}-",
        role.as_str().to_ascii_lowercase().replace('_', "")
    ));
    let id = sqlx::query_scalar(
        "INSERT INTO users (organization_id, facility_id, employee_id, username, full_name, role, password_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(org)
    .bind(facility)
    .bind(unique("E"))
    .bind(&username)
    .bind(format!("Test {}", role.as_str()))
    .bind(role.as_str())
    .bind(password_hash())
    .fetch_one(owner)
    .await
    .unwrap();
    (id, username)
}

/// Issues a token directly (skipping argon2), as login would store it.
pub async fn token_for(owner: &PgPool, user: i64) -> String {
    let token = format!("tend_test_{}", uuid::Uuid::new_v4().simple());
    let hash = Sha256::digest(token.as_bytes()).to_vec();
    sqlx::query("INSERT INTO auth_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, now() + interval '1 hour')")
        .bind(hash)
        .bind(user)
        .execute(owner)
        .await
        .unwrap();
    token
}

pub async fn insert_patient(owner: &PgPool, org: i64, facility: i64, status: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO patients (organization_id, facility_id, mrn, first_name, last_name, date_of_birth, status) \
         VALUES ($1, $2, $3, 'Ada', $4, '1940-02-03', $5) RETURNING id",
    )
    .bind(org)
    .bind(facility)
    .bind(unique("MRN-"))
    .bind(unique("Lovelace"))
    .bind(status)
    .fetch_one(owner)
    .await
    .unwrap()
}

pub async fn insert_device(owner: &PgPool, org: i64, facility: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO devices (organization_id, facility_id, device_name, device_type, device_uuid) \
         VALUES ($1, $2, 'Nurse Station', 'WORKSTATION', $3) RETURNING id",
    )
    .bind(org)
    .bind(facility)
    .bind(uuid::Uuid::new_v4())
    .fetch_one(owner)
    .await
    .unwrap()
}

/// An enrollment code row (its plaintext is not needed by the matrix).
pub async fn insert_code(owner: &PgPool, org: i64, facility: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO enrollment_codes (organization_id, facility_id, code_hash, code_hint, max_uses, expires_at) \
         VALUES ($1, $2, $3, 'TEST', 5, now() + interval '1 day') RETURNING id",
    )
    .bind(org)
    .bind(facility)
    .bind(Sha256::digest(uuid::Uuid::new_v4().as_bytes()).to_vec())
    .fetch_one(owner)
    .await
    .unwrap()
}

/// A self-registered device waiting for approval (with a dummy key).
pub async fn insert_pending_device(owner: &PgPool, org: i64, facility: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO devices (organization_id, facility_id, device_name, device_type, device_uuid, status, \
         is_active, identity_public_key) VALUES ($1, $2, 'Hall Kiosk', 'RASPBERRY_PI', $3, 'PENDING', false, \
         'O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=') RETURNING id",
    )
    .bind(org)
    .bind(facility)
    .bind(uuid::Uuid::new_v4())
    .fetch_one(owner)
    .await
    .unwrap()
}

/// A badge row with a random hash (for the matrix; logins use real values).
pub async fn insert_badge(owner: &PgPool, org: i64, facility: i64, user: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO badges (organization_id, facility_id, user_id, badge_hash) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(org)
    .bind(facility)
    .bind(user)
    .bind(Sha256::digest(uuid::Uuid::new_v4().as_bytes()).to_vec())
    .fetch_one(owner)
    .await
    .unwrap()
}

/// A device token issued directly, as `/api/devices/auth/token` would store it.
pub async fn device_token_for(owner: &PgPool, device: i64) -> String {
    let token = format!("tdev_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query("INSERT INTO device_tokens (token_hash, device_id, expires_at) VALUES ($1, $2, now() + interval '1 hour')")
        .bind(Sha256::digest(token.as_bytes()).to_vec())
        .bind(device)
        .execute(owner)
        .await
        .unwrap();
    token
}

/// Turns a facility feature on or off.
pub async fn set_feature(owner: &PgPool, facility: i64, feature: &str, on: bool) {
    sqlx::query("UPDATE facilities SET features = features || jsonb_build_object($2::text, $3::boolean) WHERE id = $1")
        .bind(facility)
        .bind(feature)
        .bind(on)
        .execute(owner)
        .await
        .unwrap();
}

/// A visitor code row with a random hash (for the matrix; check-ins use real codes).
pub async fn insert_visitor_code(owner: &PgPool, org: i64, facility: i64, patient: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO visitor_codes (organization_id, facility_id, patient_id, code_hash, code_hint, visitor_name, expires_at) \
         VALUES ($1, $2, $3, $4, '00', 'Matrix Visitor', now() + interval '1 day') RETURNING id",
    )
    .bind(org)
    .bind(facility)
    .bind(patient)
    .bind(Sha256::digest(uuid::Uuid::new_v4().as_bytes()).to_vec())
    .fetch_one(owner)
    .await
    .unwrap()
}

async fn site(owner: &PgPool, org: i64, name: &str) -> Site {
    let facility = insert_facility(owner, org, name, Some(40)).await;
    set_feature(owner, facility, "family_portal", true).await;
    let staff = insert_user(owner, org, facility, tend_domain::Role::Cna)
        .await
        .0;
    let patient = insert_patient(owner, org, facility, "active").await;
    Site {
        visitor_code: insert_visitor_code(owner, org, facility, patient).await,
        code: insert_code(owner, org, facility).await,
        pending_device: insert_pending_device(owner, org, facility).await,
        pending_device2: insert_pending_device(owner, org, facility).await,
        org,
        facility,
        patient,
        device: insert_device(owner, org, facility).await,
        staff,
        badge: insert_badge(owner, org, facility, staff).await,
    }
}

pub async fn world(app: &TestApp) -> World {
    let o = &app.owner;
    let platform_org = insert_org(o, "Platform", true).await;
    let platform_facility = insert_facility(o, platform_org, "Platform Ops", None).await;
    let org_a = insert_org(o, "Org A", false).await;
    let org_b = insert_org(o, "Org B", false).await;
    let a1 = site(o, org_a, "A1").await;
    let a2 = site(o, org_a, "A2").await;
    let b1 = site(o, org_b, "B1").await;
    let mut tokens = Vec::new();
    for role in tend_domain::Role::ALL {
        let (org, facility) = if *role == tend_domain::Role::PlatformAdmin {
            (platform_org, platform_facility)
        } else {
            (org_a, a1.facility)
        };
        let (id, _) = insert_user(o, org, facility, *role).await;
        tokens.push((*role, id, token_for(o, id).await));
    }
    World { a1, a2, b1, tokens }
}

pub async fn audit_count(owner: &PgPool, actor: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE actor_user_id = $1")
        .bind(actor)
        .fetch_one(owner)
        .await
        .unwrap()
}

/// Everything the process logs, at every level, from the moment it is
/// installed (each test runs in its own process under nextest).
pub fn captured_logs() -> &'static std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    static LOGS: std::sync::OnceLock<std::sync::Arc<std::sync::Mutex<Vec<u8>>>> =
        std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Capture(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");
        buffer
    })
}

struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A machine of its own for a simulated device: a fresh `/etc/machine-id`
/// below a temporary root (what `IdentityProbe::new(root)` reads).
pub fn machine_with_id() -> tempfile::TempDir {
    let machine = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(machine.path().join("etc")).unwrap();
    std::fs::write(
        machine.path().join("etc/machine-id"),
        format!("{}\n", uuid::Uuid::new_v4().simple()),
    )
    .unwrap();
    machine
}

/// Signs `user` in on the device whose token is `device_token`, as the lock
/// screen's password fallback does (the device's token as the bearer): the
/// session that records the device pushes in the user's name need.
pub async fn sign_in_on_device(app: &TestApp, device_token: &str, user: i64) -> Resp {
    let username: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(user)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    let r = app
        .call(
            Method::POST,
            "/api/auth/login",
            Some(device_token),
            Some(serde_json::json!({"username": username, "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    r
}

/// Gives `user` a badge (`uid`) and a PIN through the API and logs them in
/// with both on the device of `device_token`, as a tap at its reader does.
pub async fn badge_in_on_device(
    app: &TestApp,
    admin_token: &str,
    device_token: &str,
    user: i64,
    uid: &str,
) -> Resp {
    const PIN: &str = "73946281";
    let r = app
        .post(
            &format!("/api/users/{user}/badges"),
            admin_token,
            serde_json::json!({"badge_uid": uid}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let r = app
        .put(
            &format!("/api/users/{user}/pin"),
            admin_token,
            serde_json::json!({"pin": PIN}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = app
        .call(
            Method::POST,
            "/api/auth/badge-login",
            Some(device_token),
            Some(serde_json::json!({"badge_uid": uid, "pin": PIN})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    r
}

/// Signs `user` in on an enrolled device the way its lock screen's password
/// fallback does: through the device's link, which sends the device token.
pub async fn sign_in_through_link(app: &TestApp, link: &tend_core::link::DeviceLink, user: i64) {
    let username: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(user)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    link.password_login(&tend_domain::wire::LoginRequest {
        username,
        password: tend_domain::wire::Secret::new(PASSWORD),
    })
    .await
    .expect("password login through the device link");
}
