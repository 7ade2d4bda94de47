-- addEntry-2: upserts an index entry and replaces its metadata (SPEC §3.3).
-- KEYS[1]  the index (sorted set)   KEYS[2]  the entry's metadata hash
-- ARGV[1]  score   ARGV[2]  id   ARGV[3..] field (dot path), JSON-encoded leaf pairs
-- Returns: 1.
redis.call('DEL', KEYS[2])
if #ARGV > 2 then redis.call('HSET', KEYS[2], unpack(ARGV, 3)) end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
return 1
