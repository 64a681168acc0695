//! [`RedisConfig`]: the seed's `RedisStorage` options, from code, a URL or the environment.

use std::path::PathBuf;

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
/// // TLS with an ACL user; a private CA from a PEM file:
/// let mut config = RedisConfig::from_url("rediss://app:secret@cache.internal:6380").unwrap();
/// config.tls_ca_file = Some("/etc/redis/ca.pem".into());
/// assert!(config.tls);
/// assert_eq!(config.username.as_deref(), Some("app"));
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
    /// ACL user name (Redis 6+; `AUTH <username> <password>`). `None`: the
    /// `default` user. Needs a password.
    pub username: Option<String>,
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
    /// TLS (`rediss://`, `REDIS_TLS`), through rustls. The server's
    /// certificate is checked against `tls_ca_file` when set, else against the
    /// public web roots (webpki-roots, Mozilla's list; not the system store),
    /// and must name `host`. Never falls back to plaintext.
    pub tls: bool,
    /// A PEM file of the CA certificate(s) that sign the server's certificate
    /// (`REDIS_TLS_CA_FILE`); replaces the public roots. Read by `connect()`.
    pub tls_ca_file: Option<PathBuf>,
    /// A PEM file of the client certificate (chain) for mutual TLS
    /// (`REDIS_TLS_CERT_FILE`); needs `tls_key_file`.
    pub tls_cert_file: Option<PathBuf>,
    /// A PEM file of the client certificate's private key (PKCS#8, PKCS#1 or
    /// SEC1; `REDIS_TLS_KEY_FILE`); needs `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
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
            username: None,
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
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            cluster_nodes: Vec::new(),
        }
    }
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
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
            .field("tls_ca_file", &self.tls_ca_file)
            .field("tls_cert_file", &self.tls_cert_file)
            .field("tls_key_file", &self.tls_key_file)
            .field("cluster_nodes", &self.cluster_nodes)
            .finish()
    }
}

impl RedisConfig {
    /// Options from `redis://[[username]:password@]host[:port][/db]` (or
    /// `rediss://` for TLS), other fields at their defaults. `redis+cluster://`
    /// (`rediss+cluster://` for TLS) `[[username]:password@]host[:port]` names
    /// one seed node of a Redis Cluster. User name and password are
    /// percent-decoded.
    pub fn from_url(url: &str) -> Result<Self, StorageError> {
        let bad = |why: &str| StorageError::Configuration(format!("invalid Redis URL: {why}"));
        let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        let (tls, cluster) = match parsed.scheme() {
            "redis" => (false, false),
            "rediss" => (true, false),
            "redis+cluster" => (false, true),
            "rediss+cluster" => (true, true),
            other => {
                return Err(bad(&format!(
                    "scheme {other:?}, expected redis://, rediss://, redis+cluster:// or rediss+cluster://"
                )))
            }
        };
        let mut config = Self { tls, ..Self::default() };
        if let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) {
            config.host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        }
        config.port = parsed.port().unwrap_or(6379);
        if !parsed.username().is_empty() {
            let decoded =
                percent_decode(parsed.username()).ok_or_else(|| bad("user name is not valid UTF-8"))?;
            config.username = Some(decoded);
        }
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

    /// These options with the address of `url` (host, port, database, TLS,
    /// cluster seed) in place of their own. The URL's user name and password
    /// win when it carries either; a URL without them keeps the ones already
    /// set, so that `REDIS_URL=rediss://host:6380/0` with `REDIS_USERNAME`
    /// and `REDIS_PASSWORD` keeps the secret out of the URL.
    ///
    /// ```
    /// use simply_mcp_oauth::storage::RedisConfig;
    ///
    /// let from_env = RedisConfig { password: Some("env-pw".into()), ..RedisConfig::default() };
    /// let config = from_env.clone().with_url("rediss://cache.internal:6380/0").unwrap();
    /// assert_eq!(config.password.as_deref(), Some("env-pw"));
    /// let config = from_env.with_url("rediss://:url-pw@cache.internal:6380/0").unwrap();
    /// assert_eq!(config.password.as_deref(), Some("url-pw"));
    /// ```
    pub fn with_url(mut self, url: &str) -> Result<Self, StorageError> {
        let address = Self::from_url(url)?;
        self.host = address.host;
        self.port = address.port;
        if address.username.is_some() || address.password.is_some() {
            self.username = address.username;
            self.password = address.password;
        }
        self.db = address.db;
        self.tls = address.tls;
        if !address.cluster_nodes.is_empty() {
            self.cluster_nodes = address.cluster_nodes;
        }
        Ok(self)
    }

