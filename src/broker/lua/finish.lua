--[[ finish: start held jobs, and record the outcomes of a batch of deliveries of one queue and release
them from `active`, atomically: results, job records, retries, dead letters and events in one round trip.
KEYS[1] <prefix>:<queue>:active          LIST delivery entries (see lib/common.lua)
KEYS[2] <prefix>:<queue>:jobs            HASH id → record
KEYS[3] <prefix>:events                  STREAM
KEYS[4] <prefix>:<queue>:waiting         LIST (and :high / :low beside it)
KEYS[5] <prefix>:<queue>:delayed         ZSET
KEYS[6] <prefix>:<queue>:earlierDelayed  CHAN
KEYS[7] <prefix>:<queue>:dead            ZSET id by time of death
KEYS[8] <prefix>:revoked                 ZSET revoked ids
ARGV[1] result TTL, ms
ARGV[2] events MAXLEN (approximate)
ARGV[3] result key prefix (<prefix>:result:); the key is also the Pub/Sub channel announcing the result
ARGV[4] how many starts follow (held jobs — prefetched, or rate-limited — that start)
ARGV[5] now, ms, by the node's clock kept in step with Redis's (doneAt; decisions use TIME)
ARGV[6] node name, JSON-encoded
ARGV[7] "1" to write events
then 7 per start:
  id, delivery token, task name JSON, attempt, startedAt ms ("" = results off: no STARTED record),
  expires ms ("" = never),
  "1" if the job waits for this verdict (a request: released here unless "ok"), "0" if it already
  runs (a notice: the node stops it unless "ok")
  (the STARTED record — state and delivery first, as lib/common.lua says — and the task-started
  event are built here from these)
then 9 per job:
  id, delivery token
  outcome: "success" | "retry" | "failure" | "revoked" (terminated while running)
  result record JSON ("" = results off for this job)
  event type ("" = events off), event data JSON
  updated job record JSON (retry, failure; "" for success)
  delay of a retry, ms ("0" = now)
  follow-up plan JSON ("" = none; see lib/plan.lua): what its end sends — the next step of its chain,
  its links or errbacks, its chord's progress — carried out only when this outcome is recorded
returns one verdict per start — "ok" (run it), "revoked", "expired" (never run it; a request is
released), "over" (its result is final already) — then one code per job:
  1 recorded
  2 its delivery owned the job, but a final state was recorded meanwhile: kept, nothing else done
  0 its delivery no longer owns the job (a stall check re-delivered it): nothing recorded
  3 not owned, but a success: recorded (unless final already), and a re-delivered copy that had not
    started yet withdrawn, so it does not run twice — only for a job without follow-ups (a plan):
    one with them gets 0, its copy or the stall check's failure decides, once
A delivery that lost its job never removes another delivery's entry, never re-enqueues and never
dead-letters. Final states (SUCCESS, FAILURE, REVOKED) are never overwritten, with one exception: the
late success of a delivery presumed dead replaces the "stalled" FAILURE that presumption wrote.
]]
local STALLED = '{"state":"FAILURE","reason":"stalled",' -- as stalls.lua writes it
local out = {}
local stamp = ARGV[5]
local ttl = ARGV[1]
local function event(etype, data)
  if etype ~= "" then emit(KEYS[3], ARGV[2], etype, data) end
end
local function revokedRecord(qid, task, reason)
  return '{"state":"REVOKED","id":' .. qid .. ',"task":' .. task .. ',"doneAt":' .. stamp .. ',"reason":"' .. reason .. '"}'
end

