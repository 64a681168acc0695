// The connected-apps page of both servers in headless Chromium: a person
// approves an app on the consent page, sees it on /apps (escaped), clicks
// Revoke, and the app's access token is refused on the MCP endpoint at once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launch, updateScreenshots } from './lib/chromium.mjs';
import { authorizeUrl, exchange, mcpStatus, pkce, register } from './lib/oauth.mjs';
import { ROOT, startNative, startWorker } from './lib/servers.mjs';

// The app's callback. No server listens there: the browser's request is
// answered by Playwright (page.route), so nothing leaves the test.
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
// A name a hostile app could pick: it must show as text, never as markup.
const APP_NAME = 'Notes <b>app</b> & "co"';

for (const [label, start, screenshot] of [
  ['native demo server', startNative, 'docs/connected-apps.png'],
  ['Worker (Miniflare)', startWorker, null],
]) {
  describe(`connected apps: ${label}`, () => {
    let server;
    let browser;
    before(async () => {
      server = await start();
      browser = await launch({ viewport: { width: 980, height: 300 } });
    });
    after(async () => {
      await browser?.close();
      await server?.stop();
    });

    test('a person approves an app, sees it on /apps, revokes it, and its token stops working', async () => {
      const { issuer } = server;
      const page = await browser.context.newPage();
      let callback;
      await page.route(`${REDIRECT_URI}**`, (route) => {
        callback = new URL(route.request().url());
        return route.fulfill({ status: 200, contentType: 'text/html', body: '<p id="done">back in the app</p>' });
      });

      // Before: nothing connected.
      await page.goto(`${issuer}/apps`);
      await page.getByText('No apps are connected').waitFor();
      assert.match(await page.locator('body').innerText(), /Signed in as demo-user/);

      // The app registers and sends the person to consent, who approves.
      const clientId = await register(issuer, { name: APP_NAME, redirectUri: REDIRECT_URI });
      const { verifier, challenge } = pkce();
      await page.goto(authorizeUrl(issuer, { clientId, redirectUri: REDIRECT_URI, challenge, state: 's1' }));
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.locator('#done').waitFor();
      assert.equal(callback.searchParams.get('state'), 's1');
      const tokens = await exchange(issuer, { clientId, redirectUri: REDIRECT_URI, code: callback.searchParams.get('code'), verifier });
      assert.equal(await mcpStatus(issuer, tokens.access_token), 200);

      // The apps page lists the grant with everything the person needs.
      await page.goto(`${issuer}/apps`);
      const row = page.locator('tbody tr');
      assert.equal(await row.count(), 1);
      assert.equal(await row.locator('.name').innerText(), APP_NAME); // shown as text: escaped
      assert.equal(await row.locator('.name b').count(), 0);
      assert.equal(await row.locator('.client-id').innerText(), clientId);
      assert.equal(await row.locator('.scopes').innerText(), 'mcp');
      assert.equal(await row.locator('.resource').innerText(), `${issuer}/mcp`);
      const created = Date.parse(await row.locator('time').getAttribute('datetime'));
      assert.ok(Math.abs(created - Date.now()) < 120_000, `created ${created} is now`);
      assert.match(await row.locator('time').innerText(), /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
      if (screenshot && updateScreenshots) await page.screenshot({ path: `${ROOT}${screenshot}` });

      // A forged revoke (another site: no SameSite=Strict cookie, no valid token) is refused.
      const grantId = await row.getAttribute('data-grant');
      const forged = await fetch(`${issuer}/apps`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_id: grantId, csrf_token: 'x', csrf: 'x' }),
      });
      assert.equal(forged.status, 400);
      assert.equal(await mcpStatus(issuer, tokens.access_token), 200, 'a forged revoke revokes nothing');

      // The real click.
      await row.getByRole('button', { name: 'Revoke' }).click();
      await page.getByRole('status').waitFor();
      assert.match(await page.getByRole('status').innerText(), /Access revoked/);
      assert.equal(await page.locator('tbody tr').count(), 0);
      await page.getByText('No apps are connected').waitFor();
      assert.equal(await mcpStatus(issuer, tokens.access_token), 401, 'the revoked grant\'s token is refused at once');

      // Its refresh token is dead too.
      const refreshed = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: clientId }),
      });
      assert.equal(refreshed.status, 400);
      assert.equal((await refreshed.json()).error, 'invalid_grant');
      await page.close();
    });
  });
}
