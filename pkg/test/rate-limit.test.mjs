// Rate limits through the JS API: the module asks the package's limiter,
// keyed by the address `clientIp(request)` finds, and answers 429.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clientIpKey,
  createOAuthProvider,
  DEFAULT_RATE_LIMITS,
  memoryRateLimiter,
  SimplyMCPOAuthProvider,
  workersRateLimiter,
} from '../src/node.js';
import { ISSUER } from './helpers.mjs';

function registration(ip) {
  return new Request(`${ISSUER}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-test-ip': ip ?? '' },
    body: JSON.stringify({ redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' }),
  });
}

const byTestHeader = (request) => request.headers.get('x-test-ip') || undefined;

test('registrations over the per-IP limit get 429 too_many_requests with Retry-After', async () => {
  const provider = await createOAuthProvider({
    issuer: ISSUER,
    clientIp: byTestHeader,
    rateLimits: { registerPerIp: { limit: 2, period: 3600 } },
  });
  assert.equal((await provider.fetch(registration('192.0.2.1'))).status, 201);
  assert.equal((await provider.fetch(registration('192.0.2.1'))).status, 201);
  const refused = await provider.fetch(registration('192.0.2.1'));
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get('retry-after'), '1800');
  const body = await refused.json();
  assert.equal(body.error, 'too_many_requests');
  assert.match(body.error_description, /retry after 1800 seconds/);
  assert.equal((await provider.fetch(registration('192.0.2.2'))).status, 201, 'another address');
  assert.equal((await provider.getStats()).clients, 3, 'the refused one stored nothing');
});

test('the constructor applies the defaults; rateLimiter: false turns them off', async () => {
  const limited = new SimplyMCPOAuthProvider({ issuer: ISSUER, clientIp: byTestHeader });
  assert.ok(limited instanceof SimplyMCPOAuthProvider);
  await limited.initialize();
  for (let i = 0; i < DEFAULT_RATE_LIMITS.registerPerIp.limit; i++) {
    assert.equal((await limited.fetch(registration('192.0.2.9'))).status, 201);
  }
  assert.equal((await limited.fetch(registration('192.0.2.9'))).status, 429);
  const open = await createOAuthProvider({ issuer: ISSUER, clientIp: byTestHeader, rateLimiter: false });
  for (let i = 0; i <= DEFAULT_RATE_LIMITS.registerPerIp.limit; i++) {
    assert.equal((await open.fetch(registration('192.0.2.9'))).status, 201);
  }
});

test('a custom rateLimiter is asked with the bucket and key, and a Promise answer is awaited', async () => {
  const calls = [];
  const provider = await createOAuthProvider({
    issuer: ISSUER,
    clientIp: byTestHeader,
    rateLimiter: async (bucket, key) => {
      calls.push([bucket, key]);
      return key === 'blocked' ? 12 : 0;
    },
  });
  const token = new Request(`${ISSUER}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-test-ip': '2001:db8:1:2::7' },
    body: 'grant_type=client_credentials&client_id=blocked',
  });
  const refused = await provider.fetch(token);
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get('retry-after'), '12');
  assert.deepEqual(calls, [
    ['tokenPerIp', '2001:db8:1:2::/64'],
    ['tokenPerClient', 'blocked'],
  ]);
});

test('a limiter that throws lets the request through', async () => {
  const provider = await createOAuthProvider({
    issuer: ISSUER,
    rateLimiter: () => {
      throw new Error('limiter down');
    },
  });
  assert.equal((await provider.fetch(registration())).status, 201);
});

test('authorize over its limit is a 429 page, never a redirect', async () => {
  const provider = await createOAuthProvider({
    issuer: ISSUER,
    clientIp: byTestHeader,
    clients: [{ clientId: 'c', redirectUris: ['http://127.0.0.1/cb'] }],
    rateLimits: { authorizePerIp: { limit: 1, period: 900 } },
  });
  const url = `${ISSUER}/authorize?response_type=code&client_id=c&redirect_uri=${encodeURIComponent('http://127.0.0.1/cb')}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`;
  const get = () => new Request(url, { headers: { 'x-test-ip': '192.0.2.5' } });
  assert.ok((await provider.parseAuthorizationRequest(get())).request);
  const { response } = await provider.parseAuthorizationRequest(get());
  assert.equal(response.status, 429);
  assert.equal(response.headers.get('retry-after'), '900');
  assert.equal(response.headers.get('location'), null);
  assert.match(await response.text(), /too_many_requests/);
});

test('bad rate-limit options are refused with the field named', async () => {
  await assert.rejects(createOAuthProvider({ rateLimits: { registerPerIp: { limit: 0, period: 60 } } }), /rateLimits\.registerPerIp\.limit/);
  await assert.rejects(createOAuthProvider({ rateLimits: { registerPerHour: { limit: 1, period: 60 } } }), /rateLimits\.registerPerHour/);
  await assert.rejects(createOAuthProvider({ rateLimiter: 5 }), /rateLimiter must be a function/);
});

test('the in-memory limiter: bursts, then one per period/limit, on its clock', () => {
  let now = 1_000_000;
  const limiter = memoryRateLimiter({ tokenPerIp: { limit: 3, period: 60 } }, { now: () => now });
  assert.deepEqual([1, 2, 3].map(() => limiter('tokenPerIp', 'a')), [0, 0, 0]);
  assert.equal(limiter('tokenPerIp', 'a'), 20);
  assert.equal(limiter('tokenPerIp', 'b'), 0);
  now += 20_000;
  assert.equal(limiter('tokenPerIp', 'a'), 0);
  assert.ok(limiter('tokenPerIp', 'a') > 0);
  // A bucket turned off is never limited.
  const off = memoryRateLimiter({ tokenPerIp: false });
  for (let i = 0; i < 500; i++) assert.equal(off('tokenPerIp', 'a'), 0);
});

test('the Workers adapter uses a binding where there is one, the fallback elsewhere', async () => {
  const seen = [];
  const binding = { limit: async ({ key }) => (seen.push(key), { success: seen.length <= 1 }) };
  const limiter = workersRateLimiter({ registerTotal: binding }, { rateLimits: { registerPerIp: { limit: 1, period: 60 } } });
  assert.equal(await limiter('registerTotal', ''), 0);
  assert.equal(await limiter('registerTotal', ''), 60);
  assert.deepEqual(seen, ['registerTotal', 'registerTotal'], 'an empty key is named after its bucket');
  assert.equal(await limiter('registerPerIp', '192.0.2.1'), 0);
  assert.equal(await limiter('registerPerIp', '192.0.2.1'), 60);
});

test('client addresses: IPv4 as is, IPv6 by its /64', () => {
  assert.equal(clientIpKey('192.0.2.1'), '192.0.2.1');
  assert.equal(clientIpKey('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(clientIpKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(clientIpKey('[2001:db8::1]'), '2001:db8:0:0::/64');
  assert.equal(clientIpKey('::1'), '0:0:0:0::/64');
  assert.equal(clientIpKey(undefined), undefined);
});
