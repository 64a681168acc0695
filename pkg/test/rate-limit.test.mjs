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
import { ISSUER, post } from './helpers.mjs';

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
    clients: [{ clientId: 'blocked', clientSecret: 's3cret', redirectUris: ['http://127.0.0.1/cb'] }],
    rateLimiter: async (bucket, key) => {
      calls.push([bucket, key]);
      return key === 'blocked' ? 12 : 0;
    },
  });
  const form = (path, body) => new Request(`${ISSUER}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-test-ip': '2001:db8:1:2::7' },
    body,
  });
  // A wrong secret is not the client: only its address counts.
  const guess = await provider.fetch(form('/token', 'grant_type=refresh_token&refresh_token=a.b&client_id=blocked&client_secret=guess'));
  assert.equal(guess.status, 401);
  const refused = await provider.fetch(form('/token', 'grant_type=refresh_token&refresh_token=a.b&client_id=blocked&client_secret=s3cret'));
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get('retry-after'), '12');
  assert.equal((await provider.fetch(form('/introspect', 'token=a.b&client_id=blocked&client_secret=s3cret'))).status, 200);
  assert.equal((await provider.fetch(form('/revoke', 'token=a.b&client_id=blocked&client_secret=s3cret'))).status, 200);
  assert.deepEqual(calls, [
    ['tokenPerIp', '2001:db8:1:2::/64'],
    ['tokenPerIp', '2001:db8:1:2::/64'],
    ['tokenPerClient', 'blocked'],
    ['introspectPerIp', '2001:db8:1:2::/64'],
    ['revokePerIp', '2001:db8:1:2::/64'],
  ]);
});

test('secret guesses at /introspect and /revoke are limited per address', async () => {
  const provider = await createOAuthProvider({
    issuer: ISSUER,
    clientIp: byTestHeader,
    clients: [{ clientId: 'rs', clientSecret: 'right', redirectUris: ['http://127.0.0.1/cb'] }],
    rateLimits: { introspectPerIp: { limit: 3, period: 60 }, revokePerIp: { limit: 2, period: 60 } },
  });
  const guess = (path, secret, ip) => post(path, { token: 'a.b', client_id: 'rs', client_secret: secret }, { 'x-test-ip': ip });
  for (let i = 0; i < 3; i++) assert.equal((await provider.fetch(guess('/introspect', `g${i}`, '127.0.0.2'))).status, 401);
  const refused = await provider.fetch(guess('/introspect', 'right', '127.0.0.2'));
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get('retry-after'), '20');
  assert.equal((await provider.fetch(guess('/introspect', 'right', '127.0.0.3'))).status, 200, 'another address');
  for (let i = 0; i < 2; i++) assert.equal((await provider.fetch(guess('/revoke', `g${i}`, '127.0.0.2'))).status, 401);
  assert.equal((await provider.fetch(guess('/revoke', 'right', '127.0.0.2'))).status, 429);
  assert.equal(DEFAULT_RATE_LIMITS.introspectPerIp.limit, 600);
  assert.equal(DEFAULT_RATE_LIMITS.revokePerIp.limit, 60);
});

test('naming a client from other addresses never makes its own request a 429', async () => {
  const provider = await createOAuthProvider({
    issuer: ISSUER,
    clientIp: byTestHeader,
    clients: [{ clientId: 'victim', clientSecret: 'right', redirectUris: ['http://127.0.0.1/cb'] }],
    rateLimits: { tokenPerClient: { limit: 2, period: 60 } },
  });
  const attempt = (params, ip) => post('/token', { grant_type: 'refresh_token', refresh_token: 'a.b', ...params }, { 'x-test-ip': ip });
  for (let i = 0; i < 30; i++) {
    const ip = `127.0.0.${2 + (i % 3)}`;
    assert.equal((await provider.fetch(attempt({ client_id: 'victim', client_secret: 'wrong' }, ip))).status, 401);
    assert.equal((await provider.fetch(attempt({ client_id: 'victim' }, ip))).status, 401);
  }
  const own = await provider.fetch(attempt({ client_id: 'victim', client_secret: 'right' }, '127.0.0.5'));
  assert.equal(own.status, 400, 'the victim is heard (its refresh token is unknown), not refused');
  assert.equal((await own.json()).error, 'invalid_grant');
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
