//! Request spans and audit events as [`tracing`] events.
//!
//! [`trace_requests`] is an axum middleware: one `request` span per request
//! with the method, the matched route template (never the raw path, whose
//! query may hold a code or a state), the request id, the client id where a
//! handler or an audit event names it, the status and the latency, closed by
//! one event. [`audit_to_tracing`] turns the provider's audit events into
//! events of the target `simply_mcp_oauth::audit`. Neither sees a token, a
//! code or a secret: the span is built from the method, the route and the
//! request id only, and audit events carry ids only.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use simply_mcp_oauth::{http::OAuthHttp, server::{router, trace}, MemoryStorage, Provider, ProviderConfig};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ProviderConfig { audit: Some(trace::audit_to_tracing()), ..ProviderConfig::new("http://127.0.0.1:8080") };
//! let oauth = Arc::new(OAuthHttp::new(Provider::create(config, MemoryStorage::new()).await?));
//! // Last, so that it wraps every route (axum layers only the routes present).
//! let app = router(oauth).layer(axum::middleware::from_fn(trace::trace_requests));
//! # Ok(()) }
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use http::header::HeaderValue;
use http::{HeaderName, Method};
use tracing::field::{debug, Empty};
use tracing::Instrument as _;

use crate::config::AuditHook;
use crate::provider::{AuditEvent, AuditKind};

/// The header carrying the request id, in and out.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest incoming request id taken as it is: room for a UUID, and
/// shorter than any secret this crate issues (43 characters and more), so a
/// client that sends one as its request id does not get it logged.
const MAX_REQUEST_ID_LEN: usize = 40;

/// The longest client id written to a log line; longer ones are cut (an
/// unknown client's id is whatever the request said).
const MAX_LOGGED_CLIENT_ID_LEN: usize = 128;

/// The route label of a request no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// This request's id, in the request extensions for handlers that want it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub Arc<str>);

/// The middleware: the request runs inside its span, the answer carries
/// `x-request-id`, an event opens the span (`debug`) and one closes it
/// (`error` for a 5xx, `info` otherwise). Add it with `Router::layer(axum::middleware::from_fn(trace_requests))`
/// after every route, so that the matched route is known.
pub async fn trace_requests(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id: Arc<str> = match request.headers().get(&REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()) {
        Some(incoming) if is_safe_request_id(incoming) => incoming.into(),
        _ => new_request_id().into(),
    };
    let span = tracing::info_span!(
        "request",
        method = method_label(request.method()),
        route = route_label(&request),
        request_id = &*id,
        client_id = Empty,
        status = Empty,
        latency_ms = Empty,
    );
    request.extensions_mut().insert(RequestId(Arc::clone(&id)));
    span.in_scope(|| tracing::debug!("request"));
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    span.record("status", status.as_u16());
    span.record("latency_ms", (started.elapsed().as_secs_f64() * 1e6).round() / 1e3);
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::error!("response");
        } else {
            tracing::info!("response");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// Names the client in the current request's span (a no-op outside one).
/// Handlers call it once they know the client; the audit events do it too.
pub fn record_client_id(client_id: &str) {
    tracing::Span::current().record("client_id", debug(bounded(client_id)));
}

/// An [`AuditHook`] that logs each audit event (target
/// `simply_mcp_oauth::audit`; `warn` for a failed client authentication and
/// a replayed code or refresh token, `info` otherwise) and names its client
/// in the request span.
pub fn audit_to_tracing() -> AuditHook {
    Arc::new(|event: &AuditEvent| {
        if let Some(client_id) = &event.client_id {
            record_client_id(client_id);
        }
        let kind = kind_name(event.kind);
        let client_id = event.client_id.as_deref().map(|id| debug(bounded(id)));
        let subject = event.subject.as_deref().map(debug);
        let grant_id = event.grant_id.as_deref().map(debug);
        let at = event.at;
        if matches!(
            event.kind,
            AuditKind::ClientAuthFailed | AuditKind::CodeReplayed | AuditKind::RefreshReused
        ) {
            tracing::warn!(target: "simply_mcp_oauth::audit", kind, client_id, subject, grant_id, at, "audit");
        } else {
            tracing::info!(target: "simply_mcp_oauth::audit", kind, client_id, subject, grant_id, at, "audit");
        }
    })
}

/// The matched route template (`/.well-known/{*rest}`, `/token`), or
/// [`UNMATCHED_ROUTE`]: a label of bounded cardinality, free of queries.
pub fn route_label(request: &Request) -> String {
    request.extensions().get::<MatchedPath>().map_or(UNMATCHED_ROUTE, MatchedPath::as_str).to_string()
}

/// The method, or `OTHER` for an extension method (any token is one).
pub fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::PATCH,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN.iter().find(|known| *known == method).map_or("OTHER", |known| known.as_str())
}

/// Short and made of `[A-Za-z0-9._-]`: safe in a header and a log line.
fn is_safe_request_id(id: &str) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// 22 random base64url characters; a process-wide counter if the platform
/// has no randomness (ids need to be distinct, not secret).
fn new_request_id() -> String {
    static FALLBACK: AtomicU64 = AtomicU64::new(0);
    crate::crypto::random_id().unwrap_or_else(|_| format!("req-{}", FALLBACK.fetch_add(1, Ordering::Relaxed)))
}

fn bounded(text: &str) -> &str {
    match text.char_indices().nth(MAX_LOGGED_CLIENT_ID_LEN) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

fn kind_name(kind: AuditKind) -> &'static str {
    match kind {
        AuditKind::ClientRegistered => "client_registered",
        AuditKind::ClientDeleted => "client_deleted",
        AuditKind::ClientAuthFailed => "client_auth_failed",
        AuditKind::AuthorizationGranted => "authorization_granted",
        AuditKind::CodeExchanged => "code_exchanged",
        AuditKind::CodeReplayed => "code_replayed",
        AuditKind::RefreshRotated => "refresh_rotated",
        AuditKind::RefreshReused => "refresh_reused",
        AuditKind::ClientCredentialsIssued => "client_credentials_issued",
        AuditKind::GrantRevoked => "grant_revoked",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_safe_request_ids_are_taken() {
        assert!(is_safe_request_id("abc-123_X.y"));
        assert!(is_safe_request_id("0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(is_safe_request_id(&"a".repeat(40)));
        for bad in ["", "a b", "a\nb", "a\"b", "ä", "id;x=1", &"a".repeat(41)] {
            assert!(!is_safe_request_id(bad), "{bad:?}");
        }
        assert_eq!(new_request_id().len(), 22);
        assert_ne!(new_request_id(), new_request_id());
    }

    #[test]
    fn names_match_the_serialized_kinds() {
        for kind in [
            AuditKind::ClientRegistered,
            AuditKind::ClientDeleted,
            AuditKind::ClientAuthFailed,
            AuditKind::AuthorizationGranted,
            AuditKind::CodeExchanged,
            AuditKind::CodeReplayed,
            AuditKind::RefreshRotated,
            AuditKind::RefreshReused,
            AuditKind::ClientCredentialsIssued,
            AuditKind::GrantRevoked,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind_name(kind));
        }
    }

    #[test]
    fn long_client_ids_are_cut_and_methods_bounded() {
        assert_eq!(bounded(&"é".repeat(300)).chars().count(), MAX_LOGGED_CLIENT_ID_LEN);
        assert_eq!(bounded("demo-client"), "demo-client");
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "OTHER");
    }
}
