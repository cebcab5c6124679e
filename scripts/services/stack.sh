#!/usr/bin/env bash
# The multi-instance central-API stack, all from Debian packages, on loopback:
#
#   client ──HTTPS──► HAProxy (TLS with a test CA made here, X-Forwarded-For)
#                        ├─► tend-api #1 ─┐
#                        ├─► tend-api #2 ─┼─► PgBouncer (transaction mode) ─► PostgreSQL
#                        └─► tend-api #3 ─┘          (revocation LISTEN: direct ──────────►)
#
#   eval "$(bash scripts/services/stack.sh start DIR [TEND_API_BIN])"
#   bash scripts/services/stack.sh stop DIR
#   bash scripts/services/stack.sh kill-instance|start-instance DIR N   (N: 1…)
#   bash scripts/services/stack.sh stop-pg|start-pg DIR
#
# kill-instance is `kill -9` (a crash); start-instance starts it again on its
# port with its settings, and HAProxy takes it back at its next health check.
# stop-pg/start-pg stop and start PostgreSQL on the same port behind PgBouncer
# (the instances keep running and must recover on their own).
#
# start prints exports: TEND_STACK_URL (https://127.0.0.1:PORT through
# HAProxy), TEND_STACK_CA (the test CA's PEM), TEND_STACK_HOST (the name in the
# certificate), TEND_STACK_OWNER_URL (schema owner, direct), TEND_STACK_APP_URL
# (API role through PgBouncer), TEND_STACK_INSTANCES (the instances' own
# http:// URLs, space-separated, api1 first), TEND_STACK_HAPROXY_STATS (admin
# socket), TEND_STACK_DIR (DIR) and TEND_TEST_PG_URL. STACK_INSTANCES
# (default 3) sets the number of instances; TEND_API_BIN (or the argument)
# the binary, default the debug build. Extra settings for every instance: STACK_API_ENV="VAR=value …". HAProxy balances
# every request round robin: what the instances must share (challenge nonces,
# rate limits, login lockouts) lives in PostgreSQL. HAProxy connects to the
# instances from 127.0.0.2, the one address they trust for X-Forwarded-For
# (--trusted-proxy), so the test client on 127.0.0.1 is an ordinary client.
# Everything lives in DIR (logs: DIR/*.log). Needs haproxy, openssl and
# pgbouncer ≥ 1.21 (scripts/services/pgbouncer-backport.sh builds it for
# Debian 12, whose 1.18 cannot carry sqlx in transaction mode: see docs/deploy.md;
# PGBOUNCER_BIN=… STACK_ALLOW_OLD_PGBOUNCER=1 runs another one to show that).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cmd="${1:-}"
dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop|kill-instance|start-instance|stop-pg|start-pg DIR [TEND_API_BIN|N]" >&2
  exit 2
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

stop_pidfile() {
  local f="$1" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
}

