// The steps of an MCP client's OAuth journey. Each `run(ctx, step)` makes its
// exchanges through `step` (which shows them) and returns a one-line summary,
// or throws a StepError saying what went wrong.
import { base64url, expect, pkce, short } from './util.js';

/** The redirect URI the playground registers: its own callback page. */
export const REDIRECT_URI = new URL('./callback.html', import.meta.url).href;

export const STEPS = [
  {
    id: 'discover',
    title: '1. Discover: the MCP endpoint\'s 401, its resource metadata, the authorization server metadata',
    async run(ctx, step) {
      const mcpUrl = `${ctx.server.url}/mcp`;
      const challenge = await step.call('POST', mcpUrl, { 'content-type': 'application/json' }, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
      expect(challenge.status === 401, `expected 401 without a token, got ${challenge.status}`);
      const www = challenge.headers.get('www-authenticate') ?? '';
      const metadataUrl = /resource_metadata="([^"]+)"/.exec(www)?.[1];
      expect(metadataUrl, 'no resource_metadata in WWW-Authenticate (is it exposed by CORS?)');
      const resource = await step.call('GET', metadataUrl);
      expect(resource.status === 200, `resource metadata: ${resource.status}`);
      ctx.resource = resource.json.resource;
      const issuer = resource.json.authorization_servers?.[0];
      expect(issuer, 'no authorization_servers in the resource metadata');
      const as = await step.call('GET', `${issuer.replace(/\/+$/, '')}/.well-known/oauth-authorization-server`);
      expect(as.status === 200, `authorization server metadata: ${as.status}`);
      expect(as.json.code_challenge_methods_supported?.includes('S256'), 'the server does not support PKCE S256');
      ctx.metadata = as.json;
      return `resource ${ctx.resource}, authorization server ${as.json.issuer}`;
    },
  },
  {
    id: 'register',
    title: '2. Register the client (RFC 7591 dynamic registration)',
    async run(ctx, step) {
      expect(ctx.metadata?.registration_endpoint, 'run Discover first (or the server has no registration endpoint)');
      const metadata = { client_name: 'Playground client', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', scope: 'mcp' };
      const registered = await step.call('POST', ctx.metadata.registration_endpoint, { 'content-type': 'application/json' }, JSON.stringify(metadata, null, 2));
      expect(registered.status === 201, `registration: ${registered.status}`);
      ctx.clientId = registered.json.client_id;
      return `client_id ${ctx.clientId} (public client, PKCE)`;
    },
  },
  {
    id: 'authorize',
    title: '3. Authorize: send the user to the authorization endpoint with PKCE S256',
    async run(ctx, step) {
      expect(ctx.clientId, 'run Register first');
      ctx.pkce = await pkce();
      ctx.state = base64url(crypto.getRandomValues(new Uint8Array(12)));
      const url = new URL(ctx.metadata.authorization_endpoint);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: ctx.clientId,
        redirect_uri: REDIRECT_URI,
        scope: 'mcp',
        state: ctx.state,
        code_challenge: ctx.pkce.challenge,
        code_challenge_method: 'S256',
        resource: ctx.resource,
      }).toString();
      ctx.pending = await ctx.server.authorize(url.toString(), step);
      return `code_challenge ${short(ctx.pkce.challenge)}, state ${ctx.state}`;
    },
  },
  {
    id: 'consent',
    title: '4. Consent: the user approves; the browser comes back with a code',
    async run(ctx, step) {
      expect(ctx.pending, 'run Authorize first');
      const location = await ctx.pending.consent(step);
      ctx.pending = null;
      const params = location.searchParams;
      expect(!params.get('error'), `the server answered error=${params.get('error')}`);
      expect(params.get('state') === ctx.state, 'the state that came back is not the one sent');
      expect(params.get('iss') === ctx.metadata.issuer, `iss is ${params.get('iss')}, not ${ctx.metadata.issuer} (RFC 9207)`);
      ctx.code = params.get('code');
      expect(ctx.code, 'no code in the redirect');
      return `code ${short(ctx.code)}; state and iss match`;
    },
  },
  {
    id: 'token',
    title: '5. Token: exchange the code and the PKCE verifier',
    async run(ctx, step) {
      expect(ctx.code, 'run Consent first');
      const tokens = await step.form(ctx.metadata.token_endpoint, {
        grant_type: 'authorization_code',
        code: ctx.code,
        redirect_uri: REDIRECT_URI,
        client_id: ctx.clientId,
        code_verifier: ctx.pkce.verifier,
        resource: ctx.resource,
      });
      expect(tokens.status === 200, `token: ${tokens.status} ${tokens.json?.error ?? ''}`);
      ctx.tokens = tokens.json;
      ctx.code = null;
      return `access_token ${short(ctx.tokens.access_token)} (${ctx.tokens.expires_in} s), refresh_token ${short(ctx.tokens.refresh_token)}`;
    },
  },
  {
    id: 'call',
    title: '6. A protected call: tools/call whoami on the MCP endpoint with the bearer token',
    async run(ctx, step) {
      expect(ctx.tokens, 'run Token first');
      const answer = await mcpCall(ctx, step, ctx.tokens.access_token);
      expect(answer.status === 200, `MCP call: ${answer.status}`);
      const text = answer.json?.result?.content?.[0]?.text;
      expect(text, 'no tool result');
      return text.replace(/\n/g, ', ');
    },
  },
  {
    id: 'refresh',
    title: '7. Refresh: a new access token; the refresh token rotates',
    async run(ctx, step) {
      expect(ctx.tokens?.refresh_token, 'run Token first');
      const refreshed = await step.form(ctx.metadata.token_endpoint, { grant_type: 'refresh_token', refresh_token: ctx.tokens.refresh_token, client_id: ctx.clientId });
      expect(refreshed.status === 200, `refresh: ${refreshed.status} ${refreshed.json?.error ?? ''}`);
      expect(refreshed.json.refresh_token !== ctx.tokens.refresh_token, 'the refresh token did not rotate');
      ctx.tokens = refreshed.json;
      const answer = await mcpCall(ctx, step, ctx.tokens.access_token);
      expect(answer.status === 200, `the new access token: ${answer.status}`);
      return `new access_token ${short(ctx.tokens.access_token)} works; refresh_token rotated to ${short(ctx.tokens.refresh_token)}`;
    },
  },
  {
    id: 'revoke',
    title: '8. Revoke (RFC 7009): the grant ends, its access token is refused',
    async run(ctx, step) {
      expect(ctx.tokens, 'run Token first');
      expect(ctx.metadata.revocation_endpoint, 'the server announces no revocation endpoint');
      const revoked = await step.form(ctx.metadata.revocation_endpoint, { token: ctx.tokens.refresh_token, token_type_hint: 'refresh_token', client_id: ctx.clientId });
      expect(revoked.status === 200, `revoke: ${revoked.status}`);
      const answer = await mcpCall(ctx, step, ctx.tokens.access_token);
      expect(answer.status === 401, `after revocation the access token got ${answer.status}, not 401`);
      return 'revoked; the access token now gets 401 invalid_token';
    },
  },
];

function mcpCall(ctx, step, token) {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoami', arguments: {} } });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  return step.call('POST', `${ctx.server.url}/mcp`, headers, body);
}
