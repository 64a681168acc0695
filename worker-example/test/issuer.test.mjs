// The issuer: ISSUER when it is set, else the request's origin on loopback
// only, so that `wrangler dev --port 8797` announces the port it actually
// listens on; any other host gets a configuration error page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { workerOptions } from './miniflare.mjs';

const bundle = fileURLToPath(new URL('../dist/index.js', import.meta.url));

async function metadata(mf, origin) {
  const response = await mf.dispatchFetch(`${origin}/.well-known/oauth-authorization-server`);
  assert.equal(response.status, 200);
  return response.json();
}

test('without ISSUER, each loopback origin announces itself, and its resource follows', async () => {
  const mf = new Miniflare(workerOptions(bundle, { bindings: { DEMO_USER: 'alice' } }));
  try {
    for (const origin of ['http://localhost:8797', 'http://127.0.0.1:9123', 'http://[::1]:8787', 'http://127.1']) {
      const expected = origin.replace('127.1', '127.0.0.1');
      const as = await metadata(mf, origin);
      assert.equal(as.issuer, expected);
      assert.equal(as.token_endpoint, `${expected}/token`);
      const rs = await (await mf.dispatchFetch(`${origin}/.well-known/oauth-protected-resource/mcp`)).json();
      assert.equal(rs.resource, `${expected}/mcp`);
      assert.deepEqual(rs.authorization_servers, [expected]);
    }
  } finally {
    await mf.dispose();
  }
});

test('ISSUER, when set, wins over the request origin', async () => {
  const mf = new Miniflare(workerOptions(bundle, { bindings: { ISSUER: 'https://oauth.example.test', DEMO_USER: 'alice' } }));
  try {
    assert.equal((await metadata(mf, 'http://localhost:8797')).issuer, 'https://oauth.example.test');
  } finally {
    await mf.dispose();
  }
});

test('without ISSUER, any other host gets a page saying "set ISSUER", and no issuer', async () => {
  const mf = new Miniflare(workerOptions(bundle, { bindings: { DEMO_USER: 'alice' } }));
  try {
    for (const origin of ['https://oauth.example.test', 'http://127.0.0.1.evil.example', 'http://10.0.0.5:8787']) {
      for (const path of ['/.well-known/oauth-authorization-server', '/authorize?client_id=x', '/mcp']) {
        const response = await mf.dispatchFetch(`${origin}${path}`);
        assert.equal(response.status, 500, `${origin}${path}`);
        const text = await response.text();
        assert.match(text, /set ISSUER/);
        assert.ok(!text.includes(new URL(origin).hostname), `the host is not echoed: ${text}`);
      }
    }
    assert.equal((await metadata(mf, 'http://localhost:8797')).issuer, 'http://localhost:8797', 'loopback still served');
  } finally {
    await mf.dispose();
  }
});
