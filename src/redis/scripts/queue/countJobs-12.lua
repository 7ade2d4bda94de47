-- countJobs-12: the counts of getJobCounts, read in one step.
-- KEYS, ARGV[1..4]: see _common.lua.
-- Returns: { waiting (incl. paused), active, delayed, completed, failed, paused 1/0 }.
return { waitingCount(), redis.call('HLEN', K_ACTIVE), redis.call('ZCARD', K_DELAYED),
  redis.call('LLEN', K_COMPLETED), redis.call('LLEN', K_FAILED), isPaused() and 1 or 0 }
