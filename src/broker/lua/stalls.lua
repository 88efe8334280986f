--[[ stalls: re-deliver jobs whose worker stopped proving it is alive; fail those that stalled too often.
Run by every worker each stall interval; the SET NX PX on stallBlock lets one process do it at a time.
The block lasts 3/4 of an interval: every node's own timer then finds it free, so checks come at
most an interval apart (re-delivery within two intervals of a worker's death), and never closer than
3/4 of one — longer than the half interval in which live workers unmark their jobs.
A delivery is stalled when its `active` entry stayed in `stalling` (copied from `active` by the previous
run) for a whole interval without its worker removing it (workers SREM their entries every interval / 2).
Re-delivery removes the stalled entry, so the old delivery no longer owns the job (see finish.lua).
KEYS[1] <prefix>:<queue>:stallBlock  STR
KEYS[2] <prefix>:<queue>:stalling    SET   delivery entries (lib/common.lua)
KEYS[3] <prefix>:<queue>:waiting     LIST  (and :high / :low beside it)
KEYS[4] <prefix>:<queue>:active      LIST  delivery entries
KEYS[5] <prefix>:<queue>:jobs        HASH  id → record; the record starts with {"stalls":N, (see message.ts)
KEYS[6] <prefix>:<queue>:dead        ZSET
KEYS[7] <prefix>:events              STREAM
KEYS[8] <prefix>:<queue>:stallLast   STR  time of the last check (ms)
KEYS[9] <prefix>:nodes               ZSET node → last heartbeat (ms)
KEYS[10] <prefix>:queues             SET  the queue registry
ARGV[1] stall interval, ms
ARGV[2] max stalls: a job stalled more often than this fails for good
ARGV[3] result TTL, ms
ARGV[4] events MAXLEN (approximate)
ARGV[5] result key prefix (<prefix>:result:)
ARGV[6] queue name
ARGV[7] "1" to write events
ARGV[8] most dead letters kept in this queue
ARGV[9] dead letters older than this are deleted (ms)
ARGV[10] events older than this are trimmed (ms)
ARGV[11] a node without a heartbeat for this long is gone (ms)
ARGV[12] key prefix with its colon (<prefix>:)

The same run keeps the other keys bounded (once per interval per queue): this queue's dead letters by
count and age (records deleted with them), the event stream by age (its length is capped by every
XADD), the node registry (nodes gone silent), and one other queue of the registry, picked at random,
is dropped from it if it has no key left (live workers add their queues with every heartbeat).
A job acknowledged early (options.acksLate false) is failed (WorkerLostError), never re-delivered; a job
that fails for good here also fails its chord, if it is a member (lib/plan.lua).
returns {requeued ids…, "|", failed ids…}, or {} when another process ran the check this interval
]]
if not redis.call("set", KEYS[1], "1", "PX", math.floor(tonumber(ARGV[1]) * 3 / 4), "NX") then return {} end
local requeued, failed = {}, {}
local maxStalls, now = tonumber(ARGV[2]), nowMs()
-- After a gap (a Redis outage, every node down), live workers had no chance to unmark their jobs:
-- do not sweep, only mark again, so a job in good hands is not re-delivered.
local last = tonumber(redis.call("get", KEYS[8]))
redis.call("set", KEYS[8], tostring(now), "PX", tonumber(ARGV[1]) * 10)
local sweep = last ~= nil and now - last <= tonumber(ARGV[1]) * 1.5
-- A job that will not run again: FAILURE (with "reason" right after "state": finish.lua recognises
-- this presumption by its first fields), a dead letter, and its chord (if it is a member) failed.
local function failForGood(id, raw, n, errName, message)
  local task = string.match(raw, ',"data":{"task":("[^"\\]*")')
  local ok, rec = pcall(cjson.decode, raw)
  local data = ok and type(rec) == "table" and type(rec.data) == "table" and rec.data or {}
  if not task then task = cjson.encode(tostring(data.task or "<undecodable>")) end
  local err = cjson.encode({name = errName, message = message})
  local qid = cjson.encode(id)
  redis.call("zadd", KEYS[6], now, id)
  redis.call("set", ARGV[5] .. id, '{"state":"FAILURE","reason":"stalled","id":' .. qid .. ',"task":' .. task ..
    ',"error":' .. err .. ',"doneAt":' .. now .. '}', "PX", ARGV[3])
  redis.call("publish", ARGV[5] .. id, "failure")
  if ARGV[7] == "1" then
    emit(KEYS[7], ARGV[4], "task-failed", '{"id":' .. qid .. ',"task":' .. task .. ',"queue":' .. cjson.encode(ARGV[6]) .. ',"error":' .. err ..
      ',"reason":"stalled","stalls":' .. n .. '}')
  end
  local chord = chordAhead(data)
  if chord then
    chordFailed({ARGV[12] .. "chord:" .. chord.id, cjson.encode({name = "ChordError", message = "chord member " .. id .. " (" ..
      cjson.decode(task) .. ", index " .. tostring(chord.i) .. ") failed: " .. errName .. ": " .. message})}, KEYS[7], ARGV[4], ARGV[3], ARGV[5], ARGV[7] == "1")
  end
  failed[#failed + 1] = id
end

-- One stalled delivery, already out of `active`: back to its queue, or dead after too many stalls
-- (or at once when it was acknowledged early: at most once).
local function redeliver(entry)
  local id = entryId(entry)
  local raw = redis.call("hget", KEYS[5], id)
  if raw then
    local n = tonumber(string.match(raw, '^{"stalls":(%d+),'))
    if n then raw = '{"stalls":' .. (n + 1) .. ',' .. string.sub(raw, string.len('{"stalls":' .. n .. ',') + 1) end
    n = (n or 0) + 1
    redis.call("hset", KEYS[5], id, raw)
    if string.find(optionsText(raw), '"acksLate":false', 1, true) then
      failForGood(id, raw, n, "WorkerLostError", "job " .. id .. " was acknowledged early (acksLate: false) and its worker vanished " ..
        "(no sign of life for the stall interval, " .. ARGV[1] .. " ms): it is not run again (at most once)")
    elseif n > maxStalls then
      failForGood(id, raw, n, "JobStalled", "job " .. id .. " stalled " .. n .. " times (max " .. maxStalls ..
        "): its worker died or blocked its event loop for longer than the stall interval (" .. ARGV[1] .. " ms)")
    else
      -- To the front of its priority's list: a re-delivered job has waited long enough.
      pushWaiting(KEYS[3], raw, id, true)
      requeued[#requeued + 1] = id
    end
  end
end
for _, entry in ipairs(sweep and redis.call("smembers", KEYS[2]) or {}) do
  if redis.call("lrem", KEYS[4], 0, entry) > 0 then
    -- A broken key (another type) must not lose the job: it goes back to `active` for the next sweep.
    if not pcall(redeliver, entry) then redis.call("lpush", KEYS[4], entry) end
  end
end
redis.call("del", KEYS[2])
-- Mark everything active now; workers that are alive remove their entries before the next run.
local actives = redis.call("lrange", KEYS[4], 0, -1)
for i = 1, #actives, 1000 do
  redis.call("sadd", KEYS[2], unpack(actives, i, math.min(i + 999, #actives)))
end

-- Housekeeping: best effort (a broken key must not stop re-delivery, which is done by now).
local function housekeeping()
  local function dropDead(ids)
    if #ids == 0 then return end
    redis.call("zrem", KEYS[6], unpack(ids))
    redis.call("hdel", KEYS[5], unpack(ids))
  end
  dropDead(redis.call("zrangebyscore", KEYS[6], "-inf", "(" .. (now - tonumber(ARGV[9])), "LIMIT", 0, 1000))
  local extra = redis.call("zcard", KEYS[6]) - tonumber(ARGV[8])
  if extra > 0 then dropDead(redis.call("zrange", KEYS[6], 0, math.min(extra, 1000) - 1)) end
  redis.pcall("xtrim", KEYS[7], "MINID", "~", tostring(now - tonumber(ARGV[10])))
  redis.call("zremrangebyscore", KEYS[9], "-inf", "(" .. (now - tonumber(ARGV[11])))
  local other = redis.call("srandmember", KEYS[10])
  if other then
    local base = ARGV[12] .. other .. ":"
    if redis.call("exists", base .. "jobs", base .. "waiting", base .. "waiting:high", base .. "waiting:low",
        base .. "active", base .. "delayed", base .. "dead") == 0 then
      redis.call("srem", KEYS[10], other)
    end
  end
end
pcall(housekeeping)

requeued[#requeued + 1] = "|"
for _, id in ipairs(failed) do requeued[#requeued + 1] = id end
return requeued
