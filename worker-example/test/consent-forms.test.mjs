// The example app's consent form (src/app.js) against an attacker, with a
// stub provider and an injected clock: no workerd or wasm needed. The real
// provider is exercised by worker.test.mjs and the Deno tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readConsentForm } from '../../tests/lib/browser.mjs';
import { createApp, FORM_TTL_SECONDS, sourceRequest } from '../src/app.js';

const ISSUER = 'https://auth.example';
const REDIRECT = 'https://app.example/cb';

/** A provider that accepts every request and records what it was asked to check. */
function stubProvider() {
  const checked = [];
  return {
    checked,
    issuer: ISSUER,
    async parseAuthorizationRequest(request) {
      checked.push(request);
      const query = new URL(request.url).searchParams;
      return {
        request: {
          clientId: query.get('client_id'),
          clientName: query.get('client_name_for_test'),
          redirectUri: query.get('redirect_uri'),
          scopes: ['mcp'],
          resource: `${ISSUER}/mcp`,
          loopbackOnly: false,
          metadataDocument: false,
        },
      };
    },
    async completeAuthorization(request) {
      return `${request.redirectUri}?code=c`;
    },
    async denyAuthorization(request) {
      return `${request.redirectUri}?error=access_denied`;
    },
  };
}

function setup() {
  const provider = stubProvider();
  const clock = { ms: 1_700_000_000_000 };
  const app = createApp({ provider, csrfSecret: 'x'.repeat(32), demoUser: 'alice', now: () => clock.ms });
  return { app, provider, clock };
}

async function show(app, params = {}) {
  const query = new URLSearchParams({ client_id: 'c1', redirect_uri: REDIRECT, ...params });
  const response = await app.fetch(new Request(`${ISSUER}/authorize?${query}`));
  assert.equal(response.status, 200);
  const html = await response.text();
  const { authz, csrf } = Object.fromEntries(readConsentForm(html).fields);
  const setCookie = response.headers.get('set-cookie');
  return { html, setCookie, cookie: setCookie.split(';')[0], authz, csrf };
}

function post(form, decision = 'approve', headers = {}) {
  return new Request(`${ISSUER}/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie, ...headers },
    body: new URLSearchParams({ authz: form.authz, csrf: form.csrf, decision }).toString(),
  });
}

test('a consent form expires after 10 minutes, and its expiry cannot be pushed back', async () => {
  const { app, clock } = setup();
  assert.ok(FORM_TTL_SECONDS <= 600);
  const stale = await show(app);
  clock.ms += FORM_TTL_SECONDS * 1000;
  const refused = await app.fetch(post(stale));
  assert.equal(refused.status, 400);
  assert.equal(refused.headers.get('location'), null);
  const [expiry, mac] = stale.csrf.split('.');
  const pushedBack = { ...stale, csrf: `${Number(expiry) + 3600}.${mac}` };
  assert.equal((await app.fetch(post(pushedBack))).status, 400);
  const fresh = await show(app);
  clock.ms += (FORM_TTL_SECONDS - 1) * 1000;
  const approved = await app.fetch(post(fresh));
  assert.equal(approved.status, 303);
  assert.equal(approved.headers.get('location'), `${REDIRECT}?code=c`);
});

test('over https the consent cookie is __Host- prefixed: Secure, Path=/, no Domain', async () => {
  const { app } = setup();
  const { setCookie } = await show(app);
  assert.match(setCookie, /^__Host-consent=/);
  assert.match(setCookie, /; Secure/);
  assert.match(setCookie, /Path=\/;/);
  assert.doesNotMatch(setCookie, /domain=/i);
});

test('the re-check of a decision carries the address of the POST, so it counts against the /authorize limit', async () => {
  const { app, provider } = setup();
  const form = await show(app);
  const decision = post(form, 'deny', { 'cf-connecting-ip': '192.0.2.9' });
  const denied = await app.fetch(decision);
  assert.equal(denied.status, 303, 'a Deny still redirects: the user acted');
  assert.equal(denied.headers.get('location'), `${REDIRECT}?error=access_denied`);
  const recheck = provider.checked.at(-1);
  assert.equal(recheck.headers.get('cf-connecting-ip'), '192.0.2.9');
  assert.equal(sourceRequest(recheck), decision);
});

test('a private-use redirect is shown as its scheme, never as the host after it', async () => {
  const { app } = setup();
  const { html } = await show(app, { redirect_uri: 'com.evil.app://accounts.bank.example/cb' });
  const target = html.split('class="target"')[1].split('</p>')[0];
  assert.match(target, /com\.evil\.app:/);
  assert.doesNotMatch(target, /bank/);
});

test('client names are escaped on the consent page', async () => {
  const { app } = setup();
  const { html } = await show(app, { client_name_for_test: '<img src=x onerror=alert(1)>' });
  assert.doesNotMatch(html, /<img/);
  assert.match(html, /&#60;img/);
});
