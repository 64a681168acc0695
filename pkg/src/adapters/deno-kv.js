// Deno KV as a `kv` host (wit/simply-mcp-oauth.wit), atomic through
// versionstamp checks: `getVersioned` is a read with its versionstamp, and
// `commit` is one `kv.atomic()` with at most one check (self-hosted denokv
// allows ten). Each string key of the provider is one element under a root
// key part, so listing by string prefix is a range over that element.

/** Deno KV refuses values over 64 KiB and keys over 2 KiB. */
const MAX_VALUE_BYTES = 64 * 1024;
const MAX_KEY_BYTES = 2048;
const encoder = new TextEncoder();

export class DenoKvHost {
  /** @param kv a Deno.Kv (await Deno.openKv()); @param options.root key parts to live under */
  constructor(kv, { root = ['simply-mcp-oauth'] } = {}) {
    if (!kv || typeof kv.atomic !== 'function') {
      throw new TypeError('DenoKvHost needs a Deno.Kv (await Deno.openKv())');
    }
    this.kv = kv;
    this.root = root;
    this.rootBytes = root.reduce((sum, part) => sum + encoder.encode(String(part)).length + 2, 0);
  }

  capabilities() {
    return { atomic: true, minTtlSeconds: 1, consistentReads: true };
  }

  #key(key) {
    return [...this.root, key];
  }

  // A clear error before Deno's own, which names neither the key nor the limit.
  #checked(key, value) {
    const keyBytes = this.rootBytes + encoder.encode(key).length;
    if (keyBytes > MAX_KEY_BYTES) throw new RangeError(`Deno KV key of ${keyBytes} bytes is over the 2 KiB limit: ${key.slice(0, 80)}…`);
    if (value !== undefined) {
      const valueBytes = encoder.encode(value).length;
      if (valueBytes > MAX_VALUE_BYTES) throw new RangeError(`Deno KV value of ${valueBytes} bytes for ${key} is over the 64 KiB limit`);
    }
    return this.#key(key);
  }

  async get(key) {
    const entry = await this.kv.get(this.#key(key));
    return entry.value ?? null;
  }

  async put(key, value, ttlSeconds) {
    await this.kv.set(this.#checked(key, value), value, expiry(ttlSeconds));
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

  async getVersioned(key) {
    const entry = await this.kv.get(this.#key(key));
    return entry.value === null ? null : { value: entry.value, version: entry.versionstamp };
  }

  async commit(checks, mutations) {
    const operation = this.kv.atomic();
    for (const { key, version } of checks) operation.check({ key: this.#key(key), versionstamp: version });
    for (const mutation of mutations) {
      if (mutation.type === 'set') {
        operation.set(this.#checked(mutation.key, mutation.value), mutation.value, expiry(mutation.ttlSeconds));
      } else {
        operation.delete(this.#key(mutation.key));
      }
    }
    const result = await operation.commit();
    return result.ok;
  }
}

// `expireIn` is only the earliest deletion: the provider also keeps each
// record's expiry inside it and treats a late record as absent.
function expiry(ttlSeconds) {
  return ttlSeconds > 0 ? { expireIn: ttlSeconds * 1000 } : undefined;
}
