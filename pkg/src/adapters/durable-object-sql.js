// A Durable Object's SQLite storage as a `kv` host (wit/simply-mcp-oauth.wit):
// the store each OAuthStorageObject runs the provider's storage operations on.
//
// Every call is synchronous SQL (`ctx.storage.sql`), and `commit` runs its
// checks and writes inside `transactionSync`, so it is atomic and all or
// nothing even if a statement throws. Versions come from one counter per
// object, seeded from the table when the object starts: a versioned read and
// the commit that checks it always run in one operation of one instance, so
// a version is never compared across restarts.

const TABLE = 'simply_mcp_oauth_kv';
/** How often the object's alarm drops expired rows. */
const SWEEP_INTERVAL_MS = 60 * 60 * 1000;

export class DurableObjectSqlHost {
  /** @param storage the object's `ctx.storage` (a SQLite-backed Durable Object) */
  constructor(storage) {
    if (!storage?.sql || typeof storage.transactionSync !== 'function') {
      throw new TypeError('DurableObjectSqlHost needs the ctx.storage of a SQLite-backed Durable Object (new_sqlite_classes)');
    }
    this.storage = storage;
    this.sql = storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (
      key TEXT PRIMARY KEY, value TEXT NOT NULL, version INTEGER NOT NULL, expires_at INTEGER NOT NULL)`);
    this.lastVersion = this.sql.exec(`SELECT coalesce(max(version), 0) AS v FROM ${TABLE}`).one().v;
    this.alarmSet = false;
  }

  capabilities() {
    return { atomic: true, minTtlSeconds: 1, consistentReads: true };
  }

  #row(key) {
    const [row] = this.sql.exec(`SELECT value, version, expires_at FROM ${TABLE} WHERE key = ?`, key).toArray();
    return row && (row.expires_at === 0 || row.expires_at > Date.now()) ? row : null;
  }

  get(key) {
    return this.#row(key)?.value ?? null;
  }

  getVersioned(key) {
    const row = this.#row(key);
    return row ? { value: row.value, version: String(row.version) } : null;
  }

  put(key, value, ttlSeconds) {
    this.#set(key, value, ttlSeconds);
  }

  delete(key) {
    this.sql.exec(`DELETE FROM ${TABLE} WHERE key = ?`, key);
  }

  list(prefix, cursor, limit) {
    const rows = this.sql
      .exec(
        `SELECT key FROM ${TABLE} WHERE key >= ? AND key < ? AND key > ? AND (expires_at = 0 OR expires_at > ?)
         ORDER BY key LIMIT ?`,
        prefix, prefix + '\u{10FFFF}', cursor ?? '', Date.now(), limit + 1,
      )
      .toArray();
    const keys = rows.slice(0, limit).map((row) => row.key);
    return { keys, cursor: rows.length > limit ? keys[keys.length - 1] : null };
  }

  commit(checks, mutations) {
    return this.storage.transactionSync(() => {
      for (const { key, version } of checks) {
        const row = this.#row(key);
        if ((row ? String(row.version) : null) !== version) return false;
      }
      for (const mutation of mutations) {
        if (mutation.type === 'set') this.#set(mutation.key, mutation.value, mutation.ttlSeconds);
        else this.delete(mutation.key);
      }
      return true;
    });
  }

  /** Drops expired rows; the object's alarm calls it. Returns how many. */
  sweepExpired() {
    const now = Date.now();
    const { rowsWritten } = this.sql.exec(`DELETE FROM ${TABLE} WHERE expires_at != 0 AND expires_at <= ?`, now);
    const [next] = this.sql.exec(`SELECT 1 FROM ${TABLE} WHERE expires_at != 0 LIMIT 1`).toArray();
    this.alarmSet = false;
    if (next) this.#scheduleSweep();
    return rowsWritten;
  }

  #set(key, value, ttlSeconds) {
    const expiresAt = ttlSeconds > 0 ? Date.now() + ttlSeconds * 1000 : 0;
    this.sql.exec(
      `INSERT INTO ${TABLE} (key, value, version, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at`,
      key, value, ++this.lastVersion, expiresAt,
    );
    if (expiresAt) this.#scheduleSweep();
  }

  // One alarm per object: set once per instance (the output gate holds the
  // reply until it is stored), then re-armed by each sweep that leaves rows.
  #scheduleSweep() {
    if (this.alarmSet) return;
    this.alarmSet = true;
    this.storage.setAlarm(Date.now() + SWEEP_INTERVAL_MS);
  }
}
