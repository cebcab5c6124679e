#!/usr/bin/env bash
# Measures live wandering alerts on loopback (issue 18.4):
#   1. an alert written on device A (POST /api/sync/push) → its event on device
#      B's open push channel (GET /api/devices/events): p50/p95 over ALERTS;
#   2. idle push connections one API instance holds (IDLE devices, one
#      connection each), held past a heartbeat, and the API's RSS per connection.
# Starts its own PostgreSQL cluster and API server and stops both. Results go
# to docs/benchmarks.md by hand.
#   usage: scripts/bench-alerts.sh        ALERTS=100 IDLE=10000 HOLD=20
#   TEND_API_BIN: an already built tend-api (default: the debug build here;
#   PROFILE=server builds `--profile server` instead).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
alerts="${ALERTS:-100}"
idle="${IDLE:-10000}"
hold="${HOLD:-20}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
state="$(mktemp -d /tmp/tend-bench-alerts.XXXXXX)"
. "$root/scripts/lib/api-stack.sh"
cleanup() {
  api_stack_stop
  rm -rf "$state"
}
trap cleanup EXIT
# One socket per connection on both ends.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

bin="${TEND_API_BIN:-}"
if [ -z "$bin" ]; then
  if [ "${PROFILE:-dev}" = server ]; then
    (cd "$root" && cargo build --profile server -p tend-api)
    bin="$CARGO_TARGET_DIR/server/tend-api"
  else
    (cd "$root" && cargo build -p tend-api)
    bin="$CARGO_TARGET_DIR/debug/tend-api"
  fi
fi

api_stack_pg_start "$state"
api_stack_db tend_bench tend_api_bench
api_stack_migrate "$bin"
owner_url="$API_OWNER_URL"

psql -q -v ON_ERROR_STOP=1 -v idle="$idle" "$owner_url" <<'SQL'
INSERT INTO organizations (name, organization_type) VALUES ('Bench Organization', 'ALF_OPERATOR');
INSERT INTO facilities (organization_id, name, facility_type, licensed_beds, features)
SELECT id, 'Bench Facility', 'ALF', 120, '{"wandering_alerts": true}' FROM organizations;
INSERT INTO patients (organization_id, facility_id, mrn, first_name, last_name, date_of_birth, status, room)
SELECT organization_id, id, 'MRN-1', 'Maria', 'Bench', '1940-02-03', 'active', '12' FROM facilities;
INSERT INTO users (organization_id, facility_id, employee_id, username, full_name, role, password_hash)
SELECT organization_id, id, 'E1', 'nurse', 'Bench Nurse', 'RN', 'x' FROM facilities;
-- Device A (writer), device B (reader), and the idle devices, each with a
-- device token as POST /api/devices/auth/token stores it.
INSERT INTO devices (organization_id, facility_id, device_name, device_type, device_uuid, status,
                     identity_public_key, enrolled_at)
SELECT f.organization_id, f.id, 'Device ' || g, 'TABLET', gen_random_uuid(), 'ACTIVE',
       'O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=', now()
FROM facilities f, generate_series(1, :idle + 2) g;
INSERT INTO device_tokens (token_hash, device_id, expires_at)
SELECT sha256(convert_to('tdev_bench-' || d.id, 'UTF8')), d.id, now() + interval '1 day' FROM devices d;
-- The nurse's session on device A (records need their author signed in there).
INSERT INTO device_sessions (organization_id, facility_id, device_id, user_id, method, started_at, ends_at)
SELECT d.organization_id, d.facility_id, d.id, u.id, 'password', now() - interval '1 hour', now() + interval '1 day'
FROM devices d, users u WHERE d.id = (SELECT min(id) FROM devices);
VACUUM ANALYZE;
SQL
read -r writer reader patient author < <(psql -At -F' ' "$owner_url" -c \
  "SELECT 'tdev_bench-' || min(d.id), 'tdev_bench-' || (min(d.id) + 1), (SELECT id FROM patients), (SELECT id FROM users) FROM devices d")
psql -At "$owner_url" -c "SELECT 'tdev_bench-' || id FROM devices ORDER BY id OFFSET 2" >"$state/idle.txt"

api_stack_serve "$bin" "$state/api.log" TEND_LOG="${TEND_LOG:-warn}" TEND_DB_MAX_CONNECTIONS=16

echo "== alert on device A -> event on device B, $alerts alerts ($(basename "$bin")) =="
python3 "$root/scripts/bench/alerts.py" latency "$API_BASE" "$writer" "$reader" "$patient" "$author" "$alerts"
echo "== idle push connections: $idle devices, held ${hold}s =="
python3 "$root/scripts/bench/alerts.py" idle "$API_BASE" "$state/idle.txt" "$API_PID" "$hold"
