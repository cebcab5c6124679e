#!/usr/bin/env python3
"""Checks the multi-instance stack (scripts/services/stack.sh) from outside,
as devices and admins would, and proves what issue 16 asks of several
instances: nothing a request depends on lives in one instance's memory.

Through HAProxy (TLS, trusting only the test CA), round robin over every
instance, and where a story needs a particular instance, at the instances'
own URLs:
  - TLS, round robin, password login and its token on every instance;
  - the client address behind HAProxy is the real one: a forged
    X-Forwarded-For does not reach the audit log;
  - an enrollment code and a device enrolling with it;
  - a challenge issued by one instance is answered at another, and its nonce
    replayed at a third is refused;
  - sync push and pull with the device token, a replayed push, and a badge
    login (tap, PIN) through the device;
  - the app's own Rust client (tend_core, run as the stack_device example)
    over TLS through the system trust store: enrollment, tokens, heartbeats,
    the initial sync, a badge login, records pushed once and received by a
    second device exactly once;
  - a password-login lockout that counts failures across all instances;
  - HAProxy's own per-address limit on password logins: a flood from one
    address is answered by HAProxy (429, the API's error shape) before it
    reaches the instances, while another address still signs in;
  - a deactivation reaching every instance's token cache;
  - soaks: a sync-push soak while one instance is killed (kill -9), and
    another while PostgreSQL is stopped and started: the API answers 503 with
    Retry-After while it is down and recovers without restarts; the device
    retries, and every record is on the server exactly once.

Standard library only; Ed25519 signing goes through the openssl CLI, the
final count of the soaks' records through psql (the schema owner's view).
Reads TEND_STACK_URL, TEND_STACK_CA, TEND_STACK_INSTANCES, TEND_STACK_DIR,
TEND_STACK_OWNER_URL and STACK_TEST_USER / STACK_TEST_PASSWORD (an
organization admin of a seeded organization, e.g. sunrise.orgadmin after
`tend-api seed-demo`). The instances must run with the server's default
login limits (5 free failures, then back-off, locked at 10).
Prints no token, password, badge value or resident data.
Exits non-zero with the failed check's message.
"""

import base64
import datetime
import http.client
import json
import os
import queue
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

BASE = os.environ["TEND_STACK_URL"]
CA = os.environ["TEND_STACK_CA"]
INSTANCES = os.environ["TEND_STACK_INSTANCES"].split()
STACK_DIR = os.environ["TEND_STACK_DIR"]
OWNER_URL = os.environ["TEND_STACK_OWNER_URL"]
USER = os.environ["STACK_TEST_USER"]
PASSWORD = os.environ["STACK_TEST_PASSWORD"]
STACK_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "services", "stack.sh")

TRUSTING = ssl.create_default_context(cafile=CA)
SYSTEM_ONLY = ssl.create_default_context()

# What a request may take before we call it hung (answers here are quick;
# a hang is what must not happen).
CLIENT_TIMEOUT = 15
# The server's login limits (IdentityConfig::default in tend-api).
LOGIN_MAX_FAILURES = 10
# The sync protocol this script speaks (tend_domain::wire::sync).
PROTOCOL_VERSION = 1
SCHEMA_VERSION = 4

checks = 0


def check(cond, message):
    global checks
    if not cond:
        print(f"FAIL: {message}", file=sys.stderr)
        sys.exit(1)
    checks += 1
    print(f"ok: {message}")


def note(message):
    print(f"   {message}")


def call(method, path, body=None, token=None, context=TRUSTING, base=BASE, headers=None):
    """One request; returns (status, headers, parsed JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, context=context, timeout=CLIENT_TIMEOUT) as resp:
            raw = resp.read()
            return resp.status, resp.headers, (json.loads(raw) if raw.strip() else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        return e.code, e.headers, parsed


def error_code(body):
    return ((body or {}).get("error") or {}).get("code")


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def uuid7():
    """A UUIDv7 (48-bit millisecond clock, version, random), as a device makes
    its records' ids (Python's uuid module has none before 3.14)."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = ((ms & (2**48 - 1)) << 80) | (0x7 << 76) | (((rand >> 68) & 0xFFF) << 64) \
        | (0b10 << 62) | (rand & (2**62 - 1))
    return uuid.UUID(int=value)


