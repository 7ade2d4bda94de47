-- deleteStrings-0: deletes those of the given keys that hold kv values (strings), so that
-- kv.clear leaves the other store tiers alone (SPEC §3.2).
-- ARGV     the candidate keys (found by SCAN; their number varies, single-node Redis)
-- Returns: the number of keys deleted.
local n = 0
for _, k in ipairs(ARGV) do
  local t = redis.call('TYPE', k)
  if (t.ok or t) == 'string' then n = n + redis.call('DEL', k) end
end
return n
