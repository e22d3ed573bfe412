-- Loaded by bench/wrk.py with `wrk -s`: prints wrk's summary as one JSON line to parse,
-- instead of scraping the human-readable text (whose units change with magnitude).
-- Numbers go through %.0f: latency percentiles are Lua numbers, not integers, under LuaJIT.
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "BENCH_WRK_JSON {\"requests\": %.0f, \"duration_us\": %.0f, \"bytes\": %.0f, " ..
    "\"connect_errors\": %.0f, \"read_errors\": %.0f, \"write_errors\": %.0f, " ..
    "\"status_errors\": %.0f, \"timeouts\": %.0f, \"latency_mean_us\": %.1f, " ..
    "\"latency_p50_us\": %.0f, \"latency_p90_us\": %.0f, \"latency_p99_us\": %.0f, " ..
    "\"latency_max_us\": %.0f}\n",
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max
  ))
end
