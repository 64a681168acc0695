// A trap of the module inside workerd (the package's workers.js entry): the
// same provider object completes a full flow after it, on a fresh instance
// built from the compiled module (see pkg/src/contain.js).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';

const ISSUER = 'https://auth.example.com';
let mf;

before(() => {
  mf = new Miniflare({
    modules: true,
    scriptPath: fileURLToPath(new URL('./fixtures/trap-worker.js', import.meta.url)),
    modulesRoot: fileURLToPath(new URL('../..', import.meta.url)),
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: '2026-04-26',
  });
});

after(async () => {
  await mf?.dispose();
});

async function fullFlow() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: 'conf',
    redirect_uri: 'https://app.example/cb',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'st',
  });
  const consent = await mf.dispatchFetch(`${ISSUER}/authorize?${query}`, { redirect: 'manual' });
  assert.equal(consent.status, 303);
  const code = new URL(consent.headers.get('location')).searchParams.get('code');
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: 'https://app.example/cb',
    code_verifier: verifier,
    client_id: 'conf',
    client_secret: 'conf-secret',
  });
  const exchange = await mf.dispatchFetch(`${ISSUER}/token`, { method: 'POST', body });
  assert.equal(exchange.status, 200, await exchange.clone().text());
  const { access_token: token } = await exchange.json();
  const mcp = await mf.dispatchFetch(`${ISSUER}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  assert.equal(mcp.status, 200);
  assert.deepEqual(await mcp.json(), { subject: 'alice' });
}

test('after a trap in workerd the same provider completes a full flow', async () => {
  await fullFlow();
  const trapped = await (await mf.dispatchFetch(`${ISSUER}/trap`)).json();
  assert.equal(trapped.code, 'panic');
  assert.match(trapped.message, /a trap in workerd/);
  await fullFlow();
  await (await mf.dispatchFetch(`${ISSUER}/trap`)).json();
  await fullFlow();
});
