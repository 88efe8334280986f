--[[ enqueue: store a job record and make it runnable now or at a due time; announce task-sent.
KEYS[1] <prefix>:<queue>:jobs            HASH id → record
KEYS[2] <prefix>:<queue>:waiting         LIST
KEYS[3] <prefix>:<queue>:delayed         ZSET id by due ms
KEYS[4] <prefix>:<queue>:earlierDelayed  CHAN (bee-queue's delayed-timer wake-up)
KEYS[5] <prefix>:events                  STREAM
ARGV[1] job id
ARGV[2] job record JSON
ARGV[3] due time, ms ("0" = run now)
ARGV[4] events MAXLEN (approximate)
ARGV[5] task-sent event data JSON ("" = events off)
returns 1 when stored, 0 when a job with this id already exists (nothing is changed)
]]
if redis.call("hsetnx", KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
local due = tonumber(ARGV[3])
if due > 0 then
  redis.call("zadd", KEYS[3], due, ARGV[1])
  local head = redis.call("zrange", KEYS[3], 0, 0)
  if head[1] == ARGV[1] then redis.call("publish", KEYS[4], ARGV[3]) end
else
  redis.call("lpush", KEYS[2], ARGV[1])
end
if ARGV[5] ~= "" then
  redis.call("xadd", KEYS[5], "MAXLEN", "~", ARGV[4], "*", "type", "task-sent", "data", ARGV[5])
end
return 1
