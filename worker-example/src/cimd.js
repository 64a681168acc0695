// The fetch of OAuth Client ID Metadata Documents, for the provider's
// `fetchClientMetadata` option: a client_id that is an https URL is fetched
// here, and the provider checks the answer (200 only, at most 5 KB read from
// the body stream, the document's fields).
//
// What only the host can do is done here:
// - no redirects are followed (`redirect: 'manual'`: a 3xx comes back as is
//   and the provider refuses it);
// - the whole fetch is bounded at 5 s (`AbortSignal.timeout`);
// - only public addresses are reached. On Cloudflare Workers that is the
//   `global_fetch_strictly_public` compatibility flag (wrangler.toml): the
//   platform refuses private, loopback and link-local targets. Deno has no
//   such switch: the Deno entry (deno/main.js) runs with --allow-net limited
//   to its listen address and the metadata hosts in CIMD_HOSTS, so a fetch
//   anywhere else fails with a permission error.
// The provider itself refuses a client id whose host is an IP address
// before calling this, on every runtime.

/** Milliseconds one fetch may take, lookup to last byte. */
export const FETCH_TIMEOUT_MS = 5000;

/** `fetchClientMetadata` over `fetchImpl` (the global fetch by default). */
export function metadataFetcher(fetchImpl = fetch) {
  return (url) =>
    fetchImpl(url, {
      redirect: 'manual',
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      headers: { accept: 'application/json' },
    });
}

/** Whether a variable such as CIMD_ALLOW_LOOPBACK says yes. */
export function enabled(value) {
  return value === true || value === 'true' || value === '1';
}
