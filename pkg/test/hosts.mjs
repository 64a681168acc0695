// Key-value hosts for the tests: a Map with atomics, and a Workers-KV-like
// store (no atomics, 60 s minimum TTL, enforced like the real one).
export class MapHost {
  constructor({ atomic = true, minTtlSeconds = 1 } = {}) {
    this.map = new Map();
    this.atomic = atomic;
    this.minTtlSeconds = minTtlSeconds;
    this.calls = 0;
  }
  capabilities() {
    return { atomic: this.atomic, minTtlSeconds: this.minTtlSeconds, consistentReads: true };
  }
  async get(key) {
    this.calls++;
    return this.map.get(key) ?? null;
  }
  async put(key, value, ttlSeconds) {
    this.calls++;
    if (ttlSeconds !== 0 && ttlSeconds < this.minTtlSeconds) throw new Error(`TTL ${ttlSeconds} below the minimum`);
    this.map.set(key, value);
  }
  async delete(key) {
    this.calls++;
    this.map.delete(key);
  }
  async list(prefix, cursor, limit) {
    this.calls++;
    const keys = [...this.map.keys()].filter((k) => k.startsWith(prefix)).sort();
    const start = cursor ? Number(cursor) : 0;
    const page = keys.slice(start, start + limit);
    return { keys: page, cursor: start + limit < keys.length ? String(start + limit) : null };
  }
}

export class AtomicMapHost extends MapHost {
  async take(key) {
    const value = this.map.get(key) ?? null;
    this.map.delete(key);
    return value;
  }
  async putIfAbsent(key, value) {
    if (this.map.has(key)) return false;
    this.map.set(key, value);
    return true;
  }
}
