#!/usr/bin/env bash
# Fuzzes the running API against its own OpenAPI document with schemathesis
# (PyPI, installed into a venv under ~/.cache): zero 5xx and zero responses
# that break the documented schema, with a bounded number of examples.
# Starts its own PostgreSQL and API server (debug build) and stops both.
#   usage: scripts/schemathesis-api.sh [max examples per operation, default 30]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
examples="${1:-30}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
venv="${SCHEMATHESIS_VENV:-$HOME/.cache/tend/schemathesis-venv}"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==4.32.5"
fi
state="$(mktemp -d /tmp/tend-st-pg.XXXXXX)"
report="$(mktemp -d /tmp/tend-st-report.XXXXXX)"
. "$root/scripts/lib/api-stack.sh"
cleanup() {
  api_stack_stop
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
api_stack_pg_start "$state"
api_stack_db tend_fuzz tend_api_fuzz
api_stack_migrate "$bin"
demo_password="$(api_stack_password fuzz-demo)"
TEND_MIGRATE_DATABASE_URL="$API_OWNER_URL" TEND_DEMO_PASSWORD="$demo_password" "$bin" seed-demo
api_stack_serve "$bin" - TEND_LOG=warn
base="$API_BASE"

login() {
  curl -fs -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$demo_password\"}" "$base/api/auth/login" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

# Once as the platform admin (reaches every operation), once as a nurse (the
# 403/404 paths). Logout and signing out everywhere are left out: they would
# revoke the token mid-run (the API's tests cover them).
checks="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance"
# Both sign in before either run, and the nurse goes first: the platform
# admin's fuzzing may deactivate the nurse's organization or account.
declare -A tokens
for user in memorylane-secure.rn1 demo.platform; do
  tokens[$user]="$(login "$user")"
done
for user in memorylane-secure.rn1 demo.platform; do
  echo "== schemathesis as $user ==" >&2
  token="${tokens[$user]}"
  "$venv/bin/schemathesis" run "$base/api/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks "$checks" \
    --exclude-path /api/auth/logout \
    --exclude-path /api/auth/sign-out-everywhere \
    --exclude-path '/api/users/{id}/sign-out-everywhere' \
    --max-examples "$examples" --seed 20261126 --phases examples,coverage,fuzzing \
    --generation-allow-x00 true --no-color --report junit --report-dir "$report/$user"
done
echo "schemathesis: report in $report" >&2
