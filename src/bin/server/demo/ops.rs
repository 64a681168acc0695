//! `/health` and `/metrics`, and who may read them.
//!
//! Both are for operators: the metrics count clients, tokens and traffic,
//! and a health report describes the store. [`OpsAccess`] protects them with
//! a bearer secret; [`ops_router`] serves them alone, for a listener of their
//! own (say `127.0.0.1:9090`) that the public cannot reach.
//!
//! With a secret, `/metrics` without it is a `401`; `/health` without it is
//! only the liveness answer `{"status":"healthy"}` (or `503
//! {"status":"unhealthy"}`): a load balancer's probe rarely sends a header,
//! and the word reveals nothing a failing request would not. The full report
//! (`"storage"`: backend, atomicity, response time) needs the secret. The
//! secret is compared as a SHA-256 digest in constant time and never logged.

use std::sync::Arc;

use axum::extract::State;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, StatusCode};

use simply_mcp_oauth::crypto::SecretDigest;
use simply_mcp_oauth::http::OAuthHttp;
use simply_mcp_oauth::server::metrics::{self, observe, Metrics};
use simply_mcp_oauth::server::trace::trace_requests;
use simply_mcp_oauth::server::{json_error, json_response};
use simply_mcp_oauth::storage::Storage;

/// Who may read `/health` and `/metrics`: everyone ([`OpsAccess::open`],
/// the default), or whoever presents a bearer secret.
#[derive(Clone, Default)]
pub struct OpsAccess {
    /// The digest of the secret, if there is one.
    token: Option<Arc<SecretDigest>>,
}

impl std::fmt::Debug for OpsAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let token = self.token.as_ref().map(|_| "<redacted>");
        f.debug_struct("OpsAccess").field("token", &token).finish()
    }
}

impl OpsAccess {
    /// No secret: both endpoints answer everyone.
    pub fn open() -> Self {
        Self::default()
    }

    /// `Authorization: Bearer <token>` required for `/metrics` and the full
    /// `/health` report. Only its digest is kept.
    pub fn with_token(token: &str) -> Self {
        Self { token: Some(Arc::new(SecretDigest::of(token))) }
    }

    /// Whether a secret is set.
    pub fn is_protected(&self) -> bool {
        self.token.is_some()
    }

    /// Whether `headers` carry the secret (always, without one). The
    /// digests are compared in constant time, so neither the secret's length
    /// nor its first differing byte shows in the time taken.
    fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(expected) = &self.token else { return true };
        let presented = headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        presented.is_some_and(|token| expected.matches(&SecretDigest::of(token)))
    }
}

/// What the handlers share.
pub(super) struct OpsState<S: Storage> {
    pub(super) oauth: Arc<OAuthHttp<S>>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) access: OpsAccess,
}

impl<S: Storage> Clone for OpsState<S> {
    fn clone(&self) -> Self {
        Self {
            oauth: Arc::clone(&self.oauth),
            metrics: Arc::clone(&self.metrics),
            access: self.access.clone(),
        }
    }
}

/// `/health` and `/metrics` as `access` says, without the middleware (the
/// demo app wraps them with the rest).
pub(super) fn routes<S: Storage + 'static>(state: OpsState<S>) -> Router {
    Router::new()
        .route("/health", get(health::<S>))
        .route("/metrics", get(metrics_page::<S>))
        .with_state(state)
}

/// `/health` and `/metrics` alone, traced and counted like the demo app:
/// serve it on a listener of its own (the binary's `--ops-bind`), and build
/// the demo app with [`demo_app`](super::demo_app)`(…, None)` so that the
/// public listener serves neither.
pub fn ops_router<S: Storage + 'static>(
    oauth: Arc<OAuthHttp<S>>,
    metrics: Arc<Metrics>,
    access: OpsAccess,
) -> Router {
    let routes = routes(OpsState { oauth, metrics: Arc::clone(&metrics), access });
    routes.layer(from_fn_with_state(metrics, observe)).layer(from_fn(trace_requests))
}

/// The seed's health endpoint: `200 {"status":"healthy","storage":…}`, or
/// `503 {"status":"unhealthy",…}` so load balancers take the node out;
/// without the secret (when there is one), the status word alone.
async fn health<S: Storage + 'static>(State(state): State<OpsState<S>>, headers: HeaderMap) -> Response {
    let check = state.oauth.provider().health_check().await;
    let (status, word) = if check.healthy {
        (StatusCode::OK, "healthy")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unhealthy")
    };
    if !state.access.is_protected() || state.access.admits(&headers) {
        json_response(status, &serde_json::json!({ "status": word, "storage": check }))
    } else {
        json_response(status, &serde_json::json!({ "status": word }))
    }
}

/// `GET /metrics`: the Prometheus text format, or, for a request that
/// accepts `application/json`, the seed's JSON counts (`clients`, `tokens`,
/// `refreshTokens`, `authorizationCodes`). `401` without the secret.
async fn metrics_page<S: Storage + 'static>(
    State(state): State<OpsState<S>>,
    headers: HeaderMap,
) -> Response {
    if !state.access.admits(&headers) {
        let mut response = json_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "/metrics needs the operator's bearer token",
        );
        response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"ops\""));
        return response;
    }
    if accepts_json(&headers) {
        return json_metrics(&state).await;
    }
    let provider = state.oauth.provider();
    // A store that cannot count still gets its counters scraped.
    let stats = provider.storage().stats(provider.now()).await.ok();
    let mut response = Response::new(state.metrics.render(stats.as_ref()).into());
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(metrics::CONTENT_TYPE));
    response
}

/// Whether `Accept` names `application/json` (with a non-zero `q`).
fn accepts_json(headers: &HeaderMap) -> bool {
    let ranges = headers.get_all(ACCEPT).iter().filter_map(|value| value.to_str().ok());
    ranges.flat_map(|value| value.split(',')).any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let json = parts.next().is_some_and(|media| media.eq_ignore_ascii_case("application/json"));
        let refused =
            parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0)));
        json && !refused
    })
}

async fn json_metrics<S: Storage + 'static>(state: &OpsState<S>) -> Response {
    match state.oauth.provider().get_stats().await {
        Ok(stats) => match serde_json::to_value(stats) {
            Ok(value) => json_response(StatusCode::OK, &value),
            Err(_) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "encoding failed"),
        },
        Err(error) => json_error(StatusCode::SERVICE_UNAVAILABLE, error.code.as_str(), &error.description),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_the_secret_is_admitted() {
        let access = OpsAccess::with_token("s3cret-ops-token");
        assert!(access.admits(&bearer("Bearer s3cret-ops-token")));
        assert!(access.admits(&bearer("bearer s3cret-ops-token")));
        for wrong in ["Bearer s3cret-ops-toke", "Bearer ", "Basic s3cret-ops-token", "s3cret-ops-token"] {
            assert!(!access.admits(&bearer(wrong)), "{wrong}");
        }
        assert!(!access.admits(&HeaderMap::new()));
        assert!(OpsAccess::open().admits(&HeaderMap::new()));
        assert!(!format!("{access:?}").contains("s3cret"), "never in a log line");
    }
}
