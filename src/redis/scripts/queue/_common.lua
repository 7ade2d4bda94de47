-- Shared head of every queue script (prepended by src/redis/scripts.rs; docs/REDIS.md has
-- the layout). Every queue script takes the same 12 keys of one queue, all in one hash slot
-- (`{prefix}:queue:{name}:*`, the braces around the escaped queue name are the hash tag):
-- KEYS[1] meta (hash: paused, id, seq, tok, pc, sched counters)   KEYS[2] wait (list)
-- KEYS[3] prio (zset, score priority*2^32 +/- order)   KEYS[4] active (hash: id -> lease
-- expiry ms)   KEYS[5] delayed (zset, due ms)   KEYS[6] completed, KEYS[7] failed (lists,
-- in finish order)
-- KEYS[8] events (stream)   KEYS[9] listen (hash: event name -> listener expiry ms)
-- KEYS[10] sched (hash: schedule id -> spec JSON, id..':n' -> fires)
-- KEYS[11] schedNext (zset, next fire ms)   KEYS[12] stall (single-flight lock of the checker)
-- Job hashes live at ARGV[1] .. 'job:' .. id and logs at ARGV[1] .. 'logs:' .. id: built
-- from the same prefix, so they share the slot.
-- ARGV[1] key prefix of the queue   ARGV[2] now (ms)   ARGV[3] the queue's signal channel
-- ARGV[4] MAXLEN of the events stream; each script's own arguments start at ARGV[5].
local K_META, K_WAIT, K_PRIO, K_ACTIVE, K_DELAYED = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local K_COMPLETED, K_FAILED, K_EVENTS, K_LISTEN = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local K_SCHED, K_SCHEDNEXT, K_STALL = KEYS[10], KEYS[11], KEYS[12]
local BASE, NOW, CHANNEL, MAXLEN = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
-- Numbers handed to redis.call are formatted with '%.17g', which costs more than the
-- command itself for a small hash field: per-job fields get integer text made here.
local NOW_S = ARGV[2]
local function int(n) return string.format('%d', n) end

local JOB_PREFIX = BASE .. 'job:'
local function jobKey(id) return JOB_PREFIX .. id end
local function logsKey(id) return BASE .. 'logs:' .. id end
local function str(s) return cjson.encode(s) end

-- Events are written only while some instance listens to them (it refreshes its entry);
-- callers test `listens(name)` before building a payload, so unobserved events cost
-- nothing.
local listening = nil
local function listens(name)
  if listening == nil then
    listening = {}
    local l = redis.call('HGETALL', K_LISTEN)
    for i = 1, #l, 2 do
      if tonumber(l[i + 1]) > NOW then listening[l[i]] = true end
    end
  end
  return listening[name] == true
end
local function emit(name, payload)
  redis.call('XADD', K_EVENTS, 'MAXLEN', '~', MAXLEN, '*', 'e', name, 'p', payload)
end

-- The lengths of wait and prio, read once per script run and kept up to date by every
-- write to them below (a script that writes them otherwise calls forgetCounts): the
-- hand-over loops ask for them often, and each read is a command.
local nWait, nPrio = nil, nil
local function readCounts()
  if nWait == nil then
    nWait, nPrio = redis.call('LLEN', K_WAIT), redis.call('ZCARD', K_PRIO)
  end
end
local function forgetCounts() nWait, nPrio = nil, nil end
local function waitingCount()
  readCounts()
  return nWait + nPrio
end
local pausedNow = nil
local function isPaused()
  if pausedNow == nil then pausedNow = redis.call('HGET', K_META, 'paused') == '1' end
  return pausedNow
end

-- Tells idle workers of every instance that waiting went from none to some. `self`: the
-- caller's idle entry when this script took jobs for the caller's own worker (they travel
-- in its reply): the wake then says so ('w' .. entry), and the caller's instance ignores
-- it. Acting on it could overtake those jobs: the wake can arrive before the reply, find
-- the worker still idle and take a later job into the slot the reply's job holds (a bulk
-- add's second job started before its first). The reply's jobs, once handed, make the
-- runner take more while it has room.
local function wakeIfFilled(before, self)
  if before == 0 and waitingCount() > 0 and not isPaused() then
    redis.call('PUBLISH', CHANNEL, 'w' .. (self or ''))
  end
end