    /// Options from `REDIS_HOST`, `REDIS_PORT`, `REDIS_USERNAME`,
    /// `REDIS_PASSWORD`, `REDIS_DB`, `REDIS_KEY_PREFIX`,
    /// `REDIS_CONNECTION_TIMEOUT`, `REDIS_RETRY_ATTEMPTS`, `REDIS_RETRY_DELAY`,
    /// `REDIS_CLUSTER_NODES` (`host:port,host:port`), `REDIS_TLS`
    /// (`true`/`false`) and `REDIS_TLS_CA_FILE`, `REDIS_TLS_CERT_FILE`,
    /// `REDIS_TLS_KEY_FILE` (paths; any of them turns TLS on); unset (or
    /// empty) variables keep their defaults.
    pub fn from_env() -> Result<Self, StorageError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any lookup (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, StorageError> {
        let mut config = Self::default();
        if let Some(host) = lookup("REDIS_HOST") {
            config.host = host;
        }
        if let Some(username) = lookup("REDIS_USERNAME").filter(|u| !u.is_empty()) {
            config.username = Some(username);
        }
        if let Some(password) = lookup("REDIS_PASSWORD").filter(|p| !p.is_empty()) {
            config.password = Some(password);
        }
        let path = |name: &str| lookup(name).filter(|p| !p.is_empty()).map(PathBuf::from);
        config.tls_ca_file = path("REDIS_TLS_CA_FILE");
        config.tls_cert_file = path("REDIS_TLS_CERT_FILE");
        config.tls_key_file = path("REDIS_TLS_KEY_FILE");
        config.tls = config.has_tls_files();
        if let Some(text) = lookup("REDIS_TLS").filter(|t| !t.trim().is_empty()) {
            config.tls = match text.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" if !config.has_tls_files() => false,
                "0" | "false" | "no" | "off" => {
                    return Err(StorageError::Configuration(format!(
                        "REDIS_TLS={text:?} but a REDIS_TLS_* certificate file is set"
                    )))
                }
                _ => {
                    return Err(StorageError::Configuration(format!(
                        "REDIS_TLS={text:?} is not true or false"
                    )))
                }
            };
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

    /// Whether any of the TLS certificate files is set.
    pub fn has_tls_files(&self) -> bool {
        self.tls_ca_file.is_some() || self.tls_cert_file.is_some() || self.tls_key_file.is_some()
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
        assert_eq!((c.username.as_deref(), c.password.as_deref()), (Some("user"), Some("p@ss+w")));
        assert_eq!(c.address(), "[::1]:7000");
        let c = RedisConfig::from_url("redis://:pw@host").unwrap();
        assert_eq!((c.username, c.tls), (None, false));
        let c = RedisConfig::from_url("rediss+cluster://app%2D1:pw@10.0.0.1:7000").unwrap();
        assert_eq!((c.tls, c.username.as_deref()), (true, Some("app-1")));
        assert_eq!(c.cluster_nodes, vec!["10.0.0.1:7000".to_string()]);
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
        assert!(c.username.is_none() && !c.tls && !c.has_tls_files());
        let tls: HashMap<&str, &str> = HashMap::from([
            ("REDIS_USERNAME", "app"),
            ("REDIS_TLS_CA_FILE", "/ca.pem"),
            ("REDIS_TLS_CERT_FILE", "/client.pem"),
            ("REDIS_TLS_KEY_FILE", "/client.key"),
        ]);
        let c = RedisConfig::from_lookup(|k| tls.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.username.as_deref(), Some("app"));
        assert!(c.tls, "a TLS file turns TLS on");
        assert_eq!(
            (c.tls_ca_file.unwrap(), c.tls_cert_file.unwrap(), c.tls_key_file.unwrap()),
            ("/ca.pem".into(), "/client.pem".into(), "/client.key".into())
        );
        let flag = |value: &'static str| move |k: &str| (k == "REDIS_TLS").then(|| value.to_string());
        assert!(RedisConfig::from_lookup(flag("true")).unwrap().tls);
        assert!(!RedisConfig::from_lookup(flag("0")).unwrap().tls);
        assert!(RedisConfig::from_lookup(flag("maybe")).unwrap_err().to_string().contains("REDIS_TLS"));
        let off_with_a_file = |k: &str| match k {
            "REDIS_TLS" => Some("false".to_string()),
            "REDIS_TLS_CA_FILE" => Some("/ca.pem".to_string()),
            _ => None,
        };
        assert!(RedisConfig::from_lookup(off_with_a_file).is_err(), "never plaintext with a CA file");
        let err = RedisConfig::from_lookup(|k| (k == "REDIS_PORT").then(|| "http".to_string())).unwrap_err();
        assert!(err.to_string().contains("REDIS_PORT"), "{err}");
    }

    #[test]
    fn a_url_without_credentials_keeps_the_separate_ones() {
        let separate = RedisConfig {
            username: Some("app".into()),
            password: Some("env-pw".into()),
            host: "env-host".into(),
            ..RedisConfig::default()
        };
        let c = separate.clone().with_url("rediss://cache.internal:6380/0").unwrap();
        assert_eq!((c.username.as_deref(), c.password.as_deref()), (Some("app"), Some("env-pw")));
        assert_eq!((c.host.as_str(), c.port, c.db, c.tls), ("cache.internal", 6380, 0, true));
        let c = separate.clone().with_url("redis://url-user:url-pw@cache.internal").unwrap();
        assert_eq!((c.username.as_deref(), c.password.as_deref()), (Some("url-user"), Some("url-pw")));
        // A URL with a password alone names the default user: both come from it.
        let c = separate.clone().with_url("redis://:url-pw@cache.internal").unwrap();
        assert_eq!((c.username, c.password.as_deref()), (None, Some("url-pw")));
        let c = separate.with_url("redis+cluster://10.0.0.1:7000").unwrap();
        assert_eq!((c.password.as_deref(), c.cluster_nodes.len()), (Some("env-pw"), 1));
    }

    #[test]
    fn backoff_doubles_within_the_limit() {
        let c = RedisConfig::default();
        let delays: Vec<u64> = (1..=6).map(|a| c.retry_delay(a)).collect();
        assert_eq!(delays, vec![1000, 2000, 4000, 8000, 10_000, 10_000]);
        assert_eq!(c.retry_delay(200), 10_000);
    }
}
