//! The demo app of the `simply-mcp-oauth-server` binary: the OAuth
//! endpoints, a consent page, a connected-apps page, health and metrics, and
//! a tiny MCP endpoint protected by bearer tokens. It lives in the binary,
//! not the library: a host app builds its own from the same public pieces.
//!
//! It signs everyone in as one user, [`DEMO_SUBJECT`], without a password: it
//! shows the flow end to end, it is not a login system. A real deployment
//! keeps [`router`] and [`BearerAuth`](simply_mcp_oauth::server::BearerAuth)
//! and replaces the consent page with its own login, calling
//! [`OAuthHttp::authorize_request`] and then
//! [`Provider::complete_authorization`](simply_mcp_oauth::Provider::complete_authorization),
//! with [`csrf`](simply_mcp_oauth::http::csrf) protecting its form.

mod apps;
mod consent;
mod mcp;
mod mcp_cors;
mod ops;
mod page;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use simply_mcp_oauth::crypto::{fill_random, RandomnessError};
use simply_mcp_oauth::http::OAuthHttp;
use simply_mcp_oauth::server::metrics::{observe, Metrics};
use simply_mcp_oauth::server::trace::trace_requests;
use simply_mcp_oauth::server::{router, tag_client_ip, BearerGuard};
use simply_mcp_oauth::storage::Storage;
use simply_mcp_oauth::uri::Uri;

pub use ops::{ops_router, OpsAccess};

/// The one user the demo signs everyone in as.
pub const DEMO_SUBJECT: &str = "demo-user";

/// The scope the demo's `/mcp` endpoint requires.
pub const MCP_SCOPE: &str = "mcp";

/// How often [`spawn_sweeper`] removes expired records, in the binary.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Shared by the demo's handlers.
struct DemoState<S: Storage> {
    oauth: Arc<OAuthHttp<S>>,
    guard: BearerGuard,
    /// Keys the CSRF tokens of the consent form; random per process.
    csrf_key: Arc<[u8; 32]>,
    /// Whether the CSRF cookie gets `Secure` (the issuer is `https`).
    secure_cookie: bool,
    /// `<issuer path>/authorize`: the form's action and the cookie's path.
    authorize_path: Arc<str>,
}

impl<S: Storage> Clone for DemoState<S> {
    fn clone(&self) -> Self {
        Self {
            oauth: Arc::clone(&self.oauth),
            guard: self.guard.clone(),
            csrf_key: Arc::clone(&self.csrf_key),
            secure_cookie: self.secure_cookie,
            authorize_path: Arc::clone(&self.authorize_path),
        }
    }
}

impl<S: Storage> FromRef<DemoState<S>> for BearerGuard {
    fn from_ref(state: &DemoState<S>) -> Self {
        state.guard.clone()
    }
}

/// The whole demo app: [`router`] plus `GET`/`POST <issuer>/authorize`
/// (consent), `<issuer>/apps` (connected apps), `/health` and `/metrics`
/// served as `ops` says ([`OpsAccess::open`], [`OpsAccess::with_token`]; or
/// not at all with `None`: then serve [`ops_router`] on a listener of its
/// own), and `POST` at the path of the provider's default resource (`/mcp`
/// by default), which requires a token for that resource with the
/// [`MCP_SCOPE`] scope. Every request is traced ([`trace_requests`]) and
/// counted in `metrics` ([`observe`]); wrap the store in
/// [`MeteredStorage`](simply_mcp_oauth::server::metrics::MeteredStorage)
/// with the same `metrics` to count storage errors too.
///
/// Fails only when the platform has no randomness for the CSRF key.
pub fn demo_app<S: Storage + 'static>(
    oauth: Arc<OAuthHttp<S>>,
    metrics: Arc<Metrics>,
    ops: Option<OpsAccess>,
) -> Result<Router, RandomnessError> {
    let mut csrf_key = [0u8; 32];
    fill_random(&mut csrf_key)?;
    let config = oauth.provider().config();
    let authorize_path: Arc<str> = format!("{}/authorize", url_path(&config.issuer)).into();
    let mcp_path = match url_path(&config.default_resource()) {
        path if path.is_empty() => "/".to_string(),
        path => path,
    };
    let state = DemoState {
        authorize_path: Arc::clone(&authorize_path),
        // `/mcp` serves users: a token without one (client_credentials) is a 403.
        guard: BearerGuard::new(Arc::clone(&oauth)).require_scopes([MCP_SCOPE]),
        secure_cookie: oauth.provider().config().issuer.starts_with("https:"),
        oauth: Arc::clone(&oauth),
        csrf_key: Arc::new(csrf_key),
    };
    let app = Router::new()
        .route(&authorize_path, get(consent::show::<S>).post(consent::decide::<S>))
        .route(&apps::path(&oauth), get(apps::show::<S>).post(apps::revoke::<S>))
        .route(
            &mcp_path,
            post(mcp::handle)
                .options(mcp_cors::preflight)
                .layer(axum::middleware::map_response(mcp_cors::allow_any_origin)),
        )
        .with_state(state)
        .merge(router(Arc::clone(&oauth)));
    let app = match ops {
        Some(access) => {
            app.merge(ops::routes(ops::OpsState { oauth, metrics: Arc::clone(&metrics), access }))
        }
        None => app,
    };
    // The consent page's per-IP limit of /authorize, too.
    let app = app.layer(axum::middleware::map_request(tag_client_ip));
    // Last, so that they wrap every route above (and the fallback); the
    // trace outermost, so that the span covers the counting too.
    Ok(app.layer(from_fn_with_state(metrics, observe)).layer(from_fn(trace_requests)))
}

/// The path of a URL without a trailing `/` (`""` at the root), as the
/// library's [`router`] mounts the endpoints.
fn url_path(url: &str) -> String {
    Uri::parse(url).map(|url| url.path().trim_end_matches('/').to_string()).unwrap_or_default()
}

/// A background task removing expired records (they are invisible anyway;
/// this frees their memory). Stop it with [`Sweeper::stop`]; dropping it
/// stops it too.
#[derive(Debug)]
pub struct Sweeper {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

/// Starts a [`Sweeper`] calling [`Provider::sweep`](simply_mcp_oauth::Provider::sweep)
/// every `every`, the first time one period from now. Needs a tokio runtime.
pub fn spawn_sweeper<S: Storage + 'static>(oauth: Arc<OAuthHttp<S>>, every: Duration) -> Sweeper {
    let (stop, mut stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                // A message or a dropped sender: either way, stop.
                _ = &mut stopped => break,
                _ = ticks.tick() => {
                    match oauth.provider().sweep().await {
                        Ok(removed) => tracing::debug!(removed, "sweep"),
                        Err(error) => tracing::warn!(%error, "sweep failed"),
                    }
                }
            }
        }
    });
    Sweeper { stop: Some(stop), task }
}

impl Sweeper {
    /// Stops the task and waits until a sweep in progress has finished.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}
