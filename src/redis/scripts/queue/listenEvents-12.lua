-- listenEvents-12: marks events as listened to until ARGV[5] (ms), so scripts write them.
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[6..] event names
-- Returns: the id of the newest entry of the events stream ('0-0' if none): reading
-- starts after it.
for i = 6, #ARGV do redis.call('HSET', K_LISTEN, ARGV[i], ARGV[5]) end
local last = redis.call('XREVRANGE', K_EVENTS, '+', '-', 'COUNT', 1)
if #last == 0 then return '0-0' end
return last[1][1]
