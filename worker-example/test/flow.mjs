// End-to-end checks shared by the Worker tests (Miniflare, under node --test)
// and the Deno tests. `send(url, init)` is a fetch that reaches the server
// (mf.dispatchFetch, or fetch to a loopback port); redirects are never followed.
import assert from 'node:assert/strict';
import { readConsentForm } from '../../tests/lib/browser.mjs';

export const REDIRECT_URI = 'http://127.0.0.1:33418/callback';

function b64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export async function pkce() {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  return { verifier, challenge };
}

/** The hidden fields of the consent form and the cookie it set. */
export async function readConsentPage(response) {
  assert.equal(response.status, 200, 'the consent page is shown');
  assert.match(response.headers.get('content-type'), /^text\/html/);
  assert.match(response.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  const html = await response.text();
  const { fields } = readConsentForm(html);
  const field = (name) => {
    const found = fields.find(([fieldName]) => fieldName === name);
    assert.ok(found, `the form has a ${name} field`);
    return found[1];
  };
  const setCookie = response.headers.getSetCookie();
  assert.equal(setCookie.length, 1, 'one cookie');
  assert.match(setCookie[0], /; HttpOnly/);
  assert.match(setCookie[0], /; SameSite=Strict/);
  return { html, authz: field('authz'), csrf: field('csrf'), cookie: setCookie[0].split(';')[0] };
}

export function postConsent(send, issuer, { authz, csrf, cookie, decision }) {
  return send(`${issuer}/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams({ authz, csrf, decision }).toString(),
  });
}

/** Shows the consent page for `authorizeUrl`, submits `decision`; returns the redirect URL. */
export async function consent(send, issuer, authorizeUrl, decision = 'approve') {
  const form = await readConsentPage(await send(String(authorizeUrl), { redirect: 'manual' }));
  const response = await postConsent(send, issuer, { ...form, decision });
  assert.equal(response.status, 303, 'the decision redirects');
  assert.match(response.headers.getSetCookie()[0], /Max-Age=0/, 'the consent cookie is cleared');
  return new URL(response.headers.get('location'));
}

export function rpc(send, issuer, token, method, params, id = 1) {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  if (token) headers.authorization = `Bearer ${token}`;
  return send(`${issuer}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id, method, params }) });
}

function form(send, url, params) {
  return send(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
}

/** The POST /register (RFC 7591) of a public client with the code and refresh grants; also used by scripts/bench-edge.mjs. */
export function publicClientRegistration(clientName, redirectUri = REDIRECT_URI) {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      client_name: clientName,
    }),
  };
}

/** Discovery from a 401 and dynamic registration of a public client. */
export async function discoverAndRegister(send, issuer, clientName = 'Flow test client') {
  const challenge = await rpc(send, issuer, null, 'initialize', {});
  assert.equal(challenge.status, 401);
  const wwwAuthenticate = challenge.headers.get('www-authenticate');
  const metadataUrl = /resource_metadata="([^"]+)"/.exec(wwwAuthenticate)?.[1];
  assert.equal(metadataUrl, `${issuer}/.well-known/oauth-protected-resource/mcp`);
  const resource = await (await send(metadataUrl)).json();
  assert.equal(resource.resource, `${issuer}/mcp`);
  const asUrl = resource.authorization_servers[0];
  assert.equal(asUrl, issuer);
  const as = await (await send(`${asUrl}/.well-known/oauth-authorization-server`)).json();
  assert.equal(as.issuer, issuer);
  assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
  const registration = await send(as.registration_endpoint, publicClientRegistration(clientName));
  assert.equal(registration.status, 201);
  const client = await registration.json();
  return { as, resource, client };
}

export async function authorizeUrl(as, client, { resource, scope = 'mcp', state = 'xyz-state', redirectUri = REDIRECT_URI } = {}) {
  const { verifier, challenge } = await pkce();
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    scope,
    ...(resource ? { resource } : {}),
  }).toString();
  return { url, verifier, state };
}

