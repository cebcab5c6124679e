-- Enrollment: every request is a new device (random v4 device_uuid) enrolling
-- with one of ten many-use codes (ENROLL_CODE followed by 0–9). Rate limits
-- are raised for the run.
local code = os.getenv("ENROLL_CODE")
local threads = {}
-- Distinct devices in every run (wrk's Lua starts from the same seed).
math.randomseed(os.time() + math.floor(os.clock() * 1e6))
setup = function(thread)
  thread:set("seed", math.random(1, 2^31 - 1))
  threads[#threads + 1] = thread
end
init = function()
  math.randomseed(seed or os.time())
end
local function uuid4()
  local t = {}
  for i = 1, 16 do t[i] = math.random(0, 255) end
  t[7] = (t[7] % 16) + 64
  t[9] = (t[9] % 64) + 128
  return string.format("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", (table.unpack or unpack)(t))
end
local n = 0
request = function()
  n = n + 1
  local body = string.format(
    '{"enrollment_code":"%s","device_uuid":"%s","mac_address":"b8:27:eb:12:34:56","device_type":"TABLET","device_name":"Bench Tablet","public_key":"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=","os":"Debian 12","app_version":"0.1.0","identity_source":"machine_id"}',
    code .. (n % 10), uuid4())
  return wrk.format("POST", "/api/devices/enroll", { ["Content-Type"] = "application/json" }, body)
end
errors = 0
response = function(status)
  if status ~= 201 then errors = errors + 1 end
end
done = function(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("errors") end
  io.write(string.format("non-201 responses: %d\n", total))
end
