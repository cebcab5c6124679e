#!/usr/bin/env bash
# Builds the Tend app's Debian package: the UI, a release build of `tend`
# (which embeds ui/dist), then dpkg-deb with the menu entry, icons, man pages
# and the kiosk setup (tend-setup-kiosk + its unit template) from
# deploy/app-debian/ and deploy/kiosk/; Depends from dpkg-shlibdeps (what
# debhelper's ${shlibs:Depends} would give) plus pcscd; lintian fails on errors.
#   usage: scripts/package-app.sh [--arch amd64|arm64] [OUTDIR]
#          (default OUTDIR: target/debian under CARGO_TARGET_DIR)
#   SKIP_BUILD=1             package the release binary already built (no UI or cargo build)
#   TEND_PACKAGE_VERSION=V   package as Debian version V with a changelog entry
#                            saying it is a re-pack (the package test's "v2")
# --arch arm64 cross-compiles for Raspberry Pi / arm64 Debian: an arm64
# sysroot made with mmdebstrap to build and link against (Debian 12's
# libwebkit2gtk-4.1-dev:arm64 cannot be installed through multiarch), and the
# arm64 runtime libraries through multiarch for dpkg-shlibdeps (and for
# running the binary under qemu-aarch64-static). It installs what it needs
# and keeps it for the next build (docs/kiosk.md says how to remove it).
# Prints the path of the .deb on its last line.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
host_arch="$(dpkg --print-architecture)"
arch="$host_arch"
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch="${2:-}"; shift 2 ;;
    -*) echo "package-app: unknown option $1" >&2; exit 2 ;;
    *) out="$1"; shift ;;
  esac
done
out="${out:-$CARGO_TARGET_DIR/debian}"
src="$root/deploy/app-debian"
say() { echo "package-app: $*" >&2; }
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -qq "$@"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

for tool in dpkg-deb dpkg-shlibdeps lintian; do
  command -v "$tool" >/dev/null || { say "$tool missing; run scripts/install-deps.sh"; exit 1; }
done

case "$arch" in
  "$host_arch")
    triple=""
    bin="$CARGO_TARGET_DIR/release/tend"
    ;;
  arm64)
    [ "$host_arch" = amd64 ] || { say "cross-compiling to arm64 is set up for amd64 hosts only"; exit 1; }
    triple=aarch64-unknown-linux-gnu
    bin="$CARGO_TARGET_DIR/$triple/release/tend"
    ;;
  *) say "--arch: $arch is not supported (amd64 on an amd64 host, or arm64)"; exit 2 ;;
esac

# --- arm64: the sysroot, the cross toolchain, the runtime libraries ---------
# The libraries the app links (its -dev packages, for the sysroot) and their
# runtime packages (for dpkg-shlibdeps and qemu).
ARM64_DEV=(libwebkit2gtk-4.1-dev libssl-dev libpcsclite-dev libayatana-appindicator3-dev librsvg2-dev libdbus-1-dev libxdo-dev)
ARM64_RUNTIME=(libc6 libgcc-s1 libwebkit2gtk-4.1-0 libjavascriptcoregtk-4.1-0 libgtk-3-0 libgdk-pixbuf-2.0-0
  libglib2.0-0 libcairo2 libsoup-3.0-0 libssl3 libpcsclite1 libdbus-1-3)
