// The scripted browser of every JS test, client and bench that signs in
// through a consent page (the Rust twin is tests/e2e/consent_page.rs). It
// reads the page of either server: the native demo server (every
// authorization parameter as a hidden field, `csrf_token`, buttons named
// `action`) and the Worker (worker-example/src/app.js: hidden `authz` and
// `csrf`, buttons named `decision`). `readConsentForm` and `decisionRequest`
// only parse and build, for callers with their own HTTP client (Miniflare's
// dispatchFetch, timed steps); `approveConsent` does the round trip with
// fetch. None of them follows a redirect: the caller decides what to do with
// the callback URL.

function unescapeHtml(text) {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function attribute(tag, name) {
  const match = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return match ? unescapeHtml(match[1]) : undefined;
}

const tags = (html, name) => [...html.matchAll(new RegExp(`<${name}\\b[^>]*>`, 'gi'))].map(([tag]) => tag);

/** The text of a page, tags dropped, at most 400 characters: for error messages. */
export function pageText(html) {
  return html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 400);
}

/**
 * The first form of a consent page: `action` (the attribute, unresolved;
 * undefined means the page's own URL), `fields` (hidden inputs as
 * [name, value], in page order, unescaped) and `buttons` ([name, value]).
 */
export function readConsentForm(html) {
  const formTag = tags(html, 'form')[0];
  if (!formTag) throw new Error(`consent page: no form: ${pageText(html)}`);
  const fields = tags(html, 'input')
    .filter((tag) => attribute(tag, 'type') === 'hidden')
    .map((tag) => [attribute(tag, 'name'), attribute(tag, 'value') ?? '']);
  const buttons = tags(html, 'button')
    .map((tag) => [attribute(tag, 'name'), attribute(tag, 'value')])
    .filter(([name, value]) => name !== undefined && value !== undefined);
  return { action: attribute(formTag, 'action'), fields, buttons };
}

/** The `Cookie` header a browser sends back for these `Set-Cookie` values. */
export function cookieHeader(setCookies) {
  return setCookies.map((c) => c.split(';')[0].trim()).join('; ');
}

/**
 * The request a browser sends when `decision` ('approve' or 'deny') is
 * pressed on the consent page at `pageUrl`: { url, init } for fetch, the
 * hidden fields and the button as the form body, the page's cookies.
 */
export function decisionRequest(pageUrl, html, setCookies, decision = 'approve') {
  const form = readConsentForm(html);
  const button = form.buttons.find(([, value]) => value === decision);
  if (!button) throw new Error(`consent page: no ${decision} button`);
  const url = new URL(form.action ?? String(pageUrl), pageUrl);
  const body = new URLSearchParams([...form.fields, button]);
  const headers = { 'content-type': 'application/x-www-form-urlencoded', cookie: cookieHeader(setCookies), origin: url.origin };
  return { url, init: { method: 'POST', redirect: 'manual', headers, body: body.toString() } };
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
  if (page.status !== 200) throw new Error(`consent page: HTTP ${page.status}: ${pageText(html)}`);
  const setCookies = page.headers.getSetCookie();
  const { url, init } = decisionRequest(authorizeUrl, html, setCookies);
  log(`consent page: ${page.status}, ${[...new URLSearchParams(init.body).keys()].length} form fields, ${setCookies.length} cookie(s); approving`);
  const decision = await fetchImpl(String(url), init);
  if (decision.status !== 303 && decision.status !== 302) {
    throw new Error(`consent decision: expected a redirect, got HTTP ${decision.status}: ${pageText(await decision.text())}`);
  }
  browserStats.consents += 1;
  return new URL(decision.headers.get('location'));
}