/**
 * The whole flow with hand-built requests: 401 -> discovery -> registration ->
 * consent -> token -> /mcp -> refresh -> revoke -> /mcp 401.
 */
export async function handBuiltFlow(send, issuer, { demoUser }) {
  const { as, resource, client } = await discoverAndRegister(send, issuer, 'Evil <script>alert(1)</script> & Co');
  const { url, verifier, state } = await authorizeUrl(as, client, { resource: resource.resource });

  const page = await readConsentPage(await send(String(url), { redirect: 'manual' }));
  assert.ok(!page.html.includes('<script>'), 'the client name is escaped');
  assert.ok(page.html.includes('Evil &#60;script&#62;alert(1)&#60;/script&#62; &#38; Co'));
  assert.ok(page.html.includes(demoUser), 'the signed-in user is shown');
  const decision = await postConsent(send, issuer, { ...page, decision: 'approve' });
  assert.equal(decision.status, 303);
  const location = new URL(decision.headers.get('location'));
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
  assert.equal(location.searchParams.get('state'), state);
  assert.equal(location.searchParams.get('iss'), issuer);
  const code = location.searchParams.get('code');
  assert.ok(code);

  const tokenResponse = await form(send, as.token_endpoint, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
    client_id: client.client_id,
    resource: resource.resource,
  });
  assert.equal(tokenResponse.status, 200, await tokenResponse.clone().text());
  const tokens = await tokenResponse.json();
  assert.equal(tokens.token_type, 'Bearer');
  assert.equal(tokens.scope, 'mcp');

  const init = await rpc(send, issuer, tokens.access_token, 'initialize', {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'flow', version: '1' },
  });
  assert.equal(init.status, 200);
  const initBody = await init.json();
  assert.equal(initBody.result.protocolVersion, '2025-06-18');
  assert.ok(initBody.result.capabilities.tools);
  const initialized = await send(`${issuer}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.access_token}` },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  assert.equal(initialized.status, 202);
  await initialized.body?.cancel();
  const list = await (await rpc(send, issuer, tokens.access_token, 'tools/list', {}, 2)).json();
  assert.deepEqual(list.result.tools.map((t) => t.name), ['whoami']);
  const call = await (await rpc(send, issuer, tokens.access_token, 'tools/call', { name: 'whoami', arguments: {} }, 3)).json();
  assert.match(call.result.content[0].text, new RegExp(`subject=${demoUser} client=${client.client_id} scopes=mcp`));

  const refreshResponse = await form(send, as.token_endpoint, {
    grant_type: 'refresh_token',
    refresh_token: tokens.refresh_token,
    client_id: client.client_id,
  });
  assert.equal(refreshResponse.status, 200);
  const refreshed = await refreshResponse.json();
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'the refresh token rotates');
  assert.equal((await rpc(send, issuer, refreshed.access_token, 'tools/list', {})).status, 200);
  const reused = await form(send, as.token_endpoint, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id });
  // The previous refresh token, presented again before its successor is used,
  // is a retry after a lost response: it gets the same successor, never a new one.
  assert.equal(reused.status, 200, 'a retry with the previous refresh token is answered');
  assert.equal((await reused.json()).refresh_token, refreshed.refresh_token, 'a retry yields the same successor');

  // A second grant (its own consent) that the revocation below must not touch.
  const other = await authorizeUrl(as, client, { resource: resource.resource });
  const otherCode = (await consent(send, issuer, other.url)).searchParams.get('code');
  const otherTokens = await (
    await form(send, as.token_endpoint, { grant_type: 'authorization_code', code: otherCode, redirect_uri: REDIRECT_URI, code_verifier: other.verifier, client_id: client.client_id })
  ).json();

  const revoked = await form(send, as.revocation_endpoint, { token: refreshed.refresh_token, client_id: client.client_id });
  assert.equal(revoked.status, 200);
  await revoked.body?.cancel();
  const after = await rpc(send, issuer, refreshed.access_token, 'tools/list', {});
  assert.equal(after.status, 401, 'revoking the refresh token ends the grant');
  assert.match(after.headers.get('www-authenticate'), /error="invalid_token"/);
  assert.match(after.headers.get('www-authenticate'), new RegExp(`resource_metadata="${issuer}/.well-known/oauth-protected-resource/mcp"`));
  await after.body?.cancel();
  assert.equal((await rpc(send, issuer, otherTokens.access_token, 'tools/list', {})).status, 200, 'the other grant still works');
  return { as, client };
}

