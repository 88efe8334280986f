--[[ requeue: give a delivery a worker holds back to the front of its queue, at its priority (shutdown:
a job aborted or never started) — only while the delivery still owns the job, so a job another worker
took meanwhile (after a stall) is not duplicated. The result record is left as it is (STARTED): the
next delivery overwrites it.
KEYS[1] <prefix>:<queue>:active   LIST delivery entries (lib/common.lua)
KEYS[2] <prefix>:<queue>:waiting  LIST (and :high / :low beside it)
KEYS[3] <prefix>:<queue>:jobs     HASH id → record (for its priority)
ARGV[1] job id
ARGV[2] delivery token
returns 1 if re-queued, 0 if the delivery no longer owned the job
]]
if redis.call("lrem", KEYS[1], 1, entryOf(ARGV[2], ARGV[1])) == 0 then return 0 end
pushWaiting(KEYS[2], redis.call("hget", KEYS[3], ARGV[1]), ARGV[1], true)
return 1
