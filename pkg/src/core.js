// The package's JS layer over the generated bindings. It adds only what is
// better done in JS: panics surfaced as Errors with their message, and the
// seed's token-endpoint methods, sent through provider.fetch so that one code
// path (the HTTP layer) answers them.
import * as raw from '../dist/simply_mcp_oauth.js';

export { DurableObjectStorage, InMemoryStorage, KvStorage } from '../dist/simply_mcp_oauth.js';
export { WorkersKvHost } from './adapters/workers-kv.js';
export { DenoKvHost } from './adapters/deno-kv.js';
export { DurableObjectSqlHost } from './adapters/durable-object-sql.js';

/** An OAuth error answer: `code` is the RFC 6749 error, `status` the HTTP status. */
export class OAuthError extends Error {
  constructor(code, description, status) {
    super(description || code);
    this.name = 'OAuthError';
    this.code = code;
    this.status = status;
  }
}

// A Rust panic aborts into `RuntimeError: unreachable`; the module recorded the
// panic message first, so say that instead. The instance should be treated as
// broken afterwards (create a new provider).
function rethrow(error) {
  if (error instanceof WebAssembly.RuntimeError) {
    const message = raw.takePanicMessage();
    if (message) {
      const panic = new Error(`simply-mcp-oauth panicked: ${message}`, { cause: error });
      panic.code = 'panic';
      throw panic;
    }
  }
  throw error;
}

function guard(method) {
  return function guarded(...args) {
    try {
      const result = method.apply(this, args);
      return result && typeof result.then === 'function' ? result.catch(rethrow) : result;
    } catch (error) {
      return rethrow(error);
    }
  };
}

// Methods the module answers at once when the store needs no I/O (the value
// itself, not a Promise): still a Promise to their callers, as typed.
const ANSWERED_AT_ONCE = new Set(['verifyAccessToken']);

function promised(method) {
  return function promisedCall(...args) {
    try {
      const result = method.apply(this, args);
      return result instanceof Promise ? result.catch(rethrow) : Promise.resolve(result);
    } catch (error) {
      try {
        rethrow(error);
      } catch (thrown) {
        return Promise.reject(thrown);
      }
    }
  };
}

for (const cls of [raw.SimplyMCPOAuthProvider, raw.InMemoryStorage, raw.KvStorage, raw.DurableObjectStorage]) {
  for (const name of Object.getOwnPropertyNames(cls.prototype)) {
    const descriptor = Object.getOwnPropertyDescriptor(cls.prototype, name);
    if (name !== 'constructor' && typeof descriptor.value === 'function') {
      const wrap = ANSWERED_AT_ONCE.has(name) ? promised : guard;
      Object.defineProperty(cls.prototype, name, { ...descriptor, value: wrap(descriptor.value) });
    }
  }
}

async function answer(response) {
  const text = await response.text();
  const body = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    throw new OAuthError(body?.error ?? 'server_error', body?.error_description, response.status);
  }
  return body;
}

function form(provider, path, params, { clientId, clientSecret }) {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null) body.set(name, String(value));
  }
  body.set('client_id', clientId);
  if (clientSecret !== undefined && clientSecret !== null) body.set('client_secret', clientSecret);
  const request = new Request(provider.issuer + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  return provider.fetch(request).then(answer);
}

const Provider = raw.SimplyMCPOAuthProvider;
Object.assign(Provider.prototype, {
  /** RFC 6749 §4.1.3 with PKCE: resolves to the token response. */
  exchangeAuthorizationCode({ clientId, clientSecret, code, redirectUri, codeVerifier, resource }) {
    const params = { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: codeVerifier, resource };
    return form(this, '/token', params, { clientId, clientSecret });
  },
  /** OAuth 2.1 §4.3: rotates the refresh token. */
  exchangeRefreshToken({ clientId, clientSecret, refreshToken, scope, resource }) {
    const params = { grant_type: 'refresh_token', refresh_token: refreshToken, scope, resource };
    return form(this, '/token', params, { clientId, clientSecret });
  },
  /** RFC 7009: resolves for unknown tokens too. */
  async revokeToken({ clientId, clientSecret, token, tokenTypeHint }) {
    await form(this, '/revoke', { token, token_type_hint: tokenTypeHint }, { clientId, clientSecret });
  },
  /** RFC 7662: `{ active, ... }`. */
  introspectToken({ clientId, clientSecret, token }) {
    return form(this, '/introspect', { token }, { clientId, clientSecret });
  },
  /** RFC 7591: metadata in its wire form (snake_case). */
  registerClient(metadata) {
    const request = new Request(this.issuer + '/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(metadata),
    });
    return this.fetch(request).then(answer);
  },
});

export { Provider as SimplyMCPOAuthProvider };

/** Constructs and initializes a provider (the seed's factory). */
export function createOAuthProvider(config) {
  return raw.createOAuthProvider(config).catch(rethrow);
}

/** Inside an OAuthStorageObject: runs one storage operation (see durable-object.js). */
export const executeStorageOperation = guard(raw.executeStorageOperation);

/** For the package's own tests: a deliberate panic, guarded like every call. */
export const __panicForTests = guard(raw.__panicForTests);
