//! The introspection endpoint (RFC 7662): a resource server, or a client for
//! its own tokens, asks whether a token is live and what it stands for.

use bytes::Bytes;
use http::{Request, Response, StatusCode};

use super::client_auth::{client_error, token_form};
use super::errors::json_response;
use super::rate_limit::{too_many_requests, Bucket, Limited};
use crate::provider::Provider;
use crate::storage::Storage;

/// `POST /introspect`: `{"active": false}` for anything not live (RFC 7662
/// §2.2), the token's details otherwise.
pub(crate) async fn introspect<S: Storage>(
    provider: &Provider<S>,
    limited: Limited<'_>,
    request: &Request<Bytes>,
) -> Response<Bytes> {
    match run(provider, limited, request).await {
        Ok(response) | Err(response) => response,
    }
}

async fn run<S: Storage>(
    provider: &Provider<S>,
    (limits, ip): Limited<'_>,
    request: &Request<Bytes>,
) -> Result<Response<Bytes>, Response<Bytes>> {
    let limited = |retry| too_many_requests("introspection", retry);
    limits.check_ip(ip, Bucket::IntrospectPerIp).await.map_err(limited)?;
    let realm = provider.config().issuer.as_str();
    let (auth, token) = token_form(request, realm)?;
    let answer = provider.introspect(&auth, &token).await.map_err(|e| client_error(&e, &auth, realm))?;
    Ok(json_response(StatusCode::OK, &answer))
}
