// The Deno KV adapter under Deno: the full flow on KvStorage(DenoKvHost), and
// its atomics (one winner among concurrent exchanges of one code, one chain
// among concurrent refreshes) and its size limits.
import { createOAuthProvider, DenoKvHost, KvStorage } from '../../src/deno.js';
import { ISSUER, authorize, bearer } from '../helpers.mjs';
import { raceExchanges, raceRefreshes } from '../races.mjs';

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const clients = [{ clientId: 'conf', clientSecret: 'conf-secret', redirectUris: ['https://app.example/cb'], scopes: ['read'] }];
const creds = { clientId: 'conf', clientSecret: 'conf-secret' };

async function setup() {
  const kv = await Deno.openKv(':memory:');
  const storage = new KvStorage(new DenoKvHost(kv));
  const provider = await createOAuthProvider({ issuer: ISSUER, clients, storage });
  return { kv, storage, provider };
}

Deno.test('full flow over Deno KV, nothing in clear, atomic health', async () => {
  const { kv, storage, provider } = await setup();
  const { code, verifier } = await authorize(provider, { clientId: 'conf', redirectUri: 'https://app.example/cb' });
  const tokens = await provider.exchangeAuthorizationCode({ ...creds, code, redirectUri: 'https://app.example/cb', codeVerifier: verifier });
  assert((await provider.authenticate(bearer(tokens.access_token))).auth.subject === 'alice', 'the token authenticates');
  const rotated = await provider.exchangeRefreshToken({ ...creds, refreshToken: tokens.refresh_token });
  const stored = [];
  for await (const entry of kv.list({ prefix: ['simply-mcp-oauth'] })) stored.push(JSON.stringify(entry));
  const dump = stored.join('\n');
  for (const secret of [code, tokens.access_token, tokens.refresh_token, rotated.refresh_token, 'conf-secret']) {
    assert(!dump.includes(secret.split('.').pop()), 'a secret is stored in clear');
  }
  await provider.revokeToken({ ...creds, token: rotated.refresh_token });
  assert((await provider.authenticate(bearer(rotated.access_token))).response.status === 401, 'revoked');
  const health = await storage.healthCheck();
  assert(health.healthy && health.components.atomicity === 'atomic', JSON.stringify(health));
  kv.close();
});

Deno.test('50 concurrent exchanges of one code over Deno KV: exactly one succeeds', async () => {
  const { kv, provider } = await setup();
  await raceExchanges(provider);
  kv.close();
});

Deno.test('50 concurrent refreshes of one token over Deno KV: all succeed, one successor', async () => {
  const { kv, provider } = await setup();
  await raceRefreshes(provider);
  kv.close();
});

Deno.test('commit is atomic: of concurrent commits checking one versionstamp, one wins', async () => {
  const kv = await Deno.openKv(':memory:');
  const host = new DenoKvHost(kv);
  const created = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    host.commit([{ key: 'k', version: null }], [{ type: 'set', key: 'k', value: `v${i}`, ttlSeconds: 60 }])));
  assert(created.filter(Boolean).length === 1, 'one create-if-absent wins');
  const read = await host.getVersioned('k');
  const moves = await Promise.all(Array.from({ length: 20 }, (_, i) => host.commit(
    [{ key: 'k', version: read.version }],
    [{ type: 'set', key: 'k', value: `moved${i}`, ttlSeconds: 0 }, { type: 'set', key: `side${i}`, value: 'x', ttlSeconds: 0 }],
  )));
  assert(moves.filter(Boolean).length === 1, 'one checked commit wins');
  const sides = await host.list('side', null, 100);
  assert(sides.keys.length === 1, `a lost commit wrote nothing: ${JSON.stringify(sides.keys)}`);
  const now = await host.getVersioned('k');
  assert(now.version !== read.version && now.value.startsWith('moved'), 'the version moved with the write');
  assert(await host.commit([{ key: 'k', version: now.version }], [{ type: 'delete', key: 'k' }]), 'checked delete');
  assert((await host.get('k')) === null, 'deleted');
  for (let i = 0; i < 7; i++) await host.put(`p:${i}`, 'x', 0);
  const first = await host.list('p:', null, 5);
  const second = await host.list('p:', first.cursor, 5);
  assert(first.keys.length === 5 && second.keys.length === 2 && second.cursor === null, JSON.stringify([first, second]));
  kv.close();
});

Deno.test('Deno KV limits are named before Deno refuses: 64 KiB values, 2 KiB keys', async () => {
  const kv = await Deno.openKv(':memory:');
  const host = new DenoKvHost(kv);
  await rejects(() => host.put('big', 'x'.repeat(64 * 1024 + 1), 0), /64 KiB/);
  await rejects(() => host.commit([], [{ type: 'set', key: 'k'.repeat(2100), value: 'v', ttlSeconds: 0 }]), /2 KiB/);
  await host.put('fits', 'x'.repeat(60 * 1024), 0);
  assert((await host.get('fits')).length === 60 * 1024, 'a value under the limit is stored');
  kv.close();
});

async function rejects(call, pattern) {
  try {
    await call();
  } catch (error) {
    assert(pattern.test(String(error)), `wrong error: ${error}`);
    return;
  }
  throw new Error(`expected a rejection matching ${pattern}`);
}

Deno.test('over Deno KV each step is at most two host calls and two Deno KV operations', async () => {
  const kv = await Deno.openKv(':memory:');
  const counts = { host: 0, kv: 0 };
  const count = (target, key) => new Proxy(target, {
    get(object, name) {
      const value = Reflect.get(object, name);
      if (typeof value !== 'function' || name === 'capabilities') return value;
      return (...args) => (counts[key] += 1, value.apply(object, args));
    },
  });
  const storage = new KvStorage(count(new DenoKvHost(count(kv, 'kv')), 'host'));
  const provider = await createOAuthProvider({ issuer: ISSUER, clients, storage });
  await provider.introspectToken({ ...creds, token: 'x' }); // caches the client record
  const step = async (name, expected, work) => {
    Object.assign(counts, { host: 0, kv: 0 });
    const result = await work();
    assert(counts.host === expected && counts.kv === expected, `${name}: ${JSON.stringify(counts)}, expected ${expected}`);
    return result;
  };
  const { code, verifier } = await step('authorize', 1, () => authorize(provider, { clientId: 'conf', redirectUri: 'https://app.example/cb' }));
  const tokens = await step('exchange', 2, () => provider.exchangeAuthorizationCode({ ...creds, code, redirectUri: 'https://app.example/cb', codeVerifier: verifier }));
  await step('verify', 1, () => provider.verifyAccessToken(tokens.access_token));
  await step('refresh', 2, () => provider.exchangeRefreshToken({ ...creds, refreshToken: tokens.refresh_token }));
  kv.close();
});
