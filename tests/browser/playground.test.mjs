// The playground (pkg/playground/) in headless Chromium, clicked through as a
// person would: "Run all steps", then Approve on the consent screen, in the
// page (the WebAssembly provider on InMemoryStorage) and against the native
// demo server (its real consent page, in a popup). Asserts what the page shows.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launch, updateScreenshots } from './lib/chromium.mjs';
import { ROOT, startNative, startPlayground, startWorker } from './lib/servers.mjs';

const STEPS = ['discover', 'register', 'authorize', 'consent', 'token', 'call', 'refresh', 'revoke'];

async function stepStates(page) {
  return page.$$eval('li.step', (nodes) => nodes.map((n) => [n.dataset.step, n.dataset.state]));
}

const summary = (page, step) => page.locator(`li[data-step=${step}] .summary`).innerText();

async function waitForStep(page, step, state) {
  try {
    await page.locator(`li[data-step=${step}][data-state=${state}]`).waitFor({ timeout: 30_000 });
  } catch (error) {
    // Say where the flow stopped, and why the page thinks so.
    const shown = await page.$$eval('li.step', (nodes) => nodes.map((n) => `${n.dataset.step}: ${n.dataset.state}: ${n.querySelector('.summary').textContent}`));
    throw new Error(`step ${step} never became ${state}:\n${shown.join('\n')}`, { cause: error });
  }
}

/** After a full run: every step done, and each exchange shown with its response. */
async function assertWholeFlow(page, { issuer, whoami }) {
  await waitForStep(page, 'revoke', 'done');
  assert.deepEqual(await stepStates(page), STEPS.map((s) => [s, 'done']));
  assert.match(await summary(page, 'discover'), new RegExp(`resource ${issuer}/mcp, authorization server ${issuer}`));
  assert.match(await summary(page, 'register'), /^client_id \S+ \(public client, PKCE\)$/);
  assert.match(await summary(page, 'consent'), /state and iss match/);
  assert.match(await summary(page, 'call'), whoami);
  assert.match(await summary(page, 'refresh'), /works; refresh_token rotated/);
  assert.match(await summary(page, 'revoke'), /access token now gets 401/);
  // Requests and responses are on the page: the discovery 401, the
  // registration 201, the token response, the post-revocation 401.
  const exchanges = await page.locator('details.exchange summary').allInnerTexts();
  assert.ok(exchanges.includes(`→ POST ${issuer}/mcp ← 401`), exchanges.join('\n'));
  assert.ok(exchanges.some((e) => /^→ POST \S+\/register ← 201$/.test(e)), exchanges.join('\n'));
  assert.ok(exchanges.filter((e) => /^→ POST \S+\/token ← 200$/.test(e)).length === 2, 'code exchange and refresh');
  assert.equal(exchanges.at(-1), `→ POST ${issuer}/mcp ← 401`);
  const tokenResponse = await page.locator('li[data-step=token] pre.response').textContent();
  assert.match(tokenResponse, /^200 /);
  assert.match(tokenResponse, /cache-control: no-store/);
  assert.match(tokenResponse, /"token_type": "Bearer"/);
}

