-- wrk: replay pre-built requests (one per line: METHOD \t PATH \t H1:V1|H2:V2 \t BODY) from
-- one file per thread, <prefix>.<thread>, which http_bench.wrk() splits from the whole file:
-- line k goes to thread k % n + 1, so no two threads send the same event and each customer's
-- events (a multiple of n customers, round robin) stay on one thread, in order.
--
-- init() only opens the file; each line is read, parsed and formatted as it is sent, and
-- the file starts over when it ends. wrk runs the threads' init() one after the other and
-- starts its clock after the last, while the threads already started are sending: a slow
-- init() (reading a large file) would let them send uncounted and inflate the rate.
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  file = assert(io.open(args[1] .. "." .. id))
end

function request()
  local line = file:read("*l")
  if line == nil then
    file:seek("set", 0)
    line = file:read("*l")
  end
  local method, path, headers, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
  local h = {}
  for k, v in headers:gmatch("([^|:]+):([^|]*)") do h[k] = v end
  return wrk.format(method, path, h, body ~= "" and body or nil)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "socket_errors": %d, "non_2xx": %d, "p50_ms": %.3f, "p99_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
