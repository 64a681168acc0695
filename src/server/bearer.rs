//! Guarding the application's own routes: a bearer-token extractor backed by
//! [`OAuthHttp::authenticate`], [`BearerGuard::check_request`] for
//! handlers that own the whole request, and [`BearerGuard::step_up`] for an
//! operation that needs more scopes than the route. The same check as a
//! tower layer is [`BearerLayer`](super::BearerLayer).
//!
//! An early `401`/`403` must not cost the client its kept-alive connection.
//! Every MCP client's first request is an unauthenticated `POST /mcp`, and
//! some write its body after its headers; answering before the body was read
//! made hyper close the connection without saying so, and the client's next
//! request (its discovery) failed. So [`BearerGuard::check_request`] reads
//! and drops the size-capped body before it answers, and where the body cannot
//! be read (the [`BearerAuth`] extractor sees only the head) or is too large,
//! the rejection says `Connection: close`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::HttpBody;
use axum::extract::{FromRef, FromRequestParts, Request};
use axum::response::Response;
use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::request::Parts;
use http::HeaderValue;
use http_body_util::{BodyExt as _, Limited};

use super::body::{into_axum_response, MAX_BODY_BYTES};
use crate::http::{MachineClients, OAuthHttp};
use crate::provider::AuthInfo;
use crate::storage::Storage;

/// How long a rejected request's body may take to arrive before the
/// rejection is sent with `Connection: close` instead.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<AuthInfo, http::Response<Bytes>>> + Send + 'a>>;

/// [`OAuthHttp::authenticate`] with the storage type erased, so that neither
/// the guard nor the extractor carries a type parameter.
trait Authenticator: Send + Sync + 'static {
    fn authenticate<'a>(
        &'a self,
        request: &'a http::Request<()>,
        required_scopes: &'a [&'a str],
        machines: MachineClients,
    ) -> AuthFuture<'a>;
}

impl<S: Storage + 'static> Authenticator for OAuthHttp<S> {
    fn authenticate<'a>(
        &'a self,
        request: &'a http::Request<()>,
        required_scopes: &'a [&'a str],
        machines: MachineClients,
    ) -> AuthFuture<'a> {
        let resource = self.provider().config().default_resource();
        Box::pin(async move { self.authenticate_with(request, &resource, required_scopes, machines).await })
    }
}

/// What [`BearerAuth`] checks against: the provider, the scopes a token
/// must carry, and whether tokens without a user pass. Cheap to clone; put
/// it in the router state, or make it reachable from yours with [`FromRef`].
#[derive(Clone)]
pub struct BearerGuard {
    auth: Arc<dyn Authenticator>,
    required_scopes: Arc<[String]>,
    machines: MachineClients,
}

