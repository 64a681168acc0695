//! The demo's consent page: `GET /authorize` shows the request, `POST
//! /authorize` records the decision.
//!
//! CSRF ([`simply_mcp_oauth::http::csrf`]): the form's token binds the cookie's nonce,
//! the authorization parameters and an expiry, so neither another site nor a
//! tampered or stale form can approve a grant; a failure is a 400 page, never
//! a redirect. The `POST` counts against the `/authorize` per-address limit.

use axum::extract::{Request, State};
use axum::response::Response;
use http::StatusCode;

use simply_mcp_oauth::error::{ErrorCode, OAuthError};
use simply_mcp_oauth::http::csrf::{self, CsrfCookie};
use simply_mcp_oauth::http::{escape_html as escape, ClientIp};
use simply_mcp_oauth::params::Params;
use simply_mcp_oauth::provider::{Approval, AuthorizationRequest, AuthorizeError};
use simply_mcp_oauth::server::trace::record_client_id;
use simply_mcp_oauth::server::{buffer_request, into_axum_response};
use simply_mcp_oauth::storage::Storage;

use super::page::{html, see_other, with_cookie};
use super::{DemoState, DEMO_SUBJECT};

/// The cookie holding the CSRF nonce.
const COOKIE_NAME: &str = "simply_mcp_oauth_csrf";
/// Form fields of ours, never taken as authorization parameters.
const CSRF_FIELD: &str = "csrf_token";
const ACTION_FIELD: &str = "action";
/// Binds a token to this form (the apps page has its own).
const PURPOSE: &str = "consent/v1";

fn cookie<S: Storage>(state: &DemoState<S>) -> CsrfCookie<'_> {
    CsrfCookie { name: COOKIE_NAME, path: &state.authorize_path, secure: state.secure_cookie }
}

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
    record_client_id(&authorization.client_id);
    let params = Params::parse(request.uri().query().unwrap_or_default());
    let fields = authorization_fields(&params);
    let cookie = cookie(&state);
    let Ok(nonce) = cookie.nonce_or_fresh(request.headers()) else {
        return error_page(&OAuthError::new(ErrorCode::ServerError, "no randomness"));
    };
    let token = csrf::token(&state.csrf_key, PURPOSE, &nonce, &fields, state.oauth.provider().now());
    let page = consent_page(&authorization, &fields, &token, &state.authorize_path);
    with_cookie(html(StatusCode::OK, page), cookie.set(&nonce))
}

/// `POST /authorize`: checks the CSRF token, re-checks the request and
/// answers `303 See Other` to the client's redirect URI.
pub(super) async fn decide<S: Storage + 'static>(
    State(state): State<DemoState<S>>,
    request: Request,
) -> Response {
    // Each decision is an authorization request too: without this, the
    // form would be a way around the `/authorize` limit.
    let client_ip = request.extensions().get::<ClientIp>().map(|ip| ip.0.clone());
    if let Err(response) = state.oauth.limit_authorization_step(client_ip.as_deref()).await {
        return into_axum_response(response);
    }
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
    let (Some(nonce), Ok(Some(token))) = (cookie(&state).nonce(request.headers()), form.single(CSRF_FIELD))
    else {
        return forged();
    };
    let fields = authorization_fields(&form);
    if !csrf::verify(&state.csrf_key, PURPOSE, &nonce, &fields, token, state.oauth.provider().now()) {
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
            record_client_id(&authorization.client_id);
            authorization
        }
        // The request changed since the page was shown (the client was
        // deleted or re-registered): a page, redirected only for the
        // operator's own clients, as at `GET`.
        Err(AuthorizeError::Redirect { location, .. }) => return see_other(&location),
        Err(other) => return error_page(other.error()),
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

/// Where the browser will be sent: the host of an `http(s)` redirect URI,
/// or the scheme of an app-specific one. A private-use scheme is claimed by
/// whichever app on the device registers it, whatever host follows it:
/// `com.evil.app://accounts.bank.example/cb` goes to `com.evil.app`, and
/// showing the host would vouch for a bank (RFC 8252 §7.1, §8.6).
fn redirect_target(redirect_uri: &str) -> String {
    match simply_mcp_oauth::uri::Uri::parse(redirect_uri) {
        Ok(url) if url.scheme_is("https") || url.scheme_is("http") => match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => redirect_uri.to_string(),
        },
        Ok(url) => format!("the app for {}:", url.scheme()),
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
    super::page::error_page("Authorization failed", error)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Any app can claim a private-use scheme, whatever "host" follows it:
    /// the page names the scheme, never the host it pretends to be.
    #[test]
    fn a_private_use_scheme_is_shown_as_its_scheme_not_as_a_host() {
        let target = redirect_target("com.evil.app://accounts.bank.example/cb");
        assert_eq!(target, "the app for com.evil.app:");
        assert!(!target.contains("bank"));
        assert_eq!(redirect_target("com.example.app:/cb"), "the app for com.example.app:");
        assert_eq!(redirect_target("https://app.example:8443/cb"), "app.example:8443");
        assert_eq!(redirect_target("http://127.0.0.1/cb"), "127.0.0.1");
    }
}
