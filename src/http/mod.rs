//! The HTTP layer: every OAuth endpoint as `http::Request<Bytes>` →
//! `http::Response<Bytes>`, with no web framework and no runtime, so the same
//! code answers inside axum, a Cloudflare Worker, Deno or a browser.
//!
//! [`OAuthHttp::handle`] serves, relative to the issuer (which may have a
//! path, such as `https://example.com/auth`):
//! - `/.well-known/oauth-authorization-server<issuer path>` (RFC 8414; also
//!   `<issuer path>/.well-known/oauth-authorization-server` for clients that
//!   look there),
//! - `/.well-known/oauth-protected-resource<resource path>` for each resource,
//!   and `/.well-known/oauth-protected-resource` for the default one (RFC 9728),
//! - `<issuer>/token`, `<issuer>/register` (RFC 7591), `<issuer>/revoke`
//!   (RFC 7009) and `<issuer>/introspect` (RFC 7662), with CORS,
//! - anything else: `404` JSON.
//!
//! `<issuer>/authorize` is **not** served by `handle` (it answers `404`):
//! login and consent belong to the host app. The host routes `GET /authorize`
//! to its own handler, which calls [`OAuthHttp::authorize_request`] (an error
//! page or error redirect on failure), authenticates the user, asks for
//! consent, then calls [`Provider::complete_authorization`] and answers with
//! [`redirect`] (or [`see_other`] after a form `POST`); [`csrf`] protects
//! its consent form.
//!
//! `/register`, `/token`, `/authorize`, `/introspect` and `/revoke` are
//! rate-limited (see [`rate_limit`]): `429` with `Retry-After` over a limit.
//!
//! The resource side is [`OAuthHttp::authenticate`].

// Handlers short-circuit with the finished error response (`Err(Response)`),
// which is moved once and sent: boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

mod authorize;
mod bearer;
mod body;
mod client_auth;
mod cors;
pub mod csrf;
mod errors;
mod introspect;
mod metadata;
mod page;
pub mod rate_limit;
mod register;
mod revoke;
mod token;

use std::future::Future;

use bytes::Bytes;
use http::{Method, Request, Response};

use crate::params::Params;
use crate::provider::{AuthInfo, AuthorizationRequest, Provider};
use crate::storage::Storage;

pub use bearer::MachineClients;
pub use body::MAX_BODY_BYTES;
pub use errors::{error_response, status_for};
pub use metadata::resource_metadata_url;
pub use page::{escape_html, redirect, see_other};
pub use rate_limit::{Bucket, ClientIp, RateLimiter, RetryAfter};

use metadata::{AUTHORIZATION_SERVER, PROTECTED_RESOURCE};
use rate_limit::Limits;

/// Methods of the POST endpoints.
const POST_METHODS: &str = "POST, OPTIONS";
/// Methods of the metadata documents.
const GET_METHODS: &str = "GET, HEAD, OPTIONS";

/// The OAuth endpoints of a [`Provider`], as plain HTTP.
pub struct OAuthHttp<S: Storage> {
    provider: Provider<S>,
    /// The issuer's path without a trailing `/` (`""` at the root).
    issuer_path: String,
    /// Well-known path of each protected resource's metadata, and the resource.
    resource_routes: Vec<(String, String)>,
    /// Request limits of `/register`, `/token`, `/authorize`, `/introspect` and `/revoke`.
    limits: Limits,
}

/// Where a request goes.
enum Route {
    AuthorizationServerMetadata,
    ResourceMetadata(usize),
    Token,
    Register,
    Revoke,
    Introspect,
    Authorize,
    NotFound,
}