sysroot="$CARGO_TARGET_DIR/arm64-sysroot"
prepare_arm64() {
  local need=()
  for p in mmdebstrap gcc-aarch64-linux-gnu g++-aarch64-linux-gnu binutils-aarch64-linux-gnu; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >&2
  fi
  # The arm64 standard library comes from rustup (static.rust-lang.org).
  if ! rustup target list --installed 2>/dev/null | grep -qx "$triple"; then
    rustup target add "$triple" >&2 || { say "rustup target add $triple failed (is static.rust-lang.org reachable?)"; exit 1; }
  fi
  if [ ! -f "$sysroot/.complete" ]; then
    say "making the arm64 sysroot $sysroot (mmdebstrap, about 1.3 GB)"
    rm -rf "$sysroot"
    local includes
    includes="$(IFS=,; echo "${ARM64_DEV[*]}")"
    mmdebstrap --quiet --variant=extract --architectures=arm64 --include="$includes" \
      bookworm "$sysroot" /etc/apt/sources.list.d/debian.sources >&2
    # Absolute symlinks would point the linker at the host's libraries.
    (cd "$sysroot" && find . -type l -lname '/*' -print0 | while IFS= read -r -d '' link; do
      target="$(readlink "$link")"
      ln -sfn "$(realpath -m --relative-to="$(dirname "$sysroot/${link#./}")" "$sysroot$target")" "$link"
    done)
    touch "$sysroot/.complete"
  fi
  # Runtime libraries through multiarch: dpkg-shlibdeps reads their symbols
  # files from the dpkg database, qemu-aarch64-static loads them.
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    say "adding the arm64 architecture to dpkg (multiarch)"
    as_root dpkg --add-architecture arm64
    as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  fi
  local runtime=()
  for p in "${ARM64_RUNTIME[@]}"; do
    dpkg-query -W -f='${Status}' "$p:arm64" 2>/dev/null | grep -q "install ok installed" || runtime+=("$p:arm64")
  done
  if [ ${#runtime[@]} -gt 0 ]; then
    say "installing the arm64 runtime libraries ${runtime[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${runtime[@]}" >&2
  fi
}
if [ "$arch" = arm64 ]; then prepare_arm64; fi

# --- build -------------------------------------------------------------------
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  # The app embeds ui/dist at compile time (tauri's frontendDist).
  (cd "$root" && npm --prefix ui ci --no-audit --no-fund >&2 && npm --prefix ui run build >&2)
  if [ -z "$triple" ]; then
    (cd "$root" && cargo build --release --locked -p tend-app --bin tend >&2)
  else
    (cd "$root" \
      && PKG_CONFIG_SYSROOT_DIR="$sysroot" \
        PKG_CONFIG_PATH="$sysroot/usr/lib/aarch64-linux-gnu/pkgconfig:$sysroot/usr/share/pkgconfig" \
        PKG_CONFIG_ALLOW_CROSS=1 \
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=--sysroot=$sysroot" \
        CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
        CXX_aarch64_unknown_linux_gnu=aarch64-linux-gnu-g++ \
        CFLAGS_aarch64_unknown_linux_gnu="--sysroot=$sysroot" \
        CXXFLAGS_aarch64_unknown_linux_gnu="--sysroot=$sysroot" \
        OPENSSL_DIR="$sysroot/usr" \
        OPENSSL_LIB_DIR="$sysroot/usr/lib/aarch64-linux-gnu" \
        OPENSSL_INCLUDE_DIR="$sysroot/usr/include" \
        cargo build --release --locked -p tend-app --bin tend --target "$triple" >&2)
  fi
fi
[ -x "$bin" ] || { say "$bin not built"; exit 1; }

# --- version -----------------------------------------------------------------
upstream="$(cd "$root" && cargo metadata --no-deps --format-version 1 --locked \
  | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="tend-app"))')"
# The Debian revision comes from the top entry of deploy/app-debian/changelog.
changelog="$(mktemp)"
trap 'rm -f "$changelog"' EXIT
cp "$src/changelog" "$changelog"
version="$(sed -n '1s/^tend (\([^)]*\)).*/\1/p' "$changelog")"
case "$version" in
  "$upstream"-*) ;;
  *) say "deploy/app-debian/changelog is at $version but tend-app is $upstream; add a changelog entry"; exit 1 ;;
esac
if [ -n "${TEND_PACKAGE_VERSION:-}" ]; then
  dpkg --compare-versions "$TEND_PACKAGE_VERSION" gt "$version" \
    || { say "TEND_PACKAGE_VERSION=$TEND_PACKAGE_VERSION is not newer than $version"; exit 1; }
  {
    printf 'tend (%s) bookworm; urgency=medium\n\n' "$TEND_PACKAGE_VERSION"
    printf '  * Re-pack of %s with a new version number (scripts/test-package-app.sh).\n\n' "$version"
    printf ' -- Tend Maintainers <maintainers@users.noreply.r-seed-499d5138.example>  %s\n\n' \
      "$(date -u -R -d "$(sed -n 's/^ -- .*>  //p' "$src/changelog" | head -1) + 1 hour")"
    cat "$src/changelog"
  } >"$changelog"
  version="$TEND_PACKAGE_VERSION"
fi

# --- stage -------------------------------------------------------------------
mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage="$out/tend_${version}_${arch}"
rm -rf "$stage"
doc="$stage/usr/share/doc/tend"
install -d -m 755 "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/sbin" "$stage/usr/share/applications" \
  "$stage/usr/share/tend/kiosk" "$doc" "$stage/usr/share/man/man1" "$stage/usr/share/man/man8" \
  "$stage/usr/share/lintian/overrides"

install -m 755 "$bin" "$stage/usr/bin/tend"
strip_tool="strip"
[ "$arch" = "$host_arch" ] || strip_tool=aarch64-linux-gnu-strip
"$strip_tool" --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/tend"

