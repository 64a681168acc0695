// The issuer of the Worker and of the Deno example: ISSUER when it is set,
// else the request's own origin, but only for a loopback origin (local
// development: `wrangler dev --port 8797`, `deno task`). A deployed example
// without ISSUER would otherwise announce whatever host a request names as
// its issuer, and bind tokens to it; it answers a page saying "set ISSUER".

/** Whether `hostname` (as `URL` spells it) is localhost, 127.0.0.0/8 or [::1]. */
export function isLoopbackHost(hostname) {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  // `URL` writes every IPv4 form (127.1, 0x7f.1) as four decimal parts.
  const parts = hostname.split('.');
  return parts.length === 4 && parts[0] === '127' && parts.every((part) => /^\d{1,3}$/.test(part));
}

/**
 * The issuer for `request`: `configured` (ISSUER) when it is set; else the
 * request's origin when it is a loopback origin; else `null` (answer
 * {@link issuerMissing}).
 */
export function issuerFor(configured, request) {
  if (configured) return configured.replace(/\/+$/, '');
  const url = new URL(request.url);
  return isLoopbackHost(url.hostname) ? url.origin : null;
}

/**
 * The page for a request that reaches a deployment without ISSUER: 500 (the
 * server is misconfigured; retrying will not help), naming the fix. It does
 * not echo the request's host.
 */
export function issuerMissing() {
  const text =
    'Configuration error: set ISSUER to the public URL of this server (for example https://oauth.example.com).\n' +
    'Without ISSUER, only loopback origins (localhost, 127.0.0.0/8, [::1]) are served, for local development.\n';
  return new Response(text, {
    status: 500,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
  });
}
