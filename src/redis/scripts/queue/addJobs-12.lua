-- addJobs-12: adds jobs (enqueue, enqueueBulk) in order, all or nothing.
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[5] the caller's idle entry ('' = none)
-- ARGV[6] number of jobs, then 6 arguments per job (see addJob).
-- Hands added jobs to idle workers (see handFresh, pushToIdle) before waking the others.
-- Emits: `waiting` (and `active` for jobs handed over) on the events stream; publishes the
-- handed jobs on their workers' channels and 'w' (or 'w' .. ARGV[5] when jobs were taken
-- for the caller, see wakeIfFilled) on the signal channel.
-- Returns: { the ids in order, joined by NUL (an existing jobId returns that id and adds
-- nothing), the jobs taken for the caller's own idle worker, as in takeJobs }.
readAddFlags()
local before = waitingCount()
local n = tonumber(ARGV[6])
local ids = {}
local own = {}
if before == 0 and not isPaused() then fresh = { self = ARGV[5], own = own } end
local seq = nextSeq(n)
local auto = 0
for j = 0, n - 1 do
  if ARGV[7 + j * JOB_ARGS] == '' then auto = auto + 1 end
end
reserveIds(auto)
for j = 0, n - 1 do
  ids[#ids + 1] = addJob(7 + j * JOB_ARGS, seq + j)
  -- unpack() has a stack limit: flush long runs of plain jobs as they grow.
  if #added >= 4000 then flushAdded() end
end
flushAdded()
pushToIdle(ARGV[5], own)
wakeIfFilled(before, #own > 0 and ARGV[5] or nil)
return { table.concat(ids, '\0'), own }
