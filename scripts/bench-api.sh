#!/usr/bin/env bash
# Measures the central API under wrk on loopback:
#   1. facility-scoped patient list (GET /api/patients?facility_id=…&status=active)
#      with 1,000,000 patients across 70,000 facilities;
#   2. mixed admin traffic (facilities, devices, dashboard) at rising concurrency;
#   3. FHIR Patient search by organization (GET /fhir/R4/Patient?organization=…)
#      by organization admins (each search audited).
# Starts its own PostgreSQL cluster and API server (release build) and stops
# both. Prints wrk's latency distributions; results go to docs/benchmarks.md by hand.
#   usage: scripts/bench-api.sh [duration, default 20s]
#   PATIENT_CONNECTIONS="1 4 16" ADMIN_CONNECTIONS="8 16 32 64" FHIR_CONNECTIONS="1 4"
#   choose the wrk concurrency levels (an empty list skips that part).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
duration="${1:-20s}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
state="$(mktemp -d /tmp/tend-bench-pg.XXXXXX)"
. "$root/scripts/lib/api-stack.sh"
cleanup() {
  api_stack_stop
  rm -rf "$state"
}
trap cleanup EXIT

# TEND_API_BIN: an already built release tend-api instead of building one here.
bin="${TEND_API_BIN:-}"
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --profile server -p tend-api)
  bin="$CARGO_TARGET_DIR/server/tend-api"
fi

# Each inserted facility and patient row takes its facility's sync-feed lock
# until commit (tend_feed_position): 70,000 facilities in one statement need a
# lock table larger than the default 64 per connection.
PG_EXTRA_OPTIONS="-c max_locks_per_transaction=256" api_stack_pg_start "$state"
api_stack_db tend_bench tend_api_bench
api_stack_migrate "$bin"
owner_url="$API_OWNER_URL"

echo "bench: generating 7,000 organizations, 70,000 facilities, 1,000,000 patients, 140,000 devices" >&2
start=$(date +%s)
psql -q -v ON_ERROR_STOP=1 "$owner_url" <<'SQL'
INSERT INTO organizations (name, organization_type)
SELECT 'Bench Organization ' || g,
       (ARRAY['HOME_HEALTH_AGENCY','ALF_OPERATOR','MEMORY_CARE_GROUP','SNF_CHAIN','MULTI_SITE_SYSTEM'])[1 + g % 5]
FROM generate_series(1, 7000) g;
INSERT INTO facilities (organization_id, name, facility_type, licensed_beds, current_census)
SELECT o.id, 'Bench Facility ' || o.id || '-' || k, (ARRAY['ALF','MEMORY_CARE','SNF','HOSPICE'])[1 + k % 4], 40, 0
FROM organizations o, generate_series(1, 10) k ORDER BY o.id, k;
INSERT INTO patients (organization_id, facility_id, mrn, first_name, last_name, date_of_birth, status, room, admitted_at)
SELECT f.organization_id, f.id, 'MRN-' || g, 'First' || (g % 997), 'Last' || (g % 1009),
       date '1930-01-01' + (g % 20000),
       CASE WHEN g % 10 < 8 THEN 'active' WHEN g % 10 = 8 THEN 'discharged' ELSE 'on_leave' END,
       (g % 300)::text, now() - (g % 900) * interval '1 day'
FROM generate_series(1, 1000000) g JOIN facilities f ON f.id = 1 + (g % 70000);
UPDATE facilities f SET current_census = c.n
FROM (SELECT facility_id, count(*) AS n FROM patients WHERE status IN ('active', 'on_leave') GROUP BY facility_id) c
WHERE c.facility_id = f.id;
INSERT INTO devices (organization_id, facility_id, device_name, device_type, device_uuid, status, last_seen, last_sync)
SELECT f.organization_id, f.id, 'Device ' || k, (ARRAY['WORKSTATION','TABLET'])[k], gen_random_uuid(), 'ACTIVE',
       now() - (f.id % 10) * interval '1 minute', now() - (f.id % 30) * interval '1 minute'
FROM facilities f, generate_series(1, 2) k;
-- Bench staff: an RN in each of the first 200 facilities, a facility admin in
-- each of the first 50, an org admin in each of the first 20 organizations.
INSERT INTO users (organization_id, facility_id, employee_id, username, full_name, role, password_hash)
SELECT f.organization_id, f.id, 'RN-' || f.id, 'bench.rn' || f.id, 'Bench RN ' || f.id, 'RN', '!bench'
FROM facilities f WHERE f.id <= 200;
INSERT INTO users (organization_id, facility_id, employee_id, username, full_name, role, password_hash)
SELECT f.organization_id, f.id, 'FA-' || f.id, 'bench.fa' || f.id, 'Bench FA ' || f.id, 'FACILITY_ADMIN', '!bench'
FROM facilities f WHERE f.id <= 50;
INSERT INTO users (organization_id, facility_id, employee_id, username, full_name, role, password_hash)
SELECT o.id, (SELECT min(id) FROM facilities WHERE organization_id = o.id), 'OA-' || o.id, 'bench.oa' || o.id,
       'Bench OA ' || o.id, 'ORG_ADMIN', '!bench'
