//! `simply-mcp-oauth-server`: the demo authorization server with a protected
//! MCP endpoint, in memory or (feature `redis`) in Redis. See `--help`.

use std::future::{Future, IntoFuture as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use simply_mcp_oauth::cimd::native::{FetchOptions, SafeFetcher};
use simply_mcp_oauth::cimd::MetadataFetcher;
use simply_mcp_oauth::http::OAuthHttp;
use simply_mcp_oauth::server::demo::{demo_router, spawn_sweeper, MCP_SCOPE, SWEEP_INTERVAL};
use simply_mcp_oauth::{ClientConfig, MemoryStorage, Provider, ProviderConfig, Storage};

/// The configured public client, for trying the flow by hand.
const DEMO_CLIENT_ID: &str = "demo-client";
/// How long open connections may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

const HELP: &str = "\
simply-mcp-oauth-server: a demo OAuth 2.1 authorization server for MCP, with a
protected MCP endpoint at /mcp. Storage is in memory, or in Redis (builds with
the `redis` feature). Everyone who approves the consent page is signed in as
the single user `demo-user`, with no password.

USAGE:
    simply-mcp-oauth-server [OPTIONS]

OPTIONS (each also read from the environment variable shown; flags win):
    --bind <ADDR>                      SIMPLY_MCP_OAUTH_BIND
        Address to listen on [default: 127.0.0.1:8080]; port 0 picks a free port.
    --issuer <URL>                     SIMPLY_MCP_OAUTH_ISSUER
        Issuer URL [default: http://<bound address>]; https, or http on loopback.
    --token-expiration <SECONDS>       SIMPLY_MCP_OAUTH_TOKEN_EXPIRATION
        Access token lifetime [default: 3600].
    --refresh-token-expiration <SECONDS>  SIMPLY_MCP_OAUTH_REFRESH_TOKEN_EXPIRATION
        Refresh token lifetime [default: 86400].
    --code-expiration <SECONDS>        SIMPLY_MCP_OAUTH_CODE_EXPIRATION
        Authorization code lifetime [default: 600].
    --storage <memory|redis>           SIMPLY_MCP_OAUTH_STORAGE
        Where clients, grants and tokens live [default: redis when a Redis URL
        or REDIS_HOST is set, memory otherwise].
    --redis-url <URL>                  REDIS_URL
        redis://[[user]:password@]host[:port][/db], or rediss://... for TLS.
        Without a URL, Redis is reached by REDIS_HOST, REDIS_PORT,
        REDIS_USERNAME, REDIS_PASSWORD, REDIS_DB and REDIS_TLS; a URL wins over
        them. REDIS_KEY_PREFIX, REDIS_CONNECTION_TIMEOUT, REDIS_RETRY_ATTEMPTS,
        REDIS_RETRY_DELAY and the TLS files REDIS_TLS_CA_FILE (PEM CA instead
        of the public roots), REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE (PEM
        client certificate and key) apply either way. A build without the
        `redis` feature refuses Redis storage (exit status 2).
    --cimd-allow-loopback              SIMPLY_MCP_OAUTH_CIMD_ALLOW_LOOPBACK=1
        Development only: accept Client ID Metadata Document URLs on loopback
        hosts (http or https on localhost, 127.0.0.0/8, [::1]). Off by default.
    --cimd-ca-file <PATH>              SIMPLY_MCP_OAUTH_CIMD_CA_FILE
        A PEM CA certificate trusted, besides the public roots, when fetching
        metadata documents (for https documents on loopback in tests).
    -h, --help
        Print this help.

Client ids that are https URLs are Client ID Metadata Documents: the server
fetches them (public addresses only, no redirects, 5 KB, 5 s) and caches them.

A public client `demo-client` is configured with the redirect URIs
http://127.0.0.1/callback and http://localhost/callback (any port); clients may
also register themselves at /register.
";

/// Settings after flags and environment.
#[derive(Debug, Default, PartialEq)]
struct Options {
    bind: Option<String>,
    issuer: Option<String>,
    token_expiration: Option<u64>,
    refresh_token_expiration: Option<u64>,
    code_expiration: Option<u64>,
    storage: Option<StorageKind>,
    redis_url: Option<String>,
    cimd_allow_loopback: bool,
    cimd_ca_file: Option<String>,
}

/// The `--storage` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StorageKind {
    Memory,
    Redis,
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Run(Options),
}

/// A flag: its name, its environment variable, and where the value goes.
struct Flag {
    name: &'static str,
    env: &'static str,
    set: fn(&mut Options, &str) -> Result<(), String>,
}

const FLAGS: [Flag; 9] = [
    Flag {
        name: "--bind",
        env: "SIMPLY_MCP_OAUTH_BIND",
        set: |o, v| {
            o.bind = Some(v.to_string());
            Ok(())
        },
    },
    Flag {
        name: "--issuer",
        env: "SIMPLY_MCP_OAUTH_ISSUER",
        set: |o, v| {
            o.issuer = Some(v.to_string());
            Ok(())
        },
    },
    Flag {
        name: "--token-expiration",
        env: "SIMPLY_MCP_OAUTH_TOKEN_EXPIRATION",
        set: |o, v| {
            o.token_expiration = Some(seconds(v)?);
            Ok(())
        },
    },
    Flag {
        name: "--refresh-token-expiration",
        env: "SIMPLY_MCP_OAUTH_REFRESH_TOKEN_EXPIRATION",
        set: |o, v| {
            o.refresh_token_expiration = Some(seconds(v)?);
            Ok(())
        },
    },
    Flag {
        name: "--code-expiration",
        env: "SIMPLY_MCP_OAUTH_CODE_EXPIRATION",
        set: |o, v| {
            o.code_expiration = Some(seconds(v)?);
            Ok(())
        },
    },
    Flag {
        name: "--storage",
        env: "SIMPLY_MCP_OAUTH_STORAGE",
        set: |o, v| {
            o.storage = Some(match v.trim() {
                "memory" => StorageKind::Memory,
                "redis" => StorageKind::Redis,
                _ => return Err(format!("expected memory or redis, got {v:?}")),
            });
            Ok(())
        },
    },
    Flag {
        name: "--redis-url",
        env: "REDIS_URL",
        set: |o, v| {
            o.redis_url = Some(v.to_string());
            Ok(())
        },
    },
    Flag {
        name: SWITCH_CIMD_ALLOW_LOOPBACK,
        env: "SIMPLY_MCP_OAUTH_CIMD_ALLOW_LOOPBACK",
        set: |o, v| {
            o.cimd_allow_loopback = match v.trim() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => return Err(format!("expected 1 or 0, got {v:?}")),
            };
            Ok(())
        },
    },
    Flag {
        name: "--cimd-ca-file",
        env: "SIMPLY_MCP_OAUTH_CIMD_CA_FILE",
        set: |o, v| {
            o.cimd_ca_file = Some(v.to_string());
            Ok(())
        },
    },
];

