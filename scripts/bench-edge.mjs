// Edge benchmark: our Worker (worker-example) against the leading peer,
// @cloudflare/workers-oauth-provider (worker-example/bench/peer/worker.js),
// each in its own Miniflare, i.e. the same local workerd build, with local KV
// (and, for our "durable-object" storage mode, a local SQLite Durable Object).
//
//   node scripts/bench-edge.mjs [--rounds N] [--flows K] [--warmup W]
//                               [--modes kv,durable-object] [--build] [--disk] [--smoke]
//
// One flow = metadata GET (a floor: what a request costs with no storage),
// POST /register, the authorization (ours: the consent page, then the form
// POSTed back; the peer approves in one GET), the code exchange, POST /mcp
// (tools/list: the token check, "verify") and a refresh. Each step is timed
// around mf.dispatchFetch plus reading the body, so the figures include the
// loopback hop from Node to workerd, the same for both servers.
// Round i runs K flows on ours and K on the peer, alternating who goes first,
// so drift (GC, thermal, other load) falls on both alike.
//
// Local KV and Durable Object data live on tmpfs (/dev/shm) when there is one:
// on Miniflare's default, a temp dir on disk, a KV put costs about 4 ms here
// against 0.7 ms on tmpfs, so the figures would mostly measure the disk (and
// whatever else writes to it). --disk keeps Miniflare's default.
//
// Every response's status is checked (and a few bodies); an unexpected one
// stops the run with exit code 1 and prints the body. --smoke is 1 round of 2
// flows for CI. Raw figures go to target/bench/edge.jsonl.
//
// Nothing leaves the machine while measuring: dispatchFetch talks to workerd
// over loopback, cf: false keeps Miniflare from fetching its Request.cf
// placeholder, and every outbound fetch from either Worker is answered 502,
// counted, and fails the run. (Building dist with wrangler, when needed, runs
// wrangler's own version check against the npm registry; it has no opt-out.)
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decisionRequest } from '../tests/lib/browser.mjs';
import { publicClientRegistration } from '../worker-example/test/flow.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLE = join(ROOT, 'worker-example');
const OURS_BUNDLE = join(EXAMPLE, 'dist/index.js');
const PEER_SOURCE = join(EXAMPLE, 'bench/peer/worker.js');
const PEER_BUNDLE = join(EXAMPLE, 'bench/peer/dist/worker.js'); // ignored by worker-example/.gitignore
const OUT = join(ROOT, 'target/bench/edge.jsonl');

const OURS_ORIGIN = 'https://mcp.example.test';
const PEER_ORIGIN = 'https://peer.example.test'; // must match resourceMetadata in the peer worker
const REDIRECT_URI = 'http://127.0.0.1:9/cb'; // never fetched: the bench reads the Location header
const USER = 'alice';
const COMPATIBILITY_DATE = '2026-04-26'; // worker-example/wrangler.toml

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    flows: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '20' },
    modes: { type: 'string', default: 'kv,durable-object' },
    build: { type: 'boolean', default: false },
    disk: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
  },
});
const ROUNDS = args.smoke ? 1 : positive(args.rounds, '--rounds');
const FLOWS = args.smoke ? 2 : positive(args.flows, '--flows');
const WARMUP = args.smoke ? 1 : positive(args.warmup, '--warmup', 0);
const MODES = args.modes.split(',').map((m) => m.trim()).filter(Boolean);
for (const mode of MODES) if (!['kv', 'durable-object'].includes(mode)) usage(`unknown mode ${mode}`);

function positive(text, name, min = 1) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) usage(`${name} needs an integer of at least ${min}`);
  return n;
}

function usage(message) {
  console.error(`bench-edge: ${message}\nusage: node scripts/bench-edge.mjs [--rounds N] [--flows K] [--warmup W] [--modes kv,durable-object] [--build] [--disk] [--smoke]`);
  process.exit(2);
}

// miniflare and esbuild are worker-example's devDependencies: resolve them there.
if (!existsSync(join(EXAMPLE, 'node_modules/miniflare'))) {
  console.error('bench-edge: worker-example/node_modules is missing: run `cd worker-example && npm ci`');
  process.exit(1);
}
const requireExample = createRequire(join(EXAMPLE, 'package.json'));
const { Miniflare } = requireExample('miniflare');
const esbuild = requireExample('esbuild');
const versionOf = (name) => JSON.parse(readFileSync(join(EXAMPLE, 'node_modules', name, 'package.json'), 'utf8')).version;

// ---------------------------------------------------------------- HTTP steps

/** A non-2xx/3xx surprise: which server, which step, and the body to debug it. */
class StepError extends Error {}

/**
 * Sends one request, reads the whole body, adds the time to `timings[name]`
 * and checks the status (outside the timed part).
 */
