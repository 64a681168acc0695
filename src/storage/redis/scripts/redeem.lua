-- consume_code: GrantRecord::redeem_code, atomically.
-- KEYS[1] grant, KEYS[2] new access token; ARGV[1] access key base, ARGV[2] JSON arguments.
local raw = redis.call('GET', KEYS[1])
if not raw then return { 'not_found' } end
local g = cjson.decode(raw)
local a = cjson.decode(ARGV[2])
local now = a.now
local code = g.code
if not present(code) or code.digest ~= a.code_digest then return { 'not_found' } end
if code.used then
  revoke(KEYS[1], g, ARGV[1])
  return { 'replayed' }
end
if code.expires_at <= now or g.expires_at <= now then return { 'not_found' } end
if g.client_id ~= a.client_id or code.redirect_uri ~= a.redirect_uri
  or code.code_challenge ~= a.code_challenge then
  return { 'mismatch' }
end
if not resource_agrees(g, a.resource) then return { 'resource_mismatch' } end
code.used = true
if present(a.refresh) then
  g.refresh = {
    current = a.refresh, previous = cjson.null, rotated_at = now, salt = '', retired = {}, generation = 0,
  }
else
  g.refresh = cjson.null
end
g.expires_at = a.grant_expires_at
issue_access(g, a.access_digest, now, a.access_expires_at)
return store('redeemed', KEYS[1], KEYS[2], g, g.scopes, now, a.access_expires_at)
