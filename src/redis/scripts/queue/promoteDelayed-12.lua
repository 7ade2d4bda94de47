-- promoteDelayed-12: moves due delayed jobs to waiting (the same job id moves on) and hands
-- them to idle workers (see pushToIdle) before waking the others.
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[5] the caller's idle entry ('' = none)
-- Returns: { due time of the next delayed job or -1, next schedule fire time or -1, the jobs
-- taken for the caller's own idle worker, as in takeJobs }.
local before = waitingCount()
local due = redis.call('ZRANGEBYSCORE', K_DELAYED, '-inf', NOW, 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
  redis.call('ZREM', K_DELAYED, id)
  local k = jobKey(id)
  if redis.call('EXISTS', k) == 1 then
    redis.call('HDEL', k, 'due')
    makeWaiting(id, redis.call('HGET', k, 'name'))
  end
end
local own = {}
pushToIdle(ARGV[5], own)
wakeIfFilled(before)
local nd = redis.call('ZRANGE', K_DELAYED, 0, 0, 'WITHSCORES')
local ns = redis.call('ZRANGE', K_SCHEDNEXT, 0, 0, 'WITHSCORES')
return { tonumber(nd[2] or -1), tonumber(ns[2] or -1), own }
