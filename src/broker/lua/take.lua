--[[ take: hand jobs to a worker: move up to ARGV[2] ids from the waiting lists to `active`, high
priority first, then normal, then low (after ARGV[1], which a blocking BRPOPLPUSH already moved), load their records, mark them STARTED, and announce
task-received and task-started, all in one round trip.
KEYS[1] <prefix>:<queue>:waiting  LIST (normal priority; <waiting>:high and <waiting>:low beside it)
KEYS[2] <prefix>:<queue>:active   LIST
KEYS[3] <prefix>:<queue>:jobs     HASH id → record
KEYS[4] <prefix>:events           STREAM
KEYS[5] <prefix>:revoked          ZSET revoked ids
KEYS[6] <prefix>:<queue>:delayed          ZSET (rate-limited jobs deferred)
KEYS[7] <prefix>:<queue>:earlierDelayed   CHAN
ARGV[1] id already in `active` ("" = none)
ARGV[2] how many more to take
ARGV[3] node name, JSON-encoded (with its quotes)
ARGV[4] now, ms
ARGV[5] result TTL, ms
ARGV[6] events MAXLEN (approximate)
ARGV[7] "1" to write events
ARGV[8] result key prefix (<prefix>:result:)
ARGV[9] rate limits: "task=intervalMs task=intervalMs …" ("" = none)
ARGV[10] rate key prefix (<prefix>:rate:); <prefix>:rate:<task> holds the task's next free start time (ms)
ARGV[11] horizon, ms: a job whose start slot is further away goes back to `delayed` instead
ARGV[12] how many more to take as prefetched (after the ARGV[2] that start now): announced
         task-received only; the worker marks them STARTED (in its next finish call) when they start
returns {id, record, notBefore, started, …}; record is "" when it is gone (removed after it was queued);
notBefore is the ms time a rate-limited job may start ("0" = now); started is "1", or "0" if prefetched

Rate limits are cluster-wide: each start of a limited task reserves the task's next free slot, so all
nodes together start at most one job per interval. A job whose slot is within the horizon is handed
over with its slot time (the worker starts it then); a later one is deferred to `delayed` until its
slot is near, without reserving it, so no worker holds it and nothing polls.

A job that was revoked, or whose `expires` time has passed, is not handed over: it is released, its
record deleted, its result set to REVOKED (reason "revoked" / "expired") and task-revoked announced.
It never runs.

Hot path: records written by taskq's producer start with {"stalls":N,"options":{"v":1, and have
,"data":{"task":"<name>" after the options; task, attempt, expires and ignoreResult are read from the text (cjson.decode of the
whole record was most of this script's cost). Anything else is decoded in full, as a fallback.
]]
local out = {}
local node, now = ARGV[3], ARGV[4]
local nowMs, horizon = tonumber(ARGV[4]), tonumber(ARGV[11])
local rates = {}
for name, ms in string.gmatch(ARGV[9], "([^=%s]+)=([%d%.]+)") do rates[name] = tonumber(ms) end
local events = ARGV[7] == "1"
local function quote(s)
  if string.find(s, '^[%w_.:@/+=%-]*$') then return '"' .. s .. '"' end
  return cjson.encode(s)
end
local function handOver(id, raw, notBefore, started)
  out[#out + 1] = id
  out[#out + 1] = raw
  out[#out + 1] = notBefore
  out[#out + 1] = started
end
local function start(id, prefetched)
  local raw = redis.call("hget", KEYS[3], id)
  if not raw then return handOver(id, "", "0", "1") end
  -- Options come before the caller's arguments in the record, so the first match is the real one.
  local opts = string.find(raw, '^{"stalls":%d+,"options":{"v":1,')
  local dataAt = opts and string.find(raw, ',"data":{"task":"', 1, true)
  local task = dataAt and string.match(raw, '^,"data":{"task":"([%w_.:%-]+)"', dataAt)
  -- Options are read from the options text only: never from the arguments after it.
  local optText = dataAt and string.sub(raw, 1, dataAt)
  local attempt, ignore, expires
  local name = task
  if task and opts then
    task = '"' .. task .. '"'
    attempt = string.match(optText, '"attempt":(%d+)') or "1"
    ignore = string.find(optText, '"ignoreResult":true', 1, true) ~= nil
    expires = tonumber(string.match(optText, '"expires":(%d+)'))
  else
    task, attempt, ignore = '"<undecodable>"', "1", false
    local ok, rec = pcall(cjson.decode, raw)
    if ok and type(rec) == "table" and type(rec.data) == "table" and type(rec.options) == "table" then
      name = tostring(rec.data.task)
      task = cjson.encode(name)
      ignore = rec.options.ignoreResult == true
      attempt = tostring(tonumber(rec.options.attempt) or 1)
      expires = tonumber(rec.options.expires)
    end
  end
  local qid = quote(id)
  -- Released instead of handed over: revoked or expired. `keep` = its REVOKED result is already stored.
  local function release(reason, keep)
    redis.call("lrem", KEYS[2], 1, id)
    redis.call("hdel", KEYS[3], id)
    if not ignore and not keep then
      redis.call("set", ARGV[8] .. id, '{"state":"REVOKED","id":' .. qid .. ',"task":' .. task .. ',"node":' .. node ..
        ',"doneAt":' .. now .. ',"reason":"' .. reason .. '","attempt":' .. attempt .. '}', "PX", ARGV[5])
      redis.call("publish", ARGV[8] .. id, "revoked")
    end
    if events then
      redis.call("xadd", KEYS[4], "MAXLEN", "~", ARGV[6], "*", "type", "task-revoked", "data",
        '{"id":' .. qid .. ',"task":' .. task .. ',"node":' .. node .. ',"reason":"' .. reason .. '"' ..
        (reason == "expired" and ',"expired":true}' or '}'))
    end
  end
  if expires and expires < nowMs then return release("expired") end
  local notBefore = "0"
  local interval = name and rates[name]
  if interval then
    -- Check revocation before reserving a start slot a revoked job would waste.
    if redis.call("zscore", KEYS[5], id) then return release("revoked") end
    local key = ARGV[10] .. name
    local slot = math.max(tonumber(redis.call("get", key)) or 0, nowMs)
    if slot - nowMs > horizon then
      redis.call("lrem", KEYS[2], 1, id)
      redis.call("zadd", KEYS[6], slot, id)
      local head = redis.call("zrange", KEYS[6], 0, 0)
      if head[1] == id then redis.call("publish", KEYS[7], tostring(slot)) end
      return
    end
    redis.call("set", key, tostring(slot + interval), "PX", math.ceil(slot - nowMs + interval) + 60000)
    if slot > nowMs then notBefore = tostring(slot) end
  end
  if prefetched then
    if redis.call("zscore", KEYS[5], id) then return release("revoked") end
    if events then
      redis.call("xadd", KEYS[4], "MAXLEN", "~", ARGV[6], "*", "type", "task-received", "data",
        '{"id":' .. qid .. ',"task":' .. task .. ',"node":' .. node .. ',"attempt":' .. attempt .. ',"prefetched":true}')
    end
    return handOver(id, raw, notBefore, "0")
  end
  if not ignore then
    -- Marks STARTED and reads the previous record in one command: revoke.lua stores REVOKED there
    -- (and in the revoked set), so this is the revocation check too.
    local previous = redis.call("set", ARGV[8] .. id, '{"state":"STARTED","id":' .. qid .. ',"task":' .. task ..
      ',"node":' .. node .. ',"startedAt":' .. now .. ',"attempt":' .. attempt .. '}', "PX", ARGV[5], "GET")
    if previous and string.find(previous, '"state":"REVOKED"', 1, true) then
      redis.call("set", ARGV[8] .. id, previous, "PX", ARGV[5])
      return release("revoked", true)
    end
  elseif redis.call("zscore", KEYS[5], id) then
    return release("revoked")
  end
  if events then
    local data = '{"id":' .. qid .. ',"task":' .. task .. ',"node":' .. node .. ',"attempt":' .. attempt .. '}'
    redis.call("xadd", KEYS[4], "MAXLEN", "~", ARGV[6], "*", "type", "task-received", "data", data)
    redis.call("xadd", KEYS[4], "MAXLEN", "~", ARGV[6], "*", "type", "task-started", "data", data)
  end
  handOver(id, raw, notBefore, "1")
end
local WAKE = "~wake"
local lists = {KEYS[1] .. ":high", KEYS[1], KEYS[1] .. ":low"}
local current = 1
local function pop()
  while current <= 3 do
    local id = redis.call("rpoplpush", lists[current], KEYS[2])
    if not id then
      current = current + 1
    elseif id == WAKE then
      redis.call("lrem", KEYS[2], 1, WAKE)
    else
      return id
    end
  end
  return nil
end
if ARGV[1] == WAKE then
  redis.call("lrem", KEYS[2], 1, WAKE)
elseif ARGV[1] ~= "" then
  start(ARGV[1], false)
end
local now_n = tonumber(ARGV[2]) + (ARGV[1] == WAKE and 1 or 0)
for i = 1, now_n + tonumber(ARGV[12]) do
  local id = pop()
  if not id then break end
  start(id, i > now_n)
end
return out
