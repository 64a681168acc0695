// Shared helpers for the package tests: PKCE, form posts, and a full
// authorization through the provider's JS API.
import { createHash, randomBytes } from 'node:crypto';

export const ISSUER = 'https://auth.example.com';

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export function post(path, params, headers = {}) {
  return new Request(ISSUER + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params),
  });
}

export function bearer(token, path = '/mcp') {
  return new Request(ISSUER + path, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
}

/** GET /authorize, approve as `subject`; returns the code and the PKCE verifier. */
export async function authorize(provider, { clientId, redirectUri, scope, subject = 'alice', state = 'st' }) {
  const { verifier, challenge } = pkce();
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
  });
  if (scope) query.set('scope', scope);
  const parsed = await provider.parseAuthorizationRequest(new Request(`${ISSUER}/authorize?${query}`));
  if (!parsed.request) throw new Error(`authorization refused: ${parsed.response.status}`);
  const location = new URL(await provider.completeAuthorization(parsed.request, { subject, props: { tenant: 'acme' } }));
  return { code: location.searchParams.get('code'), verifier, location };
}
