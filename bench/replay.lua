-- wrk: replay pre-built requests from a file (one per line: METHOD \t PATH \t H1:V1|H2:V2 \t BODY).
-- Thread i sends lines i, i+n, i+2n, ... so no two threads send the same event.
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  requests, index = {}, 0
  local n, i = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if i % n == id - 1 then
      local method, path, headers, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local h = {}
      for k, v in headers:gmatch("([^|:]+):([^|]*)") do h[k] = v end
      requests[#requests + 1] = wrk.format(method, path, h, body ~= "" and body or nil)
    end
    i = i + 1
  end
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "socket_errors": %d, "non_2xx": %d, "p50_ms": %.3f, "p99_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
