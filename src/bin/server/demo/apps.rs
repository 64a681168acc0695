//! The demo's connected-apps page: `GET <issuer>/apps` lists the signed-in
//! user's grants, `POST <issuer>/apps` revokes one of them.
//!
//! The user is the demo's one user, [`DEMO_SUBJECT`] (the page says so).
//! Each revoke button sits in its own form whose CSRF token binds the grant
//! id ([`csrf`]), so another site can revoke nothing and a
//! form cannot be re-aimed at another grant. Revocation goes through
//! [`Provider::revoke_grant`](simply_mcp_oauth::Provider::revoke_grant), which removes
//! the grant's tokens: the next request with one of them is a 401.

use axum::extract::{Request, State};
use axum::response::Response;
use http::StatusCode;

use simply_mcp_oauth::clock::UnixTime;
use simply_mcp_oauth::error::{ErrorCode, OAuthError};
use simply_mcp_oauth::http::csrf::{self, CsrfCookie};
use simply_mcp_oauth::http::escape_html as escape;
use simply_mcp_oauth::http::OAuthHttp;
use simply_mcp_oauth::params::Params;
use simply_mcp_oauth::server::buffer_request;
use simply_mcp_oauth::storage::{ClientOrigin, ClientRecord, GrantRecord, Storage};

use super::page::{error_page, html, see_other, with_cookie};
use super::{url_path, DemoState, DEMO_SUBJECT};

/// The cookie holding this page's CSRF nonce (the consent page has its own).
const COOKIE_NAME: &str = "simply_mcp_oauth_apps_csrf";
/// Binds a token to this form.
const PURPOSE: &str = "apps-revoke/v1";
const GRANT_FIELD: &str = "grant_id";
const CSRF_FIELD: &str = "csrf_token";

/// `<issuer path>/apps`, beside `<issuer path>/authorize`.
pub(super) fn path<S: Storage>(oauth: &OAuthHttp<S>) -> String {
    format!("{}/apps", url_path(&oauth.provider().config().issuer))
}

fn cookie<'a, S: Storage>(state: &DemoState<S>, path: &'a str) -> CsrfCookie<'a> {
    CsrfCookie { name: COOKIE_NAME, path, secure: state.secure_cookie }
}

/// One row of the page: a grant and what is known of its client.
struct ConnectedApp {
    grant: GrantRecord,
    client: Option<ClientRecord>,
}

/// `GET /apps`: the user's grants, newest first, each with a revoke button.
pub(super) async fn show<S: Storage + 'static>(
    State(state): State<DemoState<S>>,
    request: Request,
) -> Response {
    let provider = state.oauth.provider();
    let mut grants = match provider.list_grants(DEMO_SUBJECT).await {
        Ok(grants) => grants,
        Err(error) => return error_page("Connected apps unavailable", &error),
    };
    grants.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
    let mut apps = Vec::with_capacity(grants.len());
    for grant in grants {
        // A client deleted since, or one described by a metadata document
        // (never stored), has no record: the row shows its id alone.
        let client = provider.get_client(&grant.client_id).await.ok().flatten();
        apps.push(ConnectedApp { grant, client });
    }
    let action = path(&state.oauth);
    let cookie = cookie(&state, &action);
    let Ok(nonce) = cookie.nonce_or_fresh(request.headers()) else {
        return error_page(
            "Connected apps unavailable",
            &OAuthError::new(ErrorCode::ServerError, "no randomness"),
        );
    };
    let now = state.oauth.provider().now();
    let sign = |grant_id: &str| csrf::token(&state.csrf_key, PURPOSE, &nonce, &grant_fields(grant_id), now);
    let notice = match Params::parse(request.uri().query().unwrap_or_default()).single("revoked") {
        Ok(Some("1")) => Some("Access revoked: that app's tokens no longer work."),
        Ok(Some("0")) => Some("That app was already disconnected."),
        _ => None,
    };
    with_cookie(html(StatusCode::OK, apps_page(&apps, &action, notice, sign)), cookie.set(&nonce))
}

