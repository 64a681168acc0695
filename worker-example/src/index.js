// Cloudflare Worker entry: an MCP server behind OAuth 2.1, state in Workers KV.
// The package's `workerd` entry imports its .wasm as a compiled module.
import { createOAuthProvider, KvStorage, WorkersKvHost } from 'simply-mcp-oauth';
import { createApp, randomToken } from './app.js';

// A Worker sees `env` only in fetch: build the provider on the first request
// and keep it for the life of the isolate (a failed build is retried).
let app;

async function build(env) {
  if (!env.ISSUER) throw new Error('set the ISSUER variable (the public URL of this Worker)');
  if (!env.OAUTH_KV) throw new Error('bind a KV namespace as OAUTH_KV');
  const provider = await createOAuthProvider({
    issuer: env.ISSUER,
    storage: new KvStorage(new WorkersKvHost(env.OAUTH_KV)),
    scopesSupported: ['mcp'],
    clients: configuredClients(env.OAUTH_CLIENTS),
  });
  return createApp({
    provider,
    csrfSecret: env.CSRF_SECRET || (await deploymentSecret(env.OAUTH_KV)),
    demoUser: env.DEMO_USER || 'demo-user',
  });
}

// Pre-registered clients, the seed's `clients` option: a JSON array of
// { clientId, clientSecret?, redirectUris, scopes? } (set it as a secret when
// it holds client secrets). Dynamic registration works without any.
function configuredClients(value) {
  if (!value) return [];
  return typeof value === 'string' ? JSON.parse(value) : value;
}

// Without a CSRF_SECRET, one random key per deployment, kept in KV (outside
// the provider's `oauth:` keys). Workers KV has no atomic create: two isolates
// starting at once may each write one, and a consent form shown by the loser
// fails once (the user starts again). Set CSRF_SECRET to avoid that.
async function deploymentSecret(kv) {
  const key = 'example:csrf-secret';
  const existing = await kv.get(key);
  if (existing) return existing;
  const secret = randomToken();
  await kv.put(key, secret);
  return secret;
}

export default {
  async fetch(request, env) {
    app ??= build(env).catch((error) => {
      app = undefined;
      throw error;
    });
    let ready;
    try {
      ready = await app;
    } catch (error) {
      console.error('simply-mcp-oauth example: setup failed:', error);
      return new Response('setup failed: see the Worker logs', { status: 500 });
    }
    return ready.fetch(request);
  },
};