def stack(*args):
    """The stack's own control (kill-instance, start-instance, stop-pg, start-pg)."""
    subprocess.run(["bash", STACK_SH, args[0], STACK_DIR, *args[1:]], check=True,
                   stdout=subprocess.DEVNULL)


def psql(sql):
    out = subprocess.run(["psql", "-qAt", "-v", "ON_ERROR_STOP=1", OWNER_URL, "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line]


def ed25519_keypair(workdir):
    key = os.path.join(workdir, f"device-{uuid.uuid4().hex}.key")
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


class Device:
    """An enrolled device: its key, uuid and server id."""

    def __init__(self, workdir, key, device_uuid, device_id):
        self.workdir, self.key, self.uuid, self.id = workdir, key, device_uuid, device_id
        self.token = None
        self.seq = 0

    def signed(self, nonce):
        message = f"tend-device-auth-v1\n{self.uuid}\n{nonce}".encode()
        return ed25519_sign(self.key, message, self.workdir)

    def authenticate(self):
        """Challenge → signed nonce → token, through HAProxy."""
        status, _, challenge = call("POST", "/api/devices/auth/challenge", {"device_uuid": self.uuid})
        check(status == 200, f"device challenge issued ({status})")
        status, _, issued = call("POST", "/api/devices/auth/token", {
            "device_uuid": self.uuid, "nonce": challenge["nonce"], "signature": self.signed(challenge["nonce"])})
        check(status == 200, f"signed challenge gives a device token ({status})")
        self.token = issued["token"]

    def records(self, count, patient_id, author_id, label):
        """`count` new care notes as the outbox holds them: each with its own
        UUIDv7, the idempotency key of every retry."""
        ops = []
        for _ in range(count):
            self.seq += 1
            ops.append({"id": str(uuid7()), "seq": self.seq, "payload": {"type": "record", "data": {
                "patient_id": patient_id, "author_user_id": author_id, "recorded_at": now_iso(),
                "body": {"kind": "care_note", "text": f"{label} note {self.seq}"}}}})
        return ops

    def push(self, ops, base=BASE):
        return call("POST", "/api/sync/push", {
            "protocol_version": PROTOCOL_VERSION, "schema_version": SCHEMA_VERSION,
            "device_time": now_iso(), "operations": ops}, token=self.token, base=base)

    def pull(self, cursor=None):
        """Every page from `cursor` on; returns (changes, last cursor, instances seen)."""
        changes, seen = [], set()
        while True:
            query = {"protocol_version": PROTOCOL_VERSION, "schema_version": SCHEMA_VERSION}
            if cursor:
                query["cursor"] = cursor
            status, headers, page = call("GET", "/api/sync/pull?" + urllib.parse.urlencode(query),
                                         token=self.token)
            check(status == 200, f"sync pull page answers 200 ({status}{'' if status == 200 else error_code(page)})")
            seen.add(headers.get("X-Tend-Instance"))
            changes.extend(page["changes"])
            cursor = page["cursor"]
            if not page["has_more"]:
                return changes, cursor, seen


def enroll(admin_token, facility_id, workdir, name):
    status, _, created = call("POST", f"/api/facilities/{facility_id}/enrollment-codes",
                              {"max_uses": 1, "expires_in_hours": 1}, token=admin_token)
    check(status == 201 and created and created.get("code"), f"enrollment code created ({status})")
    key, public_key = ed25519_keypair(workdir)
    device_uuid = str(uuid.uuid4())
    status, _, device = call("POST", "/api/devices/enroll", {
        "enrollment_code": created["code"], "device_uuid": device_uuid, "device_type": "TABLET",
        "device_name": name, "public_key": public_key, "app_version": "0.1.0",
    })
    check(status == 201 and device and device.get("status") == "ACTIVE",
          f"device '{name}' enrolled ACTIVE with the code through HAProxy ({status})")
    return Device(workdir, key, device_uuid, device["id"]), created["code"], public_key


def tls_and_round_robin():
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


def password_login():
    """Password login on one instance; the token works on every instance.
    Returns (token, user id, facility id)."""
    status, _, login = call("POST", "/api/auth/login", {"username": USER, "password": PASSWORD})
    check(status == 200 and login and login.get("token"), f"password login through HAProxy ({status})")
    token = login["token"]
    status, _, wrong = call("POST", "/api/auth/login", {"username": USER, "password": PASSWORD + "x"})
    check(status == 401, f"a wrong password is refused with 401 ({status} {error_code(wrong)})")
    seen = set()
    facilities = None
    for _ in range(2 * len(INSTANCES)):
        status, headers, facilities = call("GET", "/api/facilities", token=token)
        check(status == 200, "GET /api/facilities with the login token answers 200")
        seen.add(headers.get("X-Tend-Instance"))
    check(len(seen) == len(INSTANCES), f"the login token is honoured by all {len(INSTANCES)} instances ({sorted(seen)})")
    items = facilities.get("items", facilities) if isinstance(facilities, dict) else facilities
    return token, login["user"]["id"], items[0]["id"]


def newest_audit(token, **query):
    status, _, page = call("GET", "/api/audit-events?" + urllib.parse.urlencode(query), token=token)
    check(status == 200, f"the audit log answers 200 ({status})")
    return page["items"]


def client_address_is_the_real_one(token, user_id):
    # HAProxy appends the address it saw to whatever X-Forwarded-For the
    # client sent; the instances trust only HAProxy (--trusted-proxy), so
    # they take the right-most hop HAProxy added, not the client's claim.
    forged = "203.0.113.77"
    for where, base in (("through HAProxy", BASE), ("straight to an instance", INSTANCES[0])):
        before = newest_audit(token, action="auth.login", resource_id=user_id, limit=1)
        status, _, _ = call("POST", "/api/auth/login", {"username": USER, "password": PASSWORD},
                            base=base, headers={"X-Forwarded-For": forged})
        check(status == 200, f"login {where} with a forged X-Forwarded-For ({status})")
        after = newest_audit(token, action="auth.login", resource_id=user_id, limit=1)
        check(after and (not before or after[0]["id"] > before[0]["id"]),
              f"the login {where} is in the audit log")
        address = after[0]["client_address"]
        check(address == "127.0.0.1",
              f"its audit row names the real client 127.0.0.1, not the forged {forged} ({address})")


def challenge_across_instances(device):
    # Issued by one instance, answered at another: the nonce is a row in
    # PostgreSQL, taken once (DELETE … RETURNING) by whichever instance.
    first, second, third = INSTANCES[0], INSTANCES[1 % len(INSTANCES)], INSTANCES[2 % len(INSTANCES)]
    status, _, challenge = call("POST", "/api/devices/auth/challenge", {"device_uuid": device.uuid}, base=first)
    check(status == 200 and challenge.get("nonce"), f"challenge issued by {first} ({status})")
    answer = {"device_uuid": device.uuid, "nonce": challenge["nonce"], "signature": device.signed(challenge["nonce"])}
    status, _, issued = call("POST", "/api/devices/auth/token", answer, base=second)
    check(status == 200 and issued.get("token", "").startswith("tdev_"),
          f"the signed challenge answered at {second} gives a device token ({status}{'' if status == 200 else error_code(issued)})")
    status, _, replay = call("POST", "/api/devices/auth/token", answer, base=third)
    check(status == 401 and error_code(replay) == "UNAUTHORIZED",
          f"the same nonce replayed at {third} is refused ({status} {error_code(replay)})")
    device.token = issued["token"]


def heartbeats_everywhere(device):
    seen = set()
    for _ in range(2 * len(INSTANCES)):
        status, headers, ack = call("POST", f"/api/devices/{device.id}/heartbeat", {
            "encryption_posture": "keyring", "pending_outbox": 0, "sync_errors": False,
            "app_version": "0.1.0", "device_time": now_iso()}, token=device.token)
        check(status == 200 and "server_time" in ack,
              f"heartbeat with the device token answers 200 ({status}{'' if status == 200 else error_code(ack)})")
        seen.add(headers.get("X-Tend-Instance"))
    check(len(seen) == len(INSTANCES), f"the device token is honoured by all {len(INSTANCES)} instances ({sorted(seen)})")


def give_badge(admin_token, member, pin):
    """An admin gives a staff member a new badge and sets their PIN; returns the badge."""
    badge = "04" + os.urandom(6).hex().upper()
    status, _, assigned = call("POST", f"/api/users/{member['id']}/badges", {"badge_uid": badge}, token=admin_token)
    check(status == 201, f"admin assigns a new badge to a staff member through HAProxy ({status} {error_code(assigned)})")
    status, _, body = call("PUT", f"/api/users/{member['id']}/pin", {"pin": pin}, token=admin_token)
    check(status == 200, f"admin sets the staff member's PIN ({status} {error_code(body)})")
    return badge


def sign_in_on(device, badge, pin, member):
    """Badge + PIN on the device: the author's session there, which the
    server requires of every record the device pushes in their name."""
    status, _, session = call("POST", "/api/auth/badge-login", {"badge_uid": badge, "pin": pin},
                              token=device.token)
    check(status == 200 and session["user"]["id"] == member["id"],
          f"the author signs in on the device with badge + PIN ({status} {error_code(session)})")


def sync_through_haproxy(device, admin_token):
    """Initial pull, a push, an incremental pull that returns it, a replayed
    push, a record whose author never signed in on the device refused.
    Returns (an active resident's id, an RN with their badge and PIN, the
    facility's staff)."""
    changes, cursor, seen = device.pull()
    patients = [c["data"] for c in changes if c["type"] == "patient" and c["data"]["status"] == "active"]
    staff = [c["data"] for c in changes if c["type"] == "staff"]
    check(patients and staff and any(c["type"] == "facility" for c in changes),
          f"initial sync pull through HAProxy: the facility, {len(patients)} active residents, "
          f"{len(staff)} staff ({len(changes)} changes)")
    patient_id = patients[0]["id"]
    author = next(s for s in staff if s["role"] == "RN")
    stranger = next(s for s in staff if s["role"] == "RN" and s["id"] != author["id"])
    forged = device.records(1, patient_id, stranger["id"], "stack forged")
    status, _, result = device.push(forged)
    check(status == 200 and [r["code"] for r in result["rejected"]] == ["FORGED_AUTHOR"] and not result["accepted"],
          f"a record by someone who never signed in on the device is refused as FORGED_AUTHOR "
          f"({status} {result.get('rejected') if isinstance(result, dict) else error_code(result)})")
    author["badge"], author["pin"] = give_badge(admin_token, author, "61829374"), "61829374"
    sign_in_on(device, author["badge"], author["pin"], author)

    ops = device.records(3, patient_id, author["id"], "stack sync")
    status, headers, result = device.push(ops)
    sent = {op["id"] for op in ops}
    check(status == 200 and set(result["accepted"]) == sent and not result["rejected"],
          f"sync push of 3 records accepted by {headers.get('X-Tend-Instance')} ({status} {error_code(result)})")
    new, cursor, _ = device.pull(cursor)
    pulled = [c["data"]["id"] for c in new if c["type"] == "record" and c["data"]["device_id"] == device.id]
    check(sorted(pulled) == sorted(sent),
          f"incremental pull (after one from {sorted(seen)}) returns the 3 pushed records, each once")
    status, headers, again = device.push(ops)
    check(status == 200 and set(again["duplicates"]) == sent and not again["accepted"],
          f"the same push replayed (answered by {headers.get('X-Tend-Instance')}) changes nothing: 3 duplicates")
    return patient_id, author, staff


def badge_login(device, admin_token, staff):
    """An admin gives a staff member a badge and a PIN; the device logs them in."""
    member = next(s for s in reversed(staff) if s["role"] == "CNA")
    pin = "73946281"
    badge = give_badge(admin_token, member, pin)
    status, _, tap = call("POST", "/api/auth/badge-login", {"badge_uid": badge}, token=device.token)
    check(status == 401 and error_code(tap) == "BADGE_PIN_REQUIRED",
          f"badge tap alone on the device asks for the PIN first ({status} {error_code(tap)})")
    status, headers, session = call("POST", "/api/auth/badge-login", {"badge_uid": badge, "pin": pin},
                                    token=device.token)
    check(status == 200 and session["user"]["id"] == member["id"],
          f"badge + PIN log the staff member in (answered by {headers.get('X-Tend-Instance')}) ({status} {error_code(session)})")
    seen = set()
    for _ in range(len(INSTANCES)):
        status, headers, me = call("GET", "/api/auth/me", token=session["token"])
        check(status == 200 and me["id"] == member["id"], f"the badge session's token answers /api/auth/me ({status})")
        seen.add(headers.get("X-Tend-Instance"))
    check(len(seen) == len(INSTANCES), f"the badge session is honoured by all {len(INSTANCES)} instances ({sorted(seen)})")


def app_client_path(admin_token, facility_id, staff, author):
    """The device path again, driven by the app's own Rust client."""
    binary = os.environ["STACK_DEVICE_BIN"]
    codes = []
    for _ in range(2):
        status, _, created = call("POST", f"/api/facilities/{facility_id}/enrollment-codes",
                                  {"max_uses": 1, "expires_in_hours": 1}, token=admin_token)
        check(status == 201, f"enrollment code for the app's client created ({status})")
        codes.append(created["code"])
    member = next(s for s in staff if s["role"] in ("RN", "LPN") and s["id"] != author["id"])
    pin = "58203917"
    badge = give_badge(admin_token, member, pin)
    env = dict(os.environ, SSL_CERT_FILE=CA, STACK_DEVICE_CODE=codes[0], STACK_DEVICE_CODE2=codes[1],
               STACK_DEVICE_BADGE=badge, STACK_DEVICE_PIN=pin, STACK_DEVICE_STAFF_ID=str(member["id"]),
               TEND_LOG="warn")
    run = subprocess.run([binary], env=env, capture_output=True, text=True, timeout=300)
    lines = run.stdout.splitlines()
    for line in lines:
        print(f"  app client: {line}", flush=True)
    check(run.returncode == 0 and lines and all(line.startswith("ok") for line in lines),
          f"the app's Rust client completes the device path through HAProxy "
          f"({len(lines)} steps, exit {run.returncode}{': ' + run.stderr.strip()[-300:] if run.returncode else ''})")


def lockout_across_instances(admin_token, facility_id):
    """Failed passwords for one account, round robin over the instances,
    lock it after LOGIN_MAX_FAILURES in all — not that many per instance."""
    suffix = uuid.uuid4().hex[:8]
    username = f"stack-lockout-{suffix}"
    password = f"right {uuid.uuid4().hex}"
    status, _, user = call("POST", "/api/users", {
        "facility_id": facility_id, "employee_id": f"STACK-{suffix}", "username": username,
        "full_name": "Stack Lockout Test", "role": "CNA", "password": password}, token=admin_token)
    check(status == 201, f"admin creates an account to lock out ({status} {error_code(user)})")

    checked = []  # instances that checked (and refused) a wrong password
    waits = 0
    while len(checked) <= 3 * LOGIN_MAX_FAILURES:
        status, headers, body = call("POST", "/api/auth/login", {"username": username, "password": f"wrong {len(checked)}"})
        if status == 401:
            checked.append(headers.get("X-Tend-Instance"))
            continue
        check(status == 429 and error_code(body) == "RATE_LIMITED" and headers.get("Retry-After"),
              f"a throttled login answers 429 RATE_LIMITED with Retry-After ({status} {error_code(body)})")
        retry_after = int(headers["Retry-After"])
        if retry_after > 60:
            break  # locked
        # Backing off between failures, as the server asks (1 s, 2 s, 4 s, …).
        waits += 1
        time.sleep(retry_after)
    check(len(checked) == LOGIN_MAX_FAILURES,
          f"the account locked after {len(checked)} wrong passwords in all (server limit {LOGIN_MAX_FAILURES}), "
          f"not {LOGIN_MAX_FAILURES} per instance; {waits} back-off waits honoured")
    check(len(set(checked)) == len(INSTANCES),
          f"those wrong passwords were checked by all {len(INSTANCES)} instances ({sorted(set(checked))})")
    for url in INSTANCES:
        status, headers, body = call("POST", "/api/auth/login", {"username": username, "password": password}, base=url)
        check(status == 429 and error_code(body) == "RATE_LIMITED" and int(headers.get("Retry-After", "0")) > 60,
              f"instance {url} refuses even the right password while locked ({status} {error_code(body)})")
    locked = newest_audit(admin_token, action="auth.account_locked", resource_id=user["id"])
    check(len(locked) == 1 and locked[0]["outcome"] == "denied",
          f"the lock is in the audit log once ({len(locked)} rows)")


def login_from(source_ip, body):
    """POST /api/auth/login through HAProxy from another loopback address."""
    parsed = urllib.parse.urlsplit(BASE)
    conn = http.client.HTTPSConnection(parsed.hostname, parsed.port, context=TRUSTING,
                                       timeout=CLIENT_TIMEOUT, source_address=(source_ip, 0))
    try:
        conn.request("POST", "/api/auth/login", json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, resp.headers, (json.loads(raw) if raw.strip() else None)
    finally:
        conn.close()


def proxy_login_limit():
    """A password-guess flood from one address stops at HAProxy."""
    flooder = "127.0.0.9"
    reached, at_proxy = 0, []
    for i in range(45):
        status, headers, body = login_from(flooder, {"username": f"flood-{i}", "password": "not the password"})
        if headers.get("X-Tend-Instance"):
            reached += 1
        else:
            at_proxy.append((status, headers.get("Retry-After"), error_code(body)))
    check(reached <= 31 and at_proxy and all(a == (429, "10", "RATE_LIMITED") for a in at_proxy),
          f"a flood of 45 password logins from one address: {reached} reached the instances, "
          f"{len(at_proxy)} answered by HAProxy with 429 RATE_LIMITED and Retry-After")
    status, headers, body = call("POST", "/api/auth/login", {"username": USER, "password": PASSWORD})
    check(status == 200 and headers.get("X-Tend-Instance"),
          f"meanwhile another address signs in through HAProxy ({status})")


def deactivation_everywhere(device, admin_token):
    # Deactivation on one instance reaches every instance's token cache
    # through NOTIFY, which each instance LISTENs for on its direct
    # connection (PgBouncer in transaction mode would lose it). The notice is
    # sent at commit and read by each listener moments later, so an instance
    # may still accept the token for that moment (as the server's own
    # two-instance test allows): ask each a few times.
    status, _, _ = call("POST", f"/api/devices/{device.id}/deactivate", {}, token=admin_token)
    check(status == 200, f"admin deactivates the device through HAProxy ({status})")
    for url in INSTANCES:
        for attempt in range(1, 51):
            status, _, refusal = call("POST", f"/api/devices/{device.id}/heartbeat", {
                "encryption_posture": "keyring", "device_time": now_iso()}, token=device.token, base=url)
            if status != 200:
                break
            time.sleep(0.1)
        code = error_code(refusal)
        check(status == 401 and code == "DEVICE_DEACTIVATED",
              f"instance {url} refuses the deactivated device's cached token "
              f"({status} {code}, at attempt {attempt})")


class Soak:
    """Pushes `batches` through HAProxy from a few workers, each retrying a
    batch until the server has it, as the device's outbox does: the same
    operation ids every time, after Retry-After (or half a second when the
    connection failed). `pause_at` batches done, the workers wait for
    `resume` — so the last part of the soak runs after the fault began."""

    def __init__(self, device, batches, workers=3, pause_at=None):
        self.device = device
        self.todo = queue.Queue()
        for b in batches:
            self.todo.put(b)
        self.total = len(batches)
        self.done = 0
        self.failures = {}  # status (or "connection") → count
        self.problems = []
        self.lock = threading.Condition()
        self.pause_at = pause_at
        self.resume = threading.Event()
        if pause_at is None:
            self.resume.set()
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(workers)]

    def start(self):
        for t in self.threads:
            t.start()

    def wait_done(self, n):
        with self.lock:
            self.lock.wait_for(lambda: self.done >= n or self.problems, timeout=120)
            return self.done

    def join(self):
        for t in self.threads:
            t.join(timeout=300)
        return not any(t.is_alive() for t in self.threads)

    def _failed(self, what):
        with self.lock:
            self.failures[what] = self.failures.get(what, 0) + 1

    def _work(self):
        while True:
            try:
                ops = self.todo.get_nowait()
            except queue.Empty:
                return
            if not self._push_until_stored(ops):
                return
            with self.lock:
                self.done += 1
                self.lock.notify_all()
                paused = self.pause_at is not None and self.done >= self.pause_at
            if paused:
                self.resume.wait(timeout=120)

    def _push_until_stored(self, ops):
        ids = {op["id"] for op in ops}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                status, headers, result = self.device.push(ops)
            except (urllib.error.URLError, OSError) as e:
                # Refused, reset, or cut off mid-answer (the push may or may
                # not have been applied: the retry tells, as a duplicate).
                self._failed(f"connection ({type(e).__name__})")
                time.sleep(0.5)
                continue
            if status == 200:
                stored = set(result["accepted"]) | set(result["duplicates"])
                if stored != ids or result["rejected"]:
                    with self.lock:
                        self.problems.append(f"push answered 200 but stored {len(stored)} of {len(ids)}, "
                                             f"rejected {len(result['rejected'])}")
                        self.lock.notify_all()
                    return False
                return True
            self._failed(status)
            if status >= 500:
                time.sleep(float(headers.get("Retry-After") or 0.5))
                continue
            with self.lock:
                self.problems.append(f"push answered {status} {error_code(result)}: not retryable")
                self.lock.notify_all()
            return False
        with self.lock:
            self.problems.append("a batch was not stored within 120 s of retries")
            self.lock.notify_all()
        return False


def stored_exactly_once(device, batches, label):
    sent = [op["id"] for ops in batches for op in ops]
    rows = psql(f"SELECT id FROM clinical_records WHERE device_id = {int(device.id)} "
                f"AND id IN (SELECT unnest(ARRAY[{','.join(repr(i) for i in sent)}]::uuid[]))")
    lost = set(sent) - set(rows)
    duplicated = len(rows) - len(set(rows))
    check(not lost and duplicated == 0 and len(rows) == len(sent),
          f"{label}: all {len(sent)} records are on the server exactly once "
          f"({len(lost)} lost, {duplicated} duplicated)")


def wait_for_instances(names):
    """Polls through HAProxy until every instance named has answered (HAProxy
    takes a restarted instance back at its next health check)."""
    seen = set()
    for _ in range(200):
        try:
            status, headers, _ = call("GET", "/healthz")
        except (urllib.error.URLError, OSError):
            status, headers = 0, {}
        if status == 200:
            seen.add(headers.get("X-Tend-Instance"))
        if names <= seen:
            return seen
        time.sleep(0.1)
    return seen


def soak_with_a_killed_instance(device, patient_id, author_id):
    # 40 batches of 15 records over three workers; instance 2 is killed
    # (kill -9) once a quarter is stored, and the last half waits for the
    # kill, so it runs while HAProxy still sends some requests to the dead
    # instance (until its health check notices).
    batches = [device.records(15, patient_id, author_id, "stack soak kill") for _ in range(40)]
    soak = Soak(device, batches, pause_at=len(batches) // 2)
    soak.start()
    done = soak.wait_done(len(batches) // 4)
    check(not soak.problems and done < len(batches),
          f"soak under way: {done} of {len(batches)} batches stored before the kill")
    stack("kill-instance", "2")
    soak.resume.set()
    check(soak.join() and not soak.problems,
          f"soak with api2 killed (kill -9) finished: every batch stored {soak.problems or ''}".strip())
    note(f"failed pushes retried: {soak.failures or 'none'}")
    stored_exactly_once(device, batches, "instance killed mid-soak")
    stack("start-instance", "2")
    seen = wait_for_instances({f"api{i + 1}" for i in range(len(INSTANCES))})
    check(len(seen) == len(INSTANCES), f"api2 restarted and back in rotation ({sorted(seen)})")


def soak_with_postgres_restarted(device, patient_id, author_id, admin_token):
    # PostgreSQL stopped and started under a soak: while it is down every
    # request is answered — 503 with Retry-After, not left hanging — and
    # afterwards the same instances serve again (their pools reconnect
    # through PgBouncer) and the device's retries store everything.
    # Six workers: more pushes in flight when PostgreSQL goes away.
    batches = [device.records(15, patient_id, author_id, "stack soak pg") for _ in range(30)]
    soak = Soak(device, batches, workers=6, pause_at=len(batches) // 2)
    soak.start()
    done = soak.wait_done(len(batches) // 4)
    check(not soak.problems and done < len(batches),
          f"soak under way: {done} of {len(batches)} batches stored before PostgreSQL stops")
    stack("stop-pg")
    soak.resume.set()
    probes = [("sync pull (device) through HAProxy", BASE, "device"),
              ("admin facilities list through HAProxy", BASE, "admin"),
              ("admin facilities list through HAProxy", BASE, "admin")]
    probes += [(f"sync pull at {url}", url, "device") for url in INSTANCES]
    for what, base, who in probes:
        if who == "device":
            path = f"/api/sync/pull?protocol_version={PROTOCOL_VERSION}&schema_version={SCHEMA_VERSION}"
            token = device.token
        else:
            path, token = "/api/facilities", admin_token
        try:
            status, headers, body = call("GET", path, token=token, base=base)
        except (urllib.error.URLError, OSError) as e:
            check(False, f"{what} while PostgreSQL is down is answered within {CLIENT_TIMEOUT} s ({e})")
        check(status == 503 and headers.get("Retry-After") and error_code(body) == "UNAVAILABLE",
              f"{what} while PostgreSQL is down: 503 UNAVAILABLE with Retry-After "
              f"({status} {error_code(body)} Retry-After {headers.get('Retry-After')}, "
              f"from {headers.get('X-Tend-Instance') or ('HAProxy itself: no instance ready' if base == BASE else 'the instance')})")
    stack("start-pg")
    recovered = None
    for _ in range(60):
        status, headers, _ = call("GET", "/api/facilities", token=admin_token)
        if status == 200:
            recovered = headers.get("X-Tend-Instance")
            break
        time.sleep(float(headers.get("Retry-After") or 0.5))
    check(recovered, f"after PostgreSQL is back, requests succeed again (first by {recovered}), no instance restarted")
    check(soak.join() and not soak.problems,
          f"soak across the PostgreSQL restart finished: every batch stored {soak.problems or ''}".strip())
    # A push cut off by the shutdown is the outage too (503), never an
    # internal error (500) that would page someone for a routine restart.
    odd = {k: n for k, n in soak.failures.items() if k != 503 and not str(k).startswith("connection")}
    check(not odd, f"every push refused during the restart was a 503 with Retry-After "
                   f"({soak.failures or 'none refused'})")
    stored_exactly_once(device, batches, "PostgreSQL restarted mid-soak")
    for url in INSTANCES:
        status, _, _ = call("GET", "/readyz", base=url)
        check(status == 200, f"instance {url} is ready again without a restart")


def main():
    started = time.monotonic()
    tls_and_round_robin()
    admin_token, admin_id, facility_id = password_login()
    client_address_is_the_real_one(admin_token, admin_id)

    with tempfile.TemporaryDirectory() as workdir:
        device, code, public_key = enroll(admin_token, facility_id, workdir, "Stack test tablet")
        status, _, again = call("POST", "/api/devices/enroll", {
            "enrollment_code": code, "device_uuid": str(uuid.uuid4()), "device_type": "TABLET",
            "device_name": "Second tablet", "public_key": public_key,
        })
        check(status == 403, f"the used-up single-use code is refused on whichever instance ({status} {error_code(again)})")

        challenge_across_instances(device)
        heartbeats_everywhere(device)
        patient_id, author, staff = sync_through_haproxy(device, admin_token)
        badge_login(device, admin_token, staff)
        app_client_path(admin_token, facility_id, staff, author)
        lockout_across_instances(admin_token, facility_id)
        deactivation_everywhere(device, admin_token)
        proxy_login_limit()

        # The soaks last: they kill an instance and stop PostgreSQL.
        soaker, _, _ = enroll(admin_token, facility_id, workdir, "Stack soak tablet")
        soaker.authenticate()
        sign_in_on(soaker, author["badge"], author["pin"], author)
        soak_with_a_killed_instance(soaker, patient_id, author["id"])
        soak_with_postgres_restarted(soaker, patient_id, author["id"], admin_token)

    print(f"stack test: {checks} checks passed in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