local function pushWaiting(id, pri, lifo)
  if pri then
    local pc = redis.call('HINCRBY', K_META, 'pc', 1) % 2147483648
    if lifo then pc = -pc end
    local n = redis.call('ZADD', K_PRIO, pri * 4294967296 + pc, id)
    if nPrio then nPrio = nPrio + n end
  else
    redis.call(lifo and 'LPUSH' or 'RPUSH', K_WAIT, id)
    if nWait then nWait = nWait + 1 end
  end
end

-- `front`: ahead of the jobs waiting (as a `lifo` job goes), for jobs given back unstarted.
local function makeWaiting(id, name, front)
  local k = jobKey(id)
  local h = redis.call('HMGET', k, 'pri', 'lifo')
  redis.call('HSET', k, 'state', 'waiting')
  pushWaiting(id, tonumber(h[1]), front or h[2] == '1')
  if listens('waiting') then emit('waiting', '{"jobId":' .. str(id) .. ',"name":' .. str(name) .. '}') end
end

-- A delay that makes this job the earliest is announced, so timers re-arm at once.
local function makeDelayed(id, name, delay)
  local due = NOW + delay
  local first = redis.call('ZRANGE', K_DELAYED, 0, 0, 'WITHSCORES')
  redis.call('HSET', jobKey(id), 'state', 'delayed', 'due', due)
  redis.call('ZADD', K_DELAYED, due, id)
  if first[2] == nil or due < tonumber(first[2]) then
    redis.call('PUBLISH', CHANNEL, 'd' .. due)
  end
  if listens('delayed') then emit('delayed', '{"jobId":' .. str(id) .. ',"name":' .. str(name) .. ',"delay":' .. delay .. '}') end
end

local function removeJobKeys(id)
  redis.call('DEL', jobKey(id), logsKey(id))
end

-- Files a finished job under completed/failed (a list, oldest first) and applies its keep
-- setting (-1 keep all, 0 remove now, N keep the newest N).
local function finishInto(list, id, keep)
  if keep == 0 then
    removeJobKeys(id)
    return
  end
  local len = redis.call('RPUSH', list, id)
  if keep > 0 and len > keep then
    local over = len - keep
    local old = redis.call('LRANGE', list, 0, over - 1)
    for _, o in ipairs(old) do removeJobKeys(o) end
    redis.call('LTRIM', list, over, -1)
  end
end

-- Auto ids come from the `id` counter. Only a custom jobId made of digits could take a
-- number the counter hands out later; `nid` in meta records that one was ever used, and
-- only then is each auto id checked against existing jobs.
local numericIds = nil
local reservedNext, reservedLast = 0, -1
-- Reads both flags of meta that an add needs (paused, nid) in one command.
local function readAddFlags()
  local m = redis.call('HMGET', K_META, 'paused', 'nid')
  pausedNow, numericIds = m[1] == '1', m[2] ~= false
end
-- Takes `n` numbers from the counter at once (for a call that adds `n` auto-id jobs).
local function reserveIds(n)
  if n <= 0 then return end
  reservedLast = redis.call('HINCRBY', K_META, 'id', n)
  reservedNext = reservedLast - n + 1
end
-- Returns the id, and its number.
local function nextId()
  if numericIds == nil then numericIds = redis.call('HEXISTS', K_META, 'nid') == 1 end
  local n, id
  repeat
    if reservedNext <= reservedLast then
      n = reservedNext
      reservedNext = reservedNext + 1
    else
      n = redis.call('HINCRBY', K_META, 'id', 1)
    end
    id = int(n)
  until not numericIds or redis.call('EXISTS', jobKey(id)) == 0
  return id, n
end

