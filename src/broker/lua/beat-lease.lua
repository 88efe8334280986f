--[[ beat-lease: the beat leader's lease, held by a token (one per beat process).
KEYS[1] <prefix>:beat:leader   STRING token, PX lease
ARGV[1] token   ARGV[2] "acquire" | "renew" | "release"   ARGV[3] lease ms
returns 1 when this token holds the lease afterwards (released: 1 if it held it); otherwise 0, or for
acquire minus the ms the other holder's lease has left (so a standby wakes when it runs out)
acquire takes a free lease, or renews one this token holds; renew only extends this token's lease;
release drops it only if this token holds it (a beat never deletes another's lease).
]]
local holder = redis.call("get", KEYS[1])
if ARGV[2] == "release" then
  if holder == ARGV[1] then redis.call("del", KEYS[1]) return 1 end
  return 0
end
if holder == ARGV[1] then
  redis.call("pexpire", KEYS[1], ARGV[3])
  return 1
end
if ARGV[2] == "acquire" then
  if not holder then
    redis.call("set", KEYS[1], ARGV[1], "PX", ARGV[3])
    return 1
  end
  return -math.max(1, redis.call("pttl", KEYS[1]))
end
return 0
