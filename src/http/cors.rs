//! CORS for the endpoints browsers call directly (metadata, `/token`,
//! `/register`, `/revoke`, `/introspect`): browser-based MCP clients run on
//! other origins. Never on `/authorize`, which is a top-level navigation.

use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ALLOW,
};
use http::{Response, StatusCode};

use super::errors::set_static;

/// Headers a browser client may send to the OAuth endpoints.
const ALLOW_HEADERS: &str = "Authorization, Content-Type, MCP-Protocol-Version";

/// Opens a response to every origin. No cookies are involved (credentials
/// travel in headers and bodies), so `*` is safe here.
pub(crate) fn with_cors(mut response: Response<Bytes>) -> Response<Bytes> {
    set_static(&mut response, ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    set_static(&mut response, ACCESS_CONTROL_EXPOSE_HEADERS, "WWW-Authenticate, Retry-After");
    response
}

/// The `204` answer to a preflight (or plain `OPTIONS`) for an endpoint that
/// takes `methods` (for example `"POST, OPTIONS"`).
pub(crate) fn preflight(methods: &'static str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    set_static(&mut response, ALLOW, methods);
    set_static(&mut response, ACCESS_CONTROL_ALLOW_METHODS, methods);
    set_static(&mut response, ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS);
    set_static(&mut response, ACCESS_CONTROL_MAX_AGE, "86400");
    with_cors(response)
}