-- Adds one job from 6 arguments starting at ARGV[i]: jobId ('' = next number), name, data,
-- opts ('' = none given), delay, and the options the scripts act on as 'field\31value\31…'
-- ('' = all defaults): pri, lifo, att, bo (backoff 'f'|'e'), bd (its delay), to (timeout),
-- keep ('<removeOnComplete>:<removeOnFail>', -1 all / 0 none / N). Defaults are not stored.
-- `seq` is its creation order, stored as the `seq` field unless the job's auto id is that
-- number (the two counters agree while a queue never had a custom id); readers take the id
-- then. Plain FIFO jobs are appended by flushAdded (one RPUSH per call). Returns the id.
local added = {}
-- Direct hand-over of fresh jobs: defined below, with the idle set and the leases.
local fresh, handFresh = nil, nil
local function addJob(i, seq)
  local id, n = ARGV[i], nil
  if id ~= '' then
    if redis.call('EXISTS', jobKey(id)) == 1 then return id end
    if not numericIds and string.match(id, '^%d+$') then
      redis.call('HSET', K_META, 'nid', 1)
      numericIds = true
    end
  else
    id, n = nextId()
  end
  -- The `seq` field: left out when the auto id is the same number.
  local s = n ~= seq and int(seq) or nil
  local name, delay, extra = ARGV[i + 1], tonumber(ARGV[i + 4]), ARGV[i + 5]
  -- The common case (no options, no delay) without building a field table, and without
  -- `state` (absent means waiting): ~0.9 us less per job, a fifth of the script's time for
  -- a batch of plain adds.
  if extra == '' and delay == 0 and ARGV[i + 3] == '' then
    if handFresh(id, name, ARGV[i + 2], s) then return id end
    if s then
      redis.call('HSET', JOB_PREFIX .. id, 'name', name, 'data', ARGV[i + 2], 'ts', NOW_S, 'seq', s)
    else
      redis.call('HSET', JOB_PREFIX .. id, 'name', name, 'data', ARGV[i + 2], 'ts', NOW_S)
    end
    added[#added + 1] = id
    if listens('waiting') then emit('waiting', '{"jobId":' .. str(id) .. ',"name":' .. str(name) .. '}') end
    return id
  end
  local fields = { 'name', name, 'data', ARGV[i + 2], 'ts', NOW_S,
    'state', delay > 0 and 'delayed' or 'waiting' }
  if s then
    fields[#fields + 1] = 'seq'
    fields[#fields + 1] = s
  end
  if ARGV[i + 3] ~= '' then
    fields[#fields + 1] = 'opts'
    fields[#fields + 1] = ARGV[i + 3]
  end
  local pri, lifo = nil, false
  if extra ~= '' then
    local f = nil
    for part in string.gmatch(extra, '[^\31]+') do
      if f == nil then
        f = part
      else
        fields[#fields + 1] = f
        fields[#fields + 1] = part
        if f == 'pri' then pri = tonumber(part) elseif f == 'lifo' then lifo = true end
        f = nil
      end
    end
  end
  redis.call('HSET', jobKey(id), unpack(fields))
  if delay > 0 then
    makeDelayed(id, name, delay)
  else
    -- Later plain jobs of this call must not overtake this one.
    fresh = nil
    if not pri and not lifo then
      added[#added + 1] = id
    else
      pushWaiting(id, pri, lifo)
    end
    if listens('waiting') then emit('waiting', '{"jobId":' .. str(id) .. ',"name":' .. str(name) .. '}') end
  end
  return id
end

local function flushAdded()
  if #added > 0 then
    redis.call('RPUSH', K_WAIT, unpack(added))
    if nWait then nWait = nWait + #added end
  end
  added = {}
end

-- Creation order for `n` jobs: the first of them.
local function nextSeq(n) return redis.call('HINCRBY', K_META, 'seq', n) - n + 1 end
local JOB_ARGS = 6

-- The value of a job's `active` entry: '<lease expiry ms>:<token>:<keep completed>:<had a
-- failed attempt 0|1>'. Finishing reads the entries of all its jobs with one HMGET, so the
-- token check and the completion bookkeeping need no read of the job hashes.
local function leaseOf(expiry, tok, keepC, failedBefore)
  return expiry .. ':' .. tok .. ':' .. int(keepC) .. ':' .. (failedBefore and '1' or '0')
end
local function parseLease(v)
  if not v then return nil end
  local expiry, tok, keepC, failedBefore = string.match(v, '^(%d+):(%d+):(-?%d+):([01])$')
  return expiry, tok, keepC, failedBefore
end
local function keepNumber(keep, which)
  if not keep then return -1 end
  local rc, rf = string.match(keep, '^(-?%d+):(-?%d+)$')
  return tonumber(which == 'c' and rc or rf) or -1
end

local function keepOf(k, which)
  return keepNumber(redis.call('HGET', k, 'keep'), which)
end

-- Idle workers: `idle` (zset at BASE .. 'idle') holds '<instance channel>|<lease ms>' of
-- workers that found the queue empty, scored by when the entry lapses. A job added while
-- one is registered is taken for it right here and published to its channel, so an idle
-- worker starts a job without a round trip of its own.
local K_IDLE = BASE .. 'idle'

-- Set once the idle set was found empty in this run (see popIdle).
local noIdle = false
local function registerIdle(idle, lockMs)
  if idle and idle ~= '' then
    redis.call('ZADD', K_IDLE, NOW + lockMs, idle)
    noIdle = false
  end
end

-- Takes the longest idle worker's entry: returns it with its channel and lease ms, or nil.
-- Entries are scored by when they lapse, so lapsed ones (their worker stopped renewing)
-- come first and are dropped on the way.
local function popIdle()
  while not noIdle do
    local e = redis.call('ZPOPMIN', K_IDLE)
    if #e == 0 then
      noIdle = true
      return nil
    end
    local channel, lockMs = string.match(e[1], '^(.*)|(%d+)$')
    if channel and tonumber(e[2]) > NOW then return e[1], channel, tonumber(lockMs) end
  end
  return nil
end

-- Moves up to `max` waiting jobs to active with a lease of `lockMs`, appending
-- id, name, data, attemptsMade (after this start), opts, token per job to `out`.
-- Leaves a nudge for other instances when jobs remain (at most one per 5 ms). A caller
-- that gets fewer than it asked for and names its `idle` entry is registered as idle.
local function take(max, lockMs, out, idle)
  if max <= 0 or isPaused() then return 0 end
  local ids = {}
  readCounts()
  if nPrio > 0 then
    local z = redis.call('ZPOPMIN', K_PRIO, max)
    for i = 1, #z, 2 do ids[#ids + 1] = z[i] end
    nPrio = nPrio - #ids
  end
  if #ids < max and nWait > 0 then
    local l = redis.call('LPOP', K_WAIT, max - #ids)
    if l then
      for _, id in ipairs(l) do ids[#ids + 1] = id end
      nWait = nWait - #l
    end
  end
  if #ids < max then registerIdle(idle, lockMs) end
  if #ids == 0 then return 0 end
  local tok = redis.call('HINCRBY', K_META, 'tok', #ids) - #ids
  local expiry = int(NOW + lockMs)
  local leases = {}
  local nl, o = 0, #out
  local n = 0
  local tell = listens('active')
  for _, id in ipairs(ids) do
    local k = jobKey(id)
    local h = redis.call('HMGET', k, 'name', 'data', 'opts', 'made', 'keep', 'fr')
    if h[1] then
      tok = tok + 1
      n = n + 1
      local made = (tonumber(h[4]) or 0) + 1
      local tokS = int(tok)
      redis.call('HSET', k, 'state', 'active', 'pon', NOW_S, 'tok', tokS, 'made', int(made))
      leases[nl + 1] = id
      leases[nl + 2] = leaseOf(expiry, tokS, keepNumber(h[5], 'c'), h[6])
      nl = nl + 2
      out[o + 1] = id
      out[o + 2] = h[1]
      out[o + 3] = h[2]
      out[o + 4] = made
      out[o + 5] = h[3] or '{}'
      out[o + 6] = tok
      o = o + 6
      if tell then emit('active', '{"jobId":' .. str(id) .. ',"name":' .. str(h[1]) .. ',"attemptsMade":' .. (made - 1) .. '}') end
    end
  end
  if nl > 0 then redis.call('HSET', K_ACTIVE, unpack(leases)) end
  -- The nudge names its sender ('w' .. idle entry), which ignores its own.
  if #ids == max and waitingCount() > 0 and redis.call('SET', BASE .. 'nudge', '1', 'PX', 5, 'NX') then
    redis.call('PUBLISH', CHANNEL, 'w' .. (idle or ''))
  end
  return n
end

-- Hands waiting jobs to registered idle workers, one job each (see K_IDLE). The caller's
-- own entry (`self`) gets its job in `own` (the script's reply) instead of a message.
local function pushToIdle(self, own)
  if isPaused() then return end
  while waitingCount() > 0 do
    local entry, channel, lockMs = popIdle()
    if not entry then return end
    if entry == self then
      if take(1, lockMs, own) == 0 then return end
    else
      local out = {}
      if take(1, lockMs, out) == 0 then return end
      redis.call('PUBLISH', channel, cjson.encode(out))
    end
  end
end

-- Jobs added while nothing waits go straight to idle workers (set by the adding script:
-- `{ self = its idle entry, own = its reply list }`, nil = off). What pushToIdle would do
-- after the add, without the trip through wait and the re-read of the job: the job hash
-- is created active, in one HSET.
-- A plain job (default options) just added as `id` (`seq`: its field, or nil): hands it to
-- the longest idle worker. Returns false (nothing written) when hand-over is off or no
-- worker is idle.
function handFresh(id, name, data, seq)
  if not fresh then return false end
  local entry, channel, lockMs = popIdle()
  if not entry then return false end
  local tok = redis.call('HINCRBY', K_META, 'tok', 1)
  local tokS = int(tok)
  if seq then
    redis.call('HSET', jobKey(id), 'name', name, 'data', data, 'ts', NOW_S, 'seq', seq,
      'state', 'active', 'pon', NOW_S, 'tok', tokS, 'made', '1')
  else
    redis.call('HSET', jobKey(id), 'name', name, 'data', data, 'ts', NOW_S,
      'state', 'active', 'pon', NOW_S, 'tok', tokS, 'made', '1')
  end
  redis.call('HSET', K_ACTIVE, id, leaseOf(int(NOW + lockMs), tokS, -1, nil))
  if listens('waiting') then emit('waiting', '{"jobId":' .. str(id) .. ',"name":' .. str(name) .. '}') end
  if listens('active') then emit('active', '{"jobId":' .. str(id) .. ',"name":' .. str(name) .. ',"attemptsMade":0}') end
  -- As take() lists a job: id, name, data, attemptsMade, opts, token.
  local job = { id, name, data, 1, '{}', tok }
  if entry == fresh.self then
    for _, v in ipairs(job) do fresh.own[#fresh.own + 1] = v end
  else
    redis.call('PUBLISH', channel, cjson.encode(job))
  end
  return true
end

-- Ends the current attempt of active job `id` with `reason`: again (after its backoff)
-- while attempts remain, else failed.
local function failAttempt(id, reason)
  local k = jobKey(id)
  local h = redis.call('HMGET', k, 'made', 'att', 'bo', 'bd', 'name')
  local made, att, name = tonumber(h[1]) or 0, tonumber(h[2]) or 1, h[5]
  redis.call('HDEL', K_ACTIVE, id)
  redis.call('HSET', k, 'fr', reason)
  if made < att then
    local delay = 0
    if h[3] == 'f' then
      delay = tonumber(h[4])
    elseif h[3] == 'e' then
      delay = tonumber(h[4]) * 2 ^ math.min(math.max(made - 1, 0), 40)
    end
    if delay > 0 then
      makeDelayed(id, name, delay)
    else
      makeWaiting(id, name)
    end
    return
  end
  redis.call('HSET', k, 'state', 'failed', 'fon', NOW_S)
  if listens('failed') then emit('failed', '{"jobId":' .. str(id) .. ',"name":' .. str(name) .. ',"failedReason":' .. str(reason) .. ',"attemptsMade":' .. made .. '}') end
  finishInto(K_FAILED, id, keepOf(k, 'f'))
end

-- Completions of one script call share their bookkeeping: one HDEL of the leases and, for
-- jobs kept without a limit, one RPUSH to completed (see flushCompleted). `keepC` and
-- `failedBefore` come from the job's lease entry (see leaseOf).
local doneLeases, keptIds = {}, {}
local function complete(id, value, keepC, failedBefore)
  local k = jobKey(id)
  doneLeases[#doneLeases + 1] = id
  redis.call('HSET', k, 'state', 'completed', 'fon', NOW_S, 'rv', value)
  if failedBefore == '1' then redis.call('HDEL', k, 'fr') end
  if listens('completed') then
    local name = redis.call('HGET', k, 'name')
    emit('completed', '{"jobId":' .. str(id) .. ',"name":' .. str(name) .. ',"returnvalue":' .. value .. '}')
  end
  local n = tonumber(keepC) or -1
  if n == -1 then
    keptIds[#keptIds + 1] = id
  else
    finishInto(K_COMPLETED, id, n)
  end
end

-- unpack() is bounded by Lua's stack: long argument lists go in chunks.
local CHUNK = 1000
local function flushCompleted()
  for c = 1, #doneLeases, CHUNK do
    redis.call('HDEL', K_ACTIVE, unpack(doneLeases, c, math.min(c + CHUNK - 1, #doneLeases)))
  end
  for c = 1, #keptIds, CHUNK do
    redis.call('RPUSH', K_COMPLETED, unpack(keptIds, c, math.min(c + CHUNK - 1, #keptIds)))
  end
  doneLeases, keptIds = {}, {}
end

-- Whether `id` is active under `tok` (the caller's attempt is current).
local function owns(id, tok)
  local h = redis.call('HMGET', jobKey(id), 'tok', 'state')
  return h[1] == tok and h[2] == 'active'
end

