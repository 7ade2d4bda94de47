-- updateProgress-12: records an active job's progress if the caller's attempt is current.
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[5] id   ARGV[6] token   ARGV[7] progress (JSON)
-- Returns: 1 recorded, 0 lease lost.
local id = ARGV[5]
if not owns(id, ARGV[6]) then return 0 end
redis.call('HSET', jobKey(id), 'prog', ARGV[7])
if listens('progress') then emit('progress', '{"jobId":' .. str(id) .. ',"progress":' .. ARGV[7] .. ',"data":' .. ARGV[7] .. '}') end
return 1
