// The MCP TypeScript SDK (@modelcontextprotocol/sdk) against one server, as a
// real MCP client would use it: Client + StreamableHTTPClientTransport with an
// OAuthClientProvider of ours that plays the browser headlessly.
//
//   node ts-client.mjs --url <server>/mcp [--cimd <https client_id URL>]
//                      [--step-up <tool> [--step-up-stop-at-403]]
//
// Steps: connect (401 -> discovery -> DCR, or the CIMD URL as client_id ->
// consent -> finishAuth(code)), connect again, tools/list, tools/call whoami,
// then a forced refresh: the provider's tokens() starts reporting an access
// token the server no longer accepts (as after expiry), the next request gets
// a 401, and the SDK runs its refresh path (grant_type=refresh_token) and
// retries; tools/list must succeed without a second consent. Every request
// the SDK sends goes through a logging fetch, so the token grants it made are
// checked from the wire, with the server's status codes.
//
// With --step-up <tool> (the rmcp example server's server_stats, which needs
// a scope beyond the first token's): the call is refused with a 403
// insufficient_scope challenge naming the missing scope. SDK 1.32.2's own
// step-up then refreshes the token, which cannot widen its scope, and gives
// up on the second identical 403 (typescript-sdk#2255); so the application
// re-authorizes with the challenged scope, as an app on this SDK must: a
// second consent, a new token, and the tool works in a new session. With
// --step-up-stop-at-403 only the refusal is checked (a DCR client may ask
// only for the scopes it registered).
import { parseArgs } from 'node:util';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError, auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { approveConsent, browserStats } from '../lib/browser.mjs';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    cimd: { type: 'string' },
    label: { type: 'string', default: 'ts-sdk' },
    'step-up': { type: 'string' },
    'step-up-stop-at-403': { type: 'boolean', default: false },
  },
});
if (!args.url) throw new Error('--url <server>/mcp is required');
const serverUrl = new URL(args.url);
const log = (...parts) => console.log(`[${args.label}]`, ...parts);

// What went over the wire to the token endpoint.
const tokenRequests = [];
const registrations = [];
// The MCP endpoint's 403 answers, with their challenges.
const forbidden = [];
async function loggingFetch(input, init = {}) {
  const response = await fetch(input, init);
  const url = new URL(input instanceof Request ? input.url : String(input));
  const method = init.method ?? (input instanceof Request ? input.method : 'GET');
  if (method === 'POST' && url.pathname.endsWith('/token')) {
    const grant = new URLSearchParams(String(init.body ?? '')).get('grant_type');
    tokenRequests.push({ grant, status: response.status });
    log(`POST ${url.pathname} grant_type=${grant} -> ${response.status}`);
  } else if (url.pathname === serverUrl.pathname && response.status === 403) {
    const challenge = response.headers.get('www-authenticate');
    forbidden.push(challenge);
    log(`${method} ${url.pathname} -> 403; WWW-Authenticate: ${challenge}`);
  } else if (url.pathname !== serverUrl.pathname) {
    log(`${method} ${url.pathname} -> ${response.status}`);
    if (method === 'POST' && url.pathname.endsWith('/register')) registrations.push(response.status);
  }
  return response;
}

const REDIRECT_URL = 'http://127.0.0.1:33419/callback';

