//! Occupancy history benchmark (prints figures; results go to docs/benchmarks.md):
//! `GET /api/facilities/{id}/census-history` through the real API in this
//! process, on a fresh PostgreSQL database, over loopback HTTP, one request
//! at a time.
//!
//! The organization has `TEND_BENCH_FACILITIES` facilities (default 500),
//! each with a census change every 8 hours for a year (≈ 1,100 rows each,
//! ≈ 550,000 in all). A facility administrator asks for 30, 90 and 365 days
//! of its own facility (not audited); an organization administrator asks for
//! another facility's 90 days (an audited cross-facility read, so the request
//! commits an audit row).
//!
//! `TEND_TEST_PG_URL=… cargo bench -p tend-api --bench census_history`
//! (optional: `TEND_BENCH_FACILITIES`, `TEND_BENCH_REQUESTS`).

mod common;

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sqlx::PgPool;

const APP_ROLE: &str = "tend_bench_history";
const APP_PASSWORD: &str = "tend-bench-history-password";

/// A user of `facility` with `role` and a ready bearer token.
async fn user_token(owner: &PgPool, org: i64, facility: i64, role: &str) -> String {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (organization_id, facility_id, employee_id, username, full_name, role, password_hash) \
         VALUES ($1, $2, $3, $3, 'Bench Admin', $4, '!disabled') RETURNING id",
    )
    .bind(org)
    .bind(facility)
    .bind(format!("bench-{}", role.to_ascii_lowercase().replace('_', "")))
    .bind(role)
    .fetch_one(owner)
    .await
    .unwrap();
    let token = format!("tend_bench_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(
        "INSERT INTO auth_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, now() + interval '1 hour')",
    )
    .bind(Sha256::digest(token.as_bytes()).to_vec())
    .bind(id)
    .execute(owner)
    .await
    .unwrap();
    token
}

/// `requests` sequential GETs of `path`; prints p50/p95/p99/max.
async fn measure(client: &reqwest::Client, url: &str, token: &str, requests: usize, label: &str) {
    let mut times = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        let response = client.get(url).bearer_auth(token).send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let body = response.bytes().await.unwrap();
        times.push(started.elapsed());
        assert!(body.len() > 100);
    }
    times.sort();
    let at = |q: f64| {
        let i = ((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1;
        times[i].as_secs_f64() * 1000.0
    };
    println!(
        "{label:<46} p50 {:>6.2} ms  p95 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms  ({requests} requests)",
        at(0.50),
        at(0.95),
        at(0.99),
        times.last().copied().unwrap_or(Duration::ZERO).as_secs_f64() * 1000.0
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(bench());
}

async fn bench() {
    let server = common::BenchApi::start(APP_ROLE, APP_PASSWORD).await;
    let (base, owner) = (server.base.clone(), server.owner.clone());

    let facilities = common::env_number("TEND_BENCH_FACILITIES", 500);
    let started = Instant::now();
    let org: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, organization_type) VALUES ('Bench Senior Living', 'ALF_OPERATOR') RETURNING id",
    )
    .fetch_one(&owner)
    .await
    .unwrap();
    // Each insert records its first census through the trigger; a year of
    // changes every 8 hours goes in behind it.
    sqlx::query(
        "INSERT INTO facilities (organization_id, name, facility_type, licensed_beds, current_census, timezone) \
         SELECT $1, 'Bench ALF ' || g, 'ALF', 32, 20, 'America/Chicago' FROM generate_series(1, $2) AS g",
    )
    .bind(org)
    .bind(facilities)
    .execute(&owner)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO census_history (organization_id, facility_id, current_census, licensed_beds, recorded_at) \
         SELECT f.organization_id, f.id, 20 + ((g * 7 + f.id) % 12)::int, 32, now() - make_interval(hours => g * 8) \
         FROM facilities f, generate_series(1, 3 * 365) AS g WHERE f.organization_id = $1",
    )
    .bind(org)
    .execute(&owner)
    .await
    .unwrap();
    sqlx::query("ANALYZE").execute(&owner).await.unwrap();
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM facilities WHERE organization_id = $1 ORDER BY id")
            .bind(org)
            .fetch_all(&owner)
            .await
            .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM census_history")
        .fetch_one(&owner)
        .await
        .unwrap();
    println!(
        "seeded {} facilities, {rows} history rows in {:.1} s",
        ids.len(),
        started.elapsed().as_secs_f64()
    );
    let own = ids[ids.len() / 2];
    let other = ids[ids.len() / 3];
    let facility_admin = user_token(&owner, org, own, "FACILITY_ADMIN").await;
    let org_admin = user_token(&owner, org, own, "ORG_ADMIN").await;

    let client = reqwest::Client::new();
    let requests = usize::try_from(common::env_number("TEND_BENCH_REQUESTS", 300)).unwrap_or(300);
    let history = |facility: i64, days: u32| {
        format!("{base}/api/facilities/{facility}/census-history?days={days}")
    };
    // Warm the pool, the plans and the caches.
    measure(&client, &history(own, 90), &facility_admin, 50, "(warm-up)").await;
    for days in [30, 90, 365] {
        measure(
            &client,
            &history(own, days),
            &facility_admin,
            requests,
            &format!("facility admin, own facility, {days} days"),
        )
        .await;
    }
    measure(
        &client,
        &history(other, 90),
        &org_admin,
        requests,
        "org admin, another facility (audited), 90 days",
    )
    .await;
    measure(
        &client,
        &format!("{base}/api/facilities/{own}/dashboard"),
        &facility_admin,
        requests,
        "for comparison: the dashboard",
    )
    .await;

    server.finish().await;
}
