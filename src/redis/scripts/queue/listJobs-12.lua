-- listJobs-12: jobs for getJobs, newest (highest creation seq) first, without walking the
-- whole queue: from each state's set it reads the ends that hold its newest jobs
-- (offset + limit from each end), merges them by seq and pages.
-- KEYS, ARGV[1..4]: see _common.lua.   ARGV[5] states, comma-separated ('' = all)
-- ARGV[6] offset   ARGV[7] limit
-- Returns: { paused 1/0, then per job its id and its hash (flat) }.
local want = {}
local any = ARGV[5] == ''
for s in string.gmatch(ARGV[5], '[^,]+') do want[s] = true end
local paused = isPaused()
local offset, limit = tonumber(ARGV[6]), tonumber(ARGV[7])
local reach = offset + limit
local seen, ids = {}, {}
local function add(list)
  for _, id in ipairs(list) do
    if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
  end
end
local function ends(read, len)
  if len == 0 then return end
  if len <= 2 * reach then add(read(0, -1)) else add(read(0, reach - 1)); add(read(-reach, -1)) end
end
if any or (want.waiting and not paused) or (want.paused and paused) then
  ends(function(a, b) return redis.call('LRANGE', K_WAIT, a, b) end, redis.call('LLEN', K_WAIT))
  ends(function(a, b) return redis.call('ZRANGE', K_PRIO, a, b) end, redis.call('ZCARD', K_PRIO))
end
if any or want.active then add(redis.call('HKEYS', K_ACTIVE)) end
if any or want.delayed then
  ends(function(a, b) return redis.call('ZRANGE', K_DELAYED, a, b) end, redis.call('ZCARD', K_DELAYED))
end
for state, list in pairs({ completed = K_COMPLETED, failed = K_FAILED }) do
  if any or want[state] then
    ends(function(a, b) return redis.call('LRANGE', list, a, b) end, redis.call('LLEN', list))
  end
end
local rows = {}
for _, id in ipairs(ids) do
  -- A job without `seq` has its (auto) id for it (see addJob); one without `name` is gone.
  local h = redis.call('HMGET', jobKey(id), 'seq', 'name')
  if h[2] then rows[#rows + 1] = { tonumber(h[1]) or tonumber(id), id } end
end
table.sort(rows, function(a, b) return a[1] > b[1] end)
local out = { paused and 1 or 0 }
for i = offset + 1, math.min(#rows, reach) do
  out[#out + 1] = rows[i][2]
  out[#out + 1] = redis.call('HGETALL', jobKey(rows[i][2]))
end
return out
