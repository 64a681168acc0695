//! `simply-mcp-oauth-server`: the demo authorization server with a protected
//! MCP endpoint, in memory or (feature `redis`) in Redis. See `--help`.

mod cli;
mod demo;
mod logging;
mod storage;

use std::future::{Future, IntoFuture as _};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser as _;
use simply_mcp_oauth::config::RateLimits;
use simply_mcp_oauth::http::OAuthHttp;
use simply_mcp_oauth::server::metrics::{MeteredStorage, Metrics};
use simply_mcp_oauth::server::trace::audit_to_tracing;
use simply_mcp_oauth::{ClientConfig, Provider, ProviderConfig, Storage};

use cli::Options;
use demo::{demo_app, ops_router, spawn_sweeper, OpsAccess, MCP_SCOPE, SWEEP_INTERVAL};

/// The configured public client, for trying the flow by hand.
const DEMO_CLIENT_ID: &str = "demo-client";
/// The one redirect URI of the machine client (`--client-id`): the provider
/// gives every configured client with a secret the code grant too and needs a
/// redirect URI for it; a loopback one never sends a code to another host.
const MACHINE_REDIRECT_URI: &str = "http://127.0.0.1/callback";
/// How long open connections may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    forget_empty_variables();
    let options = Options::parse();
    logging::init(options.debug);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("simply-mcp-oauth-server: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(options))
}

/// An empty variable counts as unset (`SIMPLY_MCP_OAUTH_ISSUER=` in a compose
/// file), as it did before clap, which would take it as an empty value.
/// Runs first, while the process has one thread.
fn forget_empty_variables() {
    for name in cli::variables() {
        if std::env::var_os(&name).is_some_and(|value| value.is_empty()) {
            std::env::remove_var(&name);
        }
    }
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
    let listener = match tokio::net::TcpListener::bind(&options.bind).await {
        Ok(listener) => listener,
        Err(error) => return fail(format!("cannot listen on {}: {error}", options.bind), 1),
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => return fail(format!("cannot read the bound address: {error}"), 1),
    };
    let ops_listener = match &options.ops_bind {
        Some(bind) => match tokio::net::TcpListener::bind(bind).await {
            Ok(listener) => Some(listener),
            Err(error) => return fail(format!("cannot listen on {bind} (--ops-bind): {error}"), 1),
        },
        None => None,
    };
    let issuer = options.issuer.clone().unwrap_or_else(|| format!("http://{address}"));
    let mut clients = vec![ClientConfig {
        client_id: DEMO_CLIENT_ID.into(),
        client_secret: None,
        redirect_uris: vec!["http://127.0.0.1/callback".into(), "http://localhost/callback".into()],
        scopes: vec![MCP_SCOPE.into()],
    }];
    if let Some((client_id, secret)) = options.machine_client() {
        clients.push(ClientConfig {
            client_id: client_id.into(),
            client_secret: Some(secret.0.clone()),
            redirect_uris: vec![MACHINE_REDIRECT_URI.into()],
            scopes: vec![MCP_SCOPE.into()],
        });
    }
    let config = ProviderConfig {
        clients,
        cimd_allow_loopback: options.cimd_allow_loopback,
        token_expiration: options.token_expiration,
        refresh_token_expiration: options.refresh_token_expiration,
        refresh_grace_seconds: options.refresh_grace,
        code_expiration: options.code_expiration,
        registration_lifetime: options.registration_lifetime,
        rate_limits: if options.rate_limits { RateLimits::default() } else { RateLimits::off() },
        audit: Some(audit_to_tracing()),
        ..ProviderConfig::new(issuer)
    };
    let hint = if options.issuer.is_none() { " (pass --issuer)" } else { "" };
    let metrics = Arc::new(Metrics::new());
    let (storage, described) = match storage::open_storage(&options).await {
        Ok(opened) => opened,
        Err((message, code)) => return fail(message, code),
    };
    let storage: Arc<dyn Storage> = Arc::new(MeteredStorage::new(storage, Arc::clone(&metrics)));
    let fetcher = match storage::metadata_fetcher(&options) {
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
    let ops_access = match &options.ops_token {
        Some(token) => OpsAccess::with_token(&token.0),
        None => OpsAccess::open(),
    };
    // With --ops-bind, /health and /metrics are served there only.
    let on_main = ops_listener.is_none().then(|| ops_access.clone());
    let app = match demo_app(Arc::clone(&oauth), Arc::clone(&metrics), on_main) {
        Ok(app) => app,
        Err(error) => return fail(error.to_string(), 1),
    };
    let ops_address = match ops_listener {
        Some(ops_listener) => {
            let ops_address = match ops_listener.local_addr() {
                Ok(ops_address) => ops_address,
                Err(error) => return fail(format!("cannot read the --ops-bind address: {error}"), 1),
            };
            let ops_app = ops_router(Arc::clone(&oauth), Arc::clone(&metrics), ops_access.clone());
            // Ends with the process: a scrape in progress needs no grace.
            tokio::spawn(axum::serve(ops_listener, ops_app.into_make_service()).into_future());
            Some(ops_address)
        }
        None => None,
    };
    if ops_address.is_none() && !ops_access.is_protected() && !address.ip().is_loopback() {
        tracing::warn!(
            %address,
            "/health and /metrics are open to everyone who reaches this address: \
             set --ops-token or --ops-bind"
        );
    }
    let sweeper = spawn_sweeper(Arc::clone(&oauth), SWEEP_INTERVAL);

    println!("listening on http://{address}");
    println!("issuer: {}", oauth.provider().config().issuer);
    println!("demo client: {DEMO_CLIENT_ID}");
    if let Some((client_id, _)) = options.machine_client() {
        println!("machine client: {client_id}");
    }
    if let Some(ops_address) = ops_address {
        println!("health and metrics on http://{ops_address}");
    }
    println!("storage: {described}");
    tracing::info!(%address, storage = %described, "listening");

    let signalled = Arc::new(tokio::sync::Notify::new());
    let on_signal = Arc::clone(&signalled);
    // The peer address reaches the handlers as `ConnectInfo<SocketAddr>`.
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down");
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
            tracing::warn!("connections still open after {} s; closing them", SHUTDOWN_GRACE.as_secs());
            Ok(())
        }
    };
    sweeper.stop().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(format!("server error: {error}"), 1),
    }
}

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
