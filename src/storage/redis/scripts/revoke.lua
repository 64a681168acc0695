-- revoke_grant: the grant and every access token it remembers.
-- KEYS[1] grant; ARGV[1] access key base. Returns 1 if there was a grant.
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
revoke(KEYS[1], cjson.decode(raw), ARGV[1])
return 1
