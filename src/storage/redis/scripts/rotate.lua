-- rotate_refresh: GrantRecord::rotate_refresh, atomically.
-- KEYS[1] grant, KEYS[2] new access token; ARGV[1] access key base, ARGV[2] JSON arguments.
local raw = redis.call('GET', KEYS[1])
if not raw then return { 'not_found' } end
local g = cjson.decode(raw)
local a = cjson.decode(ARGV[2])
local now = a.now
if g.expires_at <= now or g.client_id ~= a.client_id then return { 'not_found' } end
local chain = g.refresh
if not present(chain) then return { 'not_found' } end
local is_current = chain.current == a.presented
local is_previous = present(chain.previous) and chain.previous == a.presented
-- Past its grace the previous token is reuse. A record from before rotated_at
-- existed reads 0, as in Rust (serde default).
local rotated_at = present(chain.rotated_at) and chain.rotated_at or 0
if is_previous and now >= rotated_at + a.grace_seconds then
  revoke(KEYS[1], g, ARGV[1])
  return { 'reused' }
end
if not is_current and not is_previous then
  for _, r in ipairs(chain.retired) do
    if r == a.presented then
      revoke(KEYS[1], g, ARGV[1])
      return { 'reused' }
    end
  end
  return { 'not_found' }
end
local scopes = g.scopes
if present(a.scopes) then
  local held = {}
  for _, s in ipairs(g.scopes) do held[s] = true end
  for _, s in ipairs(a.scopes) do
    if not held[s] then return { 'scope_exceeded' } end
  end
  scopes = a.scopes
end
if not resource_agrees(g, a.resource) then return { 'resource_mismatch' } end
if is_current then
  if present(chain.previous) then
    local retired = {}
    for _, r in ipairs(chain.retired) do table.insert(retired, r) end
    table.insert(retired, chain.previous)
    while #retired > a.retired_kept do table.remove(retired, 1) end
    chain.retired = retired
  end
  chain.previous = chain.current
  chain.rotated_at = now
  chain.current = a.successor
  chain.salt = a.salt
  chain.generation = chain.generation + 1
  g.expires_at = a.grant_expires_at
end
issue_access(g, a.access_digest, now, a.access_expires_at)
return store(is_current and 'rotated' or 'retried', KEYS[1], KEYS[2], g, scopes, now, a.access_expires_at)
