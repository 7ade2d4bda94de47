-- moveStalled-12: the stall checker, single-flight across instances: at most one run per
-- ARGV[6] ms. Jobs whose lease expired go back to waiting (they run again), or to failed
-- once they stalled more than ARGV[5] times.
-- KEYS, ARGV[1..4]: see _common.lua.
-- Returns: the number of stalled jobs found (-1: another instance checked just now).
if not redis.call('SET', K_STALL, '1', 'PX', ARGV[6], 'NX') then return -1 end
local before = waitingCount()
local max = tonumber(ARGV[5])
-- Active jobs are bounded by the workers' concurrency, so reading all leases is cheap.
local leases = redis.call('HGETALL', K_ACTIVE)
local ids = {}
for i = 1, #leases, 2 do
  if (tonumber(string.match(leases[i + 1], '^%d+')) or 0) <= NOW then ids[#ids + 1] = leases[i] end
end
for _, id in ipairs(ids) do
  local k = jobKey(id)
  redis.call('HDEL', K_ACTIVE, id)
  if redis.call('EXISTS', k) == 1 then
    local stalls = redis.call('HINCRBY', k, 'stalls', 1)
    local name = redis.call('HGET', k, 'name')
    redis.call('HDEL', k, 'tok')
    if listens('stalled') then emit('stalled', '{"jobId":' .. str(id) .. '}') end
    if stalls > max then
      local reason = 'job ' .. id .. ' stalled more than the allowed ' .. max .. ' times'
      redis.call('HSET', k, 'state', 'failed', 'fon', NOW, 'fr', reason)
      if listens('failed') then emit('failed', '{"jobId":' .. str(id) .. ',"name":' .. str(name) .. ',"failedReason":' .. str(reason) .. ',"attemptsMade":' .. (redis.call('HGET', k, 'made') or 0) .. '}') end
      finishInto(K_FAILED, id, keepOf(k, 'f'))
    else
      makeWaiting(id, name)
    end
  end
end
wakeIfFilled(before)
return #ids
