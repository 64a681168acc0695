// The Deno KV adapter under Deno: the full flow on KvStorage(DenoKvHost), and
// its atomics (one winner among concurrent exchanges of one code).
import { createOAuthProvider, DenoKvHost, KvStorage } from '../../src/deno.js';
import { ISSUER, authorize, bearer } from '../helpers.mjs';

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
  const { code, verifier } = await authorize(provider, { clientId: 'conf', redirectUri: 'https://app.example/cb' });
  const attempts = Array.from({ length: 50 }, () =>
    provider.exchangeAuthorizationCode({ ...creds, code, redirectUri: 'https://app.example/cb', codeVerifier: verifier }).then(
      () => 'ok',
      (error) => error.code,
    ),
  );
  const outcomes = await Promise.all(attempts);
  assert(outcomes.filter((o) => o === 'ok').length === 1, `winners: ${outcomes.join(',')}`);
  assert(outcomes.every((o) => o === 'ok' || o === 'invalid_grant'), `unexpected: ${outcomes.join(',')}`);
  kv.close();
});

Deno.test('putIfAbsent and take are atomic', async () => {
  const kv = await Deno.openKv(':memory:');
  const host = new DenoKvHost(kv);
  const writes = await Promise.all(Array.from({ length: 20 }, (_, i) => host.putIfAbsent('k', `v${i}`, 60)));
  assert(writes.filter(Boolean).length === 1, 'one putIfAbsent wins');
  const takes = await Promise.all(Array.from({ length: 20 }, () => host.take('k')));
  assert(takes.filter((v) => v !== null).length === 1, 'one take gets the value');
  assert((await host.get('k')) === null, 'taken');
  for (let i = 0; i < 7; i++) await host.put(`p:${i}`, 'x', 0);
  const first = await host.list('p:', null, 5);
  const second = await host.list('p:', first.cursor, 5);
  assert(first.keys.length === 5 && second.keys.length === 2 && second.cursor === null, JSON.stringify([first, second]));
  kv.close();
});
