#!/usr/bin/env bash
# The login flood of scripts/bench-login-flood.sh, through the deployment's
# front door: wrk → HAProxy (TLS, the per-address password-login limit of
# deploy/examples/haproxy.cfg) → STACK_INSTANCES tend-api instances (default
# 2) → PgBouncer → PostgreSQL, everything on this machine. 16 connections
# pull the change feed with a device token, alone, then while 500
# connections post wrong-password logins for one account from one address
# (wrk's), which HAProxy answers with 429 after 30 in 10 s. The "new address
# on every request" case of bench-login-flood.sh cannot come through a proxy
# that sees one client address. Results go to docs/benchmarks.md by hand.
#   usage: scripts/bench-login-flood-stack.sh [duration, default 20s]
#   TEND_API_BIN: an already built tend-api; LOGINS (500), PULLS (16), RECORDS (20000).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
duration="${1:-20s}"
logins="${LOGINS:-500}"
pulls="${PULLS:-16}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
state="$(mktemp -d /tmp/tend-bench-flood-stack.XXXXXX)"
cleanup() {
  bash "$root/scripts/services/stack.sh" stop "$state" || true
  rm -rf "$state"
}
trap cleanup EXIT
command -v wrk >/dev/null || { echo "bench-login-flood-stack: wrk missing; run scripts/install-deps.sh" >&2; exit 1; }

if [ -z "${TEND_API_BIN:-}" ]; then
  (cd "$root" && cargo build --profile server -p tend-api)
  export TEND_API_BIN="$CARGO_TARGET_DIR/server/tend-api"
fi
export STACK_INSTANCES="${STACK_INSTANCES:-2}"
# Captured first so a failed start stops this script.
exports="$(bash "$root/scripts/services/stack.sh" start "$state")"
eval "$exports"

seeded="$(TEND_MIGRATE_DATABASE_URL="$TEND_STACK_OWNER_URL" "$TEND_API_BIN" seed-sync-load --records "${RECORDS:-20000}")"
echo "$seeded" >&2
device_id="$(sed -n 's/.* device \([0-9]*\) .*/\1/p' <<<"$seeded")"
token="tdev_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
psql "$TEND_STACK_OWNER_URL" -qAt -v ON_ERROR_STOP=1 \
  -c "INSERT INTO device_tokens (token_hash, device_id, expires_at) VALUES (sha256('$token'::bytea), $device_id, now() + interval '1 hour')" \
  -c "VACUUM ANALYZE"
username="$(psql "$TEND_STACK_OWNER_URL" -qAt -c "SELECT username FROM users WHERE facility_id = (SELECT facility_id FROM devices WHERE id = $device_id) ORDER BY id LIMIT 1")"

pull() { DEVICE_TOKEN="$token" wrk -t1 -c"$pulls" -d"$duration" -s "$root/scripts/bench/sync-pull.lua" "$TEND_STACK_URL" | grep -E "^sync pull"; }
flood() { MODE=one USERNAME_TRIED="$username" wrk -t1 -c"$logins" -d"$duration" --timeout 30s -s "$root/scripts/bench/login-flood.lua" "$TEND_STACK_URL" | grep -E "^login flood|Non-2xx|Socket errors"; }

echo "== $pulls connections pulling sync through HAProxy + TLS, alone =="
pull
echo "== the same while $logins connections post wrong-password logins from one address =="
flood >"$state/flood.txt" &
flood_pid=$!
sleep 1
pull
wait "$flood_pid"
cat "$state/flood.txt"
psql "$TEND_STACK_OWNER_URL" -qAt -c "SELECT 'password-login audit rows (the logins that got past HAProxy and were judged by an instance): ' || count(*) FROM audit_events WHERE action LIKE 'auth.login%'" || true
