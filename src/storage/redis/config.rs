//! [`RedisConfig`]: the seed's `RedisStorage` options, from code, a URL or the environment.

use crate::config::DEFAULT_KEY_PREFIX;
use crate::storage::StorageError;

/// How to reach Redis (the seed's `RedisStorage` options, in snake_case).
///
/// ```
/// use simply_mcp_oauth::storage::RedisConfig;
///
/// let config = RedisConfig::from_url("redis://:pw@cache.internal:6380/2").unwrap();
/// assert_eq!((config.host.as_str(), config.port, config.db), ("cache.internal", 6380, 2));
/// assert_eq!(config.password.as_deref(), Some("pw"));
/// assert_eq!(config.key_prefix, "oauth:");
///
/// // A Redis Cluster, discovered from one or more seed nodes:
/// let config = RedisConfig::from_url("redis+cluster://10.0.0.1:7000").unwrap();
/// assert_eq!(config.cluster_nodes, vec!["10.0.0.1:7000".to_string()]);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// Host name or address (default `127.0.0.1`).
    pub host: String,
    /// TCP port (default 6379).
    pub port: u16,
    /// Password (`AUTH`), if the server requires one.
    pub password: Option<String>,
    /// Database number (default 0).
    pub db: i64,
    /// Prefix of every key (default `oauth:`); two prefixes on one Redis share nothing.
    pub key_prefix: String,
    /// Connection attempts before `connect()` gives up (default 5).
    pub connection_retry_attempts: u32,
    /// First delay between attempts, in ms; doubles on each attempt (default 1000).
    pub connection_retry_delay: u64,
    /// Longest delay between attempts, in ms (default 10000).
    pub max_retry_delay: u64,
    /// Bound on connecting and on every command, in ms (default 5000).
    pub connection_timeout: u64,
    /// A name for health reports (default `RedisStorage`).
    pub name: String,
    /// Log connection attempts to stderr.
    pub debug: bool,
    /// `rediss://`: TLS. Not compiled into this build: `connect()` refuses it.
    pub tls: bool,
    /// Seed nodes (`host:port`) of a Redis Cluster. Empty (the default): one
    /// server at `host:port`. Set: a cluster discovered from these nodes;
    /// `host`, `port` and `db` are not used (a cluster has only database 0).
    /// From a `redis+cluster://host:port` URL or `REDIS_CLUSTER_NODES`
    /// (comma-separated).
    pub cluster_nodes: Vec<String>,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 6379,
            password: None,
            db: 0,
            key_prefix: DEFAULT_KEY_PREFIX.into(),
            connection_retry_attempts: 5,
            connection_retry_delay: 1000,
            max_retry_delay: 10_000,
            connection_timeout: 5000,
            name: "RedisStorage".into(),
            debug: false,
            tls: false,
            cluster_nodes: Vec::new(),
        }
    }
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("db", &self.db)
            .field("key_prefix", &self.key_prefix)
            .field("connection_retry_attempts", &self.connection_retry_attempts)
            .field("connection_retry_delay", &self.connection_retry_delay)
            .field("max_retry_delay", &self.max_retry_delay)
            .field("connection_timeout", &self.connection_timeout)
            .field("name", &self.name)
            .field("debug", &self.debug)
            .field("tls", &self.tls)
            .field("cluster_nodes", &self.cluster_nodes)
            .finish()
    }
}