async function step(server, timings, name, path, init, expected) {
  const t0 = performance.now();
  const response = await server.mf.dispatchFetch(`${server.origin}${path}`, { redirect: 'manual', ...init });
  const body = await response.text();
  timings[name] = (timings[name] ?? 0) + (performance.now() - t0);
  if (response.status !== expected) {
    throw new StepError(`${server.name} ${server.mode}: ${name} (${init?.method ?? 'GET'} ${path}): HTTP ${response.status}, expected ${expected}\n${body.slice(0, 2000)}`);
  }
  return { response, body };
}

function check(condition, server, what, detail) {
  if (!condition) throw new StepError(`${server.name} ${server.mode}: ${what}\n${String(detail).slice(0, 2000)}`);
}

const formPost = (params) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(params).toString(),
});

/** The headers an MCP client sends on POST /mcp (Streamable HTTP), to both servers. */
const mcpHeaders = (token) => ({
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-06-18',
});

/** Approve pressed on our consent page, as a browser sends it (tests/lib/browser.mjs reads the form): path and init for step(). */
function approval(server, page, pageUrl) {
  const setCookies = page.response.headers.getSetCookie();
  check(setCookies.length, server, 'the consent page set no cookie', page.response.headers.get('set-cookie'));
  const { url, init } = decisionRequest(pageUrl, page.body, setCookies);
  return [`${url.pathname}${url.search}`, init];
}

/**
 * One flow; returns { step: milliseconds }. Ours has two extra entries, the
 * halves of its authorization (authorize = their sum).
 */
async function flow(server) {
  const t = {};
  const resource = `${server.origin}/mcp`;

  await step(server, t, 'metadata', '/.well-known/oauth-authorization-server', {}, 200);

  const registered = await step(server, t, 'register', '/register', publicClientRegistration('bench-edge', REDIRECT_URI), 201);
  const clientId = JSON.parse(registered.body).client_id;
  check(clientId, server, 'registration returned no client_id', registered.body);

  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('base64url');
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    scope: 'mcp',
    state,
    resource,
  });
  let redirect;
  if (server.name === 'ours') {
    const page = await step(server, t, 'authorize: consent page', `/authorize?${query}`, {}, 200);
    const [path, init] = approval(server, page, `${server.origin}/authorize?${query}`);
    const decided = await step(server, t, 'authorize: decision', path, init, 303);
    redirect = decided.response;
    t.authorize = t['authorize: consent page'] + t['authorize: decision'];
  } else {
    redirect = (await step(server, t, 'authorize', `/authorize?${query}`, {}, 302)).response;
  }
  const location = new URL(redirect.headers.get('location'));
  const code = location.searchParams.get('code');
  check(code && location.searchParams.get('state') === state, server, 'the authorization redirect has no code or a wrong state', location);

  const exchanged = await step(server, t, 'exchange', '/token', formPost({
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
    client_id: clientId,
    resource,
  }), 200);
  const tokens = JSON.parse(exchanged.body);
  check(tokens.access_token && tokens.refresh_token, server, 'the exchange returned no access or refresh token', exchanged.body);

  const listed = await step(server, t, 'verify', '/mcp', {
    method: 'POST',
    headers: mcpHeaders(tokens.access_token),
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
  }, 200);
  const list = JSON.parse(listed.body).result;
  check(list?.tools?.[0]?.name === 'whoami', server, 'tools/list did not list whoami', listed.body);
  if (server.name === 'peer') check(list._meta?.props?.login === USER, server, 'the token did not carry the props', listed.body);

  const refreshed = await step(server, t, 'refresh', '/token', formPost({
    grant_type: 'refresh_token',
    refresh_token: tokens.refresh_token,
    client_id: clientId,
  }), 200);
  check(JSON.parse(refreshed.body).access_token, server, 'the refresh returned no access token', refreshed.body);

  return t;
}

// ------------------------------------------------------------------ servers

