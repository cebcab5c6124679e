-- Heartbeats: each request is one device (round-robin over DEVICE_FILE lines
-- "token device_id", each thread starting at a random place) posting its
-- heartbeat with its own device token.
local devices = {}
for line in io.lines(os.getenv("DEVICE_FILE")) do
  local token, id = line:match("^(%S+) (%S+)$")
  devices[#devices + 1] = { token = token, id = id }
end
local threads = {}
setup = function(thread)
  thread:set("offset", math.random(#devices))
  threads[#threads + 1] = thread
end
local n = 0
init = function()
  n = offset or 0
end
request = function()
  n = n + 1
  local d = devices[(n % #devices) + 1]
  local body = string.format(
    '{"app_version":"0.1.0","encryption_posture":"keyring","pending_outbox":%d,"last_sync":"%s","sync_errors":false,"device_time":"%s"}',
    n % 7, os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 60), os.date("!%Y-%m-%dT%H:%M:%SZ"))
  return wrk.format("POST", "/api/devices/" .. d.id .. "/heartbeat",
    { ["Authorization"] = "Bearer " .. d.token, ["Content-Type"] = "application/json" }, body)
end
errors = 0
response = function(status)
  if status ~= 200 then errors = errors + 1 end
end
done = function(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("errors") end
  io.write(string.format("non-200 responses: %d\n", total))
end
