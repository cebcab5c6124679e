#!/usr/bin/env bash
# Tap-to-unlocked in the real window (e2e/bench/badge-login.ts): a nurse's virtual badge
# on the vpcd reader → the nurse home painted, TAPS times (default 30), against a real
# tend-api on a throwaway database. Prints p50/p95 for insertion → painted and for the
# app's own badge read → painted (without pcscd's polling of the virtual reader).
#
#   TAPS=50 bash scripts/bench-badge-login.sh
#
# Needs the services (TEND_TEST_PG_URL, pcscd with vsmartcard-vpcd: scripts/services),
# and debug builds of tend-app (with ui/dist), tend-api and virtual-badge
# (cargo build -p tend-badge --features virtual-card --bin virtual-badge).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
export TEND_BIN="${TEND_BIN:-$CARGO_TARGET_DIR/debug/tend}"
export PATH="$PATH:$HOME/.cargo/bin"
[ -x "$TEND_BIN" ] || { echo "bench-badge-login: $TEND_BIN not found; build tend-app first" >&2; exit 1; }
[ -d e2e/node_modules ] || (cd e2e && npm ci --no-audit --no-fund)
mkdir -p artifacts/e2e
cd e2e
xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" node --import tsx bench/badge-login.ts
