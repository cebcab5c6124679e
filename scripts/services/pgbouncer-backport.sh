#!/usr/bin/env bash
# Installs PgBouncer >= 1.21 on Debian 12 by rebuilding Debian's own trixie
# source package for bookworm (a local backport; nothing outside Debian).
#
# Why: sqlx prepares named statements (sqlx_s_N) and keeps them per
# connection. In transaction mode PgBouncer hands each transaction to any
# server connection, so before 1.21 those names are missing ("prepared
# statement does not exist") or belong to another client ("already exists").
# PgBouncer 1.21 added max_prepared_statements, which tracks them per client.
# Debian 12 ships 1.18 and bookworm-backports has no pgbouncer (checked
# 2026-12); trixie has 1.24. See docs/deploy.md, "PgBouncer".
#
#   bash scripts/services/pgbouncer-backport.sh      # no-op when pgbouncer >= 1.21 is installed
# Run as root (or with sudo). Takes about 2 minutes on 2 cores; the .deb is
# kept in /var/cache/tend/pgbouncer-backport/ and reused.
set -euo pipefail

SUITE="${PGBOUNCER_SOURCE_SUITE:-trixie}"
cache="${PGBOUNCER_BACKPORT_CACHE:-/var/cache/tend/pgbouncer-backport}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

installed="$(dpkg-query -W -f='${Version}' pgbouncer 2>/dev/null || true)"
if [ -n "$installed" ] && dpkg --compare-versions "$installed" ge 1.21; then
  exit 0
fi

shopt -s nullglob
debs=("$cache"/pgbouncer_*~bpo12+tend1_*.deb)
if [ ${#debs[@]} -eq 0 ]; then
  echo "pgbouncer-backport: building pgbouncer from Debian $SUITE for bookworm" >&2
  $SUDO mkdir -p "$cache"
  work="$(mktemp -d /tmp/pgbouncer-backport.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  # A private apt state with only the source suite, so the machine's own
  # sources and package lists stay as they are.
  mkdir -p "$work/lists/partial"
  cat >"$work/src.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt_opts=(-o Dir::Etc::sourcelist="$work/src.sources" -o Dir::Etc::sourceparts=/dev/null
    -o Dir::State::Lists="$work/lists" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=)
  $SUDO apt-get "${apt_opts[@]}" -o DPkg::Lock::Timeout=600 update -qq
  # Build dependencies from the source package (the test-only ones skipped).
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
    dpkg-dev debhelper libevent-dev libc-ares-dev libpam0g-dev libsystemd-dev libpq-dev libssl-dev pkgconf pandoc python3
  (cd "$work" && $SUDO apt-get "${apt_opts[@]}" source --download-only pgbouncer >/dev/null 2>&1)
  (cd "$work" && dpkg-source -x ./pgbouncer_*.dsc src >/dev/null)
  upstream_version="$(cd "$work/src" && dpkg-parsechangelog -S Version)"
  {
    printf 'pgbouncer (%s~bpo12+tend1) bookworm; urgency=medium\n\n' "$upstream_version"
    printf '  * Rebuilt for Debian 12 (bookworm) from the %s source package.\n\n' "$SUITE"
    printf ' -- Tend Maintainers <maintainers@users.noreply.r-seed-499d5138.example>  %s\n\n' "$(date -R)"
    cat "$work/src/debian/changelog"
  } >"$work/changelog" && mv "$work/changelog" "$work/src/debian/changelog"
  (cd "$work/src" && DEB_BUILD_OPTIONS=nocheck nice dpkg-buildpackage -b -uc -us -d >"$work/build.log" 2>&1) \
    || { tail -30 "$work/build.log" >&2; exit 1; }
  $SUDO cp "$work"/pgbouncer_*~bpo12+tend1_*.deb "$cache/"
  debs=("$cache"/pgbouncer_*~bpo12+tend1_*.deb)
fi
# The packaged service is not started here (policy-rc.d or no systemd); the
# test scripts run their own pgbouncer with their own settings.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
  --allow-downgrades "${debs[0]}" >/dev/null
pgbouncer --version | head -1 >&2
