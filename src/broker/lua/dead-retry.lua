--[[ dead-retry: move a dead job back to its queue with a fresh record (attempt 1, no stalls).
KEYS[1] <prefix>:<queue>:dead     ZSET
KEYS[2] <prefix>:<queue>:jobs     HASH
KEYS[3] <prefix>:<queue>:waiting  LIST (the job goes to its priority's list)
KEYS[4] <prefix>:result:<id>      STR (deleted: the job is PENDING again)
KEYS[5] <prefix>:events           STREAM
ARGV[1] job id
ARGV[2] new job record JSON
ARGV[3] task-sent event data JSON ("" = events off)
ARGV[4] events MAXLEN
returns 1 if re-queued, 0 if the id was not in the dead-letter list
]]
if not redis.call("zscore", KEYS[1], ARGV[1]) then return 0 end
-- Leaves the dead-letter list last: a broken key (another type) stops this before the job is lost.
redis.call("hset", KEYS[2], ARGV[1], ARGV[2])
pushWaiting(KEYS[3], ARGV[2], ARGV[1], false)
redis.call("zrem", KEYS[1], ARGV[1])
redis.call("del", KEYS[4])
if ARGV[3] ~= "" then
  emit(KEYS[5], ARGV[4], "task-sent", ARGV[3])
end
return 1
