#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and benchmarks.
#   eval "$(bash scripts/services/postgres.sh start DIR)"   # exports TEND_TEST_PG_URL
#   bash scripts/services/postgres.sh stop DIR
# The cluster lives entirely in DIR (data, log, socket lock), listens on
# 127.0.0.1 on a free port (PG_PORT=… to start it again on the port it had), and has a superuser `tend_admin` with a random
# password; TEND_TEST_PG_URL is that superuser's URL (tests create one database
# each, migrate as owner and connect the API as a separate non-owner role).
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
cmd="${1:-}"
dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop|url STATEDIR" >&2
  exit 2
fi

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/bash -c "$*"
  else
    bash -c "$*"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

case "$cmd" in
  start)
    if [ ! -x "$PG_BIN/initdb" ]; then
      echo "postgres.sh: $PG_BIN/initdb not found; install the Debian package postgresql (15)" >&2
      exit 1
    fi
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; chmod 700 "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      password="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
      pwfile="$dir/pwfile"
      printf '%s\n' "$password" >"$pwfile"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$pwfile"
      as_pg "'$PG_BIN/initdb' -D '$dir/data' -U tend_admin --pwfile='$pwfile' -A scram-sha-256 --auth-local=trust -E UTF8 --locale=C.UTF-8" >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
      rm -f "$pwfile"
      printf '%s' "$password" >"$dir/admin.password"
      chmod 600 "$dir/admin.password"
    fi
    port="${PG_PORT:-$(free_port)}"
    echo "$port" >"$dir/port"
    # Tests open many short-lived databases: allow enough connections, and
    # trade durability for speed (this cluster is disposable). PG_EXTRA_OPTIONS
    # adds server settings ("-c name=value …"), e.g. for a benchmark's bulk load.
    as_pg "'$PG_BIN/pg_ctl' -D '$dir/data' -l '$dir/data/server.log' -w -t 60 start \
      -o \"-p $port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off \
      -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=512MB ${PG_EXTRA_OPTIONS:-}\"" >&2
    password="$(cat "$dir/admin.password")"
    echo "export TEND_TEST_PG_URL=postgres://tend_admin:${password}@127.0.0.1:${port}/postgres"
    ;;
  url)
    echo "export TEND_TEST_PG_URL=postgres://tend_admin:$(cat "$dir/admin.password")@127.0.0.1:$(cat "$dir/port")/postgres"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_pg "'$PG_BIN/pg_ctl' -D '$dir/data' -m fast -w stop" >&2 || true
    fi
    ;;
  *)
    echo "usage: $0 start|stop|url STATEDIR" >&2
    exit 2
    ;;
esac
