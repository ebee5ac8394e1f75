-- Shared by every body script: headers from the environment, and done() printing one JSON line for wrk.py.
local auth = os.getenv("BENCH_AUTHORIZATION")
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
if auth and auth ~= "" then
  wrk.headers["authorization"] = auth
end

function bench_model(default)
  local model = os.getenv("BENCH_MODEL")
  if model == nil or model == "" then
    return default
  end
  return model
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"status_errors":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
