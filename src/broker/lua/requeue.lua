--[[ requeue: give a delivery a worker holds back to the front of its queue, at its priority (shutdown:
a job aborted or never started) — only while the delivery still owns the job, so a job another worker
took meanwhile (after a stall) is not duplicated. The result record is left as it is (STARTED): the
next delivery overwrites it.
KEYS[1] <prefix>:<queue>:active   LIST delivery entries (lib/common.lua)
KEYS[2] <prefix>:<queue>:waiting  LIST (and :high / :low beside it)
KEYS[3] <prefix>:<queue>:jobs     HASH id → record (for its priority)
ARGV[1] job id
ARGV[2] delivery token
ARGV[3] "1" when the delivery's worker was lost (a pool child died under it): the record's stall count
        goes up, so a job that keeps killing its worker ends (the finish of a later delivery sees it)
returns 1 if re-queued, 0 if the delivery no longer owned the job
]]
local entry = entryOf(ARGV[2], ARGV[1])
if redis.call("lrem", KEYS[1], 1, entry) == 0 then return 0 end
-- A broken key (another type) must not lose the job: its entry goes back to `active`, where the
-- stall check re-delivers it once this node is gone.
local ok, err = pcall(function()
  local raw = redis.call("hget", KEYS[3], ARGV[1])
  local n = ARGV[3] == "1" and raw and tonumber(string.match(raw, '^{"stalls":(%d+),'))
  if n then
    raw = '{"stalls":' .. (n + 1) .. ',' .. string.sub(raw, string.len('{"stalls":' .. n .. ',') + 1)
    redis.call("hset", KEYS[3], ARGV[1], raw)
  end
  pushWaiting(KEYS[2], raw, ARGV[1], true)
end)
if not ok then
  redis.call("lpush", KEYS[1], entry)
  return redis.error_reply(type(err) == "table" and tostring(err.err) or tostring(err))
end
return 1
