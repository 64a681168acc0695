//! A minimal consent page, built from the library's public pieces
//! (`authorize_request`, `parse_authorization`, `complete_authorization`).
//! It signs everyone in as [`EXAMPLE_USER`]: a real server puts its login
//! here.
//!
//! CSRF: the `GET` puts a random nonce in an `HttpOnly; SameSite=Strict`
//! cookie ([`CsrfCookie`]) and in the form; the `POST` needs both, equal. The
//! form's other fields are checked again by `parse_authorization`, so a
//! tampered form can only ask for what the client may ask for anyway. (The
//! demo server's consent page signs the form instead, with an expiry and
//! the fields in the MAC: [`simply_mcp_oauth::http::csrf::token`].)

use axum::extract::{Request, State};
use axum::response::{Html, IntoResponse, Response};
use http::header::{CACHE_CONTROL, SET_COOKIE, X_FRAME_OPTIONS};
use http::StatusCode;
use simply_mcp_oauth::crypto::{constant_time_eq, random_secret};
use simply_mcp_oauth::http::csrf::CsrfCookie;
use simply_mcp_oauth::http::{escape_html, see_other};
use simply_mcp_oauth::provider::{Approval, AuthorizeError};
use simply_mcp_oauth::server::{buffer_request, into_axum_response};
use simply_mcp_oauth::Params;

use crate::OAuth;

/// The one user of this example.
pub const EXAMPLE_USER: &str = "example-user";
/// The nonce's cookie: over plain `http` (this example's default), so
/// without the `__Host-` prefix.
const COOKIE: CsrfCookie<'static> =
    CsrfCookie { name: "rmcp_example_csrf", path: "/authorize", secure: false };
const CSRF_FIELD: &str = "csrf";
const ACTION_FIELD: &str = "action";

/// `GET /authorize`: the request checked by the HTTP layer, then the page.
pub async fn show(State(oauth): State<OAuth>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let head = http::Request::from_parts(parts, ());
    let authorization = match oauth.authorize_request(&head).await {
        Ok(authorization) => authorization,
        Err(response) => return into_axum_response(response),
    };
    let Ok(nonce) = random_secret() else {
        return page(StatusCode::INTERNAL_SERVER_ERROR, "<p>No randomness.</p>".into());
    };
    let hidden: String = Params::parse(head.uri().query().unwrap_or(""))
        .pairs()
        .iter()
        .map(|(k, v)| hidden_input(k, v))
        .chain([hidden_input(CSRF_FIELD, &nonce)])
        .collect();
    let scopes: String =
        authorization.scopes.iter().map(|s| format!("<li><code>{}</code></li>", escape_html(s))).collect();
    let body = format!(
        "<h1>Authorize {name}?</h1>\n<p>Signed in as <code>{EXAMPLE_USER}</code>. \
         {name} (<code>{client}</code>) asks for:</p>\n<ul>{scopes}</ul>\n\
         <p>on <code>{resource}</code>, then returns to <code>{redirect}</code>.</p>\n\
         <form method=\"post\" action=\"/authorize\">\n{hidden}\
         <button type=\"submit\" name=\"{ACTION_FIELD}\" value=\"approve\">Approve</button>\n\
         <button type=\"submit\" name=\"{ACTION_FIELD}\" value=\"deny\">Deny</button>\n</form>\n",
        name = escape_html(authorization.client_name.as_deref().unwrap_or("An application")),
        client = escape_html(&authorization.client_id),
        resource = escape_html(&authorization.resource),
        redirect = escape_html(&authorization.redirect_uri),
    );
    let mut response = page(StatusCode::OK, body);
    if let Some(value) = COOKIE.set(&nonce) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

/// `POST /authorize`: CSRF check, the request checked again, the decision.
pub async fn decide(State(oauth): State<OAuth>, request: Request) -> Response {
    let request = match buffer_request(request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let form = Params::parse(std::str::from_utf8(request.body()).unwrap_or(""));
    let cookie = COOKIE.nonce(request.headers());
    let submitted = form.single(CSRF_FIELD).ok().flatten();
    let (Some(cookie), Some(submitted)) = (cookie, submitted) else { return forged() };
    if !constant_time_eq(&cookie, submitted) {
        return forged();
    }
    let fields = form.pairs().iter().filter(|(k, _)| k != CSRF_FIELD && k != ACTION_FIELD).cloned();
    let provider = oauth.provider();
    let authorization = match provider.parse_authorization(&Params::from_pairs(fields)).await {
        Ok(authorization) => authorization,
        Err(AuthorizeError::Redirect { location, .. }) => return into_axum_response(see_other(&location)),
        // Any other (BadRequest; Unvetted: a client anyone could have
        // registered, and the request changed since the page): shown, not
        // redirected (no open redirector).
        Err(other) => {
            return page(
                StatusCode::BAD_REQUEST,
                format!("<p>{}</p>", escape_html(&other.error().description)),
            )
        }
    };
    let location = match form.single(ACTION_FIELD) {
        Ok(Some("approve")) => {
            let approval = Approval { subject: EXAMPLE_USER.into(), scopes: None, props: Default::default() };
            match provider.complete_authorization(&authorization, approval).await {
                Ok(location) => location,
                Err(error) => {
                    let status = simply_mcp_oauth::http::status_for(error.code);
                    return page(status, format!("<p>{}</p>", escape_html(&error.description)));
                }
            }
        }
        _ => provider.deny_authorization(&authorization),
    };
    into_axum_response(see_other(&location))
}

fn hidden_input(name: &str, value: &str) -> String {
    format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">\n", escape_html(name), escape_html(value))
}

fn forged() -> Response {
    let text = "<p>The consent form is missing, expired or not from this server; start again.</p>";
    page(StatusCode::BAD_REQUEST, text.into())
}

/// An HTML page that is never cached or framed.
fn page(status: StatusCode, body: String) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Consent</title></head>\
         <body>\n{body}</body></html>\n"
    );
    let mut response = (status, Html(html)).into_response();
    response.headers_mut().insert(CACHE_CONTROL, "no-store".parse().expect("static"));
    response.headers_mut().insert(X_FRAME_OPTIONS, "DENY".parse().expect("static"));
    response
}
