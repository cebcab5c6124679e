#!/usr/bin/env bash
# Installs every system package Tend's build, app and tests need on a fresh
# Debian 12 / Ubuntu machine. Idempotent: cheap to run when all is present.
set -euo pipefail

APT_PACKAGES=(
  # Rust crates that build C, and Tauri 2's Linux build deps
  build-essential pkg-config libssl-dev curl ca-certificates
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  # headless app window + WebDriver end-to-end tests + screenshots
  xvfb webkit2gtk-driver imagemagick xauth
  # xwininfo/xprop: the E2E kiosk journeys read the window's X11 state;
  # openbox: a real window manager, to prove the kiosk window goes fullscreen
  x11-utils openbox
  # central API database; promtool (package prometheus) checks /metrics;
  # zstd decompresses in the sync benchmark
  postgresql postgresql-client prometheus zstd
  # badge readers: PC/SC stack with the virtual reader
  pcscd libpcsclite-dev vsmartcard-vpcd
  # Secret Service (OS keyring) in a headless D-Bus session
  gnome-keyring dbus-daemon dbus-bin libdbus-1-dev
  # SQLite CLI (proves the vault is not plain SQLite) and load generation
  sqlite3 wrk hyperfine
  # kiosk deployment: the generated systemd unit is verified against the real
  # cage compositor, and deploy/kiosk/setup-kiosk.sh is linted
  cage systemd shellcheck
  # central API packaging: the .deb is built with dpkg-deb (dpkg-dev's
  # dpkg-shlibdeps for Depends) and checked with lintian
  dpkg-dev lintian
  # multi-instance stack: HAProxy terminating TLS with a test CA made by
  # openssl, PgBouncer in transaction mode (>= 1.21, see below)
  haproxy openssl pgbouncer
  # Node.js for the UI build (Debian's, used only when none is installed)
  python3 python3-venv
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs npm); fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
fi

# Debian 12's pgbouncer 1.18 cannot carry sqlx's named prepared statements in
# transaction mode (1.21 added max_prepared_statements); rebuild Debian's
# trixie package for bookworm when the installed one is older (no-op otherwise).
bash "$(dirname "$0")/services/pgbouncer-backport.sh"

# Never let pcscd/postgres started by the package's postinst linger here; the
# test scripts start their own instances with known settings.
if ! command -v cargo >/dev/null 2>&1; then
  echo "install-deps: cargo not found; install Rust with rustup first (https://rustup.rs)" >&2
  exit 1
fi
command -v cargo-nextest >/dev/null 2>&1 || cargo install cargo-nextest --locked
command -v tauri-driver >/dev/null 2>&1 || cargo install tauri-driver --locked
echo "install-deps: ok"
