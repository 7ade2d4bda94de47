-- countJobs-12: the counts of getJobCounts, read in one step.
-- KEYS, ARGV[1..4]: see _common.lua.
-- Returns: { waiting (incl. paused), active, delayed, completed, failed, paused 1/0 }.
return { waitingCount(), redis.call('ZCARD', K_ACTIVE), redis.call('ZCARD', K_DELAYED),
  redis.call('ZCARD', K_COMPLETED), redis.call('ZCARD', K_FAILED), isPaused() and 1 or 0 }
