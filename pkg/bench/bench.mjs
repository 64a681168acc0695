// The wasm rows of scripts/bench.sh: verify, code exchange, refresh and a full
// flow (register -> authorize -> exchange -> verify -> refresh -> revoke)
// through the package's JS API in Node, on InMemoryStorage and on KvStorage
// over a JS Map host (atomic). Prints one JSON object per line.
//
// Like the native bench: one operation at a time on one thread, each timed
// (median, p99); inputs made beforehand; verify's ops/s the median of five
// passes with no clock calls inside the loop, the others' from count / sum of
// the timings.
// "round_trips" for KvStorage: calls into the host (get, getVersioned, commit, ...) per
// operation, what a remote KV store would be sent.
//
//   node pkg/bench/bench.mjs [--smoke]
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createOAuthProvider, InMemoryStorage, KvStorage } from '../src/node.js';
import { AtomicMapHost } from '../test/hosts.mjs';

const smoke = process.argv.includes('--smoke');
// Written by scripts/build-pkg.sh: the shipped -Oz build, or --speed.
const PROFILE = (() => {
  try {
    return readFileSync(new URL('../dist/build-profile.txt', import.meta.url), 'utf8').trim();
  } catch {
    return 'wasm-release (opt-level z, -Oz)';
  }
})();
const COUNTS = smoke
  ? { verifyPass: 20, verifyTimed: 20, token: 5, flow: 3 }
  : { verifyPass: 1_000_000, verifyTimed: 200_000, token: 20_000, flow: 5_000 };

const ISSUER = 'http://127.0.0.1:8080';
const REDIRECT = 'http://127.0.0.1/callback';
const CLIENT = 'bench';
const VERIFIER = 'bench-code-verifier-0123456789abcdefghijklmnopqrstuvwxyz';
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');

/** Counts every call the storage makes into the host. */
function counted(host) {
  const counter = { calls: 0 };
  const proxy = new Proxy(host, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function' || name === 'capabilities' || name === 'constructor') return value;
      return function (...args) {
        counter.calls++;
        return value.apply(target, args);
      };
    },
  });
  return { proxy, counter };
}

async function authorize(provider, clientId) {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    scope: 'mcp',
  });
  const parsed = await provider.parseAuthorizationRequest(new Request(`${ISSUER}/authorize?${query}`));
  if (!parsed.request) throw new Error(`authorization refused: ${parsed.response.status}`);
  const location = await provider.completeAuthorization(parsed.request, { subject: 'bench-user' });
  return new URL(location).searchParams.get('code');
}

function exchange(provider, clientId, code) {
  return provider.exchangeAuthorizationCode({ clientId, code, redirectUri: REDIRECT, codeVerifier: VERIFIER });
}

function refresh(provider, clientId, refreshToken) {
  return provider.exchangeRefreshToken({ clientId, refreshToken });
}

async function fullFlow(provider) {
  const client = await provider.registerClient({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' });
  const clientId = client.client_id;
  const code = await authorize(provider, clientId);
  const tokens = await exchange(provider, clientId, code);
  await provider.verifyAccessToken(tokens.access_token);
  const rotated = await refresh(provider, clientId, tokens.refresh_token);
  await provider.revokeToken({ clientId, token: rotated.refresh_token });
}

function percentiles(timings) {
  const sorted = Float64Array.from(timings).sort();
  const rank = (p) => sorted[Math.min(Math.max(Math.ceil((sorted.length * p) / 100), 1), sorted.length) - 1];
  return [rank(50), rank(99)];
}

function row(backend, op, opsPerSec, timings, perOp) {
  const [p50, p99] = percentiles(timings);
  const line = {
    backend,
    op,
    profile: PROFILE,
    concurrency: 1,
    samples: timings.length,
    ops_per_sec: Math.round(opsPerSec),
    p50_us: Math.round(p50 * 1000 * 1000) / 1000,
    p99_us: Math.round(p99 * 1000 * 1000) / 1000,
    round_trips: perOp ?? null,
    commands: null,
  };
  console.log(JSON.stringify(line));
}

async function timed(list, op) {
  const timings = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const started = performance.now();
    await op(list[i]);
    timings[i] = performance.now() - started;
  }
  return timings;
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

async function measure(backend, storage, counter) {
  const provider = await createOAuthProvider({
    issuer: ISSUER,
    clients: [{ clientId: CLIENT, redirectUris: [REDIRECT], scopes: ['mcp'] }],
    storage,
  });
  // Host calls per operation, averaged over a few runs (KvStorage only).
  const perOp = async (n, op) => {
    if (!counter) return null;
    const before = counter.calls;
    for (let i = 0; i < n; i++) await op(i);
    return (counter.calls - before) / n;
  };

  const access = (await exchange(provider, CLIENT, await authorize(provider, CLIENT))).access_token;
  for (let i = 0; i < Math.min(COUNTS.verifyTimed, 10_000); i++) await provider.verifyAccessToken(access);
  // Median of five passes, as in the native bench.
  const rates = [];
  for (let pass = 0; pass < 5; pass++) {
    const started = performance.now();
    for (let i = 0; i < COUNTS.verifyPass / 5; i++) await provider.verifyAccessToken(access);
    rates.push(COUNTS.verifyPass / 5 / ((performance.now() - started) / 1000));
  }
  const verifyRate = rates.sort((a, b) => a - b)[2];
  let timings = await timed(new Array(COUNTS.verifyTimed), () => provider.verifyAccessToken(access));
  row(backend, 'verify', verifyRate, timings, await perOp(20, () => provider.verifyAccessToken(access)));

  const codes = [];
  for (let i = 0; i < COUNTS.token + 20; i++) codes.push(await authorize(provider, CLIENT));
  const countCodes = codes.splice(0, 20);
  timings = await timed(codes, (code) => exchange(provider, CLIENT, code));
  row(backend, 'exchange', codes.length / (sum(timings) / 1000), timings, await perOp(20, (i) => exchange(provider, CLIENT, countCodes[i])));

  // A fresh grant for every refresh, as in the native bench.
  const tokens = [];
  for (let i = 0; i < COUNTS.token + 20; i++) {
    tokens.push((await exchange(provider, CLIENT, await authorize(provider, CLIENT))).refresh_token);
  }
  const countTokens = tokens.splice(0, 20);
  timings = await timed(tokens, (token) => refresh(provider, CLIENT, token));
  row(backend, 'refresh', tokens.length / (sum(timings) / 1000), timings, await perOp(20, (i) => refresh(provider, CLIENT, countTokens[i])));

  timings = await timed(new Array(COUNTS.flow), () => fullFlow(provider));
  row(backend, 'full_flow', COUNTS.flow / (sum(timings) / 1000), timings, await perOp(20, () => fullFlow(provider)));
  provider.free();
}

await measure('wasm InMemoryStorage', new InMemoryStorage(), null);
const { proxy, counter } = counted(new AtomicMapHost());
await measure('wasm KvStorage (Map host)', new KvStorage(proxy), counter);
