-- addEntry-2: upserts an index entry and replaces its metadata (SPEC §3.3).
-- KEYS[1]  the index (sorted set)   KEYS[2]  the entry's metadata hash
-- ARGV[1]  score   ARGV[2]  id   ARGV[3..] field (dot path), JSON-encoded leaf pairs
-- Returns: 1.
-- Emits: nothing.
redis.call('DEL', KEYS[2])
-- HSET in slices: `unpack` refuses more than ~8,000 values (LUAI_MAXCSTACK), and metadata
-- of more leaves than that is a value the store accepts.
local slice = 1000
for i = 3, #ARGV, slice do
  redis.call('HSET', KEYS[2], unpack(ARGV, i, math.min(i + slice - 1, #ARGV)))
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
return 1
