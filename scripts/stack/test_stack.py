#!/usr/bin/env python3
"""Checks the multi-instance stack (scripts/services/stack.sh) from outside,
as a device and an admin would: HTTPS through HAProxy trusting only the test
CA, round robin over every instance, password login, an enrollment code, a
device enrolling with it, and the device's challenge → token → heartbeat, and its deactivation reaching every
instance's token cache.

Standard library only; Ed25519 signing goes through the openssl CLI.
Reads TEND_STACK_URL, TEND_STACK_CA, TEND_STACK_INSTANCES and
STACK_TEST_USER / STACK_TEST_PASSWORD (an organization admin of a seeded
organization, e.g. sunrise.orgadmin after `tend-api seed-demo`).
Exits non-zero with the failed check's message.
"""

import base64
import datetime
import json
import os
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid

BASE = os.environ["TEND_STACK_URL"]
CA = os.environ["TEND_STACK_CA"]
INSTANCES = os.environ["TEND_STACK_INSTANCES"].split()
USER = os.environ["STACK_TEST_USER"]
PASSWORD = os.environ["STACK_TEST_PASSWORD"]

TRUSTING = ssl.create_default_context(cafile=CA)
SYSTEM_ONLY = ssl.create_default_context()

checks = 0


def check(cond, message):
    global checks
    if not cond:
        print(f"FAIL: {message}", file=sys.stderr)
        sys.exit(1)
    checks += 1
    print(f"ok: {message}")


