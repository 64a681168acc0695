//! The token endpoint (RFC 6749 §3.2, OAuth 2.1 §3.2): one form POST,
//! dispatched on `grant_type` to the provider.

use bytes::Bytes;
use http::{Request, Response, StatusCode};

use super::body;
use super::client_auth::{client_auth, client_error};
use super::errors::{error_response, json_response};
use super::rate_limit::{too_many_requests, Bucket, Limited};
use crate::error::{ErrorCode, OAuthError};
use crate::provider::Provider;
use crate::storage::Storage;

/// Parameters of the token endpoint that may appear at most once.
const SINGLE_VALUED: [&str; 9] = [
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "resource",
    "client_id",
    "client_secret",
];

/// `POST /token`: `429` over the client IP's limit (before the body is
/// read) or over the client's. The client's limit counts only a client
/// that proved it is that client, so naming someone else's `client_id`
/// spends only one's own address's limit: a confidential client is
/// authenticated by the provider first, then counted; a public client, whom
/// anyone can name, is counted once its code or refresh token checked out.
pub(crate) async fn token<S: Storage>(
    provider: &Provider<S>,
    (limits, ip): Limited<'_>,
    request: &Request<Bytes>,
) -> Response<Bytes> {
    match run(provider, (limits, ip), request).await {
        Ok(response) | Err(response) => response,
    }
}

async fn run<S: Storage>(
    provider: &Provider<S>,
    (limits, ip): Limited<'_>,
    request: &Request<Bytes>,
) -> Result<Response<Bytes>, Response<Bytes>> {
    let limited = |retry| too_many_requests("token", retry);
    limits.check_ip(ip, Bucket::TokenPerIp).await.map_err(limited)?;
    let params = body::form(request)?;
    body::check_single_valued(&params, &SINGLE_VALUED)?;
    let realm = provider.config().issuer.as_str();
    let auth = client_auth(request.headers(), &params, realm)?;
    let fail = |e: OAuthError| client_error(&e, &auth, realm);
    let confidential = auth.secret.is_some();
    if confidential {
        provider.authenticate_client(&auth).await.map_err(fail)?;
        limits.check(Bucket::TokenPerClient, &auth.client_id).await.map_err(limited)?;
    } else {
        limits.check_owed(Bucket::TokenPerClient, &auth.client_id).await.map_err(limited)?;
    }
    let param = |name: &str| params.single(name).map_err(|e| error_response(&e));
    let required = |name: &str| params.required(name).map_err(|e| error_response(&e));
    let resource = param("resource")?;
    let issued = match required("grant_type")? {
        "authorization_code" => {
            let code = required("code")?;
            let redirect_uri = required("redirect_uri")?;
            let verifier = required("code_verifier")?;
            provider.exchange_authorization_code(&auth, code, redirect_uri, verifier, resource).await
        }
        "refresh_token" => {
            let refresh_token = required("refresh_token")?;
            provider.exchange_refresh_token(&auth, refresh_token, param("scope")?, resource).await
        }
        "client_credentials" => provider.exchange_client_credentials(&auth, param("scope")?, resource).await,
        _ => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "grant_type must be authorization_code, refresh_token or client_credentials",
        )),
    };
    let tokens = issued.map_err(fail)?;
    if !confidential {
        // Answered even when this one went over: the code or refresh token
        // is spent. The client's next request waits instead.
        let _ = limits.count_after(Bucket::TokenPerClient, &auth.client_id).await;
    }
    Ok(json_response(StatusCode::OK, &tokens))
}
