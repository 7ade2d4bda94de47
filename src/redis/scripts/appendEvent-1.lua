-- appendEvent-1: appends one store event and announces it (SPEC §3.1, seed 003).
-- KEYS[1]  the subject's stream
-- ARGV[1]  MAXLEN (0 = no trimming)      ARGV[2] '1' for approximate (~) trimming
-- ARGV[3]  pub/sub channel of the subject
-- ARGV[4]  the event object's JSON text without its braces (the record's tail)
-- ARGV[5..] field, JSON-encoded value pairs of the event
-- Returns: the new entry id. Emits: PUBLISH channel '{"id":..,"ts":..,<tail>}'.
local args = {}
if tonumber(ARGV[1]) > 0 then
  table.insert(args, 'MAXLEN')
  if ARGV[2] == '1' then table.insert(args, '~') end
  table.insert(args, ARGV[1])
end
table.insert(args, '*')
for i = 5, #ARGV do table.insert(args, ARGV[i]) end
local id = redis.call('XADD', KEYS[1], unpack(args))
local ms = string.match(id, '^(%d+)')
local record = '{"id":"' .. id .. '","ts":' .. ms .. ',' .. ARGV[4] .. '}'
redis.call('PUBLISH', ARGV[3], record)
return id
