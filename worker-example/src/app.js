// The app shared by the Worker (src/index.js) and the Deno server
// (deno/main.js): an MCP server behind OAuth 2.1 with simply-mcp-oauth.
//
//   /authorize          consent page (GET) and decision (POST), CSRF-protected
//   /apps               the user's connected apps (GET) and revocation (POST), CSRF-protected
//   /mcp                the protected MCP endpoint (JSON-RPC over HTTP POST)
//   everything else     provider.fetch: metadata, /token, /register, /revoke, ...
//
// It only uses web-standard APIs (Request, Response, Web Crypto), so it runs
// unchanged in workerd, Deno, Node and browsers.

import { clientNameBook, createAppsPage } from './apps.js';
import { base64url, errorPage, escapeHtml, fromBase64url, htmlResponse, randomToken, readCookie } from './page.js';

export { escapeHtml, randomToken } from './page.js';

const encoder = new TextEncoder();

/** MCP protocol revisions this server speaks, newest first. */
export const PROTOCOL_VERSIONS = ['2025-06-18', '2025-03-26', '2024-11-05'];

const MAX_BODY_BYTES = 64 * 1024;
/** How long a form (its CSRF token and cookie) stays usable: 10 minutes. */
export const FORM_TTL_SECONDS = 600;

/** Reads and drops a request's body, at most MAX_BODY_BYTES; false if it was larger or unreadable. */
async function drained(request) {
  if (!request.body) return true;
  const reader = request.body.getReader();
  let read = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return true;
      read += value.byteLength;
      if (read > MAX_BODY_BYTES) {
        await reader.cancel();
        return false;
      }
    }
  } catch {
    return false;
  }
}

/** `response`, saying the connection will not be reused (its body was left unread). */
function closing(response) {
  const headers = new Headers(response.headers);
  headers.set('connection', 'close');
  return new Response(response.body, { status: response.status, headers });
}

function tooLarge(request) {
  const length = Number(request.headers.get('content-length') ?? 0);
  return Number.isFinite(length) && length > MAX_BODY_BYTES;
}

/**
 * Where the browser goes: the host (and port) of an http(s) redirect URI, or
 * the scheme of an app-specific one. Any app on the device may claim a
 * private-use scheme whatever "host" follows it, so
 * `com.evil.app://accounts.bank.example/cb` is shown as `com.evil.app:`,
 * never as the bank (RFC 8252 §7.1, §8.6).
 */
export function redirectTarget(uri) {
  try {
    const url = new URL(uri);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.host;
    return `the app for ${url.protocol}`;
  } catch {
    return uri;
  }
}

/**
 * The request a derived one (the consent POST's re-check) was made from, so
 * that a `clientIp` option keyed on request objects (the Deno example's)
 * finds the client's address for it too.
 */
const derivedFrom = new WeakMap();

export function sourceRequest(request) {
  return derivedFrom.get(request) ?? request;
}

function json(status, value, headers = {}) {
  return new Response(JSON.stringify(value), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  });
}

/**
 * @param {object} options
 * @param {import('simply-mcp-oauth').SimplyMCPOAuthProvider} options.provider an initialized provider
 * @param {string} options.csrfSecret the HMAC key of the consent form (at least 32 characters)
 * @param {string} options.demoUser the sign-in stub's user: every approval is made as this subject
 * @param {string[]} [options.requiredScopes] scopes a token needs for /mcp (default ['mcp'])
 * @param {{get(key: string): Promise<string | null>, put(key: string, value: string): Promise<void>}} [options.clientNames]
 *   where /apps keeps the client names shown at consent (default: in memory)
 * @param {{name: string, version: string}} [options.serverInfo]
 * @param {() => number} [options.now] the clock of the forms' expiry, in milliseconds (tests inject one)
 * @returns {{ fetch(request: Request): Promise<Response> }}
 */
