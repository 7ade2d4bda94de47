-- extendLeases-12: renews the leases of a worker's active jobs.
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[5] lease ms   then id, token pairs.
-- Returns: the ids whose lease is no longer the caller's.
local lost = {}
local expiry = NOW + tonumber(ARGV[5])
for i = 6, #ARGV, 2 do
  local id = ARGV[i]
  if owns(id, ARGV[i + 1]) and redis.call('ZSCORE', K_ACTIVE, id) then
    redis.call('ZADD', K_ACTIVE, 'XX', expiry, id)
  else
    lost[#lost + 1] = id
  end
end
return lost
