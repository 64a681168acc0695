//! The revocation endpoint (RFC 7009): a client ends one of its tokens, and
//! with it the whole grant (access and refresh tokens alike).

use bytes::Bytes;
use http::{Request, Response, StatusCode};

use super::body;
use super::client_auth::{client_auth, client_error};
use super::errors::{error_response, no_store};
use super::token::check_single_valued;
use crate::provider::Provider;
use crate::storage::Storage;

/// `POST /revoke`. Always `200` with an empty body once the client is
/// authenticated, whether or not the token was known (RFC 7009 §2.2), so the
/// answer reveals nothing about other clients' tokens. `token_type_hint` is
/// accepted and not needed: a token's kind is found from the token itself.
pub(crate) async fn revoke<S: Storage>(provider: &Provider<S>, request: &Request<Bytes>) -> Response<Bytes> {
    match run(provider, request).await {
        Ok(response) | Err(response) => response,
    }
}

async fn run<S: Storage>(
    provider: &Provider<S>,
    request: &Request<Bytes>,
) -> Result<Response<Bytes>, Response<Bytes>> {
    let params = body::form(request)?;
    check_single_valued(&params, &["token", "token_type_hint", "client_id", "client_secret"])?;
    let realm = provider.config().issuer.as_str();
    let auth = client_auth(request.headers(), &params, realm)?;
    let token = params.required("token").map_err(|e| error_response(&e))?;
    provider.revoke(&auth, token).await.map_err(|e| client_error(&e, &auth, realm))?;
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::OK;
    no_store(&mut response);
    Ok(response)
}
