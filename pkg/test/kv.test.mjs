// KvStorage over JS hosts: the full flow on an atomic Map host and on a
// Workers-KV-like host, host failures answered as 503, never a trap, and the
// single-use races on every atomic store with their host-call counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOAuthProvider, InMemoryStorage, KvStorage, WorkersKvHost } from '../src/node.js';
import { ISSUER, authorize, bearer, post } from './helpers.mjs';
import { AtomicMapHost, MapHost } from './hosts.mjs';
import { RACE_CLIENTS, raceExchanges, raceRefreshes } from './races.mjs';

const clients = [{ clientId: 'conf', clientSecret: 'conf-secret', redirectUris: ['https://app.example/cb'], scopes: ['read'] }];

async function flow(storage) {
  const provider = await createOAuthProvider({ issuer: ISSUER, clients, storage });
  const { code, verifier } = await authorize(provider, { clientId: 'conf', redirectUri: 'https://app.example/cb' });
  const creds = { clientId: 'conf', clientSecret: 'conf-secret' };
  const tokens = await provider.exchangeAuthorizationCode({ ...creds, code, redirectUri: 'https://app.example/cb', codeVerifier: verifier });
  assert.equal((await provider.authenticate(bearer(tokens.access_token))).auth.subject, 'alice');
  const rotated = await provider.exchangeRefreshToken({ ...creds, refreshToken: tokens.refresh_token });
  await provider.revokeToken({ ...creds, token: rotated.refresh_token });
  assert.equal((await provider.authenticate(bearer(rotated.access_token))).response.status, 401);
  return provider;
}

test('atomic Map host: full flow, keys under the prefix, no secret in clear', async () => {
  const host = new AtomicMapHost();
  const storage = new KvStorage(host, { keyPrefix: 'test:' });
  const provider = await flow(storage);
  assert.ok(host.map.size > 0);
  for (const key of host.map.keys()) assert.ok(key.startsWith('test:'), key);
  const dump = JSON.stringify([...host.map]);
  assert.ok(!dump.includes('conf-secret'), 'the client secret is stored in clear');
  const health = await storage.healthCheck();
  assert.equal(health.components.atomicity, 'atomic');
  assert.ok(!JSON.stringify(health).includes('test:'), `a health report names no key prefix: ${JSON.stringify(health)}`);
  assert.deepEqual(await storage.listClients(), ['conf']);
  assert.equal((await provider.getStats()).clients, 1);
});

test('Workers-KV-like host: works, with best-effort single use said in health', async () => {
  const host = new MapHost({ atomic: false, minTtlSeconds: 60 });
  const storage = new KvStorage(host);
  await flow(storage);
  const health = await storage.healthCheck();
  assert.equal(health.healthy, true);
  assert.match(health.components.atomicity, /best-effort/);
  for (const key of host.map.keys()) assert.ok(key.startsWith('oauth:'), `default prefix: ${key}`);
});

test('WorkersKvHost adapter over a namespace stub that enforces the 60 s minimum', async () => {
  const store = new Map();
  const namespace = {
    async get(key) { return store.get(key) ?? null; },
    async put(key, value, options) {
      if (options && options.expirationTtl < 60) throw new Error('expirationTtl must be at least 60');
      store.set(key, value);
    },
    async delete(key) { store.delete(key); },
    async list({ prefix, cursor, limit }) {
      const keys = [...store.keys()].filter((k) => k.startsWith(prefix)).sort();
      const start = cursor ? Number(cursor) : 0;
      const done = start + limit >= keys.length;
      return { keys: keys.slice(start, start + limit).map((name) => ({ name })), list_complete: done, cursor: done ? undefined : String(start + limit) };
    },
  };
  await flow(new KvStorage(new WorkersKvHost(namespace)));
  assert.throws(() => new WorkersKvHost({}), /KV namespace/);
});

