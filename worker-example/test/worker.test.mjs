// End to end in local workerd through Miniflare, on the Worker that
// `wrangler deploy --dry-run --outdir dist` bundled (`npm test` builds it
// first): in Durable Object mode (the default: SQLite-backed objects of the
// package's OAuthStorageObject class as OAUTH_STORE) and in KV-only mode, each
// with a real (local) KV namespace as OAUTH_KV.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { workerOptions } from './miniflare.mjs';
import * as oauth from 'oauth4webapi';
import {
  CONFIDENTIAL_CLIENT,
  badTokensFlow,
  confidentialClientFlow,
  csrfFlow,
  denyFlow,
  handBuiltFlow,
  oauth4webapiFlow,
  unvettedErrorFlow,
  wrongRedirectFlow,
} from './flow.mjs';

const ISSUER = 'https://mcp.example.test';
const DEMO_USER = 'alice';
const bundle = fileURLToPath(new URL('../dist/index.js', import.meta.url));

let mf;
const send = (url, init) => mf.dispatchFetch(url, { redirect: 'manual', ...init });

const MODE = process.env.WORKER_STORAGE_MODE ?? 'durable-object';

before(async () => {
  assert.ok(existsSync(bundle), 'dist/index.js is missing: run `npm run build` (npm test does)');
  mf = new Miniflare(workerOptions(bundle, { mode: MODE, bindings: { ISSUER, DEMO_USER, OAUTH_CLIENTS: JSON.stringify([CONFIDENTIAL_CLIENT]) } }));
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
});

test('discovery from a 401, registration, consent, token, /mcp, refresh, revoke, 401', async () => {
  await handBuiltFlow(send, ISSUER, { demoUser: DEMO_USER });
});

test('the full flow driven by oauth4webapi', async () => {
  await oauth4webapiFlow(oauth, send, ISSUER, { demoUser: DEMO_USER });
});

test('a pre-registered confidential client (the seed\'s `clients` option), client_secret_basic', async () => {
  await confidentialClientFlow(oauth, send, ISSUER);
});

test('deny: error=access_denied at the redirect URI', async () => {
  await denyFlow(send, ISSUER);
});

test('a wrong redirect URI is never redirected to', async () => {
  await wrongRedirectFlow(send, ISSUER);
});

test('errors for a registered client before consent are a page, not a redirect', async () => {
  await unvettedErrorFlow(send, ISSUER);
});

test('forged consent posts are refused without a redirect', async () => {
  await csrfFlow(send, ISSUER);
});

test('bad tokens get the 401 challenge', async () => {
  await badTokensFlow(send, ISSUER);
});

test(`state lives where STORAGE_MODE=${MODE} puts it`, async () => {
  const kv = await mf.getKVNamespace('OAUTH_KV');
  const { keys } = await kv.list({ prefix: 'oauth:' });
  if (MODE === 'kv') assert.ok(keys.length > 0, 'the provider wrote to OAUTH_KV');
  else assert.deepEqual(keys, [], 'in Durable Object mode nothing of the provider is in KV');
  const secret = await kv.get('example:csrf-secret');
  assert.ok(secret && secret.length >= 32, 'a per-deployment CSRF key was created');
  const health = await send(`${ISSUER}/.well-known/oauth-authorization-server`);
  assert.equal(health.status, 200);
  await health.body.cancel();
});

test('metadata and the landing page', async () => {
  const as = await (await send(`${ISSUER}/.well-known/oauth-authorization-server`)).json();
  assert.equal(as.issuer, ISSUER);
  assert.deepEqual(as.scopes_supported, ['mcp']);
  const rs = await (await send(`${ISSUER}/.well-known/oauth-protected-resource/mcp`)).json();
  assert.deepEqual(rs, { ...rs, resource: `${ISSUER}/mcp`, authorization_servers: [ISSUER] });
  const home = await send(`${ISSUER}/`);
  assert.equal(home.status, 200);
  assert.match(await home.text(), /MCP endpoint/);
  const missing = await send(`${ISSUER}/nope`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});
