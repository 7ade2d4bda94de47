-- updateEntry-2: deep-merges a partial into an entry's metadata, bumps version (SPEC §3.3).
-- KEYS[1]  the index   KEYS[2]  the entry's metadata hash
-- ARGV[1]  id   ARGV[2]  expected version ('' = any)
-- ARGV[3..] op, dot path, JSON leaf triples; op 's' sets a leaf (replacing any subtree
--          or leaf ancestor), 'd' deletes the subtree, 'e' makes sure an object exists.
-- Returns: 1 merged, 0 entry missing or version differs.
-- Emits: nothing.
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if ARGV[2] ~= '' then
  local v = redis.call('HGET', KEYS[2], 'version')
  if tonumber(v or '0') ~= tonumber(ARGV[2]) then return 0 end
end
-- `present[f]`: f is a field of the hash. `below[p]`: the fields that were under path p
-- when the script started (`a.b.c` is under `a` and `a.b`); one gone since is skipped.
-- Each step looks at its own subtree and walks its path only as far as fields were there,
-- instead of scanning every field (2,000 steps of 128 segments into 2,000 fields held the
-- shared server ~7 s that way). Fields this script sets need no entry: the steps come
-- from one expanded partial, a tree, so no step's path lies under another's, except an
-- 'e' after the deletes below it, which only needs what they removed.
local present, below = {}, {}
for _, f in ipairs(redis.call('HKEYS', KEYS[2])) do
  present[f] = true
  local at = 0
  while true do
    at = string.find(f, '.', at + 1, true)
    if not at then break end
    local p = string.sub(f, 1, at - 1)
    local list = below[p]
    if not list then
      list = {}
      below[p] = list
    end
    list[#list + 1] = f
  end
end
local function drop(f)
  if present[f] then
    redis.call('HDEL', KEYS[2], f)
    present[f] = nil
  end
end
-- Deletes the fields below `path` (and `path` itself when `with_self`).
local function drop_subtree(path, with_self)
  if with_self then drop(path) end
  local list = below[path]
  if list then
    for i = 1, #list do drop(list[i]) end
    below[path] = nil
  end
end
local function has_subtree(path)
  local list = below[path]
  if not list then return false end
  for i = 1, #list do
    if present[list[i]] then return true end
  end
  below[path] = nil
  return false
end
local function drop_leaf_ancestors(path)
  local at = 0
  while true do
    at = string.find(path, '.', at + 1, true)
    if not at then return end
    local p = string.sub(path, 1, at - 1)
    drop(p)
    -- Nothing was under `p`: nothing is further along the path either.
    if not below[p] then return end
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
  elseif op == 'e' then
    local cur = redis.call('HGET', KEYS[2], path)
    if not has_subtree(path) and cur ~= '{}' then
      drop_leaf_ancestors(path)
      redis.call('HSET', KEYS[2], path, '{}')
    end
  end
end
redis.call('HINCRBY', KEYS[2], 'version', 1)
return 1
