-- wrk: POST /checkouts with a unique Idempotency-Key per request and `Prefer: wait=10`, so that each
-- response arrives when its checkout has ended: wrk's latency is start-to-completion. A response that is
-- not a SUCCEEDED checkout is counted as a failure.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  prefix = args[1] or "load"
  local file = assert(io.open(args[2] or "cart.json", "r"))
  body = file:read("*a")
  file:close()
  sent = 0
  succeeded = 0
  failed = 0
end

function request()
  sent = sent + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("%s-%d-%d", prefix, id, sent),
    ["Prefer"] = "wait=10",
  }
  return wrk.format("POST", "/checkouts", headers, body)
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"status":"SUCCEEDED"', 1, true) then
    succeeded = succeeded + 1
  else
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local ok, bad = 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("succeeded")
    bad = bad + thread:get("failed")
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"checkouts": %d, "succeeded": %d, "failed": %d, "errors": %d, "seconds": %.2f, "checkoutsPerSecond": %.1f, "p50Ms": %.2f, "p90Ms": %.2f, "p99Ms": %.2f, "maxMs": %.2f}\n',
    summary.requests, ok, bad,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    seconds, ok / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
