-- incrementValue-1: adds to the number at a kv key, keeping its expiry (SPEC §3.2).
-- KEYS[1]  the key   ARGV[1]  amount (shortest round-trip decimal)
-- Returns: {'ok', new value as %.17g text} | {'nan'} (the value is not a number).
local cur = redis.call('GET', KEYS[1])
local n = 0
if cur then
  n = tonumber(cur)
  if not n then return {'nan'} end
end
local out = string.format('%.17g', n + tonumber(ARGV[1]))
if string.find(out, 'n', 1, true) then return {'nan'} end
redis.call('SET', KEYS[1], out, 'KEEPTTL')
return {'ok', out}
