// Under Deno too, a trap of the module is contained by the package (its
// deno.js entry): the same provider, on Deno KV, serves a full flow after
// it, and the grants issued before it are still valid.
import { __panicForTests, createOAuthProvider, DenoKvHost, KvStorage } from '../../src/deno.js';
import { ISSUER, authorize, bearer, post } from '../helpers.mjs';

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const clients = [{ clientId: 'conf', clientSecret: 'conf-secret', redirectUris: ['https://app.example/cb'], scopes: ['read'] }];

async function flow(provider) {
  const { code, verifier } = await authorize(provider, { clientId: 'conf', redirectUri: 'https://app.example/cb' });
  const params = { grant_type: 'authorization_code', code, redirect_uri: 'https://app.example/cb', code_verifier: verifier };
  const answer = await provider.fetch(post('/token', { ...params, client_id: 'conf', client_secret: 'conf-secret' }));
  assert(answer.status === 200, `token: ${answer.status}`);
  const tokens = await answer.json();
  const { auth } = await provider.authenticate(bearer(tokens.access_token), ['read']);
  assert(auth?.subject === 'alice', 'the new token is accepted');
  return tokens;
}

Deno.test('after a trap the same provider on Deno KV completes a full flow', async () => {
  const kv = await Deno.openKv(':memory:');
  const provider = await createOAuthProvider({ issuer: ISSUER, clients, storage: new KvStorage(new DenoKvHost(kv)) });
  const before = await flow(provider);
  let caught;
  try {
    __panicForTests('a trap under Deno');
  } catch (error) {
    caught = error;
  }
  assert(caught?.code === 'panic' && caught.message.includes('a trap under Deno'), `caught ${caught}`);
  const { auth } = await provider.authenticate(bearer(before.access_token), ['read']);
  assert(auth?.subject === 'alice', 'a grant in Deno KV survives the instance');
  await flow(provider);
  kv.close();
});
