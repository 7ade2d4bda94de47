-- releaseJobs-12: gives back jobs a closing worker took but never started: they wait
-- again (their start is not counted).
-- KEYS, ARGV[1..4]: see _common.lua.   then id, token pairs.
-- Returns: the number released.
local before = waitingCount()
local n = 0
for i = 5, #ARGV, 2 do
  local id = ARGV[i]
  if owns(id, ARGV[i + 1]) then
    redis.call('HDEL', K_ACTIVE, id)
    redis.call('HINCRBY', jobKey(id), 'made', -1)
    redis.call('HDEL', jobKey(id), 'tok')
    makeWaiting(id, redis.call('HGET', jobKey(id), 'name'))
    n = n + 1
  end
end
wakeIfFilled(before)
return n
