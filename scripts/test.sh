#!/usr/bin/env bash
# Sets up a fresh Debian 12 / Ubuntu machine and runs every test Tend has:
# formatting, lints, generated-bindings drift, Rust unit and integration tests
# against real services (PostgreSQL, pcscd with the virtual badge reader,
# gnome-keyring's Secret Service), UI typecheck + component tests, the API
# fuzzed against its OpenAPI document, and the real app window driven by
# WebDriver under Xvfb. This is the README's test command; .ci/run calls it.
#
#   bash scripts/test.sh
#   TEND_TEST_PACKAGE=1 bash scripts/test.sh   # also the tend-api and tend .debs (release builds)
#   TEND_TEST_PACKAGE=1 TEND_TEST_ARM64=1 bash scripts/test.sh   # and the arm64 cross build
#
# Builds go to $CARGO_TARGET_DIR (default ~/.cache/tend/target, outside the
# clone) so a machine that ran it before rebuilds only what changed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
SCHEMATHESIS_EXAMPLES="${SCHEMATHESIS_EXAMPLES:-15}"

started=$SECONDS
step() { printf '\n=== %s (%ds) ===\n' "$1" "$((SECONDS - started))"; }

step "system packages and tools"
bash scripts/install-deps.sh

state="$(mktemp -d /tmp/tend-test.XXXXXX)"
# PostgreSQL runs as the postgres user and must reach its folder inside.
chmod 711 "$state"
cleanup() {
  status=$?
  bash scripts/services/postgres.sh stop "$state/postgres" >/dev/null 2>&1 || true
  bash scripts/services/pcscd.sh stop "$state/pcscd" >/dev/null 2>&1 || true
  bash scripts/services/keyring.sh stop "$state/keyring" >/dev/null 2>&1 || true
  if [ "$status" != 0 ]; then
    echo "test.sh: FAILED after $((SECONDS - started))s; service logs are in $state" >&2
  else
    rm -rf "$state"
  fi
}
trap cleanup EXIT

step "cargo fmt --check"
cargo fmt --all -- --check

step "docs: every relative link stays inside the repository"
python3 scripts/check-doc-links.py

step "UI: npm ci, typecheck, component tests, build"
# The app embeds ui/dist at compile time, so the UI is built before Rust.
(cd ui && npm ci --no-audit --no-fund && npm run verify)
# The FHIR validators the API's FHIR tests run (the R4 JSON schema, Medplum's
# StructureDefinition validator with the vital-signs profiles), pinned.
(cd scripts/fhir-validate && npm ci --no-audit --no-fund)

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "services: PostgreSQL, pcscd + virtual reader, Secret Service"
# `eval "$(…)"` would hide a failed start; capture first so `set -e` sees it.
start_service() {
  local exports
  exports="$(bash "scripts/services/$1.sh" start "$state/$1")"
  eval "$exports"
}
start_service postgres
start_service pcscd
start_service keyring
export TEND_TEST_PG_URL

step "Rust tests (nextest, whole workspace)"
# Includes the drift check of ui/src/lib/bindings.ts (src-tauri/tests/bindings.rs),
# and builds the `tend` and `tend-api` binaries the later steps run.
cargo nextest run --workspace --locked --no-fail-fast
# nextest does not run doctests.
cargo test --workspace --locked --doc

step "API fuzzed against its OpenAPI document (schemathesis, $SCHEMATHESIS_EXAMPLES examples per operation)"
TEND_API_BIN="$CARGO_TARGET_DIR/debug/tend-api" bash scripts/schemathesis-api.sh "$SCHEMATHESIS_EXAMPLES"

step "OpenAPI document with standard tools: openapi-spec-validator, a client from openapi-python-client used against the API"
TEND_API_BIN="$CARGO_TARGET_DIR/debug/tend-api" bash scripts/test-openapi-clients.sh

step "multi-instance stack: HAProxy (TLS) → 3 × tend-api → PgBouncer → PostgreSQL, with an instance killed and PostgreSQL restarted"
TEND_API_BIN="$CARGO_TARGET_DIR/debug/tend-api" bash scripts/test-stack.sh

step "end-to-end: the real app window under Xvfb, driven by WebDriver"
# The debug `tend` that nextest just built embeds the ui/dist built above;
# reusing it saves a second build of the app with other features.
bash scripts/e2e.sh

# A release build of tend-api (about 8 minutes more on 2 cores), so behind a
# switch; its last result is recorded in docs/deploy.md ("Tested").
if [ "${TEND_TEST_PACKAGE:-0}" = 1 ]; then
  step "tend-api Debian package: build, install, run as its unit (plain and TLS), reinstall, purge"
  bash scripts/test-package-api.sh
  # The app's .deb through a signed APT repository (docs/kiosk.md, "Tested
  # here"); it installs reprepro, unattended-upgrades and, with
  # TEND_TEST_ARM64=1, the arm64 cross toolchain itself.
  step "tend Debian package: signed repository, install, first run, unattended upgrade under running apps, refused key and package, purge"
  bash scripts/test-package-app.sh
fi

step "all tests passed"
