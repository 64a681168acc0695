// What each step of a flow costs on each key-value host: calls across the
// host boundary (what KvStorage asks of the host), the operations those
// calls make on the store behind it, and for Durable Objects the RPCs from
// the Worker. Counted, not timed: the figures are exact and repeatable.
//
//   deno run --no-check --allow-read --unstable-kv pkg/bench/host-calls.mjs
//   (scripts/bench.sh runs it; Deno comes from pkg's devDependencies)
//
// Hosts: an atomic Map (pkg/test/hosts.mjs), Deno KV (a real in-memory
// Deno.Kv), Durable Objects (DurableObjectStorage over an in-process
// namespace whose objects run executeStorageOperation on a KvStorage, as
// OAuthStorageObject does; the object's store is a Map here, SQLite in
// workerd, and KvStorage makes the same calls on either), and Workers KV
// (WorkersKvHost over a namespace stand-in). Counts are for the steady
// state: a second flow of the same client, whose record the provider has
// cached (a client is read once per 10 s, not per request).
import {
  createOAuthProvider,
  DenoKvHost,
  DurableObjectStorage,
  executeStorageOperation,
  KvStorage,
  WorkersKvHost,
} from '../src/deno.js';
import { AtomicMapHost } from '../test/hosts.mjs';
import { pkce } from '../test/helpers.mjs';

const ISSUER = 'http://127.0.0.1:8787';
const REDIRECT = 'http://127.0.0.1/cb';

/** Wraps every method of `target` so each call adds one to `counter[label]`. */
function counting(target, counter, label) {
  return new Proxy(target, {
    get(object, name, receiver) {
      const value = Reflect.get(object, name, receiver);
      if (typeof value !== 'function' || name === 'capabilities' || name === 'constructor') return value;
      return (...args) => {
        counter[label] += 1;
        return value.apply(object, args);
      };
    },
  });
}

function mapHost() {
  const counter = { host: 0 };
  return { counter, storage: new KvStorage(counting(new AtomicMapHost(), counter, 'host')), columns: ['host'] };
}

async function denoHost() {
  const counter = { host: 0, store: 0 };
  const kv = await Deno.openKv(':memory:');
  const counted = counting(kv, counter, 'store');
  const storage = new KvStorage(counting(new DenoKvHost(counted), counter, 'host'));
  // An atomic() builder is one operation when committed, not one per check or mutation.
  return { counter, storage, columns: ['host', 'store'], close: () => kv.close() };
}

function durableObjects() {
  const counter = { rpc: 0, host: 0 };
  const objects = new Map();
  const namespace = {
    idFromName: (name) => name,
    get(id) {
      if (!objects.has(id)) objects.set(id, new KvStorage(counting(new AtomicMapHost(), counter, 'host')));
      return { run: (request) => (counter.rpc += 1, executeStorageOperation(objects.get(id), request)) };
    },
  };
  return { counter, storage: new DurableObjectStorage(namespace), columns: ['rpc', 'host'] };
}

function workersKv() {
  const counter = { host: 0, store: 0 };
  const map = new Map();
  const namespace = counting({
    async get(key) { return map.get(key) ?? null; },
    async put(key, value) { map.set(key, value); },
    async delete(key) { map.delete(key); },
    async list({ prefix }) {
      return { keys: [...map.keys()].filter((k) => k.startsWith(prefix)).map((name) => ({ name })), list_complete: true };
    },
  }, counter, 'store');
  return { counter, storage: new KvStorage(counting(new WorkersKvHost(namespace), counter, 'host')), columns: ['host', 'store'] };
}

/** Runs one flow, returning the counts of each step. */
async function flow(provider, counter, clientId) {
  const steps = {};
  const measure = async (step, work) => {
    const before = { ...counter };
    const result = await work();
    steps[step] = Object.fromEntries(Object.keys(counter).map((k) => [k, counter[k] - before[k]]));
    return result;
  };
  const { verifier, challenge } = await pkce();
  const query = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, code_challenge: challenge,
    code_challenge_method: 'S256', scope: 'mcp',
  });
  const code = await measure('authorize', async () => {
    const parsed = await provider.parseAuthorizationRequest(new Request(`${ISSUER}/authorize?${query}`));
    const location = await provider.completeAuthorization(parsed.request, { subject: 'alice' });
    return new URL(location).searchParams.get('code');
  });
  const tokens = await measure('exchange', () =>
    provider.exchangeAuthorizationCode({ clientId, code, redirectUri: REDIRECT, codeVerifier: verifier }));
  await measure('verify', () => provider.verifyAccessToken(tokens.access_token));
  const rotated = await measure('refresh', () => provider.exchangeRefreshToken({ clientId, refreshToken: tokens.refresh_token }));
  await measure('revoke', () => provider.revokeToken({ clientId, token: rotated.refresh_token }));
  steps['full flow'] = Object.fromEntries(
    Object.keys(counter).map((k) => [k, Object.values(steps).reduce((sum, s) => sum + s[k], 0)]),
  );
  return steps;
}

const HOSTS = [
  ['Map (atomic)', mapHost],
  ['Deno KV', denoHost],
  ['Durable Object', durableObjects],
  ['Workers KV', workersKv],
];
const STEPS = ['authorize', 'exchange', 'verify', 'refresh', 'revoke', 'full flow'];
const LABELS = { host: 'host calls', store: 'store ops', rpc: 'DO RPCs' };

const rows = [];
for (const [name, make] of HOSTS) {
  const { counter, storage, columns, close } = await make();
  const provider = await createOAuthProvider({ issuer: ISSUER, storage, scopesSupported: ['mcp'] });
  const client = await provider.registerClient({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'mcp' });
  await flow(provider, counter, client.client_id); // warms the client cache
  const steps = await flow(provider, counter, client.client_id);
  for (const column of columns) {
    rows.push({ host: name, counted: LABELS[column], ...Object.fromEntries(STEPS.map((s) => [s, steps[s][column]])) });
  }
  provider.free();
  close?.();
}

console.log(`| host | counted | ${STEPS.join(' | ')} |`);
console.log(`|---|---|${STEPS.map(() => '---:').join('|')}|`);
for (const row of rows) console.log(`| ${row.host} | ${row.counted} | ${STEPS.map((s) => row[s]).join(' | ')} |`);
if (Deno.args.includes('--json')) for (const row of rows) console.error(JSON.stringify({ hostCalls: row }));
