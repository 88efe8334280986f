--[[ progress: a running delivery reports progress. The STARTED record gets the value (producers read
it) only while it is this delivery's own STARTED record: never a final state, never another
delivery's record. A revoke request flag on the record is kept.
KEYS[1] <prefix>:result:<id>   STR
KEYS[2] <prefix>:events        STREAM
ARGV[1] delivery token
ARGV[2] the new STARTED record JSON, starting {"state":"STARTED","delivery":"<token>",
ARGV[3] result TTL, ms
ARGV[4] task-progress event data JSON ("" = events off)
ARGV[5] events MAXLEN (approximate)
returns 1 if recorded, 0 if the job is over or no longer this delivery's (nothing written)
]]
local current = redis.call("get", KEYS[1])
local prefix = '{"state":"STARTED","delivery":"' .. ARGV[1] .. '",'
if current then
  if string.sub(current, 1, #prefix) ~= prefix then return 0 end
  local record = ARGV[2]
  if revokeRequested(current) then record = prefix .. '"revoked":true,' .. string.sub(record, #prefix + 1) end
  redis.call("set", KEYS[1], record, "PX", ARGV[3])
end
-- No record at all: results are off for this job (ignoreResult); the event still tells.
if ARGV[4] ~= "" then emit(KEYS[2], ARGV[5], "task-progress", ARGV[4]) end
return 1