-- Start requests: checked when the job really starts, not when it was taken.
local starts = tonumber(ARGV[4])
local node, withEvents = ARGV[6], ARGV[7] == "1"
for i = 8, 7 + starts * 7, 7 do
  local id, token, task, attempt, startedAt, expires, waits = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6] == "1"
  local qid = cjson.encode(id)
  local record = startedAt ~= "" and ('{"state":"STARTED","delivery":"' .. token .. '","id":' .. qid .. ',"task":' .. task ..
    ',"node":' .. node .. ',"startedAt":' .. startedAt .. ',"attempt":' .. attempt .. '}') or ""
  local edata = withEvents and ('{"id":' .. qid .. ',"task":' .. task .. ',"node":' .. node .. ',"attempt":' .. attempt .. '}') or ""
  -- A notice's job runs already: even when the check fails, it is recorded as it ends (the node stops it).
  local key = ARGV[3] .. id
  local verdict, keep = "ok", false
  if expires ~= "" and tonumber(expires) < nowMs() then
    verdict = "expired"
  elseif record ~= "" then
    local previous = redis.call("set", key, record, "PX", ttl, "GET")
    local state = stateOf(previous)
    if state and FINAL[state] then
      redis.call("set", key, previous, "PX", ttl)
      verdict, keep = state == "REVOKED" and "revoked" or "over", true
    elseif state == "STARTED" and (revokeRequested(previous) or redis.call("zscore", KEYS[8], id)) then
      verdict = "revoked"
    end
  elseif redis.call("zscore", KEYS[8], id) or revokedFlag(redis.call("hget", KEYS[2], id)) then
    -- Results off: no record to check. The set, or the flag revoke.lua left on the job's record
    -- (it outlasts the set, which is bounded by count and age).
    verdict = "revoked"
  end
  if verdict == "ok" or not waits then
    if edata ~= "" then event("task-started", edata) end
  else
    redis.call("lrem", KEYS[1], -1, entryOf(token, id))
    -- A chord member released here never runs: its chord fails (lib/plan.lua).
    if not keep then memberNeverRuns(redis.call("hget", KEYS[2], id), id, task, verdict, string.sub(ARGV[3], 1, -8), KEYS[3], ARGV[2], ttl, ARGV[3], withEvents) end
    redis.call("hdel", KEYS[2], id)
    if not keep and record ~= "" then
      redis.call("set", key, revokedRecord(cjson.encode(id), task, verdict), "PX", ttl)
      redis.call("publish", key, "revoked")
    end
    if not keep and edata ~= "" then
      event("task-revoked", '{"id":' .. cjson.encode(id) .. ',"task":' .. task .. ',"reason":"' .. verdict .. '"' ..
        (verdict == "expired" and ',"expired":true}' or '}'))
    end
  end
  out[#out + 1] = verdict
end

local function settle(id, outcome, result, etype, edata, record, delay)
  if outcome ~= "retry" and result ~= "" then redis.call("publish", ARGV[3] .. id, outcome) end
  if outcome == "success" or outcome == "revoked" then
    redis.call("hdel", KEYS[2], id)
  elseif outcome == "retry" then
    redis.call("hset", KEYS[2], id, record)
    if delay > 0 then
      local due = nowMs() + delay
      redis.call("zadd", KEYS[5], due, id)
      local head = redis.call("zrange", KEYS[5], 0, 0)
      if head[1] == id then redis.call("publish", KEYS[6], tostring(due)) end
    else
      pushWaiting(KEYS[4], record, id, false)
    end
  else
    redis.call("hset", KEYS[2], id, record)
    redis.call("zadd", KEYS[7], nowMs(), id)
  end
  event(etype, edata)
end

-- Redis does not roll a failed script back: if a key is broken (another type), the delivery being
-- recorded gets its `active` entry back (still owned, so the node retries it) and its result record
-- what it was before, so the retried call finds the job as it was; the error says why.
local held, undoKey, undoValue
local function recordAll()
  for i = 8 + starts * 7, #ARGV, 9 do
    local id, token, outcome, result, etype, edata, record = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
    local delay = tonumber(ARGV[i + 7])
    local plan = ARGV[i + 8]
    local key = ARGV[3] .. id
    local code = 1
    -- From the tail: jobs are taken at the head, so the oldest (usually finished first) are near the tail.
    held, undoKey, undoValue = nil, nil, nil
    local entry = entryOf(token, id)
    if redis.call("lrem", KEYS[1], -1, entry) == 1 then
      held = entry
      -- Rare (revoked while it ran): what it records instead is built only then.
      local function revokeInstead()
        local qid = cjson.encode(id)
        local task = string.match(edata, '"task":("[^"]*")') or '"<unknown>"'
        outcome, etype = "revoked", (etype ~= "" and "task-revoked" or "")
        result = result ~= "" and revokedRecord(qid, task, "revoked") or ""
        edata = '{"id":' .. qid .. ',"task":' .. task .. ',"reason":"revoked"}'
      end
      -- Revoked while it ran: no further attempt.
      if outcome == "retry" and redis.call("zscore", KEYS[8], id) then revokeInstead() end
      if result ~= "" then
        local previous = redis.call("set", key, result, "PX", ttl, "GET")
        undoKey, undoValue = key, previous
        local state = stateOf(previous)
        if state and FINAL[state] then
          redis.call("set", key, previous, "PX", ttl)
          redis.call("hdel", KEYS[2], id)
          code = 2
        elseif outcome == "retry" and revokeRequested(previous) then
          revokeInstead()
          redis.call("set", key, result, "PX", ttl)
        end
      end
      if code == 1 then
        -- Checked before anything is written (see lib/plan.lua): a broken key fails the call whole.
        if plan ~= "" and outcome ~= "retry" then plan = checkPlan(plan) end
        settle(id, outcome, result, etype, edata, record, delay)
        -- A retry's plan is for the case it became a revocation here (its chord fails); a retry sends nothing.
        if plan ~= "" and outcome ~= "retry" then applyPlan(plan, KEYS[3], ARGV[2], ttl, ARGV[3], withEvents) end
      end
    elseif outcome == "success" then
      local previous = result ~= "" and redis.call("get", key) or nil
      local state = stateOf(previous)
      -- A job with follow-ups is left to its re-delivered copy (or to the failure the stall check
      -- recorded, errbacks and chord included): its links must not run beside those, or twice.
      if plan ~= "" or (state and FINAL[state] and string.sub(previous, 1, #STALLED) ~= STALLED) then
        code = 0
      else
        code = 3
        if result ~= "" then redis.call("set", key, result, "PX", ttl) end
        -- A re-delivered copy that has not started yet must not run: withdraw it.
        local raw = redis.call("hget", KEYS[2], id)
        redis.call("lrem", waitingListOf(KEYS[4], raw), 0, id)
        redis.call("zrem", KEYS[7], id)
        settle(id, outcome, result, etype, edata, record, delay)
      end
    else
      code = 0
    end
    out[#out + 1] = code
  end
end
local ok, err = pcall(recordAll)
if not ok then
  if held then redis.call("lpush", KEYS[1], held) end
  if undoKey then
    if undoValue then redis.call("set", undoKey, undoValue, "PX", ttl) else redis.call("del", undoKey) end
  end
  return redis.error_reply(type(err) == "table" and tostring(err.err) or tostring(err))
end
return out
