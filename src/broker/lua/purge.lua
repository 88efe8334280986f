--[[ purge: delete every job waiting or delayed in a queue (not running ones), with their records.
KEYS[1] <prefix>:<queue>:waiting  LIST (and <waiting>:high, <waiting>:low)
KEYS[2] <prefix>:<queue>:delayed  ZSET
KEYS[3] <prefix>:<queue>:jobs     HASH
returns the number of jobs deleted
]]
local n = 0
for _, key in ipairs({KEYS[1], KEYS[1] .. ":high", KEYS[1] .. ":low", KEYS[2]}) do
  local ids
  if key ~= KEYS[2] then ids = redis.call("lrange", key, 0, -1) else ids = redis.call("zrange", key, 0, -1) end
  for i = 1, #ids, 1000 do
    redis.call("hdel", KEYS[3], unpack(ids, i, math.min(i + 999, #ids)))
  end
  for _, id in ipairs(ids) do if id ~= "~wake" then n = n + 1 end end
  redis.call("del", key)
end
return n
