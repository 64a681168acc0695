//! The authorization endpoint's HTTP side: errors before the redirect URI is
//! trusted become an HTML page (never a redirect: no open redirector), and so
//! do errors for clients nobody vetted (a page with a link back to their
//! site); errors for configured clients and the final answer become
//! redirects. Login and consent are the host app's; it renders its own pages
//! between the two.

use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{Response, StatusCode};

use super::errors::{set_static, status_for};
use super::page::{escape_html, page, page_with, redirect};
use super::rate_limit::{too_many_requests_page, Bucket};
use super::OAuthHttp;
use crate::error::{ErrorCode, OAuthError};
use crate::provider::AuthorizeError;
use crate::storage::Storage;

impl<S: Storage> OAuthHttp<S> {
    /// Counts a request of the authorization step that does not go through
    /// [`authorize_request`](Self::authorize_request), such as the host's
    /// consent form `POST`, against the same per-address limit
    /// ([`Bucket::AuthorizePerIp`]): otherwise the form would be a way
    /// around it. `Err` is the `429` page to send. A `client_ip` of `None`
    /// is not counted.
    pub async fn limit_authorization_step(&self, client_ip: Option<&str>) -> Result<(), Response<Bytes>> {
        self.limits.check_ip(client_ip, Bucket::AuthorizePerIp).await.map_err(too_many_requests_page)
    }
}

/// The response for a failed authorization request.
pub(crate) fn error(error: AuthorizeError) -> Response<Bytes> {
    match error {
        AuthorizeError::BadRequest(error) => error_page(&error),
        AuthorizeError::Unvetted { error, site } => unvetted_page(&error, site.as_deref()),
        AuthorizeError::Redirect { location, .. } => redirect(&location),
    }
}

/// A `400` page for a client nobody vetted: it names the error and offers a
/// link back to the client's site, so the user decides to go there; an
/// automatic redirect would let anyone aim this server at any URL.
fn unvetted_page(error: &OAuthError, site: Option<&str>) -> Response<Bytes> {
    let back = match site {
        Some(site) => format!("<p><a href=\"{0}\" rel=\"noreferrer\">Back to {0}</a></p>", escape_html(site)),
        None => String::new(),
    };
    let advice = "The application that sent you here made a request this server cannot accept.";
    page_with(StatusCode::BAD_REQUEST, error.code.as_str(), &error.description, advice, &back)
}

/// An error page for the user (`400`; `503` or `500` when the store failed):
/// the client cannot be told, because its redirect URI is not trusted yet.
/// Every dynamic string is HTML-escaped.
fn error_page(error: &OAuthError) -> Response<Bytes> {
    let advice = "The application that sent you here is misconfigured. You can close this page.";
    let mut response = page(status_for(error.code), error.code.as_str(), &error.description, advice);
    if error.code == ErrorCode::TemporarilyUnavailable {
        set_static(&mut response, RETRY_AFTER, "5");
    }
    response
}
