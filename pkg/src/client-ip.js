// Where the package finds a request's client address when the app gives no
// `clientIp` option: nowhere by default; the Workers entry (workers.js) reads
// CF-Connecting-IP, which Cloudflare sets and clients cannot.
let defaultClientIp = () => undefined;

export function setDefaultClientIp(find) {
  defaultClientIp = find;
}

export function getDefaultClientIp() {
  return defaultClientIp;
}