/** Deny -> error=access_denied at the redirect URI, with the state. */
export async function denyFlow(send, issuer) {
  const { as, client } = await discoverAndRegister(send, issuer);
  const { url, state } = await authorizeUrl(as, client);
  const location = await consent(send, issuer, url, 'deny');
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
  assert.equal(location.searchParams.get('error'), 'access_denied');
  assert.equal(location.searchParams.get('state'), state);
  assert.equal(location.searchParams.get('code'), null);
}

/** An unregistered redirect URI gets a 400 page, never a redirect. */
export async function wrongRedirectFlow(send, issuer) {
  const { as, client } = await discoverAndRegister(send, issuer);
  for (const redirectUri of ['https://evil.example/callback', 'http://127.0.0.1:33418/other']) {
    const { url } = await authorizeUrl(as, client, { redirectUri });
    const response = await send(String(url), { redirect: 'manual' });
    assert.equal(response.status, 400, redirectUri);
    assert.equal(response.headers.get('location'), null);
    assert.match(response.headers.get('content-type'), /^text\/html/);
    assert.equal(response.headers.getSetCookie().length, 0, 'no consent cookie');
    await response.body?.cancel();
  }
  // An unknown client, too.
  const { url } = await authorizeUrl(as, { client_id: 'no-such-client' });
  const response = await send(String(url), { redirect: 'manual' });
  assert.equal(response.status, 400);
  assert.equal(response.headers.get('location'), null);
  await response.body?.cancel();
}

/**
 * Anyone may register any redirect URI, so an error before the user acted is
 * a 400 page naming it, with a link back to the client's site: never a
 * redirect, or the server would be an open redirector (RFC 9700 §4.11.2).
 */
export async function unvettedErrorFlow(send, issuer) {
  const { as, client } = await discoverAndRegister(send, issuer);
  const { url } = await authorizeUrl(as, client);
  url.searchParams.set('response_type', 'bogus');
  const response = await send(String(url), { redirect: 'manual' });
  assert.equal(response.status, 400);
  assert.equal(response.headers.get('location'), null);
  assert.match(response.headers.get('content-type'), /^text\/html/);
  const html = await response.text();
  assert.match(html, /unsupported_response_type/);
  assert.ok(html.includes(`<a href="${new URL(REDIRECT_URI).origin}"`), html);
}

