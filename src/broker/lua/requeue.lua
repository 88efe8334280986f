--[[ requeue: give a job a worker holds back to the front of its queue (cold shutdown) — only if it is
still in `active`, so a job another worker took meanwhile (after a stall) is not duplicated.
KEYS[1] <prefix>:<queue>:active   LIST
KEYS[2] <prefix>:<queue>:waiting  LIST
ARGV[1] job id
returns 1 if re-queued, 0 if it was no longer in `active`
]]
if redis.call("lrem", KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call("rpush", KEYS[2], ARGV[1])
return 1
