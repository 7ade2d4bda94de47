-- extendLeases-12: renews the leases of a worker's active jobs.
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[5] lease ms   then id, token pairs.
-- Returns: the ids whose lease is no longer the caller's.
local lost = {}
local expiry = NOW + tonumber(ARGV[5])
for i = 6, #ARGV, 2 do
  local id = ARGV[i]
  local _, tok, keepC, failedBefore = parseLease(redis.call('HGET', K_ACTIVE, id))
  if tok and tok == ARGV[i + 1] then
    redis.call('HSET', K_ACTIVE, id, leaseOf(int(expiry), tok, keepC, failedBefore == '1'))
  else
    lost[#lost + 1] = id
  end
end
return lost
