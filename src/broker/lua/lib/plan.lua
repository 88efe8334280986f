--[[ plan: carries out a canvas plan (core/canvas/plan.ts) — for apply.lua (a producer sends a
canvas) and for finish.lua (what follows a step, sent with the step's recorded outcome, once).
A plan is JSON: {"j": jobs, "c": chords, "m": member value, "f": member failure}; every value in it is
a string, records are stored as given (never re-encoded).
  job    [queue key base "<prefix>:<queue>:", priority, id, record, due ms ("0" = now), task-sent event ("" = none)]
  chord  [key, size, body's base, priority, id, task name JSON, record head, record tail, "1" if the
          values go between head and tail ("0": the head is the whole record), countdown ms, eta ms,
          relative expiry ms ("0" = none; counted from when the body is sent), errbacks ("" or JSON
          [[base, priority, id, head, tail]…]: sent with the body's failure between head and tail)]
  m      [chord key, index, value JSON]: a member succeeded; the last one sends the body, once
  f      [chord key, error JSON]: a member failed for good; the body fails (once) with that error
A chord is a HASH (n, b, p, id, task, h, t, m, d, a, x, e, and `fired` once its body went or failed) with its
members' values in <key>:r (index → value); both expire with the results.
]]
-- The chord a job's end counts for: its own membership, or — a chain in a chord's header — that of
-- the chain's last step (or of the body of a chord ending it), which never runs if this job fails or
-- never starts. `n` is a job's `data` or a frozen node (core/canvas/frozen.ts).
local function chordAhead(n, depth)
  depth = depth or 0
  if type(n) ~= "table" or depth > 64 then return nil end
  if n.body ~= nil then return chordAhead(n.body, depth + 1) end
  if n.group ~= nil then return nil end
  if type(n.chord) == "table" and type(n.chord.id) == "string" then return n.chord end
  if type(n.chain) == "table" and #n.chain > 0 then return chordAhead(n.chain[#n.chain], depth + 1) end
  return nil
end

local function enqueueJob(base, priority, id, record, due, edata, eventsKey, maxlen)
  if redis.call("hsetnx", base .. "jobs", id, record) == 0 then return 0 end
  local dueMs = tonumber(due) or 0
  if dueMs > 0 then
    local delayed = base .. "delayed"
    redis.call("zadd", delayed, dueMs, id)
    local head = redis.call("zrange", delayed, 0, 0)
    if head[1] == id then redis.call("publish", base .. "earlierDelayed", due) end
  else
    local waiting = base .. "waiting"
    if priority == "high" or priority == "low" then
      redis.call("lpush", waiting .. ":" .. priority, id)
      if redis.call("llen", waiting) == 0 then redis.call("lpush", waiting, "~wake") end
    else
      redis.call("lpush", waiting, id)
    end
  end
  if edata ~= "" then emit(eventsKey, maxlen, "task-sent", edata) end
  return 1
end

local function chordMember(m, eventsKey, maxlen, ttl)
  local key, index, value = m[1], m[2], m[3]
  local n = tonumber(redis.call("hget", key, "n"))
  if not n or redis.call("hexists", key, "fired") == 1 then return end
  local values = key .. ":r"
  redis.call("hset", values, index, value)
  if redis.call("hlen", values) < n then
    redis.call("pexpire", values, ttl)
    redis.call("pexpire", key, ttl)
    return
  end
  redis.call("hset", key, "fired", "1")
  local all = {}
  for from = 0, n - 1, 1000 do
    local fields = {}
    for i = from, math.min(from + 999, n - 1) do fields[#fields + 1] = i end
    local got = redis.call("hmget", values, unpack(fields))
    for i = 1, #got do all[#all + 1] = got[i] end
  end
  local b = redis.call("hmget", key, "b", "p", "id", "h", "t", "m", "d", "a", "x")
  local record = b[6] == "1" and (b[4] .. "[" .. table.concat(all, ",") .. "]" .. b[5]) or b[4]
  local delay, eta, expires = tonumber(b[7]) or 0, tonumber(b[8]) or 0, tonumber(b[9]) or 0
  local due = 0
  if eta > nowMs() then due = eta elseif delay > 0 then due = nowMs() + delay end
  if expires > 0 then
    -- Counted from now: into the options, after the version (take.lua reads it from there).
    local lead = '{"stalls":0,"options":{"v":1,'
    if string.sub(record, 1, #lead) == lead then
      record = lead .. '"expires":' .. string.format("%d", nowMs() + expires) .. ',' .. string.sub(record, #lead + 1)
    end
  end
  enqueueJob(b[1], b[2], b[3], record, string.format("%d", due), "", eventsKey, maxlen)
  redis.call("del", values)
  redis.call("pexpire", key, ttl)
end

local function chordFailed(f, eventsKey, maxlen, ttl, resultPrefix, withEvents)
  local key, err = f[1], f[2]
  if redis.call("exists", key) == 0 or redis.call("hsetnx", key, "fired", "failed") == 0 then return end
  local b = redis.call("hmget", key, "id", "task")
  local qid = cjson.encode(b[1])
  local rkey = resultPrefix .. b[1]
  redis.call("set", rkey, '{"state":"FAILURE","id":' .. qid .. ',"task":' .. b[2] .. ',"doneAt":' .. nowMs() ..
    ',"error":' .. err .. ',"reason":"chord member failed"}', "PX", ttl)
  redis.call("publish", rkey, "failure")
  if withEvents then
    emit(eventsKey, maxlen, "task-failed", '{"id":' .. qid .. ',"task":' .. b[2] .. ',"error":' .. err .. ',"reason":"chord member failed"}')
  end
  -- The body's errbacks, given its failure as a failed task's are.
  local errbacks = redis.call("hget", key, "e")
  if errbacks and errbacks ~= "" then
    local failure = '{"id":' .. qid .. ',"task":' .. b[2] .. ',"error":' .. err .. '}'
    for _, e in ipairs(cjson.decode(errbacks)) do
      enqueueJob(e[1], e[2], e[3], e[5] == "" and e[4] or (e[4] .. failure .. e[5]), "0", "", eventsKey, maxlen)
    end
  end
  redis.call("del", key .. ":r")
  redis.call("pexpire", key, ttl)
  -- A chord in another chord's header (or ending a chain there): its body never runs, so the outer
  -- chord fails too. Its body's record says which (its own membership, or its chain's).
  local parts = redis.call("hmget", key, "h", "t", "m")
  local ok, rec = pcall(cjson.decode, parts[3] == "1" and ((parts[1] or "") .. "[]" .. (parts[2] or "")) or (parts[1] or ""))
  local outer = ok and type(rec) == "table" and chordAhead(rec.data)
  if outer then
    local message = "chord member " .. b[1] .. " (" .. cjson.decode(b[2]) .. ", index " .. tostring(outer.i) .. ") failed: ChordError: " ..
      tostring((cjson.decode(err) or {}).message)
    -- Best effort (a hand-broken outer key must not undo the inner chord's failure, recorded above).
    pcall(chordFailed, {string.sub(resultPrefix, 1, -8) .. "chord:" .. outer.id, cjson.encode({name = "ChordError", message = message})}, eventsKey, maxlen, ttl, resultPrefix, withEvents)
  end
end

-- A chord member that will never run — revoked or expired before it started — fails its chord as a
-- failed member does (Celery: a revoked header task fails the body with a ChordError). `raw` is its
-- job record, `task` its name as JSON, `why` "revoked" or "expired", `prefix` the key prefix with its
-- colon. Best effort: a broken chord key (another type) leaves the chord waiting, never the release
-- of the job half-done. Once per chord (chordFailed).
local function memberNeverRuns(raw, id, task, why, prefix, eventsKey, maxlen, ttl, resultPrefix, withEvents)
  if not raw or not string.find(raw, '"chord":{"id":"', 1, true) then return end
  local ok, rec = pcall(cjson.decode, raw)
  local chord = ok and type(rec) == "table" and chordAhead(rec.data)
  if not chord then return end
  local okName, name = pcall(cjson.decode, task)
  local message = "chord member " .. id .. " (" .. (okName and tostring(name) or task) .. ", index " .. tostring(chord.i) ..
    ") failed: TaskRevokedError: " .. why
  pcall(chordFailed, {prefix .. "chord:" .. chord.id, cjson.encode({name = "ChordError", message = message})}, eventsKey, maxlen, ttl, resultPrefix, withEvents)
end

-- Redis does not roll a failed script back: before anything is written, every key a plan writes at
-- once must be of its type (or absent), so a broken key fails the call before it changed anything.
-- Each key once per script call (a chord's members finishing in one batch, a canvas on one queue).
local checkedKeys = {}
local function checkKey(key, want)
  if checkedKeys[key] then return end
  checkedKeys[key] = true
  local t = redis.call("type", key)
  t = type(t) == "table" and t.ok or t
  if t ~= "none" and t ~= want then
    error("WRONGTYPE the key " .. key .. " holds a " .. t .. ", not a " .. want .. ": a follow-up of this job cannot be stored there")
  end
end

local function checkPlan(text)
  local plan = cjson.decode(text)
  for _, j in ipairs(plan.j or {}) do
    for _, k in ipairs({{"jobs", "hash"}, {"waiting", "list"}, {"waiting:high", "list"}, {"waiting:low", "list"}, {"delayed", "zset"}}) do
      checkKey(j[1] .. k[1], k[2])
    end
  end
  for _, c in ipairs(plan.c or {}) do
    checkKey(c[1], "hash")
    checkKey(c[1] .. ":r", "hash")
  end
  if plan.m then
    checkKey(plan.m[1], "hash")
    checkKey(plan.m[1] .. ":r", "hash")
  end
  if plan.f then checkKey(plan.f[1], "hash") end
  return plan
end

local function applyPlan(plan, eventsKey, maxlen, ttl, resultPrefix, withEvents)
  if type(plan) == "string" then plan = checkPlan(plan) end
  for _, c in ipairs(plan.c or {}) do
    redis.call("del", c[1] .. ":r")
    redis.call("hset", c[1], "n", c[2], "b", c[3], "p", c[4], "id", c[5], "task", c[6], "h", c[7], "t", c[8], "m", c[9], "d", c[10], "a", c[11], "x", c[12], "e", c[13])
    redis.call("pexpire", c[1], ttl)
  end
  for _, j in ipairs(plan.j or {}) do enqueueJob(j[1], j[2], j[3], j[4], j[5], j[6], eventsKey, maxlen) end
  if plan.m then chordMember(plan.m, eventsKey, maxlen, ttl) end
  if plan.f then chordFailed(plan.f, eventsKey, maxlen, ttl, resultPrefix, withEvents) end
end
