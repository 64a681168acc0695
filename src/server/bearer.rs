//! Guarding the application's own routes: a bearer-token extractor backed by
//! [`OAuthHttp::authenticate`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::response::Response;
use bytes::Bytes;
use http::request::Parts;

use super::body::into_axum_response;
use crate::http::OAuthHttp;
use crate::provider::AuthInfo;
use crate::storage::Storage;

type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<AuthInfo, http::Response<Bytes>>> + Send + 'a>>;

/// [`OAuthHttp::authenticate`] with the storage type erased, so that neither
/// the guard nor the extractor carries a type parameter.
trait Authenticator: Send + Sync + 'static {
    fn authenticate<'a>(
        &'a self,
        request: &'a http::Request<()>,
        required_scopes: &'a [&'a str],
    ) -> AuthFuture<'a>;
}

impl<S: Storage + 'static> Authenticator for OAuthHttp<S> {
    fn authenticate<'a>(
        &'a self,
        request: &'a http::Request<()>,
        required_scopes: &'a [&'a str],
    ) -> AuthFuture<'a> {
        Box::pin(OAuthHttp::authenticate(self, request, required_scopes))
    }
}

/// What [`BearerAuth`] checks against: the provider and the scopes a token
/// must carry. Cheap to clone; put it in the router state, or make it
/// reachable from yours with [`FromRef`].
#[derive(Clone)]
pub struct BearerGuard {
    auth: Arc<dyn Authenticator>,
    required_scopes: Arc<[String]>,
}

impl BearerGuard {
    /// A guard accepting any live token for the provider's resource.
    pub fn new<S: Storage + 'static>(oauth: Arc<OAuthHttp<S>>) -> Self {
        Self { auth: oauth, required_scopes: Arc::from(Vec::new()) }
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
        self.auth.authenticate(&request, &scopes).await.map_err(into_axum_response)
    }
}

impl std::fmt::Debug for BearerGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerGuard").field("required_scopes", &self.required_scopes).finish()
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

    async fn from_request_parts(parts: &mut Parts, state: &T) -> Result<Self, Self::Rejection> {
        BearerGuard::from_ref(state).check(parts).await.map(BearerAuth)
    }
}
