-- removeJob-12: removes a job in any state (an active one's worker is refused later).
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[5] the job id.
-- Returns: 1 removed, 0 no such job.
local id = ARGV[5]
local k = jobKey(id)
if redis.call('EXISTS', k) == 0 then return 0 end
redis.call('LREM', K_WAIT, 1, id)
redis.call('ZREM', K_PRIO, id)
forgetCounts()
redis.call('ZREM', K_DELAYED, id)
redis.call('HDEL', K_ACTIVE, id)
-- Finished lists: O(n) in their length, as removing a finished job is rare.
redis.call('LREM', K_COMPLETED, 1, id)
redis.call('LREM', K_FAILED, 1, id)
removeJobKeys(id)
return 1