/// `POST /apps`: checks the CSRF token, revokes the grant and sends the
/// browser back to the list (`303`).
pub(super) async fn revoke<S: Storage + 'static>(
    State(state): State<DemoState<S>>,
    request: Request,
) -> Response {
    let request = match buffer_request(request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let action = path(&state.oauth);
    let Ok(body) = std::str::from_utf8(request.body()) else {
        return error_page("Revocation failed", &OAuthError::invalid_request("the form is not UTF-8"));
    };
    let form = Params::parse(body);
    let (Some(nonce), Ok(Some(token)), Ok(Some(grant_id))) =
        (cookie(&state, &action).nonce(request.headers()), form.single(CSRF_FIELD), form.single(GRANT_FIELD))
    else {
        return forged();
    };
    let now = state.oauth.provider().now();
    if !csrf::verify(&state.csrf_key, PURPOSE, &nonce, &grant_fields(grant_id), token, now) {
        return forged();
    }
    match state.oauth.provider().revoke_grant(DEMO_SUBJECT, grant_id).await {
        Ok(true) => see_other(&format!("{action}?revoked=1")),
        Ok(false) => see_other(&format!("{action}?revoked=0")),
        Err(error) => error_page("Revocation failed", &error),
    }
}

fn forged() -> Response {
    error_page(
        "Revocation failed",
        &OAuthError::invalid_request(
            "the form is missing, expired or was not issued by this server; reload the connected apps page",
        ),
    )
}

/// What a revoke button's token binds.
fn grant_fields(grant_id: &str) -> Vec<(String, String)> {
    vec![(GRANT_FIELD.to_string(), grant_id.to_string())]
}

fn apps_page(
    apps: &[ConnectedApp],
    action: &str,
    notice: Option<&str>,
    sign: impl Fn(&str) -> String,
) -> String {
    let rows: String = apps.iter().map(|app| app_row(app, action, &sign(&app.grant.id))).collect();
    let list = if apps.is_empty() {
        "<p class=\"empty\">No apps are connected to your account.</p>".to_string()
    } else {
        format!(
            "<table><thead><tr><th>App</th><th>Scopes</th><th>Resource</th><th>Connected</th><th></th></tr></thead>\n\
             <tbody>\n{rows}</tbody></table>"
        )
    };
    let notice = notice.map(|text| format!("<p class=\"notice\" role=\"status\">{}</p>\n", escape(text)));
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Connected apps</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}}
.note{{background:#fff4d6;border:1px solid #e0c060;padding:.6rem .75rem;border-radius:6px}}
.notice{{background:#e3f4e1;border:1px solid #5cb85c;padding:.6rem .75rem;border-radius:6px}}
table{{border-collapse:collapse;width:100%}}th,td{{text-align:left;vertical-align:top;padding:.5rem;border-bottom:1px solid #ddd}}
td{{word-break:break-all}}.id{{color:#555;font-size:.85rem}}button{{font-size:.95rem;padding:.35rem .9rem}}</style>
</head><body>
<h1>Connected apps</h1>
<p class="note">Signed in as <code>{subject}</code>. This is a <strong>demo</strong> server: everyone is
signed in as this one user, with no password. A real deployment shows the grants of its own signed-in
user through <code>Provider::list_grants</code> and <code>Provider::revoke_grant</code>.</p>
{notice}{list}
</body></html>
"#,
        subject = escape(DEMO_SUBJECT),
        notice = notice.unwrap_or_default(),
    )
}

fn app_row(app: &ConnectedApp, action: &str, token: &str) -> String {
    let grant = &app.grant;
    let metadata_document = match &app.client {
        Some(client) => client.origin == ClientOrigin::MetadataDocument,
        None => grant.client_id.starts_with("https://"),
    };
    let name = app.client.as_ref().and_then(|client| client.client_name.as_deref());
    let name = match name {
        Some(name) => escape(name),
        None => "<em>Unnamed app</em>".to_string(),
    };
    let id_label = if metadata_document { "Metadata document" } else { "Client ID" };
    let scopes = if grant.scopes.is_empty() {
        "<em>none</em>".to_string()
    } else {
        grant.scopes.iter().map(|s| format!("<code>{}</code>", escape(s))).collect::<Vec<_>>().join(" ")
    };
    format!(
        "<tr data-grant=\"{grant_id}\"><td><strong class=\"name\">{name}</strong>\
         <div class=\"id\">{id_label}: <code class=\"client-id\">{client_id}</code></div></td>\
         <td class=\"scopes\">{scopes}</td><td><code class=\"resource\">{resource}</code></td>\
         <td><time datetime=\"{iso}\">{shown}</time></td>\
         <td><form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"{GRANT_FIELD}\" value=\"{grant_id}\">\
         <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{token}\">\
         <button type=\"submit\">Revoke</button></form></td></tr>\n",
        grant_id = escape(&grant.id),
        client_id = escape(&grant.client_id),
        resource = escape(&grant.resource),
        iso = iso8601(grant.created_at),
        shown = utc_minutes(grant.created_at),
        action = escape(action),
        token = escape(token),
    )
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
fn iso8601(time: UnixTime) -> String {
    let (year, month, day) = civil_date(time / 86_400);
    let seconds = time % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// `YYYY-MM-DD HH:MM UTC`, for people.
fn utc_minutes(time: UnixTime) -> String {
    let (year, month, day) = civil_date(time / 86_400);
    let seconds = time % 86_400;
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", seconds / 3600, seconds / 60 % 60)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, for non-negative days).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(client_id: &str, scopes: &[&str]) -> GrantRecord {
        GrantRecord {
            id: "g<1>".into(),
            client_id: client_id.into(),
            subject: Some(DEMO_SUBJECT.into()),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            resource: "https://mcp.example/mcp?a=1&b=\"2\"".into(),
            props: Default::default(),
            created_at: 1_764_607_200,
            expires_at: 1_764_610_800,
            code: None,
            refresh: None,
            access_tokens: Vec::new(),
        }
    }

    fn client(name: &str, origin: ClientOrigin) -> ClientRecord {
        ClientRecord {
            client_id: "c1".into(),
            secret_digest: None,
            redirect_uris: vec![],
            scopes: vec![],
            grant_types: vec![],
            auth_method: simply_mcp_oauth::storage::AuthMethod::None,
            client_name: Some(name.into()),
            origin,
            issued_at: 0,
            expires_at: None,
        }
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_764_607_200), "2025-12-01T16:40:00Z");
        assert_eq!(utc_minutes(4_107_542_399), "2100-02-28 23:59 UTC");
        assert_eq!(iso8601(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn rows_escape_everything_and_label_metadata_documents() {
        let app = ConnectedApp {
            grant: grant("c1", &["mcp", "<b>"]),
            client: Some(client("<script>x</script> & co", ClientOrigin::Registered)),
        };
        let row = app_row(&app, "/apps", "tok\"en");
        assert!(row.contains("&lt;script&gt;x&lt;/script&gt; &amp; co") && !row.contains("<script>"));
        assert!(row.contains("Client ID: <code class=\"client-id\">c1</code>"));
        assert!(row.contains("<code>&lt;b&gt;</code>") && row.contains("a=1&amp;b=&quot;2&quot;"));
        assert!(row.contains("value=\"g&lt;1&gt;\"") && row.contains("value=\"tok&quot;en\""));
        assert!(row.contains("2025-12-01 16:40 UTC"));

        let cimd = ConnectedApp { grant: grant("https://app.example/client.json", &[]), client: None };
        let row = app_row(&cimd, "/apps", "t");
        assert!(row
            .contains("Metadata document: <code class=\"client-id\">https://app.example/client.json</code>"));
        assert!(row.contains("Unnamed app") && row.contains("<em>none</em>"));
    }

    #[test]
    fn the_page_names_the_demo_user_and_says_when_nothing_is_connected() {
        let page = apps_page(&[], "/apps", Some("<done>"), |_| String::new());
        assert!(page.contains("Signed in as <code>demo-user</code>") && page.contains("demo"));
        assert!(page.contains("No apps are connected") && page.contains("&lt;done&gt;"));
    }
}
