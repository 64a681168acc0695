// Drives full OAuth flows over HTTP against the demo server, for the soak of
// scripts/bench-soak.sh: consent (GET /authorize, then the form POSTed with
// its CSRF cookie, by tests/lib/browser.mjs), code exchange, POST /mcp with
// the token, refresh. Nothing is revoked: codes, tokens and grants are left to
// expire. Uses the public demo-client, so no records are created that never
// expire.
//
//   node scripts/bench-soak.mjs <base url> <seconds> [concurrency]
// Prints one JSON line: flows completed, errors, the first error seen, the
// slowest flow (a stall shows there).
import { createHash, randomBytes } from 'node:crypto';
import { approveConsent } from '../tests/lib/browser.mjs';

const [base, seconds, concurrency = '8'] = process.argv.slice(2);
const REDIRECT = 'http://127.0.0.1/callback';
const CLIENT = 'demo-client';
const until = Date.now() + Number(seconds) * 1000;

async function expect(response, status, what) {
  if (response.status !== status) throw new Error(`${what}: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
  return response;
}

async function flow() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT,
    redirect_uri: REDIRECT,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope: 'mcp',
    state: 'soak',
  });
  const code = (await approveConsent(`${base}/authorize?${query}`)).searchParams.get('code');
  const token = (body) => fetch(`${base}/token`, { method: 'POST', body: new URLSearchParams(body) });
  const tokens = await (
    await expect(await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: CLIENT }), 200, 'exchange')
  ).json();
  const mcp = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });
  await (await expect(mcp, 200, '/mcp')).text();
  await (await expect(await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: CLIENT }), 200, 'refresh')).text();
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
