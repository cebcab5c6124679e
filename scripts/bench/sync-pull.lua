-- A device pulling its facility's change feed (first page of 100, the
-- query a device behind on sync repeats), with its device token. Counts
-- 503s apart from other failures.
local token = os.getenv("DEVICE_TOKEN")
local path = "/api/sync/pull?protocol_version=1&schema_version=4&limit=100"
local threads = {}
setup = function(thread)
  threads[#threads + 1] = thread
end
unavailable, other = 0, 0
request = function()
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
response = function(status)
  if status == 503 then
    unavailable = unavailable + 1
  elseif status ~= 200 then
    other = other + 1
  end
end
done = function(summary, latency, requests)
  local u, o = 0, 0
  for _, t in ipairs(threads) do
    u = u + t:get("unavailable")
    o = o + t:get("other")
  end
  io.write(string.format("sync pull: %d requests, %.0f/s, p50 %.1f ms, p99 %.1f ms, max %.1f ms, 503: %d, other non-200: %d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, u, o))
end
