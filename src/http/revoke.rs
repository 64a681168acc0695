//! The revocation endpoint (RFC 7009): a client ends one of its tokens, and
//! with it the whole grant (access and refresh tokens alike).

use bytes::Bytes;
use http::{Request, Response, StatusCode};

use super::client_auth::{client_error, token_form};
use super::errors::no_store;
use super::rate_limit::{too_many_requests, Bucket, Limited};
use crate::provider::Provider;
use crate::storage::Storage;

/// `POST /revoke`. Always `200` with an empty body once the client is
/// authenticated, whether or not the token was known (RFC 7009 §2.2), so the
/// answer reveals nothing about other clients' tokens. `token_type_hint` is
/// accepted and not needed: a token's kind is found from the token itself.
pub(crate) async fn revoke<S: Storage>(
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
    let limited = |retry| too_many_requests("revocation", retry);
    limits.check_ip(ip, Bucket::RevokePerIp).await.map_err(limited)?;
    let realm = provider.config().issuer.as_str();
    let (auth, token) = token_form(request, realm)?;
    provider.revoke(&auth, &token).await.map_err(|e| client_error(&e, &auth, realm))?;
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::OK;
    no_store(&mut response);
    Ok(response)
}
