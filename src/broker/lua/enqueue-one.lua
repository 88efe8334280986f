--[[ enqueue-one: enqueue.lua for the commonest send — one job, normal priority, runnable now, an id
taskq chose, no task-sent event — with only the keys and arguments that needs and without the shared
helpers (a delay() awaited in a loop pays a round trip each time: every argument and line counts).
KEYS[1] <prefix>:<queue>:jobs     HASH id → record
KEYS[2] <prefix>:<queue>:waiting  LIST
ARGV[1] id
ARGV[2] record JSON
returns 1, or 0 when a job with that id exists already (it is left unchanged)
]]
if redis.call("hsetnx", KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call("lpush", KEYS[2], ARGV[1])
return 1
