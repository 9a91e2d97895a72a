-- wrk script: GET /render/status?job_id=ID of one existing job (bench/api.sh).
--   wrk -t2 -c64 -d10s -s bench/wrk/status.lua http://127.0.0.1:PORT -- JOB_ID
-- Prints one "RESULT ..." line (see done()).

function init(args)
   local id = args[1] or "bench-status"
   wrk.method = "GET"
   wrk.path = "/render/status?job_id=" .. id
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
      "non2xx=%d connect_err=%d read_err=%d write_err=%d timeouts=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, e.status, e.connect, e.read, e.write, e.timeout))
end
