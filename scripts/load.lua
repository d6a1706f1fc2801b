-- wrk script for scripts/load.sh: cycles GET /api/v1/token through valid,
-- revoked, expired, malformed and rate-limited tokens (one per line of the
-- file named by TOKENS) and tallies each answer by what its body says: the
-- token's name for a 200, the error code otherwise. A 200 naming the revoked
-- or expired token would be a false valid.

local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do
  local token = line:match("^%S+%s+(%S+)$")
  if token then tokens[#tokens + 1] = token end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

local i = 0
counts = {}

function request()
  i = i + 1
  return wrk.format("GET", "/api/v1/token", { ["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1] })
end

function response(status, headers, body)
  local what
  if status == 200 then
    what = "valid:" .. (body:match('"name":"([^"]+)"') or "?")
  else
    what = (body:match('"code":"([^"]+)"') or "?")
  end
  local key = status .. " " .. what
  counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do total[k] = (total[k] or 0) + v end
  end
  local keys = {}
  for k in pairs(total) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do io.write(string.format("ANSWER %s %d\n", k, total[k])) end
  io.write(string.format("SUMMARY requests=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f socket_errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
