// verifyAccessToken, the call behind every MCP request: always a Promise
// (even when the in-module store answers at once), a frozen AuthInfo that may
// be reused between calls, and revocation seen on the very next call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOAuthProvider, KvStorage } from '../src/node.js';
import { ISSUER, authorize } from './helpers.mjs';
import { AtomicMapHost } from './hosts.mjs';

const REDIRECT = 'https://app.example/cb';
const creds = { clientId: 'conf', clientSecret: 'conf-secret' };

async function issued(storage) {
  const clients = [{ ...creds, redirectUris: [REDIRECT], scopes: ['read', 'write'] }];
  const provider = await createOAuthProvider({ issuer: ISSUER, clients, storage });
  const { code, verifier } = await authorize(provider, { clientId: 'conf', redirectUri: REDIRECT });
  const tokens = await provider.exchangeAuthorizationCode({ ...creds, code, redirectUri: REDIRECT, codeVerifier: verifier });
  return { provider, tokens };
}

for (const [name, storage] of [
  ['InMemoryStorage', () => undefined],
  ['KvStorage over an async JS host', () => new KvStorage(new AtomicMapHost())],
]) {
  test(`${name}: a Promise of a frozen AuthInfo; revocation is seen at once`, async () => {
    const { provider, tokens } = await issued(storage());
    const pending = provider.verifyAccessToken(tokens.access_token);
    assert.ok(pending instanceof Promise, 'verifyAccessToken returns a Promise');
    const first = await pending;
    assert.equal(first.subject, 'alice');
    assert.deepEqual(first.scopes, ['read', 'write']);
    assert.deepEqual(first.props, { tenant: 'acme' });
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first.scopes) && Object.isFrozen(first.props));
    assert.throws(() => first.scopes.push('admin'), TypeError, 'nobody can widen what the next caller sees');
    assert.deepEqual(await provider.verifyAccessToken(tokens.access_token), first);

    await provider.revokeToken({ ...creds, token: tokens.refresh_token });
    await assert.rejects(provider.verifyAccessToken(tokens.access_token), { code: 'invalid_token' });
  });
}

test('a malformed token rejects (never throws) with invalid_token', async () => {
  const { provider } = await issued(undefined);
  for (const token of ['', 'x', 'a.b', `${'A'.repeat(22)}.${'B'.repeat(43)}`]) {
    const answer = provider.verifyAccessToken(token);
    assert.ok(answer instanceof Promise);
    await assert.rejects(answer, { code: 'invalid_token' });
  }
});
