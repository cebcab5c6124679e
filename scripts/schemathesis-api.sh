#!/usr/bin/env bash
# Fuzzes the running API against its own OpenAPI document with schemathesis
# (PyPI, installed into a venv under ~/.cache): zero 5xx and zero responses
# that break the documented schema, with a bounded number of examples.
# Starts its own PostgreSQL and API server (debug build) and stops both.
#   usage: scripts/schemathesis-api.sh [max examples per operation, default 30]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
examples="${1:-30}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/.cache/tend/target-api}"
venv="${SCHEMATHESIS_VENV:-$HOME/.cache/tend/schemathesis-venv}"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==4.32.5"
fi
state="$(mktemp -d /tmp/tend-st-pg.XXXXXX)"
report="$(mktemp -d /tmp/tend-st-report.XXXXXX)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  bash "$root/scripts/services/postgres.sh" stop "$state" || true
  rm -rf "$state"
}
trap cleanup EXIT

# TEND_API_BIN: an already built tend-api (scripts/test.sh passes the one its
# test build made) instead of building one here.
bin="${TEND_API_BIN:-}"
if [ -z "$bin" ]; then
  (cd "$root" && cargo build -p tend-api)
  bin="$CARGO_TARGET_DIR/debug/tend-api"
fi
eval "$(bash "$root/scripts/services/postgres.sh" start "$state")"
db="tend_fuzz"
owner_url="${TEND_TEST_PG_URL%/postgres}/$db"
psql -q "$TEND_TEST_PG_URL" -c "CREATE DATABASE $db"
app_password="fuzz-$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
demo_password="fuzz-demo-$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
TEND_MIGRATE_DATABASE_URL="$owner_url" TEND_APP_PASSWORD="$app_password" "$bin" migrate --app-user tend_api_fuzz
TEND_MIGRATE_DATABASE_URL="$owner_url" TEND_DEMO_PASSWORD="$demo_password" "$bin" seed-demo

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
TEND_DATABASE_URL="postgres://tend_api_fuzz:${app_password}@127.0.0.1:$(cat "$state/port")/$db" TEND_LOG=warn \
  "$bin" serve --bind "127.0.0.1:$port" &
server_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -fs "$base/readyz" >/dev/null && break; sleep 0.1; done

login() {
  curl -fs -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$demo_password\"}" "$base/api/auth/login" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

# Once as the platform admin (reaches every operation), once as a nurse (the
# 403/404 paths). Logout is left out: it would revoke the token mid-run.
checks="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance"
for user in demo.platform memorylane-secure.rn1; do
  echo "== schemathesis as $user ==" >&2
  token="$(login "$user")"
  "$venv/bin/schemathesis" run "$base/api/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks "$checks" \
    --exclude-path /api/auth/logout \
    --max-examples "$examples" --seed 20261126 --phases examples,coverage,fuzzing \
    --generation-allow-x00 true --no-color --report junit --report-dir "$report/$user"
done
echo "schemathesis: report in $report" >&2
