#!/usr/bin/env bash
# A login flood next to devices syncing (issue 16): a release tend-api on a
# throwaway database filled by `seed-sync-load` (20,000 records by default),
# 16 connections pulling the facility's change feed with a device token,
# first alone, then while 500 connections post wrong-password logins — once
# from one address for one account (the limits answer), once with a new
# account and a new client address (X-Forwarded-For from the trusted proxy
# 127.0.0.1) on every request, so every login costs a full argon2 check.
# Prints the sync latency and its 503s for each. Results go to
# docs/benchmarks.md by hand.
#   usage: scripts/bench-login-flood.sh [duration, default 20s]
#   TEND_API_BIN: an already built release tend-api; LOGINS (500), PULLS (16).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
duration="${1:-20s}"
logins="${LOGINS:-500}"
pulls="${PULLS:-16}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
state="$(mktemp -d /tmp/tend-bench-flood.XXXXXX)"
. "$root/scripts/lib/api-stack.sh"
cleanup() {
  api_stack_stop
  rm -rf "$state"
}
trap cleanup EXIT
command -v wrk >/dev/null || { echo "bench-login-flood: wrk missing; run scripts/install-deps.sh" >&2; exit 1; }

bin="${TEND_API_BIN:-}"
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --profile server -p tend-api)
  bin="$CARGO_TARGET_DIR/server/tend-api"
fi
api_stack_pg_start "$state"
api_stack_db tend_bench tend_api_bench
api_stack_migrate "$bin"
seeded="$(TEND_MIGRATE_DATABASE_URL="$API_OWNER_URL" "$bin" seed-sync-load --records "${RECORDS:-20000}")"
echo "$seeded" >&2
device_id="$(sed -n 's/.* device \([0-9]*\) .*/\1/p' <<<"$seeded")"
token="tdev_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
psql "$API_OWNER_URL" -qAt -v ON_ERROR_STOP=1 \
  -c "INSERT INTO device_tokens (token_hash, device_id, expires_at) VALUES (sha256('$token'::bytea), $device_id, now() + interval '1 hour')" \
  -c "VACUUM ANALYZE"
username="$(psql "$API_OWNER_URL" -qAt -c "SELECT username FROM users WHERE facility_id = (SELECT facility_id FROM devices WHERE id = $device_id) ORDER BY id LIMIT 1")"
api_stack_serve "$bin" - TEND_LOG=warn TEND_TRUSTED_PROXIES=127.0.0.1/32
echo "password hashing bounded to $(nproc) concurrent argon2 checks (the default: the machine's cores)"

pull() { DEVICE_TOKEN="$token" wrk -t1 -c"$pulls" -d"$duration" -s "$root/scripts/bench/sync-pull.lua" "$API_BASE" | grep -E "^sync pull"; }
flood() { MODE="$1" USERNAME_TRIED="$username" wrk -t1 -c"$logins" -d"$duration" --timeout 30s -s "$root/scripts/bench/login-flood.lua" "$API_BASE" | grep -E "^login flood|Non-2xx|Socket errors"; }

echo "== $pulls connections pulling sync, alone =="
pull
for mode in one spread; do
  echo "== the same while $logins connections post wrong-password logins ($mode) =="
  flood "$mode" >"$state/flood.txt" &
  flood_pid=$!
  sleep 1
  pull
  wait "$flood_pid"
  cat "$state/flood.txt"
  psql "$API_OWNER_URL" -qAt -c "SELECT 'auth audit rows: ' || count(*) FROM audit_events WHERE action LIKE 'auth.%'" || true
done
