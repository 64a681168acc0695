// The issuer: ISSUER when it is set, else the request's origin, so that
// `wrangler dev --port 8797` announces the port it actually listens on.
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

test('without ISSUER, each origin announces itself, and its resource follows', async () => {
  const mf = new Miniflare(workerOptions(bundle, { bindings: { DEMO_USER: 'alice' } }));
  try {
    for (const origin of ['http://localhost:8797', 'http://127.0.0.1:9123']) {
      const as = await metadata(mf, origin);
      assert.equal(as.issuer, origin);
      assert.equal(as.token_endpoint, `${origin}/token`);
      const rs = await (await mf.dispatchFetch(`${origin}/.well-known/oauth-protected-resource/mcp`)).json();
      assert.equal(rs.resource, `${origin}/mcp`);
      assert.deepEqual(rs.authorization_servers, [origin]);
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
