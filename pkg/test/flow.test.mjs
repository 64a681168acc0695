// A full OAuth flow through the JS API: provider.fetch for every endpoint,
// parse/complete for consent, authenticate for the protected route.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOAuthProvider, OAuthError } from '../src/node.js';
import { ISSUER, authorize, bearer, post } from './helpers.mjs';

const REDIRECT = 'http://127.0.0.1/callback';

async function setup() {
  return createOAuthProvider({
    issuer: ISSUER,
    clients: [{ clientId: 'conf', clientSecret: 'conf-secret', redirectUris: ['https://app.example/cb'], scopes: ['read', 'write'] }],
  });
}

test('discovery, registration, authorization, tokens, refresh, revocation via fetch', async () => {
  const provider = await setup();

  const challenge = await provider.authenticate(bearer('nope'), ['read']);
  assert.equal(challenge.response.status, 401);
  const wwwAuthenticate = challenge.response.headers.get('www-authenticate');
  assert.match(wwwAuthenticate, /^Bearer /);
  const metadataUrl = /resource_metadata="([^"]+)"/.exec(wwwAuthenticate)[1];
  const resourceMetadata = await (await provider.fetch(new Request(metadataUrl))).json();
  assert.deepEqual(resourceMetadata.authorization_servers, [ISSUER]);
  const asMetadata = await (await provider.fetch(new Request(`${ISSUER}/.well-known/oauth-authorization-server`))).json();
  assert.deepEqual(asMetadata.code_challenge_methods_supported, ['S256']);

  const registration = await provider.fetch(
    new Request(asMetadata.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', client_name: 'Test MCP client' }),
    }),
  );
  assert.equal(registration.status, 201);
  const client = await registration.json();
  assert.equal(client.client_secret, undefined, 'public clients get no secret');

  const redirectUri = 'http://127.0.0.1:49152/callback';
  const { code, verifier, location } = await authorize(provider, { clientId: client.client_id, redirectUri });
  assert.equal(location.searchParams.get('state'), 'st');
  assert.equal(location.searchParams.get('iss'), ISSUER);

  const tokenResponse = await provider.fetch(
    post('/token', { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: client.client_id }),
  );
  assert.equal(tokenResponse.status, 200);
  assert.equal(tokenResponse.headers.get('cache-control'), 'no-store');
  const tokens = await tokenResponse.json();

  const granted = await provider.authenticate(bearer(tokens.access_token), []);
  assert.equal(granted.auth.clientId, client.client_id);
  assert.equal(granted.auth.subject, 'alice');
  assert.deepEqual(granted.auth.props, { tenant: 'acme' });
  assert.equal(granted.auth.resource, `${ISSUER}/mcp`);

  const refreshed = await (
    await provider.fetch(post('/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id }))
  ).json();
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);

  const revoked = await provider.fetch(post('/revoke', { token: refreshed.refresh_token, client_id: client.client_id }));
  assert.equal(revoked.status, 200);
  const after = await provider.authenticate(bearer(refreshed.access_token), []);
  assert.equal(after.response.status, 401);
  assert.match(after.response.headers.get('www-authenticate'), /error="invalid_token"/);
});

