#!/usr/bin/env bash
# Publishes Tend .debs into a signed APT repository (reprepro + gpg), the one
# kiosks and laptops install and update from (docs/kiosk.md):
#   REPO/dists/CODENAME/{InRelease,Release,Release.gpg}  signed with the release key
#   REPO/pool/main/t/tend/tend_…_{amd64,arm64}.deb
#   REPO/tend-archive-keyring.gpg                       the public key, for signed-by=
# Serve REPO with any web server (https preferred; APT checks the signature
# either way). Its Origin and Label ("Tend") are what unattended-upgrades
# matches (Unattended-Upgrade::Origins-Pattern "origin=Tend,label=Tend").
#
#   usage: TEND_RELEASE_KEY=<fingerprint> scripts/release.sh REPO [tend_….deb …]
#   TEND_RELEASE_KEY   the signing key (fingerprint or id) in GNUPGHOME (required)
#   GNUPGHOME          the keyring holding it (gpg's default otherwise)
#   TEND_RELEASE_CODENAME  the distribution (default stable)
# Without .debs it re-exports (and so re-signs) what the repository holds,
# e.g. after the signing key changed. Installs reprepro and gnupg if missing.
set -euo pipefail
say() { echo "release: $*" >&2; }
[ $# -ge 1 ] || { say "usage: TEND_RELEASE_KEY=<fingerprint> $0 REPO [tend_….deb …]"; exit 2; }
repo="$1"
shift
key="${TEND_RELEASE_KEY:-}"
[ -n "$key" ] || { say "set TEND_RELEASE_KEY to the signing key's fingerprint (in GNUPGHOME)"; exit 2; }
codename="${TEND_RELEASE_CODENAME:-stable}"
[[ "$codename" =~ ^[a-z0-9][a-z0-9.+-]*$ ]] || { say "TEND_RELEASE_CODENAME: not a distribution name: $codename"; exit 2; }

need=()
command -v reprepro >/dev/null || need+=(reprepro)
command -v gpg >/dev/null || need+=(gnupg)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# The key must be there and able to sign (a secret key), or reprepro fails late.
fingerprint="$(gpg --batch --with-colons --list-secret-keys "$key" 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')"
[ -n "$fingerprint" ] || { say "no secret key $key in ${GNUPGHOME:-~/.gnupg}"; exit 1; }
for deb in "$@"; do
  [ -f "$deb" ] || { say "no such file: $deb"; exit 1; }
  [ "$(dpkg-deb -f "$deb" Package)" = tend ] || { say "$deb is not the tend package"; exit 1; }
done

mkdir -p "$repo/conf"
# Rewritten on every run: the signing key may have changed.
cat >"$repo/conf/distributions" <<EOF
Origin: Tend
Label: Tend
Codename: $codename
Suite: $codename
Architectures: amd64 arm64
Components: main
Description: Tend, badge login and offline documentation for care teams
SignWith: $fingerprint
EOF
printf 'verbose\n' >"$repo/conf/options"

for deb in "$@"; do
  reprepro -b "$repo" includedeb "$codename" "$deb" >&2
  say "$(dpkg-deb -f "$deb" Package Version Architecture | paste -sd' ') published in $codename"
done
# Signs Release and InRelease again (a no-op for the content when nothing changed).
reprepro -b "$repo" export "$codename" >&2

gpg --batch --yes --export "$fingerprint" >"$repo/tend-archive-keyring.gpg"
say "signed with $fingerprint; public key in $repo/tend-archive-keyring.gpg"
reprepro -b "$repo" list "$codename" >&2
