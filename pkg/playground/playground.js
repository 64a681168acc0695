// The playground: an MCP client's OAuth 2.1 journey, one step at a time,
// with every request and response shown. The authorization server is either
// the package's WebAssembly provider running in this page (on
// InMemoryStorage; requests are Request objects handed to provider.fetch,
// never sent) or a server the user names (reached with fetch; its consent
// page opens in a popup that returns through callback.html).
import { createOAuthProvider, InMemoryStorage, ready } from '../src/web.js';

const IN_PAGE_ISSUER = 'https://in-page.example';
const IN_PAGE_SUBJECT = 'playground-user';
const REDIRECT_URI = new URL('./callback.html', import.meta.url).href;
const CHANNEL = 'simply-mcp-oauth-playground';

const $ = (selector, root = document) => root.querySelector(selector);

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function pkce() {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  return { verifier, challenge: base64url(digest) };
}

/** A token shortened for a summary line (the full one is in the exchange). */
// Tokens start with their grant's id: the tail is what tells them apart.
const short = (token) => (token && token.length > 16 ? `…${token.slice(-8)}` : String(token));

class StepError extends Error {}
const expect = (condition, message) => {
  if (!condition) throw new StepError(message);
};

// ---- where requests go ---------------------------------------------------

/** The provider in this page: OAuth endpoints through provider.fetch, and a tiny MCP endpoint. */
async function inPageServer() {
  await ready();
  const provider = await createOAuthProvider({ issuer: IN_PAGE_ISSUER, storage: new InMemoryStorage({ name: 'playground' }), scopesSupported: ['mcp'] });
  async function mcp(request) {
    // authenticate needs the headers only; the body stays readable.
    const { auth, response } = await provider.authenticate(new Request(request.url, { headers: request.headers }), ['mcp']);
    if (response) return response; // 401/403 with WWW-Authenticate
    const message = await request.json().catch(() => null);
    const text = `subject: ${auth.subject}\nclient: ${auth.clientId}\nscopes: ${auth.scopes.join(' ')}`;
    const result = message?.method === 'tools/call' ? { content: [{ type: 'text', text }], isError: false } : {};
    return Response.json({ jsonrpc: '2.0', id: message?.id ?? null, result });
  }
  return {
    label: 'in this page',
    url: IN_PAGE_ISSUER,
    send: (request) => (new URL(request.url).pathname === '/mcp' ? mcp(request) : provider.fetch(request)),
    /** The host app's part of /authorize: check the request, show consent, complete it. */
    async authorize(url, step) {
      step.exchange('GET', url, {}, null, '(checked in the page by provider.parseAuthorizationRequest)');
      const parsed = await provider.parseAuthorizationRequest(new Request(url));
      if (parsed.response) {
        await step.response(parsed.response);
        throw new StepError(`the authorization request was refused (${parsed.response.status})`);
      }
      step.note('provider.parseAuthorizationRequest →', JSON.stringify(parsed.request, null, 2));
      return {
        consent: async (consentStep) => {
          const approved = await consentStep.ask(parsed.request, IN_PAGE_SUBJECT);
          const location = approved
            ? await provider.completeAuthorization(parsed.request, { subject: IN_PAGE_SUBJECT })
            : await provider.denyAuthorization(parsed.request);
          consentStep.note(`provider.${approved ? 'completeAuthorization' : 'denyAuthorization'} → redirect to`, location);
          return new URL(location);
        },
      };
    },
    stop: () => provider.free(),
  };
}

/** A server on another origin: fetch for the endpoints, a popup for consent. */
function remoteServer(base) {
  const url = base.replace(/\/+$/, '');
  return {
    label: url,
    url,
    async send(request) {
      try {
        return await fetch(request);
      } catch (error) {
        // The browser hides why (CORS and network errors look alike).
        throw new StepError(`could not reach ${request.url} (${error.message}): is the server running, and does it send CORS headers there?`);
      }
    },
    async authorize(authorizeUrl, step) {
      // Listen before the popup can answer.
      const channel = new BroadcastChannel(CHANNEL);
      const callback = new Promise((resolve) => {
        channel.onmessage = (event) => {
          if (event.data?.type === 'callback') resolve(new URL(event.data.url));
        };
      });
      step.exchange('GET', authorizeUrl, {}, null, '(a top-level navigation in a popup: the server shows its consent page)');
      const popup = window.open(authorizeUrl, 'simply-mcp-oauth-consent', 'popup,width=640,height=720');
      if (!popup) {
        // A blocked popup: the person opens it with a click of their own.
        step.summary.append(' Popup blocked: ', element('a', { href: authorizeUrl, target: '_blank', rel: 'opener' }, 'open the consent page'), '.');
      }
      return {
        consent: async (consentStep) => {
          consentStep.setState('waiting', 'waiting for the popup');
          consentStep.summary.textContent = 'Approve or deny on the server\'s consent page (in the popup).';
          try {
            const location = await callback;
            consentStep.note('the popup came back to', location.href);
            return location;
          } finally {
            channel.close();
          }
        },
      };
    },
    stop: () => {},
  };
}

// ---- the steps -------------------------------------------------------------

const STEPS = [
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

// ---- the page --------------------------------------------------------------

function formatHeaders(headers) {
  return [...new Headers(headers).entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
}

function pretty(text, contentType) {
  if (!text) return '';
  if ((contentType ?? '').includes('json')) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      /* shown as is */
    }
  }
  return text;
}

