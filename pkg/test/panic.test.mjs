// A trap of the module is contained by the package: the call that trapped
// and every call in flight on the broken instance answer (a request with a
// 503, other methods with an Error whose code is "panic"), and the same
// provider object serves the next request on a fresh instance. Its own file
// (process): the instance is replaced here.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOAuthProvider, KvStorage, __panicForTests } from '../src/node.js';
import { ISSUER, authorize, bearer, post } from './helpers.mjs';
import { AtomicMapHost } from './hosts.mjs';

const CLIENT = { clientId: 'conf', clientSecret: 'conf-secret', redirectUris: ['https://app.example/cb'], scopes: ['read'] };

/** A full flow: consent, code exchange, the protected route, refresh. */
async function fullFlow(provider) {
  const { code, verifier } = await authorize(provider, { clientId: 'conf', redirectUri: 'https://app.example/cb' });
  const exchange = post('/token', {
    grant_type: 'authorization_code',
    code,
    redirect_uri: 'https://app.example/cb',
    code_verifier: verifier,
    client_id: 'conf',
    client_secret: 'conf-secret',
  });
  const answer = await provider.fetch(exchange);
  assert.equal(answer.status, 200, await answer.clone().text());
  const tokens = await answer.json();
  const { auth } = await provider.authenticate(bearer(tokens.access_token), ['read']);
  assert.equal(auth.subject, 'alice');
  const refreshed = await provider.fetch(
    post('/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'conf', client_secret: 'conf-secret' }),
  );
  assert.equal(refreshed.status, 200);
  return tokens;
}

function trap(message) {
  assert.throws(() => __panicForTests(message), (error) => {
    assert.ok(!(error instanceof WebAssembly.RuntimeError), 'not the raw trap');
    assert.match(error.message, new RegExp(`simply-mcp-oauth panicked: [\\s\\S]*${message}`));
    assert.equal(error.code, 'panic');
    assert.ok(error.cause instanceof WebAssembly.RuntimeError, 'the trap is kept as the cause');
    return true;
  });
}

test('a panic becomes an Error with its message and code "panic"', () => {
  trap('the storage invariant broke');
});

test('after a trap the same provider object completes a full flow on a fresh instance', async () => {
  const provider = await createOAuthProvider({ issuer: ISSUER, clients: [CLIENT] });
  const before = await fullFlow(provider);

  trap('first trap');
  // The same object: rebuilt on the fresh instance, its configured client
  // stored again. The in-memory store went with the old instance.
  assert.equal(provider.issuer, ISSUER);
  await fullFlow(provider);
  const { response } = await provider.authenticate(bearer(before.access_token), ['read']);
  assert.equal(response.status, 401, 'in-memory grants do not survive the instance');

  trap('second trap');
  await fullFlow(provider);
});

test('grants in host storage survive a trap', async () => {
  const host = new AtomicMapHost();
  const provider = await createOAuthProvider({ issuer: ISSUER, clients: [CLIENT], storage: new KvStorage(host) });
  const before = await fullFlow(provider);
  trap('a trap with host storage');
  const { auth } = await provider.authenticate(bearer(before.access_token), ['read']);
  assert.equal(auth?.subject, 'alice', 'the token is still valid after the trap');
  await fullFlow(provider);
});

test('a request in flight when the instance breaks answers 503, and the next one is served', async () => {
  const host = new AtomicMapHost();
  const provider = await createOAuthProvider({ issuer: ISSUER, clients: [CLIENT], storage: new KvStorage(host) });
  const tokens = await fullFlow(provider);

  // The next store read never returns: the request stays in flight.
  const get = host.get.bind(host);
  host.get = () => new Promise(() => {});
  const inFlight = provider.fetch(post('/introspect', { token: tokens.access_token, client_id: 'conf', client_secret: 'conf-secret' }));
  const checking = provider.authenticate(bearer(tokens.access_token), ['read']);
  await new Promise((resolve) => setTimeout(resolve, 10));
  trap('while a request was in flight');

  const answer = await inFlight;
  assert.equal(answer.status, 503);
  assert.equal(answer.headers.get('content-type'), 'application/json');
  assert.equal((await answer.json()).error, 'temporarily_unavailable');
  assert.equal((await checking).response.status, 503);

  host.get = get;
  const introspected = await provider.fetch(post('/introspect', { token: tokens.access_token, client_id: 'conf', client_secret: 'conf-secret' }));
  assert.equal(introspected.status, 200);
  assert.equal((await introspected.json()).active, true);
  await fullFlow(provider);
});

// In its own process: the trap also leaves the microtask as an uncaught
// exception, which this runner would count against whichever test runs.
test('a panic in a task polled from a microtask still answers every call in flight', () => {
  const child = spawnSync(process.execPath, [fileURLToPath(new URL('./microtask-panic.mjs', import.meta.url))], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(child.status, 0, child.stderr);
  const seen = JSON.parse(child.stdout);
  assert.deepEqual(seen, {
    panicking: 'panic',
    inFlightStatus: 503,
    inFlightError: 'temporarily_unavailable',
    uncaught: 'RuntimeError',
    flowAfter: 'ok',
  });
});
