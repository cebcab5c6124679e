#!/usr/bin/env bash
# Measures FHIR bulk data export of one facility: a release `tend-api` on a
# throwaway database filled by `seed-sync-load` (default: 120 residents, 200
# staff, 100,000 records, of which a quarter are vital signs of four values
# each: 100,000 Observations), then `GET /fhir/R4/Group/{facility}/$export`
# as the facility's administrator, the status URL polled every 50 ms until
# the manifest, and every NDJSON file downloaded. Prints the resources per
# type and the seconds from kick-off to manifest and to the last byte.
#   usage: scripts/bench-fhir-export.sh [records, default 100000] [runs, default 3]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
records="${1:-100000}"
runs="${2:-3}"
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
api_stack_pg_start "$state"
api_stack_db tend_bench tend_api_bench
api_stack_migrate "$bin"
seeded="$(TEND_MIGRATE_DATABASE_URL="$API_OWNER_URL" "$bin" seed-sync-load --records "$records")"
echo "$seeded" >&2
device_id="$(sed -n 's/.* device \([0-9]*\) .*/\1/p' <<<"$seeded")"
facility_id="$(psql "$API_OWNER_URL" -qAt -c "SELECT facility_id FROM devices WHERE id = $device_id")"
# The facility's administrator, with a token as login would store it.
token="bench-fhir-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
psql "$API_OWNER_URL" -qAt -v ON_ERROR_STOP=1 \
  -c "INSERT INTO users (organization_id, facility_id, employee_id, username, full_name, role, password_hash)
      SELECT organization_id, id, 'FA-bench', 'bench.fhir.fa', 'Bench Admin', 'FACILITY_ADMIN', '!bench'
      FROM facilities WHERE id = $facility_id" \
  -c "INSERT INTO auth_tokens (token_hash, user_id, expires_at)
      SELECT sha256(convert_to('$token', 'UTF8')), id, now() + interval '1 hour' FROM users WHERE username = 'bench.fhir.fa'" \
  -c "VACUUM ANALYZE"
api_stack_serve "$bin" - TEND_LOG=warn

python3 - "$API_BASE" "$token" "$facility_id" "$runs" <<'PY'
import http.client, json, sys, time, urllib.parse
base, token, facility, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
host = urllib.parse.urlparse(base).netloc
auth = {"Authorization": "Bearer " + token}

def request(path, headers=None):
    conn = http.client.HTTPConnection(host)
    conn.request("GET", path, headers={**auth, **(headers or {})})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp, body

for run in range(1, runs + 1):
    started = time.perf_counter()
    resp, body = request(f"/fhir/R4/Group/{facility}/$export",
                         {"Prefer": "respond-async", "Accept": "application/fhir+json"})
    assert resp.status == 202, (resp.status, body)
    status_path = urllib.parse.urlparse(resp.getheader("Content-Location")).path
    while True:
        resp, body = request(status_path)
        if resp.status == 200:
            break
        assert resp.status == 202, (resp.status, body)
        time.sleep(0.05)
    manifest_s = time.perf_counter() - started
    manifest = json.loads(body)
    counts, size = {}, 0
    for out in manifest["output"]:
        resp, body = request(urllib.parse.urlparse(out["url"]).path)
        assert resp.status == 200, resp.status
        size += len(body)
        lines = body.count(b"\n")
        assert lines == out["count"], (lines, out["count"])
        counts[out["type"]] = counts.get(out["type"], 0) + lines
    total_s = time.perf_counter() - started
    print(f"run {run}: manifest after {manifest_s:.2f} s, all {len(manifest['output'])} files downloaded after "
          f"{total_s:.2f} s, {size / 1e6:.1f} MB NDJSON: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()), flush=True)
    conn = http.client.HTTPConnection(host)
    conn.request("DELETE", status_path, headers=auth)
    conn.getresponse().read()
PY
