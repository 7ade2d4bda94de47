-- extendClaim-1: sets a new expiry on a claim if the caller owns it (SPEC §3.5).
-- KEYS[1]  the claim key   ARGV[1]  the owner, JSON-encoded   ARGV[2]  ttl in ms
-- Returns: 1 extended, 0 not the owner (or no claim).
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
