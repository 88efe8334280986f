--[[ finish: record the outcome of one attempt of job ARGV[1] and release it from `active`, atomically.
KEYS[1] <prefix>:<queue>:active          LIST
KEYS[2] <prefix>:<queue>:jobs            HASH id → record
KEYS[3] <prefix>:result:<id>             STR  result record (TTL); also the Pub/Sub channel announcing it
KEYS[4] <prefix>:events                  STREAM
KEYS[5] <prefix>:<queue>:waiting         LIST
KEYS[6] <prefix>:<queue>:delayed         ZSET
KEYS[7] <prefix>:<queue>:earlierDelayed  CHAN
KEYS[8] <prefix>:<queue>:dead            ZSET id by time of death
ARGV[1] job id
ARGV[2] outcome: "success" | "retry" | "failure"
ARGV[3] result record JSON ("" = results off for this task)
ARGV[4] result TTL, ms
ARGV[5] event type ("" = events off)
ARGV[6] event data JSON
ARGV[7] updated job record JSON (retry, failure)
ARGV[8] retry due time, ms (retry; "0" = now)
ARGV[9] now, ms
ARGV[10] events MAXLEN (approximate)
returns 1 if the job was still ours in `active`, 0 if a stall check had re-queued it (a re-queued copy
that had not started yet is withdrawn from `waiting`, so it does not run twice)
]]
local id = ARGV[1]
local owned = redis.call("lrem", KEYS[1], 1, id)
if owned == 0 then redis.call("lrem", KEYS[5], 1, id) end
local outcome = ARGV[2]
if ARGV[3] ~= "" then
  redis.call("set", KEYS[3], ARGV[3], "PX", ARGV[4])
  if outcome ~= "retry" then redis.call("publish", KEYS[3], outcome) end
end
if outcome == "success" then
  redis.call("hdel", KEYS[2], id)
elseif outcome == "retry" then
  redis.call("hset", KEYS[2], id, ARGV[7])
  local due = tonumber(ARGV[8])
  if due > tonumber(ARGV[9]) then
    redis.call("zadd", KEYS[6], due, id)
    local head = redis.call("zrange", KEYS[6], 0, 0)
    if head[1] == id then redis.call("publish", KEYS[7], ARGV[8]) end
  else
    redis.call("lpush", KEYS[5], id)
  end
else
  redis.call("hset", KEYS[2], id, ARGV[7])
  redis.call("zadd", KEYS[8], ARGV[9], id)
end
if ARGV[5] ~= "" then
  redis.call("xadd", KEYS[4], "MAXLEN", "~", ARGV[10], "*", "type", ARGV[5], "data", ARGV[6])
end
return owned
