-- finishJobs-12: records attempt results, then takes the next jobs in the same call.
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[5] lease ms for taken jobs   ARGV[6] how many
-- to take   ARGV[7] the caller's idle entry ('' = none; see takeJobs)   ARGV[8] number of
-- results, then per result: id, token, '1' ok / '0' failed, the return value (JSON text) or
-- the failure reason.
-- Returns: { ids whose attempt was no longer theirs (lease lost: refused), taken jobs as in
-- takeJobs }.
local before = waitingCount()
local lost = {}
local n = tonumber(ARGV[8])
for j = 0, n - 1 do
  local i = 9 + j * 4
  local id = ARGV[i]
  local h = redis.call('HMGET', jobKey(id), 'tok', 'state', 'name', 'keep', 'fr')
  if h[1] ~= ARGV[i + 1] or h[2] ~= 'active' then
    lost[#lost + 1] = id
  elseif ARGV[i + 2] == '1' then
    complete(id, ARGV[i + 3], h[3], h[4], h[5])
  else
    failAttempt(id, ARGV[i + 3])
  end
end
flushCompleted()
local out = {}
take(tonumber(ARGV[6]), tonumber(ARGV[5]), out, ARGV[7])
wakeIfFilled(before)
return { lost, out }
