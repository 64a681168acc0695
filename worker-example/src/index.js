// Cloudflare Worker entry: an MCP server behind OAuth 2.1.
//
// Storage, by STORAGE_MODE:
//   "durable-object" (the default when OAUTH_STORE is bound): grants, codes and
//     tokens in SQLite-backed Durable Objects, sharded by grant id; single use
//     of codes and refresh tokens holds, and every token request is one RPC to
//     one object. OAUTH_KV keeps only what suits KV (the per-deployment CSRF key).
//   "kv": everything in Workers KV. No atomics and eventually consistent
//     across locations: single use is best-effort (see the README).
// The package's `workerd` entry imports its .wasm as a compiled module.
import { createOAuthProvider, DurableObjectStorage, KvStorage, WorkersKvHost, workersRateLimiter } from 'simply-mcp-oauth';
import { createApp, randomToken } from './app.js';
import { enabled, metadataFetcher } from './cimd.js';
import { issuerFor, issuerMissing } from './issuer.js';

// Durable Object classes must be exported by the Worker's main module.
export { OAuthStorageObject } from 'simply-mcp-oauth';

// A Worker sees `env` only in fetch: build the provider on the first request
// and keep it for the life of the isolate (a failed build is retried). One
// app per issuer: ISSUER when set, else each loopback origin (a few at most).
const apps = new Map();
const MAX_ORIGINS = 8;

/** The storage STORAGE_MODE asks for, or the reason it cannot be had. */
export function storageFor(env) {
  const mode = env.STORAGE_MODE || (env.OAUTH_STORE ? 'durable-object' : 'kv');
  if (mode === 'durable-object') {
    if (!env.OAUTH_STORE) throw new Error('STORAGE_MODE is durable-object: bind the OAuthStorageObject class as OAUTH_STORE');
    const shards = env.OAUTH_SHARDS ? Number(env.OAUTH_SHARDS) : undefined;
    return new DurableObjectStorage(env.OAUTH_STORE, { shards });
  }
  if (mode === 'kv') return new KvStorage(new WorkersKvHost(env.OAUTH_KV));
  throw new Error(`STORAGE_MODE must be "durable-object" or "kv", not ${JSON.stringify(mode)}`);
}

async function build(env, issuer) {
  if (!env.OAUTH_KV) throw new Error('bind a KV namespace as OAUTH_KV');
  const provider = await createOAuthProvider({
    issuer,
    storage: storageFor(env),
    scopesSupported: ['mcp'],
    clients: configuredClients(env.OAUTH_CLIENTS),
    // Seconds the previous refresh token still retries after a refresh (the
    // package's default, 30, when unset; "0": none). See wrangler.toml.
    refreshGraceSeconds: env.REFRESH_GRACE_SECONDS ? Number(env.REFRESH_GRACE_SECONDS) : undefined,
    // Client ID Metadata Documents: https client ids are fetched with the
    // global fetch, which global_fetch_strictly_public keeps off private
    // addresses. CIMD_ALLOW_LOOPBACK = "true" accepts loopback URLs for
    // local development (the deployed platform still refuses to reach them).
    fetchClientMetadata: metadataFetcher(),
    cimdAllowLoopback: enabled(env.CIMD_ALLOW_LOOPBACK),
    // RATE_LIMITS = "off": no limits (benchmarks, or a WAF rule in front).
    rateLimiter: env.RATE_LIMITS === 'off' ? false : rateLimiterFor(env),
  });
  return createApp({
    provider,
    csrfSecret: env.CSRF_SECRET || (await deploymentSecret(env.OAUTH_KV)),
    demoUser: env.DEMO_USER || 'demo-user',
    clientNames: env.OAUTH_KV, // the names /apps shows (KV: read often, written on a change)
  });
}

/**
 * The Rate Limiting bindings of wrangler.toml by bucket; a bucket left
 * unbound uses the package's in-memory limiter (per isolate). The client IP
 * is CF-Connecting-IP (the package's Workers default).
 */
export function rateLimiterFor(env) {
  return workersRateLimiter({
    registerPerIp: env.OAUTH_RATE_REGISTER,
    registerTotal: env.OAUTH_RATE_REGISTER_TOTAL,
    tokenPerIp: env.OAUTH_RATE_TOKEN,
    tokenPerClient: env.OAUTH_RATE_TOKEN_CLIENT,
    authorizePerIp: env.OAUTH_RATE_AUTHORIZE,
    introspectPerIp: env.OAUTH_RATE_INTROSPECT,
    revokePerIp: env.OAUTH_RATE_REVOKE,
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
// the provider's `oauth:` keys): read everywhere, written once, which is what
// KV is good at. Workers KV has no atomic create: two isolates starting at
// once may each write one, and a consent form shown by the loser fails once
// (the user starts again). Set CSRF_SECRET to avoid that.
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
    // Production: ISSUER, the public URL, which must not depend on what a
    // request says. Unset: the request's origin, on loopback only, so that
    // `wrangler dev --port 8797` announces the port it listens on.
    const issuer = issuerFor(env.ISSUER, request);
    if (!issuer) return issuerMissing();
    let app = apps.get(issuer);
    if (!app) {
      if (apps.size >= MAX_ORIGINS) apps.delete(apps.keys().next().value);
      app = build(env, issuer).catch((error) => {
        apps.delete(issuer);
        throw error;
      });
      apps.set(issuer, app);
    }
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
