// The package's JS layer over the generated bindings. It adds only what is
// better done in JS: a trap of the module contained (see contain.js: the
// package's objects are wrappers that build their module object again on a
// fresh instance), and the seed's token-endpoint methods, sent through
// provider.fetch so that one code path (the HTTP layer) answers them.
import * as raw from '../dist/simply_mcp_oauth.js';
import { contain, currentInstance, unavailableResponse } from './contain.js';
import { clientIpKey, memoryRateLimiter } from './rate-limit.js';
import { getDefaultClientIp } from './client-ip.js';

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

// Methods the module answers at once when the store needs no I/O (the value
// itself, not a Promise): still a Promise to their callers, as typed.
const ANSWERED_AT_ONCE = new Set(['verifyAccessToken']);
// What a request in flight on a broken instance answers instead of hanging.
const BROKEN_ANSWERS = {
  fetch: unavailableResponse,
  authenticate: () => ({ response: unavailableResponse() }),
  parseAuthorizationRequest: () => ({ response: unavailableResponse() }),
};

function promised(call) {
  try {
    const result = call();
    return result instanceof Promise ? result : Promise.resolve(result);
  } catch (error) {
    return Promise.reject(error);
  }
}

// A class whose objects wrap one of `Raw` (a module class), built again with
// the same arguments when the module instance was replaced. `initializes`:
// once `initialize()` succeeded, it runs again (storing the configured
// clients) before the first call on a rebuilt object.
function rebuildable(Raw, { initializes = false } = {}) {
  let current;
  let call;
  class Wrapper {
    #args;
    #object;
    #instance;
    #initialized = false;
    #needsInit = false;
    #ready;

    constructor(...args) {
      this.#args = args;
      this.#object = contain(() => new Raw(...args));
      this.#instance = currentInstance();
    }

    static {
      current = (wrapper) => {
        if (wrapper.#instance !== currentInstance()) {
          wrapper.#object = new Raw(...wrapper.#args);
          wrapper.#instance = currentInstance();
          wrapper.#needsInit = wrapper.#initialized;
        }
        return wrapper.#object;
      };
      call = (wrapper, name, args) => {
        const object = current(wrapper);
        if (wrapper.#needsInit) {
          wrapper.#needsInit = false;
          wrapper.#ready = object.initialize().then(
            () => {
              wrapper.#ready = undefined;
            },
            (error) => {
              wrapper.#ready = undefined;
              wrapper.#needsInit = true;
              throw error;
            },
          );
        }
        const ready = wrapper.#ready;
        const result = ready ? ready.then(() => object[name](...args)) : object[name](...args);
        if (initializes && name === 'initialize') {
          return result.then(() => {
            wrapper.#initialized = true;
          });
        }
        return result;
      };
    }
  }
  for (const name of Object.getOwnPropertyNames(Raw.prototype)) {
    const descriptor = Object.getOwnPropertyDescriptor(Raw.prototype, name);
    if (name === 'constructor' || name.startsWith('__wbg')) continue;
    if (typeof descriptor.value === 'function') {
      const answer = BROKEN_ANSWERS[name];
      const method = function wrapped(...args) {
        const run = () => contain(() => call(this, name, args), answer);
        return ANSWERED_AT_ONCE.has(name) ? promised(run) : run();
      };
      Object.defineProperty(Wrapper.prototype, name, { ...descriptor, value: method });
    } else if (descriptor.get) {
      const get = function getter() {
        return contain(() => current(this)[name]);
      };
      Object.defineProperty(Wrapper.prototype, name, { configurable: true, enumerable: false, get });
    }
  }
  Object.defineProperty(Wrapper, 'name', { value: Raw.name });
  return Wrapper;
}

export const InMemoryStorage = rebuildable(raw.InMemoryStorage);
export const KvStorage = rebuildable(raw.KvStorage);
export const DurableObjectStorage = rebuildable(raw.DurableObjectStorage);
const RawProvider = rebuildable(raw.SimplyMCPOAuthProvider, { initializes: true });

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

class Provider extends RawProvider {
  constructor(config) {
    const prepared = prepare(config);
    super(prepared.config);
    clientIps.set(this, prepared.clientIp);
  }
}
Object.defineProperty(Provider, 'name', { value: 'SimplyMCPOAuthProvider' });

const { fetch: rawFetch, parseAuthorizationRequest: rawParse } = RawProvider.prototype;
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
export async function createOAuthProvider(config) {
  const provider = new Provider(config);
  await provider.initialize();
  return provider;
}

/** Inside an OAuthStorageObject: runs one storage operation (see durable-object.js). */
export function executeStorageOperation(store, request) {
  return contain(() => raw.executeStorageOperation(store, request));
}

/** For the package's own tests: a deliberate panic, contained like every call. */
export function __panicForTests(message) {
  return contain(() => raw.__panicForTests(message));
}

/** For the package's own tests: a panic once `wait` settles, in a task polled from a microtask. */
export function __panicAfterForTests(wait, message) {
  return contain(() => raw.__panicAfterForTests(wait, message));
}
