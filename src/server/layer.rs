//! The bearer check as a tower layer, for services that are not axum
//! handlers: an rmcp `StreamableHttpService`, a whole nested router, any
//! `tower::Service` taking `http::Request`s.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use axum::{routing::post, Extension, Router};
//! # use simply_mcp_oauth::http::OAuthHttp;
//! # use simply_mcp_oauth::provider::AuthInfo;
//! # use simply_mcp_oauth::server::BearerGuard;
//! # use simply_mcp_oauth::MemoryStorage;
//! # fn app(oauth: Arc<OAuthHttp<MemoryStorage>>) -> Router {
//! async fn whoami(Extension(auth): Extension<AuthInfo>) -> String {
//!     format!("{} via {}", auth.subject.unwrap_or_default(), auth.client_id)
//! }
//! Router::new()
//!     .route("/mcp", post(whoami))
//!     .layer(BearerGuard::new(oauth).require_scopes(["mcp"]).layer())
//! # }
//! ```
//!
//! It answers exactly as [`BearerGuard::check_request`] does: `401`/`403`
//! with the `WWW-Authenticate` challenge (`403` too for a token without a
//! user, unless the guard says [`allow_machine_clients`](BearerGuard::allow_machine_clients)) (sent after the rejected request's
//! body was read, so the connection stays usable), `400` for a malformed
//! header, `503` with `Retry-After` when the store is down. An accepted
//! request reaches the inner service with its [`AuthInfo`] in the request
//! extensions and its body unread.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::HttpBody;
use axum::response::{IntoResponse, Response};
use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use super::bearer::drain_before_rejecting;
use super::BearerGuard;
use crate::provider::AuthInfo;

/// A [`Layer`] that puts a [`BearerGuard`] in front of a service; build it
/// with [`BearerGuard::layer`] or [`BearerLayer::new`].
#[derive(Debug, Clone)]
pub struct BearerLayer {
    guard: BearerGuard,
}

impl BearerLayer {
    /// A layer checking every request against `guard`.
    pub fn new(guard: BearerGuard) -> Self {
        Self { guard }
    }
}

impl<S> Layer<S> for BearerLayer {
    type Service = BearerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerService { inner, guard: self.guard.clone() }
    }
}

/// The service [`BearerLayer`] wraps around `S`.
#[derive(Debug, Clone)]
pub struct BearerService<S> {
    inner: S,
    guard: BearerGuard,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B> Service<Request<B>> for BearerService<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The instance that was polled ready serves this request; a fresh
        // clone stays behind for the next one (tower's usual swap).
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let guard = self.guard.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            match guard.check(&parts).await {
                Ok(auth) => {
                    parts.extensions.insert::<AuthInfo>(auth);
                    let response = inner.call(Request::from_parts(parts, body)).await?;
                    Ok(response.into_response())
                }
                Err(mut rejection) => {
                    drain_before_rejecting(body, &mut rejection).await;
                    Ok(rejection)
                }
            }
        })
    }
}