class HeadlessOAuthProvider {
  constructor({ clientMetadataUrl } = {}) {
    this.clientMetadataUrl = clientMetadataUrl;
    this._client = undefined;
    this._tokens = undefined;
    this._verifier = undefined;
    this._state = undefined;
    this.pendingCode = undefined;
    this.expired = false;
  }
  get redirectUrl() { return REDIRECT_URL; }
  get clientMetadata() {
    return {
      client_name: 'simply-mcp-oauth TS SDK client test',
      redirect_uris: [REDIRECT_URL],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  state() { this._state = crypto.randomUUID(); return this._state; }
  clientInformation() { return this._client; }
  saveClientInformation(info) { log(`client information saved: client_id ${info.client_id}`); this._client = info; }
  tokens() {
    if (this._tokens && this.expired) {
      // As after the access token expired: the server refuses it with a 401.
      return { ...this._tokens, access_token: 'expired-access-token', expires_in: 0 };
    }
    return this._tokens;
  }
  saveTokens(tokens) { this._tokens = tokens; this.expired = false; }
  saveCodeVerifier(verifier) { this._verifier = verifier; }
  codeVerifier() { return this._verifier; }
  async redirectToAuthorization(authorizationUrl) {
    log(`authorize: ${authorizationUrl.origin}${authorizationUrl.pathname} client_id=${authorizationUrl.searchParams.get('client_id')} scope=${authorizationUrl.searchParams.get('scope')} resource=${authorizationUrl.searchParams.get('resource')}`);
    const callback = await approveConsent(authorizationUrl, { fetchImpl: fetch, log });
    assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT_URL, 'redirected to our redirect_uri');
    if (callback.searchParams.get('error')) {
      throw new Error(`authorization error: ${callback.searchParams.get('error')}: ${callback.searchParams.get('error_description')}`);
    }
    assert.equal(callback.searchParams.get('state'), this._state, 'state comes back unchanged');
    const iss = callback.searchParams.get('iss');
    assert.ok(iss, 'the redirect carries iss (RFC 9207)');
    log(`callback: code received, state ok, iss=${iss}`);
    this.pendingCode = callback.searchParams.get('code');
  }
}

function newTransport(provider) {
  return new StreamableHTTPClientTransport(serverUrl, { authProvider: provider, fetch: loggingFetch });
}

/** Exit status 77: skipped (the server does not support what this run needs). */
async function skipUnlessCimdSupported() {
  const prm = await (await fetch(new URL(`/.well-known/oauth-protected-resource${serverUrl.pathname}`, serverUrl))).json();
  const as = prm.authorization_servers?.[0];
  const metadata = await (await fetch(`${String(as).replace(/\/$/, '')}/.well-known/oauth-authorization-server`)).json();
  if (metadata.client_id_metadata_document_supported !== true) {
    console.log(`[${args.label}] SKIP: the authorization server metadata of ${as} lacks client_id_metadata_document_supported: true`);
    process.exit(77);
  }
}

async function main() {
  if (args.cimd) await skipUnlessCimdSupported();
  const provider = new HeadlessOAuthProvider({ clientMetadataUrl: args.cimd });
  let client = new Client({ name: 'simply-mcp-oauth-ts-test', version: '1.0.0' });
  let transport = newTransport(provider);
  try {
    await client.connect(transport);
    throw new Error('the first connect should need authorization');
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
    assert.ok(provider.pendingCode, 'the browser step produced a code');
    log('UnauthorizedError as expected; finishAuth(code)');
    await transport.finishAuth(provider.pendingCode);
  }
  assert.equal(tokenRequests.at(-1)?.grant, 'authorization_code');
  assert.equal(tokenRequests.at(-1)?.status, 200);
  const firstTokens = provider._tokens;
  assert.ok(firstTokens?.access_token && firstTokens.refresh_token, 'an access token and a refresh token');
  if (args.cimd) {
    assert.equal(provider._client?.client_id, args.cimd, 'the client id is the metadata URL');
    assert.deepEqual(registrations, [], 'no dynamic registration with CIMD');
  } else {
    assert.deepEqual(registrations, [201], 'one dynamic registration');
  }

  await client.close().catch(() => {});
  client = new Client({ name: 'simply-mcp-oauth-ts-test', version: '1.0.0' });
  transport = newTransport(provider);
  await client.connect(transport);
  log(`connected: server ${client.getServerVersion()?.name} ${client.getServerVersion()?.version}, protocol ${transport.protocolVersion ?? '?'}`);
  const tools = await client.listTools();
  const names = tools.tools.map((t) => t.name);
  log(`tools/list: ${JSON.stringify(names)}`);
  assert.ok(names.length > 0, 'tools/list returns tools');
  if (names.includes('whoami')) {
    const who = await client.callTool({ name: 'whoami', arguments: {} });
    log(`tools/call whoami: ${who.content?.[0]?.text}`);
  }

  // Forced refresh.
  const grantsBefore = tokenRequests.length;
  provider.expired = true;
  log('forcing a refresh: tokens() now reports an expired access token');
  const again = await client.listTools();
  assert.deepEqual(again.tools.map((t) => t.name), names, 'tools/list after the refresh');
  const refreshes = tokenRequests.slice(grantsBefore);
  assert.deepEqual(refreshes, [{ grant: 'refresh_token', status: 200 }], 'exactly one refresh_token grant, answered 200');
  assert.notEqual(provider._tokens.access_token, firstTokens.access_token, 'a new access token');
  assert.notEqual(provider._tokens.refresh_token, firstTokens.refresh_token, 'the refresh token rotated');
  assert.equal(browserStats.consents, 1, 'no second consent');
  log('refresh ok: refresh_token grant -> 200, new access token, rotated refresh token, tools/list ok, one consent in all');
  if (args['step-up']) await stepUp(client, provider, args['step-up']);
  await client.close();
}

/** The value of name="…" in a WWW-Authenticate challenge. */
const challengeParam = (challenge, name) => new RegExp(`${name}="([^"]*)"`).exec(challenge ?? '')?.[1];

async function scopesOfCaller(client) {
  const who = await client.callTool({ name: 'whoami', arguments: {} });
  return who.structuredContent?.scopes ?? [];
}

/** --step-up: the 403 challenge, then re-authorization with its scope. */
async function stepUp(client, provider, tool) {
  const granted = await scopesOfCaller(client);
  const before = forbidden.length;
  const refused = await client.callTool({ name: tool, arguments: {} }).then(
    (result) => { throw new Error(`${tool} without its scope must be refused with a 403, got ${JSON.stringify(result)}`); },
    (error) => error,
  );
  const challenge = forbidden[before];
  assert.ok(challenge, `${tool} was answered 403 (${refused})`);
  assert.equal(challengeParam(challenge, 'error'), 'insufficient_scope', 'the challenge says insufficient_scope');
  assert.ok(challengeParam(challenge, 'resource_metadata'), 'the challenge names resource_metadata');
  const scope = challengeParam(challenge, 'scope');
  const missing = (scope ?? '').split(' ').filter((s) => s && !granted.includes(s));
  assert.ok(missing.length > 0, `the challenge's scope ${scope} names one the token (${granted}) lacks`);
  log(`tools/call ${tool}: the SDK gave up with: ${refused?.message ?? refused}`);
  if (args['step-up-stop-at-403']) {
    log('step-up: the 403 challenge is right; stopping there (--step-up-stop-at-403)');
    return;
  }
  // The application's step-up: forget the token (a refresh cannot widen
  // it) and authorize again for the challenged scope.
  provider._tokens = undefined;
  const resourceMetadataUrl = new URL(challengeParam(challenge, 'resource_metadata'));
  const started = await auth(provider, { serverUrl, scope, resourceMetadataUrl, fetchFn: loggingFetch });
  assert.equal(started, 'REDIRECT', 'a new authorization for the wider scope');
  assert.ok(provider.pendingCode, 'the second consent produced a code');
  const finished = await auth(provider, { serverUrl, authorizationCode: provider.pendingCode, resourceMetadataUrl, fetchFn: loggingFetch });
  assert.equal(finished, 'AUTHORIZED');
  assert.deepEqual(tokenRequests.at(-1), { grant: 'authorization_code', status: 200 }, 'the code grant for the wider scope');
  const upgraded = new Client({ name: 'simply-mcp-oauth-ts-test', version: '1.0.0' });
  await upgraded.connect(newTransport(provider));
  const result = await upgraded.callTool({ name: tool, arguments: {} });
  log(`tools/call ${tool} after the step-up: ${result.content?.[0]?.text}`);
  assert.notEqual(result.isError, true, `${tool} succeeds after the step-up`);
  const now = await scopesOfCaller(upgraded);
  for (const s of missing) assert.ok(now.includes(s), `the new token holds ${s}: ${now}`);
  assert.equal(browserStats.consents, 2, 'a second consent for the step-up');
  log(`step-up ok: 403 insufficient_scope -> authorization for "${scope}" -> consent -> ${tool} ok, scopes ${JSON.stringify(now)}`);
  await upgraded.close();
}

const timer = setTimeout(() => { console.error(`[${args.label}] timed out`); process.exit(3); }, 60_000);
main().then(
  () => { clearTimeout(timer); log('PASS'); },
  (error) => { clearTimeout(timer); console.error(`[${args.label}] FAIL:`, error?.stack ?? error); process.exit(1); },
);
