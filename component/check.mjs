// Runs the jco-transpiled component (out/oauth.js, instantiation mode) with a
// `kv` import backed by a JS Map, and checks the provider end to end:
// metadata, dynamic registration (which never grants client_credentials), a
// configured machine client's client_credentials token, authenticate (which
// refuses it) and authenticate-machine (which accepts it), stats, health, and
// a store failure answered with 503. Exits non-zero on failure.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { cli, clocks, io, random } from '@bytecodealliance/preview2-shim';
import { instantiate } from './out/oauth.js';

const outDir = fileURLToPath(new URL('./out/', import.meta.url));

// ---- the host's key-value store: a Map, atomic (JS is single-threaded) ----
const store = new Map(); // key -> { value, expiresAt (ms) | 0 }
const calls = {};
let failing = false;
const count = (name) => { calls[name] = (calls[name] ?? 0) + 1; };
const check = () => { if (failing) throw { payload: { tag: 'unavailable', val: 'test outage' } }; };
const live = (key) => {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt && entry.expiresAt <= Date.now()) { store.delete(key); return undefined; }
  return entry;
};
let lastVersion = 0;
const write = (key, value, ttl) =>
  store.set(key, { value, version: ++lastVersion, expiresAt: ttl > 0n ? Date.now() + Number(ttl) * 1000 : 0 });

const kv = {
  get(key) { count('get'); check(); return live(key)?.value; },
  put(key, value, ttl) { count('put'); check(); write(key, value, ttl); },
  delete(key) { count('delete'); check(); store.delete(key); },
  list(prefix, cursor, limit) {
    count('list'); check();
    const keys = [...store.keys()].filter((k) => k.startsWith(prefix) && live(k)).sort();
    const start = cursor === undefined ? 0 : Number(cursor);
    const page = keys.slice(start, start + limit);
    const next = start + page.length;
    return { keys: page, cursor: next < keys.length ? String(next) : undefined };
  },
  getVersioned(key) {
    count('getVersioned'); check();
    const entry = live(key);
    return entry && { value: entry.value, version: String(entry.version) };
  },
  commit(checks, mutations) {
    count('commit'); check();
    if (!checks.every((c) => (live(c.key) ? String(live(c.key).version) : undefined) === c.version)) return false;
    for (const m of mutations) {
      if (m.tag === 'set') write(m.val.key, m.val.value, m.val.ttlSeconds);
      else store.delete(m.val);
    }
    return true;
  },
  capabilities() { count('capabilities'); return { atomic: true, minTtlSeconds: 1n, consistentReads: true }; },
};

const V = '0.2.12';
const imports = {
  'simply-mcp:oauth/kv@0.1.0': kv,
  [`wasi:cli/environment@${V}`]: cli.environment,
  [`wasi:cli/exit@${V}`]: cli.exit,
  [`wasi:cli/stderr@${V}`]: cli.stderr,
  [`wasi:cli/stdin@${V}`]: cli.stdin,
  [`wasi:cli/stdout@${V}`]: cli.stdout,
  [`wasi:cli/terminal-input@${V}`]: cli.terminalInput,
  [`wasi:cli/terminal-output@${V}`]: cli.terminalOutput,
  [`wasi:cli/terminal-stderr@${V}`]: cli.terminalStderr,
  [`wasi:cli/terminal-stdin@${V}`]: cli.terminalStdin,
  [`wasi:cli/terminal-stdout@${V}`]: cli.terminalStdout,
  [`wasi:clocks/monotonic-clock@${V}`]: clocks.monotonicClock,
  [`wasi:clocks/wall-clock@${V}`]: clocks.wallClock,
  [`wasi:io/error@${V}`]: io.error,
  [`wasi:io/poll@${V}`]: io.poll,
  [`wasi:io/streams@${V}`]: io.streams,
  [`wasi:random/insecure-seed@${V}`]: random.insecureSeed,
  [`wasi:random/random@${V}`]: random.random,
};

// One configured confidential client, from the component's WASI environment.
const MACHINE = { id: 'machine-client', secret: 'machine-secret-0123456789abcdef' };
cli._setEnv({ SIMPLY_MCP_OAUTH_CLIENT_ID: MACHINE.id, SIMPLY_MCP_OAUTH_CLIENT_SECRET: MACHINE.secret });

// jco's .d.ts names imports with their version, its instantiate() without:
// pass both spellings.
for (const [name, value] of Object.entries(imports)) imports[name.replace(/@[^@/]*$/, '')] = value;

const component = await instantiate(
  async (name) => WebAssembly.compile(await readFile(outDir + name)),
  imports,
);
const { provider } = component;

// ---- helpers ----
const ISSUER = 'http://localhost:8787';
const enc = new TextEncoder();
const dec = new TextDecoder();
const request = (method, path, headers = [], body = '') => ({
  method,
  url: ISSUER + path,
  headers: headers.map(([name, value]) => ({ name, value })),
  body: enc.encode(body),
});
const header = (response, name) => response.headers.find((h) => h.name.toLowerCase() === name)?.value;
const json = (response) => JSON.parse(dec.decode(response.body));
const show = (v) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x));
let passed = 0;
const step = (name, fn) => { fn(); passed += 1; console.log(`ok ${passed} - ${name}`); };

