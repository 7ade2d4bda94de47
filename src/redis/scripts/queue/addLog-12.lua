-- addLog-12: appends a line to an active job's log if the caller's attempt is current.
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[5] id   ARGV[6] token   ARGV[7] the line
-- Returns: 1 recorded, 0 lease lost.
local id = ARGV[5]
if not owns(id, ARGV[6]) then return 0 end
redis.call('RPUSH', logsKey(id), ARGV[7])
return 1
