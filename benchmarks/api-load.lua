-- wrk script: the requests a wall of dashboards and report pulls make, in turn, each connection pausing
-- 20 ms between requests (a fixed, realistic load instead of wrk's flat-out loop).
--
-- Each connection asks again as a browser does: with the tag (ETag) of the answer it holds for that path
-- in If-None-Match, so an unchanged answer comes back as 304 without a body. Run with as many threads as
-- connections (-tN -cN): a thread's responses then belong to its one connection's last request.
local paths = {
  "/api/v1/live",
  "/api/v1/series?scope=building:b&resolution=hour",
  "/api/v1/topology",
  "/api/v1/series?scope=floor:b/1&resolution=minute&figure=energy",
}
local i = 0
local last = nil
local tags = {}
-- Global, so done() can read it from each thread.
notModified = 0
local threads = {}

setup = function(thread) table.insert(threads, thread) end

request = function()
  i = i + 1
  last = paths[(i % #paths) + 1]
  local headers = { ["Authorization"] = "Bearer " .. os.getenv("STOREY_TOKEN") }
  if tags[last] then headers["If-None-Match"] = tags[last] end
  return wrk.format("GET", last, headers)
end

response = function(status, headers, body)
  local tag = headers["ETag"] or headers["etag"]
  if last and tag then tags[last] = tag end
  if status == 304 then notModified = notModified + 1 end
end

delay = function() return 20 end

done = function(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + (thread:get("notModified") or 0) end
  io.write(string.format("304 Not Modified: %d of %d requests\n", total, summary.requests))
end
