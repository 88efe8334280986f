--[[ enqueue: store jobs and make each runnable now or at its due time; announce task-sent.
One call carries one job or a whole bulk send (all to the same queue).
KEYS[1] <prefix>:<queue>:jobs            HASH id → record
KEYS[2] <prefix>:<queue>:waiting         LIST
KEYS[3] <prefix>:<queue>:delayed         ZSET id by due ms
KEYS[4] <prefix>:<queue>:earlierDelayed  CHAN (bee-queue's delayed-timer wake-up)
KEYS[5] <prefix>:events                  STREAM
ARGV[1] events MAXLEN (approximate)
ARGV[2] priority of these jobs: "high" | "normal" | "low" (high and low wait in <waiting>:high / :low)
then 4 per job:
  id, record JSON, due time ms ("0" = now), task-sent event data JSON ("" = events off)

A worker blocks on <waiting> only; a high or low job queued while <waiting> is empty also pushes the
wake token "~wake" there (never a job id), so an idle worker notices it; take.lua discards tokens.
returns {1|0 per job}: 0 when a job with that id already exists (that job is left unchanged)
]]
local created = {}
local list = KEYS[2]
if ARGV[2] ~= "normal" then list = KEYS[2] .. ":" .. ARGV[2] end
local woken = false
for i = 3, #ARGV, 4 do
  local id, due = ARGV[i], tonumber(ARGV[i + 2])
  if redis.call("hsetnx", KEYS[1], id, ARGV[i + 1]) == 0 then
    created[#created + 1] = 0
  else
    created[#created + 1] = 1
    if due > 0 then
      redis.call("zadd", KEYS[3], due, id)
      local head = redis.call("zrange", KEYS[3], 0, 0)
      if head[1] == id then redis.call("publish", KEYS[4], ARGV[i + 2]) end
    else
      redis.call("lpush", list, id)
      if list ~= KEYS[2] and not woken and redis.call("llen", KEYS[2]) == 0 then
        redis.call("lpush", KEYS[2], "~wake")
        woken = true
      end
    end
    if ARGV[i + 3] ~= "" then
      redis.call("xadd", KEYS[5], "MAXLEN", "~", ARGV[1], "*", "type", "task-sent", "data", ARGV[i + 3])
    end
  end
end
return created
