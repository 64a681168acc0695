//! Standard `Request`/`Response` objects to and from `http` types.

use bytes::Bytes;
use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::errors::js_error;
use crate::http::MAX_BODY_BYTES;

/// The request headers the HTTP layer looks at.
const READ_HEADERS: [http::HeaderName; 6] = [
    http::header::AUTHORIZATION,
    http::header::CONTENT_TYPE,
    http::header::CONTENT_LENGTH,
    http::header::ORIGIN,
    http::header::ACCESS_CONTROL_REQUEST_METHOD,
    http::header::ACCESS_CONTROL_REQUEST_HEADERS,
];

/// Reads a web `Request` into an `http::Request` (path and query only: the
/// HTTP layer routes relative to the issuer). Bodies past the limit are cut
/// to `limit + 1` bytes so the HTTP layer answers 413 without buffering more.
pub(crate) async fn to_http(request: &web_sys::Request) -> Result<http::Request<Bytes>, JsValue> {
    let target = crate::uri::request_target(&request.url())
        .ok_or_else(|| js_error("the request URL is not absolute", None))?;
    let mut builder = http::Request::builder().method(request.method().as_str()).uri(target);
    let entries =
        js_sys::try_iter(&request.headers())?.ok_or_else(|| js_error("unreadable headers", None))?;
    for entry in entries {
        let pair: Array = entry?.dyn_into()?;
        let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) else { continue };
        // `Headers` yields lowercase names; only those the HTTP layer reads are
        // copied, by constant, which keeps http's header-name parser (17 KB)
        // out of the module.
        if let Some(known) = READ_HEADERS.iter().find(|known| known.as_str() == name) {
            builder = builder.header(known.clone(), value);
        }
    }
    let body = if matches!(request.method().as_str(), "GET" | "HEAD") {
        Bytes::new()
    } else {
        let buffer = JsFuture::from(request.array_buffer()?).await?;
        let array = Uint8Array::new(&buffer);
        let length = (array.length() as usize).min(MAX_BODY_BYTES + 1);
        Bytes::from(array.subarray(0, length as u32).to_vec())
    };
    builder.body(body).map_err(|e| js_error(&format!("malformed request: {e}"), Some("invalid_request")))
}

/// Builds a web `Response`.
pub(crate) fn to_web(response: http::Response<Bytes>) -> Result<web_sys::Response, JsValue> {
    let headers = web_sys::Headers::new()?;
    for (name, value) in response.headers() {
        if let Ok(value) = value.to_str() {
            headers.append(name.as_str(), value)?;
        }
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(response.status().as_u16());
    init.set_headers(&headers);
    let status = response.status().as_u16();
    let null_body = matches!(status, 101 | 204 | 205 | 304);
    let mut body = response.into_body().to_vec();
    if null_body {
        web_sys::Response::new_with_opt_u8_array_and_init(None, &init)
    } else {
        web_sys::Response::new_with_opt_u8_array_and_init(Some(&mut body), &init)
    }
}