impl<S: Storage> OAuthHttp<S> {
    /// Wraps a provider; the routes follow from its configuration (issuer path
    /// and resources). Natively with feature `rate-limit` (part of `server`),
    /// the configuration's [`rate_limits`](crate::ProviderConfig::rate_limits)
    /// are enforced in memory by [`rate_limit::KeyedRateLimiter`] on the
    /// provider's clock; elsewhere there is no limiter until
    /// [`with_rate_limiter`](Self::with_rate_limiter).
    pub fn new(provider: Provider<S>) -> Self {
        let config = provider.config();
        let issuer_path = metadata::path_suffix(&config.issuer).unwrap_or_default();
        let mut resource_routes: Vec<(String, String)> = Vec::new();
        for resource in config.resources() {
            if let Some(suffix) = metadata::path_suffix(&resource) {
                let path = format!("{PROTECTED_RESOURCE}{suffix}");
                if !resource_routes.iter().any(|(p, _)| *p == path) {
                    resource_routes.push((path, resource));
                }
            }
        }
        if !resource_routes.iter().any(|(p, _)| p == PROTECTED_RESOURCE) {
            resource_routes.push((PROTECTED_RESOURCE.to_string(), config.default_resource()));
        }
        let limits =
            Limits::new(rate_limit::default_limiter(&config.rate_limits, provider.clock()), provider.clock());
        Self { provider, issuer_path, resource_routes, limits }
    }

    /// Replaces the rate limiter (a shared store across processes, or the
    /// JS host's). The limiter holds its own rules.
    pub fn with_rate_limiter(mut self, limiter: impl RateLimiter + 'static) -> Self {
        self.limits = Limits::new(Some(Box::new(limiter)), self.provider.clock());
        self
    }

    /// The provider behind the endpoints, for the host's consent flow and
    /// administration.
    pub fn provider(&self) -> &Provider<S> {
        &self.provider
    }

    /// Answers a request to one of the OAuth endpoints (see the module docs);
    /// `404` JSON for any other path, including `/authorize`. Never panics.
    pub async fn handle(&self, request: Request<Bytes>) -> Response<Bytes> {
        let ip = request.extensions().get::<ClientIp>().map(|ip| ip.0.clone());
        self.handle_from(request, ip.as_deref()).await
    }

    /// [`handle`](Self::handle) with the client's address given (the key
    /// of the per-IP limits) instead of read from a [`ClientIp`] extension.
    pub async fn handle_from(&self, request: Request<Bytes>, client_ip: Option<&str>) -> Response<Bytes> {
        let method = request.method().clone();
        match self.route(request.uri().path()) {
            Route::AuthorizationServerMetadata => {
                let document = metadata::authorization_server(&self.provider);
                get_document(&method, &document)
            }
            Route::ResourceMetadata(index) => {
                let resource = &self.resource_routes[index].1;
                let document = metadata::protected_resource(&self.provider, resource);
                get_document(&method, &document)
            }
            Route::Token => self.post(&request, client_ip, Route::Token).await,
            Route::Register => self.post(&request, client_ip, Route::Register).await,
            Route::Revoke => self.post(&request, client_ip, Route::Revoke).await,
            Route::Introspect => self.post(&request, client_ip, Route::Introspect).await,
            Route::Authorize => errors::not_found(
                "the authorization endpoint is served by the host application, not by handle()",
            ),
            Route::NotFound => errors::not_found("no such endpoint"),
        }
    }

