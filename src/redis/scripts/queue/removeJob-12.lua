-- removeJob-12: removes a job in any state (an active one's worker is refused later).
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[5] the job id.
-- Returns: 1 removed, 0 no such job.
local id = ARGV[5]
local k = jobKey(id)
if redis.call('EXISTS', k) == 0 then return 0 end
redis.call('LREM', K_WAIT, 1, id)
for _, set in ipairs({ K_PRIO, K_ACTIVE, K_DELAYED, K_COMPLETED, K_FAILED }) do
  redis.call('ZREM', set, id)
end
removeJobKeys(id)
return 1
