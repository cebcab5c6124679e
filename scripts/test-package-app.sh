#!/usr/bin/env bash
# Tests the Tend app's Debian package and its signed APT repository on this
# machine, as root, the way a kiosk or a laptop gets Tend:
#   build the .deb (v1) and a re-pack of the same binary with a newer
#   version (v2; enough for the repository: an upgrade is a new file on disk
#   whatever its bytes); make a throwaway signing key; publish v1 with
#   scripts/release.sh into a reprepro repository served by python3's HTTP
#   server on loopback; add it the way tend-setup-kiosk does (its deb822
#   source with signed-by, written by a dry run of the script) and
#   `apt-get install tend` (dependencies from Debian); run /usr/bin/tend under
#   Xvfb (the first-run setup screen: window, screenshot, the WebDriver journey
#   of e2e/, which needs tauri-driver from scripts/install-deps.sh); publish v2 and let
#   unattended-upgrade (Tend's origin only) install it while a kiosk and a
#   desktop instance run: the kiosk, nobody signed in, exits 75 to restart
#   into it, the desktop keeps running and offers "Restart to update";
#   then the negative cases: the repository re-signed with another key
#   (apt-get update refuses it, nothing changes) and a .deb altered in the
#   pool after signing (apt refuses it, nothing changes); finally
#   `apt-get purge tend`: nothing of the package left, the data untouched.
#   With TEND_TEST_ARM64=1 also the arm64 cross build: dpkg-deb says arm64,
#   file says aarch64, qemu-aarch64-static runs `tend --version`.
#
#   usage: sudo scripts/test-package-app.sh [tend_….deb]
#   SKIP_BUILD=1 packages the release binary already built.
# Leaves the machine as it found it: package purged, source, key, server gone.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
[ "$(id -u)" = 0 ] || { echo "test-package-app: run as root (it installs a package)" >&2; exit 1; }
started=$(date +%s)
state="$(mktemp -d /tmp/tend-app-pkg-test.XXXXXX)"
chmod 755 "$state"
sources=/etc/apt/sources.list.d/tend.sources
keyring=/usr/share/keyrings/tend-archive-keyring.gpg
pids=()
owns_apt_files=0
fail() { echo "test-package-app: FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -qq "$@"; }
# apt for Tend's source alone: the machine's other lists are neither
# refreshed nor dropped.
apt_update_tend() {
  apt-get -o DPkg::Lock::Timeout=600 -o Dir::Etc::sourcelist="$sources" -o Dir::Etc::sourceparts=- \
    -o APT::Get::List-Cleanup=0 update "$@"
}
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if dpkg-query -W -f='${Status}' tend 2>/dev/null | grep -q "ok installed"; then
    apt_get purge tend >/dev/null 2>&1 || true
  fi
  if [ "$owns_apt_files" = 1 ]; then
    rm -f "$sources" "$keyring" /var/lib/apt/lists/127.0.0.1:*_tend-repo_* /var/lib/apt/lists/partial/127.0.0.1:*_tend-repo_* \
      /var/cache/apt/archives/tend_*.deb
    rm -f /var/cache/apt/archives/partial/tend_*.deb
  fi
  rm -rf "$state"
}
trap cleanup EXIT
declare -A took
phase_started=$(date +%s)
phase() { # name: closes the running phase under that name
  took[$1]=$(( $(date +%s) - phase_started ))
  phase_started=$(date +%s)
}

for f in "$sources" "$keyring"; do
  [ ! -e "$f" ] || fail "$f exists already; this test adds and removes its own"
done
dpkg-query -W tend >/dev/null 2>&1 && fail "tend is already installed here; purge it first"

# --- tools (only this test needs them) ---------------------------------------
need=()
for p in reprepro gnupg unattended-upgrades xvfb xdotool imagemagick x11-utils file curl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ "${TEND_TEST_ARM64:-0}" = 1 ]; then
  dpkg-query -W -f='${Status}' qemu-user-static 2>/dev/null | grep -q "install ok installed" || need+=(qemu-user-static)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "test-package-app: installing ${need[*]}"
  # Installed for this test only: it must not start upgrading the machine
  # daily (its default answer writes APT::Periodic::Unattended-Upgrade "1").
  echo "unattended-upgrades unattended-upgrades/enable_auto_updates boolean false" | debconf-set-selections
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt_get install --no-install-recommends "${need[@]}" >/dev/null
fi

