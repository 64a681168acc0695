// Rate limits in local workerd: with Cloudflare's Rate Limiting binding
// (Miniflare's `ratelimits`), and without one (the package's in-memory
// fallback). Each request's CF-Connecting-IP is its client address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { workerOptions } from './miniflare.mjs';

const bundle = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const ORIGIN = 'http://localhost:8787';

function register(mf, ip) {
  return mf.dispatchFetch(`${ORIGIN}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'cf-connecting-ip': ip },
    body: JSON.stringify({ redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' }),
  });
}

async function withWorker(extra, run) {
  const mf = new Miniflare({ ...workerOptions(bundle, { bindings: { DEMO_USER: 'alice' } }), ...extra });
  try {
    await run(mf);
  } finally {
    await mf.dispose();
  }
}


// An authorization request of a registered client, for the loopback callback.
function authorizeUrl(clientId) {
  const url = new URL(`${ORIGIN}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: 'http://127.0.0.1/cb',
    code_challenge: 'a'.repeat(43),
    code_challenge_method: 'S256',
  });
  return url;
}

test('the Rate Limiting binding answers 429 too_many_requests with Retry-After', async () => {
  const ratelimits = { OAUTH_RATE_REGISTER: { simple: { limit: 2, period: 60 } } };
  await withWorker({ ratelimits }, async (mf) => {
    assert.equal((await register(mf, '192.0.2.1')).status, 201);
    assert.equal((await register(mf, '192.0.2.1')).status, 201);
    const refused = await register(mf, '192.0.2.1');
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '60');
    assert.equal(refused.headers.get('access-control-allow-origin'), '*');
    const body = await refused.json();
    assert.equal(body.error, 'too_many_requests');
    assert.equal((await register(mf, '192.0.2.2')).status, 201, 'another address has its own count');
  });
});

test('without a binding, the in-memory fallback limits /authorize with a page, not a redirect', async () => {
  await withWorker({}, async (mf) => {
    const client = await (await register(mf, '192.0.2.3')).json();
    const url = authorizeUrl(client.client_id);
    // The default: 100 per 15 minutes per address.
    for (let i = 0; i < 100; i++) {
      const page = await mf.dispatchFetch(url, { headers: { 'cf-connecting-ip': '192.0.2.3' } });
      assert.equal(page.status, 200);
      await page.arrayBuffer();
    }
    // The bucket refills one request per 9 s: on a slow machine the loop
    // above may have earned one or two back, so the refusal comes within a
    // few more requests, and Retry-After is at most the 9 s refill.
    let refused;
    for (let extra = 0; extra < 10; extra++) {
      refused = await mf.dispatchFetch(url, { headers: { 'cf-connecting-ip': '192.0.2.3' }, redirect: 'manual' });
      if (refused.status !== 200) break;
      await refused.arrayBuffer();
    }
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('location'), null);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 9, `Retry-After ${retryAfter}`);
    assert.match(await refused.text(), /too_many_requests/);
  });
});

test('the consent POST counts against the /authorize limit of its address', async () => {
  const ratelimits = { OAUTH_RATE_AUTHORIZE: { simple: { limit: 1, period: 60 } } };
  await withWorker({ ratelimits }, async (mf) => {
    const ip = { 'cf-connecting-ip': '192.0.2.4' };
    const client = await (await register(mf, '192.0.2.4')).json();
    const url = authorizeUrl(client.client_id);
    const page = await mf.dispatchFetch(url, { headers: ip });
    assert.equal(page.status, 200);
    const html = await page.text();
    const field = (name) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)[1].replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c))).replace(/&amp;/g, '&');
    const cookie = page.headers.get('set-cookie').split(';')[0];
    const decision = await mf.dispatchFetch(`${ORIGIN}/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { ...ip, cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ authz: field('authz'), csrf: field('csrf'), decision: 'approve' }).toString(),
    });
    assert.equal(decision.status, 429, 'the decision is the second request of this address');
    assert.equal(decision.headers.get('location'), null);
    await decision.body?.cancel();
  });
});

test('/introspect and /revoke are limited per address by their bindings', async () => {
  const ratelimits = {
    OAUTH_RATE_INTROSPECT: { simple: { limit: 2, period: 60 } },
    OAUTH_RATE_REVOKE: { simple: { limit: 1, period: 60 } },
  };
  await withWorker({ ratelimits }, async (mf) => {
    const guess = async (path, ip) => {
      const response = await mf.dispatchFetch(`${ORIGIN}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'cf-connecting-ip': ip },
        body: new URLSearchParams({ token: 'a.b', client_id: 'nobody', client_secret: 'guess' }),
      });
      await response.arrayBuffer();
      return response;
    };
    assert.equal((await guess('/introspect', '127.0.0.7')).status, 401);
    assert.equal((await guess('/introspect', '127.0.0.7')).status, 401);
    const refused = await guess('/introspect', '127.0.0.7');
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '60');
    assert.equal((await guess('/introspect', '127.0.0.8')).status, 401, 'another address');
    assert.equal((await guess('/revoke', '127.0.0.9')).status, 401);
    assert.equal((await guess('/revoke', '127.0.0.9')).status, 429);
    assert.equal((await guess('/revoke', '127.0.0.10')).status, 401, 'another address');
  });
});
