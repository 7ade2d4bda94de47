-- releaseClaim-1: deletes a claim if the caller owns it (SPEC §3.5).
-- KEYS[1]  the claim key   ARGV[1]  the owner, JSON-encoded
-- Returns: 1 released, 0 not the owner (or no claim).
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
