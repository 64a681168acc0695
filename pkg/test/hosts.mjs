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

// Atomic through versions: every write takes the next number of one counter,
// and a commit applies only if each checked key still has the version read.
// Each call awaits once, so concurrent requests really interleave.
export class AtomicMapHost extends MapHost {
  constructor(options) {
    super(options);
    this.versions = new Map();
    this.lastVersion = 0;
  }
  async put(key, value, ttlSeconds) {
    await super.put(key, value, ttlSeconds);
    this.versions.set(key, String(++this.lastVersion));
  }
  async delete(key) {
    await super.delete(key);
    this.versions.delete(key);
  }
  async getVersioned(key) {
    this.calls++;
    await null;
    return this.map.has(key) ? { value: this.map.get(key), version: this.versions.get(key) } : null;
  }
  async commit(checks, mutations) {
    this.calls++;
    await null;
    if (!checks.every(({ key, version }) => (this.versions.get(key) ?? null) === version)) return false;
    for (const m of mutations) {
      if (m.type === 'set') {
        if (m.ttlSeconds !== 0 && m.ttlSeconds < this.minTtlSeconds) throw new Error(`TTL ${m.ttlSeconds} below the minimum`);
        this.map.set(m.key, m.value);
        this.versions.set(m.key, String(++this.lastVersion));
      } else {
        this.map.delete(m.key);
        this.versions.delete(m.key);
      }
    }
    return true;
  }
}
