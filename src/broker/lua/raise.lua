--[[ raise: move delayed jobs that are due into their waiting list, at their priority (bee-queue's
raiseDelayedJobs put every job at normal priority). Run by bee-queue's delayed-job timer, which a
Pub/Sub message on earlierDelayed pulls earlier. A due id whose record is gone (revoked, purged) is
dropped. Due times are compared with Redis's clock.
KEYS[1] <prefix>:<queue>:delayed  ZSET id by due ms
KEYS[2] <prefix>:<queue>:waiting  LIST (and :high / :low beside it)
KEYS[3] <prefix>:<queue>:jobs     HASH id → record (for its priority)
ARGV[1] debounce window, ms: jobs due within it of the next one are raised together
returns {number raised, due time of the next job within the window (-1 = none)}, as bee-queue's script
]]
local now = nowMs()
local raised = 0
while true do
  local ids = redis.call("zrangebyscore", KEYS[1], "-inf", now, "LIMIT", 0, 1000)
  if #ids == 0 then break end
  -- Each job leaves `delayed` only once it is in its list: a broken key (another type) leaves it due
  -- in `delayed` (the error is reported; the next raise tries again) instead of losing it.
  local ok, err = pcall(function()
    for _, id in ipairs(ids) do
      local raw = redis.call("hget", KEYS[3], id)
      if raw then
        pushWaiting(KEYS[2], raw, id, false)
        raised = raised + 1
      end
      redis.call("zrem", KEYS[1], id)
    end
  end)
  if not ok then return redis.error_reply(type(err) == "table" and tostring(err.err) or tostring(err)) end
end
local nearTerm = -1
local head = redis.call("zrange", KEYS[1], 0, 0, "WITHSCORES")
if head[2] then
  local proximal = redis.call("zrevrangebyscore", KEYS[1], tonumber(head[2]) + tonumber(ARGV[1]), 0, "WITHSCORES", "LIMIT", 0, 1)
  nearTerm = proximal[2]
end
return {raised, nearTerm}
