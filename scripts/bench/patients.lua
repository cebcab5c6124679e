-- Each connection picks RNs round-robin; each lists its own facility's active patients.
local users = {}
for line in io.lines(os.getenv("RN_FILE")) do
  local token, facility = line:match("^(%S+) (%S+)$")
  users[#users + 1] = { token = token, facility = facility }
end
local i = 0
request = function()
  i = i % #users + 1
  local u = users[i]
  return wrk.format("GET", "/api/patients?facility_id=" .. u.facility .. "&status=active",
    { ["Authorization"] = "Bearer " .. u.token })
end
-- Counted per thread, summed in done().
errors = 0
local threads = {}
setup = function(thread)
  threads[#threads + 1] = thread
end
response = function(status)
  if status ~= 200 then errors = errors + 1 end
end
done = function(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("errors") end
  io.write(string.format("non-200 responses: %d\n", total))
end
