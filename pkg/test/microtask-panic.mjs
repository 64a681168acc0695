// Run by panic.test.mjs in its own process: a panic inside a task polled
// from a microtask (after an awaited host Promise), with a request in flight
// on the same instance. Prints what each party saw, as JSON.
import { createOAuthProvider, KvStorage, __panicAfterForTests } from '../src/node.js';
import { ISSUER, authorize, post } from './helpers.mjs';
import { AtomicMapHost } from './hosts.mjs';

const seen = {};
// What the package cannot catch: no call of it is on the stack.
process.on('uncaughtException', (error) => {
  seen.uncaught = error?.constructor?.name;
});
process.on('unhandledRejection', () => {});

const CLIENT = { clientId: 'conf', clientSecret: 'conf-secret', redirectUris: ['https://app.example/cb'], scopes: ['read'] };
const host = new AtomicMapHost();
const provider = await createOAuthProvider({ issuer: ISSUER, clients: [CLIENT], storage: new KvStorage(host) });

async function flow() {
  const { code, verifier } = await authorize(provider, { clientId: 'conf', redirectUri: 'https://app.example/cb' });
  const params = { grant_type: 'authorization_code', code, redirect_uri: 'https://app.example/cb', code_verifier: verifier };
  const answer = await provider.fetch(post('/token', { ...params, client_id: 'conf', client_secret: 'conf-secret' }));
  if (answer.status !== 200) throw new Error(`token: ${answer.status} ${await answer.text()}`);
  return answer.json();
}

const tokens = await flow();
const get = host.get.bind(host);
host.get = () => new Promise(() => {});
const introspect = { token: tokens.access_token, client_id: 'conf', client_secret: 'conf-secret' };
const inFlight = provider.fetch(post('/introspect', introspect));
let release;
const panicking = __panicAfterForTests(new Promise((resolve) => (release = resolve)), 'in a microtask');
await new Promise((resolve) => setTimeout(resolve, 10));
release();

seen.panicking = await panicking.then(() => 'resolved', (error) => error.code);
const answer = await inFlight;
seen.inFlightStatus = answer.status;
seen.inFlightError = (await answer.json()).error;
await new Promise((resolve) => setTimeout(resolve, 10));
host.get = get;
seen.flowAfter = await flow().then(() => 'ok', (error) => error.message);
process.stdout.write(JSON.stringify({
  panicking: seen.panicking,
  inFlightStatus: seen.inFlightStatus,
  inFlightError: seen.inFlightError,
  uncaught: seen.uncaught,
  flowAfter: seen.flowAfter,
}));
