#!/usr/bin/env bash
# Refreshes the README's example screenshots in docs/screenshots/ from the
# end-to-end journeys' artifacts (artifacts/e2e/, written by scripts/e2e.sh
# or scripts/test.sh). Each example is a step of a journey in the real app
# window against the real API, so the pictures show what the tests saw.
#
#   bash scripts/screenshots.sh     # after a full e2e run
set -euo pipefail
cd "$(dirname "$0")/.."

# journey screenshot → example name
examples=(
  "badge-login-1-tap-your-badge:lock-screen"
  "badge-login-2-pin-pad:pin-pad"
  "nurse-prn-1-home:nurse-home"
  "nurse-prn-1b-residents:residents"
  "nurse-prn-3-offline-pending:resident-prn-offline"
  "nurse-prn-6-resident-synced:resident-prn-synced"
  "admin-dashboard-1-dashboard:admin-dashboard"
  "admin-dashboard-2-chart-90-days:admin-occupancy-chart"
  "admin-dashboard-3-census-above-beds:admin-census-refused"
  "admin-directory-6-badge-and-pin:admin-staff-badge-pin"
  "admin-audit-1-cross-facility-devices:admin-cross-facility"
  "admin-audit-2-audit-log-cross-facility:admin-audit-log"
  "family-family-1-welcome:family-welcome"
  "family-family-4-day:family-day"
  "family-family-5-day-spanish:family-day-spanish"
  "setup-enroll-1-enrollment-step:setup"
  "kiosk-800x480-lock:kiosk-800x480-lock"
  "kiosk-800x480-pin:kiosk-800x480-pin-pad"
  "kiosk-800x480-family-code:kiosk-800x480-family-code"
  "admin-residents-2-conflict:admin-resident-conflict"
  "family-staff-1-visitor-code:nurse-visitor-code"
  "nurse-prn-8-corrected:resident-correction"
)

mkdir -p docs/screenshots
missing=0
for pair in "${examples[@]}"; do
  from="artifacts/e2e/${pair%%:*}.png"
  if [ ! -f "$from" ]; then
    echo "screenshots: $from is missing; run the journeys first (bash scripts/e2e.sh)" >&2
    missing=1
    continue
  fi
  cp "$from" "docs/screenshots/${pair##*:}.png"
done
[ "$missing" = 0 ] && echo "screenshots: ${#examples[@]} examples in docs/screenshots/"
exit "$missing"
