#!/usr/bin/env bash
# The residents list of a 500-patient facility in the real window
# (e2e/bench/patient-list.ts): click "Residents" → the full list's first screen
# painted, and one character typed into the search → the filtered list painted,
# RUNS times (default 20), against a real tend-api on a throwaway database topped
# up to PATIENTS active patients (default 500). Prints p50/p95 of both.
#
#   RUNS=50 bash scripts/bench-patient-list.sh
#
# Needs the services (TEND_TEST_PG_URL, pcscd with vsmartcard-vpcd: scripts/services)
# and builds of tend-app (with ui/dist), tend-api and virtual-badge
# (cargo build -p tend-badge --features virtual-card --bin virtual-badge); TEND_BIN,
# TEND_API_BIN and TEND_VIRTUAL_BADGE_BIN choose them (default: the debug builds).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
export TEND_BIN="${TEND_BIN:-$CARGO_TARGET_DIR/debug/tend}"
export PATH="$PATH:$HOME/.cargo/bin"
[ -x "$TEND_BIN" ] || { echo "bench-patient-list: $TEND_BIN not found; build tend-app first" >&2; exit 1; }
[ -d e2e/node_modules ] || (cd e2e && npm ci --no-audit --no-fund)
mkdir -p artifacts/e2e
cd e2e
xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" node --import tsx bench/patient-list.ts
