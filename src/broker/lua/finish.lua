--[[ finish: record the outcomes of a batch of attempts of one queue and release them from `active`,
atomically: results, job records, retries, dead letters and events in one round trip.
KEYS[1] <prefix>:<queue>:active          LIST
KEYS[2] <prefix>:<queue>:jobs            HASH id → record
KEYS[3] <prefix>:events                  STREAM
KEYS[4] <prefix>:<queue>:waiting         LIST
KEYS[5] <prefix>:<queue>:delayed         ZSET
KEYS[6] <prefix>:<queue>:earlierDelayed  CHAN
KEYS[7] <prefix>:<queue>:dead            ZSET id by time of death
KEYS[8] <prefix>:revoked                 ZSET revoked ids (a job revoked while running is not retried)
ARGV[1] result TTL, ms
ARGV[2] now, ms
ARGV[3] events MAXLEN (approximate)
ARGV[4] result key prefix (<prefix>:result:); the key is also the Pub/Sub channel announcing the result
ARGV[5] how many start notices follow (prefetched jobs that started since the last call)
then 3 per start notice:
  id, STARTED result record JSON ("" = results off), task-started event data JSON ("" = events off)
  (a REVOKED record found there is kept: revoke.lua wrote it while the job was held)
then 7 per job:
  id
  outcome: "success" | "retry" | "failure" | "revoked" (terminated while running)
  result record JSON ("" = results off for this job)
  event type ("" = events off)
  event data JSON
  updated job record JSON (retry, failure; "" for success)
  due time ms of a retry ("0" = now)
returns {1|0 per job}: 0 when a stall check had re-queued the job meanwhile (a re-queued copy that had
not started yet is withdrawn from `waiting`, so it does not run twice)
]]
local owned = {}
local now = tonumber(ARGV[2])
local notices = tonumber(ARGV[5])
for i = 6, 5 + notices * 3, 3 do
  if ARGV[i + 1] ~= "" then
    local previous = redis.call("set", ARGV[4] .. ARGV[i], ARGV[i + 1], "PX", ARGV[1], "GET")
    if previous and string.find(previous, '"state":"REVOKED"', 1, true) then
      redis.call("set", ARGV[4] .. ARGV[i], previous, "PX", ARGV[1])
    end
  end
  if ARGV[i + 2] ~= "" then
    redis.call("xadd", KEYS[3], "MAXLEN", "~", ARGV[3], "*", "type", "task-started", "data", ARGV[i + 2])
  end
end
for i = 6 + notices * 3, #ARGV, 7 do
  local id, outcome, result, etype, edata, record, due = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  -- From the tail: jobs are taken at the head, so the oldest (usually finished first) are near the tail.
  local mine = redis.call("lrem", KEYS[1], -1, id)
  if mine == 0 then
    redis.call("lrem", KEYS[4], 1, id)
    redis.call("zrem", KEYS[7], id) -- dead-lettered after stalls, but its worker finished after all
  end
  if outcome == "retry" and redis.call("zscore", KEYS[8], id) then
    -- Revoked while it ran: no further attempt.
    outcome, etype = "revoked", (etype ~= "" and "task-revoked" or "")
    local task = string.match(edata, '"task":("[^"]*")') or '"<unknown>"'
    result = result ~= "" and ('{"state":"REVOKED","id":' .. cjson.encode(id) .. ',"task":' .. task .. ',"doneAt":' .. ARGV[2] .. ',"reason":"revoked"}') or ""
    edata = '{"id":' .. cjson.encode(id) .. ',"task":' .. task .. ',"reason":"revoked"}'
  end
  owned[#owned + 1] = mine
  if result ~= "" then
    redis.call("set", ARGV[4] .. id, result, "PX", ARGV[1])
    if outcome ~= "retry" then redis.call("publish", ARGV[4] .. id, outcome) end
  end
  if outcome == "success" or outcome == "revoked" then
    redis.call("hdel", KEYS[2], id)
  elseif outcome == "retry" then
    redis.call("hset", KEYS[2], id, record)
    local at = tonumber(due)
    if at > now then
      redis.call("zadd", KEYS[5], at, id)
      local head = redis.call("zrange", KEYS[5], 0, 0)
      if head[1] == id then redis.call("publish", KEYS[6], due) end
    else
      redis.call("lpush", KEYS[4], id)
    end
  else
    redis.call("hset", KEYS[2], id, record)
    redis.call("zadd", KEYS[7], now, id)
  end
  if etype ~= "" then
    redis.call("xadd", KEYS[3], "MAXLEN", "~", ARGV[3], "*", "type", etype, "data", edata)
  end
end
return owned
