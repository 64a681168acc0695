// Deno KV as a `kv` host (wit/simply-mcp-oauth.wit), atomic through
// versionstamp checks. Each string key of the provider is one element under a
// root key part, so listing by string prefix is a range over that element.

export class DenoKvHost {
  /** @param kv a Deno.Kv (await Deno.openKv()); @param options.root key parts to live under */
  constructor(kv, { root = ['simply-mcp-oauth'] } = {}) {
    if (!kv || typeof kv.atomic !== 'function') {
      throw new TypeError('DenoKvHost needs a Deno.Kv (await Deno.openKv())');
    }
    this.kv = kv;
    this.root = root;
  }

  capabilities() {
    return { atomic: true, minTtlSeconds: 1, consistentReads: true };
  }

  #key(key) {
    return [...this.root, key];
  }

  async get(key) {
    const entry = await this.kv.get(this.#key(key));
    return entry.value ?? null;
  }

  async put(key, value, ttlSeconds) {
    await this.kv.set(this.#key(key), value, ttlSeconds > 0 ? { expireIn: ttlSeconds * 1000 } : undefined);
  }

  async delete(key) {
    await this.kv.delete(this.#key(key));
  }

  async list(prefix, cursor, limit) {
    const selector = { start: this.#key(prefix), end: this.#key(prefix + '\u{10FFFF}') };
    const iterator = this.kv.list(selector, { limit, cursor: cursor ?? undefined });
    const keys = [];
    for await (const entry of iterator) keys.push(entry.key[entry.key.length - 1]);
    return { keys, cursor: keys.length < limit ? null : iterator.cursor || null };
  }

  async take(key) {
    for (;;) {
      const entry = await this.kv.get(this.#key(key));
      if (entry.value === null) return null;
      const result = await this.kv.atomic().check(entry).delete(entry.key).commit();
      if (result.ok) return entry.value;
    }
  }

  async putIfAbsent(key, value, ttlSeconds) {
    const options = ttlSeconds > 0 ? { expireIn: ttlSeconds * 1000 } : undefined;
    const result = await this.kv.atomic().check({ key: this.#key(key), versionstamp: null }).set(this.#key(key), value, options).commit();
    return result.ok;
  }
}
