-- Mixed admin traffic: facility admins in their facility (list/get facilities
-- and devices, dashboard) and org admins across their organization (audited
-- cross-facility reads).
local fas, oas = {}, {}
for line in io.lines(os.getenv("FA_FILE")) do
  local token, facility, devices = line:match("^(%S+) (%S+) (%S+)$")
  local ids = {}
  for d in devices:gmatch("[^,]+") do ids[#ids + 1] = d end
  fas[#fas + 1] = { token = token, facility = facility, devices = ids }
end
for line in io.lines(os.getenv("OA_FILE")) do
  local token, facilities = line:match("^(%S+) (%S+)$")
  local ids = {}
  for f in facilities:gmatch("[^,]+") do ids[#ids + 1] = f end
  oas[#oas + 1] = { token = token, facilities = ids }
end
local n = 0
request = function()
  n = n + 1
  local kind = n % 10
  if kind < 7 then
    local u = fas[(n % #fas) + 1]
    local h = { ["Authorization"] = "Bearer " .. u.token }
    if kind == 0 then return wrk.format("GET", "/api/facilities", h) end
    if kind == 1 then return wrk.format("GET", "/api/facilities/" .. u.facility, h) end
    if kind == 2 then return wrk.format("GET", "/api/facilities/" .. u.facility .. "/devices", h) end
    if kind == 3 then return wrk.format("GET", "/api/devices/" .. u.devices[(n % #u.devices) + 1], h) end
    if kind == 4 then return wrk.format("GET", "/api/devices?facility_id=" .. u.facility, h) end
    return wrk.format("GET", "/api/facilities/" .. u.facility .. "/dashboard", h)
  end
  local u = oas[(n % #oas) + 1]
  local h = { ["Authorization"] = "Bearer " .. u.token }
  local f = u.facilities[(n % #u.facilities) + 1]
  if kind == 7 then return wrk.format("GET", "/api/facilities?limit=20", h) end
  if kind == 8 then return wrk.format("GET", "/api/facilities/" .. f .. "/dashboard", h) end
  return wrk.format("GET", "/api/facilities/" .. f .. "/devices", h)
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
