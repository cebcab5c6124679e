//! The serve layer: the client address behind proxies, TLS with a renewed
//! certificate, settings that must exit 2, slow clients, pool exhaustion,
//! metrics, request ids and compression.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tend_api::db::PoolSettings;
use tend_api::http::HttpSettings;
use tend_api::identity::limits::Rate;
use tend_api::identity::IdentityConfig;
use tend_domain::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{
    captured_logs, fresh_database, insert_patient, insert_user, spawn_app, spawn_app_custom, world,
    TestApp, PASSWORD,
};

fn pool(max_connections: u32, acquire_timeout: Duration) -> PoolSettings {
    PoolSettings {
        max_connections,
        acquire_timeout,
        statement_timeout: Some(Duration::from_secs(10)),
    }
}

fn trusting(cidrs: &[&str]) -> HttpSettings {
    HttpSettings {
        trusted_proxies: cidrs
            .iter()
            .map(|c| c.parse::<tend_api::net::TrustedProxy>().unwrap().0)
            .collect(),
        ..HttpSettings::default()
    }
}

/// The address on the user's latest login audit row.
async fn login_audit_address(app: &TestApp, user: i64) -> String {
    sqlx::query_scalar(
        "SELECT client_address FROM audit_events WHERE actor_user_id = $1 AND action = 'auth.login' \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(user)
    .fetch_one(&app.owner)
    .await
    .unwrap()
}

async fn login_via(app: &TestApp, username: &str, password: &str, forwarded: &str) -> StatusCode {
    app.client
        .post(format!("{}/api/auth/login", app.base))
        .header("x-forwarded-for", forwarded)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_forged_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (user, username) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Rn).await;
    assert_eq!(
        login_via(&app, &username, PASSWORD, "203.0.113.9").await,
        StatusCode::OK
    );
    assert_eq!(login_audit_address(&app, user).await, "127.0.0.1");
    assert_eq!(
        login_via(&app, &username, "wrong password", "203.0.113.9").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login_audit_address(&app, user).await, "127.0.0.1");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_audited_and_limited() {
    let app = spawn_app_custom(
        IdentityConfig {
            // One enrollment attempt per address, then nothing for hours.
            enroll_per_address: Rate {
                burst: 1.0,
                per_second: 0.0001,
            },
            ..IdentityConfig::default()
        },
        pool(4, Duration::from_secs(5)),
        trusting(&["127.0.0.0/8"]),
    )
    .await;
    let w = world(&app).await;
    let (user, username) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Rn).await;
    // The client forged the first entry; the proxy appended what it saw.
    assert_eq!(
        login_via(&app, &username, PASSWORD, "198.51.100.1, 203.0.113.9").await,
        StatusCode::OK
    );
    assert_eq!(login_audit_address(&app, user).await, "203.0.113.9");

    // Per-address limits key on the client behind the proxy, not the proxy.
    let enroll = |client: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(format!("{}/api/devices/enroll", app.base))
                .header("x-forwarded-for", client)
                .json(&json!({
                    "device_uuid": uuid::Uuid::new_v4().to_string(),
                    "device_type": "RASPBERRY_PI",
                    "device_name": "Hall Kiosk",
                    "public_key": "not a key",
                }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_ne!(enroll("203.0.113.20").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(enroll("203.0.113.20").await, StatusCode::TOO_MANY_REQUESTS);
    assert_ne!(enroll("203.0.113.21").await, StatusCode::TOO_MANY_REQUESTS);
}

/// A certificate authority made for one test.
struct TestCa {
    pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

fn test_ca(name: &str) -> TestCa {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    TestCa {
        pem: cert.pem(),
        issuer: rcgen::Issuer::new(params, key),
    }
}

/// A server certificate for 127.0.0.1 and localhost: (chain PEM, key PEM).
fn server_cert(ca: &TestCa) -> (String, String) {
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn https_client(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .tls_built_in_root_certs(false)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn tls_serves_readyz_and_a_renewed_certificate_takes_over_new_handshakes() {
    let (_owner, _owner_url, app_url) = fresh_database().await;
    let pool = tend_api::db::connect(&app_url.parse().unwrap(), 4)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("tend.pem"), dir.path().join("tend.key"));
    let first_ca = test_ca("Tend test CA 1");
    let (cert, key) = server_cert(&first_ca);
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    let tls = Arc::new(tend_api::serve::TlsFiles::load(&cert_path, &key_path).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = tend_api::app(pool, Duration::from_secs(3600));
    let server = tokio::spawn(tend_api::serve_tls(
        listener,
        app,
        tls.clone(),
        std::future::pending(),
    ));
    let readyz = format!("https://127.0.0.1:{port}/readyz");

    let open = https_client(&first_ca.pem);
    let r = open.get(&readyz).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
    // Plain HTTP gets no answer from the TLS port.
    assert!(reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .is_err());

    // The certificate is renewed on disk (here by a new CA, to tell them apart).
    let second_ca = test_ca("Tend test CA 2");
    let (cert, key) = server_cert(&second_ca);
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    tls.reload().unwrap();
    // The open connection carries on with its handshake.
    assert_eq!(
        open.get(&readyz).send().await.unwrap().status(),
        StatusCode::OK
    );
    // New handshakes present the new certificate.
    assert_eq!(
        https_client(&second_ca.pem)
            .get(&readyz)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert!(https_client(&first_ca.pem)
        .get(&readyz)
        .send()
        .await
        .is_err());

    // A broken renewal is refused, naming the file; the current certificate stays.
    std::fs::write(&key_path, "not a key").unwrap();
    let err = tls.reload().unwrap_err().to_string();
    assert!(
        err.contains("tend.key") && err.contains("--tls-key"),
        "{err}"
    );
    assert_eq!(
        https_client(&second_ca.pem)
            .get(&readyz)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    server.abort();
}

fn serve_bin(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tend-api"))
        .arg("serve")
        .args(args)
        .env_remove("TEND_TLS_CERT")
        .env_remove("TEND_TLS_KEY")
        .env_remove("TEND_ALLOW_PLAIN_HTTP")
        .env_remove("TEND_BIND")
        // Never reached: settings are checked before the database is.
        .env(
            "TEND_DATABASE_URL",
            "postgres://nobody:nothing@127.0.0.1:1/none",
        )
        .env("TEND_DB_ACQUIRE_TIMEOUT_MS", "500")
        .env("TEND_LOG", "off")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn serve_refuses_unusable_certificates_and_public_plain_http_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let out = serve_bin(&[
        "--bind",
        "127.0.0.1:0",
        "--tls-cert",
        missing.to_str().unwrap(),
        "--tls-key",
        missing.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("missing.pem") && stderr.contains("--tls-cert"),
        "{stderr}"
    );

    // A readable certificate with a key file that holds no key.
    let (cert, _) = server_cert(&test_ca("Tend test CA"));
    let cert_path = dir.path().join("tend.pem");
    let key_path = dir.path().join("tend.key");
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::File::create(&key_path)
        .unwrap()
        .write_all(b"-----BEGIN NOTHING-----\n")
        .unwrap();
    let out = serve_bin(&[
        "--bind",
        "127.0.0.1:0",
        "--tls-cert",
        cert_path.to_str().unwrap(),
        "--tls-key",
        key_path.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("tend.key") && stderr.contains("--tls-key"),
        "{stderr}"
    );

    // Plain HTTP on every interface needs the explicit flag.
    let out = serve_bin(&["--bind", "0.0.0.0:0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--tls-cert") && stderr.contains("--allow-plain-http"),
        "{stderr}"
    );
    // With it, serve goes on (and fails later, on the unreachable database).
    let out = serve_bin(&["--bind", "0.0.0.0:0", "--allow-plain-http"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("connecting to the database"), "{stderr}");
}

/// Sends a request head announcing a body, then one byte per second; returns
/// what the server answered (bounded: at most a minute).
async fn slow_body(addr: String, token: String) -> String {
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/patients HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    for _ in 0..60 {
        let _ = stream.write_all(b" ").await;
        let mut buf = [0u8; 2048];
        match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn sixteen_slow_bodies_hold_no_database_connection_and_time_out() {
    let app = spawn_app_custom(
        IdentityConfig::default(),
        // Fewer connections than slow clients: if a slow body held one, the
        // other requests would find none.
        pool(4, Duration::from_secs(2)),
        HttpSettings {
            body_read_timeout: Duration::from_secs(4),
            ..HttpSettings::default()
        },
    )
    .await;
    let w = world(&app).await;
    let token = w.token(Role::Rn).to_owned();
    let addr = app.base.trim_start_matches("http://").to_owned();
    let slow: Vec<_> = (0..16)
        .map(|_| tokio::spawn(slow_body(addr.clone(), token.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Meanwhile every other request is answered: reads, writes with a body.
    for i in 0..8 {
        let me = app.get("/api/auth/me", &token).await;
        assert_eq!(me.status, StatusCode::OK, "{me:?}");
        let created = app
            .post(
                "/api/patients",
                &token,
                json!({"mrn": format!("SLOW-{i}"), "first_name": "Ada", "last_name": "Byron",
                       "date_of_birth": "1940-02-03"}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    }
    for client in slow {
        let answer = client.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
}

#[tokio::test]
async fn an_exhausted_pool_answers_503_with_retry_after() {
    let app = spawn_app_custom(
        IdentityConfig::default(),
        pool(2, Duration::from_millis(300)),
        HttpSettings::default(),
    )
    .await;
    let w = world(&app).await;
    let token = w.token(Role::Rn).to_owned();
    // Take every connection the server could use (its revocation listener
    // keeps one of the two for itself).
    let mut held = Vec::new();
    while let Ok(conn) = app.app_pool.acquire().await {
        held.push(conn);
        assert!(held.len() <= 2);
    }
    let r = app
        .client
        .get(format!("{}/api/auth/me", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "2");
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "UNAVAILABLE"
    );
    drop(held);
    assert_eq!(app.get("/api/auth/me", &token).await.status, StatusCode::OK);
}

/// Series → value, from the Prometheus text format.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// The sum over series of `name` carrying every `label="value"` in `labels`.
fn total(samples: &HashMap<String, f64>, name: &str, labels: &[&str]) -> f64 {
    samples
        .iter()
        .filter(|(series, _)| {
            let (n, rest) = series.split_once('{').unwrap_or((series.as_str(), ""));
            n == name && labels.iter().all(|l| rest.contains(l))
        })
        .map(|(_, v)| v)
        .sum()
}

#[tokio::test]
async fn metrics_count_a_known_sequence_and_promtool_accepts_them() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let metrics_server = tokio::spawn(tend_api::serve(
        listener,
        tend_api::metrics::router(app.app_pool.clone()),
        std::future::pending(),
    ));
    let scrape = || async {
        let r = app.client.get(&metrics_url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        r.text().await.unwrap()
    };
    let before = samples(&scrape().await);

    let (_, username) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Rn).await;
    let patient = insert_patient(&app.owner, w.a1.org, w.a1.facility, "active").await;
    for _ in 0..3 {
        assert_eq!(
            app.client
                .get(format!("{}/healthz", app.base))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        login_via(&app, &username, "wrong password", "-").await,
        StatusCode::UNAUTHORIZED
    );
    let token = w.token(Role::Rn);
    assert_eq!(
        app.get(&format!("/api/patients/{patient}"), token)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/no-such-thing", token).await.status,
        StatusCode::NOT_FOUND
    );

    let text = scrape().await;
    let after = samples(&text);
    let moved =
        |name: &str, labels: &[&str]| total(&after, name, labels) - total(&before, name, labels);
    // Other tests may share this process: at least what this one did.
    assert!(
        moved(
            "tend_http_requests_total",
            &["method=\"GET\"", "route=\"/healthz\"", "status=\"200\""]
        ) >= 3.0,
        "{text}"
    );
    assert!(
        moved(
            "tend_http_requests_total",
            &["route=\"/api/patients/{id}\"", "status=\"200\""]
        ) >= 1.0,
        "{text}"
    );
    assert!(
        moved(
            "tend_http_requests_total",
            &["route=\"unmatched\"", "status=\"404\""]
        ) >= 1.0,
        "{text}"
    );
    assert!(
        moved(
            "tend_http_request_duration_seconds_count",
            &["route=\"/healthz\""]
        ) >= 3.0
    );
    assert!(moved("tend_login_failures_total", &["kind=\"password\""]) >= 1.0);
    // The refused login's audit row.
    assert!(moved("tend_audit_rows_total", &[]) >= 1.0);
    assert!(total(&after, "tend_db_pool_max_connections", &[]) >= 1.0);
    assert!(after
        .keys()
        .any(|k| k.starts_with("tend_db_pool_connections{")));
    // Route templates only: no id, no raw path.
    assert!(
        !text.contains(&format!("/api/patients/{patient}")),
        "{text}"
    );
    assert!(!text.contains("no-such-thing"), "{text}");

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; scripts/install-deps.sh installs it)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    metrics_server.abort();
}

#[tokio::test]
async fn every_answer_carries_a_request_id_that_its_log_lines_name() {
    let logs = captured_logs();
    let app = spawn_app().await;
    let r = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    let made = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    // A plain id from the client (a proxy's) is kept; anything else is replaced.
    let r = app
        .client
        .post(format!("{}/api/auth/login", app.base))
        .header("x-request-id", "edge-4711.a")
        .json(&json!({"username": "nobody.at.all", "password": "whatever it is"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["x-request-id"], "edge-4711.a");
    let long = "x".repeat(200);
    let r = app
        .client
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", &long)
        .send()
        .await
        .unwrap();
    let replaced = r.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(replaced).is_ok(), "{replaced}");
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        text.lines()
            .any(|l| l.contains("edge-4711.a") && l.contains("login refused")),
        "{text}"
    );
    assert!(!text.contains(&long));
}

#[tokio::test]
async fn answers_are_compressed_when_the_client_accepts_it() {
    let app = spawn_app().await;
    let plain = reqwest::Client::builder()
        .no_gzip()
        .no_zstd()
        .build()
        .unwrap();
    let url = format!("{}/api/openapi.json", app.base);
    let identity = plain.get(&url).send().await.unwrap().bytes().await.unwrap();
    for encoding in ["zstd", "gzip"] {
        let r = plain
            .get(&url)
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-encoding"], encoding);
        let wire = r.bytes().await.unwrap();
        assert!(
            wire.len() * 3 < identity.len(),
            "{encoding}: {} of {} bytes",
            wire.len(),
            identity.len()
        );
    }
    // The device's client (reqwest with gzip and zstd) asks and decompresses.
    let doc: Value = app
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"].is_object());
}
