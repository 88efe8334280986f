--[[ take: hand jobs to a worker: move up to ARGV[2] ids from `waiting` to `active` (after ARGV[1], which
a blocking BRPOPLPUSH already moved), load their records, mark them STARTED, and announce
task-received and task-started, all in one round trip.
KEYS[1] <prefix>:<queue>:waiting  LIST
KEYS[2] <prefix>:<queue>:active   LIST
KEYS[3] <prefix>:<queue>:jobs     HASH id → record
KEYS[4] <prefix>:events           STREAM
ARGV[1] id already in `active` ("" = none)
ARGV[2] how many more to take
ARGV[3] node name
ARGV[4] now, ms
ARGV[5] result TTL, ms
ARGV[6] events MAXLEN (approximate)
ARGV[7] "1" to write events
ARGV[8] result key prefix (<prefix>:result:)
returns {id, record, id, record, …}; record is "" when it is gone (removed after it was queued)
]]
local out = {}
local function start(id)
  local raw = redis.call("hget", KEYS[3], id)
  if not raw then
    out[#out + 1] = id
    out[#out + 1] = ""
    return
  end
  local task, ignore, attempt = "<undecodable>", false, 1
  local ok, rec = pcall(cjson.decode, raw)
  if ok and type(rec) == "table" and type(rec.data) == "table" and type(rec.options) == "table" then
    task = tostring(rec.data.task)
    ignore = rec.options.ignoreResult == true
    attempt = tonumber(rec.options.attempt) or 1
  end
  if not ignore then
    redis.call("set", ARGV[8] .. id, cjson.encode({state = "STARTED", id = id, task = task, node = ARGV[3],
      startedAt = tonumber(ARGV[4]), attempt = attempt}), "PX", ARGV[5])
  end
  if ARGV[7] == "1" then
    local data = cjson.encode({id = id, task = task, node = ARGV[3], attempt = attempt})
    redis.call("xadd", KEYS[4], "MAXLEN", "~", ARGV[6], "*", "type", "task-received", "data", data)
    redis.call("xadd", KEYS[4], "MAXLEN", "~", ARGV[6], "*", "type", "task-started", "data", data)
  end
  out[#out + 1] = id
  out[#out + 1] = raw
end
if ARGV[1] ~= "" then start(ARGV[1]) end
for _ = 1, tonumber(ARGV[2]) do
  local id = redis.call("rpoplpush", KEYS[1], KEYS[2])
  if not id then break end
  start(id)
end
return out
