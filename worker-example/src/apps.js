// The connected-apps page: GET /apps lists the signed-in user's grants
// (provider.listGrants), POST /apps revokes one (provider.revokeGrant), after
// which the grant's tokens are refused at once.
//
// The user is the example's sign-in stub (`demoUser`): the page says so. Each
// Revoke button is its own form whose CSRF token binds the grant id to a
// nonce in an HttpOnly SameSite=Strict cookie, so another site can revoke
// nothing and a form cannot be re-aimed at another grant.

import { errorPage as pageError, escapeHtml, htmlResponse, randomToken, readCookie } from './page.js';

// As long as a form's CSRF token (FORM_TTL_SECONDS in app.js): 10 minutes.
const COOKIE_TTL_SECONDS = 600;
const MAX_FORM_BYTES = 4 * 1024;

/** Unix seconds as `YYYY-MM-DD HH:MM UTC`. */
export function utcMinutes(seconds) {
  return `${new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * Remembers the client names shown at consent, for the apps page: the
 * provider's grant summaries carry the client id only. `store` is
 * `{ get(key), put(key, value) }` (Workers KV fits); by default a bounded
 * in-memory map.
 */
export function clientNameBook(store) {
  const memory = new Map();
  store ??= {
    get: (key) => memory.get(key) ?? null,
    put: (key, value) => {
      if (memory.size >= 1000) memory.delete(memory.keys().next().value);
      memory.set(key, value);
    },
  };
  const key = (clientId) => `example:client-name:${clientId}`;
  return {
    async get(clientId) {
      try {
        return await store.get(key(clientId));
      } catch {
        return null; // a name is a nicety; the page still lists the grant
      }
    },
    async remember(clientId, name) {
      if (!name) return;
      try {
        // Write only a change: Workers KV takes one write per key per second.
        if ((await store.get(key(clientId))) !== name) await store.put(key(clientId), name);
      } catch (error) {
        console.error('simply-mcp-oauth example: could not remember a client name:', error);
      }
    },
  };
}

/**
 * @param {object} options
 * @param {import('simply-mcp-oauth').SimplyMCPOAuthProvider} options.provider
 * @param {string} options.user the signed-in user (the example's stub)
 * @param {{ sign(purpose: string, nonce: string, data: string): Promise<string>,
 *           verify(purpose: string, token: string, nonce: string | null, data: string): Promise<boolean> }} options.csrf
 * @param {ReturnType<typeof clientNameBook>} options.names
 */
export function createAppsPage({ provider, user, csrf, names }) {
  const errorPage = (status, message) => pageError(status, message, 'Request failed');
  const PURPOSE = 'apps-revoke/v1';

  function cookieFor(request) {
    const secure = new URL(request.url).protocol === 'https:';
    const name = secure ? '__Host-apps' : 'apps';
    return { name, set: (nonce) => `${name}=${nonce}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}; Max-Age=${COOKIE_TTL_SECONDS}` };
  }

  async function row(grant, nonce) {
    const name = grant.clientName ?? (await names.get(grant.clientId));
    const shownName = name ? escapeHtml(name) : '<em>Unnamed app</em>';
    const idLabel = grant.clientId.startsWith('https://') ? 'Metadata document' : 'Client ID';
    const scopes = grant.scopes.length ? grant.scopes.map((s) => `<code>${escapeHtml(s)}</code>`).join(' ') : '<em>none</em>';
    const token = await csrf.sign(PURPOSE, nonce, grant.grantId);
    const created = new Date(grant.createdAt * 1000).toISOString();
    return `<tr data-grant="${escapeHtml(grant.grantId)}"><td><strong class="name">${shownName}</strong>
<div class="id">${idLabel}: <code class="client-id">${escapeHtml(grant.clientId)}</code></div></td>
<td class="scopes">${scopes}</td><td><code class="resource">${escapeHtml(grant.resource)}</code></td>
<td><time datetime="${escapeHtml(created)}">${escapeHtml(utcMinutes(grant.createdAt))}</time></td>
<td><form method="post" action="/apps"><input type="hidden" name="grant_id" value="${escapeHtml(grant.grantId)}">
<input type="hidden" name="csrf" value="${escapeHtml(token)}"><button type="submit">Revoke</button></form></td></tr>`;
  }

  async function show(request) {
    const grants = await provider.listGrants(user);
    grants.sort((a, b) => b.createdAt - a.createdAt || (a.grantId < b.grantId ? -1 : 1));
    const cookie = cookieFor(request);
    const nonce = readCookie(request, cookie.name) || randomToken();
    const rows = [];
    for (const grant of grants) rows.push(await row(grant, nonce));
    const revoked = new URL(request.url).searchParams.get('revoked');
    const notice =
      revoked === '1'
        ? `<p class="notice" role="status">Access revoked: that app's tokens no longer work.</p>`
        : revoked === '0'
          ? `<p class="notice" role="status">That app was already disconnected.</p>`
          : '';
    const list = rows.length
      ? `<table><thead><tr><th>App</th><th>Scopes</th><th>Resource</th><th>Connected</th><th></th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`
      : '<p class="empty">No apps are connected to your account.</p>';
    const body = `<style>body{max-width:60rem}table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.5rem;border-bottom:1px solid #ddd}td{word-break:break-all}
.id{color:#555;font-size:.85rem}.notice{background:#e3f4e1;border:1px solid #5cb85c;padding:.6rem .75rem;border-radius:6px}
.stub{background:#fff4d6;border:1px solid #e0c060;padding:.6rem .75rem;border-radius:6px}</style>
<h1>Connected apps</h1>
<p class="stub">Signed in as <code>${escapeHtml(user)}</code>. This example has a <strong>demo sign-in stub</strong>:
everyone is this one user (DEMO_USER). A real deployment lists its own signed-in user's grants with
<code>provider.listGrants</code> and revokes them with <code>provider.revokeGrant</code>.</p>
${notice}${list}`;
    return htmlResponse(200, 'Connected apps', body, { 'set-cookie': cookieFor(request).set(nonce) });
  }

  async function revoke(request) {
    const contentType = request.headers.get('content-type') ?? '';
    if (!contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      return errorPage(415, 'Expected a form submission.');
    }
    const text = await request.text();
    if (text.length > MAX_FORM_BYTES) return errorPage(413, 'The form is too large.');
    const form = new URLSearchParams(text);
    const grantId = form.get('grant_id') ?? '';
    const nonce = readCookie(request, cookieFor(request).name);
    if (!grantId || !(await csrf.verify(PURPOSE, form.get('csrf') ?? '', nonce, grantId))) {
      return errorPage(400, 'This form is invalid or has expired. Reload the connected apps page.');
    }
    const revoked = await provider.revokeGrant(user, grantId);
    return new Response(null, {
      status: 303,
      headers: { location: `/apps?revoked=${revoked ? 1 : 0}`, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
    });
  }

  return { show, revoke };
}
