-- incrementField-2: adds to a number in an entry's metadata, bumps version (SPEC §3.3).
-- KEYS[1]  the index   KEYS[2]  the entry's metadata hash
-- ARGV[1]  id   ARGV[2]  dot path   ARGV[3]  amount (shortest round-trip decimal)
-- Returns: {'ok', new value as %.17g text} | {'missing'} | {'nan'} (not a number there).
-- Arithmetic is in Lua doubles, so results equal JS's `a + b` bit for bit.
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {'missing'} end
local path = ARGV[2]
local at = 0
while true do
  at = string.find(path, '.', at + 1, true)
  if not at then break end
  local a = redis.call('HGET', KEYS[2], string.sub(path, 1, at - 1))
  if a and a ~= '{}' then return {'nan'} end
end
local cur = redis.call('HGET', KEYS[2], path)
local n = 0
if cur then
  n = tonumber(cur)
  if not n then return {'nan'} end
else
  local pre = path .. '.'
  for _, f in ipairs(redis.call('HKEYS', KEYS[2])) do
    if string.sub(f, 1, #pre) == pre then return {'nan'} end
  end
end
local out = string.format('%.17g', n + tonumber(ARGV[3]))
if string.find(out, 'n', 1, true) then return {'nan'} end
at = 0
while true do
  at = string.find(path, '.', at + 1, true)
  if not at then break end
  redis.call('HDEL', KEYS[2], string.sub(path, 1, at - 1))
end
redis.call('HSET', KEYS[2], path, out)
redis.call('HINCRBY', KEYS[2], 'version', 1)
return {'ok', out}