test('the seed-style methods: exchange, refresh, introspect, revoke, verify, grants', async () => {
  const provider = await setup();
  const { code, verifier } = await authorize(provider, { clientId: 'conf', redirectUri: 'https://app.example/cb', scope: 'read' });
  const creds = { clientId: 'conf', clientSecret: 'conf-secret' };
  const tokens = await provider.exchangeAuthorizationCode({ ...creds, code, redirectUri: 'https://app.example/cb', codeVerifier: verifier });
  assert.equal(tokens.scope, 'read');
  await assert.rejects(
    provider.exchangeAuthorizationCode({ ...creds, code, redirectUri: 'https://app.example/cb', codeVerifier: verifier }),
    (error) => error instanceof OAuthError && error.code === 'invalid_grant' && error.status === 400,
  );
  await assert.rejects(provider.verifyAccessToken(tokens.access_token), { code: 'invalid_token' }, 'a replayed code revoked its tokens');

  const second = await authorize(provider, { clientId: 'conf', redirectUri: 'https://app.example/cb' });
  const fresh = await provider.exchangeAuthorizationCode({ ...creds, code: second.code, redirectUri: 'https://app.example/cb', codeVerifier: second.verifier });
  const info = await provider.verifyAccessToken(fresh.access_token);
  assert.deepEqual(info.scopes, ['read', 'write']);
  const introspection = await provider.introspectToken({ ...creds, token: fresh.access_token });
  assert.equal(introspection.active, true);
  assert.equal(introspection.sub, 'alice');
  const rotated = await provider.exchangeRefreshToken({ ...creds, refreshToken: fresh.refresh_token, scope: 'read' });
  assert.equal(rotated.scope, 'read');
  const grants = await provider.listGrants('alice');
  assert.equal(grants.length, 1);
  const { grantId, createdAt, expiresAt, resource, ...summary } = grants[0];
  assert.deepEqual(summary, { clientId: 'conf', scopes: ['read', 'write'] });
  assert.ok(typeof grantId === 'string' && resource.startsWith('http'));
  assert.ok(Number.isInteger(createdAt) && expiresAt > createdAt, 'Unix seconds, as numbers');
  assert.equal(await provider.revokeGrant('mallory', grants[0].grantId), false);
  await provider.revokeToken({ ...creds, token: rotated.refresh_token });
  assert.equal((await provider.introspectToken({ ...creds, token: rotated.access_token })).active, false);
  await assert.rejects(provider.exchangeRefreshToken({ clientId: 'conf', clientSecret: 'wrong', refreshToken: 'x' }), {
    code: 'invalid_client',
  });
});

test('untrusted redirect URIs get a 400 page, never a redirect', async () => {
  const provider = await setup();
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: 'conf',
    redirect_uri: 'https://evil.example/cb',
    code_challenge: 'x'.repeat(43),
    code_challenge_method: 'S256',
  });
  const parsed = await provider.parseAuthorizationRequest(new Request(`${ISSUER}/authorize?${query}`));
  assert.equal(parsed.response.status, 400);
  assert.equal(parsed.response.headers.get('location'), null);
  assert.match(parsed.response.headers.get('content-type'), /text\/html/);
});

