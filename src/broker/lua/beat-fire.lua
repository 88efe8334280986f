--[[ beat-fire: beat's leader sends one slot of one periodic entry — exactly once, whatever the number
of beat processes: only the holder of the leader lease may fire (a beat whose lease ran out while it was
paused is fenced off), and an entry's last fired slot only moves forward (a slot at or before it is not
sent again, by any leader, ever). Claiming the slot and storing the job are one atomic step.
KEYS[1] <prefix>:beat:leader    STRING the leader's token (PX lease)
KEYS[2] <prefix>:beat:state     HASH <entry>:last, <entry>:next, <entry>:at (ms), <entry>:total
KEYS[3] <prefix>:<queue>:jobs   HASH id → record
KEYS[4] <prefix>:<queue>:waiting LIST (and :high / :low beside it)
KEYS[5] <prefix>:<queue>:delayed ZSET
KEYS[6] <prefix>:<queue>:earlierDelayed CHAN
KEYS[7] <prefix>:events         STREAM
ARGV[1] leader token           ARGV[2] entry name          ARGV[3] slot (ms)
ARGV[4] the entry's next slot (ms, for the state)          ARGV[5] events MAXLEN
ARGV[6] result key prefix (the job's old result, from an earlier job with this id, is dropped)
ARGV[7] job id                 ARGV[8] job record JSON      ARGV[9] due ms ("0" = now)
ARGV[10] task-sent event data ("" = none)                  ARGV[11] beat-fired event data ("" = none)
returns -1 not the leader, 0 slot fired already, 1 sent, 2 claimed but a job with this id was queued
]]
if redis.call("get", KEYS[1]) ~= ARGV[1] then return -1 end
local entry, slot = ARGV[2], tonumber(ARGV[3])
local last = tonumber(redis.call("hget", KEYS[2], entry .. ":last") or "-1")
if last >= slot then return 0 end
redis.call("hset", KEYS[2], entry .. ":last", ARGV[3], entry .. ":next", ARGV[4], entry .. ":at", nowMs())
redis.call("hincrby", KEYS[2], entry .. ":total", 1)
local id, record, due = ARGV[7], ARGV[8], tonumber(ARGV[9])
local code = 2
if redis.call("hsetnx", KEYS[3], id, record) == 1 then
  code = 1
  redis.call("del", ARGV[6] .. id)
  if due > 0 then
    redis.call("zadd", KEYS[5], due, id)
    local head = redis.call("zrange", KEYS[5], 0, 0)
    if head[1] == id then redis.call("publish", KEYS[6], ARGV[9]) end
  else
    pushWaiting(KEYS[4], record, id, false)
  end
  if ARGV[10] ~= "" then emit(KEYS[7], ARGV[5], "task-sent", ARGV[10]) end
end
if ARGV[11] ~= "" then emit(KEYS[7], ARGV[5], "beat-fired", ARGV[11]) end
return code