impl RedisConfig {
    /// Options from `redis://[user][:password@]host[:port][/db]` (or
    /// `rediss://`), other fields at their defaults. `redis+cluster://
    /// [:password@]host[:port]` names one seed node of a Redis Cluster.
    pub fn from_url(url: &str) -> Result<Self, StorageError> {
        let bad = |why: &str| StorageError::Configuration(format!("invalid Redis URL: {why}"));
        let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        let (tls, cluster) = match parsed.scheme() {
            "redis" => (false, false),
            "rediss" => (true, false),
            "redis+cluster" => (false, true),
            other => {
                return Err(bad(&format!(
                    "scheme {other:?}, expected redis://, rediss:// or redis+cluster://"
                )))
            }
        };
        let mut config = Self { tls, ..Self::default() };
        if let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) {
            config.host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        }
        config.port = parsed.port().unwrap_or(6379);
        if let Some(password) = parsed.password() {
            let decoded = percent_decode(password).ok_or_else(|| bad("password is not valid UTF-8"))?;
            config.password = Some(decoded);
        }
        let path = parsed.path().trim_matches('/');
        if !path.is_empty() {
            config.db = path.parse().map_err(|_| bad(&format!("database {path:?} is not a number")))?;
        }
        if cluster {
            config.cluster_nodes = vec![config.address()];
        }
        Ok(config)
    }

    /// Options from `REDIS_HOST`, `REDIS_PORT`, `REDIS_PASSWORD`, `REDIS_DB`,
    /// `REDIS_KEY_PREFIX`, `REDIS_CONNECTION_TIMEOUT`, `REDIS_RETRY_ATTEMPTS`,
    /// `REDIS_RETRY_DELAY` and `REDIS_CLUSTER_NODES` (`host:port,host:port`);
    /// unset variables keep their defaults.
    pub fn from_env() -> Result<Self, StorageError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any lookup (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, StorageError> {
        let mut config = Self::default();
        if let Some(host) = lookup("REDIS_HOST") {
            config.host = host;
        }
        if let Some(password) = lookup("REDIS_PASSWORD").filter(|p| !p.is_empty()) {
            config.password = Some(password);
        }
        if let Some(prefix) = lookup("REDIS_KEY_PREFIX") {
            config.key_prefix = prefix;
        }
        parse_var(&lookup, "REDIS_PORT", &mut config.port)?;
        parse_var(&lookup, "REDIS_DB", &mut config.db)?;
        parse_var(&lookup, "REDIS_CONNECTION_TIMEOUT", &mut config.connection_timeout)?;
        parse_var(&lookup, "REDIS_RETRY_ATTEMPTS", &mut config.connection_retry_attempts)?;
        parse_var(&lookup, "REDIS_RETRY_DELAY", &mut config.connection_retry_delay)?;
        if let Some(nodes) = lookup("REDIS_CLUSTER_NODES") {
            config.cluster_nodes =
                nodes.split(',').map(str::trim).filter(|n| !n.is_empty()).map(String::from).collect();
        }
        Ok(config)
    }

    /// `host:port` (or `cluster <seed>,<seed>`), as error messages show it.
    pub fn address(&self) -> String {
        if !self.cluster_nodes.is_empty() {
            return format!("cluster {}", self.cluster_nodes.join(","));
        }
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The delay before retry number `attempt` (1-based), in ms: exponential, capped.
    pub fn retry_delay(&self, attempt: u32) -> u64 {
        let factor = 1u64.checked_shl(attempt.saturating_sub(1)).unwrap_or(u64::MAX);
        self.connection_retry_delay.saturating_mul(factor).min(self.max_retry_delay)
    }
}

fn parse_var<T: std::str::FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    into: &mut T,
) -> Result<(), StorageError> {
    if let Some(text) = lookup(name) {
        *into = text.trim().parse().map_err(|_| {
            StorageError::Configuration(format!(
                "{name}={text:?} is not a valid {}",
                std::any::type_name::<T>()
            ))
        })?;
    }
    Ok(())
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes: Vec<u8> = form_urlencoded::parse(format!("p={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned().into_bytes())?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_are_the_seeds() {
        let c = RedisConfig::default();
        assert_eq!((c.host.as_str(), c.port, c.db, c.key_prefix.as_str()), ("127.0.0.1", 6379, 0, "oauth:"));
        assert_eq!(
            (c.connection_retry_attempts, c.connection_retry_delay, c.max_retry_delay, c.connection_timeout),
            (5, 1000, 10_000, 5000)
        );
    }

    #[test]
    fn urls() {
        let c = RedisConfig::from_url("redis://localhost").unwrap();
        assert_eq!((c.host.as_str(), c.port, c.db, c.password), ("localhost", 6379, 0, None));
        let c = RedisConfig::from_url("rediss://user:p%40ss+w@[::1]:7000/3").unwrap();
        assert_eq!((c.host.as_str(), c.port, c.db, c.tls), ("::1", 7000, 3, true));
        assert_eq!(c.password.as_deref(), Some("p@ss+w"));
        assert_eq!(c.address(), "[::1]:7000");
        assert!(format!("{c:?}").contains("<redacted>") && !format!("{c:?}").contains("p@ss"));
        let c = RedisConfig::from_url("redis+cluster://:pw@10.0.0.1:7000").unwrap();
        assert_eq!((c.cluster_nodes, c.password.as_deref()), (vec!["10.0.0.1:7000".to_string()], Some("pw")));
        for bad in ["http://x", "redis://x/abc", "not a url"] {
            assert!(matches!(RedisConfig::from_url(bad), Err(StorageError::Configuration(_))), "{bad}");
        }
    }

    #[test]
    fn environment() {
        let vars: HashMap<&str, &str> = HashMap::from([
            ("REDIS_HOST", "redis.internal"),
            ("REDIS_PORT", "6380"),
            ("REDIS_PASSWORD", "pw"),
            ("REDIS_DB", "4"),
            ("REDIS_KEY_PREFIX", "app:"),
            ("REDIS_CONNECTION_TIMEOUT", "250"),
            ("REDIS_RETRY_ATTEMPTS", "2"),
            ("REDIS_RETRY_DELAY", "10"),
            ("REDIS_CLUSTER_NODES", "n1:7000, n2:7001,"),
        ]);
        let c = RedisConfig::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.db, c.key_prefix.as_str()),
            ("redis.internal", 6380, 4, "app:")
        );
        assert_eq!(
            (c.connection_timeout, c.connection_retry_attempts, c.connection_retry_delay),
            (250, 2, 10)
        );
        assert_eq!(c.password.as_deref(), Some("pw"));
        assert_eq!(c.cluster_nodes, vec!["n1:7000", "n2:7001"]);
        assert_eq!(c.address(), "cluster n1:7000,n2:7001");
        let err = RedisConfig::from_lookup(|k| (k == "REDIS_PORT").then(|| "http".to_string())).unwrap_err();
        assert!(err.to_string().contains("REDIS_PORT"), "{err}");
    }

    #[test]
    fn backoff_doubles_within_the_limit() {
        let c = RedisConfig::default();
        let delays: Vec<u64> = (1..=6).map(|a| c.retry_delay(a)).collect();
        assert_eq!(delays, vec![1000, 2000, 4000, 8000, 10_000, 10_000]);
        assert_eq!(c.retry_delay(200), 10_000);
    }
}
