--[[ start: a worker took job ARGV[1] into its queue's active list (BRPOPLPUSH); load its record,
mark it STARTED and announce task-received and task-started, in one round trip.
KEYS[1] <prefix>:<queue>:jobs   HASH id → record
KEYS[2] <prefix>:result:<id>    STR  result record JSON (TTL)
KEYS[3] <prefix>:events         STREAM
ARGV[1] job id
ARGV[2] node name
ARGV[3] now, ms
ARGV[4] result TTL, ms
ARGV[5] events MAXLEN (approximate)
ARGV[6] "1" to write events, "0" not to
returns the raw record, or false when the record is gone (removed after it was queued)
]]
local raw = redis.call("hget", KEYS[1], ARGV[1])
if not raw then return false end
local task, ignore, attempt = "<undecodable>", false, 1
local ok, rec = pcall(cjson.decode, raw)
if ok and type(rec) == "table" and type(rec.data) == "table" and type(rec.options) == "table" then
  task = tostring(rec.data.task)
  ignore = rec.options.ignoreResult == true
  attempt = tonumber(rec.options.attempt) or 1
end
local now = tonumber(ARGV[3])
if not ignore then
  redis.call("set", KEYS[2], cjson.encode({state = "STARTED", id = ARGV[1], task = task, node = ARGV[2],
    startedAt = now, attempt = attempt}), "PX", ARGV[4])
end
if ARGV[6] == "1" then
  local data = cjson.encode({id = ARGV[1], task = task, node = ARGV[2], attempt = attempt})
  redis.call("xadd", KEYS[3], "MAXLEN", "~", ARGV[5], "*", "type", "task-received", "data", data)
  redis.call("xadd", KEYS[3], "MAXLEN", "~", ARGV[5], "*", "type", "task-started", "data", data)
end
return raw