wait_for() { # what, seconds, command…
  local what="$1" secs="$2"
  shift 2
  for _ in $(seq 1 $((secs * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "stack.sh: $what not ready after ${secs}s" >&2
  return 1
}

PGBOUNCER="${PGBOUNCER_BIN:-pgbouncer}"
# The address HAProxy connects to the instances from: the only one they trust
# to name the client in X-Forwarded-For.
PROXY_SOURCE=127.0.0.2

# Starts instance $1 on its port (DIR/api$1.port) with the settings in
# DIR/api.env, and waits until it is ready.
start_instance() {
  local i="$1" port
  port="$(cat "$dir/api$i.port")"
  # shellcheck source=/dev/null # written by `start`
  . "$dir/api.env"
  # shellcheck disable=SC2086 # STACK_API_ENV is a list of VAR=value words
  env TEND_DATABASE_URL="$STACK_APP_VIA_PGB" TEND_LISTEN_DATABASE_URL="$STACK_LISTEN_URL" \
    TEND_LOG="$STACK_TEND_LOG" $STACK_API_ENV \
    "$STACK_BIN" serve --bind "127.0.0.1:$port" --trusted-proxy "$PROXY_SOURCE/32" \
    >>"$dir/api$i.log" 2>&1 &
  echo $! >"$dir/api$i.pid"
  wait_for "tend-api #$i" 30 curl -fs "http://127.0.0.1:$port/readyz"
}

instance_number() {
  case "${1:-}" in
    '' | *[!0-9]*) echo "stack.sh: give the instance number (1…)" >&2; exit 2 ;;
  esac
  [ -f "$dir/api$1.port" ] || { echo "stack.sh: no instance $1 in $dir" >&2; exit 2; }
}

pgbouncer_version_ok() {
  local v
  [ "${STACK_ALLOW_OLD_PGBOUNCER:-0}" = 1 ] && return 0
  v="$("$PGBOUNCER" --version 2>/dev/null | sed -n '1s/^PgBouncer \([0-9.]*\).*/\1/p')"
  [ -n "$v" ] && dpkg --compare-versions "$v" ge 1.21
}

case "$cmd" in
  start)
    for tool in haproxy openssl pgbouncer psql curl; do
      command -v "$tool" >/dev/null || { echo "stack.sh: $tool missing; run scripts/install-deps.sh" >&2; exit 1; }
    done
    if ! pgbouncer_version_ok; then
      echo "stack.sh: $("$PGBOUNCER" --version | head -1) cannot carry sqlx's prepared statements in transaction mode;" \
        "install pgbouncer >= 1.21 (bash scripts/services/pgbouncer-backport.sh)" >&2
      exit 1
    fi
    bin="${3:-${TEND_API_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}/debug/tend-api}}"
    [ -x "$bin" ] || { echo "stack.sh: $bin not built (cargo build -p tend-api)" >&2; exit 1; }
    instances="${STACK_INSTANCES:-3}"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    # PostgreSQL and PgBouncer run as postgres and must reach their folders.
    chmod 755 "$dir"

    # PostgreSQL, one database migrated by its owner, the API's own role.
    . "$root/scripts/lib/api-stack.sh"
    api_stack_pg_start "$dir/pg" >&2
    api_stack_db tend_stack tend_api_stack >&2
    api_stack_migrate "$bin" >"$dir/migrate.log" 2>&1 || { cat "$dir/migrate.log" >&2; exit 1; }
    pg_port="$(cat "$dir/pg/port")"

    # PgBouncer in transaction mode. It authenticates the API role with that
    # role's own SCRAM verifier (as pg_authid holds it) and reuses it towards
    # PostgreSQL, so no plain password is written to disk here.
    pgb="$dir/pgbouncer"
    mkdir -p "$pgb"
    pgb_port="$(free_port)"
    psql -qAt "$TEND_TEST_PG_URL" \
      -c "SELECT '\"' || rolname || '\" \"' || rolpassword || '\"' FROM pg_authid WHERE rolname = 'tend_api_stack'" \
      >"$pgb/userlist.txt"
    # STACK_PGBOUNCER_PREPARED=0 turns the tracking off (to show sqlx failing
    # without it); =omit leaves the line out (PgBouncer < 1.21 refuses it).
    prepared="max_prepared_statements = ${STACK_PGBOUNCER_PREPARED:-200}"
    [ "${STACK_PGBOUNCER_PREPARED:-}" = omit ] && prepared=""
    cat >"$pgb/pgbouncer.ini" <<EOF
[databases]
tend_stack = host=127.0.0.1 port=$pg_port dbname=tend_stack

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pgb_port
unix_socket_dir =
pidfile = $pgb/pgbouncer.pid
logfile = $pgb/pgbouncer.log
auth_type = scram-sha-256
auth_file = $pgb/userlist.txt
pool_mode = transaction
; sqlx prepares named statements (sqlx_s_N) and caches them per connection;
; PgBouncer >= 1.21 tracks them per client and re-prepares on whichever
; server connection a transaction lands on.
$prepared
; sqlx sends extra_float_digits at startup; PgBouncer does not track it.
ignore_startup_parameters = extra_float_digits
default_pool_size = 20
max_client_conn = 1000
server_lifetime = 3600
; While PostgreSQL is down (restart, failover) a query waits at most this
; long for a server connection, then fails (08P01) and the API answers 503
; with Retry-After; the default (120 s) would leave every request hanging.
query_wait_timeout = 5
; Try PostgreSQL again this soon after a failed connection (default 15 s).
server_login_retry = 2
log_connections = 0
log_disconnections = 0
EOF
    if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$pgb"; chmod 600 "$pgb/userlist.txt"; fi
    as_pgb=()
    [ "$(id -u)" = 0 ] && as_pgb=(-u postgres)
    "$PGBOUNCER" -d "${as_pgb[@]}" "$pgb/pgbouncer.ini" >&2
    wait_for "pgbouncer" 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$pgb_port"
    app_via_pgb="postgres://tend_api_stack:$API_APP_PASSWORD@127.0.0.1:$pgb_port/tend_stack"

    # tend-api instances on loopback ports: the pool through PgBouncer, the
    # revocation listener straight to PostgreSQL. Their settings are kept
    # (owner-only: they hold the role's password) so one can be restarted.
    (
      umask 077
      {
        printf 'STACK_BIN=%q\n' "$bin"
        printf 'STACK_APP_VIA_PGB=%q\n' "$app_via_pgb"
        printf 'STACK_LISTEN_URL=%q\n' "$API_APP_URL"
        printf 'STACK_TEND_LOG=%q\n' "${TEND_LOG:-warn}"
        printf 'STACK_API_ENV=%q\n' "${STACK_API_ENV:-}"
      } >"$dir/api.env"
    )
    servers=""
    urls=""
    for i in $(seq 1 "$instances"); do
      port="$(free_port)"
      echo "$port" >"$dir/api$i.port"
      : >"$dir/api$i.log"
      start_instance "$i"
      servers="${servers}    server api$i 127.0.0.1:$port check inter 2s fall 2 rise 1
"
      urls="$urls http://127.0.0.1:$port"
    done

    # A test CA and a server certificate for 127.0.0.1 / localhost.
    tls="$dir/tls"
    mkdir -p "$tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "/CN=Tend stack test CA" -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
      -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$tls/ext.cnf"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
      -days 2 -extfile "$tls/ext.cnf" -out "$tls/server.pem" 2>/dev/null
    cat "$tls/server.pem" "$tls/server.key" >"$tls/haproxy.pem"
    chmod 600 "$tls"/*.key "$tls/haproxy.pem"

    # HAProxy terminates TLS, adds X-Forwarded-For, balances round robin over
    # the instances that answer /readyz, and names the instance that answered
    # in X-Tend-Instance (for the tests). When none answers (PostgreSQL down)
    # its own 503 says what the instances' would: UNAVAILABLE, Retry-After.
    https_port="$(free_port)"
    printf '%s\r\n' 'HTTP/1.1 503 Service Unavailable' 'Content-Type: application/json' \
      'Retry-After: 2' 'Cache-Control: no-store' 'Connection: close' '' \
      '{"error":{"code":"UNAVAILABLE","message":"no API instance is ready; try again shortly"}}' \
      >"$dir/haproxy-503.http"
    cat >"$dir/haproxy.cfg" <<EOF
global
    maxconn 4000
    nbthread ${STACK_HAPROXY_THREADS:-2}
    stats socket $dir/haproxy.sock mode 600 level admin
    ssl-default-bind-options ssl-min-ver TLSv1.2
    tune.ssl.default-dh-param 2048

defaults
    mode http
    option forwardfor
    option http-keep-alive
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    log global
    errorfile 503 $dir/haproxy-503.http

frontend tend_https
    bind 127.0.0.1:$https_port ssl crt $tls/haproxy.pem alpn h2,http/1.1
    http-request set-header X-Forwarded-Proto https
    # Password login, per client address: beyond 30 attempts in 10 s HAProxy
    # answers 429 itself, so a flood of guesses costs the instances nothing
    # (the API's own per-account and per-address limits stay the authority).
    stick-table type ip size 100k expire 60s store http_req_rate(10s)
    acl password_login path /api/auth/login
    http-request track-sc0 src if METH_POST password_login
    http-request return status 429 content-type application/json hdr Retry-After 10 hdr Cache-Control no-store string '{"error":{"code":"RATE_LIMITED","message":"too many sign-in attempts from this address; try again shortly"}}' if METH_POST password_login { sc_http_req_rate(0) gt 30 }
    default_backend tend_api

backend tend_api
    balance roundrobin
    source $PROXY_SOURCE
    option httpchk GET /readyz
    http-check expect status 200
    http-response set-header X-Tend-Instance %s
$servers
EOF
    haproxy -c -q -f "$dir/haproxy.cfg" >&2
    haproxy -D -f "$dir/haproxy.cfg" -p "$dir/haproxy.pid" >"$dir/haproxy.log" 2>&1
    wait_for "haproxy" 10 curl -fs --cacert "$tls/ca.pem" "https://localhost:$https_port/readyz"

    echo "export TEND_TEST_PG_URL=$TEND_TEST_PG_URL"
    echo "export TEND_STACK_URL=https://localhost:$https_port"
    echo "export TEND_STACK_HOST=localhost"
    echo "export TEND_STACK_CA=$tls/ca.pem"
    echo "export TEND_STACK_OWNER_URL=$API_OWNER_URL"
    echo "export TEND_STACK_APP_URL=$app_via_pgb"
    echo "export TEND_STACK_INSTANCES='${urls# }'"
    echo "export TEND_STACK_HAPROXY_STATS=$dir/haproxy.sock"
    echo "export TEND_STACK_DIR=$dir"
    ;;
  stop)
    [ -d "$dir" ] || exit 0
    stop_pidfile "$dir/haproxy.pid"
    for f in "$dir"/api*.pid; do
      [ -f "$f" ] && { kill "$(cat "$f")" 2>/dev/null || true; }
    done
    for f in "$dir"/api*.pid; do
      stop_pidfile "$f"
    done
    stop_pidfile "$dir/pgbouncer/pgbouncer.pid"
    bash "$root/scripts/services/postgres.sh" stop "$dir/pg" >/dev/null 2>&1 || true
    ;;
  kill-instance)
    instance_number "${3:-}"
    pid="$(cat "$dir/api$3.pid")"
    kill -KILL "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$dir/api$3.pid"
    ;;
  start-instance)
    instance_number "${3:-}"
    if [ -f "$dir/api$3.pid" ] && kill -0 "$(cat "$dir/api$3.pid")" 2>/dev/null; then
      echo "stack.sh: instance $3 is running" >&2
      exit 1
    fi
    start_instance "$3"
    ;;
  stop-pg)
    bash "$root/scripts/services/postgres.sh" stop "$dir/pg"
    ;;
  start-pg)
    # The same port: PgBouncer and the listeners' URLs name it.
    PG_PORT="$(cat "$dir/pg/port")" bash "$root/scripts/services/postgres.sh" start "$dir/pg" >/dev/null
    ;;
  *)
    echo "usage: $0 start|stop|kill-instance|start-instance|stop-pg|start-pg DIR [TEND_API_BIN|N]" >&2
    exit 2
    ;;
esac
