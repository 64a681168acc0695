// The peer for scripts/bench-edge.mjs: @cloudflare/workers-oauth-provider
// (pinned in package.json) in the smallest Worker that runs the same flow as
// ours. Not an example to copy: /authorize approves every request at once as
// "alice", with no sign-in and no consent page. State in the OAUTH_KV binding.
//
// Bundled by the bench script with esbuild (cloudflare:workers stays external).
import { OAuthProvider } from '@cloudflare/workers-oauth-provider';

const json = (value, status = 200) =>
  new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });

const TOOLS = [
  {
    name: 'whoami',
    description: 'Tells who the access token was issued to.',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
  },
];

/** The protected handler: the provider calls it only with a valid token, props in ctx.props. */
const apiHandler = {
  async fetch(request, env, ctx) {
    if (request.method !== 'POST') return new Response(null, { status: 405, headers: { allow: 'POST' } });
    const message = await request.json().catch(() => null);
    if (message?.method !== 'tools/list') {
      return json({ jsonrpc: '2.0', id: message?.id ?? null, error: { code: -32601, message: 'Method not found' } });
    }
    // The props travel with the answer so the bench can see the token carried them.
    return json({ jsonrpc: '2.0', id: message.id, result: { tools: TOOLS, _meta: { props: ctx.props } } });
  },
};

/** Everything that is not the provider's: only /authorize, approved at once. */
const defaultHandler = {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname !== '/authorize' || request.method !== 'GET') return new Response('not found', { status: 404 });
    let authRequest;
    try {
      authRequest = await env.OAUTH_PROVIDER.parseAuthRequest(request);
    } catch (error) {
      return new Response(`bad authorization request: ${error.message}`, { status: 400 });
    }
    const { redirectTo } = await env.OAUTH_PROVIDER.completeAuthorization({
      request: authRequest,
      userId: 'alice',
      metadata: {},
      scope: authRequest.scope,
      props: { login: 'alice' },
    });
    return new Response(null, { status: 302, headers: { location: redirectTo, 'cache-control': 'no-store' } });
  },
};

export default new OAuthProvider({
  apiRoute: '/mcp',
  apiHandler,
  defaultHandler,
  authorizeEndpoint: '/authorize',
  tokenEndpoint: '/token',
  clientRegistrationEndpoint: '/register',
  scopesSupported: ['mcp'],
  // The peer requires protected-resource metadata with an https resource; the
  // bench sends every request to this origin (dispatchFetch never resolves it).
  resourceMetadata: { resource: 'https://peer.example.test/mcp' },
});
