// What the example's pages share: escaping, the page shell and its headers,
// cookies, and the base64url random tokens of the CSRF scheme.

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value) {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function base64url(bytes) {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64url(text) {
  // One character short of a byte (length 4n + 1) is no base64url: atob throws.
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(text) || text.length % 4 === 1) return null;
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** A random string with 256 bits of entropy (base64url). */
export function randomToken() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

export function readCookie(request, name) {
  const header = request.headers.get('cookie') ?? '';
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return null;
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // No scripts, no framing (clickjacking of the Approve button), no referrer.
  // No form-action: browsers apply it to the redirect that follows the POST.
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function page(title, body) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{font-weight:600}dd{margin:0;word-break:break-all}
button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem}.note{color:#666;font-size:.9rem}
.target{font-size:1.25rem}.warn{background:#fde2e1;border:1px solid #d9534f;padding:.75rem;border-radius:6px}
</style></head><body>
${body}
</body></html>`;
}

export function htmlResponse(status, title, body, headers = {}) {
  return new Response(page(title, body), { status, headers: { ...PAGE_HEADERS, ...headers } });
}

export function errorPage(status, message, title = 'Authorization error') {
  return htmlResponse(status, 'Authorization error', `<h1>Authorization error</h1><p>${escapeHtml(message)}</p>`);
}
