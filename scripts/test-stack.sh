#!/usr/bin/env bash
# The multi-instance stack end to end: HAProxy (TLS, test CA) → three tend-api
# instances → PgBouncer (transaction mode) → PostgreSQL, all started here from
# Debian packages (scripts/services/stack.sh), demo data seeded, then
# scripts/stack/test_stack.py checks through it what several instances must
# get right: TLS, round robin, login, the real client address behind the
# proxy, enrollment, a challenge answered at another instance, sync, badge
# login, a login lockout counted across instances, deactivation everywhere,
# and soaks with an instance killed and PostgreSQL restarted (0 lost, 0
# duplicated). Stops everything.
#   usage: scripts/test-stack.sh            (debug build of tend-api)
#   TEND_API_BIN=… uses another binary; STACK_INSTANCES=… another count.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
state="$(mktemp -d /tmp/tend-stack-test.XXXXXX)"
cleanup() {
  bash "$root/scripts/services/stack.sh" stop "$state" || true
  if [ "${KEEP_STACK_LOGS:-0}" = 1 ]; then echo "logs kept in $state" >&2; else rm -rf "$state"; fi
}
trap cleanup EXIT

if [ -z "${TEND_API_BIN:-}" ]; then
  (cd "$root" && cargo build -p tend-api)
  export TEND_API_BIN="$CARGO_TARGET_DIR/debug/tend-api"
fi
# The app's own device client (tend_core), driven through the stack by
# test_stack.py.
if [ -z "${STACK_DEVICE_BIN:-}" ]; then
  # --workspace: the same feature set as the workspace's test build, so
  # after `cargo nextest run --workspace` nothing is compiled twice.
  (cd "$root" && cargo build --workspace --examples)
  export STACK_DEVICE_BIN="$CARGO_TARGET_DIR/debug/examples/stack_device"
fi
started=$(date +%s)
# Captured first so a failed start stops this script.
exports="$(bash "$root/scripts/services/stack.sh" start "$state")"
eval "$exports"
echo "test-stack: stack up in $(( $(date +%s) - started ))s at $TEND_STACK_URL ($TEND_STACK_INSTANCES)" >&2

password="stack demo $(head -c 9 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
TEND_MIGRATE_DATABASE_URL="$TEND_STACK_OWNER_URL" TEND_DEMO_PASSWORD="$password" TEND_LOG=warn \
  "$TEND_API_BIN" seed-demo >/dev/null
STACK_TEST_USER=sunrise.orgadmin STACK_TEST_PASSWORD="$password" python3 "$root/scripts/stack/test_stack.py"
echo "test-stack: passed in $(( $(date +%s) - started ))s" >&2