# --- the packages --------------------------------------------------------------
deb1="${1:-}"
if [ -z "$deb1" ]; then
  deb1="$(bash "$root/scripts/package-app.sh" "$state/v1" | tail -1)"
fi
deb1="$(realpath "$deb1")"
v1="$(dpkg-deb -f "$deb1" Version)"
arch="$(dpkg-deb -f "$deb1" Architecture)"
deb1_size="$(stat -c %s "$deb1")"
installed_kib="$(dpkg-deb -f "$deb1" Installed-Size)"
phase build
# v2 and v3: the same binary with newer versions (repository and upgrade
# tests; the package's own content is checked on v1).
v2="$v1+test2"
v3="$v1+test3"
deb2="$(SKIP_BUILD=1 TEND_PACKAGE_VERSION="$v2" bash "$root/scripts/package-app.sh" "$state/v2" 2>/dev/null | tail -1)"
deb3="$(SKIP_BUILD=1 TEND_PACKAGE_VERSION="$v3" bash "$root/scripts/package-app.sh" "$state/v3" 2>/dev/null | tail -1)"
{ [ -f "$deb2" ] && [ -f "$deb3" ]; } || fail "re-packing $deb1 as $v2 and $v3 failed"
phase repack
echo "test-package-app: $(basename "$deb1") $(du -h "$deb1" | cut -f1) (installed ${installed_kib} KiB); re-packed as $v2, $v3"

# The package's contents, before anything is installed.
contents="$(dpkg-deb -c "$deb1" | awk '{print $6}' | sed 's|^\./|/|')"
for f in /usr/bin/tend /usr/sbin/tend-setup-kiosk /usr/share/tend/kiosk/tend-kiosk.service.in \
    /usr/share/applications/care.tend.app.desktop /usr/share/icons/hicolor/128x128/apps/care.tend.app.png \
    /usr/share/icons/hicolor/scalable/apps/care.tend.app.svg /usr/share/man/man1/tend.1.gz \
    /usr/share/man/man8/tend-setup-kiosk.8.gz /usr/share/doc/tend/copyright /usr/share/doc/tend/changelog.Debian.gz; do
  echo "$contents" | grep -qx "$f" || fail "the package has no $f"
done
dpkg-deb -f "$deb1" Depends | grep -q 'libwebkit2gtk-4.1-0' || fail "Depends lacks WebKitGTK: $(dpkg-deb -f "$deb1" Depends)"
dpkg-deb -f "$deb1" Depends | grep -q 'pcscd' || fail "Depends lacks pcscd"
dpkg-deb -I "$deb1" postinst | grep -v '^[[:space:]]*#' | grep -q 'restart' && fail "postinst restarts something"
ok "contents: binary, kiosk setup + unit template, menu entry, icons, man pages; Depends from dpkg-shlibdeps + pcscd; postinst restarts nothing"

# --- a signed repository on loopback -------------------------------------------
make_key() { # GNUPGHOME, name → fingerprint
  mkdir -p "$1"
  chmod 700 "$1"
  GNUPGHOME="$1" gpg --batch --quiet --passphrase '' --quick-gen-key "$2 <release@tend.invalid>" ed25519 sign 1d 2>/dev/null
  GNUPGHOME="$1" gpg --batch --with-colons --list-secret-keys 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }'
}
release_key="$(make_key "$state/gnupg" "Tend test release")"
other_key="$(make_key "$state/gnupg-other" "Someone else")"
repo="$state/repo"
release() { GNUPGHOME="$state/gnupg" TEND_RELEASE_KEY="$release_key" bash "$root/scripts/release.sh" "$repo" "$@" 2>"$state/release.log" \
  || { cat "$state/release.log" >&2; fail "release.sh $*"; }; }
