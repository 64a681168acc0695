//! An MCP server built on rmcp, the Rust MCP SDK, protected by this crate.
//!
//! ```text
//! cargo run --example rmcp_server --features rmcp-example -- [--bind 127.0.0.1:8090] [--issuer URL]
//! ```
//!
//! - `/mcp`: rmcp's streamable HTTP server (`StreamableHttpService`) behind
//!   [`BearerLayer`]: a request without a live token for this resource with
//!   the `mcp` scope gets the `401`/`403` challenge that starts an MCP
//!   client's OAuth flow; an accepted one reaches rmcp with its `AuthInfo`.
//! - The tools ([`tools`]) read that `AuthInfo`. `server_stats` also needs
//!   `mcp:admin`; a call without it is refused with a `403
//!   insufficient_scope` step-up challenge before rmcp sees it.
//! - The OAuth endpoints ([`router`]) and a consent page ([`consent`]) for
//!   one fixed user, which a real server replaces with its login.
//!
//! State is in memory. `SIMPLY_MCP_OAUTH_CIMD_ALLOW_LOOPBACK=1` and
//! `SIMPLY_MCP_OAUTH_CIMD_CA_FILE` (as for the demo server) let Client ID
//! Metadata Documents come from loopback, for tests.

mod consent;
mod tools;

use std::process::ExitCode;
use std::sync::Arc;

use axum::routing::get;
use axum::{middleware, Router};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use simply_mcp_oauth::cimd::native::{FetchOptions, SafeFetcher};
use simply_mcp_oauth::http::OAuthHttp;
use simply_mcp_oauth::server::{router, BearerGuard};
use simply_mcp_oauth::uri::Uri;
use simply_mcp_oauth::{MemoryStorage, Provider, ProviderConfig};

use tools::{Tools, ADMIN_SCOPE, MCP_SCOPE};

type OAuth = Arc<OAuthHttp<MemoryStorage>>;

/// The app: the MCP endpoint behind the bearer check, the consent page, the
/// OAuth endpoints.
fn app(oauth: OAuth) -> Router {
    // User tokens only: a client_credentials token (no user) gets 403 here;
    // `.allow_machine_clients()` would let configured machine clients in.
    let guard = BearerGuard::new(Arc::clone(&oauth)).require_scopes([MCP_SCOPE]);
    let tools = Tools::new(Arc::clone(&oauth));
    // rmcp refuses Host headers it does not know (DNS rebinding): this
    // server's own host is the one clients use.
    let issuer = Uri::parse(&oauth.provider().config().issuer).expect("the provider checked its issuer");
    let host = issuer.host_str().unwrap_or("localhost").to_string();
    let config = StreamableHttpServerConfig::default().with_allowed_hosts([host]);
    let mcp = StreamableHttpService::new(
        move || Ok(tools.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Router::new()
        .route_service("/mcp", mcp)
        // The last layer added runs first: the bearer check, then step-up.
        .route_layer(middleware::from_fn_with_state(guard.clone(), tools::step_up))
        .route_layer(guard.layer())
        .route("/authorize", get(consent::show).post(consent::decide))
        .with_state(Arc::clone(&oauth))
        .merge(router(oauth))
}

struct Args {
    bind: String,
    issuer: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { bind: "127.0.0.1:8090".into(), issuer: None };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--bind" => args.bind = value()?,
            "--issuer" => args.issuer = Some(value()?),
            "--help" | "-h" => {
                println!("usage: rmcp_server [--bind ADDR (127.0.0.1:8090)] [--issuer URL (http://ADDR)]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// The provider: in memory, the two scopes, and Client ID Metadata Documents.
async fn provider(issuer: String) -> Result<Provider<MemoryStorage>, String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let allow_loopback = env("SIMPLY_MCP_OAUTH_CIMD_ALLOW_LOOPBACK").as_deref() == Some("1");
    let extra_ca_pem = match env("SIMPLY_MCP_OAUTH_CIMD_CA_FILE") {
        Some(path) => Some(std::fs::read(&path).map_err(|e| format!("cannot read {path}: {e}"))?),
        None => None,
    };
    let fetcher = SafeFetcher::new(FetchOptions { allow_loopback, extra_ca_pem, ..FetchOptions::default() })
        .map_err(|e| e.to_string())?;
    let config = ProviderConfig {
        scopes_supported: Some(vec![MCP_SCOPE.into(), ADMIN_SCOPE.into()]),
        cimd_allow_loopback: allow_loopback,
        ..ProviderConfig::new(issuer)
    };
    let provider = Provider::new(config, MemoryStorage::new())
        .map_err(|e| e.to_string())?
        .with_metadata_fetcher(Arc::new(fetcher));
    provider.initialize().await.map_err(|e| e.to_string())?;
    Ok(provider)
}

async fn run(args: Args) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(&args.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let issuer = args.issuer.unwrap_or_else(|| format!("http://{address}"));
    let oauth = Arc::new(OAuthHttp::new(provider(issuer).await?));
    let issuer = oauth.provider().config().issuer.clone();
    println!("listening on http://{address}");
    println!("issuer: {issuer}");
    println!("mcp: {}", oauth.provider().config().default_resource());
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    axum::serve(listener, app(oauth)).with_graceful_shutdown(shutdown).await.map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    let outcome = match parse_args() {
        Ok(args) => run(args).await,
        Err(message) => {
            eprintln!("rmcp_server: {message}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("rmcp_server: {message}");
            ExitCode::FAILURE
        }
    }
}
