--[[ take: hand jobs to a worker: move up to ARGV[2] ids from `waiting` to `active` (after ARGV[1], which
a blocking BRPOPLPUSH already moved), load their records, mark them STARTED, and announce
task-received and task-started, all in one round trip.
KEYS[1] <prefix>:<queue>:waiting  LIST
KEYS[2] <prefix>:<queue>:active   LIST
KEYS[3] <prefix>:<queue>:jobs     HASH id → record
KEYS[4] <prefix>:events           STREAM
KEYS[5] <prefix>:revoked          ZSET revoked ids
ARGV[1] id already in `active` ("" = none)
ARGV[2] how many more to take
ARGV[3] node name, JSON-encoded (with its quotes)
ARGV[4] now, ms
ARGV[5] result TTL, ms
ARGV[6] events MAXLEN (approximate)
ARGV[7] "1" to write events
ARGV[8] result key prefix (<prefix>:result:)
returns {id, record, id, record, …}; record is "" when it is gone (removed after it was queued)

A job that was revoked, or whose `expires` time has passed, is not handed over: it is released, its
record deleted, its result set to REVOKED (reason "revoked" / "expired") and task-revoked announced.
It never runs.

Hot path: records written by taskq's producer start with {"stalls":N,"data":{"task":"<name>" and
their options with {"v":1,; task, attempt and ignoreResult are read from the text (cjson.decode of the
whole record was most of this script's cost). Anything else is decoded in full, as a fallback.
]]
local out = {}
local node, now = ARGV[3], ARGV[4]
local events = ARGV[7] == "1"
local function quote(s)
  if string.find(s, '^[%w_.:@/+=%-]*$') then return '"' .. s .. '"' end
  return cjson.encode(s)
end
local function start(id)
  local raw = redis.call("hget", KEYS[3], id)
  if not raw then
    out[#out + 1] = id
    out[#out + 1] = ""
    return
  end
  local task = string.match(raw, '^{"stalls":%d+,"data":{"task":"([%w_.:%-]+)"')
  local opts = string.find(raw, ',"options":{"v":1,', 1, true)
  local attempt, ignore, expires
  if task and opts then
    task = '"' .. task .. '"'
    attempt = string.match(raw, '"attempt":(%d+)', opts) or "1"
    ignore = string.find(raw, '"ignoreResult":true', opts, true) ~= nil
    expires = tonumber(string.match(raw, '"expires":(%d+)', opts))
  else
    task, attempt, ignore = '"<undecodable>"', "1", false
    local ok, rec = pcall(cjson.decode, raw)
    if ok and type(rec) == "table" and type(rec.data) == "table" and type(rec.options) == "table" then
      task = cjson.encode(tostring(rec.data.task))
      ignore = rec.options.ignoreResult == true
      attempt = tostring(tonumber(rec.options.attempt) or 1)
      expires = tonumber(rec.options.expires)
    end
  end
  local qid = quote(id)
  local reason = (expires and expires < tonumber(now) and "expired") or (redis.call("zscore", KEYS[5], id) and "revoked")
  if reason then
    redis.call("lrem", KEYS[2], 1, id)
    redis.call("hdel", KEYS[3], id)
    if not ignore then
      redis.call("set", ARGV[8] .. id, '{"state":"REVOKED","id":' .. qid .. ',"task":' .. task .. ',"node":' .. node ..
        ',"doneAt":' .. now .. ',"reason":"' .. reason .. '","attempt":' .. attempt .. '}', "PX", ARGV[5])
      redis.call("publish", ARGV[8] .. id, "revoked")
    end
    if events then
      redis.call("xadd", KEYS[4], "MAXLEN", "~", ARGV[6], "*", "type", "task-revoked", "data",
        '{"id":' .. qid .. ',"task":' .. task .. ',"node":' .. node .. ',"reason":"' .. reason .. '"' ..
        (reason == "expired" and ',"expired":true}' or '}'))
    end
    return
  end
  if not ignore then
    redis.call("set", ARGV[8] .. id, '{"state":"STARTED","id":' .. qid .. ',"task":' .. task .. ',"node":' .. node ..
      ',"startedAt":' .. now .. ',"attempt":' .. attempt .. '}', "PX", ARGV[5])
  end
  if events then
    local data = '{"id":' .. qid .. ',"task":' .. task .. ',"node":' .. node .. ',"attempt":' .. attempt .. '}'
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