release "$deb1"
grep -q '^Origin: Tend$' "$repo/dists/stable/Release" || fail "Release has no Origin: Tend"
gpgv --keyring "$repo/tend-archive-keyring.gpg" "$repo/dists/stable/InRelease" 2>/dev/null || fail "InRelease does not verify with the exported key"
ok "release.sh: v1 in $repo (stable, main, amd64 arm64), InRelease verifies with tend-archive-keyring.gpg"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
# The repository lives in a folder named tend-repo in the URL, so apt's list
# files are recognizable (and removed) at the end.
mkdir -p "$state/www"
ln -s "$repo" "$state/www/tend-repo"
python3 -m http.server --bind 127.0.0.1 --directory "$state/www" "$port" >"$state/http.log" 2>&1 &
pids+=($!)
url="http://127.0.0.1:$port/tend-repo"
for _ in $(seq 1 50); do curl -fsS "$url/dists/stable/InRelease" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$url/dists/stable/InRelease" >/dev/null || fail "the repository is not served at $url"
phase repository

# The source and key as tend-setup-kiosk writes them (its dry run), then for real.
bash "$root/deploy/kiosk/setup-kiosk.sh" --server https://tend.example.org --repo "$url" \
  --repo-key "$repo/tend-archive-keyring.gpg" --repo-fingerprint "$release_key" --auto-update \
  --root "$state/kiosk-root" >"$state/setup-kiosk.log" 2>&1 || { cat "$state/setup-kiosk.log" >&2; fail "setup-kiosk dry run"; }
grep -qx "Signed-By: $keyring" "$state/kiosk-root$sources" || fail "the source has no signed-by"
owns_apt_files=1
install -m 644 "$state/kiosk-root$sources" "$sources"
install -m 644 "$state/kiosk-root$keyring" "$keyring"
apt_update_tend -qq >"$state/update1.log" 2>&1 || { cat "$state/update1.log" >&2; fail "apt-get update of Tend's repository"; }
[ "$(apt-cache policy tend | sed -n 's/^ *Candidate: //p')" = "$v1" ] || fail "apt's candidate is not $v1: $(apt-cache policy tend)"
ok "setup-kiosk's deb822 source (signed-by $keyring) and key: apt-get update verifies it, candidate $v1"
t=$(date +%s)
apt_get install tend >"$state/install.log" 2>&1 || { cat "$state/install.log" >&2; fail "apt-get install tend"; }
install_secs=$(( $(date +%s) - t ))
[ "$(dpkg-query -W -f='${Version}' tend)" = "$v1" ] || fail "tend $v1 not installed"
/usr/bin/tend --version | grep -qx "tend ${v1%%-*}" || fail "/usr/bin/tend --version: $(/usr/bin/tend --version)"
ok "apt-get install tend from the repository ($install_secs s, dependencies from Debian): $(/usr/bin/tend --version)"
man -w tend >/dev/null 2>&1 || [ -f /usr/share/man/man1/tend.1.gz ] || fail "no man page"
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate /usr/share/applications/care.tend.app.desktop || fail "the desktop entry does not validate"
fi
bash -n /usr/sbin/tend-setup-kiosk || fail "tend-setup-kiosk does not parse"
/usr/sbin/tend-setup-kiosk --server https://tend.example.org --root "$state/installed-kiosk-root" >"$state/installed-setup.log" 2>&1 \
  || { cat "$state/installed-setup.log" >&2; fail "the installed tend-setup-kiosk (dry run, no source checkout)"; }
grep -q 'ExecStart=/usr/bin/cage -d -- /usr/bin/tend --kiosk' "$state/installed-kiosk-root/etc/systemd/system/tend-kiosk.service" \
  || fail "the installed tend-setup-kiosk wrote no unit from /usr/share/tend/kiosk"
ok "installed tend-setup-kiosk works without a source checkout (unit from /usr/share/tend/kiosk)"
phase install

