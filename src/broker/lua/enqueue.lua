--[[ enqueue: store jobs and make each runnable now or at its due time; announce task-sent.
One call carries one job or a whole bulk send (all to the same queue).
KEYS[1] <prefix>:<queue>:jobs            HASH id → record
KEYS[2] <prefix>:<queue>:waiting         LIST
KEYS[3] <prefix>:<queue>:delayed         ZSET id by due ms
KEYS[4] <prefix>:<queue>:earlierDelayed  CHAN (bee-queue's delayed-timer wake-up)
KEYS[5] <prefix>:events                  STREAM
KEYS[6] <prefix>:revoked                 ZSET revoked ids (read only for ids the caller chose)
ARGV[1] events MAXLEN (approximate)
ARGV[2] priority of these jobs: "high" | "normal" | "low" (high and low wait in <waiting>:high / :low)
ARGV[3] result key prefix when the ids were chosen by the caller ("" otherwise): a created job's old
        result (from an earlier job with the same id) is deleted, so it is not mistaken for this one's;
        an id revoked before it was sent (it is in the revoked set) gets its record flagged as revoke.lua
        flags a queued one, so the job is released, never run, whenever it comes up (as in Celery)
then 4 per job:
  id, record JSON, due time ms ("0" = now), task-sent event data JSON ("" = events off)

A worker blocks on <waiting> only; when high or low jobs are queued while <waiting> is empty, one wake
token "~wake" (never a job id) per job, up to 64, goes there too, so idle workers notice them;
take.lua discards tokens.
returns {1|0 per job}: 0 when a job with that id already exists (that job is left unchanged)
]]
local created = {}
local list = KEYS[2]
if ARGV[2] ~= "normal" then list = KEYS[2] .. ":" .. ARGV[2] end
local wakes = 0
for i = 4, #ARGV, 4 do
  local id, due, record = ARGV[i], tonumber(ARGV[i + 2]), ARGV[i + 1]
  if ARGV[3] ~= "" and redis.call("zscore", KEYS[6], id) then
    local head = string.match(record, '^{"stalls":%d+,"options":{"v":1,')
    if head and not revokedFlag(record) then record = head .. '"revoked":true,' .. string.sub(record, #head + 1) end
  end
  if redis.call("hsetnx", KEYS[1], id, record) == 0 then
    created[#created + 1] = 0
  else
    created[#created + 1] = 1
    if ARGV[3] ~= "" then redis.call("del", ARGV[3] .. id) end
    if due > 0 then
      redis.call("zadd", KEYS[3], due, id)
      local head = redis.call("zrange", KEYS[3], 0, 0)
      if head[1] == id then redis.call("publish", KEYS[4], ARGV[i + 2]) end
    else
      redis.call("lpush", list, id)
      if list ~= KEYS[2] then wakes = wakes + 1 end
    end
    if ARGV[i + 3] ~= "" then
      emit(KEYS[5], ARGV[1], "task-sent", ARGV[i + 3])
    end
  end
end
if wakes > 0 and redis.call("llen", KEYS[2]) == 0 then
  for _ = 1, math.min(wakes, 64) do redis.call("lpush", KEYS[2], "~wake") end
end
return created
