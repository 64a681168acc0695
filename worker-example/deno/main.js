// Deno: the same MCP server behind OAuth 2.1 (src/app.js), state in Deno KV.
//
//   deno run --no-check --allow-read --allow-env --allow-net=127.0.0.1:8000,<CIMD_HOSTS> --unstable-kv deno/main.js
//
// (`npm run deno:dev` builds that --allow-net list from HOSTNAME, PORT and
// CIMD_HOSTS.) Network access is the listen address and the hosts whose
// metadata documents you accept, nothing else: Deno cannot limit fetch to
// public addresses, so metadata documents are fetched only from hosts you
// name (see worker-example/README.md).
//
// Environment: ISSUER (unset: http://localhost:8000, and only loopback hosts are
// served; set it when the server is reachable by any other name), PORT (8000), DEMO_USER,
// CSRF_SECRET (default: a random key kept in Deno KV), KV_PATH (default: Deno's
// own location; ':memory:' for none), OAUTH_CLIENTS (JSON array of pre-registered
// clients, the seed's `clients` option), CIMD_ALLOW_LOOPBACK ("true": accept
// metadata-document client ids on loopback hosts, for local development),
// REFRESH_GRACE_SECONDS (seconds the previous refresh token still retries
// after a refresh; default 30, "0": none).
// Rate limits: the package's in-memory limiter with its defaults, keyed by
// the connection's address (behind a proxy, every request has the proxy's).
import { createOAuthProvider, DenoKvHost, KvStorage } from 'simply-mcp-oauth';
import { createApp, randomToken, sourceRequest } from '../src/app.js';
import { enabled, metadataFetcher } from '../src/cimd.js';
import { isLoopbackHost, issuerMissing } from '../src/issuer.js';

// One random key per store, created atomically.
async function storedSecret(kv) {
  const key = ['example', 'csrf-secret'];
  const secret = randomToken();
  await kv.atomic().check({ key, versionstamp: null }).set(key, secret).commit();
  return (await kv.get(key)).value;
}

/**
 * Starts the server. `issuer` defaults to the address it listens on.
 * `loopbackOnly` (the default without an `issuer`): a request naming any
 * other host than localhost, 127.0.0.0/8 or [::1] gets the "set ISSUER" page.
 * Returns `{ server, issuer, kv, close() }`.
 */
export async function start({ hostname = '127.0.0.1', port = 8000, issuer, loopbackOnly = issuer == null, kvPath, demoUser = 'demo-user', csrfSecret, clients = [], cimdAllowLoopback = false, fetchImpl, rateLimits, refreshGraceSeconds } = {}) {
  const kv = await Deno.openKv(kvPath);
  let app;
  let resolveApp;
  const ready = new Promise((resolve) => (resolveApp = resolve));
  // The connection's address, the key of the per-IP rate limits: Deno gives
  // it to the handler (info.remoteAddr), the provider asks for it by request.
  const addresses = new WeakMap();
  const server = Deno.serve({ hostname, port, onListen() {} }, async (request, info) => {
    if (loopbackOnly && !isLoopbackHost(new URL(request.url).hostname)) return issuerMissing();
    addresses.set(request, info.remoteAddr.hostname);
    return (app ?? (await ready)).fetch(request);
  });
  try {
    issuer ??= `http://${hostname}:${server.addr.port}`;
    const provider = await createOAuthProvider({
      issuer,
      storage: new KvStorage(new DenoKvHost(kv)),
      scopesSupported: ['mcp'],
      clients,
      refreshGraceSeconds,
      fetchClientMetadata: metadataFetcher(fetchImpl),
      cimdAllowLoopback,
      // In memory, per process (the package's defaults unless `rateLimits` says otherwise).
      rateLimits,
      // sourceRequest: the consent POST's re-check counts for the POST's address.
      clientIp: (request) => addresses.get(sourceRequest(request)),
    });
    app = createApp({ provider, demoUser, csrfSecret: csrfSecret || (await storedSecret(kv)) });
    resolveApp(app);
    return {
      server,
      issuer,
      kv,
      async close() {
        await server.shutdown();
        provider.free();
        kv.close();
      },
    };
  } catch (error) {
    await server.shutdown();
    kv.close();
    throw error;
  }
}

if (import.meta.main) {
  const env = (name) => Deno.env.get(name) || undefined;
  const port = Number(env('PORT') ?? 8000);
  const { issuer } = await start({
    hostname: env('HOSTNAME') ?? '127.0.0.1',
    port,
    // Unset: local development only (loopback hosts; others get "set ISSUER").
    issuer: env('ISSUER') ?? `http://localhost:${port}`,
    loopbackOnly: !env('ISSUER'),
    kvPath: env('KV_PATH'),
    demoUser: env('DEMO_USER'),
    csrfSecret: env('CSRF_SECRET'),
    clients: env('OAUTH_CLIENTS') ? JSON.parse(env('OAUTH_CLIENTS')) : [],
    cimdAllowLoopback: enabled(env('CIMD_ALLOW_LOOPBACK')),
    refreshGraceSeconds: env('REFRESH_GRACE_SECONDS') ? Number(env('REFRESH_GRACE_SECONDS')) : undefined,
  });
  console.log(`MCP server on ${issuer}/mcp (authorization server ${issuer})`);
}
