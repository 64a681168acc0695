//! The native axum integration (feature `server`): mount the OAuth endpoints
//! in an axum app, and guard the app's own routes (the MCP endpoint) with
//! bearer tokens.
//!
//! The endpoints themselves live in [`crate::http`]; this module only moves
//! requests between axum and `http::Request<Bytes>` (buffering bodies up to
//! [`MAX_BODY_BYTES`]) and turns the resource-side check into an extractor.
//! `/authorize` is not mounted: login and consent belong to the application,
//! which calls [`OAuthHttp::authorize_request`] and then
//! [`Provider::complete_authorization`](crate::Provider::complete_authorization),
//! protecting its form with [`crate::http::csrf`] (the demo server binary,
//! `src/bin/server/demo/`, and `examples/rmcp_server/` show two ways).
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::{routing::post, Json, Router};
//! use simply_mcp_oauth::http::OAuthHttp;
//! use simply_mcp_oauth::server::{router, BearerAuth, BearerGuard};
//! use simply_mcp_oauth::{MemoryStorage, Provider, ProviderConfig};
//!
//! async fn whoami(BearerAuth(auth): BearerAuth) -> Json<serde_json::Value> {
//!     Json(serde_json::json!({ "subject": auth.subject, "scopes": auth.scopes }))
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ProviderConfig::new("http://127.0.0.1:8080");
//! let oauth = Arc::new(OAuthHttp::new(Provider::create(config, MemoryStorage::new()).await?));
//! let app = Router::new()
//!     .route("/mcp", post(whoami))
//!     // The extractor finds the guard in the router state (or via `FromRef`).
//!     .with_state(BearerGuard::new(oauth.clone()).require_scopes(["mcp"]))
//!     .merge(router(oauth));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

mod bearer;
mod body;
mod client_ip;
mod layer;
pub mod metrics;
pub mod trace;

use std::sync::Arc;

use axum::extract::Request;
use axum::response::Response;
use axum::routing::any;
use axum::Router;

use crate::http::OAuthHttp;
use crate::storage::Storage;

pub use bearer::{BearerAuth, BearerGuard};
pub use body::{buffer_request, into_axum_response, json_error, json_response, MAX_BODY_BYTES};
pub use client_ip::tag_client_ip;
pub use layer::{BearerLayer, BearerService};

/// A router serving the OAuth endpoints (metadata, `/token`, `/register`,
/// `/revoke`, `/introspect`, with their CORS preflights) by forwarding every
/// method to [`OAuthHttp::handle`]. Merge it into the application's router.
///
/// The endpoints sit under the issuer's path (`https://example.com/auth`
/// gives `/auth/token`); every `/.well-known/…` path is forwarded, so the HTTP
/// layer alone decides which metadata exists (the rest is its JSON 404).
/// Request bodies are buffered up to [`MAX_BODY_BYTES`]; a larger one is a
/// `413` JSON error without reading the rest. The connection's address
/// becomes the [`ClientIp`](crate::http::ClientIp) of the per-IP rate
/// limits ([`tag_client_ip`]): serve the app with
/// `into_make_service_with_connect_info::<SocketAddr>()` for them to apply.
pub fn router<S: Storage + 'static>(oauth: Arc<OAuthHttp<S>>) -> Router {
    let base = url_path(&oauth.provider().config().issuer);
    let mut paths = vec!["/.well-known/{*rest}".to_string()];
    if !base.is_empty() {
        paths.push(format!("{base}/.well-known/{{*rest}}"));
    }
    for endpoint in ["token", "register", "revoke", "introspect"] {
        paths.push(format!("{base}/{endpoint}"));
    }
    let handler = move |request: Request| {
        let oauth = Arc::clone(&oauth);
        async move { forward(&oauth, request).await }
    };
    let routes = paths.iter().fold(Router::new(), |router, path| router.route(path, any(handler.clone())));
    routes.route_layer(axum::middleware::map_request(tag_client_ip))
}

/// The path of a URL without a trailing `/` (`""` at the root).
fn url_path(url: &str) -> String {
    crate::uri::Uri::parse(url).map(|url| url.path().trim_end_matches('/').to_string()).unwrap_or_default()
}

/// Buffers the request, hands it to the HTTP layer and converts the answer.
async fn forward<S: Storage + 'static>(oauth: &OAuthHttp<S>, request: Request) -> Response {
    match buffer_request(request).await {
        Ok(request) => into_axum_response(oauth.handle(request).await),
        Err(response) => response,
    }
}
