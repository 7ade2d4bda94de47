-- fireSchedule-12: fires schedule ARGV[5] once for its tick ARGV[6]: only the first
-- instance whose tick still matches adds the job (one fire per tick across instances).
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[7] next fire ('' = none)   ARGV[8] limit ('' =
-- none)   ARGV[9..14] the job (see addJob).
-- Returns: the job id, or false when the tick was fired already (or the schedule is gone).
local sid = ARGV[5]
local at = redis.call('ZSCORE', K_SCHEDNEXT, sid)
if not at or tonumber(at) ~= tonumber(ARGV[6]) then return false end
local before = waitingCount()
local fired = redis.call('HINCRBY', K_SCHED, sid .. ':n', 1)
if ARGV[7] == '' or (ARGV[8] ~= '' and fired >= tonumber(ARGV[8])) then
  redis.call('HDEL', K_SCHED, sid, sid .. ':n')
  redis.call('ZREM', K_SCHEDNEXT, sid)
else
  redis.call('ZADD', K_SCHEDNEXT, ARGV[7], sid)
end
local id = addJob(9, nextSeq(1))
flushAdded()
wakeIfFilled(before)
return id
