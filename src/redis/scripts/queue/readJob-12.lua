-- readJob-12: one job as stored.
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[5] id
-- Returns: { hash fields and values flat, paused '1'/'0', log lines } or {} if absent.
local k = jobKey(ARGV[5])
local h = redis.call('HGETALL', k)
if #h == 0 then return {} end
return { h, isPaused() and '1' or '0', redis.call('LRANGE', logsKey(ARGV[5]), 0, -1) }
