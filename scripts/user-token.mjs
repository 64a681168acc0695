// A user's tokens from the demo server, through the consent flow a browser
// takes: the public demo-client with PKCE (S256), GET /authorize, the consent
// form approved with its CSRF cookie (tests/lib/browser.mjs), the code
// exchanged at /token. The demo signs everyone who approves in as demo-user.
//
//   node scripts/user-token.mjs <base url>
// Prints the access token (for scripts/bench-load.sh's /mcp load, which needs
// a token that stands for a user: /mcp answers a client_credentials token 403).
// scripts/bench-soak.mjs imports userTokens for its flows.
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { approveConsent } from '../tests/lib/browser.mjs';

export const CLIENT = 'demo-client';
const REDIRECT = 'http://127.0.0.1/callback';

/** The response when its status is `status`, else an error naming `what`. */
export async function expect(response, status, what) {
  if (response.status !== status) throw new Error(`${what}: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
  return response;
}

/** The token response (access_token, refresh_token, ...) of one approved authorization. */
export async function userTokens(base) {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT,
    redirect_uri: REDIRECT,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope: 'mcp',
    state: 'user-token',
  });
  const code = (await approveConsent(`${base}/authorize?${query}`)).searchParams.get('code');
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: CLIENT });
  return (await expect(await fetch(`${base}/token`, { method: 'POST', body }), 200, 'exchange')).json();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [base] = process.argv.slice(2);
  if (!base) {
    console.error('usage: node scripts/user-token.mjs <base url>');
    process.exit(2);
  }
  console.log((await userTokens(base)).access_token);
}