/** The UI of one step: its status, summary and the exchanges it made. */
function stepView(definition, ctx) {
  const node = element('li', { class: 'step', 'data-step': definition.id, 'data-state': 'idle' });
  const status = element('span', { class: 'status' }, 'not run');
  const button = element('button', { type: 'button' }, 'Run');
  const summary = element('p', { class: 'summary' });
  const log = element('div', { class: 'exchanges' });
  node.append(element('header', {}, element('h2', {}, definition.title), status, button), summary, log);

  let current;
  const view = {
    node,
    summary,
    setState(state, text) {
      node.dataset.state = state;
      status.textContent = text ?? state;
    },
    /** Shows one request (and later its response) as a collapsible block. */
    exchange(method, url, headers, body, comment) {
      current = element('details', { class: 'exchange' });
      const head = `${method} ${url}`;
      current.append(element('summary', {}, `→ ${head}`), element('pre', { class: 'request' }, [head, formatHeaders(headers), '', body ?? '', comment ?? ''].join('\n').trim()));
      log.append(current);
      return current;
    },
    async response(response) {
      const text = await response.text();
      const block = current ?? view.exchange('?', '?', {}, null);
      block.querySelector('summary').textContent += ` ← ${response.status}`;
      block.append(element('pre', { class: 'response' }, `${response.status} ${response.statusText}\n${formatHeaders(response.headers)}\n\n${pretty(text, response.headers.get('content-type'))}`.trim()));
      let json;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON */
      }
      return { status: response.status, headers: response.headers, text, json };
    },
    note(label, text) {
      const block = element('details', { class: 'exchange' }, element('summary', {}, label), element('pre', {}, text));
      log.append(block);
    },
    /** One HTTP exchange with the server. */
    async call(method, url, headers = {}, body = null) {
      view.exchange(method, url, headers, body);
      const request = new Request(url, { method, headers, body });
      return view.response(await ctx.server.send(request));
    },
    form(url, params) {
      const body = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null)).toString();
      return view.call('POST', url, { 'content-type': 'application/x-www-form-urlencoded' }, body);
    },
    /** The in-page consent screen: resolves true on Approve, false on Deny. */
    ask(request, subject) {
      view.setState('waiting', 'waiting for you');
      const approve = element('button', { type: 'button', 'data-decision': 'approve' }, 'Approve');
      const deny = element('button', { type: 'button', 'data-decision': 'deny' }, 'Deny');
      const card = element(
        'div',
        { class: 'consent', role: 'dialog', 'aria-label': 'Consent' },
        element('p', {}, element('strong', {}, request.clientName ?? request.clientId), ' asks for ', element('code', {}, request.scopes.join(' ') || '(no scopes)'), ' on ', element('code', {}, request.resource), '.'),
        element('p', { class: 'note' }, `Signed in as ${subject} (the playground's stand-in user). You will be sent back to ${new URL(request.redirectUri).host}.`),
        approve,
        ' ',
        deny,
      );
      log.append(card);
      return new Promise((resolve) => {
        const decide = (value) => () => {
          card.remove();
          view.setState('running', 'running');
          resolve(value);
        };
        approve.addEventListener('click', decide(true), { once: true });
        deny.addEventListener('click', decide(false), { once: true });
      });
    },
    reset() {
      current = null;
      summary.textContent = '';
      log.replaceChildren();
      view.setState('idle', 'not run');
    },
    button,
  };
  return view;
}

async function main() {
  const ctx = { server: null };
  const views = STEPS.map((definition) => ({ definition, view: stepView(definition, ctx) }));
  $('#steps').append(...views.map(({ view }) => view.node));
  const engine = $('#engine');
  let busy = false;

  async function connect() {
    ctx.server?.stop();
    for (const key of Object.keys(ctx)) if (key !== 'server') delete ctx[key];
    for (const { view } of views) view.reset();
    const mode = $('input[name=mode]:checked').value;
    engine.textContent = 'loading…';
    ctx.server = mode === 'in-page' ? await inPageServer() : remoteServer($('#server-url').value);
    engine.textContent = `ready: ${ctx.server.label}`;
    engine.dataset.ready = mode;
  }

  async function runStep({ definition, view }) {
    view.reset();
    view.setState('running', 'running');
    try {
      const summary = await definition.run(ctx, view);
      view.summary.textContent = summary;
      view.setState('done', 'done');
      return true;
    } catch (error) {
      view.summary.textContent = error instanceof StepError ? error.message : `${error.name}: ${error.message}`;
      view.setState('failed', 'failed');
      if (!(error instanceof StepError)) console.error(error);
      return false;
    }
  }

  const exclusive = (action) => async () => {
    if (busy) return;
    busy = true;
    try {
      await action();
    } finally {
      busy = false;
    }
  };

  for (const entry of views) entry.view.button.addEventListener('click', exclusive(() => runStep(entry)));
  $('#run-all').addEventListener(
    'click',
    exclusive(async () => {
      await connect();
      for (const entry of views) if (!(await runStep(entry))) break;
    }),
  );
  $('#reset').addEventListener('click', exclusive(connect));
  for (const input of document.querySelectorAll('input[name=mode], #server-url')) input.addEventListener('change', exclusive(connect));
  await connect();
}

main().catch((error) => {
  $('#engine').textContent = `could not start: ${error.message}`;
  console.error(error);
});
