-- addJobs-12: adds jobs (enqueue, enqueueBulk) in order, all or nothing.
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[5] number of jobs, then 12 arguments per job
-- (see addJob).
-- Returns: the ids in order (an existing jobId returns that id and adds nothing).
local before = waitingCount()
local n = tonumber(ARGV[5])
local ids = {}
for j = 0, n - 1 do
  ids[#ids + 1] = addJob(6 + j * JOB_ARGS)
end
wakeIfFilled(before)
return ids
