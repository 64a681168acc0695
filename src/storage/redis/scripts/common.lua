-- Shared helpers, prepended to every script. They mirror src/storage/records.rs.

-- On one server the caller passes, after the script's own keys, the sorted
-- sets stats() counts (`<prefix>{stats}:<kind>`, scored by expiry; see
-- stats.rs); the helpers below keep them and the grant indexes in step. On a
-- cluster they live in other slots: the caller passes none and updates them
-- itself after the script.
local stats, prefix = {}, nil
for _, key in ipairs(KEYS) do
  local kind = string.match(key, '{stats}:(%l+)$')
  if kind then
    stats[kind] = key
    prefix = string.sub(key, 1, #key - #kind - 8)
  end
end

-- ZADD `member` at `score` (its expiry) to the set of `kind`, or ZREM it when `score` is nil.
local function count(kind, score, member)
  if not stats[kind] then return end
  if score then
    redis.call('ZADD', stats[kind], score, member)
  else
    redis.call('ZREM', stats[kind], member)
  end
end

-- A grant's pending code and refresh chain, as stats() counts them.
local function count_grant(g)
  if type(g.code) == 'table' and not g.code.used then
    count('codes', math.min(g.code.expires_at, g.expires_at), g.id)
  else
    count('codes', nil, g.id)
  end
  if type(g.refresh) == 'table' then count('refresh', g.expires_at, g.id) else count('refresh', nil, g.id) end
end

-- An index set of grant ids lives at least as long as its longest grant:
-- its TTL only grows (TTL then EXPIRE: Redis 6 has no EXPIRE GT).
local function index_ttl(key, seconds)
  local left = redis.call('TTL', key)
  if left == -1 or (left >= 0 and left < seconds) then redis.call('EXPIRE', key, seconds) end
end

-- The per-client and per-subject indexes of a grant whose expiry is `seconds` away (one server only).
local function index_grant(g, seconds)
  if not prefix then return end
  local keys = { prefix .. 'clientgrants:' .. g.client_id }
  if type(g.subject) == 'string' then table.insert(keys, prefix .. 'subject:' .. g.subject) end
  for _, key in ipairs(keys) do
    redis.call('SADD', key, g.id)
    index_ttl(key, seconds)
  end
end
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
    count('access', nil, access_base .. a.digest)
  end
  redis.call('DEL', grant_key)
  count('codes', nil, g.id)
  count('refresh', nil, g.id)
end

-- Stores the grant and its new access token; returns the script's answer.
local function store(tag, grant_key, access_key, g, scopes, now, access_expires_at)
  local grant_json = cjson.encode(g)
  local access = access_json(g, scopes, now, access_expires_at)
  redis.call('SET', grant_key, grant_json, 'EX', ttl(g.expires_at, now))
  redis.call('SET', access_key, access, 'EX', ttl(access_expires_at, now))
  count_grant(g)
  count('access', access_expires_at, access_key)
  index_grant(g, tonumber(ttl(g.expires_at, now)))
  return { tag, grant_json, access }
end
