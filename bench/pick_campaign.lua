-- wrk script: every request asks about a random campaign.
--
--   wrk ... -s bench/pick_campaign.lua http://127.0.0.1:PORT -- IDS_FILE TEMPLATE SEED
--
-- IDS_FILE: one percent-encoded campaign id per line (api.py writes it from campaigns.csv).
-- TEMPLATE: the request path, with {id} where the campaign id goes,
--           e.g. /campaigns/{id}/performance or /creators/top?campaign_id={id}&limit=10.
-- SEED:     each thread draws from its own generator seeded with SEED + thread number.
-- done() prints one line `WRK_JSON {...}`: counts, latency percentiles (µs), and non-2xx
-- answers counted per thread by response(), and answers whose Cache-Status says `hit`.

local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_number", thread_count)
   table.insert(threads, thread)
end

function init(args)
   ids = {}
   for line in io.lines(args[1]) do
      if #line > 0 then
         ids[#ids + 1] = line
      end
   end
   prefix, suffix = string.match(args[2], "^(.-){id}(.*)$")
   math.randomseed(tonumber(args[3]) + thread_number)
   non2xx = 0
   hits = 0
end

function request()
   return wrk.format("GET", prefix .. ids[math.random(#ids)] .. suffix)
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   end
   local cache = headers["cache-status"] or headers["Cache-Status"]
   if cache and string.find(cache, "; hit", 1, true) then
      hits = hits + 1
   end
end

function done(summary, latency, requests)
   local non2xx_total = 0
   local hits_total = 0
   for _, thread in ipairs(threads) do
      non2xx_total = non2xx_total + (thread:get("non2xx") or 0)
      hits_total = hits_total + (thread:get("hits") or 0)
   end
   local errors = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, '
         .. '"read_errors": %d, "write_errors": %d, "timeouts": %d, "status_errors": %d, '
         .. '"non2xx": %d, "cache_hits": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, '
         .. '"mean_us": %.1f}\n',
      summary.requests, summary.duration, summary.bytes, errors.connect, errors.read,
      errors.write, errors.timeout, errors.status, non2xx_total, hits_total,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
