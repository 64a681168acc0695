//! The demo's consent page: `GET /authorize` shows the request, `POST
//! /authorize` records the decision.
//!
//! CSRF: the `GET` sets an `HttpOnly; SameSite=Strict` cookie holding a random
//! nonce and puts HMAC-SHA256(key, nonce || canonical parameters) in the form.
//! The `POST` needs both and a match, so neither another site nor a tampered
//! form can approve a grant; a failure is a 400 page, never a redirect.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::header::{
    CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, REFERRER_POLICY, SET_COOKIE, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use http::{HeaderValue, StatusCode};
use sha2::{Digest as _, Sha256};

use super::{DemoState, DEMO_SUBJECT};
use crate::crypto::{constant_time_eq, random_secret};
use crate::error::{ErrorCode, OAuthError};
use crate::http::escape_html as escape;
use crate::params::Params;
use crate::provider::{Approval, AuthorizationRequest, AuthorizeError};
use crate::server::body::{buffer_request, into_axum_response};
use crate::storage::Storage;

/// The cookie holding the CSRF nonce.
const COOKIE_NAME: &str = "simply_mcp_oauth_csrf";
/// Form fields of ours, never taken as authorization parameters.
const CSRF_FIELD: &str = "csrf_token";
const ACTION_FIELD: &str = "action";
/// How long a consent form stays usable (seconds).
const COOKIE_MAX_AGE: u32 = 600;
/// No scripts, no framing (consent pages are a clickjacking target), no leaks.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

/// `GET /authorize`: checks the request through the HTTP layer and shows it.
pub(super) async fn show<S: Storage + 'static>(
    State(state): State<DemoState<S>>,
    request: Request,
) -> Response {
    // The head is all we need; a bodiless copy keeps the future `Send`.
    let (parts, _) = request.into_parts();
    let request = http::Request::from_parts(parts, ());
    let authorization = match state.oauth.authorize_request(&request).await {
        Ok(authorization) => authorization,
        Err(response) => return into_axum_response(response),
    };
    crate::server::trace::record_client_id(&authorization.client_id);
    let params = Params::parse(request.uri().query().unwrap_or_default());
    let fields = authorization_fields(&params);
    let nonce = match cookie_nonce(request.headers()) {
        Some(nonce) => nonce,
        None => match random_secret() {
            Ok(nonce) => nonce,
            Err(_) => return error_page(&OAuthError::new(ErrorCode::ServerError, "no randomness")),
        },
    };
    let token = csrf_token(&state.csrf_key, &nonce, &fields);
    let mut response =
        html(StatusCode::OK, consent_page(&authorization, &fields, &token, &state.authorize_path));
    let secure = if state.secure_cookie { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE_NAME}={nonce}; Path={}; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Strict{secure}",
        state.authorize_path
    );
    if let Ok(value) = HeaderValue::try_from(cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

/// `POST /authorize`: checks the CSRF token, re-checks the request and
/// answers `303 See Other` to the client's redirect URI.
pub(super) async fn decide<S: Storage + 'static>(
    State(state): State<DemoState<S>>,
    request: Request,
) -> Response {
    let request = match buffer_request(request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let Ok(body) = std::str::from_utf8(request.body()) else {
        return error_page(&OAuthError::invalid_request("the form is not UTF-8"));
    };
    let form = Params::parse(body);
    let forged = || {
        error_page(&OAuthError::invalid_request(
        "the consent form is missing, expired or was not issued by this server; start again from the application",
    ))
    };
    let (Some(nonce), Ok(Some(token))) = (cookie_nonce(request.headers()), form.single(CSRF_FIELD)) else {
        return forged();
    };
    let fields = authorization_fields(&form);
    if !constant_time_eq(&csrf_token(&state.csrf_key, &nonce, &fields), token) {
        return forged();
    }
    let approve = match form.single(ACTION_FIELD) {
        Ok(Some("approve")) => true,
        Ok(Some("deny")) => false,
        _ => return error_page(&OAuthError::invalid_request("action must be approve or deny")),
    };
    let provider = state.oauth.provider();
    let authorization = match provider.parse_authorization(&Params::from_pairs(fields)).await {
        Ok(authorization) => {
            crate::server::trace::record_client_id(&authorization.client_id);
            authorization
        }
        Err(AuthorizeError::BadRequest(error)) => return error_page(&error),
        Err(AuthorizeError::Redirect { location, .. }) => return see_other(&location),
    };
    if !approve {
        return see_other(&provider.deny_authorization(&authorization));
    }
    let approval = Approval { subject: DEMO_SUBJECT.into(), scopes: None, props: Default::default() };
    match provider.complete_authorization(&authorization, approval).await {
        Ok(location) => see_other(&location),
        Err(error) => error_page(&error),
    }
}

/// The authorization parameters of a query or form: every pair but our own fields.
fn authorization_fields(params: &Params) -> Vec<(String, String)> {
    params.pairs().iter().filter(|(name, _)| name != CSRF_FIELD && name != ACTION_FIELD).cloned().collect()
}

/// The nonce from our cookie, if present and well-formed (43 base64url characters).
fn cookie_nonce(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim())
        .filter(|value| value.len() == 43 && URL_SAFE_NO_PAD.decode(value).is_ok())
        .map(str::to_string)
}

