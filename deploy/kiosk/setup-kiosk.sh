#!/usr/bin/env bash
# Turns a Raspberry Pi (64-bit Raspberry Pi OS or Debian 12 arm64) — or any
# Debian 12 machine — into a Tend wall kiosk: installs cage, WebKitGTK and the
# PC/SC badge-reader stack, installs the Tend app, writes its configuration,
# creates a locked-down kiosk user, turns off screen blanking and enables a
# systemd unit that starts Tend under cage on tty1 at every boot.
# Installed by the tend package as /usr/sbin/tend-setup-kiosk.
#
#   sudo tend-setup-kiosk --server https://tend.example.org     (tend installed)
#   sudo bash setup-kiosk.sh --server https://tend.example.org \
#       --repo https://apt.tend.example.org --auto-update
#   sudo bash setup-kiosk.sh --server https://tend.example.org --deb tend_0.1.0-1_arm64.deb
#   sudo bash setup-kiosk.sh --server https://tend.example.org --binary ./tend
#
# Options:
#   --server URL          The central API (https://…; required)
#   --repo URL            Add Tend's signed APT repository and install the app from it
#   --repo-key FILE|URL   Its public key (default URL/tend-archive-keyring.gpg;
#                         a key over plain http:// needs --repo-fingerprint)
#   --repo-fingerprint FPR  Refuse the key unless it has this fingerprint
#   --suite NAME          The repository's suite (default stable)
#   --auto-update         Let unattended-upgrades install Tend updates daily
#   --deb PATH            Install the app from this .deb (scripts/package-app.sh)
#   --binary PATH         …or copy this `tend` binary to /usr/local/bin
#   --user NAME           Kiosk account (default tend-kiosk)
#   --software-rendering  Force software GL (Pi GPUs whose driver shows a blank window)
#   --root DIR            Write every file under DIR instead of / and skip apt,
#                         useradd and systemctl (a dry run, used by the tests)
# Safe to run again: it rewrites its own files and leaves others alone.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
server="" deb="" binary="" user="tend-kiosk" software=0 root=""
repo="" repo_key="" repo_fingerprint="" suite="stable" auto_update=0
die() { echo "setup-kiosk: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --server) server="${2:-}"; shift 2 ;;
    --repo) repo="${2:-}"; shift 2 ;;
    --repo-key) repo_key="${2:-}"; shift 2 ;;
    --repo-fingerprint) repo_fingerprint="${2:-}"; shift 2 ;;
    --suite) suite="${2:-}"; shift 2 ;;
    --auto-update) auto_update=1; shift ;;
    --deb) deb="${2:-}"; shift 2 ;;
    --binary) binary="${2:-}"; shift 2 ;;
    --user) user="${2:-}"; shift 2 ;;
    --software-rendering) software=1; shift ;;
    --root) root="${2:-}"; shift 2 ;;
    -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

[ -n "$server" ] || die "--server is required: the central API's address, e.g. https://tend.example.org"
case "$server" in
  https://*) ;;
  http://127.0.0.1*|http://localhost*) ;;
  *) die "--server must be an https:// address (plain http only for localhost): $server" ;;
esac
dry() { [ -n "$root" ]; }
# Run from the tend package (or after installing it), the app is there already.
installed=0
if [ "$here" = /usr/sbin ] && [ -x /usr/bin/tend ]; then
  installed=1
elif ! dry && dpkg-query -W -f='${Status}' tend 2>/dev/null | grep -q "install ok installed"; then
  installed=1
fi
[ -n "$deb" ] || [ -n "$binary" ] || [ -n "$repo" ] || [ "$installed" = 1 ] \
  || die "give the app with --repo URL, --deb PATH or --binary PATH (or install the tend package first)"
