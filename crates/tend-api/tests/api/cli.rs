//! The binary: migrate (with the API login role), create-admin (password on
//! stdin, never a flag), seed-demo (idempotent, demo badges included), serve
//! (+ readyz).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::{admin_url, device_token_for, insert_device, with_database, with_user};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tend-api"));
    c.env_remove("TEND_DATABASE_URL")
        .env_remove("TEND_MIGRATE_DATABASE_URL")
        .env("TEND_LOG", "warn");
    c
}

#[tokio::test]
async fn migrate_create_admin_seed_demo_and_serve() {
    let admin = admin_url();
    let name = format!("tend_cli_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .unwrap();
    let owner_url = with_database(&admin, &name);

    let out = bin()
        .args(["migrate", "--app-user", "tend_api_cli"])
        .env("TEND_MIGRATE_DATABASE_URL", &owner_url)
        .env("TEND_APP_PASSWORD", "cli-app-password")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Migrating twice is a no-op.
    let out = bin()
        .arg("migrate")
        .env("TEND_MIGRATE_DATABASE_URL", &owner_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut child = bin()
        .args([
            "create-admin",
            "--username",
            "root.admin",
            "--full-name",
            "Root Admin",
        ])
        .env("TEND_MIGRATE_DATABASE_URL", &owner_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a very secret password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!printed.contains("a very secret password"));

    for run in 0..2 {
        let out = bin()
            .arg("seed-demo")
            .env("TEND_MIGRATE_DATABASE_URL", &owner_url)
            .env("TEND_DEMO_PASSWORD", "demo password 123")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let owner = sqlx::PgPool::connect(&owner_url).await.unwrap();
    let count = |sql: &'static str| {
        let owner = owner.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&owner)
                .await
                .unwrap()
        }
    };
    assert!(count("SELECT count(*) FROM organizations WHERE npi IS NOT NULL").await >= 3);
    assert_eq!(
        count("SELECT count(DISTINCT facility_type) FROM facilities").await,
        5
    );
    assert!(
        count("SELECT count(*) FROM facilities WHERE settings->>'platform' IS NULL").await >= 6
    );
    assert!(count("SELECT count(*) FROM patients").await >= 300);
    assert_eq!(count("SELECT count(DISTINCT role) FROM users").await, 9);
    assert!(count("SELECT count(*) FROM devices").await >= 3);
    assert_eq!(
        count("SELECT count(*) FROM facilities WHERE facility_type = 'MEMORY_CARE' AND features @> '{\"behavior_tracking\": true, \"wandering_alerts\": true, \"family_portal\": true}'").await,
        1
    );
    assert_eq!(count("SELECT count(*) FROM facilities WHERE facility_type = 'HOME_HEALTH' AND licensed_beds IS NULL AND settings->>'platform' IS NULL").await, 1);
    assert_eq!(
        count(
            "SELECT count(*) FROM users WHERE role = 'PLATFORM_ADMIN' AND username = 'root.admin'"
        )
        .await,
        1
    );
    // Census agrees with the patients present.
    assert_eq!(
        count("SELECT count(*) FROM facilities f WHERE f.settings->>'platform' IS NULL AND f.current_census <> \
               (SELECT count(*) FROM patients p WHERE p.facility_id = f.id AND p.status IN ('active', 'on_leave'))").await,
        0
    );

    // The demo badges, once each however often the seed runs, with their PINs.
    assert_eq!(
        count("SELECT count(*) FROM badges WHERE label = 'Demo badge' AND revoked_at IS NULL")
            .await,
        tend_api::seed::DEMO_BADGES.len() as i64
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM users u JOIN facilities f ON f.id = u.facility_id \
               WHERE f.name = 'Sunrise ALF - North Campus' AND u.pin_hash IS NOT NULL"
        )
        .await,
        tend_api::seed::DEMO_BADGES.len() as i64
    );
    let (org, facility): (i64, i64) =
        sqlx::query_as("SELECT organization_id, facility_id FROM users WHERE username = $1")
            .bind(tend_api::seed::DEMO_BADGES[0].username)
            .fetch_one(&owner)
            .await
            .unwrap();
    let device = insert_device(&owner, org, facility).await;
    let device_token = device_token_for(&owner, device).await;

    // serve refuses the owner's URL, then serves as the app role.
    let out = bin()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("TEND_DATABASE_URL", &owner_url)
        .output()
        .unwrap();
    assert!(!out.status.success(), "serve accepted a privileged role");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("must not be a superuser"), "{stderr}");
    assert!(
        !stderr.contains(admin.split('@').next().unwrap().rsplit(':').next().unwrap()),
        "password in log: {stderr}"
    );

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let app_url = with_user(&owner_url, "tend_api_cli", "cli-app-password");
    let mut server = bin()
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("TEND_DATABASE_URL", &app_url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            ready = r.status().is_success();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let login = client
        .post(format!("http://127.0.0.1:{port}/api/auth/login"))
        .json(&serde_json::json!({"username": "memorylane-secure.rn1", "password": "demo password 123"}))
        .send()
        .await;
    // Each demo badge signs its user in on a device of the facility (the badge
    // hashed with the organization's key, like any badge).
    let mut badge_logins = Vec::new();
    for demo in tend_api::seed::DEMO_BADGES {
        let answer = client
            .post(format!("http://127.0.0.1:{port}/api/auth/badge-login"))
            .bearer_auth(&device_token)
            .json(&serde_json::json!({"badge_uid": demo.uid, "pin": demo.pin}))
            .send()
            .await;
        badge_logins.push((demo.username, answer));
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(ready, "server did not become ready");
    let login = login.unwrap();
    assert_eq!(login.status(), reqwest::StatusCode::OK);
    for (username, answer) in badge_logins {
        let answer = answer.unwrap();
        assert_eq!(answer.status(), reqwest::StatusCode::OK, "{username}");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["user"]["username"], username);
    }
}
