#!/usr/bin/env bash
# Heartbeat ingestion through the multi-instance stack (scripts/services/stack.sh):
# wrk → HAProxy (TLS) → STACK_INSTANCES tend-api instances (default 2) →
# PgBouncer (transaction mode) → PostgreSQL, everything on this machine; then
# the same load straight at one instance (plain HTTP, still through PgBouncer)
# for comparison. DEVICES active devices (default 20,000) with device tokens
# stored as the token endpoint stores them, as in scripts/bench-identity.sh.
# Results go to docs/benchmarks.md by hand.
#   usage: scripts/bench-stack.sh [duration, default 20s]
#   CONNECTIONS="16 64" chooses the wrk concurrency levels.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
duration="${1:-20s}"
devices="${DEVICES:-20000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
state="$(mktemp -d /tmp/tend-bench-stack.XXXXXX)"
cleanup() {
  bash "$root/scripts/services/stack.sh" stop "$state" || true
  rm -rf "$state"
}
trap cleanup EXIT

if [ -z "${TEND_API_BIN:-}" ]; then
  (cd "$root" && cargo build --profile server -p tend-api)
  export TEND_API_BIN="$CARGO_TARGET_DIR/server/tend-api"
fi
export STACK_INSTANCES="${STACK_INSTANCES:-2}"
export STACK_API_ENV="TEND_DB_MAX_CONNECTIONS=16"
# Captured first so a failed start stops this script.
exports="$(bash "$root/scripts/services/stack.sh" start "$state")"
eval "$exports"

psql -q -v ON_ERROR_STOP=1 -v devices="$devices" "$TEND_STACK_OWNER_URL" <<'SQL'
INSERT INTO organizations (name, organization_type)
SELECT 'Bench Organization ' || g, 'SNF_CHAIN' FROM generate_series(1, 200) g;
INSERT INTO facilities (organization_id, name, facility_type, licensed_beds)
SELECT o.id, 'Bench Facility ' || o.id || '-' || k, 'SNF', 40
FROM organizations o, generate_series(1, 10) k ORDER BY o.id, k;
INSERT INTO devices (organization_id, facility_id, device_name, device_type, device_uuid, status,
                     identity_public_key, enrolled_at)
SELECT f.organization_id, f.id, 'Device ' || g, 'TABLET', gen_random_uuid(), 'ACTIVE',
       'O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=', now()
FROM generate_series(1, :devices) g JOIN facilities f ON f.id = 1 + (g % 2000);
INSERT INTO device_tokens (token_hash, device_id, expires_at)
SELECT sha256(convert_to('tdev_bench-' || d.id, 'UTF8')), d.id, now() + interval '1 day' FROM devices d;
VACUUM ANALYZE;
SQL
psql -At "$TEND_STACK_OWNER_URL" -c "SELECT 'tdev_bench-' || id || ' ' || id FROM devices ORDER BY random()" >"$state/devices.txt"
started="$(psql -At "$TEND_STACK_OWNER_URL" -c "SELECT now()")"

# Each instance caches tokens it has seen; warm every instance's cache first.
echo "== warm-up through HAProxy: every device on every instance =="
DEVICE_FILE="$state/devices.txt" wrk -t2 -c64 -d"${WARMUP:-$(( devices * STACK_INSTANCES / 4000 + 5 ))s}" \
  -s "$root/scripts/bench/heartbeat.lua" "$TEND_STACK_URL" | grep -E "Requests/sec|non-200"

for c in ${CONNECTIONS-16 64}; do
  echo "== heartbeats through HAProxy + TLS, $STACK_INSTANCES instances, $devices devices, $c connections =="
  DEVICE_FILE="$state/devices.txt" wrk -t2 -c"$c" -d"$duration" --latency -s "$root/scripts/bench/heartbeat.lua" "$TEND_STACK_URL"
done
one="${TEND_STACK_INSTANCES%% *}"
for c in ${CONNECTIONS-16 64}; do
  echo "== heartbeats straight to one instance ($one, plain HTTP, pool through PgBouncer), $c connections =="
  DEVICE_FILE="$state/devices.txt" wrk -t2 -c"$c" -d"$duration" --latency -s "$root/scripts/bench/heartbeat.lua" "$one"
done
sleep 1.5
echo "== devices whose last_seen reached the database during the run =="
psql -At "$TEND_STACK_OWNER_URL" -c "SELECT count(*) FILTER (WHERE last_seen >= '$started') || ' of ' || count(*) FROM devices"
echo "== PgBouncer: prepared statements and pools =="
grep -E "stats:" "$state/pgbouncer/pgbouncer.log" | tail -2 || true
