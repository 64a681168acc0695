//! Moving requests and responses between axum and the framework-free
//! `http::Request<Bytes>` / `http::Response<Bytes>` of the HTTP layer.

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

pub use crate::http::MAX_BODY_BYTES;

/// Reads the whole body (at most [`MAX_BODY_BYTES`]) into a
/// `http::Request<Bytes>`. Too large is `413`, an unreadable body `400`, both
/// as RFC 6749-shaped JSON; never a `500`.
pub async fn buffer_request(request: Request) -> Result<http::Request<Bytes>, Response> {
    let (parts, body) = request.into_parts();
    if declared_length(&parts.headers).is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(http::Request::from_parts(parts, collected.to_bytes())),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(_) => {
            Err(json_error(StatusCode::BAD_REQUEST, "invalid_request", "the request body could not be read"))
        }
    }
}

/// The HTTP layer's response as an axum response.
pub fn into_axum_response(response: http::Response<Bytes>) -> Response {
    response.map(Body::from)
}

/// `Content-Length`, when present and numeric.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

fn too_large() -> Response {
    json_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        &format!("the request body exceeds {MAX_BODY_BYTES} bytes"),
    )
}

/// An error in the shape the OAuth endpoints use (RFC 6749 §5.2), uncached:
/// for an app's own routes beside them (the demo server's `/health`).
pub fn json_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = serde_json::json!({ "error": error, "error_description": description });
    json_response(status, &body)
}

/// A JSON response that is never cached.
pub fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
