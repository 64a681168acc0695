//! The HTTP layer: every OAuth endpoint as `http::Request<Bytes>` →
//! `http::Response<Bytes>`, with no web framework and no runtime, so the same
//! code answers inside axum, a Cloudflare Worker, Deno or a browser.
//!
//! Endpoints (design §3): `/.well-known/oauth-authorization-server` (RFC 8414),
//! `/.well-known/oauth-protected-resource[/<path>]` (RFC 9728), `/authorize`
//! (parse only: login and consent belong to the host app), `/token`,
//! `/register` (RFC 7591), `/revoke` (RFC 7009), `/introspect` (RFC 7662).
//! The resource side is [`OAuthHttp::authenticate`].

use bytes::Bytes;
use http::{Request, Response};

use crate::provider::{AuthInfo, Provider};
use crate::storage::Storage;

/// The OAuth endpoints of a [`Provider`], as plain HTTP.
pub struct OAuthHttp<S: Storage> {
    provider: Provider<S>,
}

impl<S: Storage> OAuthHttp<S> {
    /// Wraps a provider.
    pub fn new(provider: Provider<S>) -> Self {
        Self { provider }
    }

    /// The provider behind the endpoints.
    pub fn provider(&self) -> &Provider<S> {
        &self.provider
    }

    /// Answers a request to one of the OAuth endpoints; `404` JSON for any other path.
    pub async fn handle(&self, request: Request<Bytes>) -> Response<Bytes> {
        let _ = request;
        todo!("http layer")
    }

    /// Authenticates a request to the protected resource: the bearer token must
    /// be live, meant for `resource` (this MCP server's URL) and carry every
    /// scope in `required_scopes`. Otherwise the `Err` is the 401/403 response
    /// to send, with its `WWW-Authenticate` challenge (RFC 6750 §3, RFC 9728 §5.1).
    pub async fn authenticate<B>(
        &self,
        request: &Request<B>,
        required_scopes: &[&str],
    ) -> Result<AuthInfo, Response<Bytes>> {
        let _ = (request, required_scopes);
        todo!("http layer")
    }
}
