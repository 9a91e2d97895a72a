-- wrk script: POST /render with a unique job_id per request (bench/api.sh).
--   wrk -t2 -c64 -d10s -s bench/wrk/post_render.lua http://127.0.0.1:PORT -- PREFIX IMAGE_URL
-- The body is the seed guide's example shape. IMAGE_URL should point at a
-- closed loopback port: the benchmark server runs with --workers 0, so it is
-- never fetched, and if it were it would fail at once without leaving the
-- machine. Prints one "RESULT ..." line (see done()).

local threads = {}
local next_tid = 0

function setup(thread)
   next_tid = next_tid + 1
   thread:set("tid", next_tid)
   table.insert(threads, thread)
end

function init(args)
   prefix = args[1] or "wrk"
   image_url = args[2] or "http://127.0.0.1:9/image1.jpg"
   counter = 0
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   local body = string.format(
      '{"job_id":"%s-%d-%d","images":[{"url":"%s"}],' ..
      '"settings":{"vibe":"Pop","aspect_ratio":"9:16","target_duration":15}}',
      prefix, tid, counter, image_url)
   return wrk.format("POST", "/render", nil, body)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
      "non2xx=%d connect_err=%d read_err=%d write_err=%d timeouts=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, e.status, e.connect, e.read, e.write, e.timeout))
end
