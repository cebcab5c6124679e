//! Defense in depth: row-level security alone, with the API's own filters
//! deliberately removed, still shows no foreign rows.

use sqlx::{Connection, PgConnection};

use crate::helpers::{spawn_app, world};

async fn scoped(conn: &mut PgConnection, scope: &str, org: i64, facility: i64) {
    sqlx::query("SELECT set_config('tend.scope', $1, true), set_config('tend.organization_id', $2, true), set_config('tend.facility_id', $3, true)")
        .bind(scope)
        .bind(org.to_string())
        .bind(facility.to_string())
        .execute(conn)
        .await
        .unwrap();
}

const TENANT_TABLES: &[&str] = &[
    "facilities",
    "users",
    "devices",
    "patients",
    "audit_events",
    "badges",
];

#[tokio::test]
async fn queries_without_the_facility_filter_still_see_only_their_facility() {
    let app = spawn_app().await;
    let w = world(&app).await;
    // Some audit rows in every facility.
    for site in [w.a1, w.a2, w.b1] {
        sqlx::query("INSERT INTO audit_events (organization_id, facility_id, action, resource_type, outcome) VALUES ($1, $2, 'x', 'y', 'success')")
            .bind(site.org)
            .bind(site.facility)
            .execute(&app.owner)
            .await
            .unwrap();
    }
    let mut conn = PgConnection::connect(&app.app_url).await.unwrap();

    // The connection really is unprivileged.
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(!superuser && !bypass);
    let owners: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT tableowner::text FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY($1)",
    )
    .bind(TENANT_TABLES)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let me: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(
        !owners.contains(&me),
        "the API role owns tables: {owners:?}"
    );

    // Facility scope (an RN of A1), no WHERE clause at all.
    let mut tx = conn.begin().await.unwrap();
    scoped(&mut tx, "facility", w.a1.org, w.a1.facility).await;
    for table in TENANT_TABLES {
        let column = if *table == "facilities" {
            "id"
        } else {
            "facility_id"
        };
        let facilities: Vec<Option<i64>> =
            sqlx::query_scalar(&format!("SELECT DISTINCT {column} FROM {table}"))
                .fetch_all(&mut *tx)
                .await
                .unwrap();
        assert_eq!(
            facilities,
            vec![Some(w.a1.facility)],
            "{table} leaked rows under facility scope"
        );
    }
    let orgs: Vec<i64> = sqlx::query_scalar("SELECT id FROM organizations")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(orgs, vec![w.a1.org]);
    // Writes to foreign rows affect nothing; moving a row out of scope is refused.
    let updated = sqlx::query("UPDATE patients SET room = 'X' WHERE id = $1")
        .bind(w.b1.patient)
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 0);
    let moved = sqlx::query("UPDATE patients SET facility_id = $1 WHERE id = $2")
        .bind(w.a2.facility)
        .bind(w.a1.patient)
        .execute(&mut *tx)
        .await;
    assert!(moved.is_err(), "a row was moved out of scope");
    tx.rollback().await.unwrap();

    // Inserting into a foreign facility is refused by WITH CHECK.
    let mut tx = conn.begin().await.unwrap();
    scoped(&mut tx, "facility", w.a1.org, w.a1.facility).await;
    let foreign_insert = sqlx::query(
        "INSERT INTO patients (organization_id, facility_id, mrn, first_name, last_name, date_of_birth) \
         VALUES ($1, $2, 'M-RLS', 'A', 'B', '1950-01-01')",
    )
    .bind(w.b1.org)
    .bind(w.b1.facility)
    .execute(&mut *tx)
    .await;
    assert!(foreign_insert
        .unwrap_err()
        .to_string()
        .contains("row-level security"));
    tx.rollback().await.unwrap();

    // Organization scope: the whole organization, nothing else.
    let mut tx = conn.begin().await.unwrap();
    scoped(&mut tx, "organization", w.a1.org, w.a1.facility).await;
    let orgs: Vec<i64> = sqlx::query_scalar("SELECT DISTINCT organization_id FROM patients")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(orgs, vec![w.a1.org]);
    tx.rollback().await.unwrap();

    // No scope set (a forgotten set_config): nothing at all.
    let mut tx = conn.begin().await.unwrap();
    for table in TENANT_TABLES.iter().chain(&["organizations"]) {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} visible without a scope");
    }
    tx.rollback().await.unwrap();

    // Settings are transaction-local: they do not survive into the next transaction on the same connection.
    let mut tx = conn.begin().await.unwrap();
    scoped(&mut tx, "platform", w.a1.org, w.a1.facility).await;
    tx.commit().await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM patients")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 0, "scope leaked past its transaction");

    // Never DELETE, never touch tokens or password hashes, never rewrite audit.
    let mut tx = conn.begin().await.unwrap();
    scoped(&mut tx, "platform", w.a1.org, w.a1.facility).await;
    for sql in [
        "DELETE FROM patients",
        "SELECT * FROM auth_tokens",
        "SELECT password_hash FROM users",
        "UPDATE audit_events SET reason = 'edited'",
        "DELETE FROM audit_events",
    ] {
        let mut sp = tx.begin().await.unwrap();
        let err = sqlx::query(sql).execute(&mut *sp).await.expect_err(sql);
        assert!(
            err.to_string().contains("permission denied"),
            "{sql}: {err}"
        );
        sp.rollback().await.unwrap();
    }
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn audit_events_are_append_only_even_for_the_owner() {
    let app = spawn_app().await;
    sqlx::query(
        "INSERT INTO audit_events (action, resource_type, outcome) VALUES ('a', 'b', 'success')",
    )
    .execute(&app.owner)
    .await
    .unwrap();
    for sql in [
        "UPDATE audit_events SET reason = 'x'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ] {
        let err = sqlx::query(sql).execute(&app.owner).await.expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}

#[tokio::test]
async fn every_foreign_key_is_indexed() {
    let app = spawn_app().await;
    // A foreign key is covered when some index leads with its first column
    // (for the composite (facility_id, organization_id) keys, facility_id
    // alone is selective enough to find the children of a facility).
    let unindexed: Vec<String> = sqlx::query_scalar(
        "SELECT c.conrelid::regclass::text || '(' || array_to_string(ARRAY(
                SELECT a.attname FROM unnest(c.conkey) k JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k), ',') || ')'
         FROM pg_constraint c
         WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
           AND NOT EXISTS (
             SELECT 1 FROM pg_index i
             WHERE i.indrelid = c.conrelid
               AND (i.indkey::int2[])[0] = c.conkey[1])",
    )
    .fetch_all(&app.owner)
    .await
    .unwrap();
    assert!(
        unindexed.is_empty(),
        "foreign keys without an index: {unindexed:?}"
    );
    // And every tenant table has RLS on with a policy.
    let without: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
           AND c.relname IN ('organizations','facilities','users','devices','patients','audit_events',
                             'clinical_records','sync_operations','sync_tombstones',
                             'break_glass_grants')
           AND (NOT c.relrowsecurity OR NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))",
    )
    .fetch_all(&app.owner)
    .await
    .unwrap();
    assert!(without.is_empty(), "tables without RLS: {without:?}");
}
