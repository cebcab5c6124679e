//! The tamper-evident audit log: concurrent writers through two API
//! instances leave intact chains; tampering as the database owner (triggers
//! disabled) is named by `tend-api audit verify` and the console's "verify
//! now"; checkpoints are signed once however many instances sign; the
//! auditor's exports (CSV, FHIR) filter and stay in scope.

use std::process::Command;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tend_domain::Role;

use crate::helpers::{
    admin_url, insert_facility, insert_org, spawn_app, spawn_app_with, with_database, TestApp,
};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tend-api"));
    c.env_remove("TEND_DATABASE_URL")
        .env_remove("TEND_MIGRATE_DATABASE_URL")
        .env_remove("TEND_AUDIT_PUBLIC_KEY")
        .env("TEND_LOG", "warn");
    c
}

async fn owner_url(owner: &PgPool) -> String {
    let db: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(owner)
        .await
        .unwrap();
    with_database(&admin_url(), &db)
}

/// `tend-api audit verify` with `args`: (exit code, stdout, stderr).
async fn verify(owner: &PgPool, args: &[&str]) -> (i32, String, String) {
    let url = owner_url(owner).await;
    let out = bin()
        .args(["audit", "verify"])
        .args(args)
        .env("TEND_MIGRATE_DATABASE_URL", url)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Appends `n` events to organization `org`'s chain as the owner (the
/// trigger chains them like the API's).
async fn append(owner: &PgPool, org: i64, facility: i64, n: i64) {
    sqlx::query(
        "INSERT INTO audit_events (organization_id, facility_id, action, resource_type, resource_id, outcome, reason) \
         SELECT $1, $2, 'patient.read', 'patient', g, 'success', 'shift ' || g FROM generate_series(1, $3) g",
    )
    .bind(org)
    .bind(facility)
    .bind(n)
    .execute(owner)
    .await
    .unwrap();
}

async fn event_at(owner: &PgPool, org: i64, seq: i64) -> i64 {
    sqlx::query_scalar("SELECT id FROM audit_events WHERE chain_key = $1 AND chain_seq = $2")
        .bind(org)
        .bind(seq)
        .fetch_one(owner)
        .await
        .unwrap()
}

async fn checkpoint(app: &TestApp) -> usize {
    let signer = tend_api::identity::orders::OrderSigner::default();
    tend_api::audit_chain::checkpoint_round(&app.app_pool, &signer)
        .await
        .unwrap()
}

/// Runs `sql` as the owner with the append-only triggers off, as someone
/// covering their tracks would.
async fn tamper(owner: &PgPool, sql: &str) {
    let mut tx = owner.begin().await.unwrap();
    for t in [
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update",
        sql,
        "ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update",
    ] {
        sqlx::raw_sql(t).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn concurrent_writers_on_two_instances_leave_intact_chains() {
    let app = spawn_app().await;
    let w = crate::helpers::world(&app).await;
    let (second, _server) = app.second_instance().await;
    let mut tasks = Vec::new();
    for (i, role) in [
        Role::FacilityAdmin,
        Role::OrgAdmin,
        Role::PlatformAdmin,
        Role::Rn,
    ]
    .into_iter()
    .enumerate()
    {
        let token = w.token(role).to_owned();
        let base = if i % 2 == 0 {
            app.base.clone()
        } else {
            second.clone()
        };
        let client = app.client.clone();
        let (a1, a2) = (w.a1, w.a2);
        tasks.push(tokio::spawn(async move {
            for n in 0..15 {
                // A write (admins), a cross-facility read, a refusal (RN).
                let census = client
                    .put(format!("{base}/api/facilities/{}/census", a1.facility))
                    .bearer_auth(&token)
                    .json(&json!({"current_census": n % 5}))
                    .send()
                    .await
                    .unwrap();
                assert!(
                    census.status().is_success() || census.status() == StatusCode::FORBIDDEN,
                    "{}",
                    census.status()
                );
                let _ = client
                    .get(format!("{base}/api/patients/{}", a2.patient))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Every chain is gapless from 1, in commit order.
    let gaps: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT chain_key, count(*) n, max(chain_seq) m, min(chain_seq) l \
         FROM audit_events GROUP BY chain_key) c WHERE n <> m OR l <> 1",
    )
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(gaps, 0);
    let in_a: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE organization_id = $1")
            .bind(w.a1.org)
            .fetch_one(&app.owner)
            .await
            .unwrap();
    assert!(in_a >= 60, "only {in_a} events in organization A");
    assert!(checkpoint(&app).await >= 1);

    let (code, out, err) = verify(&app.owner, &[]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("organization {}: intact", w.a1.org)),
        "{out}"
    );
    assert!(
        out.contains("audit verify: ") && out.contains(": intact"),
        "{out}"
    );
    // Each run is recorded per chain.
    let recorded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_verifications WHERE intact AND run_by_user_id IS NULL AND chain_key = $1",
    )
    .bind(w.a1.org)
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(recorded, 1);

    // The console shows it; an admin of the organization sees its chain only.
    let status = app
        .get("/api/audit-chain", w.token(Role::FacilityAdmin))
        .await;
    assert_eq!(status.status, StatusCode::OK, "{status:?}");
    let items = status.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{status:?}");
    assert_eq!(items[0]["organization_id"], w.a1.org);
    assert_eq!(items[0]["intact"], true);
    assert!(items[0]["events_checked"].as_i64().unwrap() >= in_a);
    let nurse = app.get("/api/audit-chain", w.token(Role::Rn)).await;
    assert_eq!(nurse.status, StatusCode::FORBIDDEN);
    assert_eq!(nurse.code(), "FORBIDDEN");
}

#[tokio::test]
async fn tampering_as_the_owner_is_named_by_audit_verify() {
    let app = spawn_app().await;
    let o = &app.owner;
    let mut orgs = Vec::new();
    for name in [
        "Edited",
        "Deleted",
        "CutOff",
        "Swapped",
        "Forged",
        "Rewritten",
        "Untouched",
    ] {
        let org = insert_org(o, name, false).await;
        let facility = insert_facility(o, org, &format!("{name} House"), Some(40)).await;
        append(o, org, facility, 20).await;
        orgs.push(org);
    }
    assert_eq!(checkpoint(&app).await, orgs.len());
    // A later event, after the checkpoint.
    for &org in &orgs {
        let facility: i64 =
            sqlx::query_scalar("SELECT id FROM facilities WHERE organization_id = $1")
                .bind(org)
                .fetch_one(o)
                .await
                .unwrap();
        append(o, org, facility, 2).await;
    }
    let (code, out, err) = verify(o, &[]).await;
    assert_eq!(code, 0, "before tampering: {out}{err}");

    let [edited, deleted, cut, swapped, forged, rewritten, untouched] = orgs[..] else {
        unreachable!()
    };
    // An edited reason.
    let edited_event = event_at(o, edited, 5).await;
    tamper(
        o,
        &format!("UPDATE audit_events SET reason = 'nothing happened' WHERE id = {edited_event}"),
    )
    .await;
    // One event deleted from the middle.
    let deleted_event = event_at(o, deleted, 7).await;
    tamper(
        o,
        &format!("DELETE FROM audit_events WHERE id = {deleted_event}"),
    )
    .await;
    // The tail deleted past the checkpoint (seq 20), the head moved back to match.
    tamper(
        o,
        &format!(
            "DELETE FROM audit_events WHERE chain_key = {cut} AND chain_seq >= 18; \
             UPDATE audit_chain_heads SET seq = 17, \
               hash = (SELECT hash FROM audit_events WHERE chain_key = {cut} AND chain_seq = 17) \
             WHERE chain_key = {cut}"
        ),
    )
    .await;
    // Two events' content exchanged (each keeps its id, place and hash).
    let (s3, s9) = (event_at(o, swapped, 3).await, event_at(o, swapped, 9).await);
    tamper(
        o,
        &format!(
            "UPDATE audit_events a SET resource_id = b.resource_id, reason = b.reason, at = b.at \
             FROM audit_events b WHERE (a.id, b.id) IN (({s3}, {s9}), ({s9}, {s3}))"
        ),
    )
    .await;
    // A checkpoint nobody signed.
    sqlx::query(
        "INSERT INTO audit_checkpoints (chain_key, organization_id, seq, hash, signed_at, key_id, signature) \
         SELECT chain_key, organization_id, 21, hash, now(), (SELECT key_id FROM server_signing_key), \
                decode(repeat('ab', 64), 'hex') \
         FROM audit_events WHERE chain_key = $1 AND chain_seq = 21",
    )
    .bind(forged)
    .execute(o)
    .await
    .unwrap();
    // Rewritten from seq 4 on with every hash recomputed: only the
    // checkpoint at seq 20 can tell.
    tamper(
        o,
        &format!(
            "UPDATE audit_events SET reason = 'rewritten' WHERE chain_key = {rewritten} AND chain_seq = 4; \
             DO $$ DECLARE r audit_events; prev bytea; BEGIN \
               SELECT hash INTO prev FROM audit_events WHERE chain_key = {rewritten} AND chain_seq = 3; \
               FOR r IN SELECT * FROM audit_events WHERE chain_key = {rewritten} AND chain_seq >= 4 ORDER BY chain_seq LOOP \
                 UPDATE audit_events SET prev_hash = prev, hash = tend_audit_hash(r, r.chain_key, r.chain_seq, prev) \
                 WHERE id = r.id RETURNING hash INTO prev; \
               END LOOP; \
               UPDATE audit_chain_heads SET hash = prev WHERE chain_key = {rewritten}; END $$"
        ),
    )
    .await;

    let (code, out, err) = verify(o, &[]).await;
    assert_eq!(code, 3, "{out}{err}");
    let line = |org: i64| {
        out.lines()
            .find(|l| l.starts_with(&format!("organization {org}:")))
            .unwrap_or_else(|| panic!("no line for organization {org}: {out}"))
            .to_owned()
    };
    assert!(
        line(edited).contains(&format!(
            "BROKEN at event {edited_event} (seq 5): the event's content"
        )),
        "{}",
        line(edited)
    );
    assert!(
        line(deleted).contains("BROKEN at a missing event (seq 7): events are missing"),
        "{}",
        line(deleted)
    );
    assert!(
        line(cut).contains("BROKEN at a missing event (seq 18)") && line(cut).contains("cut off"),
        "{}",
        line(cut)
    );
    assert!(
        line(swapped).contains(&format!("BROKEN at event {s3} (seq 3)")),
        "{}",
        line(swapped)
    );
    assert!(
        line(forged).contains("(seq 21)")
            && line(forged).contains("not signed by the server's key"),
        "{}",
        line(forged)
    );
    assert!(
        line(rewritten).contains("(seq 20)") && line(rewritten).contains("rewritten"),
        "{}",
        line(rewritten)
    );
    assert!(line(untouched).contains("intact"), "{}", line(untouched));
    assert!(err.contains("audit chain broken"), "{err}");

    // One organization only: exit 3 for a broken one, 0 for an intact one.
    let (code, out, _) = verify(o, &["--organization", &edited.to_string()]).await;
    assert_eq!(code, 3, "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("organization"))
            .count(),
        1
    );
    let (code, out, _) = verify(o, &["--organization", &untouched.to_string()]).await;
    assert_eq!(code, 0, "{out}");
    // A key pinned outside the database that did not sign the checkpoints.
    let other = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    let (code, out, _) = verify(
        o,
        &[
            "--organization",
            &untouched.to_string(),
            "--public-key",
            other,
        ],
    )
    .await;
    assert_eq!(code, 3, "{out}");
    let (code, _, err) = verify(o, &["--public-key", "not base64!"]).await;
    assert_eq!(code, 2, "{err}");

    // The console records the latest verdict per chain.
    let (recorded_seq, recorded_event, intact): (Option<i64>, Option<i64>, bool) = sqlx::query_as(
        "SELECT broken_seq, broken_event_id, intact FROM audit_verifications WHERE chain_key = $1 \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(edited)
    .fetch_one(o)
    .await
    .unwrap();
    assert_eq!(
        (recorded_seq, recorded_event, intact),
        (Some(5), Some(edited_event), false)
    );
}

#[tokio::test]
async fn verify_now_in_the_console_names_the_broken_event() {
    let app = spawn_app().await;
    let w = crate::helpers::world(&app).await;
    let org_admin = w.token(Role::OrgAdmin);
    // Events in organization A through the API: a census change.
    let census = app
        .put(
            &format!("/api/facilities/{}/census", w.a1.facility),
            org_admin,
            json!({"current_census": 3}),
        )
        .await;
    assert_eq!(census.status, StatusCode::OK, "{census:?}");
    let run = app
        .call(
            Method::POST,
            "/api/audit-chain/verify",
            Some(org_admin),
            None,
        )
        .await;
    assert_eq!(run.status, StatusCode::OK, "{run:?}");
    let items = run.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{run:?}");
    assert_eq!(items[0]["organization_id"], w.a1.org);
    assert_eq!(items[0]["intact"], true);
    assert_eq!(items[0]["run_by_user_id"], w.user(Role::OrgAdmin));

    let first: i64 =
        sqlx::query_scalar("SELECT id FROM audit_events WHERE chain_key = $1 AND chain_seq = 1")
            .bind(w.a1.org)
            .fetch_one(&app.owner)
            .await
            .unwrap();
    tamper(
        &app.owner,
        &format!("UPDATE audit_events SET outcome = 'denied' WHERE id = {first}"),
    )
    .await;
    let run = app
        .call(
            Method::POST,
            "/api/audit-chain/verify",
            Some(org_admin),
            None,
        )
        .await;
    assert_eq!(run.status, StatusCode::OK, "{run:?}");
    assert_eq!(run.body["items"][0]["intact"], false);
    assert_eq!(run.body["items"][0]["broken_event_id"], first);
    assert_eq!(run.body["items"][0]["broken_seq"], 1);
    // Organization B's chain is not organization A's business.
    assert!(!run
        .body
        .to_string()
        .contains(&format!("\"organization_id\":{}", w.b1.org)));
    let verified: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'audit_chain.verify' AND actor_user_id = $1",
    )
    .bind(w.user(Role::OrgAdmin))
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(verified, 2, "each run is audited");

    // A platform admin verifies every chain; a facility admin may only look.
    let all = app
        .call(
            Method::POST,
            "/api/audit-chain/verify",
            Some(w.token(Role::PlatformAdmin)),
            None,
        )
        .await;
    assert_eq!(all.status, StatusCode::OK, "{all:?}");
    let chains = all.body["items"].as_array().unwrap();
    assert!(chains.len() >= 3, "{all:?}");
    assert!(chains.iter().any(|c| c["organization_id"].is_null()));
    assert!(chains
        .iter()
        .any(|c| c["organization_id"] == w.b1.org && c["intact"] == true));
    for role in [Role::FacilityAdmin, Role::Rn] {
        let refused = app
            .call(
                Method::POST,
                "/api/audit-chain/verify",
                Some(w.token(role)),
                None,
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{role}");
        assert_eq!(refused.code(), "FORBIDDEN");
    }
    let look = app
        .get("/api/audit-chain", w.token(Role::FacilityAdmin))
        .await;
    assert_eq!(look.body["items"][0]["intact"], false, "{look:?}");
}

#[tokio::test]
async fn checkpoints_are_signed_once_by_concurrent_instances_and_by_serve() {
    let app = spawn_app_with(tend_api::identity::IdentityConfig {
        audit_checkpoint_every: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let o = &app.owner;
    let org = insert_org(o, "Busy", false).await;
    let facility = insert_facility(o, org, "Busy House", Some(10)).await;
    append(o, org, facility, 5).await;
    // The serving instance's own task signs within a few intervals.
    let mut signed = 0_i64;
    for _ in 0..50 {
        signed = sqlx::query_scalar("SELECT count(*) FROM audit_checkpoints WHERE chain_key = $1")
            .bind(org)
            .fetch_one(o)
            .await
            .unwrap();
        if signed > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(signed, 1);
    // Three more "instances" at once, each with its own signer: one
    // checkpoint per moved chain, none twice.
    append(o, org, facility, 3).await;
    let rounds = (0..3).map(|_| {
        let pool = app.app_pool.clone();
        tokio::spawn(async move {
            let signer = tend_api::identity::orders::OrderSigner::default();
            tend_api::audit_chain::checkpoint_round(&pool, &signer)
                .await
                .unwrap()
        })
    });
    for r in rounds {
        r.await.unwrap();
    }
    // Let serve's task run too, then count.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let per_seq: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT seq, count(*) FROM audit_checkpoints WHERE chain_key = $1 GROUP BY seq ORDER BY seq",
    )
    .bind(org)
    .fetch_all(o)
    .await
    .unwrap();
    assert_eq!(per_seq, vec![(5, 1), (8, 1)]);
    let (code, out, err) = verify(o, &["--organization", &org.to_string()]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("8 events, 2 checkpoints"), "{out}");
    // Checkpoints are append-only too.
    let refused = sqlx::query("DELETE FROM audit_checkpoints WHERE chain_key = $1")
        .bind(org)
        .execute(o)
        .await;
    assert!(refused.is_err());
}

fn csv_rows(body: &Value) -> Vec<Vec<String>> {
    let text = body.as_str().expect("CSV text");
    text.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn exports_filter_by_resident_person_facility_and_time_within_scope() {
    let app = spawn_app().await;
    let w = crate::helpers::world(&app).await;
    let o = &app.owner;
    let nurse = w.user(Role::Rn);
    // Known events: reads of each site's resident by the nurse, and one
    // with a comma and quotes in its reason.
    for site in [w.a1, w.a2, w.b1] {
        sqlx::query(
            "INSERT INTO audit_events (at, actor_user_id, organization_id, facility_id, action, resource_type, \
             resource_id, outcome, reason) VALUES \
             ('2026-01-10T08:00:00Z', $1, $2, $3, 'patient.read', 'patient', $4, 'success', 'round, \"AM\"'), \
             ('2026-02-10T08:00:00Z', NULL, $2, $3, 'patient.update', 'patient', $4, 'success', NULL)",
        )
        .bind(nurse)
        .bind(site.org)
        .bind(site.facility)
        .bind(site.patient)
        .execute(o)
        .await
        .unwrap();
    }
    let fa = w.token(Role::FacilityAdmin);
    let oa = w.token(Role::OrgAdmin);

    // CSV: a header row, proper quoting, only the facility admin's facility.
    let res = app
        .client
        .get(format!("{}/api/audit-events/export/csv", app.base))
        .bearer_auth(fa)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = res.text().await.unwrap();
    assert!(
        text.starts_with("id,recorded_at,organization_id,facility_id,"),
        "{text}"
    );
    assert!(text.contains(",\"round, \"\"AM\"\"\","), "{text}");
    let rows = csv_rows(&Value::String(text.clone()));
    assert!(rows.len() > 2);
    for row in &rows[1..] {
        assert_eq!(row[3], w.a1.facility.to_string(), "{text}");
    }

    // By resident, for the organization admin: both events of that resident.
    let resp = app
        .get(
            &format!("/api/audit-events/export/csv?patient_id={}", w.a2.patient),
            oa,
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    let rows = csv_rows(&resp.body);
    let about: Vec<_> = rows[1..]
        .iter()
        .map(|r| (r[8].clone(), r[10].clone()))
        .collect();
    assert_eq!(
        about,
        vec![
            ("patient.read".to_owned(), w.a2.patient.to_string()),
            ("patient.update".to_owned(), w.a2.patient.to_string())
        ]
    );
    // By person and time: the nurse's January reads in organization A only.
    let resp = app
        .get(
            &format!(
                "/api/audit-events/export/csv?user_id={nurse}&since=2026-01-01T00:00:00Z&until=2026-02-01T00:00:00Z"
            ),
            oa,
        )
        .await;
    let rows = csv_rows(&resp.body);
    let facilities: Vec<_> = rows[1..].iter().map(|r| r[3].clone()).collect();
    assert_eq!(
        facilities,
        vec![w.a1.facility.to_string(), w.a2.facility.to_string()],
        "{resp:?}"
    );

    // FHIR: a collection Bundle of AuditEvents, about that resident.
    let res = app
        .client
        .get(format!(
            "{}/api/audit-events/export/fhir?patient_id={}&facility_id={}",
            app.base, w.a1.patient, w.a1.facility
        ))
        .bearer_auth(oa)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/fhir+json");
    let bundle: Value = res.json().await.unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    let entries = bundle["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{bundle}");
    let first = &entries[0]["resource"];
    assert_eq!(first["resourceType"], "AuditEvent");
    assert_eq!(first["action"], "R");
    assert_eq!(first["recorded"], "2026-01-10T08:00:00.000000Z");
    assert_eq!(
        first["entity"][0]["what"]["reference"],
        format!("Patient/{}", w.a1.patient)
    );
    assert_eq!(
        first["agent"][0]["who"]["identifier"]["value"],
        nurse.to_string()
    );
    assert_eq!(entries[1]["resource"]["action"], "U");

    // Limits and continuation.
    let res = app
        .client
        .get(format!("{}/api/audit-events/export/csv?limit=1", app.base))
        .bearer_auth(oa)
        .send()
        .await
        .unwrap();
    let next = res.headers()["x-tend-next-after-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = res.text().await.unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text
        .lines()
        .nth(1)
        .unwrap()
        .starts_with(&format!("{next},")));

    // Outside the caller's scope: 404; nurses: 403; bad filters: 422.
    let foreign = app
        .get(
            &format!("/api/audit-events/export/csv?patient_id={}", w.b1.patient),
            oa,
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{foreign:?}");
    let other_facility = app
        .get(
            &format!(
                "/api/audit-events/export/fhir?facility_id={}",
                w.a2.facility
            ),
            fa,
        )
        .await;
    assert_eq!(other_facility.status, StatusCode::NOT_FOUND);
    let other_resident = app
        .get(
            &format!("/api/audit-events/export/fhir?patient_id={}", w.a2.patient),
            fa,
        )
        .await;
    assert_eq!(other_resident.status, StatusCode::NOT_FOUND);
    let foreign_person = app
        .get(
            &format!("/api/audit-events/export/csv?user_id={}", w.b1.staff),
            oa,
        )
        .await;
    assert_eq!(foreign_person.status, StatusCode::NOT_FOUND);
    for path in [
        "/api/audit-events/export/csv",
        "/api/audit-events/export/fhir",
    ] {
        let refused = app.get(path, w.token(Role::Rn)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(refused.code(), "FORBIDDEN");
    }
    let bad = app.get("/api/audit-events/export/csv?limit=0", oa).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body["error"]["fields"]["limit"].is_array(), "{bad:?}");
    let bad = app
        .get(
            "/api/audit-events/export/csv?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
            oa,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body["error"]["fields"]["until"].is_array(), "{bad:?}");
    let bad = app
        .get("/api/audit-events/export/csv?since=yesterday", oa)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");

    // Every export is on the record, with what was asked and nothing more.
    let exports: Vec<(Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT reason, facility_id FROM audit_events WHERE action = 'audit_event.export' ORDER BY id",
    )
    .fetch_all(o)
    .await
    .unwrap();
    assert_eq!(exports.len(), 5, "{exports:?}");
    assert!(exports[0]
        .0
        .as_deref()
        .unwrap()
        .starts_with("csv export of "));
    assert_eq!(exports[0].1, Some(w.a1.facility));
    assert!(exports[1]
        .0
        .as_deref()
        .unwrap()
        .contains(&format!("patient {}", w.a2.patient)));
}
