--[[ apply: a producer sends a canvas — every job and chord of its plan, atomically (lib/plan.lua).
KEYS[1] <prefix>:events   STREAM
ARGV[1] events MAXLEN (approximate)
ARGV[2] chord TTL, ms (the results' TTL)
ARGV[3] plan JSON
The queues' keys are in the plan (a canvas spans queues); taskq runs on one Redis, not a cluster.
returns 1
]]
applyPlan(ARGV[3], KEYS[1], ARGV[1], ARGV[2], "", false)
return 1
