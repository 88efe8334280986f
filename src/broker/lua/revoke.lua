--[[ revoke: record that job ARGV[1] must not run, durably. A job not started yet is taken out of
`delayed` (and deleted), or has its record flagged (waiting, held by a node): take.lua and finish.lua's
start check then release it whenever it comes up, however long that takes. A running job's STARTED
record is flagged, so a re-delivered copy (its node died) never runs. The id also goes into the
revoked set — bounded in size and age — for ids not sent yet and for ignoreResult jobs.
KEYS[1] <prefix>:revoked        ZSET id by time of revocation
KEYS[2] <prefix>:result:<id>    STR  result record (also the channel announcing it)
KEYS[3] <prefix>:events         STREAM
KEYS[4] <prefix>:queues         SET  every queue name (to find the job's record)
ARGV[1] job id
ARGV[2] key prefix with its colon (<prefix>:), for the queues' keys
ARGV[3] most ids kept
ARGV[4] how long ids are kept, ms
ARGV[5] result TTL, ms
ARGV[6] events MAXLEN (approximate)
ARGV[7] "1" to write events
ARGV[8] "1" to terminate the job if it is running
ARGV[9] control channel (<prefix>:control)
ARGV[10] task name, JSON-encoded ("" if unknown)
returns the job's state as the revocation found it:
  "SUCCESS" | "FAILURE" | "REVOKED"  already over: nothing changes
  "STARTED"      running and not terminated: it finishes (as in Celery)
  "TERMINATING"  running: workers were told to stop it
  "REVOKED-NOW"  not started yet: it will never run; its result is REVOKED now (and its chord, if it
                 is a member, fails now)
]]
local id, now = ARGV[1], nowMs()
local record = redis.call("get", KEYS[2])
local state = stateOf(record)
if state and FINAL[state] then return state end
redis.call("zadd", KEYS[1], now, id)
redis.call("zremrangebyscore", KEYS[1], "-inf", "(" .. (now - tonumber(ARGV[4])))
local extra = redis.call("zcard", KEYS[1]) - tonumber(ARGV[3])
if extra > 0 then redis.call("zremrangebyrank", KEYS[1], 0, extra - 1) end
-- Every node hears of it: a node holding the job without having started it (prefetched, waiting for
-- a rate slot) drops it; with terminate, the node running it stops it.
redis.call("publish", ARGV[9], cjson.encode({op = "revoke", id = id, terminate = ARGV[8] == "1"}))

-- The job's record, wherever it is queued: flagged, or deleted with its `delayed` entry.
local task = ARGV[10] ~= "" and ARGV[10] or nil
local found -- the job's record, when it is queued
local unqueued = false -- taken out of `delayed`: it will surely never run
local HEAD = '{"stalls":%d+,"options":{"v":1,'
for _, q in ipairs(redis.call("smembers", KEYS[4])) do
  local jobs = ARGV[2] .. q .. ":jobs"
  local raw = redis.call("hget", jobs, id)
  if raw then
    found = raw
    task = task or string.match(raw, ',"data":{"task":("[^"\\]*")')
    if state ~= "STARTED" and redis.call("zrem", ARGV[2] .. q .. ":delayed", id) == 1 then
      unqueued = true
      redis.call("hdel", jobs, id)
      local t = string.match(raw, ',"data":{"task":"([^"\\]*)"')
      if t then redis.call("zrem", ARGV[2] .. q .. ":rateReserved", t .. " " .. id) end
    elseif string.find(raw, "^" .. HEAD) and not revokedFlag(raw) then
      local head = string.match(raw, "^" .. HEAD)
      redis.call("hset", jobs, id, head .. '"revoked":true,' .. string.sub(raw, #head + 1))
    end
    break
  end
end

if state == "STARTED" then
  local prefix = startedPrefix(record)
  if prefix ~= "" and not revokeRequested(record) then
    redis.call("set", KEYS[2], prefix .. '"revoked":true,' .. string.sub(record, #prefix + 1), "KEEPTTL")
  end
  if ARGV[8] ~= "1" then return "STARTED" end
  return "TERMINATING"
end
task = task or (record and string.match(record, '"task":("[^"]*")')) or '"<unknown>"'
local qid = cjson.encode(id)
-- This record is also what take.lua checks (SET … GET when it marks a job STARTED): keep it at least as
-- long as the revoked set keeps the id.
redis.call("set", KEYS[2], '{"state":"REVOKED","id":' .. qid .. ',"task":' .. task .. ',"doneAt":' .. now ..
  ',"reason":"revoked"}', "PX", math.max(tonumber(ARGV[5]), tonumber(ARGV[4])))
redis.call("publish", KEYS[2], "revoked")
if ARGV[7] == "1" then
  emit(KEYS[3], ARGV[6], "task-revoked", '{"id":' .. qid .. ',"task":' .. task .. ',"reason":"revoked"}')
end
-- A chord member that will never run fails its chord now, as Celery's does when a header task is
-- revoked (lib/plan.lua). Only when that is sure: taken out of `delayed`, or with results on (a job
-- that started has a STARTED record, seen above). With results off no record says whether it runs:
-- if it does, it runs on and its value counts; if it never starts, take.lua or finish.lua's start
-- check fails the chord when it comes up.
if unqueued or (found and not string.find(optionsText(found), '"ignoreResult":true', 1, true)) then
  memberNeverRuns(found, id, task, "revoked", ARGV[2], KEYS[3], ARGV[6], ARGV[5], ARGV[2] .. "result:", ARGV[7] == "1")
end
return "REVOKED-NOW"
