-- setPaused-12: pauses (ARGV[5] '1') or resumes ('0') the queue on every instance.
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[6] the queue name (for the event).
-- Returns: 1 if the state changed, else 0.
local was = redis.call('HGET', K_META, 'paused') == '1'
local now = ARGV[5] == '1'
redis.call('HSET', K_META, 'paused', ARGV[5])
redis.call('PUBLISH', CHANNEL, now and 'p' or 'r')
if was == now then return 0 end
if listens(now and 'paused' or 'resumed') then emit(now and 'paused' or 'resumed', '{"queueName":' .. str(ARGV[6]) .. '}') end
return 1