# --- the installed app under Xvfb: first-run setup ------------------------------
display=":$(( 90 + RANDOM % 100 ))"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >"$state/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do xdpyinfo -display "$display" >/dev/null 2>&1 && break; sleep 0.1; done
export DISPLAY="$display"
run_app() { # name profile; sets app_pid (a child of this shell, to `wait` for
  # its exit status); the app's output in $state/NAME.log, its data in $state/NAME-data
  mkdir -p "$state/$1-data"
  TEND_UPDATE_CHECK_SECS=2 /usr/bin/tend --profile "$2" --data-dir "$state/$1-data" >"$state/$1.log" 2>&1 &
  app_pid=$!
  pids+=("$app_pid")
}
wait_log() { # data dir, pattern, seconds
  local _i
  for _i in $(seq 1 $(( $3 * 10 ))); do
    if cat "$1"/logs/* 2>/dev/null | grep -q "$2"; then return 0; fi
    sleep 0.1
  done
  return 1
}
t=$(date +%s%N)
run_app desktop desktop
desktop_pid=$app_pid
wait_log "$state/desktop-data" "ui ready" 60 || { cat "$state/desktop.log" >&2; fail "the installed app's UI never became ready"; }
first_window_ms=$(( ($(date +%s%N) - t) / 1000000 ))
window="$(xdotool search --sync --onlyvisible --name '^Tend$' 2>/dev/null | head -1)"
[ -n "$window" ] || fail "no visible window named Tend"
sleep 1
import -window root "$state/first-run.png"
mkdir -p "$root/artifacts/package-app"
cp "$state/first-run.png" "$root/artifacts/package-app/first-run.png"
colors="$(convert "$state/first-run.png" -format %k info:)"
[ "$colors" -gt 20 ] || fail "the screenshot has $colors colours: a blank window?"
ok "/usr/bin/tend (desktop, --data-dir in a temp dir) under Xvfb: window 'Tend' ($(xwininfo -id "$window" | sed -n 's/.*-geometry //p')), UI ready in ${first_window_ms} ms, screenshot artifacts/package-app/first-run.png ($colors colours)"
kill "$desktop_pid"
wait "$desktop_pid" 2>/dev/null || true

# The WebDriver journey of e2e/ against the installed binary: the first-run
# setup screen checks server addresses in Rust.
command -v tauri-driver >/dev/null || [ -x "$HOME/.cargo/bin/tauri-driver" ] \
  || fail "tauri-driver missing; run scripts/install-deps.sh (the WebDriver journey needs it)"
(cd "$root/e2e" && { [ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null; } \
  && TEND_BIN=/usr/bin/tend PATH="$PATH:$HOME/.cargo/bin" node --import tsx --test --test-concurrency=1 \
    --test-name-pattern='^desktop: About' tests/foundation.test.ts) >"$state/e2e.log" 2>&1 \
  || { cat "$state/e2e.log" >&2; fail "the e2e journey against /usr/bin/tend"; }
ok "e2e (WebDriver) against /usr/bin/tend: About shows the version, first-run setup checks server addresses"
phase first_run

# --- an update through unattended-upgrades, under running apps ------------------
run_app kiosk kiosk
kiosk_pid=$app_pid
run_app desktop2 desktop
desktop_pid=$app_pid
wait_log "$state/kiosk-data" "ui ready" 60 || fail "the kiosk instance did not start"
wait_log "$state/desktop2-data" "ui ready" 60 || fail "the second desktop instance did not start"
release "$deb2"
apt_update_tend -qq >"$state/update2.log" 2>&1 || { cat "$state/update2.log" >&2; fail "apt-get update for v2"; }
# unattended-upgrade with only Tend's origin allowed (the file setup-kiosk
# writes; the machine's own unattended-upgrades settings are not read).
mkdir -p "$state/apt.conf.d"
cp "$state/kiosk-root/etc/apt/apt.conf.d/51tend-unattended-upgrades" "$state/apt.conf.d/"
printf 'Dir::Etc::parts "%s";\n' "$state/apt.conf.d" >"$state/apt.conf"
t=$(date +%s)
APT_CONFIG="$state/apt.conf" unattended-upgrade -v >"$state/unattended.log" 2>&1 \
  || { cat "$state/unattended.log" >&2; fail "unattended-upgrade"; }
upgrade_secs=$(( $(date +%s) - t ))
[ "$(dpkg-query -W -f='${Version}' tend)" = "$v2" ] || { cat "$state/unattended.log" >&2; fail "unattended-upgrade did not install $v2"; }
ok "unattended-upgrade (Origins-Pattern origin=Tend,label=Tend) installed $v2 in ${upgrade_secs} s"
# The kiosk, nobody signed in, restarts into it: exit 75 within a few checks.
for _ in $(seq 1 150); do kill -0 "$kiosk_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$kiosk_pid" 2>/dev/null && fail "the kiosk kept running the replaced binary"
wait "$kiosk_pid" && rc=0 || rc=$?
[ "$rc" = 75 ] || { cat "$state/kiosk.log" >&2; fail "the kiosk exited $rc, not 75"; }
grep -q "restarting into it" "$state"/kiosk-data/logs/* || fail "the kiosk's log does not say why it exited"
ok "the running kiosk (nobody signed in) noticed the update and exited 75 for systemd to restart it"
wait_log "$state/desktop2-data" "the window offers a restart" 15 || fail "the desktop instance did not notice the update"
kill -0 "$desktop_pid" 2>/dev/null || fail "the desktop instance exited by itself"
sleep 1
import -window root "$state/update-notice.png"
cp "$state/update-notice.png" "$root/artifacts/package-app/update-notice.png"
ok "the running desktop instance noticed it too, keeps running and offers 'Restart to update' (artifacts/package-app/update-notice.png)"
# "Restart to update": the notice's first button, at the bottom right of
# the 1280x800 window (see the screenshot). The app starts the installed
# version with its own arguments and exits 0; the new one waits for the data
# directory's lock.
xdotool mousemove --sync 989 689 click 1
for _ in $(seq 1 100); do kill -0 "$desktop_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$desktop_pid" 2>/dev/null && fail "'Restart to update' did not close the old version (is the button still at 989,689? see update-notice.png)"
wait "$desktop_pid" && rc=0 || rc=$?
[ "$rc" = 0 ] || fail "the desktop instance exited $rc after 'Restart to update'"
restarted=""
for _ in $(seq 1 150); do
  restarted="$(pgrep -f -- "--data-dir $state/desktop2-data" | head -1 || true)"
  [ -n "$restarted" ] && [ "$(cat "$state"/desktop2-data/logs/* | grep -c "ui ready")" -ge 2 ] && break
  sleep 0.1
done
[ -n "$restarted" ] || fail "no new instance after 'Restart to update'"
[ "$(cat "$state"/desktop2-data/logs/* | grep -c "ui ready")" -ge 2 ] || fail "the restarted instance's UI never became ready"
pids+=("$restarted")
[ "$(readlink "/proc/$restarted/exe")" = /usr/bin/tend ] || fail "the restarted instance runs $(readlink "/proc/$restarted/exe")"
ok "'Restart to update': the old instance exited 0, the new one (pid $restarted) runs the installed /usr/bin/tend on the same data"
kill "$restarted"
phase upgrade

# --- negative: another key --------------------------------------------------------
GNUPGHOME="$state/gnupg-other" TEND_RELEASE_KEY="$other_key" bash "$root/scripts/release.sh" "$repo" "$deb3" 2>"$state/release-other.log" \
  || { cat "$state/release-other.log" >&2; fail "publishing $v3 with the other key"; }
# apt keeps the last good index files and only warns; --error-on=any makes
# that a failure, as a monitoring job would want it.
if apt_update_tend --error-on=any >"$state/update-other.log" 2>&1; then
  cat "$state/update-other.log" >&2
  fail "apt-get update accepted a repository signed with another key"
fi
if ! grep -q "NO_PUBKEY" "$state/update-other.log" || ! grep -q "The repository is not updated" "$state/update-other.log"; then
  cat "$state/update-other.log" >&2
  fail "apt refused for another reason"
fi
[ "$(apt-cache policy tend | sed -n 's/^ *Candidate: //p')" = "$v2" ] || fail "the candidate changed after a refused update"
apt_get install tend >/dev/null 2>&1 || true
[ "$(dpkg-query -W -f='${Version}' tend)" = "$v2" ] || fail "$v3 signed with another key got installed"
ok "the repository re-signed with another key ($v3 in it): apt-get update refuses it ($(grep -o 'NO_PUBKEY [0-9A-F]*' "$state/update-other.log" | head -1)), $v2 stays"

# --- negative: a package altered after signing ----------------------------------------
release # re-signed with the right key: apt sees v3 again
apt_update_tend -qq >"$state/update3.log" 2>&1 || { cat "$state/update3.log" >&2; fail "apt-get update after re-signing"; }
[ "$(apt-cache policy tend | sed -n 's/^ *Candidate: //p')" = "$v3" ] || fail "v3 is not the candidate after re-signing"
pooled="$(find "$repo/pool" -name "tend_${v3}_${arch}.deb")"
[ -f "$pooled" ] || fail "no $v3 in the pool"
# One byte changed in the middle: same size, other content.
printf 'X' | dd of="$pooled" bs=1 seek=$(( $(stat -c %s "$pooled") / 2 )) conv=notrunc status=none
if apt_get install tend >"$state/install-tampered.log" 2>&1; then
  fail "apt installed a package altered after signing"
fi
grep -qi "hash sum mismatch\|unexpected size\|Hashes of expected file" "$state/install-tampered.log" \
  || { cat "$state/install-tampered.log" >&2; fail "apt refused the altered package for another reason"; }
[ "$(dpkg-query -W -f='${Version}' tend)" = "$v2" ] || fail "the installed version changed"
ok "$v3 altered in the pool after signing: apt refuses it ($(grep -oi 'hash sum mismatch\|unexpected size' "$state/install-tampered.log" | head -1)), $v2 stays"
phase negative

# --- purge ----------------------------------------------------------------------------
for dir in desktop kiosk desktop2; do
  (cd "$state/$dir-data" && find . -type f ! -name '*.log*' -exec sha256sum {} + | sort) >"$state/$dir-data.before"
done
files="$(dpkg -L tend)"
apt_get purge tend >"$state/purge.log" 2>&1 || { cat "$state/purge.log" >&2; fail "apt-get purge tend"; }
grep -q "data was kept" "$state/purge.log" || { cat "$state/purge.log" >&2; fail "purge did not say where the data is"; }
left=""
while IFS= read -r f; do
  [ -z "$f" ] || [ -d "$f" ] || [ ! -e "$f" ] || left="$left $f"
done <<<"$files"
for d in /usr/share/tend /usr/share/doc/tend /etc/tend; do [ ! -e "$d" ] || left="$left $d"; done
[ -z "$left" ] || fail "purge left:$left"
dpkg-query -W tend >/dev/null 2>&1 && fail "dpkg still knows tend"
for dir in desktop kiosk desktop2; do
  (cd "$state/$dir-data" && find . -type f ! -name '*.log*' -exec sha256sum {} + | sort) | cmp -s - "$state/$dir-data.before" \
    || fail "purge changed the data in $state/$dir-data"
done
ok "apt-get purge tend: none of its $(echo "$files" | wc -l) paths left under /usr, /etc; the data dirs untouched; postrm said where the data lives"
phase purge

# --- arm64 (TEND_TEST_ARM64=1) ------------------------------------------------------
arm64_summary=""
if [ "${TEND_TEST_ARM64:-0}" = 1 ]; then
  t=$(date +%s)
  arm_deb="$(bash "$root/scripts/package-app.sh" --arch arm64 "$state/arm64" | tail -1)"
  arm_secs=$(( $(date +%s) - t ))
  [ "$(dpkg-deb -f "$arm_deb" Architecture)" = arm64 ] || fail "dpkg-deb --info: not arm64"
  dpkg-deb -x "$arm_deb" "$state/arm64/root"
  file "$state/arm64/root/usr/bin/tend" | grep -q "ARM aarch64" || fail "file: $(file "$state/arm64/root/usr/bin/tend")"
  version_line="$(qemu-aarch64-static -L / "$state/arm64/root/usr/bin/tend" --version)"
  [ "$version_line" = "tend ${v1%%-*}" ] || fail "qemu-aarch64-static tend --version: $version_line"
  arm64_summary="$(basename "$arm_deb") $(du -h "$arm_deb" | cut -f1) (installed $(dpkg-deb -f "$arm_deb" Installed-Size) KiB), built in ${arm_secs} s"
  ok "arm64: $arm64_summary; file: aarch64; qemu-aarch64-static: $version_line"
  phase arm64
fi

echo
echo "test-package-app: passed in $(( $(date +%s) - started ))s"
echo "  package: $(basename "$deb1"), $(( deb1_size / 1024 )) KiB .deb, installed ${installed_kib} KiB"
echo "  Depends: $(dpkg-deb -f "$deb1" Depends)"
[ -z "$arm64_summary" ] || echo "  arm64: $arm64_summary"
printf '  durations:'
for p in build repack repository install first_run upgrade negative purge arm64; do
  [ -z "${took[$p]:-}" ] || printf ' %s %ss,' "$p" "${took[$p]}"
done
echo
