-- removeSchedule-12: removes a repeating schedule.
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[5] the schedule number
-- Returns: 1 removed, 0 no such schedule.
local sid = ARGV[5]
redis.call('ZREM', K_SCHEDNEXT, sid)
return redis.call('HDEL', K_SCHED, sid, sid .. ':n') > 0 and 1 or 0
