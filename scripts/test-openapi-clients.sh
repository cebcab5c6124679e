#!/usr/bin/env bash
# The API's OpenAPI document as an integrator meets it, with standard tools
# from PyPI (pinned, in a venv under ~/.cache): `openapi-spec-validator`
# accepts it; `openapi-python-client` generates a client from it without
# skipping a single operation or schema (any warning fails); and a small
# program using that client signs in as a demo user against the real API
# (debug build, seeded demo data) and lists facilities and patients, admits
# a patient and reads a resident's records, asserting what comes back.
# Starts its own PostgreSQL and API server and stops both.
#   usage: scripts/test-openapi-clients.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
venv="${OPENAPI_CLIENTS_VENV:-$HOME/.cache/tend/openapi-clients-venv}"
validator_version="0.9.0"
generator_version="0.29.1"
if [ ! -x "$venv/bin/openapi-python-client" ] \
  || ! "$venv/bin/pip" show openapi-python-client 2>/dev/null | grep -qx "Version: $generator_version" \
  || ! "$venv/bin/pip" show openapi-spec-validator 2>/dev/null | grep -qx "Version: $validator_version"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "openapi-spec-validator==$validator_version" \
    "openapi-python-client==$generator_version"
fi
state="$(mktemp -d /tmp/tend-oac-pg.XXXXXX)"
work="$(mktemp -d /tmp/tend-oac.XXXXXX)"
. "$root/scripts/lib/api-stack.sh"
cleanup() {
  api_stack_stop
  rm -rf "$state" "$work"
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
api_stack_db tend_clients tend_api_clients
api_stack_migrate "$bin"
demo_password="$(api_stack_password clients-demo)"
TEND_MIGRATE_DATABASE_URL="$API_OWNER_URL" TEND_DEMO_PASSWORD="$demo_password" "$bin" seed-demo >/dev/null
api_stack_serve "$bin" "$work/api.log" TEND_LOG=warn

curl -fsS "$API_BASE/api/openapi.json" -o "$work/openapi.json"

echo "== openapi-spec-validator $validator_version ==" >&2
"$venv/bin/openapi-spec-validator" "$work/openapi.json"

echo "== openapi-python-client $generator_version ==" >&2
# It reports what it could not generate as warnings and still succeeds;
# --fail-on-warning makes any skipped endpoint or schema a failure, and the
# output is checked too in case a warning slips past that flag.
# (PATH: its formatting hooks run the venv's ruff.)
(cd "$work" && PATH="$venv/bin:$PATH" "$venv/bin/openapi-python-client" generate --path openapi.json \
  --config "$root/scripts/openapi-client/config.yaml" --meta none --fail-on-warning \
  >generate.log 2>&1) || { cat "$work/generate.log" >&2; exit 1; }
if grep -Eiq 'warning|unable to|could not|skipp' "$work/generate.log"; then
  cat "$work/generate.log" >&2
  echo "openapi-python-client skipped part of the document" >&2
  exit 1
fi

echo "== the generated client against the real API ==" >&2
PYTHONPATH="$work" TEND_API_BASE="$API_BASE" TEND_DEMO_PASSWORD="$demo_password" \
  TEND_OPENAPI_DOCUMENT="$work/openapi.json" \
  "$venv/bin/python" "$root/scripts/openapi-client/use_client.py"
