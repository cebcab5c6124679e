#!/usr/bin/env bash
# Measures device identity under wrk on loopback.
# Heartbeat ingestion: DEVICES active devices
# (default 20,000 across 2,000 facilities), each with a device token stored
# as the token endpoint stores it (SHA-256), posting
# POST /api/devices/{id}/heartbeat round-robin. Server (release build) and
# PostgreSQL run on this machine; heartbeats are coalesced in memory and
# flushed once a second. After the run it checks that last_seen reached the
# database for every device.
# Enrollment latency: new devices enrolling with one many-use code
# (ENROLL_CONNECTIONS, default "1 4"; rate limits raised for the run;
# ten codes of 10,000 uses, so at most 100,000 enrollments per run).
# Results go to docs/benchmarks.md by hand.
#   usage: scripts/bench-identity.sh [duration, default 20s]
#   CONNECTIONS="16 64 128" DEVICES=20000 choose heartbeat concurrency and fleet size.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
duration="${1:-20s}"
devices="${DEVICES:-20000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
state="$(mktemp -d /tmp/tend-bench-hb.XXXXXX)"
. "$root/scripts/lib/api-stack.sh"
cleanup() {
  api_stack_stop
  rm -rf "$state"
}
trap cleanup EXIT

(cd "$root" && cargo build --profile server -p tend-api)
bin="$CARGO_TARGET_DIR/server/tend-api"

api_stack_pg_start "$state"
api_stack_db tend_bench tend_api_bench
api_stack_migrate "$bin"
owner_url="$API_OWNER_URL"

psql -q -v ON_ERROR_STOP=1 -v devices="$devices" "$owner_url" <<'SQL'
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
-- Device tokens as POST /api/devices/auth/token stores them.
INSERT INTO device_tokens (token_hash, device_id, expires_at)
SELECT sha256(convert_to('tdev_bench-' || d.id, 'UTF8')), d.id, now() + interval '1 day' FROM devices d;
-- Ten enrollment codes of 10,000 uses for the enrollment run (normalized form
-- hashed, as the API does): BENC-HBEN-CHBE-NCHB-ENCH-BENC-HBE0 … HBE9.
INSERT INTO enrollment_codes (organization_id, facility_id, code_hash, code_hint, max_uses, expires_at)
SELECT f.organization_id, f.id, sha256(convert_to('BENCHBENCHBENCHBENCHBENCHBE' || k, 'UTF8')), 'HBE' || k, 10000,
       now() + interval '1 day'
FROM (SELECT * FROM facilities ORDER BY id LIMIT 1) f, generate_series(0, 9) k;
VACUUM ANALYZE;
SQL
psql -At "$owner_url" -c "SELECT 'tdev_bench-' || id || ' ' || id FROM devices ORDER BY random()" >"$state/devices.txt"

api_stack_serve "$bin" - TEND_LOG="${TEND_LOG:-warn}" TEND_DB_MAX_CONNECTIONS=16 \
  TEND_ENROLL_PER_ADDRESS_PER_MINUTE=100000000 TEND_ENROLL_PER_CODE_PER_MINUTE=100000000
base="$API_BASE"
started="$(psql -At "$owner_url" -c "SELECT now()")"

# Device tokens are cached when the token endpoint issues them; these were
# written straight to the database, so one pass over every device warms the
# cache first (a cold token costs one lookup round trip).
echo "== warm-up: every device once =="
DEVICE_FILE="$state/devices.txt" wrk -t2 -c64 -d"${WARMUP:-$(( devices / 4000 + 5 ))s}" -s "$root/scripts/bench/heartbeat.lua" "$base" | grep -E "Requests/sec|non-200"

for c in ${CONNECTIONS-16 64 128}; do
  echo "== heartbeats: POST /api/devices/{id}/heartbeat, $devices devices, $c connections =="
  DEVICE_FILE="$state/devices.txt" wrk -t2 -c"$c" -d"$duration" --latency -s "$root/scripts/bench/heartbeat.lua" "$base"
done
sleep 1.5
echo "== devices whose last_seen reached the database during the run =="
psql -At "$owner_url" -c "SELECT count(*) FILTER (WHERE last_seen >= '$started') || ' of ' || count(*) FROM devices"

for c in ${ENROLL_CONNECTIONS-1 4}; do
  psql -q "$owner_url" -c "UPDATE enrollment_codes SET uses = 0"
  echo "== enrollment: POST /api/devices/enroll with a code, new device each time, $c connections =="
  ENROLL_CODE="BENC-HBEN-CHBE-NCHB-ENCH-BENC-HBE" wrk -t1 -c"$c" -d"${ENROLL_DURATION:-10s}" --latency -s "$root/scripts/bench/enroll.lua" "$base"
done
