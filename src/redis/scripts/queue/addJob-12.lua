-- addJob-12: adds one job given without options: a lone enqueue, the common case and the
-- one an idle worker's pickup latency hangs on. Does what addJobs does for such a job with
-- less code to create and run: an idle worker gets it at once (handFresh); when jobs
-- already wait, idle workers (normally none then) are told to take (`w`) instead of being
-- served here, which would need all of take().
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[5] the caller's idle entry ('' = none)
-- ARGV[6] '1', then the job's 6 arguments as in addJobs (opts '', delay 0, no options).
-- Returns: as addJobs.
readAddFlags()
local empty = nothingWaits()
local open = not isPaused()
local own = {}
if empty and open then fresh = { self = ARGV[5], own = own } end
local id = addJob(7, nextSeq(1))
flushAdded()
if not empty and open and redis.call('ZCARD', K_IDLE) > 0 then
  redis.call('PUBLISH', CHANNEL, 'w')
end
wakeIfFilled(empty and 0 or 1)
return { id, own }
