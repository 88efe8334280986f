--[[ dead-purge: delete every job in a queue's dead-letter list, with its record.
KEYS[1] <prefix>:<queue>:dead  ZSET
KEYS[2] <prefix>:<queue>:jobs  HASH
returns the number of jobs deleted
]]
local ids = redis.call("zrange", KEYS[1], 0, -1)
for i = 1, #ids, 1000 do
  redis.call("hdel", KEYS[2], unpack(ids, i, math.min(i + 999, #ids)))
end
redis.call("del", KEYS[1])
return #ids