/** Forged or replayed consent posts are refused with a 400 page and no Location. */
export async function csrfFlow(send, issuer) {
  const { as, client } = await discoverAndRegister(send, issuer);
  const { url } = await authorizeUrl(as, client);
  const page = await readConsentPage(await send(String(url), { redirect: 'manual' }));
  const other = await readConsentPage(await send(String((await authorizeUrl(as, client)).url), { redirect: 'manual' }));
  const flipped = page.csrf.slice(0, -2) + (page.csrf.endsWith('AA') ? 'BB' : 'AA');
  const tamperedAuthz = new URLSearchParams(page.authz);
  tamperedAuthz.set('state', 'attacker-state');
  const forgeries = {
    'a forged token': { ...page, csrf: flipped },
    'an empty token': { ...page, csrf: '' },
    'a garbage token': { ...page, csrf: '"><script>' },
    'no cookie': { ...page, cookie: null },
    "another form's cookie": { ...page, cookie: other.cookie },
    'changed parameters': { ...page, authz: tamperedAuthz.toString() },
  };
  for (const [what, forged] of Object.entries(forgeries)) {
    for (const decision of ['approve', 'deny']) {
      const response = await postConsent(send, issuer, { ...forged, decision });
      assert.equal(response.status, 400, `${what} (${decision})`);
      assert.equal(response.headers.get('location'), null, `${what} (${decision}) is not redirected`);
      await response.body?.cancel();
    }
  }
  const wrongType = await send(`${issuer}/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: page.cookie },
    body: JSON.stringify({ authz: page.authz, csrf: page.csrf, decision: 'approve' }),
  });
  assert.equal(wrongType.status, 415);
  assert.equal(wrongType.headers.get('location'), null);
  await wrongType.body?.cancel();
  // The genuine form still works.
  const genuine = await postConsent(send, issuer, { ...page, decision: 'approve' });
  assert.equal(genuine.status, 303);
  assert.ok(new URL(genuine.headers.get('location')).searchParams.get('code'));
}

/** Tokens that must not open /mcp. */
export async function badTokensFlow(send, issuer) {
  for (const token of ['not-a-token', 'a'.repeat(40)]) {
    const response = await rpc(send, issuer, token, 'tools/list', {});
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate'), /^Bearer /);
    assert.match(response.headers.get('www-authenticate'), /error="invalid_token"/);
    await response.body?.cancel();
  }
  // GET with no token: the same challenge.
  const get = await send(`${issuer}/mcp`);
  assert.equal(get.status, 401);
  await get.body?.cancel();
}

/**
 * The same flow driven by oauth4webapi, a certified OAuth client library:
 * RFC 9728 resource discovery from the 401, RFC 8414 discovery, RFC 7591
 * registration, authorization code + PKCE (consent submitted like a browser),
 * an MCP call, refresh, RFC 7009 revocation, and the 401 after it.
 */
export async function oauth4webapiFlow(oauth, send, issuer, { demoUser }) {
  const http = new URL(issuer).protocol === 'http:';
  const options = { [oauth.customFetch]: (url, init) => send(url, { ...init, redirect: 'manual' }), ...(http ? { [oauth.allowInsecureRequests]: true } : {}) };
  const mcpUrl = new URL(`${issuer}/mcp`);
  const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'oauth4webapi', version: '3' } } });
  const headers = () => new Headers({ 'content-type': 'application/json', accept: 'application/json, text/event-stream' });

  // 1. The resource answers 401 with a challenge pointing at its metadata.
  const challenged = await oauth.protectedResourceRequest('unknown-token', 'POST', mcpUrl, headers(), initialize, options).then(
    () => assert.fail('an unknown token was accepted'),
    (error) => error,
  );
  assert.ok(challenged instanceof oauth.WWWAuthenticateChallengeError, String(challenged));
  assert.equal(challenged.status, 401);
  const bearer = challenged.cause.find((c) => c.scheme === 'bearer');
  assert.equal(bearer.parameters.error, 'invalid_token');
  assert.equal(bearer.parameters.resource_metadata, `${issuer}/.well-known/oauth-protected-resource/mcp`);

  // 2. Discovery.
  const rs = await oauth.processResourceDiscoveryResponse(mcpUrl, await oauth.resourceDiscoveryRequest(mcpUrl, options));
  const asIssuer = new URL(rs.authorization_servers[0]);
  const as = await oauth.processDiscoveryResponse(asIssuer, await oauth.discoveryRequest(asIssuer, { ...options, algorithm: 'oauth2' }));

  // 3. Dynamic client registration of a public client.
  const client = await oauth.processDynamicClientRegistrationResponse(
    await oauth.dynamicClientRegistrationRequest(
      as,
      {
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        client_name: 'oauth4webapi client',
      },
      options,
    ),
  );
  const clientAuth = oauth.None();

  // 4. Authorization code with PKCE; the user approves on the consent page.
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const authorizationUrl = new URL(as.authorization_endpoint);
  authorizationUrl.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: REDIRECT_URI,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    scope: 'mcp',
    state,
    resource: rs.resource,
  }).toString();
  const callback = await consent(send, issuer, authorizationUrl);
  const params = oauth.validateAuthResponse(as, client, callback, state); // checks state and iss
  const tokens = await oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, REDIRECT_URI, verifier, { ...options, additionalParameters: { resource: rs.resource } }),
  );
  assert.equal(tokens.token_type, 'bearer');
  assert.ok(tokens.refresh_token);

  // 5. MCP with the token.
  const mcp = async (accessToken, body) => (await oauth.protectedResourceRequest(accessToken, 'POST', mcpUrl, headers(), body, options)).json();
  assert.equal((await mcp(tokens.access_token, initialize)).result.serverInfo.name, 'simply-mcp-oauth-example');
  const call = await mcp(tokens.access_token, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoami', arguments: {} } }));
  assert.match(call.result.content[0].text, new RegExp(`^subject=${demoUser} client=${client.client_id}`));

  // 6. Refresh (rotating), 7. revocation, 8. the token no longer opens /mcp.
  const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, options));
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  const list = await mcp(refreshed.access_token, JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }));
  assert.equal(list.result.tools[0].name, 'whoami');
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth, refreshed.refresh_token, options));
  const afterRevocation = await oauth.protectedResourceRequest(refreshed.access_token, 'POST', mcpUrl, headers(), initialize, options).then(
    () => assert.fail('a revoked grant still opens /mcp'),
    (error) => error,
  );
  assert.ok(afterRevocation instanceof oauth.WWWAuthenticateChallengeError);
  assert.equal(afterRevocation.status, 401);
  // The rotated refresh token is dead too.
  await assert.rejects(
    oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token, options).then((r) => oauth.processRefreshTokenResponse(as, client, r)),
    (error) => error instanceof oauth.ResponseBodyError && error.error === 'invalid_grant',
  );
}

/** A pre-registered confidential client (the seed's `clients` option), via oauth4webapi with client_secret_basic. */
export const CONFIDENTIAL_CLIENT = {
  clientId: 'seed-app',
  clientSecret: 'seed-app-secret-0123456789',
  redirectUris: ['https://app.example.test/callback'],
  scopes: ['mcp'],
};

export async function confidentialClientFlow(oauth, send, issuer) {
  const http = new URL(issuer).protocol === 'http:';
  const options = { [oauth.customFetch]: (url, init) => send(url, { ...init, redirect: 'manual' }), ...(http ? { [oauth.allowInsecureRequests]: true } : {}) };
  const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), { ...options, algorithm: 'oauth2' }));
  const client = { client_id: CONFIDENTIAL_CLIENT.clientId };
  const redirectUri = CONFIDENTIAL_CLIENT.redirectUris[0];
  const verifier = oauth.generateRandomCodeVerifier();
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    scope: 'mcp',
  }).toString();
  const callback = await consent(send, issuer, url);
  const params = oauth.validateAuthResponse(as, client, callback, oauth.expectNoState);
  const request = (auth) => oauth.authorizationCodeGrantRequest(as, client, auth, params, redirectUri, verifier, options);
  await assert.rejects(
    request(oauth.ClientSecretBasic('wrong-secret')).then((r) => oauth.processAuthorizationCodeResponse(as, client, r)),
    (error) => error instanceof oauth.WWWAuthenticateChallengeError && error.status === 401 && error.cause[0].scheme === 'basic',
    'a wrong client secret is refused',
  );
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, await request(oauth.ClientSecretBasic(CONFIDENTIAL_CLIENT.clientSecret)));
  const list = await rpc(send, issuer, tokens.access_token, 'tools/list', {});
  assert.equal(list.status, 200);
  assert.equal((await list.json()).result.tools[0].name, 'whoami');
}