test('a registered client gets a page for an early error, and its denial still redirects', async () => {
  const provider = await setup();
  const evil = 'https://evil.example/x';
  const registration = await provider.fetch(
    new Request(`${ISSUER}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [evil], token_endpoint_auth_method: 'none' }),
    }),
  );
  const { client_id } = await registration.json();
  const params = { client_id, redirect_uri: evil, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', state: 's1' };
  const bogus = new URLSearchParams({ ...params, response_type: 'bogus' });
  const early = await provider.parseAuthorizationRequest(new Request(`${ISSUER}/authorize?${bogus}`));
  assert.equal(early.response.status, 400, 'no open redirector (RFC 9700 §4.11.2)');
  assert.equal(early.response.headers.get('location'), null);
  const html = await early.response.text();
  assert.match(html, /unsupported_response_type/);
  assert.match(html, /<a href="https:\/\/evil.example"/);
  const good = new URLSearchParams({ ...params, response_type: 'code' });
  const parsed = await provider.parseAuthorizationRequest(new Request(`${ISSUER}/authorize?${good}`));
  const denied = new URL(await provider.denyAuthorization(parsed.request));
  assert.equal(`${denied.origin}${denied.pathname}`, evil, 'the user clicked Deny: redirected');
  assert.equal(denied.searchParams.get('error'), 'access_denied');
});

test('denial and insufficient scope', async () => {
  const provider = await setup();
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: 'conf',
    redirect_uri: 'https://app.example/cb',
    code_challenge: 'x'.repeat(43),
    code_challenge_method: 'S256',
    state: 's1',
    scope: 'read',
  });
  const parsed = await provider.parseAuthorizationRequest(new Request(`${ISSUER}/authorize?${query}`));
  const denied = new URL(await provider.denyAuthorization(parsed.request));
  assert.equal(denied.searchParams.get('error'), 'access_denied');
  assert.equal(denied.searchParams.get('state'), 's1');

  const { code, verifier } = await authorize(provider, { clientId: 'conf', redirectUri: 'https://app.example/cb', scope: 'read' });
  const tokens = await provider.exchangeAuthorizationCode({ clientId: 'conf', clientSecret: 'conf-secret', code, redirectUri: 'https://app.example/cb', codeVerifier: verifier });
  const forbidden = await provider.authenticate(bearer(tokens.access_token), ['write']);
  assert.equal(forbidden.response.status, 403);
  assert.match(forbidden.response.headers.get('www-authenticate'), /error="insufficient_scope"/);
});

test('a request or approval handed back malformed is refused, naming the field', async () => {
  const provider = await setup();
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: 'conf',
    redirect_uri: 'https://app.example/cb',
    code_challenge: 'x'.repeat(43),
    code_challenge_method: 'S256',
  });
  const { request } = await provider.parseAuthorizationRequest(new Request(`${ISSUER}/authorize?${query}`));
  const refused = (call, message) => assert.rejects(call, { code: 'invalid_request', message });
  await refused(provider.completeAuthorization({ ...request, clientId: 7 }, { subject: 'a' }), 'request.clientId must be a string');
  await refused(provider.completeAuthorization({ ...request, scopes: 'read' }, { subject: 'a' }), 'request.scopes must be an array of strings');
  await refused(provider.denyAuthorization('not an object'), 'request must be an object');
  await refused(provider.completeAuthorization(request, {}), 'approval.subject is required');
  await refused(provider.completeAuthorization(request, { subject: 'a', props: [1] }), 'approval.props must be a JSON-compatible object');
  await refused(provider.completeAuthorization(request, { subject: 'a', props: { n: 1n } }), 'approval.props must be a JSON-compatible object');
  // Re-checked, not trusted: another redirect URI is refused by the OAuth rules.
  await assert.rejects(provider.completeAuthorization({ ...request, redirectUri: 'https://evil.example/cb' }, { subject: 'a' }), {
    code: 'invalid_request',
  });
  const location = new URL(await provider.completeAuthorization(request, { subject: 'a', props: { n: 1, nested: { ok: true } } }));
  assert.ok(location.searchParams.get('code'));
});

// On main, a client_credentials token (no user) passed authenticate on any
// route, and anyone could register such a client.
test('tokens without a user reach only routes that opt in; registration never grants them', async () => {
  const provider = await setup();
  const issued = await provider.fetch(
    post('/token', { grant_type: 'client_credentials', client_id: 'conf', client_secret: 'conf-secret', scope: 'read' }),
  );
  assert.equal(issued.status, 200);
  const machine = (await issued.json()).access_token;

  const { response } = await provider.authenticate(bearer(machine), ['read']);
  assert.equal(response.status, 403);
  assert.equal((await response.json()).error, 'insufficient_scope');
  assert.match(response.headers.get('www-authenticate'), /error="insufficient_scope"/);
  const refused = await provider.authenticate(bearer(machine), [], { allowMachineClients: false });
  assert.equal(refused.response.status, 403);
  const { auth } = await provider.authenticate(bearer(machine), ['read'], { allowMachineClients: true });
  assert.equal(auth.clientId, 'conf');
  assert.ok(auth.subject == null, 'no user');
  await assert.rejects(provider.authenticate(bearer(machine), [], { allowMachineClients: 'yes' }), TypeError);

  const registration = await provider.fetch(
    new Request(`${ISSUER}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_post' }),
    }),
  );
  assert.equal(registration.status, 400);
  assert.equal((await registration.json()).error, 'invalid_client_metadata');
});
