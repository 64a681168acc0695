// Client ID Metadata Documents through the JS API, with fake
// fetchClientMetadata functions: a Response, a plain object, a redirect,
// an oversized stream, a throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOAuthProvider } from '../src/node.js';
import { ISSUER, authorize, pkce, post } from './helpers.mjs';

const URL_ID = 'https://client.example/oauth/client.json';
const REDIRECT = 'https://client.example/cb';

function doc(extra = {}) {
  return { client_id: URL_ID, client_name: 'JS client', redirect_uris: [REDIRECT], ...extra };
}

function provider(fetchClientMetadata, extra = {}) {
  return createOAuthProvider({ issuer: ISSUER, scopesSupported: ['mcp'], fetchClientMetadata, ...extra });
}

async function parse(p, clientId = URL_ID, redirectUri = REDIRECT) {
  const { challenge } = pkce();
  const query = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri,
    code_challenge: challenge, code_challenge_method: 'S256',
  });
  return p.parseAuthorizationRequest(new Request(`${ISSUER}/authorize?${query}`));
}

test('a metadata client through authorize, token and refresh; one fetch, cached', async () => {
  const calls = [];
  const p = await provider(async (url) => {
    calls.push(url);
    return new Response(JSON.stringify(doc()), { headers: { 'cache-control': 'max-age=600' } });
  });
  const meta = await (await p.fetch(new Request(`${ISSUER}/.well-known/oauth-authorization-server`))).json();
  assert.equal(meta.client_id_metadata_document_supported, true);
  const parsed = await parse(p);
  assert.equal(parsed.request.clientId, URL_ID);
  assert.equal(parsed.request.metadataDocument, true);
  assert.equal(parsed.request.loopbackOnly, false);
  const { code, verifier } = await authorize(p, { clientId: URL_ID, redirectUri: REDIRECT });
  const tokens = await (await p.fetch(post('/token', {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: URL_ID,
  }))).json();
  assert.ok(tokens.access_token, JSON.stringify(tokens));
  const refreshed = await p.fetch(post('/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: URL_ID }));
  assert.equal(refreshed.status, 200);
  assert.deepEqual(calls, [URL_ID]);
});

test('a plain { status, headers, body } answer works; no-store refetches', async () => {
  let calls = 0;
  const p = await provider(async () => {
    calls += 1;
    return { status: 200, headers: { 'cache-control': 'no-store' }, body: JSON.stringify(doc()) };
  });
  assert.ok((await parse(p)).request);
  assert.ok((await parse(p)).request);
  assert.equal(calls, 2);
});

test('failures are 400 pages at /authorize and invalid_client at /token, remembered for a minute', async () => {
  // Endless: the read must stop past 5 KB on its own.
  const big = () => new ReadableStream({
    pull(controller) { controller.enqueue(new Uint8Array(1024).fill(32)); },
  });
  const cases = [
    [async () => new Response(null, { status: 302, headers: { location: 'https://evil.example/' } }), /redirected/],
    [async () => ({ type: 'opaqueredirect', status: 0, body: '' }), /redirected/],
    [async () => new Response('nope', { status: 404 }), /status 404/],
    [async () => new Response(big()), /larger than/],
    [async () => ({ status: 200, body: 'x'.repeat(6000) }), /larger than/],
    [async () => { throw new Error('dns failed'); }, /dns failed/],
    [async () => { throw new DOMException('late', 'TimeoutError'); }, /timed out/],
    [async () => new Response(JSON.stringify(doc({ client_id: 'https://other.example/c' }))), /does not match/],
    [async () => new Response(JSON.stringify(doc({ client_secret: 's' }))), /client_secret/],
  ];
  for (const [fetchClientMetadata, pattern] of cases) {
    let calls = 0;
    const p = await provider(async (url) => { calls += 1; return fetchClientMetadata(url); });
    const parsed = await parse(p);
    assert.equal(parsed.response?.status, 400, String(pattern));
    assert.equal(parsed.response.headers.get('location'), null);
    assert.match(await parsed.response.text(), pattern);
    const token = await p.fetch(post('/token', { grant_type: 'refresh_token', refresh_token: 'a.b', client_id: URL_ID }));
    assert.equal(token.status, 401);
    const body = await token.json();
    assert.equal(body.error, 'invalid_client');
    assert.match(body.error_description, pattern);
    assert.equal(calls, 1, 'the failure is remembered: one fetch for both requests');
  }
});

test('loopback metadata URLs only with cimdAllowLoopback; a non-function is a config error', async () => {
  const local = 'http://127.0.0.1:8123/client.json';
  const serve = async (url) => new Response(JSON.stringify({ ...doc(), client_id: url, redirect_uris: ['http://127.0.0.1/cb'] }));
  const refused = await provider(serve);
  assert.equal((await parse(refused, local, 'http://127.0.0.1:5000/cb')).response.status, 400);
  const allowed = await provider(serve, { cimdAllowLoopback: true });
  const parsed = await parse(allowed, local, 'http://127.0.0.1:5000/cb');
  assert.equal(parsed.request.loopbackOnly, true);
  await assert.rejects(provider('not a function'), /fetchClientMetadata must be a function/);
  const without = await createOAuthProvider({ issuer: ISSUER });
  const meta = await (await without.fetch(new Request(`${ISSUER}/.well-known/oauth-authorization-server`))).json();
  assert.equal(meta.client_id_metadata_document_supported, undefined);
});

test('a client id whose host is an IP address never reaches the host fetch', async () => {
  const literals = [
    'https://10.0.0.5/x', 'https://192.168.1.1/c', 'https://100.64.0.1/c', 'https://169.254.169.254/latest/meta-data',
    'https://224.0.0.1/c', 'https://192.0.2.1/c', 'https://0.0.0.0/c', 'https://93.184.215.14/c',
    'https://[fd00::1]/c', 'https://[fe80::1]/c', 'https://[ff02::1]/c', 'https://[::]/c',
    'https://[::ffff:10.0.0.5]/c', 'https://[64:ff9b::a00:5]/c',
  ];
  for (const cimdAllowLoopback of [false, true]) {
    const calls = [];
    const p = await provider(async (url) => { calls.push(url); return new Response(JSON.stringify(doc())); }, { cimdAllowLoopback });
    for (const id of literals) {
      const parsed = await parse(p, id);
      assert.equal(parsed.response?.status, 400, id);
      assert.match(await parsed.response.text(), /IP address literal/);
      const token = await p.fetch(post('/token', { grant_type: 'refresh_token', refresh_token: 'a.b', client_id: id }));
      assert.equal(token.status, 401, id);
      const introspect = await p.fetch(post('/introspect', { token: 'a.b', client_id: id }));
      assert.equal(introspect.status, 401, id);
    }
    assert.deepEqual(calls, [], `cimdAllowLoopback: ${cimdAllowLoopback}`);
  }
});