def call(method, path, body=None, token=None, context=TRUSTING, base=BASE):
    """One request; returns (status, headers, parsed JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, context=context, timeout=15) as resp:
            raw = resp.read()
            return resp.status, resp.headers, (json.loads(raw) if raw.strip() else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        return e.code, e.headers, parsed


def ed25519_keypair(workdir):
    key = os.path.join(workdir, "device.key")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key], check=True)
    der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    # SubjectPublicKeyInfo for Ed25519 is a 12-byte prefix + the 32-byte key.
    return key, base64.b64encode(der[-32:]).decode()


def ed25519_sign(key, message, workdir):
    msg = os.path.join(workdir, "message")
    with open(msg, "wb") as f:
        f.write(message)
    sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", msg],
                         check=True, capture_output=True).stdout
    return base64.b64encode(sig).decode()


def main():
    # TLS: the test CA is trusted; without it the certificate is refused.
    status, _, body = call("GET", "/readyz")
    check(status == 200, f"GET /readyz over HTTPS through HAProxy answers 200 ({status} {body})")
    try:
        call("GET", "/readyz", context=SYSTEM_ONLY)
        check(False, "a client that does not trust the test CA must refuse the certificate")
    except urllib.error.URLError as e:
        check(isinstance(e.reason, ssl.SSLCertVerificationError),
              f"a client without the test CA refuses the certificate ({e.reason})")

    # Round robin: every instance answers, each reachable on its own port too.
    seen = set()
    for _ in range(3 * len(INSTANCES)):
        status, headers, _ = call("GET", "/healthz")
        check(status == 200, "GET /healthz through HAProxy answers 200")
        seen.add(headers.get("X-Tend-Instance"))
    check(len(seen) == len(INSTANCES), f"HAProxy spread requests over all {len(INSTANCES)} instances ({sorted(seen)})")
    for url in INSTANCES:
        status, _, _ = call("GET", "/readyz", base=url)
        check(status == 200, f"instance {url} is ready (its pool goes through PgBouncer)")

    # Password login on one instance; the token works on every instance.
    status, _, login = call("POST", "/api/auth/login", {"username": USER, "password": PASSWORD})
    check(status == 200 and login and login.get("token"), f"password login through HAProxy ({status})")
    token = login["token"]
    status, _, wrong = call("POST", "/api/auth/login", {"username": USER, "password": PASSWORD + "x"})
    check(status == 401, f"a wrong password is refused with 401 ({status} {wrong})")
    seen = set()
    facilities = None
    for _ in range(2 * len(INSTANCES)):
        status, headers, facilities = call("GET", "/api/facilities", token=token)
        check(status == 200, "GET /api/facilities with the login token answers 200")
        seen.add(headers.get("X-Tend-Instance"))
    check(len(seen) == len(INSTANCES), f"the login token is honoured by all {len(INSTANCES)} instances ({sorted(seen)})")
    items = facilities.get("items", facilities) if isinstance(facilities, dict) else facilities
    facility_id = items[0]["id"]

    # An enrollment code, then a new device enrolling with it.
    status, _, created = call("POST", f"/api/facilities/{facility_id}/enrollment-codes",
                              {"max_uses": 1, "expires_in_hours": 1}, token=token)
    check(status == 201 and created and created.get("code"), f"enrollment code created ({status})")
    with tempfile.TemporaryDirectory() as workdir:
        key, public_key = ed25519_keypair(workdir)
        device_uuid = str(uuid.uuid4())
        status, _, device = call("POST", "/api/devices/enroll", {
            "enrollment_code": created["code"], "device_uuid": device_uuid, "device_type": "TABLET",
            "device_name": "Stack test tablet", "public_key": public_key, "app_version": "0.1.0",
        })
        check(status == 201 and device and device.get("status") == "ACTIVE",
              f"device enrolled ACTIVE with the code through HAProxy ({status})")
        status, _, again = call("POST", "/api/devices/enroll", {
            "enrollment_code": created["code"], "device_uuid": str(uuid.uuid4()), "device_type": "TABLET",
            "device_name": "Second tablet", "public_key": public_key,
        })
        check(status == 403, f"the used-up single-use code is refused on whichever instance ({status} {again})")

        # Challenge → signed token → heartbeat. Nonces live in one instance's
        # memory on this branch, so HAProxy routes /api/devices/auth/* by
        # client address (STACK_STICKY_AUTH=1, the stack's default) until
        # they move to PostgreSQL.
        status, headers, challenge = call("POST", "/api/devices/auth/challenge", {"device_uuid": device_uuid})
        check(status == 200 and challenge.get("nonce"), f"challenge issued ({status})")
        issued_by = headers.get("X-Tend-Instance")
        message = f"tend-device-auth-v1\n{device_uuid}\n{challenge['nonce']}".encode()
        signature = ed25519_sign(key, message, workdir)
        status, headers, issued = call("POST", "/api/devices/auth/token", {
            "device_uuid": device_uuid, "nonce": challenge["nonce"], "signature": signature})
        answered_by = headers.get("X-Tend-Instance")
        check(status == 200 and issued.get("token", "").startswith("tdev_"),
              f"signed challenge (issued by {issued_by}, answered by {answered_by}) gives a device token ({status} {issued if status != 200 else ''})")
        device_token = issued["token"]
        seen = set()
        for _ in range(2 * len(INSTANCES)):
            now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            status, headers, ack = call("POST", f"/api/devices/{device['id']}/heartbeat", {
                "encryption_posture": "keyring", "pending_outbox": 0, "sync_errors": False,
                "app_version": "0.1.0", "device_time": now}, token=device_token)
            check(status == 200 and "server_time" in ack,
                  f"heartbeat with the device token answers 200 ({status}{'' if status == 200 else ack})")
            seen.add(headers.get("X-Tend-Instance"))
        check(len(seen) == len(INSTANCES), f"the device token is honoured by all {len(INSTANCES)} instances ({sorted(seen)})")

        # Deactivation on one instance reaches every instance's token cache
        # through NOTIFY, which each instance LISTENs for on its direct
        # connection (PgBouncer in transaction mode would lose it).
        status, _, _ = call("POST", f"/api/devices/{device['id']}/deactivate", {}, token=token)
        check(status == 200, f"admin deactivates the device through HAProxy ({status})")
        for url in INSTANCES:
            status, _, refusal = call("POST", f"/api/devices/{device['id']}/heartbeat", {
                "encryption_posture": "keyring", "device_time": now}, token=device_token, base=url)
            code = (refusal or {}).get("error", {}).get("code")
            check(status == 401 and code == "DEVICE_DEACTIVATED",
                  f"instance {url} refuses the deactivated device's cached token ({status} {code})")

    print(f"stack test: {checks} checks passed")


if __name__ == "__main__":
    main()