impl BearerGuard {
    /// A guard accepting any live token a user approved for the provider's
    /// resource. A token of the `client_credentials` grant (no user) gets
    /// `403 insufficient_scope` unless [`allow_machine_clients`](Self::allow_machine_clients).
    pub fn new<S: Storage + 'static>(oauth: Arc<OAuthHttp<S>>) -> Self {
        Self { auth: oauth, required_scopes: Arc::from(Vec::new()), machines: MachineClients::Refused }
    }

    /// Also accepts tokens that stand for no user (configured machine
    /// clients, `client_credentials`; MCP's SEP-1046). Only for routes built
    /// for them: the handler sees `AuthInfo::subject == None`.
    pub fn allow_machine_clients(mut self) -> Self {
        self.machines = MachineClients::Allowed;
        self
    }

    /// The scopes every accepted token must carry (otherwise `403 insufficient_scope`).
    pub fn require_scopes<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.required_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Checks the request's bearer token; the `Err` is the `401`/`403`
    /// response to send, with its `WWW-Authenticate` challenge.
    pub async fn check(&self, parts: &Parts) -> Result<AuthInfo, Response> {
        // Only the head matters; a bodiless copy keeps the future `Send`.
        let mut request = http::Request::new(());
        *request.method_mut() = parts.method.clone();
        *request.uri_mut() = parts.uri.clone();
        *request.version_mut() = parts.version;
        *request.headers_mut() = parts.headers.clone();
        let scopes: Vec<&str> = self.required_scopes.iter().map(String::as_str).collect();
        self.auth.authenticate(&request, &scopes, self.machines).await.map_err(into_axum_response)
    }

    /// [`check`](Self::check) for a handler that owns the request: the
    /// request back with its body unread, or the `401`/`403` to send, sent
    /// only after the body (at most [`MAX_BODY_BYTES`], within 2 s) was
    /// read, so the connection stays usable; otherwise it says `Connection: close`.
    pub async fn check_request(&self, request: Request) -> Result<(AuthInfo, Request), Response> {
        let (parts, body) = request.into_parts();
        match self.check(&parts).await {
            Ok(auth) => Ok((auth, Request::from_parts(parts, body))),
            Err(mut rejection) => {
                drain_before_rejecting(body, &mut rejection).await;
                Err(rejection)
            }
        }
    }

    /// Step-up for one operation behind the guard that needs more than its
    /// scopes (one MCP tool, say): `Ok` when `auth` holds every scope in
    /// `extra`, else the `403 insufficient_scope` challenge naming the
    /// guard's scopes plus `extra`, so the client can ask for all of them
    /// at once (RFC 6750 §3.1; MCP authorization, "Step-Up Authorization").
    ///
    /// The challenge comes from the HTTP layer, which checks the token again
    /// (one store read, only on this refusal path); a token revoked meanwhile
    /// gets its `401` instead.
    pub async fn step_up(&self, parts: &Parts, auth: &AuthInfo, extra: &[&str]) -> Result<(), Response> {
        if extra.iter().all(|scope| auth.scopes.iter().any(|held| held == scope)) {
            return Ok(());
        }
        let mut scopes: Vec<String> = self.required_scopes.to_vec();
        for scope in extra {
            if !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_string());
            }
        }
        let wider =
            Self { auth: Arc::clone(&self.auth), required_scopes: scopes.into(), machines: self.machines };
        wider.check(parts).await.map(drop)
    }

    /// This guard as a tower layer: see [`BearerLayer`](super::BearerLayer).
    pub fn layer(self) -> super::BearerLayer {
        super::BearerLayer::new(self)
    }
}

/// Reads and drops a rejected request's body (at most [`MAX_BODY_BYTES`],
/// within [`DRAIN_TIMEOUT`]) so the connection stays usable; a body that is
/// larger, slower or unreadable makes the rejection say `Connection: close`.
pub(super) async fn drain_before_rejecting<B>(body: B, rejection: &mut Response)
where
    B: HttpBody,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, Limited::new(body, MAX_BODY_BYTES).collect());
    if !matches!(drained.await, Ok(Ok(_))) {
        close_after(rejection);
    }
}

/// Whether a request announces a body (RFC 9112 §6.3).
fn has_body(parts: &Parts) -> bool {
    let length = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).map(str::trim);
    parts.headers.contains_key(TRANSFER_ENCODING) || length.is_some_and(|l| l != "0")
}

fn close_after(response: &mut Response) {
    response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
}

impl std::fmt::Debug for BearerGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerGuard")
            .field("required_scopes", &self.required_scopes)
            .field("machines", &self.machines)
            .finish()
    }
}

/// An extractor for handlers of the protected resource: the verified token's
/// [`AuthInfo`], or the request is answered with the `401`/`403` challenge
/// (which is how MCP clients discover the authorization server, RFC 9728).
#[derive(Debug, Clone)]
pub struct BearerAuth(pub AuthInfo);

impl<T> FromRequestParts<T> for BearerAuth
where
    BearerGuard: FromRef<T>,
    T: Send + Sync,
{
    type Rejection = Response;

    /// The body stays unread here (an extractor sees only the head), so a
    /// rejection of a request with a body says `Connection: close`: the
    /// client then opens a new connection instead of finding this one closed.
    async fn from_request_parts(parts: &mut Parts, state: &T) -> Result<Self, Self::Rejection> {
        let checked = BearerGuard::from_ref(state).check(parts).await;
        checked.map(BearerAuth).map_err(|mut rejection| {
            if has_body(parts) {
                close_after(&mut rejection);
            }
            rejection
        })
    }
}
