#!/usr/bin/env bash
# End-to-end journeys through the real Tend window: tauri-driver +
# WebKitWebDriver under Xvfb (1280x800x24), driven by webdriverio from e2e/.
# Screenshots and logs land in artifacts/e2e/. Exits non-zero on any failure.
#
#   bash scripts/e2e.sh            # uses the debug binary already built
#   bash scripts/e2e.sh --build    # builds ui/dist and the debug binary first
#   bash scripts/e2e.sh -- --test-name-pattern=kiosk   # extra args for node --test
#
# Env: CARGO_TARGET_DIR (default ~/.cache/tend/target), TEND_BIN (default
# $CARGO_TARGET_DIR/debug/tend), TAURI_DRIVER (default: on PATH or ~/.cargo/bin).
# Needs what scripts/install-deps.sh installs.
set -euo pipefail

cd "$(dirname "$0")/.."
build=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=1 ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "e2e: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
export TEND_BIN="${TEND_BIN:-$CARGO_TARGET_DIR/debug/tend}"
export PATH="$PATH:$HOME/.cargo/bin"

if [ "$build" = 1 ]; then
  (cd ui && npm ci --no-audit --no-fund && npm run build)
  # The admin journey starts its own central API (e2e/lib/api.ts).
  cargo build -p tend-api
  # The badge-login journey taps a virtual badge on the vpcd test reader.
  cargo build -p tend-badge --features virtual-card --bin virtual-badge
  cargo build -p tend-app
fi
if [ ! -x "$TEND_BIN" ]; then
  echo "e2e: $TEND_BIN not found; run bash scripts/e2e.sh --build (or set TEND_BIN)" >&2
  exit 1
fi
if [ -f ui/dist/index.html ] && [ ui/dist/index.html -nt "$TEND_BIN" ]; then
  echo "e2e: warning: ui/dist is newer than $TEND_BIN, which embeds the UI; rebuild with --build" >&2
fi

missing=()
for tool in xvfb-run Xvfb xauth WebKitWebDriver tauri-driver xwininfo xprop openbox node npm; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "e2e: missing ${missing[*]}; run scripts/install-deps.sh" >&2
  exit 1
fi

if [ ! -d e2e/node_modules ] || [ e2e/package-lock.json -nt e2e/node_modules/.package-lock.json ]; then
  (cd e2e && npm ci --no-audit --no-fund)
fi

rm -rf artifacts/e2e
mkdir -p artifacts/e2e
cd e2e
# No window manager on this display: one kiosk journey checks what the app asks
# of one (fullscreen, no decorations) in the window's X11 properties; another
# starts its own 1024x768 Xvfb with openbox to see the window really fill it.
xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" \
  node --import tsx --test --test-concurrency=1 --test-reporter=spec "${extra[@]}" tests/*.test.ts
echo "e2e: ok (screenshots in artifacts/e2e/)"
