// A headless stand-in for the user's browser on the consent page of either
// server: the native demo server (src/server/demo/consent.rs: every
// authorization parameter as a hidden field, `csrf_token`, button `action`)
// and the Worker (worker-example/src/app.js: hidden `authz` and `csrf`, button
// `decision`). It reads whatever hidden fields the form has, keeps the consent
// cookie, presses the Approve button and returns the 303's Location. It never
// follows a redirect: the caller decides what to do with the callback URL.

function unescapeHtml(text) {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function attribute(tag, name) {
  const match = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return match ? unescapeHtml(match[1]) : undefined;
}

/** Counts what this browser did, for the tests' assertions. */
export const browserStats = { consents: 0 };

/**
 * Shows the consent page for `authorizeUrl` and approves it.
 * Returns the URL the server redirects the browser to (the client's
 * redirect_uri with code, state and iss).
 */
export async function approveConsent(authorizeUrl, { fetchImpl = fetch, log = () => {} } = {}) {
  const page = await fetchImpl(String(authorizeUrl), { redirect: 'manual', headers: { accept: 'text/html' } });
  if (page.status === 302 || page.status === 303) {
    // An error redirect (or an authorization server that needs no consent).
    return new URL(page.headers.get('location'), authorizeUrl);
  }
  const html = await page.text();
  if (page.status !== 200) {
    throw new Error(`consent page: HTTP ${page.status}: ${html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 400)}`);
  }
  const formTag = /<form\b[^>]*>/i.exec(html)?.[0];
  if (!formTag) throw new Error('consent page: no form');
  const action = new URL(attribute(formTag, 'action') ?? String(authorizeUrl), authorizeUrl);
  const body = new URLSearchParams();
  for (const [tag] of html.matchAll(/<input\b[^>]*>/gi)) {
    if (attribute(tag, 'type') !== 'hidden') continue;
    body.append(attribute(tag, 'name'), attribute(tag, 'value') ?? '');
  }
  const approve = [...html.matchAll(/<button\b[^>]*>/gi)].map(([tag]) => tag).find((tag) => attribute(tag, 'value') === 'approve');
  if (!approve) throw new Error('consent page: no Approve button');
  body.append(attribute(approve, 'name'), 'approve');
  const cookies = page.headers.getSetCookie().map((c) => c.split(';')[0]);
  log(`consent page: ${page.status}, ${[...body.keys()].length} form fields, ${cookies.length} cookie(s); approving`);
  const decision = await fetchImpl(String(action), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookies.join('; '), origin: action.origin },
    body: body.toString(),
  });
  if (decision.status !== 303 && decision.status !== 302) {
    const text = await decision.text();
    throw new Error(`consent decision: expected a redirect, got HTTP ${decision.status}: ${text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 400)}`);
  }
  browserStats.consents += 1;
  return new URL(decision.headers.get('location'));
}