[ -z "$repo" ] || [[ "$repo" =~ ^https?://[^[:space:]]+$ ]] || die "--repo: not an http(s):// address: $repo"
[[ "$suite" =~ ^[a-z0-9][a-z0-9.+-]*$ ]] || die "--suite: not a suite name: $suite"
[ -z "$repo_fingerprint" ] || [[ "$repo_fingerprint" =~ ^[0-9A-Fa-f]{40}$ ]] \
  || die "--repo-fingerprint: give the key's full 40-digit fingerprint"
if [ -n "$repo" ] && [ -z "$repo_key" ]; then repo_key="${repo%/}/tend-archive-keyring.gpg"; fi
case "$repo_key" in
  http://*) [ -n "$repo_fingerprint" ] || die "--repo-key over plain http:// needs --repo-fingerprint (or use https:// or a file)" ;;
esac
[ "$auto_update" = 0 ] || [ -n "$repo" ] || [ -f "$root/etc/apt/sources.list.d/tend.sources" ] \
  || die "--auto-update needs Tend's repository: give --repo URL"
[ -z "$deb" ] || [ -f "$deb" ] || die "--deb: no such file: $deb"
[ -z "$binary" ] || [ -x "$binary" ] || die "--binary: not an executable file: $binary"
[[ "$user" =~ ^[a-z_][a-z0-9_-]{0,30}$ ]] || die "--user: not a valid account name: $user"
if [ -z "$root" ] && [ "$(id -u)" != 0 ]; then
  die "run as root (sudo), or use --root DIR for a dry run"
fi

home="/var/lib/$user"
config_dir="/etc/tend"
config_file="$config_dir/tend.toml"
unit_file="/etc/systemd/system/tend-kiosk.service"
tend_bin="/usr/bin/tend"
[ -z "$binary" ] || tend_bin="/usr/local/bin/tend"

step() { printf '==> %s\n' "$1"; }

# The unit template: next to this script in a source checkout, in
# /usr/share/tend/kiosk when run from the tend package.
template=""
for candidate in "$here/tend-kiosk.service.in" /usr/share/tend/kiosk/tend-kiosk.service.in; do
  if [ -f "$candidate" ]; then template="$candidate"; break; fi
done
[ -n "$template" ] || die "tend-kiosk.service.in not found next to $0 or in /usr/share/tend/kiosk"

keyring="/usr/share/keyrings/tend-archive-keyring.gpg"
if [ -n "$repo" ]; then
  step "Tend's signed APT repository $repo ($suite)"
  mkdir -p "$root/usr/share/keyrings" "$root/etc/apt/sources.list.d"
  key_tmp="$(mktemp)"
  trap 'rm -f "$key_tmp"' EXIT
  case "$repo_key" in
    http://*|https://*)
      if dry; then
        echo "    (dry run: would fetch $repo_key)"
      else
        command -v curl >/dev/null || { apt-get update && apt-get install -y --no-install-recommends curl ca-certificates; }
        curl -fsSL --proto '=https,http' -o "$key_tmp" "$repo_key" || die "could not fetch the key $repo_key"
      fi ;;
    *) [ -f "$repo_key" ] || die "--repo-key: no such file: $repo_key"
       cp "$repo_key" "$key_tmp" ;;
  esac
  if [ -s "$key_tmp" ]; then
    if [ -n "$repo_fingerprint" ]; then
      command -v gpg >/dev/null || { dry && die "--repo-fingerprint needs gpg"; apt-get install -y --no-install-recommends gpg; }
      fingerprints="$(gpg --show-keys --with-colons "$key_tmp" 2>/dev/null | awk -F: '$1 == "fpr" { print $10 }')"
      echo "$fingerprints" | grep -qix "$repo_fingerprint" \
        || die "the repository key's fingerprint is not $repo_fingerprint (it has: ${fingerprints:-none})"
    fi
    install -m 0644 "$key_tmp" "$root$keyring"
  fi
  cat > "$root/etc/apt/sources.list.d/tend.sources" <<SOURCES
# Written by setup-kiosk.sh: Tend's signed APT repository (see docs/kiosk.md).
Types: deb
URIs: $repo
Suites: $suite
Components: main
Signed-By: $keyring
SOURCES
  chmod 0644 "$root/etc/apt/sources.list.d/tend.sources"
fi

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
elif [ -z "$deb" ] && [ -z "$repo" ]; then
  echo "    the tend package is installed: $(/usr/bin/tend --version 2>/dev/null || echo '?')"
elif dry; then
  echo "    (dry run: would install ${deb:-tend from $repo})"
elif [ -n "$deb" ]; then
  apt-get install -y "$(realpath "$deb")"
else
  apt-get install -y tend
fi

if [ "$auto_update" = 1 ]; then
  step "automatic updates of Tend (unattended-upgrades, origin Tend)"
  if dry; then
    echo "    (dry run: would install unattended-upgrades)"
  else
    apt-get install -y --no-install-recommends unattended-upgrades
  fi
  mkdir -p "$root/etc/apt/apt.conf.d"
  # Origin and Label are set in the repository's conf/distributions by
  # scripts/release.sh. An upgrade never restarts the running kiosk: the app
  # restarts into the new version once nobody is signed in.
  cat > "$root/etc/apt/apt.conf.d/51tend-unattended-upgrades" <<'APTCONF'
// Written by setup-kiosk.sh: install Tend's updates from its signed repository.
Unattended-Upgrade::Origins-Pattern:: "origin=Tend,label=Tend";
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
APTCONF
  chmod 0644 "$root/etc/apt/apt.conf.d/51tend-unattended-upgrades"
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
    "$template" > "$root$unit_file"
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
printf '%s\n' "# Written by setup-kiosk.sh." \
  "consoleblank=0 set where a kernel command line file exists; cage itself never blanks." \
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
