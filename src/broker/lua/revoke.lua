--[[ revoke: record that job ARGV[1] must not run. Every worker checks the revoked set when it takes a
job (take.lua), so nodes that start later honour it too; the set is bounded in size and age.
KEYS[1] <prefix>:revoked        ZSET id by time of revocation
KEYS[2] <prefix>:result:<id>    STR  result record (also the channel announcing it)
KEYS[3] <prefix>:events         STREAM
ARGV[1] job id
ARGV[2] now, ms
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
  "REVOKED-NOW"  not started yet: it will never run; its result is REVOKED now
]]
local id, now = ARGV[1], tonumber(ARGV[2])
local record = redis.call("get", KEYS[2])
local state = record and string.match(record, '"state":"(%u+)"')
if state == "SUCCESS" or state == "FAILURE" or state == "REVOKED" then return state end
redis.call("zadd", KEYS[1], now, id)
redis.call("zremrangebyscore", KEYS[1], "-inf", "(" .. (now - tonumber(ARGV[4])))
local extra = redis.call("zcard", KEYS[1]) - tonumber(ARGV[3])
if extra > 0 then redis.call("zremrangebyrank", KEYS[1], 0, extra - 1) end
-- Every node hears of it: a node holding the job without having started it (prefetched, waiting for
-- a rate slot) drops it; with terminate, the node running it stops it.
redis.call("publish", ARGV[9], cjson.encode({op = "revoke", id = id, terminate = ARGV[8] == "1"}))
if state == "STARTED" then
  if ARGV[8] ~= "1" then return "STARTED" end
  return "TERMINATING"
end
local task = ARGV[10] ~= "" and ARGV[10] or (record and string.match(record, '"task":("[^"]*")')) or '"<unknown>"'
local qid = cjson.encode(id)
-- This record is also what take.lua checks (SET … GET when it marks a job STARTED): keep it at least as
-- long as the revoked set keeps the id.
redis.call("set", KEYS[2], '{"state":"REVOKED","id":' .. qid .. ',"task":' .. task .. ',"doneAt":' .. ARGV[2] ..
  ',"reason":"revoked"}', "PX", math.max(tonumber(ARGV[5]), tonumber(ARGV[4])))
redis.call("publish", KEYS[2], "revoked")
if ARGV[7] == "1" then
  redis.call("xadd", KEYS[3], "MAXLEN", "~", ARGV[6], "*", "type", "task-revoked", "data",
    '{"id":' .. qid .. ',"task":' .. task .. ',"reason":"revoked"}')
end
return "REVOKED-NOW"
