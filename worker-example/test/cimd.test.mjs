// Client ID Metadata Documents in the bundled Worker, in local workerd through
// Miniflare. The Worker's outbound fetch goes to `outboundService`, a function
// here that answers the documents: no traffic leaves the process.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { workerOptions } from './miniflare.mjs';
import { REDIRECT_URI, authorizeUrl, postConsent, readConsentPage, rpc } from './flow.mjs';

const ISSUER = 'https://mcp.example.test';
const DOC_URL = 'https://client.example/oauth/client.json';
const REDIRECTING_URL = 'https://client.example/oauth/moved.json';
const bundle = fileURLToPath(new URL('../dist/index.js', import.meta.url));

const outbound = [];
let mf;
const send = (url, init) => mf.dispatchFetch(url, { redirect: 'manual', ...init });

function serveDocument(request) {
  // (`request.redirect` reads "follow" here: the service boundary does not
  // carry the mode. The redirect test below shows it is not followed.)
  outbound.push({ url: request.url });
  if (request.url === DOC_URL) {
    const doc = { client_id: DOC_URL, client_name: 'CIMD <client>', redirect_uris: [REDIRECT_URI] };
    return new Response(JSON.stringify(doc), { headers: { 'content-type': 'application/json', 'cache-control': 'max-age=600' } });
  }
  if (request.url === REDIRECTING_URL) {
    return new Response(null, { status: 302, headers: { location: DOC_URL } });
  }
  return new Response('not found', { status: 404 });
}

before(async () => {
  const options = workerOptions(bundle, { bindings: { ISSUER, DEMO_USER: 'alice' } });
  // As in wrangler.toml.
  const compatibilityFlags = ['global_fetch_strictly_public'];
  mf = new Miniflare({ ...options, compatibilityFlags, outboundService: serveDocument });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
});

const form = (url, params) =>
  send(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });

test('a metadata-document client: metadata flag, consent, token, /mcp, one fetch', async () => {
  const as = await (await send(`${ISSUER}/.well-known/oauth-authorization-server`)).json();
  assert.equal(as.client_id_metadata_document_supported, true);
  outbound.length = 0;
  const { url, verifier } = await authorizeUrl(as, { client_id: DOC_URL });
  const page = await readConsentPage(await send(String(url)));
  assert.match(page.html, /Client metadata document<\/dt><dd><code>https:\/\/client\.example\/oauth\/client\.json</);
  assert.match(page.html, /You will be sent to <strong><code>127\.0\.0\.1:33418<\/code><\/strong>/);
  assert.match(page.html, /class="warn"/, 'every redirect URI is loopback: a warning');
  assert.ok(!page.html.includes('<client>'), 'the name is escaped');
  const decision = await postConsent(send, ISSUER, { ...page, decision: 'approve' });
  assert.equal(decision.status, 303);
  const code = new URL(decision.headers.get('location')).searchParams.get('code');
  const tokenResponse = await form(as.token_endpoint, {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, client_id: DOC_URL,
  });
  assert.equal(tokenResponse.status, 200, await tokenResponse.clone().text());
  const tokens = await tokenResponse.json();
  assert.equal((await rpc(send, ISSUER, tokens.access_token, 'tools/list', {})).status, 200);
  assert.deepEqual(outbound.map((o) => o.url), [DOC_URL], 'fetched once, then cached');
});

test('a redirecting document is a 400 page, and the redirect is not followed', async () => {
  outbound.length = 0;
  const as = await (await send(`${ISSUER}/.well-known/oauth-authorization-server`)).json();
  const { url } = await authorizeUrl(as, { client_id: REDIRECTING_URL });
  const response = await send(String(url));
  assert.equal(response.status, 400);
  assert.equal(response.headers.get('location'), null);
  assert.match(await response.text(), /redirected/);
  assert.deepEqual(outbound.map((o) => o.url), [REDIRECTING_URL]);
  const token = await form(as.token_endpoint, { grant_type: 'refresh_token', refresh_token: 'a.b', client_id: REDIRECTING_URL });
  assert.equal(token.status, 401);
  assert.equal((await token.json()).error, 'invalid_client');
});
