//! OAuth errors as HTTP responses: the status of every [`ErrorCode`] is
//! decided here, once, and every error body is RFC 6749 §5.2 JSON.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, RETRY_AFTER};
use http::{Response, StatusCode};
use serde::Serialize;

use crate::error::{ErrorCode, OAuthError};

/// Seconds a client should wait before retrying when the store is unavailable.
const RETRY_AFTER_SECONDS: &str = "5";

/// The HTTP status for an OAuth error code, so that every endpoint answers the
/// same error with the same status (RFC 6749 §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2).
pub fn status_for(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidRequest
        | ErrorCode::InvalidGrant
        | ErrorCode::UnauthorizedClient
        | ErrorCode::UnsupportedGrantType
        | ErrorCode::InvalidScope
        | ErrorCode::InvalidTarget
        | ErrorCode::UnsupportedResponseType
        | ErrorCode::UnsupportedTokenType
        | ErrorCode::InvalidRedirectUri
        | ErrorCode::InvalidClientMetadata => StatusCode::BAD_REQUEST,
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::AccessDenied | ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An OAuth error as the JSON response a client expects: the status from
/// [`status_for`], `no-store` caching, and `Retry-After` when the store is down.
/// Hosts use it to answer errors of their own routes in the same shape.
pub fn error_response(error: &OAuthError) -> Response<Bytes> {
    error_with_status(status_for(error.code), error)
}

/// An OAuth error body with a transport-level status (405, 413, 415) that the
/// error code alone does not imply.
pub(crate) fn error_with_status(status: StatusCode, error: &OAuthError) -> Response<Bytes> {
    let body = ErrorBody { error: error.code.as_str(), error_description: &error.description };
    let mut response = json_response(status, &body);
    if error.code == ErrorCode::TemporarilyUnavailable {
        set_static(&mut response, RETRY_AFTER, RETRY_AFTER_SECONDS);
    }
    response
}

/// An error body of the RFC 6749 shape with a code the protocol does not
/// define (`too_many_requests`, `not_found`).
pub(crate) fn json_error(status: StatusCode, error: &str, description: &str) -> Response<Bytes> {
    json_response(status, &ErrorBody { error, error_description: description })
}

/// `404` with a JSON body of the same shape as OAuth errors.
pub(crate) fn not_found(description: &str) -> Response<Bytes> {
    json_error(StatusCode::NOT_FOUND, "not_found", description)
}

/// `invalid_client` with the `WWW-Authenticate: Basic` challenge RFC 6749 §5.2
/// requires when the client tried HTTP Basic.
pub(crate) fn with_basic_challenge(mut response: Response<Bytes>, realm: &str) -> Response<Bytes> {
    let value = format!("Basic realm=\"{}\", charset=\"UTF-8\"", quoted_string_safe(realm));
    set_dynamic(&mut response, http::header::WWW_AUTHENTICATE, &value);
    response
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// A JSON response that is never cached (tokens, errors, registrations).
pub(crate) fn json_response(status: StatusCode, value: &impl Serialize) -> Response<Bytes> {
    let body = match serde_json::to_vec(value) {
        Ok(body) => body,
        // Our own types always serialize; answer plainly if one ever does not.
        Err(_) => {
            let mut response = Response::new(Bytes::from_static(
                b"{\"error\":\"server_error\",\"error_description\":\"response encoding failed\"}",
            ));
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            set_static(&mut response, CONTENT_TYPE, "application/json");
            no_store(&mut response);
            return response;
        }
    };
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    set_static(&mut response, CONTENT_TYPE, "application/json");
    no_store(&mut response);
    response
}

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
pub(crate) fn no_store(response: &mut Response<Bytes>) {
    set_static(response, CACHE_CONTROL, "no-store");
    set_static(response, PRAGMA, "no-cache");
}

/// Sets a header to a constant value.
pub(crate) fn set_static(response: &mut Response<Bytes>, name: HeaderName, value: &'static str) {
    response.headers_mut().insert(name, HeaderValue::from_static(value));
}

/// Sets a header to a computed value; `false` (and nothing set) if the value
/// cannot be a header (control characters), so that no input can panic.
pub(crate) fn set_dynamic(response: &mut Response<Bytes>, name: HeaderName, value: &str) -> bool {
    match HeaderValue::from_str(value) {
        Ok(value) => {
            response.headers_mut().insert(name, value);
            true
        }
        Err(_) => false,
    }
}

/// Text made safe inside an RFC 7235 quoted-string and within RFC 6750's
/// `error_description` alphabet: printable ASCII without `"` and `\`.
pub(crate) fn quoted_string_safe(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '?' })
        .collect()
}