describe('playground', () => {
  let playground;
  let browser;
  before(async () => {
    playground = await startPlayground();
    browser = await launch({ viewport: { width: 960, height: 800 } });
  });
  after(async () => {
    await browser?.close();
    await playground?.stop();
  });

  test('in the page: the WebAssembly provider walks the whole flow', async () => {
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (error) => errors.push(error));
    page.on('request', (request) => {
      if (!request.url().startsWith(playground.url.replace('/playground/', '/'))) errors.push(new Error(`left the page: ${request.url()}`));
    });
    await page.goto(playground.url);
    await page.locator('#engine[data-ready=in-page]').waitFor();
    await page.getByRole('button', { name: 'Run all steps' }).click();
    await waitForStep(page, 'consent', 'waiting');
    const consent = page.getByRole('dialog', { name: 'Consent' });
    assert.match(await consent.innerText(), /Playground client asks for mcp on https:\/\/in-page\.example\/mcp/);
    await consent.getByRole('button', { name: 'Approve' }).click();
    await assertWholeFlow(page, { issuer: 'https://in-page.example', whoami: /^subject: playground-user, client: \S+, scopes: mcp$/ });
    assert.deepEqual(errors, []);
    if (updateScreenshots) {
      await page.locator('li[data-step=call] details').first().evaluate((d) => (d.open = true));
      await page.evaluate(() => window.scrollTo(0, 0));
      // From the top through the protected call and its exchange: enough to show, small to keep.
      const bottom = await page.locator('li[data-step=call]').evaluate((li) => li.getBoundingClientRect().bottom + 8);
      await page.screenshot({ path: `${ROOT}docs/playground.png`, fullPage: true, clip: { x: 0, y: 0, width: 960, height: Math.ceil(bottom) } });
    }

    // One step again by itself: a second refresh with the revoked grant fails, and the page says why.
    await page.locator('li[data-step=refresh] button').click();
    await waitForStep(page, 'refresh', 'failed');
    assert.match(await summary(page, 'refresh'), /refresh: 400 invalid_grant/);
    await page.close();
  });

  test('in the page: a denial comes back as access_denied', async () => {
    const page = await browser.context.newPage();
    await page.goto(playground.url);
    await page.locator('#engine[data-ready=in-page]').waitFor();
    await page.getByRole('button', { name: 'Run all steps' }).click();
    await page.getByRole('dialog', { name: 'Consent' }).getByRole('button', { name: 'Deny' }).click();
    await waitForStep(page, 'consent', 'failed');
    assert.equal(await summary(page, 'consent'), 'the server answered error=access_denied');
    assert.equal(await page.locator('li[data-step=token]').getAttribute('data-state'), 'idle');
    await page.close();
  });

  test('a server that cannot be reached: step 1 fails and says why', async () => {
    const page = await browser.context.newPage();
    await page.goto(playground.url);
    await page.locator('#engine[data-ready=in-page]').waitFor();
    await page.getByLabel('Server URL').fill('http://127.0.0.1:9'); // discard port: nothing listens
    await page.locator('input[name=mode][value=remote]').check();
    await page.locator('#engine[data-ready=remote]').waitFor();
    await page.getByRole('button', { name: 'Run all steps' }).click();
    await waitForStep(page, 'discover', 'failed');
    assert.match(await summary(page, 'discover'), /^could not reach http:\/\/127\.0\.0\.1:9\/mcp .*CORS/);
    assert.equal(await page.locator('li[data-step=register]').getAttribute('data-state'), 'idle');
    await page.close();
  });

  for (const [label, start, whoami] of [
    ['the native demo server', startNative, /^subject: demo-user, client: \S+, scopes: mcp$/],
    ['the Worker (Miniflare)', startWorker, /^subject=demo-user client=\S+ scopes=mcp$/],
  ]) {
    describe(`against ${label}`, () => {
      let server;
      before(async () => {
        server = await start();
      });
      after(() => server?.stop());

      test('the same steps, with the server\'s own consent page in a popup', async () => {
        const page = await browser.context.newPage();
        await page.goto(playground.url);
        await page.locator('#engine[data-ready=in-page]').waitFor();
        await page.getByLabel('Server URL').fill(server.issuer);
        await page.locator('input[name=mode][value=remote]').check();
        await page.locator('#engine[data-ready=remote]').waitFor();
        const popupOpened = page.waitForEvent('popup');
        await page.getByRole('button', { name: 'Run all steps' }).click();
        const popup = await popupOpened;
        await popup.getByRole('button', { name: 'Approve' }).click();
        await assertWholeFlow(page, { issuer: server.issuer, whoami });
        await page.close();
      });
    });
  }
});
