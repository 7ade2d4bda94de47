-- publishMessage-1: publishes a stream-adapter message (SPEC §4).
-- KEYS[1]  the topic's retained stream
-- ARGV[1]  the topic (pub/sub channel)   ARGV[2]  the event's JSON text
-- ARGV[3]  MAXLEN of the retained stream (approximate trimming)
-- Returns: the stream entry id. Emits: PUBLISH topic event (plain subscribers); the
-- entry (field 'e') feeds fromBeginning replays and consumer groups.
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[2])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return id
