#!/usr/bin/env bash
# Builds the tend-api Debian package: a release build of tend-api, the
# hardened systemd units and settings from deploy/debian/, then dpkg-deb, with
# Depends from dpkg-shlibdeps (what debhelper's ${shlibs:Depends} would give)
# and a lintian check that fails on errors.
#   usage: scripts/package-api.sh [OUTDIR]   (default target/debian under CARGO_TARGET_DIR)
#   SKIP_BUILD=1 packages the release binary already built.
# Prints the path of the .deb on its last line.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
out="${1:-$CARGO_TARGET_DIR/debian}"
src="$root/deploy/debian"

for tool in dpkg-deb dpkg-shlibdeps lintian; do
  command -v "$tool" >/dev/null || { echo "package-api: $tool missing; run scripts/install-deps.sh" >&2; exit 1; }
done

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  (cd "$root" && cargo build --profile server --locked -p tend-api)
fi
bin="$CARGO_TARGET_DIR/server/tend-api"
[ -x "$bin" ] || { echo "package-api: $bin not built" >&2; exit 1; }

upstream="$(cd "$root" && cargo metadata --no-deps --format-version 1 --locked \
  | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="tend-api"))')"
# The Debian revision comes from the top entry of deploy/debian/changelog.
version="$(sed -n '1s/^tend-api (\([^)]*\)).*/\1/p' "$src/changelog")"
case "$version" in
  "$upstream"-*) ;;
  *) echo "package-api: deploy/debian/changelog is at $version but tend-api is $upstream; add a changelog entry" >&2; exit 1 ;;
esac
arch="$(dpkg --print-architecture)"

mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage="$out/tend-api_${version}_${arch}"
rm -rf "$stage"
install -d -m 755 "$stage/DEBIAN" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/default" \
  "$stage/usr/share/doc/tend-api/examples" "$stage/usr/share/man/man8" "$stage/usr/share/lintian/overrides"

install -m 755 "$bin" "$stage/usr/bin/tend-api"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/tend-api"
install -m 644 "$src/tend-api.service" "$src/tend-api-migrate.service" "$stage/lib/systemd/system/"
install -m 644 "$src/default" "$stage/etc/default/tend-api"
install -m 644 "$src/default-migrate" "$stage/etc/default/tend-api-migrate"

doc="$stage/usr/share/doc/tend-api"
gzip -9n <"$src/changelog" >"$doc/changelog.Debian.gz"
install -m 644 "$root/crates/tend-api/README.md" "$doc/README.md"
[ -f "$root/docs/deploy.md" ] && install -m 644 "$root/docs/deploy.md" "$doc/deploy.md"
for example in "$root"/deploy/examples/*; do
  [ -f "$example" ] && install -m 644 "$example" "$doc/examples/"
done
install -m 644 "$src/lintian-overrides" "$stage/usr/share/lintian/overrides/tend-api"
sed "s/@VERSION@/$upstream/" "$src/tend-api.8" | gzip -9n >"$stage/usr/share/man/man8/tend-api.8.gz"

# copyright: Tend's terms, with every crate linked into the binary.
(cd "$root" && cargo tree --locked -p tend-api -e normal --prefix none --target "$(rustc -vV | sed -n 's/^host: //p')" \
    --format '{p} {l}') \
  | sed 's/ (proc-macro)//; s/ (\*)//; s| ([^)]*/[^)]*)||' | grep -v '^tend-' | sort -u | sed 's/^/ /' >"$out/crates.txt"
sed -e "/^@CRATES@\$/{r $out/crates.txt" -e 'd}' "$src/copyright.in" >"$doc/copyright"
rm -f "$out/crates.txt"

# Depends: the shared libraries the binary links, as dpkg-shlibdeps resolves them.
shlibs="$(mktemp -d)"
mkdir -p "$shlibs/debian"
printf 'Source: tend\n\nPackage: tend-api\nArchitecture: any\n' >"$shlibs/debian/control"
depends="$(cd "$shlibs" && dpkg-shlibdeps -O "$stage/usr/bin/tend-api" | sed -n 's/^shlibs:Depends=//p')"
rm -rf "$shlibs"
[ -n "$depends" ] || { echo "package-api: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

installed_size="$(du -sk --apparent-size --exclude=DEBIAN "$stage" | cut -f1)"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
    -e "s/@DEPENDS@/$depends/" "$src/control.in" >"$stage/DEBIAN/control"
install -m 644 "$src/conffiles" "$stage/DEBIAN/conffiles"
install -m 755 "$src/postinst" "$src/prerm" "$src/postrm" "$stage/DEBIAN/"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
  | grep -zv '^etc/' | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"

# Reproducible: file times from the changelog entry, root-owned, sorted.
changelog_date="$(sed -n 's/^ -- .*>  //p' "$src/changelog" | head -1)"
SOURCE_DATE_EPOCH="$(date -d "$changelog_date" +%s)"
export SOURCE_DATE_EPOCH
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
deb="$out/tend-api_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >&2

# lintian: errors fail the build; warnings and info are printed (accepted ones
# are listed in docs/deploy.md).
lintian --fail-on error --display-info "$deb" >&2 || { echo "package-api: lintian rejected $deb" >&2; exit 1; }
echo "package-api: $(du -h "$deb" | cut -f1) $(basename "$deb"), installed size ${installed_size} KiB, Depends: $depends" >&2
echo "$deb"
