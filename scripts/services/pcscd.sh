#!/usr/bin/env bash
# Runs a PC/SC daemon (pcscd) with vsmartcard's virtual readers for tests:
# "Virtual PCD 00 00" and "Virtual PCD 00 01", waiting for a virtual card on
# TCP 35963 and 35964 (see crates/tend-badge/src/virtual_card.rs).
#
#   scripts/services/pcscd.sh start   <statedir> [--no-readers]   prints `export ...` lines
#   scripts/services/pcscd.sh stop    <statedir>
#   scripts/services/pcscd.sh restart <statedir> [--no-readers]
#   scripts/services/pcscd.sh status  <statedir>
#
# Usage in CI:  eval "$(scripts/services/pcscd.sh start "$STATE/pcscd")"
# --no-readers starts the service without any reader (the "all readers
# unplugged" state of the reader-restored test). pcscd's log is <statedir>/pcscd.log.
# Needs the Debian packages pcscd and vsmartcard-vpcd; nothing else.
# vpcd listens on all interfaces: never install it on a production device.
set -euo pipefail

COMM=/run/pcscd/pcscd.comm
SYSTEM_PIDFILE=/run/pcscd/pcscd.pid
VPCD_DRIVER=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
PORTS_HEX=(8C7B 8C7C) # 35963, 35964

die() { echo "pcscd.sh: $*" >&2; exit 1; }

usage() {
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# A process that exists and is not a zombie (pcscd may be reparented to a
# PID 1 that does not reap it).
alive() {
  local pid=$1 state
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f1)
  [ "$state" != Z ]
}

read_pid() { [ -f "$1" ] && tr -dc '0-9' < "$1" || true; }

# Whether vpcd is listening on a port (given in hex), without connecting to it:
# a connection would insert a virtual card.
listening() {
  grep -qiE "^ *[0-9]+: [0-9A-F]+:$1 [0-9A-F]+:[0-9A-F]+ 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

start() {
  local dir=$1 readers=$2 pid
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  command -v pcscd >/dev/null || die "pcscd is not installed (apt-get install pcscd vsmartcard-vpcd)"
  [ -f "$VPCD_DRIVER" ] || die "vsmartcard-vpcd is not installed (apt-get install vsmartcard-vpcd)"

  pid=$(read_pid "$dir/pcscd.pid")
  if alive "$pid"; then
    echo "pcscd.sh: pcscd already running (pid $pid)" >&2
  else
    pid=$(read_pid "$SYSTEM_PIDFILE")
    if alive "$pid"; then
      die "another pcscd (pid $pid) is running; stop it first (kill $pid)"
    fi
    local args=(--foreground)
    if [ "$readers" = no ]; then
      : > "$dir/no-readers.conf"
      args+=(--config "$dir/no-readers.conf")
    else
      # The package's /etc/reader.conf.d/vpcd, written here so the set of
      # readers does not depend on what else is installed.
      cat > "$dir/reader.conf" <<EOF
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:0x8C7B
LIBPATH      $VPCD_DRIVER
CHANNELID    0x8C7B
EOF
      args+=(--config "$dir/reader.conf")
    fi
    echo "=== $(date -u +%FT%TZ) start ${args[*]}" >> "$dir/pcscd.log"
    # setsid: not killed with the caller's process group; stdio detached so a
    # caller capturing our output does not wait for pcscd to exit.
    setsid pcscd "${args[@]}" < /dev/null >> "$dir/pcscd.log" 2>&1 &
    pid=$!
    echo "$pid" > "$dir/pcscd.pid"
    echo "$readers" > "$dir/readers"
  fi

  local deadline=$((SECONDS + 15)) ready=no
  while [ $SECONDS -lt $deadline ]; do
    alive "$pid" || { tail -20 "$dir/pcscd.log" >&2; die "pcscd exited during start-up"; }
    if [ -S "$COMM" ]; then
      ready=yes
      if [ "$(cat "$dir/readers")" != no ]; then
        for port in "${PORTS_HEX[@]}"; do listening "$port" || ready=no; done
      fi
      [ $ready = yes ] && break
    fi
    sleep 0.1
  done
  [ $ready = yes ] || { tail -20 "$dir/pcscd.log" >&2; die "pcscd did not become ready in 15 s"; }

  echo "export TEND_TEST_PCSC=1"
  echo "export TEND_PCSCD_STATEDIR=$dir"
  echo "export TEND_PCSCD_SCRIPT=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
}

stop() {
  local dir=$1 pid
  pid=$(read_pid "$dir/pcscd.pid")
  if ! alive "$pid"; then
    rm -f "$dir/pcscd.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  if alive "$pid"; then
    echo "pcscd.sh: pcscd (pid $pid) ignored SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
    rm -f "$COMM"
  fi
  rm -f "$dir/pcscd.pid"
  echo "=== $(date -u +%FT%TZ) stopped" >> "$dir/pcscd.log"
}

status() {
  local dir=$1 pid
  pid=$(read_pid "$dir/pcscd.pid")
  if alive "$pid"; then
    echo "pcscd running (pid $pid, readers: $(cat "$dir/readers" 2>/dev/null || echo yes))"
  else
    echo "pcscd not running"
    return 1
  fi
}

[ $# -ge 2 ] || usage
command=$1
dir=$2
readers=yes
[ "${3:-}" = --no-readers ] && readers=no

case "$command" in
  start) start "$dir" "$readers" ;;
  stop) stop "$dir" ;;
  restart) stop "$dir" && start "$dir" "$readers" ;;
  status) status "$dir" ;;
  *) usage ;;
esac