    /// Parses and checks `GET /authorize` from its query string (the method
    /// and path are the host's routing). On failure the `Err` is the response
    /// to send as is: a `400` HTML page while the client or redirect URI is
    /// untrusted (never a redirect), else a `302` to the client's redirect URI;
    /// a `429` page when the request's [`ClientIp`] is over its limit.
    pub fn authorize_request<B>(
        &self,
        request: &Request<B>,
    ) -> impl Future<Output = Result<AuthorizationRequest, Response<Bytes>>> + '_ {
        let ip = request.extensions().get::<ClientIp>().map(|ip| ip.0.clone());
        self.authorize_request_from(request, ip)
    }

    /// [`authorize_request`](Self::authorize_request) with the client's
    /// address given instead of read from a [`ClientIp`] extension.
    pub fn authorize_request_from<B>(
        &self,
        request: &Request<B>,
        client_ip: Option<String>,
    ) -> impl Future<Output = Result<AuthorizationRequest, Response<Bytes>>> + '_ {
        // Read the request now, so the future holds no reference to it (and
        // stays `Send` whatever the body type).
        let params = Params::parse(request.uri().query().unwrap_or(""));
        async move {
            let limited = self.limits.check_ip(client_ip.as_deref(), Bucket::AuthorizePerIp).await;
            limited.map_err(rate_limit::too_many_requests_page)?;
            self.provider.parse_authorization(&params).await.map_err(authorize::error)
        }
    }

    /// Authenticates a request to the default protected resource
    /// ([`ProviderConfig::default_resource`](crate::ProviderConfig::default_resource)):
    /// see [`authenticate_for`](Self::authenticate_for).
    pub fn authenticate<B>(
        &self,
        request: &Request<B>,
        required_scopes: &[&str],
    ) -> impl Future<Output = Result<AuthInfo, Response<Bytes>>> + '_ {
        let resource = self.provider.config().default_resource();
        self.authenticate_for(request, &resource, required_scopes)
    }

    /// Authenticates a request to the protected resource `resource` (this MCP
    /// server's URL): the bearer token must be live, meant for `resource` and
    /// carry every scope in `required_scopes`. Otherwise the `Err` is the
    /// response to send: `401` with `WWW-Authenticate: Bearer
    /// resource_metadata="…"` (plus `error="invalid_token"` for a bad token),
    /// `403 insufficient_scope`, `400` for a malformed header, `503` when the
    /// store is down (RFC 6750 §3, RFC 9728 §5.1).
    ///
    /// Only tokens a user approved pass: one of the `client_credentials`
    /// grant (no subject) gets `403 insufficient_scope`; see
    /// [`authenticate_with`](Self::authenticate_with) for a route built for
    /// machine clients.
    pub fn authenticate_for<B>(
        &self,
        request: &Request<B>,
        resource: &str,
        required_scopes: &[&str],
    ) -> impl Future<Output = Result<AuthInfo, Response<Bytes>>> + '_ {
        self.authenticate_with(request, resource, required_scopes, MachineClients::Refused)
    }

    /// [`authenticate_for`](Self::authenticate_for), saying whether tokens
    /// that stand for no user (the `client_credentials` grant) are accepted.
    pub fn authenticate_with<B>(
        &self,
        request: &Request<B>,
        resource: &str,
        required_scopes: &[&str],
        machines: MachineClients,
    ) -> impl Future<Output = Result<AuthInfo, Response<Bytes>>> + '_ {
        let credential = bearer::credential(request.headers());
        let resource = resource.to_string();
        let scopes: Vec<String> = required_scopes.iter().map(|s| s.to_string()).collect();
        async move { bearer::authenticate(&self.provider, credential, &resource, &scopes, machines).await }
    }

    fn route(&self, path: &str) -> Route {
        if path == format!("{AUTHORIZATION_SERVER}{}", self.issuer_path)
            || (!self.issuer_path.is_empty() && path == format!("{}{AUTHORIZATION_SERVER}", self.issuer_path))
        {
            return Route::AuthorizationServerMetadata;
        }
        if let Some(index) = self.resource_routes.iter().position(|(p, _)| p == path) {
            return Route::ResourceMetadata(index);
        }
        match path.strip_prefix(self.issuer_path.as_str()) {
            Some("/token") => Route::Token,
            Some("/register") => Route::Register,
            Some("/revoke") => Route::Revoke,
            Some("/introspect") => Route::Introspect,
            Some("/authorize") => Route::Authorize,
            _ => Route::NotFound,
        }
    }

    /// A CORS-enabled POST endpoint: preflight, 405, or the endpoint itself.
    async fn post(&self, request: &Request<Bytes>, ip: Option<&str>, route: Route) -> Response<Bytes> {
        let response = match *request.method() {
            Method::OPTIONS => return cors::preflight(POST_METHODS),
            Method::POST => match route {
                Route::Token => token::token(&self.provider, (&self.limits, ip), request).await,
                Route::Register => register::register(&self.provider, (&self.limits, ip), request).await,
                Route::Revoke => revoke::revoke(&self.provider, (&self.limits, ip), request).await,
                Route::Introspect => {
                    introspect::introspect(&self.provider, (&self.limits, ip), request).await
                }
                _ => errors::not_found("no such endpoint"),
            },
            _ => body::method_not_allowed(POST_METHODS),
        };
        cors::with_cors(response)
    }
}

/// A metadata document for `GET`/`HEAD`, a preflight, or `405`, with CORS.
fn get_document(method: &Method, document: &serde_json::Value) -> Response<Bytes> {
    let response = match *method {
        Method::GET => metadata::document_response(document, false),
        Method::HEAD => metadata::document_response(document, true),
        Method::OPTIONS => return cors::preflight(GET_METHODS),
        _ => body::method_not_allowed(GET_METHODS),
    };
    cors::with_cors(response)
}