# The kiosk setup runs from the package: the script as an admin command, its
# unit template in /usr/share/tend/kiosk (where the script looks for it).
sed '1s|^#!/usr/bin/env bash$|#!/bin/bash|' "$root/deploy/kiosk/setup-kiosk.sh" >"$stage/usr/sbin/tend-setup-kiosk"
chmod 755 "$stage/usr/sbin/tend-setup-kiosk"
install -m 644 "$root/deploy/kiosk/tend-kiosk.service.in" "$stage/usr/share/tend/kiosk/"

# Menu entry and icons (hicolor sizes from icons/, named after the app id).
install -m 644 "$src/care.tend.app.desktop" "$stage/usr/share/applications/"
for icon in 32x32:32x32.png 64x64:64x64.png 128x128:128x128.png 256x256:128x128@2x.png 512x512:icon.png; do
  size="${icon%%:*}"
  install -D -m 644 "$root/icons/${icon#*:}" "$stage/usr/share/icons/hicolor/$size/apps/care.tend.app.png"
done
install -D -m 644 "$root/icons/icon.svg" "$stage/usr/share/icons/hicolor/scalable/apps/care.tend.app.svg"

gzip -9n <"$changelog" >"$doc/changelog.Debian.gz"
install -m 644 "$root/docs/kiosk.md" "$doc/kiosk.md"
install -m 644 "$src/lintian-overrides" "$stage/usr/share/lintian/overrides/tend"
sed "s/@VERSION@/$upstream/" "$src/tend.1" | gzip -9n >"$stage/usr/share/man/man1/tend.1.gz"
sed "s/@VERSION@/$upstream/" "$src/tend-setup-kiosk.8" | gzip -9n >"$stage/usr/share/man/man8/tend-setup-kiosk.8.gz"

# copyright: Tend's terms, with every crate linked into the binary.
rust_target="${triple:-$(rustc -vV | sed -n 's/^host: //p')}"
(cd "$root" && cargo tree --locked -p tend-app -e normal --prefix none --target "$rust_target" \
    --format '{p} {l}') \
  | sed 's/ (proc-macro)//; s/ (\*)//; s| ([^)]*/[^)]*)||' | grep -v '^tend-' | sort -u | sed 's/^/ /' >"$out/crates.txt"
sed -e "/^@CRATES@\$/{r $out/crates.txt" -e 'd}' "$src/copyright.in" >"$doc/copyright"
rm -f "$out/crates.txt"

# Depends: the shared libraries the binary links, as dpkg-shlibdeps resolves
# them (for arm64 from the multiarch runtime libraries' symbols files).
shlibs="$(mktemp -d)"
mkdir -p "$shlibs/debian"
printf 'Source: tend\n\nPackage: tend\nArchitecture: any\n' >"$shlibs/debian/control"
shlibdeps_env=()
[ "$arch" = "$host_arch" ] || shlibdeps_env=(env CC=aarch64-linux-gnu-gcc dpkg-architecture --host-arch arm64 --command)
depends="$(cd "$shlibs" && "${shlibdeps_env[@]}" dpkg-shlibdeps -O "$stage/usr/bin/tend" | sed -n 's/^shlibs:Depends=//p')"
rm -rf "$shlibs"
[ -n "$depends" ] || { say "dpkg-shlibdeps found no dependencies"; exit 1; }

installed_size="$(du -sk --apparent-size --exclude=DEBIAN "$stage" | cut -f1)"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
    -e "s/@DEPENDS@/$depends/" "$src/control.in" >"$stage/DEBIAN/control"
install -m 755 "$src/postinst" "$src/prerm" "$src/postrm" "$stage/DEBIAN/"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
  >"$stage/DEBIAN/md5sums"

# Reproducible: file times from the changelog entry, root-owned, sorted.
changelog_date="$(sed -n 's/^ -- .*>  //p' "$changelog" | head -1)"
SOURCE_DATE_EPOCH="$(date -d "$changelog_date" +%s)"
export SOURCE_DATE_EPOCH
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
deb="$out/tend_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >&2

# lintian: errors fail the build; warnings and info are printed (accepted ones
# are listed in docs/kiosk.md, "The package").
lintian --fail-on error --display-info "$deb" >&2 || { say "lintian rejected $deb"; exit 1; }
say "$(du -h "$deb" | cut -f1) $(basename "$deb"), installed size ${installed_size} KiB, Depends: $depends, pcscd"
echo "$deb"
