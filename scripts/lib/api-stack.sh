# A throwaway central-API stack for scripts: a PostgreSQL cluster in a
# folder, one database migrated with a separate non-owner role for the API,
# and `tend-api serve` on a loopback port. Sourced, not run:
#
#   . scripts/lib/api-stack.sh
#   api_stack_pg_start "$state"             # cluster; exports TEND_TEST_PG_URL
#   api_stack_db tend_fuzz tend_api_fuzz    # database + app role; sets API_OWNER_URL, API_APP_URL
#   api_stack_migrate "$bin"                # (and "$bin" seed-demo with API_OWNER_URL if wanted)
#   api_stack_serve "$bin" "$log" [env…]    # sets API_BASE, API_PID; waits for /readyz
#   trap api_stack_stop EXIT                # stops the server, then the cluster
#
# Every script that needs "a real API with a real database" goes through
# here, so ports, roles, passwords and the readiness wait are done one way.

API_STACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
API_STACK_PG_STATE=""
API_PID=""

# A random password for throwaway roles (alphanumeric, safe in URLs).
api_stack_password() {
  printf '%s-%s' "$1" "$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
}

api_stack_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Starts (or reuses, if already running there) the cluster in $1.
api_stack_pg_start() {
  API_STACK_PG_STATE="$1"
  local exports
  # Captured first so a failed start stops a `set -e` script.
  exports="$(bash "$API_STACK_ROOT/scripts/services/postgres.sh" start "$API_STACK_PG_STATE")"
  eval "$exports"
  export TEND_TEST_PG_URL
}

# Creates database $1 if missing; the API will connect as role $2 (created
# by `tend-api migrate --app-user`). APP_PASSWORD may be preset to keep it
# stable across runs (scripts/run.sh); otherwise a fresh one is made.
api_stack_db() {
  API_DB="$1"
  API_APP_USER="$2"
  API_APP_PASSWORD="${API_APP_PASSWORD:-$(api_stack_password app)}"
  API_OWNER_URL="${TEND_TEST_PG_URL%/postgres}/$API_DB"
  if ! psql -qtA "$TEND_TEST_PG_URL" -c "SELECT 1 FROM pg_database WHERE datname = '$API_DB'" | grep -q 1; then
    psql -q "$TEND_TEST_PG_URL" -c "CREATE DATABASE $API_DB"
  fi
  API_APP_URL="postgres://$API_APP_USER:$API_APP_PASSWORD@127.0.0.1:$(cat "$API_STACK_PG_STATE/port")/$API_DB"
}

# Runs the migrations as the database owner and (re)creates the app role.
api_stack_migrate() {
  TEND_MIGRATE_DATABASE_URL="$API_OWNER_URL" TEND_APP_PASSWORD="$API_APP_PASSWORD" \
    "$1" migrate --app-user "$API_APP_USER"
}

# Serves the API with binary $1, logging to $2 ("-" for this terminal), on
# API_PORT or a free port; extra arguments are VAR=value settings for it.
api_stack_serve() {
  local bin="$1" log="$2"
  shift 2
  local port="${API_PORT:-$(api_stack_free_port)}"
  if [ "$log" = "-" ]; then
    env TEND_DATABASE_URL="$API_APP_URL" "$@" "$bin" serve --bind "127.0.0.1:$port" &
  else
    env TEND_DATABASE_URL="$API_APP_URL" "$@" "$bin" serve --bind "127.0.0.1:$port" >"$log" 2>&1 &
  fi
  API_PID=$!
  API_BASE="http://127.0.0.1:$port"
  for _ in $(seq 1 200); do
    curl -fs "$API_BASE/readyz" >/dev/null && return 0
    if ! kill -0 "$API_PID" 2>/dev/null; then
      [ "$log" = "-" ] || cat "$log" >&2
      echo "api-stack: tend-api exited before it was ready" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "api-stack: tend-api not ready at $API_BASE after 20 s" >&2
  return 1
}

api_stack_stop() {
  if [ -n "$API_PID" ]; then
    kill "$API_PID" 2>/dev/null || true
    wait "$API_PID" 2>/dev/null || true
    API_PID=""
  fi
  if [ -n "$API_STACK_PG_STATE" ]; then
    bash "$API_STACK_ROOT/scripts/services/postgres.sh" stop "$API_STACK_PG_STATE" >/dev/null 2>&1 || true
  fi
}
