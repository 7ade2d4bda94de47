-- takeJobs-12: moves up to ARGV[5] waiting jobs (prioritized first) to active with a lease
-- of ARGV[6] ms. Nothing while the queue is paused. ARGV[7]: the caller's idle entry
-- ('' = none), registered if fewer jobs than asked were waiting.
-- KEYS, ARGV[1..4]: see _common.lua.
-- Returns: id, name, data, attemptsMade, opts, token for each job, flat.
local out = {}
take(tonumber(ARGV[5]), tonumber(ARGV[6]), out, ARGV[7])
return out