/// HMAC-SHA256(key, nonce || 0 || canonical fields), base64url. The fields
/// are sorted, so the token does not depend on the order a browser submits them.
fn csrf_token(key: &[u8; 32], nonce: &str, fields: &[(String, String)]) -> String {
    let mut sorted: Vec<_> = fields.iter().collect();
    sorted.sort();
    let canonical = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(sorted.iter().map(|(k, v)| (k, v)))
        .finish();
    let mut inner_pad = [0x36u8; 64];
    let mut outer_pad = [0x5cu8; 64];
    for (i, byte) in key.iter().enumerate() {
        inner_pad[i] ^= byte;
        outer_pad[i] ^= byte;
    }
    let inner = Sha256::new()
        .chain_update(inner_pad)
        .chain_update(nonce.as_bytes())
        .chain_update([0u8])
        .chain_update(canonical.as_bytes())
        .finalize();
    let mac = Sha256::new().chain_update(outer_pad).chain_update(inner).finalize();
    URL_SAFE_NO_PAD.encode(mac)
}

/// Where the browser will be sent: the host of the redirect URI, or the
/// scheme of an app-specific one.
fn redirect_target(redirect_uri: &str) -> String {
    match crate::uri::Uri::parse(redirect_uri) {
        Ok(url) => match url.host_str() {
            Some(host) => match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_string(),
            },
            None => format!("{}:", url.scheme()),
        },
        Err(_) => redirect_uri.to_string(),
    }
}

