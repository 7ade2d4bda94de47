-- releaseJobs-12: gives back jobs a worker took but never started (it is closing, or they
-- came beyond its free slots): they wait again, their start not counted, ahead of the
-- jobs waiting and in the order given, as they were taken before those.
-- KEYS, ARGV[1..4]: see _common.lua.   then id, token pairs, oldest first.
-- Returns: the number released.
local before = waitingCount()
local n = 0
local last = 5 + 2 * math.floor((#ARGV - 5) / 2)
for i = last, 5, -2 do
  local id = ARGV[i]
  if owns(id, ARGV[i + 1]) then
    redis.call('HDEL', K_ACTIVE, id)
    redis.call('HINCRBY', jobKey(id), 'made', -1)
    redis.call('HDEL', jobKey(id), 'tok')
    makeWaiting(id, redis.call('HGET', jobKey(id), 'name'), true)
    n = n + 1
  end
end
wakeIfFilled(before)
return n
