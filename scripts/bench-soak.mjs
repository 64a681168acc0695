// Drives full OAuth flows over HTTP against the demo server, for the soak of
// scripts/bench-soak.sh: consent and code exchange (scripts/user-token.mjs:
// GET /authorize, the form POSTed with its CSRF cookie by
// tests/lib/browser.mjs), POST /mcp with the token, refresh. Nothing is
// revoked: codes, tokens and grants are left to expire. Uses the public
// demo-client, so no records are created that never expire.
//
//   node scripts/bench-soak.mjs <base url> <seconds> [concurrency]
// Prints one JSON line: flows completed, errors, the first error seen, the
// slowest flow (a stall shows there).
import { CLIENT, expect, userTokens } from './user-token.mjs';

const [base, seconds, concurrency = '8'] = process.argv.slice(2);
const until = Date.now() + Number(seconds) * 1000;

async function flow() {
  const tokens = await userTokens(base);
  const mcp = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });
  await (await expect(mcp, 200, '/mcp')).text();
  const refresh = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: CLIENT });
  await (await expect(await fetch(`${base}/token`, { method: 'POST', body: refresh }), 200, 'refresh')).text();
}

let flows = 0;
let errors = 0;
let firstError = null;
let slowest = 0;
let overOneSecond = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (Date.now() < until) {
      try {
        const started = performance.now();
        await flow();
        const ms = performance.now() - started;
        if (ms > slowest) slowest = ms;
        if (ms > 1000) overOneSecond++;
        flows++;
      } catch (error) {
        errors++;
        firstError ??= String(error.message ?? error);
      }
    }
  }),
);
console.log(JSON.stringify({ flows, errors, first_error: firstError, slowest_ms: Math.round(slowest), flows_over_1s: overOneSecond, seconds: Number(seconds), concurrency: Number(concurrency) }));
