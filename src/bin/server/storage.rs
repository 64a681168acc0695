//! Opening the store the options ask for, and the metadata-document fetcher.

use std::sync::Arc;

use simply_mcp_oauth::cimd::native::{FetchOptions, SafeFetcher};
use simply_mcp_oauth::cimd::MetadataFetcher;
use simply_mcp_oauth::{MemoryStorage, Storage};

use crate::cli::{Options, StorageKind};

/// A failure to start: the message and the exit status (2 for a
/// configuration error, 1 when Redis stays unreachable after `connect()`'s
/// retries).
pub type StartError = (String, u8);

/// The store the options ask for, and how to describe it (no password).
pub async fn open_storage(options: &Options) -> Result<(Arc<dyn Storage>, String), StartError> {
    match options.storage_kind(|name| std::env::var(name).ok()) {
        StorageKind::Memory => Ok((Arc::new(MemoryStorage::new()), "memory".into())),
        StorageKind::Redis => open_redis(options).await,
    }
}

#[cfg(feature = "redis")]
async fn open_redis(options: &Options) -> Result<(Arc<dyn Storage>, String), StartError> {
    use simply_mcp_oauth::storage::{RedisStorage, StorageError};
    let mut config = redis_config(options.redis_url.as_deref(), |name| std::env::var(name).ok())
        .map_err(|e| (e.to_string(), 2))?;
    // The seed's `debug: true` on its Redis storage: connection attempts logged.
    config.debug |= options.debug;
    let described = format!("redis at {} (key prefix {:?})", config.address(), config.key_prefix);
    match RedisStorage::connect(config).await {
        Ok(storage) => Ok((Arc::new(storage), described)),
        Err(error @ StorageError::Configuration(_)) => Err((error.to_string(), 2)),
        Err(error) => Err((error.to_string(), 1)),
    }
}

/// The seed's `REDIS_*` variables, with the address (host, port, database,
/// TLS, cluster) taken from `url` when there is one, and its user name and
/// password when it carries them (else `REDIS_USERNAME` / `REDIS_PASSWORD`
/// apply). The TLS files come from the variables either way; with a
/// `redis://` URL they are refused at connect (a URL never turns TLS off
/// silently).
#[cfg(feature = "redis")]
fn redis_config(
    url: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<simply_mcp_oauth::storage::RedisConfig, simply_mcp_oauth::storage::StorageError> {
    let config = simply_mcp_oauth::storage::RedisConfig::from_lookup(env)?;
    match url {
        Some(url) => config.with_url(url),
        None => Ok(config),
    }
}

#[cfg(not(feature = "redis"))]
async fn open_redis(_options: &Options) -> Result<(Arc<dyn Storage>, String), StartError> {
    Err((NO_REDIS.to_string(), 2))
}

#[cfg(not(feature = "redis"))]
const NO_REDIS: &str =
    "Redis storage needs a build with the `redis` feature (cargo build --features server,redis)";

/// The SSRF-safe fetcher of Client ID Metadata Documents, with the loopback
/// switch and the extra CA of the options.
pub fn metadata_fetcher(options: &Options) -> Result<Arc<dyn MetadataFetcher>, String> {
    let extra_ca_pem = match &options.cimd_ca_file {
        Some(path) => {
            Some(std::fs::read(path).map_err(|e| format!("cannot read the CIMD CA file {path}: {e}"))?)
        }
        None => None,
    };
    let fetch_options =
        FetchOptions { allow_loopback: options.cimd_allow_loopback, extra_ca_pem, ..FetchOptions::default() };
    let fetcher = SafeFetcher::new(fetch_options).map_err(|e| e.to_string())?;
    Ok(Arc::new(fetcher))
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn options(list: &[&str]) -> Options {
        Options::try_parse_from(std::iter::once("simply-mcp-oauth-server").chain(list.iter().copied()))
            .unwrap()
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let missing = options(&["--cimd-ca-file", "/nonexistent/ca.pem"]);
        assert!(metadata_fetcher(&missing).err().unwrap().contains("CA file"));
    }

    #[cfg(feature = "redis")]
    #[test]
    fn a_url_wins_over_the_address_variables() {
        let env = |name: &str| match name {
            "REDIS_HOST" => Some("from-env".to_string()),
            "REDIS_PASSWORD" => Some("env-pw".to_string()),
            "REDIS_KEY_PREFIX" => Some("app:".to_string()),
            "REDIS_CONNECTION_TIMEOUT" => Some("250".to_string()),
            _ => None,
        };
        let c = redis_config(Some("redis://url-host:7000/3"), env).unwrap();
        assert_eq!((c.host.as_str(), c.port, c.db), ("url-host", 7000, 3));
        assert_eq!(c.password.as_deref(), Some("env-pw"), "a URL without credentials keeps REDIS_PASSWORD");
        assert_eq!((c.key_prefix.as_str(), c.connection_timeout), ("app:", 250));
        let c = redis_config(None, env).unwrap();
        assert_eq!((c.host.as_str(), c.password.as_deref()), ("from-env", Some("env-pw")));
        assert!(redis_config(Some("http://x"), env).is_err());
    }

    #[cfg(feature = "redis")]
    #[test]
    fn tls_and_the_acl_user_from_the_url_or_the_variables() {
        let env = |name: &str| match name {
            "REDIS_USERNAME" => Some("env-user".to_string()),
            "REDIS_PASSWORD" => Some("env-pw".to_string()),
            "REDIS_TLS_CA_FILE" => Some("/etc/ca.pem".to_string()),
            _ => None,
        };
        let c = redis_config(Some("rediss://app:pw@url-host:6380"), env).unwrap();
        assert_eq!((c.username.as_deref(), c.password.as_deref(), c.tls), (Some("app"), Some("pw"), true));
        assert_eq!(c.tls_ca_file.as_deref(), Some(std::path::Path::new("/etc/ca.pem")));
        let c = redis_config(None, env).unwrap();
        assert_eq!((c.username.as_deref(), c.password.as_deref()), (Some("env-user"), Some("env-pw")));
        assert!(c.tls, "a TLS file turns TLS on without a URL");
        let c = redis_config(Some("redis://url-host"), env).unwrap();
        assert!(!c.tls && c.tls_ca_file.is_some(), "refused at connect, never downgraded");
        let c = redis_config(Some("rediss://url-host:6380/0"), env).unwrap();
        assert_eq!((c.username.as_deref(), c.password.as_deref()), (Some("env-user"), Some("env-pw")));
    }

    #[cfg(not(feature = "redis"))]
    #[tokio::test]
    async fn redis_without_the_feature_is_a_usage_error() {
        let options = options(&["--storage", "redis"]);
        let Err((message, code)) = open_storage(&options).await else { panic!("no Redis in this build") };
        assert_eq!(code, 2);
        assert!(message.contains("`redis` feature"), "{message}");
    }
}
