// Cloudflare Workers KV as a `kv` host (wit/simply-mcp-oauth.wit).
// Workers KV has no atomic operations and a 60 s minimum TTL: KvStorage then
// works best-effort (a code or refresh token used twice at the same instant
// may both succeed) and says so in healthCheck(). For single use that holds,
// use the Durable Object storage (./durable-object.js).

const MIN_TTL_SECONDS = 60;

export class WorkersKvHost {
  /** @param namespace a KV namespace binding, e.g. env.OAUTH_KV */
  constructor(namespace) {
    if (!namespace || typeof namespace.get !== 'function') {
      throw new TypeError('WorkersKvHost needs a KV namespace binding (env.OAUTH_KV)');
    }
    this.namespace = namespace;
  }

  capabilities() {
    return { atomic: false, minTtlSeconds: MIN_TTL_SECONDS, consistentReads: false };
  }

  get(key) {
    return this.namespace.get(key, 'text');
  }

  put(key, value, ttlSeconds) {
    const options = ttlSeconds > 0 ? { expirationTtl: Math.max(MIN_TTL_SECONDS, ttlSeconds) } : undefined;
    return this.namespace.put(key, value, options);
  }

  delete(key) {
    return this.namespace.delete(key);
  }

  async list(prefix, cursor, limit) {
    const page = await this.namespace.list({ prefix, cursor: cursor ?? undefined, limit: Math.min(limit, 1000) });
    return { keys: page.keys.map((entry) => entry.name), cursor: page.list_complete ? null : page.cursor };
  }

  /** No versions here: a plain read (capabilities().atomic is false). */
  async getVersioned(key) {
    const value = await this.get(key);
    return value === null ? null : { value, version: '' };
  }

  /**
   * Not atomic: the checks cannot be honoured on Workers KV and are ignored.
   * The writes go out together, so a transition costs one round trip of
   * latency rather than one per key.
   */
  async commit(_checks, mutations) {
    await Promise.all(
      mutations.map((m) => (m.type === 'set' ? this.put(m.key, m.value, m.ttlSeconds) : this.delete(m.key))),
    );
    return true;
  }
}
