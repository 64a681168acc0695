//! `SqliteKvHost`: the seven calls of `KvHost` on one SQLite table. Atomic:
//! `commit` checks the versions and writes inside one immediate transaction.
//! Consistent: there is one database. TTLs: a row past its `expires_at` reads
//! as absent everywhere and is deleted by the next write of its key.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use simply_mcp_oauth::storage::{KvCapabilities, KvCheck, KvError, KvHost, KvMutation, KvPage, Versioned};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS kv (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        version INTEGER NOT NULL,
        expires_at INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS kv_expiry ON kv (expires_at) WHERE expires_at IS NOT NULL;
    CREATE TABLE IF NOT EXISTS kv_version (last INTEGER NOT NULL);
    INSERT INTO kv_version SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM kv_version);
";

/// Rows visible at `?now`: no expiry, or not yet reached.
const LIVE: &str = "(expires_at IS NULL OR expires_at > ?1)";

/// A key-value host on a SQLite database. The connection is behind a mutex:
/// SQLite runs one writer at a time anyway, and each call is short.
pub struct SqliteKvHost {
    db: Mutex<Connection>,
    /// Seconds added to the system clock: moved by tests of expiry only.
    clock_offset: AtomicI64,
}

impl SqliteKvHost {
    /// A host on the database file at `path` (created if missing).
    pub fn open(path: &str) -> rusqlite::Result<Self> {
        Self::with(Connection::open(path)?)
    }

    /// A host on a fresh private in-memory database (for the tests).
    #[cfg(test)]
    pub fn in_memory() -> rusqlite::Result<Self> {
        Self::with(Connection::open_in_memory()?)
    }

    fn with(db: Connection) -> rusqlite::Result<Self> {
        db.execute_batch(SCHEMA)?;
        Ok(Self { db: Mutex::new(db), clock_offset: AtomicI64::new(0) })
    }

    /// The host's clock, Unix seconds.
    fn now(&self) -> i64 {
        let system = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        system + self.clock_offset.load(Ordering::Relaxed)
    }

    fn db(&self) -> Result<MutexGuard<'_, Connection>, KvError> {
        self.db.lock().map_err(|_| KvError::Unavailable("the database lock is poisoned".into()))
    }
}

fn unavailable(error: rusqlite::Error) -> KvError {
    KvError::Unavailable(format!("sqlite: {error}"))
}

