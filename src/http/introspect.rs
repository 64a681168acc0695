//! The introspection endpoint (RFC 7662): a resource server, or a client for
//! its own tokens, asks whether a token is live and what it stands for.

use bytes::Bytes;
use http::{Request, Response, StatusCode};

use super::body;
use super::client_auth::{client_auth, client_error};
use super::errors::{error_response, json_response};
use super::token::check_single_valued;
use crate::provider::Provider;
use crate::storage::Storage;

/// `POST /introspect`: `{"active": false}` for anything not live (RFC 7662
/// §2.2), the token's details otherwise.
pub(crate) async fn introspect<S: Storage>(
    provider: &Provider<S>,
    request: &Request<Bytes>,
) -> Response<Bytes> {
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
    let answer = provider.introspect(&auth, token).await.map_err(|e| client_error(&e, &auth, realm))?;
    Ok(json_response(StatusCode::OK, &answer))
}
