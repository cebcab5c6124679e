#!/usr/bin/env bash
# Audit insert throughput before and after the hash chain (migration 0011),
# and how fast `tend-api audit verify` walks a chain.
#
#   TEND_TEST_PG_URL=postgres://…/postgres bash scripts/bench-audit-chain.sh [seconds]
#
# Two databases on the cluster TEND_TEST_PG_URL names: one with migrations
# 0001–0010 (before), one with 0001–0011 (after). pgbench inserts single
# audit rows, one per transaction, as the API writes them: 1 client; 8
# clients in one organization (one chain: they take turns on its head);
# 8 clients spread over 8 organizations (8 chains); and the server's own
# time per insert (EXPLAIN ANALYZE). Then, on the "after"
# database, `tend-api audit verify` walks the rows written (TEND_API_BIN, or
# the debug build in CARGO_TARGET_DIR), topped up to VERIFY_EVENTS first.
set -euo pipefail
seconds=${1:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
url=${TEND_TEST_PG_URL:?set TEND_TEST_PG_URL (scripts/services/postgres.sh start)}
base=${url%/*}
bin=${TEND_API_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/tend-api}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

make_db() { # name last-migration
    psql -q "$url" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
    # sqlx's table, so 0001's grant on it applies.
    psql -q "$base/$1" -c "CREATE TABLE _sqlx_migrations (version bigint PRIMARY KEY, success boolean)"
    for f in "$root"/migrations/server/*.sql; do
        n=$(basename "$f" | cut -c1-4)
        [ "$n" -le "$2" ] || continue
        psql -q -v ON_ERROR_STOP=1 "$base/$1" -f "$f" >/dev/null
    done
    psql -q "$base/$1" -c "INSERT INTO organizations (name, organization_type) SELECT 'Org ' || g, 'SNF_CHAIN' FROM generate_series(1, 8) g" \
        -c "INSERT INTO facilities (organization_id, name, facility_type, licensed_beds, current_census) SELECT id, 'Home ' || id, 'SNF', 100, 0 FROM organizations"
}

cat >"$work/one_org.sql" <<'SQL'
INSERT INTO audit_events (actor_user_id, organization_id, facility_id, action, resource_type, resource_id, outcome, cross_facility, reason, client_address)
VALUES (NULL, 1, 1, 'patient.read', 'patient', :client_id, 'success', false, NULL, '10.0.0.1');
SQL
cat >"$work/many_orgs.sql" <<'SQL'
\set org (:client_id % 8) + 1
INSERT INTO audit_events (actor_user_id, organization_id, facility_id, action, resource_type, resource_id, outcome, cross_facility, reason, client_address)
VALUES (NULL, :org, :org, 'patient.read', 'patient', :client_id, 'success', false, NULL, '10.0.0.1');
SQL

run() { # db clients script
    pgbench -n -T "$seconds" -c "$2" -j "$2" -f "$work/$3" "$base/$1" 2>/dev/null |
        awk -v label="${1#bench_audit_}, $2 clients, $3" '/latency average/ {lat = $4} /^tps/ {printf "%-36s %6.0f inserts/s, %s ms average\n", label, $3, lat}'
}

make_db bench_audit_before 10
make_db bench_audit_after 11
# Before and after side by side, twice: the machine's load moves between runs.
for round in 1 2; do
    for scenario in "1 one_org.sql" "8 one_org.sql" "8 many_orgs.sql"; do
        set -- $scenario
        run bench_audit_before "$1" "$2"
        run bench_audit_after "$1" "$2"
    done
done
# Server time per insert, without the client and its scheduling: EXPLAIN
# ANALYZE of 300 single-row inserts, each its own transaction.
for i in $(seq 1 300); do
    echo "EXPLAIN (ANALYZE, COSTS OFF) INSERT INTO audit_events (organization_id, facility_id, action, resource_type, resource_id, outcome, client_address) VALUES (2, 2, 'patient.read', 'patient', $i, 'success', '10.0.0.1');"
done >"$work/explain.sql"
for db in bench_audit_before bench_audit_after; do
    psql -q "$base/$db" -f "$work/explain.sql" | awk -v db="${db#bench_audit_}" '
        /Trigger audit_events_chain/ { split($0, a, "time="); split(a[2], b, " "); t += b[1]; n++ }
        /Execution Time/ { e += $3; m++ }
        END { printf "%-36s %.3f ms per insert on the server (trigger %.3f ms), mean of %d\n", db ", server time", e / m, n ? t / n : 0, m }'
done
# VERIFY_EVENTS: top the chains up to this many events first (the issue's
# measure is 1,000,000), 10,000 per transaction: the trigger moves a chain's
# head row for every event, and one transaction of a million events would
# walk an ever longer list of that row's versions (quadratic; the API writes
# 1–2 events per transaction).
want=${VERIFY_EVENTS:-0}
have=$(psql -tA "$base/bench_audit_after" -c "SELECT count(*) FROM audit_events")
while [ "$want" -gt "$have" ]; do
    n=$(( want - have < 10000 ? want - have : 10000 ))
    psql -q "$base/bench_audit_after" -c "INSERT INTO audit_events (organization_id, facility_id, action, resource_type, resource_id, outcome, client_address)
        SELECT g % 8 + 1, g % 8 + 1, 'patient.read', 'patient', g, 'success', '10.0.0.1' FROM generate_series(1, $n) g"
    have=$(( have + n ))
done
psql -q "$base/bench_audit_after" -c "VACUUM ANALYZE audit_events"
rows=$(psql -tA "$base/bench_audit_after" -c "SELECT count(*) FROM audit_events")
echo "after: $rows rows in $(psql -tA "$base/bench_audit_after" -c "SELECT count(DISTINCT chain_key) FROM audit_events") chains"
if [ -x "$bin" ]; then
    started=$(date +%s%N)
    TEND_LOG=warn TEND_MIGRATE_DATABASE_URL="$base/bench_audit_after" "$bin" audit verify | tail -1
    echo "audit verify of $rows events: $(( ($(date +%s%N) - started) / 1000000 )) ms wall ($bin)"
else
    echo "no tend-api binary at $bin: verify not measured"
fi
psql -q "$url" -c "DROP DATABASE bench_audit_before" -c "DROP DATABASE bench_audit_after"