/// The value and version of `key` if it is live at `now`.
fn read(db: &Connection, key: &str, now: i64) -> rusqlite::Result<Option<(String, i64)>> {
    db.query_row(
        &format!("SELECT value, version FROM kv WHERE key = ?2 AND {LIVE}"),
        params![now, key],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .optional()
}

/// Writes or deletes one key under a new version (inside the caller's transaction).
fn apply(db: &Connection, mutation: &KvMutation, now: i64) -> rusqlite::Result<()> {
    match mutation {
        KvMutation::Set { key, value, ttl_seconds } => {
            let version: i64 =
                db.query_row("UPDATE kv_version SET last = last + 1 RETURNING last", [], |row| row.get(0))?;
            let expires_at = (*ttl_seconds > 0).then(|| now + *ttl_seconds as i64);
            db.execute(
                "INSERT OR REPLACE INTO kv (key, value, version, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![key, value, version, expires_at],
            )?;
        }
        KvMutation::Delete { key } => {
            db.execute("DELETE FROM kv WHERE key = ?1", params![key])?;
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl KvHost for SqliteKvHost {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        Ok(self.get_versioned(key).await?.map(|v| v.value))
    }

    async fn put(&self, key: &str, value: &str, ttl_seconds: u64) -> Result<(), KvError> {
        let set = KvMutation::Set { key: key.into(), value: value.into(), ttl_seconds };
        self.commit(&[], &[set]).await.map(drop)
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.commit(&[], &[KvMutation::Delete { key: key.into() }]).await.map(drop)
    }

    /// Keys in order; the cursor is the last key of the page.
    async fn list(&self, prefix: &str, cursor: Option<String>, limit: u32) -> Result<KvPage, KvError> {
        let db = self.db()?;
        let mut statement = db
            .prepare_cached(&format!(
                "SELECT key FROM kv WHERE substr(key, 1, length(?2)) = ?2 AND key > ?3 AND {LIVE}
                 ORDER BY key LIMIT ?4"
            ))
            .map_err(unavailable)?;
        let after = cursor.unwrap_or_default();
        let rows = statement
            .query_map(params![self.now(), prefix, after, i64::from(limit) + 1], |row| {
                row.get::<_, String>(0)
            })
            .map_err(unavailable)?;
        let mut keys = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(unavailable)?;
        let more = keys.len() > limit as usize;
        keys.truncate(limit as usize);
        let cursor = if more { keys.last().cloned() } else { None };
        Ok(KvPage { keys, cursor })
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<Versioned>, KvError> {
        let read = read(&*self.db()?, key, self.now()).map_err(unavailable)?;
        Ok(read.map(|(value, version)| Versioned { value, version: version.to_string() }))
    }

    /// One immediate transaction: no other writer between the checks and the writes.
    async fn commit(&self, checks: &[KvCheck], mutations: &[KvMutation]) -> Result<bool, KvError> {
        let now = self.now();
        let mut db = self.db()?;
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
        for check in checks {
            let version = read(&tx, &check.key, now).map_err(unavailable)?.map(|(_, v)| v.to_string());
            if version != check.version {
                return Ok(false); // dropping `tx` rolls back
            }
        }
        tx.execute("DELETE FROM kv WHERE expires_at <= ?1", params![now]).map_err(unavailable)?;
        for mutation in mutations {
            apply(&tx, mutation, now).map_err(unavailable)?;
        }
        tx.commit().map_err(unavailable)?;
        Ok(true)
    }

    fn capabilities(&self) -> KvCapabilities {
        KvCapabilities { atomic: true, min_ttl_seconds: 1, consistent_reads: true }
    }
}

/// The host's own promises, beyond what the suite reaches through `KvStorage`:
/// pages by prefix and cursor, expiry by TTL, versions that change on write.
#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
    }

    #[test]
    fn lists_by_prefix_page_by_page() {
        block_on(async {
            let host = SqliteKvHost::in_memory().unwrap();
            for key in ["a:3", "a:1", "b:1", "a:2", "a_x"] {
                host.put(key, "v", 0).await.unwrap();
            }
            let first = host.list("a:", None, 2).await.unwrap();
            assert_eq!(first.keys, ["a:1", "a:2"]);
            let second = host.list("a:", first.cursor, 2).await.unwrap();
            assert_eq!((second.keys, second.cursor), (vec!["a:3".to_string()], None));
            assert_eq!(host.list("a_", None, 10).await.unwrap().keys, ["a_x"], "`_` is no wildcard");
        });
    }

    #[test]
    fn entries_expire_after_their_ttl() {
        block_on(async {
            let host = SqliteKvHost::in_memory().unwrap();
            host.put("short", "s", 60).await.unwrap();
            host.put("forever", "f", 0).await.unwrap();
            host.clock_offset.store(30, Ordering::Relaxed);
            assert_eq!(host.get("short").await.unwrap().as_deref(), Some("s"));
            host.clock_offset.store(61, Ordering::Relaxed);
            assert_eq!(host.get("short").await.unwrap(), None);
            assert_eq!(host.list("", None, 10).await.unwrap().keys, ["forever"]);
            let absent = KvCheck { key: "short".into(), version: None };
            assert!(host.commit(&[absent], &[]).await.unwrap(), "an expired key counts as absent");
        });
    }

    #[test]
    fn a_commit_applies_only_on_the_versions_it_read() {
        block_on(async {
            let host = SqliteKvHost::in_memory().unwrap();
            host.put("k", "1", 0).await.unwrap();
            let read = host.get_versioned("k").await.unwrap().unwrap();
            let checked = || vec![KvCheck { key: "k".into(), version: Some(read.version.clone()) }];
            let set =
                |value: &str| vec![KvMutation::Set { key: "k".into(), value: value.into(), ttl_seconds: 0 }];
            assert!(host.commit(&checked(), &set("2")).await.unwrap());
            assert!(!host.commit(&checked(), &set("3")).await.unwrap(), "the version moved on");
            assert_eq!(host.get("k").await.unwrap().as_deref(), Some("2"));
        });
    }
}
