-- Wrong-password logins. MODE=one: one username from one address (the
-- per-address and per-account limits answer most of them cheaply). MODE=spread:
-- a new username and a new X-Forwarded-For address on every request (the API
-- trusts 127.0.0.1 as its proxy), so each one costs a full argon2 check: the
-- worst case for the semaphore that bounds password work.
local mode = os.getenv("MODE") or "one"
local username = os.getenv("USERNAME_TRIED") or "nobody"
local counts = {}
local n = 0
setup = function(thread)
  thread:set("seed", math.random(1, 1000000))
end
init = function()
  n = (seed or 1) * 1000
end
request = function()
  n = n + 1
  local headers = { ["Content-Type"] = "application/json" }
  local user = username
  if mode == "spread" then
    user = "flood" .. n
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d",
      math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  end
  local body = string.format('{"username":"%s","password":"wrong-password-%d"}', user, n)
  return wrk.format("POST", "/api/auth/login", headers, body)
end
response = function(status)
  counts[status] = (counts[status] or 0) + 1
end
done = function(summary, latency, requests)
  io.write(string.format("login flood (%s): %d requests, %.0f/s, p50 %.1f ms, p99 %.1f ms\n", mode,
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