test('a failing host is a 503 with Retry-After, and health says unhealthy', async () => {
  const host = new AtomicMapHost();
  const storage = new KvStorage(host);
  const provider = await createOAuthProvider({ issuer: ISSUER, clients, storage });
  host.get = async () => { throw new Error('KV is down'); };
  host.put = () => Promise.reject(new Error('KV is down'));
  host.getVersioned = host.get;
  host.commit = () => { throw new Error('KV is down'); };
  const response = await provider.fetch(post('/token', { grant_type: 'refresh_token', refresh_token: `${'a'.repeat(22)}.${'b'.repeat(43)}`, client_id: 'conf', client_secret: 'conf-secret' }));
  assert.equal(response.status, 503);
  assert.ok(response.headers.get('retry-after'));
  assert.equal((await response.json()).error, 'temporarily_unavailable');
  const auth = await provider.authenticate(bearer(`${'a'.repeat(22)}.${'b'.repeat(43)}`));
  assert.equal(auth.response.status, 503);
  const health = await storage.healthCheck();
  assert.equal(health.healthy, false);
  assert.deepEqual(health.errors, ['storage unavailable'], 'the kind of failure, not the host\'s text');
});

test('hosts missing required methods are refused at construction', () => {
  assert.throws(() => new KvStorage({ get() {} }), /no put\(\) method/);
  const notReallyAtomic = { ...new MapHost(), capabilities: () => ({ atomic: true }), get() {}, put() {}, delete() {}, list() {} };
  assert.throws(() => new KvStorage(notReallyAtomic), /getVersioned\(\) and commit\(\)/);
});

for (const [name, make] of [
  ['InMemoryStorage', () => new InMemoryStorage()],
  ['an atomic Map host whose calls interleave', () => new KvStorage(new AtomicMapHost())],
]) {
  test(`${name}: 50 concurrent exchanges of one code give exactly one token response`, async () => {
    await raceExchanges(await createOAuthProvider({ issuer: ISSUER, clients: RACE_CLIENTS, storage: make() }));
  });

  test(`${name}: 50 concurrent refreshes of one token all succeed, with one successor`, async () => {
    await raceRefreshes(await createOAuthProvider({ issuer: ISSUER, clients: RACE_CLIENTS, storage: make() }));
  });
}

test('refreshGraceSeconds: 0 makes the previous refresh token reuse at once, which ends the grant', async () => {
  const provider = await createOAuthProvider({ issuer: ISSUER, clients, storage: new KvStorage(new AtomicMapHost()), refreshGraceSeconds: 0 });
  const { code, verifier } = await authorize(provider, { clientId: 'conf', redirectUri: 'https://app.example/cb' });
  const creds = { clientId: 'conf', clientSecret: 'conf-secret' };
  const tokens = await provider.exchangeAuthorizationCode({ ...creds, code, redirectUri: 'https://app.example/cb', codeVerifier: verifier });
  const rotated = await provider.exchangeRefreshToken({ ...creds, refreshToken: tokens.refresh_token });
  const reuse = provider.exchangeRefreshToken({ ...creds, refreshToken: tokens.refresh_token });
  await assert.rejects(reuse, (error) => error.code === 'invalid_grant');
  await assert.rejects(provider.exchangeRefreshToken({ ...creds, refreshToken: rotated.refresh_token }), (error) => error.code === 'invalid_grant');
});

test('an atomic Map host: each single-use step is at most two host calls', async () => {
  const host = new AtomicMapHost();
  const provider = await createOAuthProvider({ issuer: ISSUER, clients, storage: new KvStorage(host) });
  const creds = { clientId: 'conf', clientSecret: 'conf-secret' };
  // Warm the provider's client cache, so only the step itself is counted.
  await provider.introspectToken({ ...creds, token: 'x' });
  host.calls = 0;
  const { code, verifier } = await authorize(provider, { clientId: 'conf', redirectUri: 'https://app.example/cb' });
  assert.equal(host.calls, 1, 'authorize: one commit');
  host.calls = 0;
  const tokens = await provider.exchangeAuthorizationCode({ ...creds, code, redirectUri: 'https://app.example/cb', codeVerifier: verifier });
  assert.equal(host.calls, 2, 'exchange: a versioned read and a commit');
  host.calls = 0;
  await provider.verifyAccessToken(tokens.access_token);
  assert.equal(host.calls, 1, 'verify: one read');
  host.calls = 0;
  await provider.exchangeRefreshToken({ ...creds, refreshToken: tokens.refresh_token });
  assert.equal(host.calls, 2, 'refresh: a versioned read and a commit');
});
