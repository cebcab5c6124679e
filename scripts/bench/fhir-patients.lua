-- FHIR Patient search by organization: each connection cycles through the
-- organization admins, each searching its own organization's residents.
local users = {}
for line in io.lines(os.getenv("OA_ORG_FILE")) do
  local token, org = line:match("^(%S+) (%S+)$")
  users[#users + 1] = { token = token, org = org }
end
local i = 0
request = function()
  i = i % #users + 1
  local u = users[i]
  return wrk.format("GET", "/fhir/R4/Patient?organization=Organization/" .. u.org,
    { ["Authorization"] = "Bearer " .. u.token, ["Accept"] = "application/fhir+json" })
end
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
