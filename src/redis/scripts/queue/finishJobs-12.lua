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
-- The lease entries of all results in one read (in chunks: unpack is bounded).
local leases = {}
for c = 0, n - 1, CHUNK do
  local ids = {}
  for j = c, math.min(c + CHUNK, n) - 1 do ids[#ids + 1] = ARGV[9 + j * 4] end
  local v = redis.call('HMGET', K_ACTIVE, unpack(ids))
  for j = 1, #v do leases[c + j] = v[j] end
end
local seen = {}
for j = 0, n - 1 do
  local i = 9 + j * 4
  local id = ARGV[i]
  local _, tok, keepC, failedBefore = parseLease(leases[j + 1])
  -- An id twice in one call: only its first result counts.
  if tok ~= ARGV[i + 1] or seen[id] then
    lost[#lost + 1] = id
  else
    seen[id] = true
    if ARGV[i + 2] == '1' then
      complete(id, ARGV[i + 3], keepC, failedBefore)
    else
      failAttempt(id, ARGV[i + 3])
    end
  end
end
flushCompleted()
local out = {}
take(tonumber(ARGV[6]), tonumber(ARGV[5]), out, ARGV[7])
wakeIfFilled(before)
return { lost, out }
