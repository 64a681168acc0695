//! What the browser is shown by the authorization step: the error page
//! (for `/authorize` errors and its `429`), the `302` and `303` redirects,
//! and the headers that keep them out of caches, frames and referrers.

use bytes::Bytes;
use http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION};
use http::{Response, StatusCode};

use super::errors::{error_response, no_store, set_dynamic, set_static};
use crate::error::{ErrorCode, OAuthError};

/// The error page itself: `code`, `description` and `advice` for the user,
/// escaped.
pub(super) fn page(status: StatusCode, code: &str, description: &str, advice: &str) -> Response<Bytes> {
    page_with(status, code, description, advice, "")
}

/// [`page`] with `extra_html` (already escaped) after the advice.
pub(super) fn page_with(
    status: StatusCode,
    code: &str,
    description: &str,
    advice: &str,
    extra_html: &str,
) -> Response<Bytes> {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Authorization error</title></head><body>\
         <h1>Authorization error</h1><p><code>{}</code></p><p>{}</p>\
         <p>{}</p>{extra_html}</body></html>\n",
        escape_html(code),
        escape_html(description),
        escape_html(advice),
    );
    let mut response = Response::new(Bytes::from(html));
    *response.status_mut() = status;
    set_static(&mut response, CONTENT_TYPE, "text/html; charset=utf-8");
    harden(&mut response);
    response
}

/// A `302 Found` to `location`, never cached: the answer to `GET /authorize`
/// (an error for the client, or the code after consent the host handled in
/// the same request). A location that cannot be a header (control characters)
/// yields a `500` instead of a broken redirect.
pub fn redirect(location: &str) -> Response<Bytes> {
    redirect_with(StatusCode::FOUND, location)
}

/// A `303 See Other` to `location`, never cached: the answer to the host's
/// consent form `POST`, so the browser follows with a `GET` and does not
/// resubmit the form.
pub fn see_other(location: &str) -> Response<Bytes> {
    redirect_with(StatusCode::SEE_OTHER, location)
}

fn redirect_with(status: StatusCode, location: &str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    if !set_dynamic(&mut response, LOCATION, location) {
        return error_response(&OAuthError::new(
            ErrorCode::ServerError,
            "the redirect location is not a valid URL",
        ));
    }
    harden(&mut response);
    response
}

/// No caching, no framing, no referrer (the URL may hold a code), no scripts.
fn harden(response: &mut Response<Bytes>) {
    no_store(response);
    set_static(
        response,
        CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    );
    set_static(response, http::header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_static(response, http::header::X_FRAME_OPTIONS, "DENY");
    set_static(response, http::header::REFERRER_POLICY, "no-referrer");
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape_html("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
        );
    }

    #[test]
    fn redirect_refuses_header_injection() {
        assert_eq!(redirect("https://a.example/cb?x=1").status(), StatusCode::FOUND);
        assert_eq!(redirect("https://a.example/\r\nSet-Cookie: x=1").status(), 500);
        assert_eq!(see_other("https://a.example/cb").status(), StatusCode::SEE_OTHER);
    }
}
