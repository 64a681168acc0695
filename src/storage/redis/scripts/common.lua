-- Shared helpers, prepended to every script. They mirror src/storage/records.rs.
-- A grant is stored as the JSON of GrantRecord except `props`, which is kept as
-- its JSON text (a string) so cjson never re-encodes application data.
local function list_json(t)
  if t == nil or t == cjson.null or #t == 0 then return '[]' end
  return cjson.encode(t)
end

local function opt_json(v)
  if v == nil or v == cjson.null then return 'null' end
  return cjson.encode(v)
end

local function present(v)
  return v ~= nil and v ~= cjson.null
end

local function int(n)
  return string.format('%d', n)
end

-- Store TTL in seconds: expires_at - now, at least 1.
local function ttl(expires_at, now)
  local s = expires_at - now
  if s < 1 then s = 1 end
  return int(s)
end

-- GrantRecord::resource_agrees: trailing slashes do not count.
local function resource_agrees(g, asked)
  if not present(asked) then return true end
  return string.gsub(asked, '/+$', '') == string.gsub(g.resource, '/+$', '')
end

-- GrantRecord::issue_access: drop expired entries, remember the new token.
local function issue_access(g, digest, now, expires_at)
  local kept = {}
  for _, a in ipairs(g.access_tokens) do
    if a.expires_at > now then table.insert(kept, a) end
  end
  table.insert(kept, { digest = digest, expires_at = expires_at })
  g.access_tokens = kept
end

-- The AccessRecord JSON of a new token (props spliced in as stored).
local function access_json(g, scopes, issued_at, expires_at)
  return '{"grant_id":' .. cjson.encode(g.id)
    .. ',"client_id":' .. cjson.encode(g.client_id)
    .. ',"subject":' .. opt_json(g.subject)
    .. ',"scopes":' .. list_json(scopes)
    .. ',"resource":' .. cjson.encode(g.resource)
    .. ',"props":' .. g.props
    .. ',"issued_at":' .. int(issued_at)
    .. ',"expires_at":' .. int(expires_at) .. '}'
end

-- Revocation cascade: every access token the grant remembers, then the grant.
local function revoke(grant_key, g, access_base)
  for _, a in ipairs(g.access_tokens) do
    redis.call('DEL', access_base .. a.digest)
  end
  redis.call('DEL', grant_key)
end

-- Stores the grant and its new access token; returns the script's answer.
local function store(tag, grant_key, access_key, g, scopes, now, access_expires_at)
  local grant_json = cjson.encode(g)
  local access = access_json(g, scopes, now, access_expires_at)
  redis.call('SET', grant_key, grant_json, 'EX', ttl(g.expires_at, now))
  redis.call('SET', access_key, access, 'EX', ttl(access_expires_at, now))
  return { tag, grant_json, access }
end