/** Our bundle, built by `npm run build` (wrangler deploy --dry-run) when missing or with --build. */
function ensureOurBundle() {
  if (existsSync(OURS_BUNDLE) && !args.build) return;
  if (!existsSync(join(ROOT, 'pkg/dist'))) {
    console.error('bench-edge: pkg/dist is missing: run `bash scripts/build-pkg.sh` first');
    process.exit(1);
  }
  console.log('building worker-example/dist (npm run build)');
  const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
  const built = spawnSync('npm', ['run', 'build'], { cwd: EXAMPLE, env, stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

/** A bundle older than its sources (the wasm, the package's JS, the Worker's) measures old code: say so. */
function staleWarning() {
  const sources = ['pkg/dist', 'pkg/src', 'worker-example/src'].flatMap((dir) =>
    existsSync(join(ROOT, dir)) ? readdirSync(join(ROOT, dir), { recursive: true }).map((f) => join(ROOT, dir, f)) : [],
  );
  const built = statSync(OURS_BUNDLE).mtimeMs;
  const newer = sources.filter((f) => statSync(f).mtimeMs > built);
  return newer.length ? `WARNING: worker-example/dist is older than ${newer.length} of its sources (${newer[0].slice(ROOT.length + 1)}, ...): rerun with --build` : null;
}

function bundlePeer() {
  mkdirSync(dirname(PEER_BUNDLE), { recursive: true });
  esbuild.buildSync({
    entryPoints: [PEER_SOURCE],
    outfile: PEER_BUNDLE,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'], // the peer's package has only "main"
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    external: ['cloudflare:*'],
    logLevel: 'warning',
  });
}

/** The names a bundle exports, read by esbuild without running it. */
function exportsOf(file) {
  const result = esbuild.buildSync({ entryPoints: [file], bundle: false, write: false, metafile: true, format: 'esm', logLevel: 'silent' });
  return Object.values(result.metafile.outputs)[0].exports;
}

/** Counts outbound fetches (there should be none) and answers them without touching the network. */
const outbound = { count: 0, urls: new Set() };
function refuseOutbound(request) {
  outbound.count++;
  outbound.urls.add(request.url);
  return new Response('bench-edge: outbound fetch refused', { status: 502 });
}

/** A fresh tmpfs directory for one Miniflare's local storage, or undefined for Miniflare's default. */
const TMPFS = !args.disk && existsSync('/dev/shm');
const STORAGE = TMPFS ? 'tmpfs (/dev/shm)' : "Miniflare's default temp dir (disk)";
const storageDir = (name) => (TMPFS ? mkdtempSync(join('/dev/shm', `bench-edge-${name}-`)) : undefined);

async function start(name, mode) {
  // modulesRoot: module names are paths below it (workerd refuses "..", so the cwd must not matter).
  const common = { modules: true, modulesRoot: ROOT, compatibilityDate: COMPATIBILITY_DATE, cf: false, outboundService: refuseOutbound };
  const options =
    name === 'ours'
      ? {
          ...common,
          scriptPath: OURS_BUNDLE,
          modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
          kvNamespaces: ['OAUTH_KV'],
          // No request limits: the peer has none, and a benchmark is a flood from one address.
          bindings: { ISSUER: OURS_ORIGIN, DEMO_USER: USER, STORAGE_MODE: mode, CSRF_SECRET: 'bench-edge-csrf-secret-of-at-least-32-chars', RATE_LIMITS: 'off' },
          ...(mode === 'durable-object' ? { durableObjects: { OAUTH_STORE: { className: 'OAuthStorageObject', useSQLite: true } } } : {}),
        }
      : { ...common, scriptPath: PEER_BUNDLE, kvNamespaces: ['OAUTH_KV'] };
  const dir = storageDir(name);
  if (dir) Object.assign(options, { kvPersist: join(dir, 'kv'), durableObjectsPersist: join(dir, 'do') });
  const mf = new Miniflare(options);
  await mf.ready;
  return { name, mode, mf, dir, origin: name === 'ours' ? OURS_ORIGIN : PEER_ORIGIN };
}

// -------------------------------------------------------------------- stats

/** Nearest-rank percentile of an unsorted array. */
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}
const median = (values) => percentile(values, 0.5);

const STEPS = ['metadata', 'register', 'authorize', 'authorize: consent page', 'authorize: decision', 'exchange', 'verify', 'refresh', 'full flow'];
const LABELS = { metadata: 'metadata GET (floor)', verify: 'verify (POST /mcp)', 'full flow': 'full flow (sum)' };
const RATIO_STEPS = ['exchange', 'refresh', 'verify'];

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}

const ms = (v) => (v === undefined ? '-' : v.toFixed(3));

/** samples[server][step] = all timings; rounds[r][server][step] = that round's timings. */
function report(mode, samples, rounds) {
  const rows = STEPS.map((s) => {
    const o = samples.ours[s] ?? [];
    const p = samples.peer[s] ?? [];
    const op50 = o.length ? median(o) : undefined;
    const pp50 = p.length ? median(p) : undefined;
    return [
      LABELS[s] ?? s,
      ms(op50),
      ms(o.length ? percentile(o, 0.99) : undefined),
      ms(pp50),
      ms(p.length ? percentile(p, 0.99) : undefined),
      op50 !== undefined && pp50 !== undefined ? (op50 / pp50).toFixed(2) : '-',
    ];
  });
  const n = samples.ours.exchange.length;
  console.log(`\n### mode: ${mode} (ours: STORAGE_MODE=${mode}; peer: KV) - ${rounds.length} round${rounds.length === 1 ? "" : "s"} x ${n / rounds.length} flows = ${n} flows per server, times in ms\n`);
  console.log(table(['step', 'ours p50', 'ours p99', 'peer p50', 'peer p99', 'ratio p50 (ours/peer)'], rows));
  const ratios = {};
  console.log('\nmedian of the per-round p50 ratios (ours/peer), [min, max] over rounds:');
  for (const s of RATIO_STEPS) {
    const perRound = rounds.map((r) => median(r.ours[s]) / median(r.peer[s]));
    ratios[s] = { median: median(perRound), min: Math.min(...perRound), max: Math.max(...perRound), per_round: perRound };
    console.log(`  ${(LABELS[s] ?? s).padEnd(18)} ${ratios[s].median.toFixed(2)}  [${ratios[s].min.toFixed(2)}, ${ratios[s].max.toFixed(2)}]`);
  }
  return { rows, ratios };
}

// --------------------------------------------------------------------- main

async function runMode(mode, out) {
  if (mode === 'durable-object') {
    const names = exportsOf(OURS_BUNDLE);
    if (!names.includes('OAuthStorageObject')) {
      console.log(`\n### mode: durable-object\nskipped: worker-example/dist/index.js does not export OAuthStorageObject (exports: ${names.join(', ')})`);
      out.push({ mode, skipped: 'the bundle does not export OAuthStorageObject' });
      return;
    }
  }
  const servers = {};
  try {
    servers.ours = await start('ours', mode);
    servers.peer = await start('peer', mode);
    for (const server of Object.values(servers)) for (let i = 0; i < WARMUP; i++) await flow(server);

    const samples = { ours: {}, peer: {} };
    const rounds = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? ['ours', 'peer'] : ['peer', 'ours'];
      const round = { ours: {}, peer: {} };
      for (const name of order) {
        for (let f = 0; f < FLOWS; f++) {
          const timings = await flow(servers[name]);
          timings['full flow'] = ['metadata', 'register', 'authorize', 'exchange', 'verify', 'refresh'].reduce((sum, s) => sum + timings[s], 0);
          for (const [s, v] of Object.entries(timings)) {
            (samples[name][s] ??= []).push(v);
            (round[name][s] ??= []).push(v);
          }
          out.push({ mode, server: name, round: r, flow: f, first: order[0] === name, ms: timings });
        }
      }
      rounds.push(round);
    }
    const { ratios } = report(mode, samples, rounds);
    out.push({ mode, summary: true, ratios });
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.mf.dispose()));
    for (const { dir } of Object.values(servers)) if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  ensureOurBundle();
  bundlePeer();
  const meta = {
    meta: true,
    date: new Date().toISOString(),
    smoke: args.smoke,
    rounds: ROUNDS,
    flows: FLOWS,
    warmup: WARMUP,
    cpu: `${cpus()[0]?.model}, ${cpus().length} cores`,
    load: loadavg().map((l) => l.toFixed(2)).join(' '), // other work on the machine widens the p99s
    node: process.version,
    miniflare: versionOf('miniflare'),
    workerd: versionOf('workerd'),
    esbuild: versionOf('esbuild'),
    peer: `@cloudflare/workers-oauth-provider@${versionOf('@cloudflare/workers-oauth-provider')}`,
    storage: STORAGE,
    ours_wasm: existsSync(join(ROOT, 'pkg/dist/build-profile.txt')) ? readFileSync(join(ROOT, 'pkg/dist/build-profile.txt'), 'utf8').trim() : 'unknown',
  };
  console.log(`## Edge benchmark${args.smoke ? ' (SMOKE: 1 round of 2 flows, figures meaningless)' : ''}`);
  console.log(`${meta.cpu}, load average ${meta.load} before the run; local KV/DO storage: ${meta.storage}`);
  console.log(`node ${meta.node}, miniflare ${meta.miniflare}, workerd ${meta.workerd}, esbuild ${meta.esbuild}; peer ${meta.peer}; ours: ${meta.ours_wasm}`);
  const stale = staleWarning();
  if (stale) console.log(stale);

  const out = [meta];
  try {
    for (const mode of MODES) await runMode(mode, out);
  } finally {
    mkdirSync(dirname(OUT), { recursive: true });
    writeFileSync(OUT, out.map((line) => JSON.stringify(line)).join('\n') + '\n');
  }
  console.log(`\nraw results: ${OUT}`);
  if (outbound.count) {
    console.error(`bench-edge: ${outbound.count} outbound fetches were attempted (refused): ${[...outbound.urls].join(', ')}`);
    process.exit(1);
  }
}

main().catch((error) => {
  console.error(error instanceof StepError ? `bench-edge: unexpected response: ${error.message}` : error);
  process.exit(1);
});
