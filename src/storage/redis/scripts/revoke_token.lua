-- revoke_token (RFC 7009): revokes the grant when the presented digest is a
-- live access token of it, or its current or previous refresh token, and the
-- live grant belongs to the calling client. Mirrors Storage::revoke_token.
-- KEYS[1] grant, KEYS[2] the access key the digest would have;
-- ARGV[1] access key base, ARGV[2] client id, ARGV[3] digest (hex), ARGV[4] now.
-- Returns the revoked grant as stored, or false.
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local g = cjson.decode(raw)
local now = tonumber(ARGV[4])
if g.client_id ~= ARGV[2] or g.expires_at <= now then return false end
local owned = false
if present(g.refresh) then
  owned = g.refresh.current == ARGV[3] or g.refresh.previous == ARGV[3]
end
if not owned then
  local access = redis.call('GET', KEYS[2])
  if access then
    local a = cjson.decode(access)
    owned = a.grant_id == g.id and a.expires_at > now
  end
end
if not owned then return false end
revoke(KEYS[1], g, ARGV[1])
return raw
