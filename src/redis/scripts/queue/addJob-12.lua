-- addJob-12: adds one job with every option at its default (no jobId, delay, priority...):
-- a lone enqueue, the common case and the one an idle worker's pickup latency hangs on.
-- It does what addJobs does for such a job (addJob, then handFresh while nothing waits),
-- written out flat: a script creates a closure for every function it reaches on each run,
-- and on a server whose caches went cold while idle the ~20 small helpers these steps use
-- cost ~6 us of a ~100 us pickup (docs/REDIS.md). What it writes must stay as _common.lua
-- writes it: the job hash (addJob, handFresh), the lease entry (leaseOf), the idle set
-- (popIdle), the events (listens, emit); the queue tests run every lone add through here.
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[5] the caller's idle entry ('' = none)
-- ARGV[6] the job's name   ARGV[7] its data (JSON text)
-- Returns: as addJobs, { id, own }: `own` lists the job as take() does (id, name, data,
-- attemptsMade, opts, token) when it went to the caller's own idle entry, else is empty.
local K_META, K_WAIT, K_PRIO, K_ACTIVE = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local K_EVENTS, K_LISTEN = KEYS[8], KEYS[9]
local BASE, NOW_S, CHANNEL, MAXLEN = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local NOW = tonumber(NOW_S)
local name, data = ARGV[6], ARGV[7]

local flags = redis.call('HMGET', K_META, 'paused', 'nid')
local open, numericIds = flags[1] ~= '1', flags[2] ~= false
-- Nothing waits when neither key exists: Redis deletes an emptied list or sorted set.
local empty = redis.call('EXISTS', K_WAIT, K_PRIO) == 0
local seq = redis.call('HINCRBY', K_META, 'seq', 1)
local n, id
repeat
  n = redis.call('HINCRBY', K_META, 'id', 1)
  id = string.format('%d', n)
until not numericIds or redis.call('EXISTS', BASE .. 'job:' .. id) == 0
local s = n ~= seq and string.format('%d', seq) or nil
local key = BASE .. 'job:' .. id

local listening = {}
local l = redis.call('HGETALL', K_LISTEN)
for i = 1, #l, 2 do
  if tonumber(l[i + 1]) > NOW then listening[l[i]] = true end
end
local ref = '{"jobId":' .. cjson.encode(id) .. ',"name":' .. cjson.encode(name)
if listening.waiting then
  redis.call('XADD', K_EVENTS, 'MAXLEN', '~', MAXLEN, '*', 'e', 'waiting', 'p', ref .. '}')
end

-- The longest idle worker whose entry has not lapsed gets the job, created active.
local own = {}
while empty and open do
  local e = redis.call('ZPOPMIN', BASE .. 'idle')
  if #e == 0 then break end
  local channel, lockMs = string.match(e[1], '^(.*)|(%d+)$')
  if channel and tonumber(e[2]) > NOW then
    local tok = redis.call('HINCRBY', K_META, 'tok', 1)
    local tokS = string.format('%d', tok)
    if s then
      redis.call('HSET', key, 'name', name, 'data', data, 'ts', NOW_S, 'seq', s,
        'state', 'active', 'pon', NOW_S, 'tok', tokS, 'made', '1')
    else
      redis.call('HSET', key, 'name', name, 'data', data, 'ts', NOW_S,
        'state', 'active', 'pon', NOW_S, 'tok', tokS, 'made', '1')
    end
    redis.call('HSET', K_ACTIVE, id, string.format('%d', NOW + tonumber(lockMs)) .. ':' .. tokS .. ':-1:0')
    if listening.active then
      redis.call('XADD', K_EVENTS, 'MAXLEN', '~', MAXLEN, '*', 'e', 'active', 'p', ref .. ',"attemptsMade":0}')
    end
    local job = { id, name, data, 1, '{}', tok }
    if e[1] == ARGV[5] then return { id, job } end
    redis.call('PUBLISH', channel, cjson.encode(job))
    return { id, own }
  end
end

-- No `state` field: absent means waiting.
if s then
  redis.call('HSET', key, 'name', name, 'data', data, 'ts', NOW_S, 'seq', s)
else
  redis.call('HSET', key, 'name', name, 'data', data, 'ts', NOW_S)
end
redis.call('RPUSH', K_WAIT, id)
-- From none waiting to one, every idle worker is told (as wakeIfFilled does); with jobs
-- already waiting, only when some worker registered as idle (normally none is then).
if open and (empty or redis.call('ZCARD', BASE .. 'idle') > 0) then
  redis.call('PUBLISH', CHANNEL, 'w')
end
return { id, own }
