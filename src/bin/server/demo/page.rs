//! HTML responses of the demo's pages: never cached, framed or sniffed.

use axum::body::Body;
use axum::response::Response;
use http::header::{
    CACHE_CONTROL, CONTENT_TYPE, LOCATION, REFERRER_POLICY, SET_COOKIE, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use http::{HeaderValue, StatusCode};

use simply_mcp_oauth::error::{ErrorCode, OAuthError};
use simply_mcp_oauth::http::escape_html as escape;

/// No scripts, no framing (consent and revoke buttons are clickjacking
/// targets), no leaks.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

/// An HTML response that is never cached, framed or sniffed.
pub(super) fn html(status: StatusCode, page: String) -> Response {
    let mut response = Response::new(Body::from(page));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert("content-security-policy", HeaderValue::from_static(CSP));
    response
}

/// `response` setting a form's CSRF cookie
/// ([`CsrfCookie::set`](simply_mcp_oauth::http::csrf::CsrfCookie::set); `None`
/// sets nothing, and the form's `POST` is then refused).
pub(super) fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(value) = cookie {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

/// An error shown to the user under `title`, never redirected.
pub(super) fn error_page(title: &str, error: &OAuthError) -> Response {
    let status = match error.code {
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p><code>{}</code>: {}</p></body></html>\n",
        escape(error.code.as_str()),
        escape(&error.description),
        title = escape(title),
    );
    html(status, page)
}

/// `303 See Other`: the browser follows with a `GET`, as a form result should.
pub(super) fn see_other(location: &str) -> Response {
    let Ok(value) = HeaderValue::try_from(location) else {
        return error_page(
            "Request failed",
            &OAuthError::new(ErrorCode::ServerError, "unusable redirect URI"),
        );
    };
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    response.headers_mut().insert(LOCATION, value);
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