/// The one flag that takes no value: present means on.
const SWITCH_CIMD_ALLOW_LOOPBACK: &str = "--cimd-allow-loopback";

/// The SSRF-safe fetcher of Client ID Metadata Documents, with the loopback
/// switch and the extra CA of the options.
fn metadata_fetcher(options: &Options) -> Result<Arc<dyn MetadataFetcher>, String> {
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

fn seconds(value: &str) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("expected a positive number of seconds, got {value:?}")),
    }
}

/// Environment first, then flags (`--flag value` or `--flag=value`) on top.
fn parse(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command, String> {
    let mut options = Options::default();
    for flag in &FLAGS {
        if let Some(value) = env(flag.env).filter(|v| !v.is_empty()) {
            (flag.set)(&mut options, &value).map_err(|e| format!("{}: {e}", flag.env))?;
        }
    }
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            return Ok(Command::Help);
        }
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (arg.clone(), None),
        };
        let Some(flag) = FLAGS.iter().find(|f| f.name == name) else {
            return Err(format!("unknown argument {arg:?}"));
        };
        let value = match inline {
            Some(value) => value,
            None if name == SWITCH_CIMD_ALLOW_LOOPBACK => "1".to_string(),
            None => args.next().ok_or_else(|| format!("{name} needs a value"))?,
        };
        (flag.set)(&mut options, &value).map_err(|e| format!("{name}: {e}"))?;
    }
    if options.storage.is_none() {
        let redis_named = options.redis_url.is_some() || env("REDIS_HOST").is_some_and(|h| !h.is_empty());
        options.storage = Some(if redis_named { StorageKind::Redis } else { StorageKind::Memory });
    }
    Ok(Command::Run(options))
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1), |name| std::env::var(name).ok()) {
        Ok(Command::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run(options)) => options,
        Err(message) => {
            eprintln!("simply-mcp-oauth-server: {message}\nTry --help.");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("simply-mcp-oauth-server: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(options))
}

async fn run(options: Options) -> ExitCode {
    let fail = |message: String, code: u8| {
        eprintln!("simply-mcp-oauth-server: {message}");
        ExitCode::from(code)
    };
    // Listen for signals before announcing the address, so that a signal sent
    // right after the announcement is never lost.
    let shutdown = match shutdown_signal() {
        Ok(shutdown) => shutdown,
        Err(error) => return fail(format!("cannot install signal handlers: {error}"), 1),
    };
    let bind = options.bind.as_deref().unwrap_or("127.0.0.1:8080");
    let listener = match tokio::net::TcpListener::bind(bind).await {
        Ok(listener) => listener,
        Err(error) => return fail(format!("cannot listen on {bind}: {error}"), 1),
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => return fail(format!("cannot read the bound address: {error}"), 1),
    };
    let issuer = options.issuer.clone().unwrap_or_else(|| format!("http://{address}"));
    let mut config = ProviderConfig {
        clients: vec![ClientConfig {
            client_id: DEMO_CLIENT_ID.into(),
            client_secret: None,
            redirect_uris: vec!["http://127.0.0.1/callback".into(), "http://localhost/callback".into()],
            scopes: vec![MCP_SCOPE.into()],
        }],
        cimd_allow_loopback: options.cimd_allow_loopback,
        ..ProviderConfig::new(issuer)
    };
    if let Some(seconds) = options.token_expiration {
        config.token_expiration = seconds;
    }
    if let Some(seconds) = options.refresh_token_expiration {
        config.refresh_token_expiration = seconds;
    }
    if let Some(seconds) = options.code_expiration {
        config.code_expiration = seconds;
    }
    let hint = if options.issuer.is_none() { " (pass --issuer)" } else { "" };
    let (storage, described) = match open_storage(&options).await {
        Ok(opened) => opened,
        Err((message, code)) => return fail(message, code),
    };
    let fetcher = match metadata_fetcher(&options) {
        Ok(fetcher) => fetcher,
        Err(message) => return fail(message, 2),
    };
    let provider = match Provider::new(config, storage) {
        Ok(provider) => provider.with_metadata_fetcher(fetcher),
        Err(error) => return fail(format!("{error}{hint}"), 2),
    };
    if let Err(error) = provider.initialize().await {
        return fail(error.to_string(), 2);
    }
    let oauth = Arc::new(OAuthHttp::new(provider));
    let app = match demo_router(Arc::clone(&oauth)) {
        Ok(app) => app,
        Err(error) => return fail(error.to_string(), 1),
    };
    let sweeper = spawn_sweeper(Arc::clone(&oauth), SWEEP_INTERVAL);

    println!("listening on http://{address}");
    println!("issuer: {}", oauth.provider().config().issuer);
    println!("demo client: {DEMO_CLIENT_ID}");
    println!("storage: {described}");

    let signalled = Arc::new(tokio::sync::Notify::new());
    let on_signal = Arc::clone(&signalled);
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            eprintln!("simply-mcp-oauth-server: shutting down");
            on_signal.notify_one();
        })
        .into_future();
    let deadline = async {
        signalled.notified().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    let result = tokio::select! {
        result = server => result,
        () = deadline => {
            eprintln!("simply-mcp-oauth-server: connections still open; closing them");
            Ok(())
        }
    };
    sweeper.stop().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(format!("server error: {error}"), 1),
    }
}