export function createApp({ provider, csrfSecret, demoUser, requiredScopes = ['mcp'], serverInfo, clientNames, now = Date.now }) {
  if (!provider) throw new TypeError('createApp needs a provider');
  if (typeof csrfSecret !== 'string' || csrfSecret.length < 32) {
    throw new TypeError('createApp needs a csrfSecret of at least 32 characters');
  }
  if (!demoUser) throw new TypeError('createApp needs a demoUser (the sign-in stub)');
  serverInfo ??= { name: 'simply-mcp-oauth-example', version: '0.1.0' };

  const keyPromise = crypto.subtle.importKey('raw', encoder.encode(csrfSecret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);

  // A form's CSRF token: `<expiry>.HMAC(key, purpose | expiry | nonce | user
  // | data)`, data being the authorization parameters (consent) or the grant
  // id (apps). The nonce is in an HttpOnly SameSite=Strict cookie, so a
  // cross-site page can neither read the token of another form nor send the
  // cookie with a forged POST; the data is bound, so a form cannot be
  // re-targeted; the purpose keeps one form's token out of the other; the
  // expiry (signed, so it cannot be pushed back) ends a stale or leaked form
  // after FORM_TTL_SECONDS.
  const message = (purpose, expiry, nonce, data) =>
    encoder.encode(`${purpose}\n${expiry}\n${nonce}\n${demoUser}\n${data}`);
  const nowSeconds = () => Math.floor(now() / 1000);

  async function signFor(purpose, nonce, data) {
    const expiry = String(nowSeconds() + FORM_TTL_SECONDS);
    const mac = await crypto.subtle.sign('HMAC', await keyPromise, message(purpose, expiry, nonce, data));
    return `${expiry}.${base64url(new Uint8Array(mac))}`;
  }

  async function verifyFor(purpose, token, nonce, data) {
    const [, expiry, mac] = /^(\d{1,15})\.(.*)$/.exec(token) ?? [];
    const signature = mac && fromBase64url(mac);
    if (!signature || !nonce || !(nowSeconds() < Number(expiry))) return false;
    // crypto.subtle.verify compares the MACs in constant time.
    return crypto.subtle.verify('HMAC', await keyPromise, signature, message(purpose, expiry, nonce, data));
  }

  const sign = (nonce, authz) => signFor('consent/v1', nonce, authz);
  const verify = (token, nonce, authz) => verifyFor('consent/v1', token, nonce, authz);

  const names = clientNameBook(clientNames);
  const apps = createAppsPage({ provider, user: demoUser, csrf: { sign: signFor, verify: verifyFor }, names });

  function cookieFor(request) {
    const secure = new URL(request.url).protocol === 'https:';
    // `__Host-` pins the cookie to this host (needs Secure and Path=/).
    const name = secure ? '__Host-consent' : 'consent';
    const attributes = `Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
    return {
      name,
      set: (nonce) => `${name}=${nonce}; ${attributes}; Max-Age=${FORM_TTL_SECONDS}`,
      clear: `${name}=; ${attributes}; Max-Age=0`,
    };
  }

  async function showConsent(request) {
    const parsed = await provider.parseAuthorizationRequest(request);
    if (parsed.response) return parsed.response; // a 400 page, or an error redirect to a checked redirect URI
    const authz = new URL(request.url).search.slice(1);
    const nonce = randomToken();
    const csrf = await sign(nonce, authz);
    const req = parsed.request;
    const scopes = req.scopes.length ? req.scopes.map((s) => `<code>${escapeHtml(s)}</code>`).join(' ') : '<em>none</em>';
    const name = req.clientName
      ? `${escapeHtml(req.clientName)} <span class="note">(name given by the client, unverified)</span>`
      : `<code>${escapeHtml(req.clientId)}</code>`;
    // Where the code goes is what the user must judge: its host, large.
    const target = redirectTarget(req.redirectUri);
    const warning = req.loopbackOnly
      ? `<p class="warn"><strong>Warning:</strong> this application only redirects to your own computer (a loopback address).
Any program running on this computer could receive the authorization. Approve only if you started this application yourself.</p>`
      : '';
    const idLabel = req.metadataDocument ? 'Client metadata document' : 'Client ID';
    const body = `<h1>Authorize access</h1>
<p>Signed in as <strong>${escapeHtml(demoUser)}</strong> <span class="note">(demo sign-in stub)</span></p>
<p>${name} asks to access your MCP server on your behalf.</p>
<p class="target">You will be sent to <strong><code>${escapeHtml(target)}</code></strong></p>
${warning}<dl>
<dt>${idLabel}</dt><dd><code>${escapeHtml(req.clientId)}</code></dd>
<dt>Redirects to</dt><dd><code>${escapeHtml(req.redirectUri)}</code></dd>
<dt>Scopes</dt><dd>${scopes}</dd>
<dt>Resource</dt><dd><code>${escapeHtml(req.resource)}</code></dd>
</dl>
<form method="post" action="/authorize">
<input type="hidden" name="authz" value="${escapeHtml(authz)}">
<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`;
    return htmlResponse(200, 'Authorize access', body, { 'set-cookie': cookieFor(request).set(nonce) });
  }

  async function decide(request) {
    const contentType = request.headers.get('content-type') ?? '';
    if (!contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      return errorPage(415, 'Expected a form submission.');
    }
    if (tooLarge(request)) return errorPage(413, 'The form is too large.');
    const text = await request.text();
    if (text.length > MAX_BODY_BYTES) return errorPage(413, 'The form is too large.');
    const form = new URLSearchParams(text);
    const authz = form.get('authz') ?? '';
    const cookie = cookieFor(request);
    const nonce = readCookie(request, cookie.name);
    if (!(await verify(form.get('csrf') ?? '', nonce, authz))) {
      // Never a redirect: the parameters of a forged form are not trusted.
      return errorPage(400, 'This consent form is invalid or has expired. Start again from your application.');
    }
    // Check the request again: the client or its redirect URI may have changed.
    // With the original headers and address, so that the decision counts
    // against the /authorize limit like the page did (CF-Connecting-IP on
    // Workers, sourceRequest on Deno).
    const url = new URL(request.url);
    url.search = authz;
    const headers = new Headers(request.headers);
    for (const name of ['content-type', 'content-length']) headers.delete(name);
    const recheck = new Request(url, { method: 'GET', headers });
    derivedFrom.set(recheck, request);
    const parsed = await provider.parseAuthorizationRequest(recheck);
    if (parsed.response) return parsed.response;
    const decision = form.get('decision');
    let location;
    if (decision === 'approve') {
      await names.remember(parsed.request.clientId, parsed.request.clientName);
      location = await provider.completeAuthorization(parsed.request, { subject: demoUser, props: { login: 'demo' } });
    } else if (decision === 'deny') {
      location = await provider.denyAuthorization(parsed.request);
    } else {
      return errorPage(400, 'Choose Approve or Deny.');
    }
    return new Response(null, {
      status: 303,
      headers: { location, 'set-cookie': cookie.clear, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
    });
  }

  const tools = [
    {
      name: 'whoami',
      description: 'Tells who the access token was issued to.',
      inputSchema: { type: 'object', properties: {}, additionalProperties: false },
    },
  ];

  function rpcError(id, code, text) {
    return json(200, { jsonrpc: '2.0', id: id ?? null, error: { code, message: text } });
  }

  async function mcp(request) {
    // authenticate reads only the Authorization header; hand it the headers and
    // keep the body unread (no copy of an unauthenticated body).
    const credentials = new Request(request.url, { headers: request.headers });
    // User tokens only: a client_credentials token (no user) gets a 403 here;
    // { allowMachineClients: true } as a third argument would let it in.
    const { auth, response } = await provider.authenticate(credentials, requiredScopes);
    // 401/403 with WWW-Authenticate -> protected-resource metadata. Read the
    // body first: answering before it arrived closes the client's kept-alive
    // connection, on which its discovery request follows.
    if (response) return (await drained(request)) ? response : closing(response);
    if (request.method !== 'POST') return new Response(null, { status: 405, headers: { allow: 'POST' } });
    if (tooLarge(request)) return rpcError(null, -32600, 'Request too large');
    let message;
    try {
      message = await request.json();
    } catch {
      return rpcError(null, -32700, 'Parse error');
    }
    if (!message || typeof message !== 'object' || Array.isArray(message) || message.jsonrpc !== '2.0' || typeof message.method !== 'string') {
      return rpcError(message?.id, -32600, 'Invalid Request');
    }
    if (!('id' in message)) return new Response(null, { status: 202 }); // a notification, e.g. notifications/initialized
    const { id, method, params } = message;
    const result = (value) => json(200, { jsonrpc: '2.0', id, result: value });
    switch (method) {
      case 'initialize': {
        const requested = params?.protocolVersion;
        return result({
          protocolVersion: PROTOCOL_VERSIONS.includes(requested) ? requested : PROTOCOL_VERSIONS[0],
          capabilities: { tools: { listChanged: false } },
          serverInfo,
        });
      }
      case 'ping':
        return result({});
      case 'tools/list':
        return result({ tools });
      case 'tools/call': {
        if (params?.name !== 'whoami') return rpcError(id, -32602, `Unknown tool: ${String(params?.name)}`);
        const text = `subject=${auth.subject ?? ''} client=${auth.clientId} scopes=${auth.scopes.join(' ')}`;
        return result({ content: [{ type: 'text', text }], isError: false });
      }
      default:
        return rpcError(id, -32601, 'Method not found');
    }
  }

  // CORS on /mcp, as on the OAuth endpoints: browser MCP clients (the
  // playground in pkg/playground/) run on other origins. The token is a
  // header, no cookie is involved, so any origin is safe.
  function withCors(response) {
    const headers = new Headers(response.headers);
    headers.set('access-control-allow-origin', '*');
    headers.set('access-control-expose-headers', 'WWW-Authenticate, Mcp-Session-Id');
    return new Response(response.body, { status: response.status, headers });
  }

  function mcpPreflight() {
    return new Response(null, {
      status: 204,
      headers: {
        allow: 'POST, OPTIONS',
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': 'Authorization, Content-Type, MCP-Protocol-Version, Mcp-Session-Id',
        'access-control-max-age': '86400',
      },
    });
  }

  function home() {
    const body = `<h1>${escapeHtml(serverInfo.name)}</h1>
<p>An MCP server behind OAuth 2.1. MCP endpoint: <code>${escapeHtml(provider.issuer)}/mcp</code>.</p>
<p class="note">Metadata: <code>/.well-known/oauth-authorization-server</code>, <code>/.well-known/oauth-protected-resource/mcp</code></p>
<p><a href="/apps">Connected apps</a>: the apps you have authorized, and a button to revoke each.</p>`;
    return htmlResponse(200, serverInfo.name, body);
  }

  async function route(request) {
    const { pathname } = new URL(request.url);
    if (pathname === '/authorize') {
      if (request.method === 'GET') return showConsent(request);
      if (request.method === 'POST') return decide(request);
      return new Response(null, { status: 405, headers: { allow: 'GET, POST' } });
    }
    if (pathname === '/apps') {
      if (request.method === 'GET') return apps.show(request);
      if (request.method === 'POST') return apps.revoke(request);
      return new Response(null, { status: 405, headers: { allow: 'GET, POST' } });
    }
    if (pathname === '/mcp') return request.method === 'OPTIONS' ? mcpPreflight() : withCors(await mcp(request));
    if (pathname === '/' && request.method === 'GET') return home();
    return provider.fetch(request); // metadata, /token, /register, /revoke, /introspect; 404 otherwise
  }

  return {
    async fetch(request) {
      try {
        return await route(request);
      } catch (error) {
        console.error('simply-mcp-oauth example:', error);
        return json(500, { error: 'server_error', error_description: 'internal error' });
      }
    },
  };
}
