-- wrk script of `korpu bench e2e`: POST /v1/transfers, one pre-made quote per request.
--
-- wrk -t T -c C -d S --latency -s send.lua http://127.0.0.1:PORT -- PLAN_FILE RUN_ID T
--
-- PLAN_FILE has one line per planned transfer: access token, quote id, recipient id (tab separated).
-- Thread i sends lines i, i+T, i+2T, ... each with a fresh Idempotency-Key, and stops when its share
-- runs out (the plan is sized so that it does not). done() prints one line starting with WRK_JSON.

local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  run_id = args[2]
  local thread_count = tonumber(args[3])
  items = {}
  local line_number = 0
  for line in io.lines(args[1]) do
    if line_number % thread_count == index then
      local token, quote, recipient = line:match("^(%S+)\t(%S+)\t(%S+)$")
      items[#items + 1] = {
        "Bearer " .. token,
        '{"quoteId":"' .. quote .. '","recipientId":' .. recipient .. "}",
      }
    end
    line_number = line_number + 1
  end
  next_item = 1
  created, client_errors, server_errors, other, exhausted = 0, 0, 0, 0, 0
end

function request()
  local item = items[next_item]
  if item == nil then
    exhausted = 1
    wrk.thread:stop()
    item = items[#items]
  end
  next_item = next_item + 1
  local headers = {
    ["Authorization"] = item[1],
    ["Idempotency-Key"] = run_id .. "-" .. index .. "-" .. next_item,
    ["Content-Type"] = "application/json",
  }
  return wrk.format("POST", "/v1/transfers", headers, item[2])
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status >= 500 then
    server_errors = server_errors + 1
  elseif status >= 400 then
    client_errors = client_errors + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local totals = { created = 0, client_errors = 0, server_errors = 0, other = 0, exhausted = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"durationUs":%d,"requests":%d,"created":%d,"clientErrors":%d,"serverErrors":%d,'
      .. '"other":%d,"threadsExhausted":%d,"socketErrors":%d,"timeouts":%d,'
      .. '"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d,"meanUs":%.1f}\n',
    summary.duration, summary.requests, totals.created, totals.client_errors, totals.server_errors,
    totals.other, totals.exhausted, errors.connect + errors.read + errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean
  ))
end
