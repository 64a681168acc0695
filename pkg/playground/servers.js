// Where the playground's requests go: the provider in this page, or a
// server on another origin.
import { createOAuthProvider, InMemoryStorage, ready } from '../src/web.js';
import { element, StepError } from './util.js';

export const IN_PAGE_ISSUER = 'https://in-page.example';
export const IN_PAGE_SUBJECT = 'playground-user';
const CHANNEL = 'simply-mcp-oauth-playground';


/** The provider in this page: OAuth endpoints through provider.fetch, and a tiny MCP endpoint. */
export async function inPageServer() {
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
export function remoteServer(base) {
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
