--[[ take: hand jobs to a worker, one delivery each: pop up to ARGV[2] ids from the waiting lists, high
priority first, then normal, then low (after ARGV[1], which a blocking BRPOPLPUSH already moved to
`active`), load their records, push one delivery entry per job to `active` (see lib/common.lua), mark
them STARTED and announce task-received and task-started, all in one round trip.
KEYS[1] <prefix>:<queue>:waiting  LIST (normal priority; <waiting>:high and <waiting>:low beside it)
KEYS[2] <prefix>:<queue>:active   LIST delivery entries
KEYS[3] <prefix>:<queue>:jobs     HASH id → record
KEYS[4] <prefix>:events           STREAM
KEYS[5] <prefix>:revoked          ZSET revoked ids
KEYS[6] <prefix>:<queue>:delayed          ZSET (rate-limited jobs deferred)
KEYS[7] <prefix>:<queue>:earlierDelayed   CHAN
KEYS[8] <prefix>:<queue>:dead             ZSET (jobs whose id no worker could name back)
ARGV[1] id already in `active` ("" = none)
ARGV[2] how many more to take
ARGV[3] node name, JSON-encoded (with its quotes)
ARGV[4] delivery token base, unique per call (the n-th job's token is <base>.<n>)
ARGV[5] result TTL, ms
ARGV[6] events MAXLEN (approximate)
ARGV[7] "1" to write events
ARGV[8] result key prefix (<prefix>:result:)
ARGV[9] rate limits: "task=intervalMs task=intervalMs …" ("" = none)
ARGV[10] rate key prefix (<prefix>:rate:); <prefix>:rate:<task> holds the task's next free start time (ms)
         (<prefix>:<queue>:rateReserved, beside `delayed`, holds the slots of jobs deferred there)
ARGV[11] horizon, ms: a job whose start slot is further away goes back to `delayed` instead
ARGV[12] how many more to take as held (after the ARGV[2] that start now): announced task-received
         only; finish.lua marks them STARTED when they start (and checks revocation and expiry then)
ARGV[13] now, ms, by the node's clock kept in step with Redis's (for startedAt; decisions use TIME)
returns {id, record, notBefore, started, token, …}; notBefore is the ms time a rate-limited job may start
("0" = now); started is "1", or "0" for a held job (prefetched, or waiting for its rate slot)

Rate limits are cluster-wide: each take of a limited task reserves the task's next free slot, so all
nodes together start at most one job per interval. A job whose slot is within the horizon is handed
over with its slot time (held until then); a later one is deferred to `delayed` until its slot is
near, keeping its slot, so no worker holds it, nothing polls, and a backlog goes through `delayed`
once, in order.

A job that was revoked, or whose `expires` time has passed, is not handed over: its record is
deleted, its result set to REVOKED (reason "revoked" / "expired") and task-revoked announced. A job
whose result is already final (it succeeded, failed or was revoked) is dropped. Neither runs. A
released chord member fails its chord (lib/plan.lua).

Hot path: records written by taskq's producer start with {"stalls":N,"options":{"v":1, and have
,"data":{"task":"<name>" after the options; task, attempt, expires, revoked and ignoreResult are read
from the text (cjson.decode of the whole record was most of this script's cost). Anything else is
decoded in full, as a fallback.
]]
local out, entries = {}, {}
local node = ARGV[3]
local horizon = tonumber(ARGV[11])
-- <prefix>:<queue>:rateReserved  ZSET "<task> <id>" → slot: deferred jobs and the slots they hold
local reservedKey = string.sub(KEYS[6], 1, -8) .. "rateReserved"
local now = ARGV[13]
local rates = {}
for name, ms in string.gmatch(ARGV[9], "([^=%s]+)=([%d%.]+)") do rates[name] = tonumber(ms) end
local events = ARGV[7] == "1"
-- The key prefix with its colon (ARGV[8] is "<prefix>:result:"), for chords (lib/plan.lua).
local keyPrefix = string.sub(ARGV[8], 1, -8)
local function handOver(id, raw, notBefore, started, token)
  out[#out + 1] = id
  out[#out + 1] = raw
  out[#out + 1] = notBefore
  out[#out + 1] = started
  out[#out + 1] = token
  entries[#entries + 1] = entryOf(token, id)
end
local function event(etype, data)
  if events then emit(KEYS[4], ARGV[6], etype, data) end
end
-- The caller's arguments as text, for task-received events (Celery's carry them, so monitors can show
-- and search them): the record from its args on (kwargs included), the canvas around the job left
-- out, at most 512 bytes, as a JSON string (",\"args\":…" to append; "" when not found).
local function argsField(raw, dataAt)
  local from = dataAt and string.find(raw, ',"args":', dataAt, true)
  if not from then return "" end
  -- A record re-encoded after a retry ends with its status (looked for in the last 30 bytes only);
  -- the canvas fields come last in `data`.
  local stop = string.byte(raw, -2) == 34 and string.find(raw, '},"status":"%l+"}$', math.max(from, #raw - 30)) or (#raw - 1)
  local text = string.sub(raw, from + 8, stop - 1)
  -- The chord membership ends `data`; canvas lists hold frozen nodes, which open as below (frozen.ts).
  -- Plain finds first: the patterns run only when their text is there at all.
  if string.find(text, ',"chord":{"id":"', 1, true) then
    local member = string.find(text, ',"chord":{"id":"[^"]*","i":%d+}$')
    if member then text = string.sub(text, 1, member - 1) end
  end
  if string.find(text, '":[{"', 1, true) then
    for _, field in ipairs({"chain", "link", "linkError"}) do
      for _, open in ipairs({'{"task":"', '{"group":[', '{"chord":['}) do
        local at = string.find(text, ',"' .. field .. '":[' .. open, 1, true)
        if at then text = string.sub(text, 1, at - 1) end
      end
    end
  end
  if #text > 512 then
    -- Not in the middle of a UTF-8 character.
    local cut = 512
    while cut > 0 and string.byte(text, cut + 1) and string.byte(text, cut + 1) >= 128 and string.byte(text, cut + 1) < 192 do cut = cut - 1 end
    text = string.sub(text, 1, cut) .. "…"
  end
  return ',"args":' .. cjson.encode(text)
end
-- An id no producer makes (hand-written into Redis: bytes outside the id alphabet, not UTF-8) could not
-- be named back to Redis by a worker: the job is dead-lettered here, its record kept as it is.
local function validId(id)
  return #id <= 200 and string.find(id, "^[%w_.:@/+=%-]+$") ~= nil
end
local function refuse(id)
  redis.call("zadd", KEYS[8], nowMs(), id)
  local shown = string.gsub(id, "[^%w_.:@/+=%-]", function(c) return string.format("\\x%02x", string.byte(c)) end)
  event("task-failed", cjson.encode({id = shown, task = "<unknown>", reason = "invalid job id", error = {name = "TaskqError",
    message = "job id " .. shown .. " is not a taskq job id (1-200 of letters, digits and _ . : @ / + = -): it was written " ..
    "into Redis by hand or by another program; the job is kept in the dead-letter list"}}))
end
local function start(id, held, token)
  if not validId(id) then return refuse(id) end
  local raw = redis.call("hget", KEYS[3], id)
  if not raw then return end -- removed after it was queued: nothing to run
  -- Options come before the caller's arguments in the record, so the first match is the real one.
  local opts = string.find(raw, '^{"stalls":%d+,"options":{"v":1,')
  local dataAt = opts and string.find(raw, ',"data":{"task":"', 1, true)
  local task = dataAt and string.match(raw, '^,"data":{"task":"([%w_.:%-]+)"', dataAt)
  local attempt, ignore, expires, revoked
  local name = task
  if task and opts then
    local optText = string.sub(raw, 1, dataAt)
    task = '"' .. task .. '"'
    -- Plain finds, then a pattern anchored where they found the name: far cheaper than scanning patterns.
    local at = string.find(optText, '"attempt":', 1, true)
    attempt = at and string.match(optText, '^%d+', at + 10) or "1"
    ignore = string.find(optText, '"ignoreResult":true', 1, true) ~= nil
    revoked = string.find(optText, '"revoked":true', 1, true) ~= nil
    at = string.find(optText, '"expires":', 1, true)
    expires = at and tonumber(string.match(optText, '^%d+', at + 10))
  else
    task, attempt, ignore = '"<undecodable>"', "1", false
    local ok, rec = pcall(cjson.decode, raw)
    if ok and type(rec) == "table" and type(rec.data) == "table" and type(rec.options) == "table" then
      name = tostring(rec.data.task)
      task = cjson.encode(name)
      ignore = rec.options.ignoreResult == true
      revoked = rec.options.revoked == true
      attempt = tostring(tonumber(rec.options.attempt) or 1)
      expires = tonumber(rec.options.expires)
    end
  end
  local qid = '"' .. id .. '"' -- validId: nothing to escape
  -- Released instead of handed over: revoked or expired. `keep` = its REVOKED result is already stored.
  local function release(reason, keep)
    redis.call("hdel", KEYS[3], id)
    if not ignore and not keep then
      redis.call("set", ARGV[8] .. id, '{"state":"REVOKED","id":' .. qid .. ',"task":' .. task .. ',"node":' .. node ..
        ',"doneAt":' .. now .. ',"reason":"' .. reason .. '","attempt":' .. attempt .. '}', "PX", ARGV[5])
      redis.call("publish", ARGV[8] .. id, "revoked")
    end
    event("task-revoked", '{"id":' .. qid .. ',"task":' .. task .. ',"node":' .. node .. ',"reason":"' .. reason .. '"' ..
      (reason == "expired" and ',"expired":true}' or '}'))
    memberNeverRuns(raw, id, task, reason, keyPrefix, KEYS[4], ARGV[6], ARGV[5], ARGV[8], events)
  end
  if revoked then return release("revoked") end
  if expires and expires < nowMs() then return release("expired") end
  local notBefore = "0"
  local interval = name and rates[name]
  if interval then
    -- Check revocation before reserving a start slot a revoked job would waste.
    if redis.call("zscore", KEYS[5], id) then return release("revoked") end
    local key = ARGV[10] .. name
    local nowMsV = nowMs()
    -- A job deferred earlier comes back with the slot it reserved then.
    local member = name .. " " .. id
    local slot = tonumber(redis.call("zscore", reservedKey, member))
    if slot then
      redis.call("zrem", reservedKey, member)
    else
      slot = math.max(tonumber(redis.call("get", key)) or 0, nowMsV)
      redis.call("set", key, tostring(slot + interval), "PX", math.ceil(slot - nowMsV + interval) + 60000)
    end
    if slot - nowMsV > horizon then
      -- Its slot is far: it waits in `delayed` until then, holding that slot, so it comes back once,
      -- in its turn (jobs behind it reserve later slots) and at its priority.
      redis.call("zadd", reservedKey, slot, member)
      -- Reservations of jobs purged or revoked meanwhile are forgotten after an hour.
      redis.call("zremrangebyscore", reservedKey, "-inf", "(" .. (nowMsV - 3600000))
      redis.call("zadd", KEYS[6], slot - horizon / 2, id)
      local head = redis.call("zrange", KEYS[6], 0, 0)
      if head[1] == id then redis.call("publish", KEYS[7], tostring(slot - horizon / 2)) end
      return
    end
    if slot > nowMsV then notBefore = tostring(slot) end
  end
  if held or notBefore ~= "0" then
    event("task-received", '{"id":' .. qid .. ',"task":' .. task .. ',"node":' .. node .. ',"attempt":' .. attempt .. argsField(raw, dataAt) .. ',"prefetched":true}')
    return handOver(id, raw, notBefore, "0", token)
  end
  if not ignore then
    -- Marks STARTED and reads the previous record in one command: that is the revocation check too
    -- (revoke.lua stores REVOKED there, or flags the STARTED record of a delivery that ran).
    local key = ARGV[8] .. id
    local previous = redis.call("set", key, '{"state":"STARTED","delivery":"' .. token .. '","id":' .. qid .. ',"task":' .. task ..
      ',"node":' .. node .. ',"startedAt":' .. now .. ',"attempt":' .. attempt .. '}', "PX", ARGV[5], "GET")
    local state = stateOf(previous)
    if state and FINAL[state] then
      -- Over already (a late finisher recorded it, or it was revoked): never run it again.
      redis.call("set", key, previous, "PX", ARGV[5])
      if state == "REVOKED" then return release("revoked", true) end
      redis.call("hdel", KEYS[3], id)
      return
    end
    if state == "STARTED" and (revokeRequested(previous) or redis.call("zscore", KEYS[5], id)) then
      return release("revoked")
    end
  elseif redis.call("zscore", KEYS[5], id) then
    return release("revoked")
  end
  local data = '{"id":' .. qid .. ',"task":' .. task .. ',"node":' .. node .. ',"attempt":' .. attempt
  if events then event("task-received", data .. argsField(raw, dataAt) .. '}') end
  event("task-started", data .. '}')
  handOver(id, raw, notBefore, "1", token)
end

local WAKE = "~wake"
-- Pops up to n job ids, high priority first (LMPOP takes from the first list that has any, so the
-- usual case — jobs in one list — is one command); wake tokens are dropped. `from` names each id's list.
local function popIds(n, ids, from)
  local lists = {KEYS[1] .. ":high", KEYS[1], KEYS[1] .. ":low"}
  while #ids < n and #lists > 0 do
    local want = n - #ids
    local args = {#lists}
    for _, list in ipairs(lists) do args[#args + 1] = list end
    args[#args + 1], args[#args + 2], args[#args + 3] = "RIGHT", "COUNT", want
    local got = redis.call("lmpop", unpack(args))
    if not got then break end
    for _, id in ipairs(got[2]) do
      if id ~= WAKE then
        ids[#ids + 1] = id
        from[#ids] = got[1]
      end
    end
    if #got[2] < want then
      -- That list is empty now: the next pop starts after it.
      while #lists > 0 and lists[1] ~= got[1] do table.remove(lists, 1) end
      table.remove(lists, 1)
    end
  end
end

local seq = 0
local function token()
  seq = seq + 1
  return ARGV[4] .. "." .. seq
end
local nowN = tonumber(ARGV[2])
local ids, from = {}, {}
if ARGV[1] ~= "" then
  -- BRPOPLPUSH left the bare id at the head of `active`: the delivery entry replaces it.
  redis.call("lrem", KEYS[2], 1, ARGV[1])
  if ARGV[1] == WAKE then
    nowN = nowN + 1
  else
    ids[1], from[1] = ARGV[1], KEYS[1]
    nowN = nowN + 1
  end
end
popIds(nowN + tonumber(ARGV[12]), ids, from)
-- Redis does not roll a failed script back: if a key is broken (another type), the popped ids go back
-- to the front of their lists instead of being lost, and the error names what failed.
local ok, err = pcall(function()
  for i, id in ipairs(ids) do start(id, i > nowN, token()) end
  if #entries > 0 then redis.call("lpush", KEYS[2], unpack(entries)) end
end)
if not ok then
  for i = #ids, 1, -1 do redis.call("rpush", from[i], ids[i]) end
  return redis.error_reply(type(err) == "table" and tostring(err.err) or tostring(err))
end
return out
