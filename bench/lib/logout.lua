-- wrk script for `POST /blacklist/logout`: every request presents a different token, read from
-- the file named by the first script argument (one token per line, made by bench_tool). Thread i
-- of n takes lines i, i+n, i+2n, ...; when a thread runs out it starts over (its later logouts
-- revoke already revoked tokens) and the wrap-arounds are printed as "token wraps: N".
local threads = {}

function setup(thread)
   thread:set("thread_index", #threads)
   table.insert(threads, thread)
end

function init(args)
   tokens = {}
   for line in io.lines(args[1]) do
      if #line > 0 then tokens[#tokens + 1] = line end
   end
   step = tonumber(args[2]) or 1
   first = (thread_index or 0) + 1
   next_index = first
   wraps = 0
   if #tokens < first then error("bench: token file " .. args[1] .. " has too few lines") end
end

function request()
   local token = tokens[next_index]
   next_index = next_index + step
   if next_index > #tokens then
      next_index = first
      wraps = wraps + 1
   end
   return wrk.format("POST", "/blacklist/logout", { ["Cookie"] = "jwt=" .. token }, "")
end

function done(summary, latency, requests)
   local total = 0
   for _, thread in ipairs(threads) do
      total = total + (tonumber(thread:get("wraps")) or 0)
   end
   io.write(string.format("token wraps: %d\n", total))
end
