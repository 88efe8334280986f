--[[ rate-reset: a task's rate limit changes at run time. The new rate applies to its backlog too: jobs
deferred to `delayed` holding slots of the old rate are due now (they take new slots when raised, in
the order they had), and the task's next free slot starts afresh.
KEYS[1] <prefix>:rates        HASH task → rate set at run time
KEYS[2] <prefix>:queues       SET  every queue name
KEYS[3] <prefix>:rate:<task>  STR  the task's next free start time
ARGV[1] task name
ARGV[2] new rate ("" = back to the task's own)
ARGV[3] key prefix with its colon (<prefix>:)
returns how many deferred jobs were made due now
]]
if ARGV[2] == "" then redis.call("hdel", KEYS[1], ARGV[1]) else redis.call("hset", KEYS[1], ARGV[1], ARGV[2]) end
redis.call("del", KEYS[3])
local now, moved = nowMs(), 0
local head = ARGV[1] .. " "
for _, q in ipairs(redis.call("smembers", KEYS[2])) do
  local reserved = ARGV[3] .. q .. ":rateReserved"
  local delayed = ARGV[3] .. q .. ":delayed"
  local mine = {}
  for _, member in ipairs(redis.call("zrange", reserved, 0, -1)) do
    if string.sub(member, 1, #head) == head then mine[#mine + 1] = member end
  end
  for i, member in ipairs(mine) do
    -- now + i keeps their order when they are raised.
    moved = moved + redis.call("zadd", delayed, "XX", "CH", now + i / 1000, string.sub(member, #head + 1))
    redis.call("zrem", reserved, member)
  end
  if #mine > 0 then redis.call("publish", ARGV[3] .. q .. ":earlierDelayed", tostring(now)) end
end
return moved
