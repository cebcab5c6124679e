# shellcheck shell=bash disable=SC2034 # the DEMO_*_NOTE values are read by the sourcing script
# The machine services the demo (scripts/run.sh) needs beyond the API: a
# badge-reader service with the virtual reader the printed tap command talks
# to, and a Secret Service for the vault's key. Sourced, not run:
#
#   . scripts/lib/demo-services.sh
#   demo_services_start "$state_dir"   # sets DEMO_READER_NOTE, DEMO_KEYRING_NOTE;
#                                      # may export DBUS_SESSION_BUS_ADDRESS & co.
#   trap demo_services_stop EXIT       # stops only what demo_services_start started
#
# Each is started only when the machine has none, with the same scripts the
# tests use (scripts/services/pcscd.sh, scripts/services/keyring.sh). Never
# source this on a production device: vsmartcard-vpcd's reader accepts a
# "card" from anyone who can reach its TCP port.

DEMO_SERVICES_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEMO_PCSCD_STATE=""   # set when this script started pcscd
DEMO_KEYRING_STATE="" # set when this script started the D-Bus session + gnome-keyring
DEMO_READER_NOTE=""
DEMO_KEYRING_NOTE=""
DEMO_SUDO=""
if [ "$(id -u)" != 0 ]; then DEMO_SUDO="sudo"; fi

# The pid of a live (not zombie) pcscd, if any; /proc only (no procps needed).
demo_pcscd_pid() {
  local stat pid state
  for stat in /proc/[0-9]*/stat; do
    pid=${stat#/proc/}
    pid=${pid%/stat}
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = pcscd ] || continue
    state=$(sed 's/^.*) //' "$stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$state" ] && [ "$state" != Z ] && { echo "$pid"; return 0; }
  done
  return 1
}

# Whether the virtual reader 'Virtual PCD 00 00' waits for a card on TCP 35963
# (0x8C7B), checked without connecting (a connection would insert a card).
demo_vpcd_listening() {
  grep -qiE "^ *[0-9]+: [0-9A-F]+:8C7B [0-9A-F]+:[0-9A-F]+ 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

demo_pcscd_start() {
  local dir=$1/pcscd pid
  if pid=$(demo_pcscd_pid); then
    # Someone else's (the desktop's, or a test run's): use it, never restart it.
    if demo_vpcd_listening; then
      DEMO_READER_NOTE="the running pcscd, pid $pid"
    else
      DEMO_READER_NOTE="the running pcscd (pid $pid) has no vsmartcard-vpcd reader on port 35963: the tap cannot reach it"
    fi
    return 0
  fi
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet pcscd.socket 2>/dev/null; then
    # Socket-activated by systemd; the package's /etc/reader.conf.d/vpcd adds the reader.
    DEMO_READER_NOTE="the system's pcscd (socket-activated)"
    return 0
  fi
  echo "run: no pcscd running; starting it with the virtual reader (log: $dir/pcscd.log)"
  if $DEMO_SUDO bash "$DEMO_SERVICES_ROOT/scripts/services/pcscd.sh" start "$dir" >/dev/null; then
    DEMO_PCSCD_STATE=$dir
    DEMO_READER_NOTE="pcscd with vsmartcard-vpcd, started for this run"
  else
    echo "run: pcscd did not start; badge taps will not work (password login still does)" >&2
    DEMO_READER_NOTE="NOT available: pcscd did not start, see $dir/pcscd.log"
  fi
}

# Whether the session bus has a Secret Service, running or activatable.
demo_has_secret_service() {
  [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] && command -v dbus-send >/dev/null 2>&1 || return 1
  local method
  for method in NameHasOwner ListActivatableNames; do
    local args=()
    [ $method = NameHasOwner ] && args=(string:org.freedesktop.secrets)
    if dbus-send --session --print-reply --reply-timeout=1000 --dest=org.freedesktop.DBus \
      /org/freedesktop/DBus "org.freedesktop.DBus.$method" "${args[@]}" 2>/dev/null |
      grep -qE 'boolean true|"org\.freedesktop\.secrets"'; then
      return 0
    fi
  done
  return 1
}

demo_keyring_start() {
  local dir=$1/keyring exports
  if demo_has_secret_service; then
    DEMO_KEYRING_NOTE="in this session's Secret Service"
    return 0
  fi
  echo "run: no Secret Service in this session; starting a private D-Bus session with gnome-keyring"
  # keyring.sh unlocks its keyring with a fixed password: on this machine it
  # guards the key as well as the folder's 0700 permissions do, but the app
  # takes the same keyring path a desktop session's unlocked keyring gives it.
  if exports=$(bash "$DEMO_SERVICES_ROOT/scripts/services/keyring.sh" start "$dir"); then
    DEMO_KEYRING_STATE=$dir
    eval "$exports"
    unset TEND_TEST_SECRET_SERVICE # a test switch, not for the app
    DEMO_KEYRING_NOTE="in gnome-keyring on a private D-Bus session started for this run (kept in $dir)"
  else
    echo "run: the Secret Service did not start; the vault falls back to its key file" >&2
    DEMO_KEYRING_NOTE="key file (the Secret Service did not start, see $dir/gnome-keyring.log)"
  fi
}

demo_services_start() {
  demo_pcscd_start "$1"
  demo_keyring_start "$1"
}

demo_services_stop() {
  if [ -n "$DEMO_KEYRING_STATE" ]; then
    bash "$DEMO_SERVICES_ROOT/scripts/services/keyring.sh" stop "$DEMO_KEYRING_STATE" || true
    DEMO_KEYRING_STATE=""
  fi
  if [ -n "$DEMO_PCSCD_STATE" ]; then
    $DEMO_SUDO bash "$DEMO_SERVICES_ROOT/scripts/services/pcscd.sh" stop "$DEMO_PCSCD_STATE" || true
    DEMO_PCSCD_STATE=""
  fi
}
