// The package's JS layer over the generated bindings. It adds only what is
// better done in JS: panics surfaced as Errors with their message, and the
// seed's token-endpoint methods, sent through provider.fetch so that one code
// path (the HTTP layer) answers them.
import * as raw from '../dist/simply_mcp_oauth.js';
import { clientIpKey, memoryRateLimiter } from './rate-limit.js';
import { getDefaultClientIp } from './client-ip.js';

export { DurableObjectStorage, InMemoryStorage, KvStorage } from '../dist/simply_mcp_oauth.js';
export { WorkersKvHost } from './adapters/workers-kv.js';
export { DenoKvHost } from './adapters/deno-kv.js';
export { DurableObjectSqlHost } from './adapters/durable-object-sql.js';
export { DEFAULT_RATE_LIMITS, memoryRateLimiter, workersRateLimiter, clientIpKey } from './rate-limit.js';

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

// Rate limits: the module asks `config.rateLimiter(bucket, key)`; unless the
// app gives its own (or `false`), each provider gets an in-memory one from
// `config.rateLimits`. `config.clientIp(request)` finds a request's address
// (the key of the per-IP limits); the Workers entry defaults it to
// CF-Connecting-IP. Both stay on the JS side: the module sees a function and
// an address string.
const clientIps = new WeakMap();

function prepare(config) {
  if (!config || typeof config !== 'object') return { config, clientIp: getDefaultClientIp() };
  const { rateLimits, rateLimiter, clientIp, ...rest } = config;
  let limiter = rateLimiter;
  if (limiter === undefined) {
    limiter = memoryRateLimiter(rateLimits);
  } else if (limiter === false || limiter === null) {
    limiter = undefined;
  } else if (typeof limiter !== 'function') {
    throw new TypeError('rateLimiter must be a function (bucket, key) => seconds to wait, or false');
  }
  if (clientIp !== undefined && typeof clientIp !== 'function') {
    throw new TypeError('clientIp must be a function (request) => the client address');
  }
  return { config: { ...rest, rateLimiter: limiter }, clientIp: clientIp ?? getDefaultClientIp() };
}

function addressOf(provider, request) {
  try {
    return clientIpKey((clientIps.get(provider) ?? getDefaultClientIp())(request));
  } catch {
    return undefined;
  }
}

const Provider = new Proxy(raw.SimplyMCPOAuthProvider, {
  construct(target, [config], newTarget) {
    const prepared = prepare(config);
    const provider = Reflect.construct(target, [prepared.config], newTarget);
    clientIps.set(provider, prepared.clientIp);
    return provider;
  },
});

const { fetch: rawFetch, parseAuthorizationRequest: rawParse } = raw.SimplyMCPOAuthProvider.prototype;
Object.assign(Provider.prototype, {
  /** Answers a request to an OAuth endpoint; per-IP limits key on `clientIp(request)`. */
  fetch(request) {
    return rawFetch.call(this, request, addressOf(this, request));
  },
  /** Checks `GET /authorize`: `{ request }` for consent, or `{ response }` (a 400/429 page or an error redirect). */
  parseAuthorizationRequest(request) {
    return rawParse.call(this, request, addressOf(this, request));
  },
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
  let prepared;
  try {
    prepared = prepare(config);
  } catch (error) {
    return Promise.reject(error);
  }
  return raw
    .createOAuthProvider(prepared.config)
    .then((provider) => {
      clientIps.set(provider, prepared.clientIp);
      return provider;
    })
    .catch(rethrow);
}

/** Inside an OAuthStorageObject: runs one storage operation (see durable-object.js). */
export const executeStorageOperation = guard(raw.executeStorageOperation);

/** For the package's own tests: a deliberate panic, guarded like every call. */
export const __panicForTests = guard(raw.__panicForTests);