// ---- the checks ----
let metadata;
step('GET /.well-known/oauth-authorization-server: 200, JSON issuer', () => {
  const response = provider.handle(request('GET', '/.well-known/oauth-authorization-server'));
  assert.equal(response.status, 200);
  assert.match(header(response, 'content-type'), /application\/json/);
  metadata = json(response);
  assert.equal(metadata.issuer, ISSUER);
  assert.equal(metadata.token_endpoint, `${ISSUER}/token`);
});

step('GET /.well-known/oauth-protected-resource: 200', () => {
  const response = provider.handle(request('GET', '/.well-known/oauth-protected-resource'));
  assert.equal(response.status, 200);
  assert.equal(json(response).resource, `${ISSUER}/mcp`);
});

step('POST /register asking for client_credentials: 400 invalid_client_metadata', () => {
  const response = provider.handle(request('POST', '/register', [['content-type', 'application/json']], JSON.stringify({
    client_name: 'component check',
    grant_types: ['client_credentials'],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'mcp',
  })));
  assert.equal(response.status, 400, dec.decode(response.body));
  assert.equal(json(response).error, 'invalid_client_metadata');
});

step('POST /register (authorization_code, public): 201', () => {
  const response = provider.handle(request('POST', '/register', [['content-type', 'application/json']], JSON.stringify({
    client_name: 'component check',
    redirect_uris: ['http://127.0.0.1/cb'],
    token_endpoint_auth_method: 'none',
  })));
  assert.equal(response.status, 201, dec.decode(response.body));
  assert.deepEqual(json(response).grant_types, ['authorization_code', 'refresh_token']);
});

let accessToken;
step('POST /token client_credentials by the configured client: 200 bearer token', () => {
  const basic = Buffer.from(`${encodeURIComponent(MACHINE.id)}:${encodeURIComponent(MACHINE.secret)}`).toString('base64');
  const response = provider.handle(request('POST', '/token',
    [['content-type', 'application/x-www-form-urlencoded'], ['authorization', `Basic ${basic}`]],
    new URLSearchParams({ grant_type: 'client_credentials', scope: 'mcp' }).toString()));
  assert.equal(response.status, 200, dec.decode(response.body));
  const token = json(response);
  assert.equal(token.token_type.toLowerCase(), 'bearer');
  assert.ok(token.access_token);
  accessToken = token.access_token;
});

step('authenticate with the machine token: refused 403 insufficient_scope (no user)', () => {
  const result = provider.authenticate(request('POST', '/mcp', [['authorization', `Bearer ${accessToken}`]]), ['mcp']);
  assert.equal(result.tag, 'refused', show(result));
  assert.equal(result.val.status, 403);
  assert.match(header(result.val, 'www-authenticate'), /insufficient_scope/);
});

step('authenticateMachine with the machine token: authenticated, client and scopes match', () => {
  const result = provider.authenticateMachine(request('POST', '/mcp', [['authorization', `Bearer ${accessToken}`]]), ['mcp']);
  assert.equal(result.tag, 'authenticated', show(result));
  assert.equal(result.val.clientId, MACHINE.id);
  assert.equal(result.val.subject, undefined);
  assert.deepEqual(result.val.scopes, ['mcp']);
  assert.equal(result.val.resource, `${ISSUER}/mcp`);
  assert.equal(typeof JSON.parse(result.val.propsJson), 'object');
  const now = BigInt(Math.floor(Date.now() / 1000));
  assert.ok(result.val.expiresAt > now && result.val.expiresAt < now + 86400n, String(result.val.expiresAt));
});

step('authenticate with a wrong token: refused 401 with WWW-Authenticate', () => {
  const result = provider.authenticate(request('POST', '/mcp', [['authorization', 'Bearer nope']]), ['mcp']);
  assert.equal(result.tag, 'refused');
  assert.equal(result.val.status, 401);
  assert.match(header(result.val, 'www-authenticate'), /^Bearer /);
});

step('authenticate without a required scope: refused 403', () => {
  const result = provider.authenticateMachine(request('POST', '/mcp', [['authorization', `Bearer ${accessToken}`]]), ['admin']);
  assert.equal(result.tag, 'refused');
  assert.equal(result.val.status, 403);
});

step('stats: two clients (configured, registered), one live token', () => {
  const stats = provider.stats();
  assert.equal(stats.clients, 2n);
  assert.equal(stats.tokens, 1n);
});

step('health: healthy', () => {
  const report = provider.health();
  assert.equal(report.healthy, true, show(report));
});

step('secrets never appear in keys', () => {
  for (const key of store.keys()) {
    assert.ok(!key.includes(accessToken) && !key.includes(MACHINE.secret), key);
  }
});

step('store unavailable: token 503, stats err, health unhealthy (no trap)', () => {
  failing = true;
  try {
    const response = provider.handle(request('POST', '/register', [['content-type', 'application/json']],
      JSON.stringify({ redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' })));
    assert.equal(response.status, 503, dec.decode(response.body));
    assert.throws(() => provider.stats());
    assert.equal(provider.health().healthy, false);
  } finally {
    failing = false;
  }
  assert.equal(provider.handle(request('GET', '/.well-known/oauth-authorization-server')).status, 200);
});

console.log(`# ${passed} checks passed; kv calls: ${JSON.stringify(calls)}; keys stored: ${store.size}`);
