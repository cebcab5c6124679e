#!/usr/bin/env bash
# Runs tend-api's tests against a throwaway PostgreSQL cluster it starts and
# stops itself. Extra arguments go to `cargo test` (e.g. a test name filter).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="$(mktemp -d /tmp/tend-api-pg.XXXXXX)"
cleanup() {
  bash "$root/scripts/services/postgres.sh" stop "$state" || true
  rm -rf "$state"
}
trap cleanup EXIT
eval "$(bash "$root/scripts/services/postgres.sh" start "$state")"
export TEND_TEST_PG_URL
cd "$root"
cargo test -p tend-api "$@"
