// Request limits for the provider's HTTP layer. The module asks
// `rateLimiter(bucket, key)` before it works on /register, /token,
// /authorize, /introspect and /revoke; the answer is the seconds to wait (a
// 429 with Retry-After), or 0 to go ahead, or a Promise of either. Buckets:
// registerPerIp, registerTotal (one key for everyone), tokenPerIp,
// tokenPerClient (the client_id, asked only once the client proved itself:
// a confidential client after its secret, a public one after its code or
// refresh token), authorizePerIp, introspectPerIp, revokePerIp.

/** The default rules: the same as the Rust crate's `RateLimits::default()`. */
export const DEFAULT_RATE_LIMITS = Object.freeze({
  registerPerIp: Object.freeze({ limit: 20, period: 3600 }),
  registerTotal: Object.freeze({ limit: 1000, period: 3600 }),
  tokenPerIp: Object.freeze({ limit: 120, period: 60 }),
  tokenPerClient: Object.freeze({ limit: 300, period: 60 }),
  authorizePerIp: Object.freeze({ limit: 100, period: 900 }),
  introspectPerIp: Object.freeze({ limit: 600, period: 60 }),
  revokePerIp: Object.freeze({ limit: 60, period: 60 }),
});

/** Keys a bucket remembers at most; past it, idle keys go, then all (memory stays bounded). */
const MAX_KEYS = 10_000;

/** `rateLimits` with the defaults filled in; `false` or `null` turns a rule (or all) off. */
export function rateLimitRules(rateLimits) {
  if (rateLimits === false || rateLimits === null) return {};
  if (rateLimits !== undefined && (typeof rateLimits !== 'object' || Array.isArray(rateLimits))) {
    throw new TypeError('rateLimits must be an object, or false for no limits');
  }
  for (const name of Object.keys(rateLimits ?? {})) {
    if (!(name in DEFAULT_RATE_LIMITS)) {
      throw new TypeError(`rateLimits.${name} is not a limit (${Object.keys(DEFAULT_RATE_LIMITS).join(', ')})`);
    }
  }
  const rules = {};
  for (const [name, fallback] of Object.entries(DEFAULT_RATE_LIMITS)) {
    const rule = rateLimits?.[name] === undefined ? fallback : rateLimits[name];
    if (rule === false || rule === null) continue;
    for (const field of ['limit', 'period']) {
      const value = rule?.[field];
      if (!Number.isInteger(value) || value < 1) {
        throw new TypeError(`rateLimits.${name}.${field} must be a whole number of at least 1`);
      }
    }
    rules[name] = { limit: rule.limit, period: rule.period };
  }
  return rules;
}

/**
 * The in-memory limiter (one per isolate or process): `limit` requests per
 * `period` seconds, in bursts of up to `limit`, refilling evenly (GCRA, as
 * the Rust crate's governor limiter). `now` (milliseconds) is for tests.
 */
export function memoryRateLimiter(rateLimits, { now = Date.now } = {}) {
  const rules = rateLimitRules(rateLimits);
  const buckets = new Map();
  return function rateLimiter(bucket, key) {
    const rule = rules[bucket];
    if (!rule) return 0;
    let arrivals = buckets.get(bucket);
    if (!arrivals) buckets.set(bucket, (arrivals = new Map()));
    const t = now();
    const interval = (rule.period * 1000) / rule.limit;
    const tolerance = interval * (rule.limit - 1);
    const tat = Math.max(arrivals.get(key) ?? t, t);
    if (tat - t > tolerance) return Math.max(1, Math.ceil((tat - tolerance - t) / 1000));
    if (!arrivals.has(key) && arrivals.size >= MAX_KEYS) forgetIdle(arrivals, t);
    arrivals.set(key, tat + interval);
    return 0;
  };
}

function forgetIdle(arrivals, t) {
  for (const [key, tat] of arrivals) if (tat <= t) arrivals.delete(key);
  if (arrivals.size >= MAX_KEYS) arrivals.clear();
}

/**
 * Cloudflare's Rate Limiting binding: `bindings` maps bucket names to
 * bindings (`{ registerPerIp: env.OAUTH_RATE_REGISTER, ... }`); each binding's
 * `simple = { limit, period }` in wrangler.toml is its rule, counted per
 * Cloudflare location. A bucket without a binding uses `fallback` (by default
 * the in-memory limiter with `rateLimits`). A refusal waits `period` seconds
 * (the bindings' period: 10 or 60).
 */
export function workersRateLimiter(bindings = {}, { period = 60, fallback, rateLimits } = {}) {
  const otherwise = fallback ?? memoryRateLimiter(rateLimits);
  return async function rateLimiter(bucket, key) {
    const binding = bindings?.[bucket];
    if (!binding || typeof binding.limit !== 'function') return otherwise(bucket, key);
    const { success } = await binding.limit({ key: key || bucket });
    return success ? 0 : period;
  };
}

/**
 * The key of a client address: IPv4 as is (also IPv4-mapped IPv6), IPv6 as
 * its /64, so one host cannot step around its limit through its own range.
 */
export function clientIpKey(address) {
  if (typeof address !== 'string' || !address) return undefined;
  const ip = address.replace(/^\[|\]$/g, '').split('%')[0];
  if (!ip.includes(':')) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1];
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16)).join(':')}::/64`;
}
