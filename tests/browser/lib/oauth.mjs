// The client side of the flow, in Node: registration, PKCE, the code
// exchange and the protected MCP call. The browser does only what a person
// does: look at pages and click.
import { createHash, randomBytes } from 'node:crypto';

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

export function pkce() {
  const verifier = b64url(randomBytes(32));
  return { verifier, challenge: b64url(createHash('sha256').update(verifier).digest()) };
}

/** RFC 7591 registration of a public client. */
export async function register(issuer, { name, redirectUri }) {
  const response = await fetch(`${issuer}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: name, redirect_uris: [redirectUri], token_endpoint_auth_method: 'none', scope: 'mcp' }),
  });
  if (response.status !== 201) throw new Error(`register: ${response.status} ${await response.text()}`);
  return (await response.json()).client_id;
}

export function authorizeUrl(issuer, { clientId, redirectUri, challenge, state }) {
  const url = new URL(`${issuer}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: 'mcp',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    resource: `${issuer}/mcp`,
  }).toString();
  return url.toString();
}

export async function exchange(issuer, { clientId, redirectUri, code, verifier }) {
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: clientId,
      code_verifier: verifier,
      resource: `${issuer}/mcp`,
    }),
  });
  if (response.status !== 200) throw new Error(`token: ${response.status} ${await response.text()}`);
  return response.json();
}

/** `tools/list` on the MCP endpoint with `token`; resolves to the HTTP status. */
export async function mcpStatus(issuer, token) {
  const response = await fetch(`${issuer}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  await response.arrayBuffer();
  return response.status;
}
