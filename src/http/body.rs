//! Request bodies and methods: size limit, media type, UTF-8, and the 405
//! answer, each as an RFC 6749-shaped JSON error.

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderMap, Request, Response, StatusCode};
use serde::de::DeserializeOwned;

use super::errors::{error_response, error_with_status, set_static};
use crate::error::{ErrorCode, OAuthError};
use crate::params::Params;

/// Largest request body the endpoints accept (64 KiB). Hosts should stop
/// reading a body at this size too, before buffering it.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// `405` with the `Allow` header listing what the endpoint takes.
pub(crate) fn method_not_allowed(allow: &'static str) -> Response<Bytes> {
    let error = OAuthError::invalid_request("method not allowed on this endpoint");
    let mut response = error_with_status(StatusCode::METHOD_NOT_ALLOWED, &error);
    set_static(&mut response, ALLOW, allow);
    response
}

/// The form parameters of a POST to `/token`, `/revoke` or `/introspect`.
pub(crate) fn form(request: &Request<Bytes>) -> Result<Params, Response<Bytes>> {
    let text = text_body(request, FORM)?;
    Ok(Params::parse(text))
}

/// The JSON body of a POST to `/register`, as `T`. The top level must be an
/// object; anything malformed is `invalid_client_metadata` (RFC 7591 §3.2.2).
pub(crate) fn json<T: DeserializeOwned>(request: &Request<Bytes>) -> Result<T, Response<Bytes>> {
    let text = text_body(request, JSON)?;
    let bad = |why: String| Err(error_response(&OAuthError::new(ErrorCode::InvalidClientMetadata, why)));
    if !text.trim_start().starts_with('{') {
        return bad("the body must be a JSON object".into());
    }
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(e) => bad(format!(
            "malformed client metadata ({}) at line {} column {}",
            match e.classify() {
                serde_json::error::Category::Data => "a field has the wrong type or is repeated",
                serde_json::error::Category::Eof => "unexpected end of input",
                serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
                    "invalid JSON"
                }
            },
            e.line(),
            e.column()
        )),
    }
}

/// The body as text after the size, media type and UTF-8 checks.
fn text_body<'a>(request: &'a Request<Bytes>, expected: &str) -> Result<&'a str, Response<Bytes>> {
    if request.body().len() > MAX_BODY_BYTES {
        let error = OAuthError::invalid_request(format!("the request body exceeds {MAX_BODY_BYTES} bytes"));
        return Err(error_with_status(StatusCode::PAYLOAD_TOO_LARGE, &error));
    }
    check_media_type(request.headers(), expected)?;
    std::str::from_utf8(request.body())
        .map_err(|_| error_response(&OAuthError::invalid_request("the request body is not UTF-8")))
}

/// `Content-Type` must be exactly one header naming `expected`; parameters
/// (such as `charset`) are ignored.
fn check_media_type(headers: &HeaderMap, expected: &str) -> Result<(), Response<Bytes>> {
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(wrong_media_type(expected));
    };
    let essence = value.to_str().ok().and_then(|v| v.split(';').next()).map(str::trim).unwrap_or_default();
    if essence.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(wrong_media_type(expected))
    }
}

fn wrong_media_type(expected: &str) -> Response<Bytes> {
    let error = OAuthError::invalid_request(format!("Content-Type must be {expected}"));
    error_with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE, &error)
}

/// `invalid_request` if any of `names` is repeated (RFC 6749 §3.2); a repeated
/// `resource` is `invalid_target`, since one token serves one resource here.
pub(crate) fn check_single_valued(params: &Params, names: &[&str]) -> Result<(), Response<Bytes>> {
    for name in names {
        if let Err(error) = params.single(name) {
            let error = if *name == "resource" {
                OAuthError::new(ErrorCode::InvalidTarget, "only one resource per request is supported")
            } else {
                error
            };
            return Err(error_response(&error));
        }
    }
    Ok(())
}
