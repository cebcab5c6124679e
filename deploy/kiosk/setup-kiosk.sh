#!/usr/bin/env bash
# Turns a Raspberry Pi (64-bit Raspberry Pi OS or Debian 12 arm64) — or any
# Debian 12 machine — into a Tend wall kiosk: installs cage, WebKitGTK and the
# PC/SC badge-reader stack, installs the Tend app, writes its configuration,
# creates a locked-down kiosk user, turns off screen blanking and enables a
# systemd unit that starts Tend under cage on tty1 at every boot.
#
#   sudo bash setup-kiosk.sh --server https://tend.example.org --deb tend_0.1.0_arm64.deb
#   sudo bash setup-kiosk.sh --server https://tend.example.org --binary ./tend
#
# Options:
#   --server URL          The central API (https://…; required)
#   --deb PATH            Install the app from this .deb (built by `cargo tauri build`)
#   --binary PATH         …or copy this `tend` binary to /usr/local/bin
#   --user NAME           Kiosk account (default tend-kiosk)
#   --software-rendering  Force software GL (Pi GPUs whose driver shows a blank window)
#   --root DIR            Write every file under DIR instead of / and skip apt,
#                         useradd and systemctl (a dry run, used by the tests)
# Safe to run again: it rewrites its own files and leaves others alone.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
server="" deb="" binary="" user="tend-kiosk" software=0 root=""
die() { echo "setup-kiosk: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --server) server="${2:-}"; shift 2 ;;
    --deb) deb="${2:-}"; shift 2 ;;
    --binary) binary="${2:-}"; shift 2 ;;
    --user) user="${2:-}"; shift 2 ;;
    --software-rendering) software=1; shift ;;
    --root) root="${2:-}"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

[ -n "$server" ] || die "--server is required: the central API's address, e.g. https://tend.example.org"
case "$server" in
  https://*) ;;
  http://127.0.0.1*|http://localhost*) ;;
  *) die "--server must be an https:// address (plain http only for localhost): $server" ;;
esac
[ -n "$deb" ] || [ -n "$binary" ] || die "give the app with --deb PATH or --binary PATH"
[ -z "$deb" ] || [ -f "$deb" ] || die "--deb: no such file: $deb"
[ -z "$binary" ] || [ -x "$binary" ] || die "--binary: not an executable file: $binary"
[[ "$user" =~ ^[a-z_][a-z0-9_-]{0,30}$ ]] || die "--user: not a valid account name: $user"
if [ -z "$root" ] && [ "$(id -u)" != 0 ]; then
  die "run as root (sudo), or use --root DIR for a dry run"
fi

dry() { [ -n "$root" ]; }
home="/var/lib/$user"
config_dir="/etc/tend"
config_file="$config_dir/tend.toml"
unit_file="/etc/systemd/system/tend-kiosk.service"
tend_bin="/usr/bin/tend"
[ -z "$binary" ] || tend_bin="/usr/local/bin/tend"

step() { printf '==> %s\n' "$1"; }

step "packages: cage, WebKitGTK, PC/SC (pcscd + CCID driver), fonts"
if dry; then
  echo "    (dry run: skipped)"
else
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends cage libwebkit2gtk-4.1-0 libgtk-3-0 \
    pcscd libccid fonts-dejavu-core dbus-user-session
  systemctl enable --now pcscd.socket
fi

step "the Tend app"
mkdir -p "$root$(dirname "$tend_bin")"
if [ -n "$binary" ]; then
  install -m 0755 "$binary" "$root$tend_bin"
elif dry; then
  echo "    (dry run: would install $deb)"
else
  apt-get install -y "$(realpath "$deb")"
fi

step "kiosk account $user (no password, no shell login, video/input/render access)"
if dry; then
  mkdir -p "$root$home"
else
  if ! id "$user" >/dev/null 2>&1; then
    useradd --system --home-dir "$home" --create-home --shell /usr/sbin/nologin "$user"
  fi
  for group in video render input; do
    if getent group "$group" >/dev/null; then usermod -aG "$group" "$user"; fi
  done
  passwd -l "$user" >/dev/null
fi

step "configuration $config_file"
mkdir -p "$root$config_dir"
cat > "$root$config_file" <<TOML
# Written by setup-kiosk.sh. See docs/kiosk.md.
profile = "kiosk"
server_url = "$server"
data_dir = "$home/data"
# Kiosks set the WebKitGTK DMA-BUF workaround (blank windows on Pi GPUs).
webkit_dmabuf_workaround = true
TOML
chmod 0644 "$root$config_file"

step "systemd unit $unit_file"
mkdir -p "$root$(dirname "$unit_file")"
software_env="# Software rendering: off (pass --software-rendering to force it)."
if [ "$software" = 1 ]; then
  software_env="Environment=LIBGL_ALWAYS_SOFTWARE=1 WEBKIT_DISABLE_COMPOSITING_MODE=1"
fi
sed -e "s|@KIOSK_USER@|$user|g" -e "s|@CONFIG_FILE@|$config_file|g" \
    -e "s|@TEND_BIN@|$tend_bin|g" -e "s|@SOFTWARE_RENDERING@|$software_env|g" \
    "$here/tend-kiosk.service.in" > "$root$unit_file"
chmod 0644 "$root$unit_file"

step "screen blanking off (console and kernel)"
# The kernel blanks the console after 10 minutes unless consoleblank=0; a wall
# kiosk must stay visible. Raspberry Pi OS keeps the kernel command line in
# /boot/firmware/cmdline.txt (older releases: /boot/cmdline.txt).
for cmdline in /boot/firmware/cmdline.txt /boot/cmdline.txt; do
  if [ -f "$root$cmdline" ]; then
    if ! grep -q 'consoleblank=0' "$root$cmdline"; then
      sed -i '1 s/$/ consoleblank=0/' "$root$cmdline"
    fi
    break
  fi
done
mkdir -p "$root/etc/tend"
echo "consoleblank=0 set where a kernel command line file exists; cage itself never blanks." \
  > "$root/etc/tend/blanking.txt"

step "start at boot"
if dry; then
  echo "    (dry run: would disable getty@tty1 and enable tend-kiosk.service)"
else
  systemctl daemon-reload
  systemctl disable getty@tty1.service >/dev/null 2>&1 || true
  systemctl set-default graphical.target
  systemctl enable tend-kiosk.service
  echo "Tend kiosk installed. Reboot (or: systemctl start tend-kiosk) to start it."
  echo "The kiosk then shows first-run setup: enter the enrollment code from the admin console."
fi
