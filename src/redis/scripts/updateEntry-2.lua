-- updateEntry-2: deep-merges a partial into an entry's metadata, bumps version (SPEC §3.3).
-- KEYS[1]  the index   KEYS[2]  the entry's metadata hash
-- ARGV[1]  id   ARGV[2]  expected version ('' = any)
-- ARGV[3..] op, dot path, JSON leaf triples; op 's' sets a leaf (replacing any subtree
--          or leaf ancestor), 'd' deletes the subtree, 'e' makes sure an object exists.
-- Returns: 1 merged, 0 entry missing or version differs.
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if ARGV[2] ~= '' then
  local v = redis.call('HGET', KEYS[2], 'version')
  if tonumber(v or '0') ~= tonumber(ARGV[2]) then return 0 end
end
local fields = redis.call('HKEYS', KEYS[2])
-- Deletes the fields below `path` (and `path` itself when `with_self`).
local function drop_subtree(path, with_self)
  local pre = path .. '.'
  for i = 1, #fields do
    local f = fields[i]
    if f and ((with_self and f == path) or string.sub(f, 1, #pre) == pre) then
      redis.call('HDEL', KEYS[2], f)
      fields[i] = false
    end
  end
end
local function has_subtree(path)
  local pre = path .. '.'
  for i = 1, #fields do
    local f = fields[i]
    if f and string.sub(f, 1, #pre) == pre then return true end
  end
  return false
end
local function drop_leaf_ancestors(path)
  local at = 0
  while true do
    at = string.find(path, '.', at + 1, true)
    if not at then return end
    local a = string.sub(path, 1, at - 1)
    if redis.call('HDEL', KEYS[2], a) == 1 then
      for i = 1, #fields do if fields[i] == a then fields[i] = false end end
    end
  end
end
for i = 3, #ARGV, 3 do
  local op, path, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if op == 'd' then
    drop_subtree(path, true)
  elseif op == 's' then
    -- HSET over an existing field keeps its place: key order survives updates.
    drop_subtree(path, false)
    drop_leaf_ancestors(path)
    redis.call('HSET', KEYS[2], path, value)
    table.insert(fields, path)
  elseif op == 'e' then
    local cur = redis.call('HGET', KEYS[2], path)
    if not has_subtree(path) and cur ~= '{}' then
      drop_leaf_ancestors(path)
      redis.call('HSET', KEYS[2], path, '{}')
      table.insert(fields, path)
    end
  end
end
redis.call('HINCRBY', KEYS[2], 'version', 1)
return 1
