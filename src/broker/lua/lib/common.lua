--[[ common: helpers every taskq script starts with (scripts.ts prepends this file).

Delivery entries. A job a worker holds is in its queue's `active` list as "~<token>~<id>": the token
names this delivery (one take of the job by one node), so a worker that was presumed dead and
re-delivered elsewhere can never remove, re-enqueue or dead-letter the new delivery's entry. Job ids
never contain "~" (core/job-template.ts). A bare id in `active` is one BRPOPLPUSH moved there and no
take handed over yet; "~wake" is the wake token of enqueue.lua, never a job.

Result records start with their state, and a STARTED record with its delivery:
  {"state":"STARTED","delivery":"<token>",["revoked":true,]…}
so scripts read both from fixed places, never from a progress value or a result that mentions them.
]]
local FINAL = {SUCCESS = true, FAILURE = true, REVOKED = true}

local function entryOf(token, id) return "~" .. token .. "~" .. id end

-- The job id of an `active` entry (a bare id is its own).
local function entryId(entry)
  return string.match(entry, "^~[^~]+~(.+)$") or entry
end

local function stateOf(record)
  return record and string.match(record, '^{"state":"(%u+)"') or nil
end

-- The prefix of the STARTED record a delivery wrote ("" for a record that is not STARTED).
local function startedPrefix(record)
  return record and string.match(record, '^({"state":"STARTED","delivery":"[^"]*",)') or ""
end

local function revokeRequested(record)
  local prefix = startedPrefix(record)
  return prefix ~= "" and string.sub(record, #prefix + 1, #prefix + 15) == '"revoked":true,'
end

-- Redis's clock (ms): the one clock every node agrees on. Read once per call, and only by scripts
-- whose decision depends on it (expiry, rate slots, retry due times, stall sweeps); timestamps that
-- only inform (startedAt, doneAt) come from the node, which keeps its clock in step with this one.
local clockMs
local function nowMs()
  if not clockMs then
    local t = redis.call("time")
    clockMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return clockMs
end

-- The options part of a job record (before the caller's arguments), so arguments cannot pose as options.
local function optionsText(raw)
  local dataAt = string.find(raw, ',"data":{', 1, true)
  return dataAt and string.sub(raw, 1, dataAt) or raw
end

-- Whether a job record (the jobs hash's) carries revoke.lua's flag.
local function revokedFlag(raw)
  return raw and string.find(optionsText(raw), '"revoked":true', 1, true) ~= nil
end

-- The waiting list a job of this record belongs to: <waiting>:high, <waiting> or <waiting>:low.
local function waitingListOf(waitingKey, raw)
  local p = raw and string.match(optionsText(raw), '"priority":"(%l+)"')
  if p == "high" or p == "low" then return waitingKey .. ":" .. p end
  return waitingKey
end

-- Queues job `id` (record `raw`) on its priority's waiting list: at the back (LPUSH), or at the front
-- (RPUSH) when `front`. Workers block on <waiting> only, so a high or low job queued while <waiting>
-- is empty leaves a wake token there.
local function pushWaiting(waitingKey, raw, id, front)
  local list = waitingListOf(waitingKey, raw)
  redis.call(front and "rpush" or "lpush", list, id)
  if list ~= waitingKey and redis.call("llen", waitingKey) == 0 then redis.call("lpush", waitingKey, "~wake") end
end

-- Appends an event. Best effort: a broken stream key (another type) loses the event, never the
-- script's real work half-done (Redis does not roll a failed script back).
local function emit(stream, maxlen, etype, data)
  redis.pcall("xadd", stream, "MAXLEN", "~", maxlen, "*", "type", etype, "data", data)
end
