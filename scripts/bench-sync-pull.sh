#!/usr/bin/env bash
# Measures the server side of a new device's initial sync: a release
# `tend-api` on a throwaway database filled by `seed-sync-load` (default: the
# issue's 120 residents, 200 staff with badges, 100,000 records), then the
# whole change feed pulled page by page over loopback HTTP by one client that
# only reads the bytes and the cursor (no device vault: the device core
# measures end to end). Prints rows, bytes on the wire, pages and seconds,
# once uncompressed and once each with gzip and zstd. Then uploads
# a 10,000-record backlog in batches of 500 and times that too.
#   usage: scripts/bench-sync-pull.sh [records] [page size, default 5000]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
records="${1:-100000}"
page="${2:-5000}"
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
# A device token issued directly, as /api/devices/auth/token would store it.
token="tdev_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
psql "$API_OWNER_URL" -qAt -v ON_ERROR_STOP=1 \
  -c "INSERT INTO device_tokens (token_hash, device_id, expires_at) VALUES (sha256('$token'::bytea), $device_id, now() + interval '1 hour')" \
  -c "VACUUM ANALYZE"
patient_id="$(psql "$API_OWNER_URL" -qAt -c "SELECT min(id) FROM patients WHERE facility_id = (SELECT facility_id FROM devices WHERE id = $device_id)")"
author_id="$(psql "$API_OWNER_URL" -qAt -c "SELECT min(id) FROM users WHERE facility_id = (SELECT facility_id FROM devices WHERE id = $device_id)")"
# The author's session on the device, as their badge login through it would
# record it: the server accepts only records whose author had one.
psql "$API_OWNER_URL" -qAt -v ON_ERROR_STOP=1 -c "INSERT INTO device_sessions
  (organization_id, facility_id, device_id, user_id, method, started_at, ends_at)
  SELECT f.organization_id, d.facility_id, d.id, $author_id, 'badge', now() - interval '1 minute', now() + interval '1 hour'
  FROM devices d JOIN facilities f ON f.id = d.facility_id WHERE d.id = $device_id"
api_stack_serve "$bin" - TEND_LOG=warn

python3 - "$API_BASE" "$token" "$page" "$patient_id" "$author_id" <<'PY'
import datetime, http.client, json, os, subprocess, sys, time, urllib.parse, uuid, zlib
base, token, page = sys.argv[1], sys.argv[2], int(sys.argv[3])
patient_id, author_id = int(sys.argv[4]), int(sys.argv[5])
host = urllib.parse.urlparse(base).netloc
conn = http.client.HTTPConnection(host)

def decode(body, encoding):
    if encoding == "gzip":
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if encoding == "zstd":
        return subprocess.run(["zstd", "-dcq"], input=body, capture_output=True, check=True).stdout
    return body

# The whole feed once per encoding: what a device on the wire receives
# without compression (before), then with gzip and zstd (the device client
# accepts both). End to end includes decompressing and parsing every page.
for encoding in ("identity", "gzip", "zstd"):
    cursor, rows, wire, size, pages, server_s = None, 0, 0, 0, 0, 0.0
    started = time.perf_counter()
    while True:
        query = {"protocol_version": 1, "schema_version": 3, "limit": page}
        if cursor:
            query["cursor"] = cursor
        sent = time.perf_counter()
        conn.request("GET", "/api/sync/pull?" + urllib.parse.urlencode(query),
                     headers={"Authorization": "Bearer " + token, "Accept-Encoding": encoding})
        resp = conn.getresponse()
        body = resp.read()
        server_s += time.perf_counter() - sent
        if resp.status != 200:
            sys.exit(f"pull answered {resp.status}: {body[:300]!r}")
        got = resp.getheader("Content-Encoding") or "identity"
        if got != encoding:
            sys.exit(f"asked for {encoding}, got {got}")
        wire += len(body)
        body = decode(body, got)
        answer = json.loads(body)
        rows += len(answer["changes"])
        size += len(body)
        pages += 1
        cursor = answer["cursor"]
        if not answer["has_more"]:
            break
    total = time.perf_counter() - started
    print(f"initial pull ({encoding}): {rows} changes in {pages} pages of up to {page}, "
          f"{wire / 1e6:.1f} MB on the wire ({size / 1e6:.1f} MB of JSON), "
          f"{total:.2f} s end to end ({server_s:.2f} s waiting for responses, {rows / server_s:,.0f} changes/s)")

def uuid7():
    ms = time.time_ns() // 1_000_000
    raw = bytearray(ms.to_bytes(6, "big") + os.urandom(10))
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))

now = datetime.datetime.now(datetime.timezone.utc).isoformat()
batches = [[{"id": uuid7(), "seq": b * 500 + i, "payload": {"type": "record", "data": {
    "patient_id": patient_id, "author_user_id": author_id, "recorded_at": now,
    "body": {"kind": "care_note", "text": f"Backlog note {b * 500 + i}"}}}} for i in range(500)]
    for b in range(20)]
accepted, server_s = 0, 0.0
for ops in batches:
    body = json.dumps({"protocol_version": 1, "schema_version": 3, "device_time": now,
                       "operations": ops})
    sent = time.perf_counter()
    conn.request("POST", "/api/sync/push", body=body,
                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    resp = conn.getresponse()
    answer = resp.read()
    server_s += time.perf_counter() - sent
    if resp.status != 200:
        sys.exit(f"push answered {resp.status}: {answer[:300]!r}")
    accepted += len(json.loads(answer)["accepted"])
print(f"backlog push: {accepted} of 10000 records accepted in 20 batches of 500, "
      f"{server_s:.2f} s waiting for responses ({accepted / server_s:,.0f} records/s)")
PY
