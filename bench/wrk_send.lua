-- Loaded by bench/send_accept.py with `wrk -s`: every request is a POST of a single-recipient
-- send, JSON, to a fresh random Swedish mobile number (4670 + 7 digits), so each one starts a
-- new conversation rather than closing the same one over and over. Authorization, if any,
-- comes from wrk's --header. The summary line is wrk_report.lua's, loaded from beside this.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_report.lua")

local BODY = '{"brand":"bench","agent":"bot","recipient":"4670%07d","content":"Hej!"}'

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

init = function(args)
  -- The warm-up and the measured run are separate wrk processes: seed each differently.
  math.randomseed(os.time() * 1000003 + math.floor(os.clock() * 1e6))
end

request = function()
  local body = string.format(BODY, math.random(0, 9999999))
  return wrk.format(nil, nil, nil, body)
end
