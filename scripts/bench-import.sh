#!/usr/bin/env bash
# Times `tend-api import` at the issue's size: 10,000 residents across 80
# facilities and 2,000 staff with badges, generated as CSV, into a new
# organization of a throwaway database; then the same files again (nothing
# to change). Prints the wall time of each run and the binary's summaries.
#   usage: scripts/bench-import.sh [residents, default 10000] [staff, default 2000]
# TEND_API_BIN: an already built tend-api instead of building `--profile server`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
residents="${1:-10000}"
staff="${2:-2000}"
facilities=80
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
state="$(mktemp -d /tmp/tend-bench-pg.XXXXXX)"
work="$(mktemp -d /tmp/tend-bench-import.XXXXXX)"
. "$root/scripts/lib/api-stack.sh"
cleanup() {
  api_stack_stop
  rm -rf "$state" "$work"
}
trap cleanup EXIT

bin="${TEND_API_BIN:-}"
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --profile server -p tend-api)
  bin="$CARGO_TARGET_DIR/server/tend-api"
fi
api_stack_pg_start "$state"
api_stack_db tend_bench tend_api_bench
api_stack_migrate "$bin" >/dev/null
org="$(psql "$API_OWNER_URL" -qAt -v ON_ERROR_STOP=1 -c \
  "INSERT INTO organizations (name, organization_type) VALUES ('Bench Import Care', 'SNF_CHAIN') RETURNING id")"

python3 - "$work" "$facilities" "$staff" "$residents" <<'PY'
import csv, random, sys
work, n_fac, n_staff, n_res = sys.argv[1], *map(int, sys.argv[2:])
rng = random.Random(19)
first = ["Mary", "James", "Ruth", "Walter", "Helen", "George", "Ada", "Grace", "Alan", "Edith"]
last = ["Olson", "Nguyen", "Garcia", "Larson", "Peterson", "O'Neil", "Smith, Jr.", "Hopper"]
types = ["SNF", "ALF", "MEMORY_CARE", "HOSPICE"]
names = [f"Bench Home {i:03}" for i in range(1, n_fac + 1)]
with open(f"{work}/facilities.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["name", "facility_type", "licensed_beds", "timezone", "address"])
    for i, name in enumerate(names):
        w.writerow([name, types[i % len(types)], 200, "America/Chicago", f"{100 + i} Main St"])
roles = ["RN", "LPN", "CNA", "CNA", "MED_TECH", "THERAPIST", "SOCIAL_WORKER", "FACILITY_ADMIN"]
with open(f"{work}/staff.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["facility", "role", "employee_id", "username", "first_name", "last_name", "email", "badge_uid"])
    for i in range(n_staff):
        w.writerow([names[i % n_fac], roles[i % len(roles)], f"E{i:06}", f"bench.staff{i}",
                    rng.choice(first), rng.choice(last), f"staff{i}@example.org", f"04{0xB00000 + i:06X}A1B2C3"])
statuses = ["active"] * 8 + ["on_leave", "discharged"]
with open(f"{work}/residents.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["facility", "mrn", "first_name", "last_name", "date_of_birth", "room", "status", "admission_date"])
    for i in range(n_res):
        w.writerow([names[i % n_fac], f"MRN-{i:06}", rng.choice(first), rng.choice(last),
                    f"{1925 + i % 50}-{1 + i % 12:02}-{1 + i % 28:02}", f"{100 + i % 150}",
                    statuses[i % len(statuses)], f"{2015 + i % 10}-{1 + i % 12:02}-{1 + i % 28:02}"])
PY

run() {
  local started ended
  started=$(date +%s.%N)
  TEND_LOG=warn TEND_MIGRATE_DATABASE_URL="$API_OWNER_URL" "$bin" import --organization "$org" \
    --facilities "$work/facilities.csv" --staff "$work/staff.csv" --residents "$work/residents.csv"
  ended=$(date +%s.%N)
  printf '%s: %.2f s wall\n' "$1" "$(echo "$ended - $started" | bc)"
}
echo "import of $facilities facilities, $staff staff with badges, $residents residents ($(nproc) cores)"
run "first import (everything created)"
run "second import (nothing changed)"
psql "$API_OWNER_URL" -qAt -c "SELECT 'rows: ' || (SELECT count(*) FROM users WHERE organization_id = $org) || ' staff, ' \
  || (SELECT count(*) FROM badges WHERE organization_id = $org) || ' badges, ' \
  || (SELECT count(*) FROM patients WHERE organization_id = $org) || ' residents'"
