// Runs the bundled Worker (worker-example/dist/index.js, built by `npm run
// build` there) in local workerd through Miniflare, Durable Object mode, on a
// real loopback port, with ISSUER set to the origin it listens on. Prints the
// same lines as the native demo server ("listening on", "issuer: ") and
// runs until SIGTERM/SIGINT.
//
//   node worker-server.mjs [--script <bundle>/index.js] [--mode durable-object|kv]
//                          [--bind KEY=VALUE ...] [--trust-ca <PEM file>]
//
// --trust-ca is the Worker's counterpart of the native server's
// SIMPLY_MCP_OAUTH_CIMD_CA_FILE, for https Client ID Metadata Documents served
// on loopback by the tests: the Worker's outbound network (workerd's own TLS
// stack, redirects and all as in production) reaches loopback ("local") only
// and trusts that CA besides the usual roots. Use it with
// --bind CIMD_ALLOW_LOOPBACK=true.
//
// The issuer must be known before the first request, so a free port is picked
// first (bound on 127.0.0.1 and released) and handed to Miniflare; if another
// process takes it in between, Miniflare fails to listen and the next port is
// tried (bounded).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../lib/ports.mjs';

const workerExample = fileURLToPath(new URL('../../worker-example/', import.meta.url));
const require = createRequire(`${workerExample}package.json`);
const { Miniflare } = await import(pathToFileURL(require.resolve('miniflare')).href);
const { workerOptions } = await import(pathToFileURL(`${workerExample}test/miniflare.mjs`).href);

const { values: args } = parseArgs({
  options: { script: { type: 'string' }, 'trust-ca': { type: 'string' }, mode: { type: 'string', default: 'durable-object' }, bind: { type: 'string', multiple: true, default: [] } },
});
const extra = Object.fromEntries(args.bind.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

let mf;
let origin;
for (let attempt = 1; ; attempt++) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const options = workerOptions(args.script ?? `${workerExample}dist/index.js`, {
    mode: args.mode,
    bindings: { ISSUER: issuer, DEMO_USER: 'demo-user', ...extra },
  });
  if (args['trust-ca']) {
    options.outboundService = {
      network: { allow: ['local'], tlsOptions: { trustBrowserCas: true, trustedCertificates: [readFileSync(args['trust-ca'], 'utf8')] } },
    };
  }
  mf = new Miniflare({ ...options, host: '127.0.0.1', port });
  try {
    origin = String(await mf.ready).replace(/\/$/, '');
    if (origin !== issuer) throw new Error(`Miniflare listens on ${origin}, not ${issuer}`);
    break;
  } catch (error) {
    await mf.dispose().catch(() => {});
    if (attempt >= 5) throw error;
    console.error(`worker-server: port ${port} failed (${error.message}); retrying`);
  }
}
console.log(`listening on ${origin}`);
console.log(`issuer: ${origin}`);
console.log(`storage: ${args.mode}`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await mf.dispose().catch(() => {});
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
