#!/usr/bin/env bash
# Runs a private D-Bus session bus with gnome-keyring's Secret Service on it,
# for the vault's keyring tests (crates/tend-core/tests/vault_keyring.rs).
#
#   scripts/services/keyring.sh start  <statedir> [--locked]   prints `export ...` lines
#   scripts/services/keyring.sh stop   <statedir>
#   scripts/services/keyring.sh status <statedir>
#
# --locked: the login keyring exists but is locked (a kiosk whose session did
# not unlock it): reads answer, new items are refused.
# Usage in CI:  eval "$(bash scripts/services/keyring.sh start "$STATE/keyring")"
# The exports point DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR and
# XDG_DATA_HOME into <statedir> and set TEND_TEST_SECRET_SERVICE=1, which makes
# the Secret Service tests fail (not skip) when the service is unreachable.
# Logs: <statedir>/dbus.log, <statedir>/gnome-keyring.log.
# Needs the Debian packages dbus-daemon, dbus-bin and gnome-keyring.
set -euo pipefail

# Unlocks the test keyring; it only guards throwaway test secrets.
PASSWORD=tend-test-keyring

die() { echo "keyring.sh: $*" >&2; exit 1; }

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

alive() {
  local pid=$1 state
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f1)
  [ "$state" != Z ]
}

read_pid() { [ -f "$1" ] && tr -dc '0-9' < "$1" || true; }

has_owner() {
  DBUS_SESSION_BUS_ADDRESS=$1 dbus-send --session --print-reply --reply-timeout=1000 \
    --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
    string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'
}

start() {
  local dir=$1 locked=$2 pid i
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  for tool in dbus-daemon dbus-send gnome-keyring-daemon; do
    command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install dbus-daemon dbus-bin gnome-keyring)"
  done
  mkdir -p "$dir/data" "$dir/runtime"
  chmod 700 "$dir/data" "$dir/runtime"
  export XDG_DATA_HOME=$dir/data XDG_RUNTIME_DIR=$dir/runtime
  local bus=$dir/runtime/bus
  local address=unix:path=$bus

  pid=$(read_pid "$dir/dbus.pid")
  if alive "$pid"; then
    echo "keyring.sh: dbus-daemon already running (pid $pid)" >&2
  else
    rm -f "$bus"
    # setsid and detached stdio: the bus outlives this script and a caller
    # capturing our output does not wait for it.
    setsid dbus-daemon --session --nofork --nopidfile --address="$address" \
      < /dev/null >> "$dir/dbus.log" 2>&1 &
    echo $! > "$dir/dbus.pid"
    for i in $(seq 100); do
      [ -S "$bus" ] && break
      sleep 0.05
    done
    [ -S "$bus" ] || die "dbus-daemon did not create $bus (see $dir/dbus.log)"
  fi
  export DBUS_SESSION_BUS_ADDRESS=$address

  pid=$(read_pid "$dir/gnome-keyring.pid")
  if alive "$pid"; then
    echo "keyring.sh: gnome-keyring-daemon already running (pid $pid)" >&2
  else
    # --unlock reads the login keyring's password from stdin (and creates the
    # keyring under XDG_DATA_HOME the first time).
    printf '%s' "$PASSWORD" | setsid gnome-keyring-daemon --foreground --unlock \
      --components=secrets >> "$dir/gnome-keyring.log" 2>&1 &
    echo $! > "$dir/gnome-keyring.pid"
  fi
  wait_for_owner "$address" "$dir"
  if [ "$locked" = yes ]; then
    # The unlocked start created the login keyring; start again without
    # --unlock so it stays locked.
    stop_pid "$dir/gnome-keyring.pid"
    for i in $(seq 50); do
      has_owner "$address" || break
      sleep 0.1
    done
    setsid gnome-keyring-daemon --foreground --components=secrets \
      < /dev/null >> "$dir/gnome-keyring.log" 2>&1 &
    echo $! > "$dir/gnome-keyring.pid"
    wait_for_owner "$address" "$dir"
  fi

  echo "export DBUS_SESSION_BUS_ADDRESS='$address'"
  echo "export XDG_RUNTIME_DIR='$dir/runtime'"
  echo "export XDG_DATA_HOME='$dir/data'"
  echo "export TEND_TEST_SECRET_SERVICE=1"
}

wait_for_owner() {
  local address=$1 dir=$2 i
  for i in $(seq 100); do
    has_owner "$address" && return 0
    sleep 0.1
  done
  die "org.freedesktop.secrets has no owner on $address (see $dir/gnome-keyring.log)"
}

stop_pid() {
  local file=$1 pid i
  pid=$(read_pid "$file")
  if alive "$pid"; then
    kill "$pid" 2>/dev/null || true
    for i in $(seq 50); do
      alive "$pid" || break
      sleep 0.1
    done
    alive "$pid" && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  stop_pid "$dir/gnome-keyring.pid"
  stop_pid "$dir/dbus.pid"
}

status() {
  local dir=$1
  dir=$(cd "$dir" && pwd)
  if has_owner "unix:path=$dir/runtime/bus"; then
    echo "Secret Service running on unix:path=$dir/runtime/bus"
  else
    echo "Secret Service not running"
    return 1
  fi
}

[ $# -ge 2 ] || usage
case $1 in
  start)
    case ${3:-} in
      "") start "$2" no ;;
      --locked) start "$2" yes ;;
      *) usage ;;
    esac
    ;;
  stop) stop "$2" ;;
  status) status "$2" ;;
  *) usage ;;
esac