/// The store the options ask for, and how to describe it (no password).
/// `Err((message, exit status))`: 2 for a configuration error, 1 when Redis
/// stays unreachable after `connect()`'s retries.
async fn open_storage(options: &Options) -> Result<(Arc<dyn Storage>, String), (String, u8)> {
    match options.storage {
        None | Some(StorageKind::Memory) => Ok((Arc::new(MemoryStorage::new()), "memory".into())),
        Some(StorageKind::Redis) => open_redis(options.redis_url.as_deref()).await,
    }
}

#[cfg(feature = "redis")]
async fn open_redis(url: Option<&str>) -> Result<(Arc<dyn Storage>, String), (String, u8)> {
    use simply_mcp_oauth::storage::{RedisStorage, StorageError};
    let config = redis_config(url, |name| std::env::var(name).ok()).map_err(|e| (e.to_string(), 2))?;
    let described = format!("redis at {} (key prefix {:?})", config.address(), config.key_prefix);
    match RedisStorage::connect(config).await {
        Ok(storage) => Ok((Arc::new(storage), described)),
        Err(error @ StorageError::Configuration(_)) => Err((error.to_string(), 2)),
        Err(error) => Err((error.to_string(), 1)),
    }
}

/// The seed's `REDIS_*` variables, with the address (host, port, user name,
/// password, database, TLS, cluster) taken from `url` when there is one. The
/// TLS files come from the variables either way; with a `redis://` URL they
/// are refused at connect (a URL never turns TLS off silently).
#[cfg(feature = "redis")]
fn redis_config(
    url: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<simply_mcp_oauth::storage::RedisConfig, simply_mcp_oauth::storage::StorageError> {
    let mut config = simply_mcp_oauth::storage::RedisConfig::from_lookup(env)?;
    if let Some(url) = url {
        let address = simply_mcp_oauth::storage::RedisConfig::from_url(url)?;
        config.host = address.host;
        config.port = address.port;
        config.username = address.username;
        config.password = address.password;
        config.db = address.db;
        config.tls = address.tls;
        if !address.cluster_nodes.is_empty() {
            config.cluster_nodes = address.cluster_nodes;
        }
    }
    Ok(config)
}

#[cfg(not(feature = "redis"))]
async fn open_redis(_url: Option<&str>) -> Result<(Arc<dyn Storage>, String), (String, u8)> {
    Err((NO_REDIS.to_string(), 2))
}

#[cfg(not(feature = "redis"))]
const NO_REDIS: &str =
    "Redis storage needs a build with the `redis` feature (cargo build --features server,redis)";

/// Resolves on Ctrl-C or (on Unix) SIGTERM. The handlers are installed now,
/// not when the future is first polled.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let interrupt = tokio::spawn(tokio::signal::ctrl_c());
    Ok(async move {
        #[cfg(unix)]
        let terminate = terminate.recv();
        #[cfg(not(unix))]
        let terminate = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = interrupt => {}
            _ = terminate => {}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_override_environment() {
        let env = |name: &str| match name {
            "SIMPLY_MCP_OAUTH_BIND" => Some("0.0.0.0:1".to_string()),
            "SIMPLY_MCP_OAUTH_CODE_EXPIRATION" => Some("30".to_string()),
            _ => None,
        };
        let parsed = parse(args(&["--bind", "127.0.0.1:0", "--token-expiration=60"]), env).unwrap();
        assert_eq!(
            parsed,
            Command::Run(Options {
                bind: Some("127.0.0.1:0".into()),
                token_expiration: Some(60),
                code_expiration: Some(30),
                storage: Some(StorageKind::Memory),
                ..Options::default()
            })
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        let none = |_: &str| None;
        assert!(parse(args(&["--nope"]), none).is_err());
        assert!(parse(args(&["--bind"]), none).is_err());
        assert!(parse(args(&["--token-expiration", "soon"]), none).is_err());
        assert!(parse(args(&["--code-expiration=0"]), none).is_err());
        assert!(parse(args(&[]), |_| Some("x".into())).is_err());
        assert_eq!(parse(args(&["--help"]), none).unwrap(), Command::Help);
        assert!(parse(args(&["--storage", "disk"]), none).is_err());
    }

    #[test]
    fn cimd_loopback_switch_and_ca_file() {
        let run = |list: &[&str], env: &dyn Fn(&str) -> Option<String>| match parse(args(list), env) {
            Ok(Command::Run(options)) => options,
            other => panic!("{other:?}"),
        };
        let none = |_: &str| None;
        assert!(!run(&[], &none).cimd_allow_loopback);
        assert!(run(&["--cimd-allow-loopback"], &none).cimd_allow_loopback);
        assert!(!run(&["--cimd-allow-loopback=0"], &none).cimd_allow_loopback);
        let env = |name: &str| match name {
            "SIMPLY_MCP_OAUTH_CIMD_ALLOW_LOOPBACK" => Some("1".to_string()),
            "SIMPLY_MCP_OAUTH_CIMD_CA_FILE" => Some("/tmp/ca.pem".to_string()),
            _ => None,
        };
        let options = run(&["--bind", "127.0.0.1:0"], &env);
        assert!(options.cimd_allow_loopback);
        assert_eq!(options.cimd_ca_file.as_deref(), Some("/tmp/ca.pem"));
        assert!(parse(args(&["--cimd-allow-loopback=maybe"]), none).is_err());
        let missing = Options { cimd_ca_file: Some("/nonexistent/ca.pem".into()), ..Options::default() };
        assert!(metadata_fetcher(&missing).err().unwrap().contains("CA file"));
    }

    fn storage_of(list: &[&str], env: impl Fn(&str) -> Option<String>) -> Option<StorageKind> {
        match parse(args(list), env).unwrap() {
            Command::Run(options) => options.storage,
            Command::Help => None,
        }
    }

    #[test]
    fn redis_when_named_unless_memory_is_asked_for() {
        let none = |_: &str| None;
        let host = |name: &str| (name == "REDIS_HOST").then(|| "cache".to_string());
        let url = |name: &str| (name == "REDIS_URL").then(|| "redis://cache".to_string());
        assert_eq!(storage_of(&[], none), Some(StorageKind::Memory));
        assert_eq!(storage_of(&[], host), Some(StorageKind::Redis));
        assert_eq!(storage_of(&[], url), Some(StorageKind::Redis));
        assert_eq!(storage_of(&["--redis-url", "redis://x"], none), Some(StorageKind::Redis));
        assert_eq!(storage_of(&["--storage=redis"], none), Some(StorageKind::Redis));
        assert_eq!(storage_of(&["--storage", "memory"], url), Some(StorageKind::Memory));
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
        assert_eq!((c.host.as_str(), c.port, c.db, c.password), ("url-host", 7000, 3, None));
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
    }

    #[cfg(not(feature = "redis"))]
    #[tokio::test]
    async fn redis_without_the_feature_is_a_usage_error() {
        let options = Options { storage: Some(StorageKind::Redis), ..Options::default() };
        let Err((message, code)) = open_storage(&options).await else { panic!("no Redis in this build") };
        assert_eq!(code, 2);
        assert!(message.contains("`redis` feature"), "{message}");
    }
}
