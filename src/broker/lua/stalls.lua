--[[ stalls: re-deliver jobs whose worker stopped proving it is alive; fail those that stalled too often.
Run by every worker each stall interval; the SET NX PX on stallBlock lets one process per interval do it.
A job is stalled when it stayed in `stalling` (copied from `active` by the previous run) for a whole
interval without its worker removing it (workers SREM their running ids every interval / 2).
KEYS[1] <prefix>:<queue>:stallBlock  STR
KEYS[2] <prefix>:<queue>:stalling    SET
KEYS[3] <prefix>:<queue>:waiting     LIST
KEYS[4] <prefix>:<queue>:active      LIST
KEYS[5] <prefix>:<queue>:jobs        HASH id → record; the record starts with {"stalls":N, (see message.ts)
KEYS[6] <prefix>:<queue>:dead        ZSET
KEYS[7] <prefix>:events              STREAM
KEYS[8] <prefix>:<queue>:stallLast   STR  time of the last check (ms)
ARGV[1] stall interval, ms
ARGV[2] max stalls: a job stalled more often than this fails for good
ARGV[3] now, ms
ARGV[4] result TTL, ms
ARGV[5] events MAXLEN (approximate)
ARGV[6] result key prefix (<prefix>:result:)
ARGV[7] queue name
ARGV[8] "1" to write events
returns {requeued ids…, "|", failed ids…}, or {} when another process ran the check this interval
]]
if not redis.call("set", KEYS[1], "1", "PX", tonumber(ARGV[1]), "NX") then return {} end
local requeued, failed = {}, {}
local maxStalls, now = tonumber(ARGV[2]), tonumber(ARGV[3])
-- After a gap (a Redis outage, every node down), live workers had no chance to unmark their jobs:
-- do not sweep, only mark again, so a job in good hands is not re-delivered.
local last = tonumber(redis.call("get", KEYS[8]))
redis.call("set", KEYS[8], ARGV[3], "PX", tonumber(ARGV[1]) * 10)
local sweep = last ~= nil and now - last <= tonumber(ARGV[1]) * 1.5
for _, id in ipairs(sweep and redis.call("smembers", KEYS[2]) or {}) do
  if redis.call("lrem", KEYS[4], 0, id) > 0 then
    local raw = redis.call("hget", KEYS[5], id)
    if raw then
      local n = tonumber(string.match(raw, '^{"stalls":(%d+),'))
      if n then raw = '{"stalls":' .. (n + 1) .. ',' .. string.sub(raw, string.len('{"stalls":' .. n .. ',') + 1) end
      n = (n or 0) + 1
      redis.call("hset", KEYS[5], id, raw)
      if n > maxStalls then
        failed[#failed + 1] = id
        local task = "<undecodable>"
        local ok, rec = pcall(cjson.decode, raw)
        if ok and type(rec) == "table" and type(rec.data) == "table" then task = tostring(rec.data.task) end
        local err = {name = "JobStalled", message = "job " .. id .. " stalled " .. n .. " times (max " .. maxStalls ..
          "): its worker died or blocked its event loop for longer than the stall interval (" .. ARGV[1] .. " ms)"}
        redis.call("zadd", KEYS[6], now, id)
        redis.call("set", ARGV[6] .. id, cjson.encode({state = "FAILURE", id = id, task = task, error = err,
          doneAt = now, reason = "stalled"}), "PX", ARGV[4])
        redis.call("publish", ARGV[6] .. id, "failure")
        if ARGV[8] == "1" then
          redis.call("xadd", KEYS[7], "MAXLEN", "~", ARGV[5], "*", "type", "task-failed", "data",
            cjson.encode({id = id, task = task, queue = ARGV[7], error = err, stalls = n}))
        end
      else
        requeued[#requeued + 1] = id
        -- RPUSH: a re-delivered job goes to the front, it has waited long enough.
        redis.call("rpush", KEYS[3], id)
      end
    end
  end
end
redis.call("del", KEYS[2])
-- Mark everything active now; workers that are alive remove their ids before the next run.
local actives = redis.call("lrange", KEYS[4], 0, -1)
for i = 1, #actives, 1000 do
  redis.call("sadd", KEYS[2], unpack(actives, i, math.min(i + 999, #actives)))
end
requeued[#requeued + 1] = "|"
for _, id in ipairs(failed) do requeued[#requeued + 1] = id end
return requeued
