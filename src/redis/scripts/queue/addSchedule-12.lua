-- addSchedule-12: stores a repeating schedule and its first fire time.
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[5] spec (JSON text)   ARGV[6] first fire (ms)
-- Returns: the schedule number (unique within the queue).
local id = redis.call('HINCRBY', K_META, 'sched', 1)
redis.call('HSET', K_SCHED, id, ARGV[5], id .. ':n', 0)
redis.call('ZADD', K_SCHEDNEXT, ARGV[6], id)
redis.call('PUBLISH', CHANNEL, 'd' .. ARGV[6])
return id
