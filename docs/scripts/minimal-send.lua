-- wrk script of docs/scripts/minimal-endpoint.py: POST /transfers from one of the 200 source
-- accounts (1-200) to one of the 200 target accounts (1001-1200), 1 to 100 units. Sources and
-- targets are apart and every transaction debits before it credits, so no two can deadlock.
-- done() prints one line starting with MINIMAL_JSON.

math.randomseed(os.time())
local created, refused = 0, 0

function request()
  local body = string.format('{"source":%d,"target":%d,"amount":%d}',
    math.random(1, 200), math.random(1001, 1200), math.random(1, 100))
  return wrk.format("POST", "/transfers", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status == 201 then created = created + 1 else refused = refused + 1 end
end

function done(summary, latency, requests)
  io.write(string.format(
    'MINIMAL_JSON {"requests":%d,"durationUs":%d,"socketErrors":%d,"non2xx":%d,' ..
    '"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
