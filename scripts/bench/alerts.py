#!/usr/bin/env python3
"""Live wandering alerts over the API's push channel (Server-Sent Events).

  alerts.py latency BASE WRITER_TOKEN READER_TOKEN PATIENT AUTHOR N
      N alerts pushed through POST /api/sync/push by device A; each one's
      time from the push request to its event on device B's open
      GET /api/devices/events connection. Prints p50/p95/max.
  alerts.py idle BASE TOKEN_FILE API_PID HOLD_SECONDS
      Opens one connection per device token in TOKEN_FILE, holds them (past a
      heartbeat), counts how many are still open, and the API's RSS before
      and after. Standard library only (asyncio streams).
"""
import asyncio
import json
import statistics
import sys
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import urlsplit


def uuid7():
    """A UUIDv7 (the API takes record ids made on the device in this form)."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(__import__("os").urandom(10), "big")
    value = (ms << 80) | (0x7 << 76) | ((rand >> 68) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def now_iso():
    return datetime.now(timezone.utc).isoformat()


async def open_events(host, port, token, last=None):
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
    extra = f"Last-Event-ID: {last}\r\n" if last is not None else ""
    writer.write(
        (f"GET /api/devices/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
         f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n{extra}\r\n").encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"push channel refused: {status!r}")
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    return reader, writer


async def events(reader):
    """Yields (id, data) of each event; chunked transfer framing skipped."""
    data, ident = [], None
    while True:
        line = await reader.readline()
        if not line:
            return
        line = line.rstrip(b"\r\n").decode()
        if line.startswith("data:"):
            data.append(line[5:].strip())
        elif line.startswith("id:"):
            ident = line[3:].strip()
        elif line == "" and data:
            yield ident, json.loads("\n".join(data))
            data = []


async def post_json(host, port, path, token, body):
    reader, writer = await asyncio.open_connection(host, port)
    payload = json.dumps(body).encode()
    writer.write(
        (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
         f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n").encode()
        + payload)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    if b" 200 " not in answer.split(b"\r\n", 1)[0] or b'"rejected":[]' not in answer:
        raise RuntimeError(answer[:400])


async def latency(base, writer_token, reader_token, patient, author, n):
    u = urlsplit(base)
    reader, _w = await open_events(u.hostname, u.port, reader_token)
    stream = events(reader)
    times = []
    for _ in range(n):
        rid = uuid7()
        op = {"id": rid, "seq": 1, "payload": {"type": "record", "data": {
            "patient_id": patient, "author_user_id": author, "recorded_at": now_iso(), "amends": None,
            "body": {"kind": "wandering_alert", "alert": "exit_door", "location": "east exit"}}}}
        body = {"protocol_version": 1, "schema_version": SCHEMA, "device_time": now_iso(), "operations": [op]}
        start = time.perf_counter()
        await post_json(u.hostname, u.port, "/api/sync/push", writer_token, body)
        async for _id, event in stream:
            if event["alert"]["id"] == rid and event["event"] == "raised":
                break
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print(f"push: {n} alerts, write (sync push) -> event on the other device: "
          f"p50 {p(0.5):.1f} ms, p95 {p(0.95):.1f} ms, max {times[-1]:.1f} ms, mean {statistics.mean(times):.1f} ms")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def idle(base, token_file, pid, hold):
    u = urlsplit(base)
    tokens = [l.split()[0] for l in open(token_file) if l.strip()]
    before = rss_kib(pid)
    conns = []
    sem = asyncio.Semaphore(100)
    failures = 0

    async def one(t):
        nonlocal failures
        async with sem:
            try:
                conns.append(await open_events(u.hostname, u.port, t))
            except Exception:
                failures += 1

    start = time.perf_counter()
    await asyncio.gather(*(one(t) for t in tokens))
    opened = time.perf_counter() - start
    print(f"idle: opened {len(conns)} connections in {opened:.1f} s ({failures} refused)")
    await asyncio.sleep(hold)
    alive = 0
    for reader, _ in conns:
        # A heartbeat (": ...") must have arrived on each within the hold.
        try:
            chunk = await asyncio.wait_for(reader.read(4096), 0.05)
            alive += 1 if chunk else 0
        except asyncio.TimeoutError:
            pass
    after = rss_kib(pid)
    print(f"idle: {alive} of {len(conns)} still open with a heartbeat after {hold} s; API RSS "
          f"{before / 1024:.1f} MiB -> {after / 1024:.1f} MiB, "
          f"{(after - before) / max(1, len(conns)):.1f} KiB per connection")
    for _, w in conns:
        w.close()


SCHEMA = int(__import__("os").environ.get("SCHEMA_VERSION", "5"))

if __name__ == "__main__":
    if sys.argv[1] == "latency":
        asyncio.run(latency(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])))
    else:
        asyncio.run(idle(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
