// Durable Object mode in local workerd (Miniflare), over HTTP through the
// bundled Worker: a code exchanged once among 50, a refresh token refreshed by
// 50 at once (all succeed, one successor), and a storage object that throws or
// is overloaded answered with a retryable 503.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { workerOptions } from './miniflare.mjs';
import { authorizeUrl, consent, discoverAndRegister } from './flow.mjs';

const ISSUER = 'https://mcp.example.test';
const bundle = fileURLToPath(new URL('../dist/index.js', import.meta.url));

let mf;
const send = (url, init) => mf.dispatchFetch(url, { redirect: 'manual', ...init });

before(async () => {
  mf = new Miniflare(workerOptions(bundle, { bindings: { ISSUER, DEMO_USER: 'alice' } }));
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
});

function token(params, via = send) {
  return via(`${ISSUER}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
}

/** A fresh public client's authorization code, through discovery, registration and consent. */
async function freshCode(via = send) {
  const { as, resource, client } = await discoverAndRegister(via, ISSUER, 'Race client');
  const { url, verifier } = await authorizeUrl(as, client, { resource: resource.resource });
  const location = await consent(via, ISSUER, url);
  const code = location.searchParams.get('code');
  return { client, code, verifier, redirectUri: `${location.origin}${location.pathname}` };
}

const answers = (responses) => Promise.all(responses.map(async (r) => ({ status: r.status, body: await r.json() })));

test('50 concurrent exchanges of one code: exactly one 200', async () => {
  const { client, code, verifier, redirectUri } = await freshCode();
  const exchange = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri, client_id: client.client_id };
  const results = await answers(await Promise.all(Array.from({ length: 50 }, () => token(exchange))));
  const ok = results.filter((r) => r.status === 200);
  assert.equal(ok.length, 1, `statuses: ${results.map((r) => r.status).join(',')}`);
  for (const r of results.filter((r) => r.status !== 200)) {
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
  }
});

test('50 concurrent refreshes of one refresh token: 50 × 200, one successor, one live chain', async () => {
  const { client, code, verifier, redirectUri } = await freshCode();
  const first = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri, client_id: client.client_id });
  assert.equal(first.status, 200);
  const { refresh_token: refreshToken } = await first.json();
  const refresh = { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.client_id };
  const results = await answers(await Promise.all(Array.from({ length: 50 }, () => token(refresh))));
  const failures = results.filter((r) => r.status !== 200).map((r) => `${r.status} ${JSON.stringify(r.body)}`);
  assert.deepEqual(failures, [], 'within the grace period every racer gets the tokens');
  const successors = new Set(results.map((r) => r.body.refresh_token));
  assert.equal(successors.size, 1, `one successor, not ${successors.size}`);
  const [successor] = successors;
  const next = await token({ grant_type: 'refresh_token', refresh_token: successor, client_id: client.client_id });
  assert.equal(next.status, 200, 'the one chain goes on');
  const old = await token(refresh);
  assert.equal(old.status, 400, 'the first token is retired once its successor was used');
});

test('REFRESH_GRACE_SECONDS = "0": the previous refresh token is reuse at once and ends the grant', async () => {
  const strict = new Miniflare(workerOptions(bundle, { bindings: { ISSUER, DEMO_USER: 'alice', REFRESH_GRACE_SECONDS: '0' } }));
  const via = (url, init) => strict.dispatchFetch(url, { redirect: 'manual', ...init });
  try {
    const { client, code, verifier, redirectUri } = await freshCode(via);
    const first = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri, client_id: client.client_id }, via);
    const { refresh_token: r0 } = await first.json();
    const rotated = await token({ grant_type: 'refresh_token', refresh_token: r0, client_id: client.client_id }, via);
    assert.equal(rotated.status, 200);
    const { refresh_token: r1 } = await rotated.json();
    const again = await token({ grant_type: 'refresh_token', refresh_token: r0, client_id: client.client_id }, via);
    assert.equal(again.status, 400);
    assert.equal((await again.json()).error, 'invalid_grant');
    const successor = await token({ grant_type: 'refresh_token', refresh_token: r1, client_id: client.client_id }, via);
    assert.equal(successor.status, 400, 'reuse revoked the grant, successor included');
    await successor.body?.cancel();
  } finally {
    await strict.dispose();
  }
});

test('a storage object that throws or is overloaded is a 503 with Retry-After, never a 500', async () => {
  // The same Worker, its OAUTH_STORE bound to objects that fail every call.
  const broken = new Miniflare({
    workers: [
      workerOptions(bundle, {
        bindings: { ISSUER, DEMO_USER: 'alice', OAUTH_CLIENTS: JSON.stringify([]) },
        durableObjects: { OAUTH_STORE: { className: 'Overloaded', scriptName: 'overloaded', useSQLite: true } },
      }),
      {
        name: 'overloaded',
        modules: true,
        compatibilityDate: '2026-04-26',
        script: `import { DurableObject } from 'cloudflare:workers';
          export class Overloaded extends DurableObject {
            run() { throw new Error('Durable Object is overloaded. Too many requests queued.'); }
          }
          export default { fetch() { return new Response('unused'); } };`,
      },
    ],
  });
  try {
    const response = await broken.dispatchFetch(`${ISSUER}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: `${'a'.repeat(22)}.${'b'.repeat(43)}`, client_id: 'x' }).toString(),
    });
    assert.equal(response.status, 503);
    assert.ok(Number(response.headers.get('retry-after')) > 0, 'Retry-After says when');
    assert.equal((await response.json()).error, 'temporarily_unavailable');
    const protectedCall = await broken.dispatchFetch(`${ISSUER}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${'a'.repeat(22)}.${'b'.repeat(43)}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(protectedCall.status, 503, 'the protected route says retry too');
    await protectedCall.body?.cancel();
  } finally {
    await broken.dispose();
  }
});