FROM organizations o WHERE o.id <= 20;
-- Tokens as login would store them: SHA-256 of the bearer value.
INSERT INTO auth_tokens (token_hash, user_id, expires_at)
SELECT sha256(convert_to('bench-token-' || u.id, 'UTF8')), u.id, now() + interval '1 day' FROM users u;
VACUUM ANALYZE;
SQL
echo "bench: data ready in $(( $(date +%s) - start ))s" >&2

psql -At "$owner_url" -c "SELECT 'bench-token-' || u.id || ' ' || u.facility_id FROM users u WHERE role = 'RN' ORDER BY u.id" >"$state/rn.txt"
psql -At "$owner_url" -c "SELECT 'bench-token-' || u.id || ' ' || u.facility_id || ' ' || (SELECT string_agg(d.id::text, ',') FROM devices d WHERE d.facility_id = u.facility_id) FROM users u WHERE role = 'FACILITY_ADMIN' ORDER BY u.id" >"$state/fa.txt"
psql -At "$owner_url" -c "SELECT 'bench-token-' || u.id || ' ' || string_agg(f.id::text, ',') FROM users u JOIN facilities f ON f.organization_id = u.organization_id WHERE u.role = 'ORG_ADMIN' GROUP BY u.id ORDER BY u.id" >"$state/oa.txt"
psql -At "$owner_url" -c "SELECT 'bench-token-' || u.id || ' ' || u.organization_id FROM users u WHERE u.role = 'ORG_ADMIN' ORDER BY u.id" >"$state/oa-org.txt"

api_stack_serve "$bin" - TEND_LOG=warn TEND_DB_MAX_CONNECTIONS=16
base="$API_BASE"

for c in ${PATIENT_CONNECTIONS-1 4 16}; do
  echo "== patient list: GET /api/patients?facility_id=…&status=active (200 RNs, each in its own facility), $c connections =="
  RN_FILE="$state/rn.txt" wrk -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"$duration" --latency -s "$root/scripts/bench/patients.lua" "$base"
done

for c in ${ADMIN_CONNECTIONS-8 16 32 64}; do
  echo "== mixed admin traffic, $c connections =="
  FA_FILE="$state/fa.txt" OA_FILE="$state/oa.txt" wrk -t2 -c"$c" -d"$duration" --latency -s "$root/scripts/bench/admin.lua" "$base"
done

for c in ${FHIR_CONNECTIONS-1 4}; do
  echo "== FHIR: GET /fhir/R4/Patient?organization=… (20 organization admins, audited), $c connections =="
  OA_ORG_FILE="$state/oa-org.txt" wrk -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"$duration" --latency -s "$root/scripts/bench/fhir-patients.lua" "$base"
done

# The same audited reads without the audit hash chain, for its overhead: the
# chain trigger (migration 0011) swapped for one that only numbers the rows
# (the columns are NOT NULL and (chain_key, chain_seq) unique). The last part:
# the database is thrown away afterwards. CHAIN_BASELINE=0 skips it.
if [ -n "${FHIR_CONNECTIONS-1 4}" ] && [ "${CHAIN_BASELINE:-1}" = 1 ]; then
  psql -q -v ON_ERROR_STOP=1 "$owner_url" <<'SQL'
CREATE SEQUENCE bench_audit_seq START 1000000000;
CREATE FUNCTION bench_audit_unchained() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    NEW.chain_seq := nextval('bench_audit_seq');
    NEW.prev_hash := decode(repeat('00', 32), 'hex');
    NEW.hash := decode(repeat('00', 32), 'hex');
    RETURN NEW;
END $$;
ALTER TABLE audit_events DISABLE TRIGGER audit_events_chain;
CREATE TRIGGER audit_events_unchained BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION bench_audit_unchained();
SQL
  for c in ${FHIR_CONNECTIONS-1 4}; do
    echo "== FHIR: GET /fhir/R4/Patient?organization=…, audited WITHOUT the hash chain (baseline), $c connections =="
    OA_ORG_FILE="$state/oa-org.txt" wrk -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"$duration" --latency -s "$root/scripts/bench/fhir-patients.lua" "$base"
  done
fi
