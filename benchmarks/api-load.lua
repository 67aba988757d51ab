-- wrk script: the requests a wall of dashboards and report pulls make, in turn, each connection pausing
-- 20 ms between requests (a fixed, realistic load instead of wrk's flat-out loop).
local paths = {
  "/api/v1/live",
  "/api/v1/series?scope=building:b&resolution=hour",
  "/api/v1/topology",
  "/api/v1/series?scope=floor:b/1&resolution=minute&figure=energy",
}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], { ["Authorization"] = "Bearer " .. os.getenv("STOREY_TOKEN") })
end
delay = function() return 20 end
