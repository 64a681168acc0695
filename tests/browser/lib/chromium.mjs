// Debian's Chromium driven by playwright-core: headless, no sandbox (we run as
// root), nothing that reaches the network on its own, a fresh profile each time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A browser context on a fresh user-data-dir; `close()` removes the profile. */
export async function launch({ viewport = { width: 1000, height: 700 } } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'simply-mcp-oauth-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Whether to (re)write the README's screenshots under docs/. */
export const updateScreenshots = process.env.UPDATE_SCREENSHOTS === '1';