fn consent_page(
    request: &AuthorizationRequest,
    fields: &[(String, String)],
    token: &str,
    action: &str,
) -> String {
    let name = request.client_name.as_deref().unwrap_or("An unnamed application");
    let scopes = if request.scopes.is_empty() {
        "<li><em>no scopes</em></li>".to_string()
    } else {
        request.scopes.iter().map(|s| format!("<li><code>{}</code></li>", escape(s))).collect()
    };
    let hidden: String = fields
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">\n", escape(k), escape(v)))
        .collect();
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authorize {name}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}
.target{{font-size:1.25rem}}.warn{{background:#fde2e1;border:1px solid #d9534f;padding:.75rem;border-radius:6px}}
.note{{background:#fff4d6;border:1px solid #e0c060;padding:.75rem;border-radius:6px}}
dt{{font-weight:600}}button{{font-size:1rem;padding:.5rem 1.25rem;margin-right:.5rem}}</style>
</head><body>
<h1>Authorize {name}?</h1>
<p class="note">This is a <strong>demo</strong> server: it signs everyone in as the single
user <code>{subject}</code>, with no password. A real deployment plugs in its own login
through the library API (<code>authorize_request</code>, then <code>complete_authorization</code>).</p>
<p class="target">After you decide, you will be sent to <strong><code>{target}</code></strong></p>
{warning}<dl>
<dt>Application</dt><dd>{name} ({id_label} <code>{client_id}</code>)</dd>
<dt>Requested access</dt><dd><ul>{scopes}</ul></dd>
<dt>For the resource</dt><dd><code>{resource}</code></dd>
</dl>
<form method="post" action="{action}">
{hidden}<input type="hidden" name="{CSRF_FIELD}" value="{token}">
<button type="submit" name="{ACTION_FIELD}" value="approve">Approve</button>
<button type="submit" name="{ACTION_FIELD}" value="deny">Deny</button>
</form>
</body></html>
"#,
        name = escape(name),
        subject = escape(DEMO_SUBJECT),
        client_id = escape(&request.client_id),
        id_label =
            if request.metadata_document { "described by the metadata document at" } else { "client id" },
        warning = if request.loopback_only { LOOPBACK_WARNING } else { "" },
        resource = escape(&request.resource),
        target = escape(&redirect_target(&request.redirect_uri)),
        token = escape(token),
        action = escape(action),
    )
}

/// Shown when the client can only redirect to this computer: any program
/// listening there could be the one that receives the authorization.
const LOOPBACK_WARNING: &str = "<p class=\"warn\"><strong>Warning:</strong> this application only \
redirects to your own computer (a loopback address). Any program running on this computer could \
receive the authorization. Approve only if you started this application yourself.</p>\n";

/// An error shown to the user, never redirected.
fn error_page(error: &OAuthError) -> Response {
    let status = match error.code {
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Authorization failed</title></head>\
         <body><h1>Authorization failed</h1><p><code>{}</code>: {}</p></body></html>\n",
        escape(error.code.as_str()),
        escape(&error.description)
    );
    html(status, page)
}

/// An HTML response that is never cached, framed or sniffed.
fn html(status: StatusCode, page: String) -> Response {
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

/// `303 See Other`: the browser follows with a `GET`, as a form result should.
fn see_other(location: &str) -> Response {
    let Ok(value) = HeaderValue::try_from(location) else {
        return error_page(&OAuthError::new(ErrorCode::ServerError, "unusable redirect URI"));
    };
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    response.headers_mut().insert(LOCATION, value);
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_binds_nonce_and_fields_not_order() {
        let key = [7u8; 32];
        let a = vec![("a".to_string(), "1".to_string()), ("b".to_string(), "2".to_string())];
        let b = vec![("b".to_string(), "2".to_string()), ("a".to_string(), "1".to_string())];
        let nonce = "n".repeat(43);
        assert_eq!(csrf_token(&key, &nonce, &a), csrf_token(&key, &nonce, &b));
        assert_ne!(csrf_token(&key, &nonce, &a), csrf_token(&key, &"m".repeat(43), &a));
        let c = vec![("a".to_string(), "1".to_string()), ("b".to_string(), "3".to_string())];
        assert_ne!(csrf_token(&key, &nonce, &a), csrf_token(&key, &nonce, &c));
    }

    #[test]
    fn consent_shows_the_target_host_the_metadata_url_and_warns_for_loopback() {
        let mut request = AuthorizationRequest {
            client_id: "https://app.example/client.json".into(),
            client_name: Some("<App>".into()),
            redirect_uri: "http://127.0.0.1:5173/cb".into(),
            scopes: vec!["mcp".into()],
            state: None,
            code_challenge: "c".into(),
            resource: "https://mcp.example/mcp".into(),
            metadata_document: true,
            loopback_only: true,
        };
        let page = consent_page(&request, &[], "t", "/authorize");
        assert!(page.contains("<strong><code>127.0.0.1:5173</code></strong>"), "{page}");
        assert!(page.contains("metadata document at <code>https://app.example/client.json</code>"));
        assert!(page.contains("class=\"warn\""));
        assert!(page.contains("&lt;App&gt;") && !page.contains("<App>"));
        request.metadata_document = false;
        request.loopback_only = false;
        let page = consent_page(&request, &[], "t", "/authorize");
        assert!(page.contains("client id <code>") && !page.contains("class=\"warn\""));
    }

    #[test]
    fn reads_only_a_well_formed_nonce() {
        let mut headers = http::HeaderMap::new();
        let nonce = "A".repeat(43);
        headers.insert(COOKIE, HeaderValue::try_from(format!("x=1; {COOKIE_NAME}={nonce}")).unwrap());
        assert_eq!(cookie_nonce(&headers), Some(nonce));
        headers.insert(COOKIE, HeaderValue::from_static("simply_mcp_oauth_csrf=short"));
        assert_eq!(cookie_nonce(&headers), None);
    }
}
