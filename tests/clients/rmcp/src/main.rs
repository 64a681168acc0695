//! rmcp, the Rust MCP SDK, against one server, as a real MCP client uses it:
//! its streamable HTTP client transport, and its client-side OAuth
//! (`OAuthState`, `AuthorizationManager`, `AuthClient`) with a headless
//! browser of ours on the consent page.
//!
//!   rmcp-client-test --url <server>/mcp [--cimd <https client_id URL>] [--label L]
//!                    [--step-up <tool> [--step-up-stop-at-403]]
//!
//! Steps:
//! 1. connect without a token: the server's 401 and its `WWW-Authenticate`
//!    challenge (`ClientInitializeError::auth_challenge`);
//! 2. `OAuthState::start_authorization` seeded with that challenge: discovery
//!    (protected resource metadata, authorization server metadata), then
//!    dynamic client registration, or with `--cimd` the metadata document URL
//!    as `client_id`, and the authorize URL with PKCE;
//! 3. the consent page approved headlessly (GET the page, POST its hidden
//!    fields with the consent cookie and the Approve button, read the 303's
//!    Location), state and `iss` checked, `handle_callback_url` exchanges the
//!    code;
//! 4. an MCP session through `AuthClient`: initialize, tools/list, tools/call
//!    whoami;
//! 5. two forced refreshes, each through rmcp's own refresh path:
//!    - expiry: the stored token's receipt time is moved back past its
//!      `expires_in`, so rmcp refreshes before it sends the next request;
//!    - rejection: the stored access token is replaced by one the server
//!      refuses, so the server answers 401 and `AuthClient` refreshes once and
//!      retries.
//!
//!    Each must show, on the wire, exactly one `POST /token` with
//!    `grant_type=refresh_token` answered 200, a new access token, a rotated
//!    refresh token and a working tools/list; one consent in all. At the
//!    end, the two refresh tokens rmcp rotated out are replayed at the token
//!    endpoint and must get `invalid_grant`: the server saw the refreshes.
//!
//! 6. with `--step-up <tool>` (the rmcp example server's `server_stats`):
//!    the tool is refused with a 403 `insufficient_scope` challenge that
//!    names a scope the token lacks (`ServiceError::auth_challenge`); then
//!    rmcp's own scope upgrade (`OAuthState::request_scope_upgrade`, from
//!    the stored credentials): a second consent that asks for the union, a
//!    new token, and the tool succeeds in a new session. With
//!    `--step-up-stop-at-403` only the refusal is checked (for a client
//!    registered by DCR, which may ask only for the scopes it registered).
//!
//! Every OAuth request rmcp makes goes through a logging `OAuthHttpClient`
//! around rmcp's default one, so the grants are checked from the wire with
//! the server's status codes. Exit status 77: skipped (the server does not
//! advertise CIMD). All traffic goes to the URL given (loopback in the tests).

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::transport::auth::{
    default_oauth_http_client, AuthorizationCallback, OAuthClientConfig, OAuthState,
};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{
    AuthClient, AuthorizationManager, AuthorizationRequest, CredentialStore, InMemoryCredentialStore,
    OAuthHttpClient, OAuthHttpClientFuture, OAuthHttpRequest, StreamableHttpClientTransport,
};
use rmcp::ServiceExt;
use serde_json::Value;
use url::Url;

// The consent-page parser the end-to-end tests use: one file of `std` code,
// shared by path rather than as a crate, so neither build gains a dependency.
#[path = "../../../e2e/consent_page.rs"]
mod consent_page;
use consent_page::{cookie_header, page_text, ConsentForm};

/// A loopback redirect URI; nothing listens there: the browser stops at the 303.
const REDIRECT_URI: &str = "http://127.0.0.1:33421/callback";

type Failure = String;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

struct Args {
    url: String,
    cimd: Option<String>,
    label: String,
    step_up: Option<String>,
    stop_at_403: bool,
}

fn parse_args() -> Result<Args, Failure> {
    let mut args =
        Args { url: String::new(), cimd: None, label: "rmcp".into(), step_up: None, stop_at_403: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => args.url = value()?,
            "--cimd" => args.cimd = Some(value()?),
            "--label" => args.label = value()?,
            "--step-up" => args.step_up = Some(value()?),
            "--step-up-stop-at-403" => args.stop_at_403 = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    ensure!(!args.url.is_empty(), "--url <server>/mcp is required");
    Ok(args)
}

/// One OAuth request rmcp sent, with the server's answer.
#[derive(Clone, Debug, PartialEq)]
struct Exchange {
    method: String,
    path: String,
    /// `grant_type` of a `POST …/token`.
    grant: Option<String>,
    status: u16,
}

/// rmcp's default OAuth HTTP client, logging every request and its status.
struct LoggingOAuthHttp {
    inner: Box<dyn OAuthHttpClient>,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    label: String,
}

impl OAuthHttpClient for LoggingOAuthHttp {
    fn execute(&self, request: OAuthHttpRequest) -> OAuthHttpClientFuture<'_> {
        let method = request.request.method().to_string();
        let path = request.request.uri().path().to_string();
        let grant = (method == "POST" && path.ends_with("/token"))
            .then(|| {
                url::form_urlencoded::parse(request.request.body())
                    .find(|(name, _)| name == "grant_type")
                    .map(|(_, value)| value.into_owned())
            })
            .flatten();
        Box::pin(async move {
            let response = self.inner.execute(request).await;
            let status = response.as_ref().map(|r| r.status().as_u16()).unwrap_or(0);
            match &grant {
                Some(grant) => println!("[{}] {method} {path} grant_type={grant} -> {status}", self.label),
                None => println!("[{}] {method} {path} -> {status}", self.label),
            }
            self.exchanges.lock().unwrap().push(Exchange { method, path, grant, status });
            response
        })
    }
}

// ------------------------------------------------------------------ browser

/// Consents given by [`approve_consent`].
static CONSENTS: AtomicUsize = AtomicUsize::new(0);

/// A headless stand-in for the user's browser: shows the consent page for
/// `authorize_url`, presses Approve, and returns the 303's Location (the
/// redirect URI with code, state and iss). Never follows a redirect.
async fn approve_consent(http: &reqwest::Client, authorize_url: &str, label: &str) -> Result<Url, Failure> {
    let authorize = Url::parse(authorize_url).map_err(|e| format!("authorize URL: {e}"))?;
    let page = http
        .get(authorize.clone())
        .header("accept", "text/html")
        .send()
        .await
        .map_err(|e| format!("GET consent page: {e}"))?;
    let status = page.status().as_u16();
    if status == 302 || status == 303 {
        let location = page.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("");
        return authorize.join(location).map_err(|e| format!("redirect Location: {e}"));
    }
    let set_cookies: Vec<&str> =
        page.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
    let cookie = cookie_header(set_cookies.iter().copied());
    let cookies = set_cookies.len();
    let html = page.text().await.map_err(|e| format!("consent page body: {e}"))?;
    ensure!(status == 200, "consent page: HTTP {status}: {}", page_text(&html));
    let form = ConsentForm::parse(&html)?;
    let action = match &form.action {
        Some(action) => authorize.join(action).map_err(|e| format!("form action: {e}"))?,
        None => authorize.clone(),
    };
    let pairs = form.press("approve")?;
    println!("[{label}] consent page: {status}, {} form fields, {cookies} cookie(s); approving", pairs.len());
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
    let origin = action.origin().ascii_serialization();
    let decision = http
        .post(action)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .header("origin", origin)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("POST consent decision: {e}"))?;
    let status = decision.status().as_u16();
    if status != 303 && status != 302 {
        let text = decision.text().await.unwrap_or_default();
        return Err(format!(
            "consent decision: expected a redirect, got HTTP {status}: {}",
            page_text(&text)
        ));
    }
    CONSENTS.fetch_add(1, Ordering::SeqCst);
    let location = decision.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("");
    Url::parse(location).map_err(|e| format!("consent decision Location {location:?}: {e}"))
}

// ------------------------------------------------------------------ helpers

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, Failure> {
    let response = http.get(url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|e| format!("GET {url}: {e}"))?;
    ensure!(status == 200, "GET {url}: HTTP {status}");
    serde_json::from_str(&text).map_err(|e| format!("GET {url}: not JSON: {e}"))
}

/// The authorization server's metadata, found from the resource's
/// protected resource metadata (our own look, beside rmcp's discovery).
async fn authorization_server_metadata(
    http: &reqwest::Client,
    server: &Url,
) -> Result<(Value, String), Failure> {
    let mut prm_url = server.clone();
    prm_url.set_path(&format!("/.well-known/oauth-protected-resource{}", server.path()));
    let prm = get_json(http, prm_url.as_str()).await?;
    let issuer = prm["authorization_servers"][0].as_str().ok_or("no authorization_servers")?.to_string();
    let metadata =
        get_json(http, &format!("{}/.well-known/oauth-authorization-server", issuer.trim_end_matches('/')))
            .await?;
    Ok((metadata, issuer))
}

/// `POST <server>/mcp` tools/list with `token`; the HTTP status.
async fn mcp_status(http: &reqwest::Client, url: &str, token: &str) -> Result<u16, Failure> {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let response = http
        .post(url)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("POST {url}: {e}"))?;
    Ok(response.status().as_u16())
}

/// The stored access and refresh tokens, and `expires_in`.
async fn stored_tokens(
    store: &InMemoryCredentialStore,
) -> Result<(String, Option<String>, Option<u64>), Failure> {
    let stored = store.load().await.map_err(|e| e.to_string())?.ok_or("no stored credentials")?;
    let tokens = stored.token_response.ok_or("no stored token response")?;
    let json = serde_json::to_value(&tokens).map_err(|e| e.to_string())?;
    let access = json["access_token"].as_str().ok_or("no access_token")?.to_string();
    Ok((access, json["refresh_token"].as_str().map(str::to_string), json["expires_in"].as_u64()))
}

fn refresh_grants(exchanges: &Arc<Mutex<Vec<Exchange>>>, from: usize) -> Vec<(String, u16)> {
    exchanges.lock().unwrap()[from..].iter().filter_map(|e| e.grant.clone().map(|g| (g, e.status))).collect()
}

/// tools/list after a forced refresh (`why`: expiry or rejection): the same
/// tools as before, and on the wire exactly one refresh_token grant, answered 200.
async fn list_after_one_refresh(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ClientConfig>,
    exchanges: &Arc<Mutex<Vec<Exchange>>>,
    names: &[String],
    why: &str,
) -> Result<(), Failure> {
    let before = exchanges.lock().unwrap().len();
    let again = client.list_tools(None).await.map_err(|e| format!("tools/list after the {why}: {e}"))?;
    let again_names: Vec<String> = again.tools.iter().map(|t| t.name.to_string()).collect();
    ensure!(again_names == names, "tools/list after the refresh: {again_names:?}");
    let grants = refresh_grants(exchanges, before);
    ensure!(
        grants == [("refresh_token".to_string(), 200)],
        "exactly one refresh_token grant, answered 200: {grants:?}"
    );
    Ok(())
}

/// An `AuthorizationManager` whose OAuth requests are logged into
/// `exchanges`, keeping its credentials in `store`.
async fn new_manager(
    url: &str,
    exchanges: &Arc<Mutex<Vec<Exchange>>>,
    store: &InMemoryCredentialStore,
    label: &str,
) -> Result<AuthorizationManager, Failure> {
    let logging = LoggingOAuthHttp {
        inner: Box::new(default_oauth_http_client().map_err(|e| e.to_string())?),
        exchanges: Arc::clone(exchanges),
        label: label.to_string(),
    };
    let mut manager = AuthorizationManager::new_with_oauth_http_client(url, Arc::new(logging))
        .await
        .map_err(|e| format!("AuthorizationManager: {e}"))?;
    manager.set_credential_store(store.clone());
    Ok(manager)
}

/// The scopes of the session's token, as the server's `whoami` tool reports
/// them (its structured result: `{"scopes": [...], ...}`).
async fn scopes_of_caller(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ClientConfig>,
) -> Result<Vec<String>, Failure> {
    let who =
        client.call_tool(CallToolRequestParams::new("whoami")).await.map_err(|e| format!("whoami: {e}"))?;
    let who = who.structured_content.ok_or("whoami has a structured result")?;
    Ok(who["scopes"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect())
}

/// The value of `name="…"` in a `WWW-Authenticate` challenge.
fn challenge_param(challenge: &str, name: &str) -> Option<String> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    Some(challenge[start..].split('"').next()?.to_string())
}

fn new_transport(
    manager: AuthorizationManager,
    http: reqwest::Client,
    url: &str,
) -> StreamableHttpClientTransport<AuthClient<reqwest::Client>> {
    StreamableHttpClientTransport::with_client(
        AuthClient::new(http, manager),
        StreamableHttpClientTransportConfig::with_uri(url.to_string()),
    )
}

fn client_config() -> ClientConfig {
    let mut info = ClientConfig::default();
    info.client_info.name = "simply-mcp-oauth-rmcp-test".into();
    info.client_info.version = "1.0.0".into();
    info
}

// ------------------------------------------------------------------ the run

async fn run(args: &Args) -> Result<(), Failure> {
    let label = args.label.as_str();
    let server = Url::parse(&args.url).map_err(|e| format!("--url: {e}"))?;
    // Our own requests (the browser, the CIMD check): no proxy, no redirects.
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| e.to_string())?;

    let (as_metadata, issuer) = authorization_server_metadata(&http, &server).await?;
    if let Some(cimd) = &args.cimd {
        if as_metadata["client_id_metadata_document_supported"] != Value::Bool(true) {
            println!(
                "[{label}] SKIP: the authorization server metadata of {issuer} lacks client_id_metadata_document_supported: true"
            );
            std::process::exit(77);
        }
        println!("[{label}] CIMD: client_id {cimd}");
    }

    // 1. The first 401.
    let plain = StreamableHttpClientTransport::with_client(
        http.clone(),
        StreamableHttpClientTransportConfig::with_uri(args.url.clone()),
    );
    let challenge = match client_config().serve(plain).await {
        Ok(_) => return Err("the first connect should need authorization".into()),
        Err(error) => error
            .auth_challenge()
            .map(str::to_string)
            .ok_or_else(|| format!("the first connect failed without a challenge: {error}"))?,
    };
    println!("[{label}] 401 as expected; WWW-Authenticate: {challenge}");
    ensure!(challenge.contains("resource_metadata="), "the challenge names resource_metadata");

    // 2. Discovery and registration, through rmcp.
    let exchanges = Arc::new(Mutex::new(Vec::new()));
    let store = InMemoryCredentialStore::new();
    let manager = new_manager(&args.url, &exchanges, &store, label).await?;
    let mut oauth = OAuthState::Unauthorized(manager);
    let mut request = AuthorizationRequest::new(REDIRECT_URI)
        .with_client_name("simply-mcp-oauth rmcp client test")
        .with_challenge(challenge);
    if let Some(cimd) = &args.cimd {
        request = request.with_client_metadata_url(cimd.clone());
    }
    if args.step_up.is_some() {
        // Only the challenge's scopes at first (rmcp's default also asks for
        // every scope the resource metadata lists), so that the step-up has
        // something to add.
        request = request.with_initial_scope_selection();
    }
    oauth.start_authorization(request).await.map_err(|e| format!("start_authorization: {e}"))?;
    let authorize_url = oauth.get_authorization_url().await.map_err(|e| e.to_string())?;
    let authorize = Url::parse(&authorize_url).map_err(|e| e.to_string())?;
    let param = |name: &str| authorize.query_pairs().find(|(n, _)| n == name).map(|(_, v)| v.into_owned());
    println!(
        "[{label}] authorize: {}{} client_id={} scope={} resource={} code_challenge_method={}",
        authorize.origin().ascii_serialization(),
        authorize.path(),
        param("client_id").unwrap_or_default(),
        param("scope").unwrap_or_default(),
        param("resource").unwrap_or_default(),
        param("code_challenge_method").unwrap_or_default(),
    );
    ensure!(param("code_challenge_method").as_deref() == Some("S256"), "PKCE S256");
    ensure!(param("code_challenge").is_some_and(|c| !c.is_empty()), "a code_challenge");
    let registrations: Vec<u16> = exchanges
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.method == "POST" && e.path.ends_with("/register"))
        .map(|e| e.status)
        .collect();
    match &args.cimd {
        Some(cimd) => {
            ensure!(
                param("client_id").as_deref() == Some(cimd.as_str()),
                "the client_id is the metadata URL"
            );
            ensure!(registrations.is_empty(), "no dynamic registration with CIMD: {registrations:?}");
        }
        None => ensure!(registrations == [201], "one dynamic registration, answered 201: {registrations:?}"),
    }

    // 3. Consent, callback, token exchange.
    let callback = approve_consent(&http, &authorize_url, label).await?;
    let pair = |name: &str| callback.query_pairs().find(|(n, _)| n == name).map(|(_, v)| v.into_owned());
    ensure!(
        format!("{}{}", callback.origin().ascii_serialization(), callback.path()) == REDIRECT_URI,
        "redirected to our redirect_uri: {callback}"
    );
    if let Some(error) = pair("error") {
        return Err(format!(
            "authorization error: {error}: {}",
            pair("error_description").unwrap_or_default()
        ));
    }
    let parsed = AuthorizationCallback::from_redirect_url(callback.as_str()).map_err(|e| e.to_string())?;
    ensure!(Some(&parsed.csrf_token) == param("state").as_ref(), "state comes back unchanged");
    let iss = parsed.issuer.clone().ok_or("the redirect carries iss (RFC 9207)")?;
    ensure!(Some(iss.as_str()) == as_metadata["issuer"].as_str(), "iss is the issuer: {iss}");
    println!("[{label}] callback: code received, state ok, iss={iss}");
    oauth.handle_callback_url(callback.as_str()).await.map_err(|e| format!("handle_callback_url: {e}"))?;
    let grants = refresh_grants(&exchanges, 0);
    ensure!(
        grants == [("authorization_code".to_string(), 200)],
        "one authorization_code grant, answered 200: {grants:?}"
    );
    let (client_id, _) = oauth.get_credentials().await.map_err(|e| e.to_string())?;
    if let Some(cimd) = &args.cimd {
        ensure!(&client_id == cimd, "the client id is the metadata URL: {client_id}");
    }
    let (first_access, first_refresh, expires_in) = stored_tokens(&store).await?;
    let first_refresh = first_refresh.ok_or("a refresh token")?;
    let expires_in = expires_in.ok_or("expires_in in the token response")?;
    println!("[{label}] tokens: access token, refresh token, expires_in {expires_in}; client_id {client_id}");

    // 4. The MCP session.
    let manager = oauth.into_authorization_manager().ok_or("not authorized after the callback")?;
    let client = client_config()
        .serve(new_transport(manager, http.clone(), &args.url))
        .await
        .map_err(|e| format!("connect with the token: {e}"))?;
    let peer = client.peer_info().ok_or("no server info after initialize")?;
    let (name, version) =
        peer.server_info.as_ref().map(|s| (s.name.as_str(), s.version.as_str())).unwrap_or(("?", "?"));
    println!("[{label}] connected: server {name} {version}, protocol {}", peer.protocol_version);
    let tools = client.list_tools(None).await.map_err(|e| format!("tools/list: {e}"))?;
    let names: Vec<String> = tools.tools.iter().map(|t| t.name.to_string()).collect();
    println!("[{label}] tools/list: {names:?}");
    ensure!(names.iter().any(|n| n == "whoami"), "tools/list names whoami");
    let who = client
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .map_err(|e| format!("tools/call whoami: {e}"))?;
    let who_text = serde_json::to_value(&who.content).map_err(|e| e.to_string())?;
    println!("[{label}] tools/call whoami: {:?}", who_text[0]["text"].as_str().unwrap_or("?"));
    ensure!(who.is_error != Some(true), "whoami succeeded");
    ensure!(
        who_text[0]["text"].as_str().is_some_and(|t| t.contains(&client_id)),
        "whoami names our client_id"
    );

    // 5a. Forced refresh by expiry: rmcp sees an expired token and refreshes
    // before it sends tools/list.
    let mut stored = store.load().await.map_err(|e| e.to_string())?.ok_or("no stored credentials")?;
    let received = stored.token_received_at.ok_or("no token_received_at")?;
    stored.token_received_at = Some(received.saturating_sub(expires_in + 1));
    store.save(stored).await.map_err(|e| e.to_string())?;
    println!(
        "[{label}] forcing a refresh (expiry): the stored token's receipt time moved {}s back",
        expires_in + 1
    );
    list_after_one_refresh(&client, &exchanges, &names, "expiry").await?;
    let (second_access, second_refresh, _) = stored_tokens(&store).await?;
    let second_refresh = second_refresh.ok_or("a refresh token after the refresh")?;
    ensure!(second_access != first_access, "a new access token");
    ensure!(second_refresh != first_refresh, "the refresh token rotated");
    println!("[{label}] refresh (expiry) ok: refresh_token grant -> 200, new access token, rotated refresh token, tools/list ok");

    // 5b. Forced refresh by rejection: the server refuses the stored access
    // token with a 401; AuthClient refreshes once and retries.
    let mut stored = store.load().await.map_err(|e| e.to_string())?.ok_or("no stored credentials")?;
    let mut tokens = serde_json::to_value(stored.token_response.take().ok_or("no token response")?)
        .map_err(|e| e.to_string())?;
    tokens["access_token"] = Value::String("revoked-access-token".into());
    let refused = mcp_status(&http, &args.url, "revoked-access-token").await?;
    ensure!(refused == 401, "the server refuses that token with a 401, not {refused}");
    stored.token_response = Some(serde_json::from_value(tokens).map_err(|e| e.to_string())?);
    store.save(stored).await.map_err(|e| e.to_string())?;
    println!("[{label}] forcing a refresh (rejection): the stored access token is one the server refuses ({refused})");
    list_after_one_refresh(&client, &exchanges, &names, "rejection").await?;
    let (third_access, third_refresh, _) = stored_tokens(&store).await?;
    let third_refresh = third_refresh.ok_or("a refresh token after the second refresh")?;
    ensure!(third_access != "revoked-access-token" && third_access != second_access, "a new access token");
    ensure!(third_refresh != second_refresh, "the refresh token rotated again");
    println!("[{label}] refresh (rejection) ok: 401 -> refresh_token grant -> 200, retried, new access token, rotated refresh token, tools/list ok");

    if let Some(tool) = &args.step_up {
        step_up(args, tool, &client, &exchanges, &store, &http).await?;
    }

    // On the server's side: the refresh tokens rmcp rotated out are dead (the
    // refreshes really happened there), and the current access token works.
    let token_endpoint = as_metadata["token_endpoint"].as_str().ok_or("no token_endpoint")?;
    for (which, old) in [("first", &first_refresh), ("second", &second_refresh)] {
        let replay = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", old)
            .append_pair("client_id", &client_id)
            .append_pair("resource", server.as_str())
            .finish();
        let response = http
            .post(token_endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(replay)
            .send()
            .await
            .map_err(|e| format!("POST {token_endpoint}: {e}"))?;
        let status = response.status().as_u16();
        let body: Value =
            serde_json::from_str(&response.text().await.unwrap_or_default()).unwrap_or(Value::Null);
        println!("[{label}] replaying the {which} (rotated-out) refresh token: {status} {}", body["error"]);
        ensure!(
            status == 400 && body["error"] == "invalid_grant",
            "the {which} refresh token is dead: {status} {body}"
        );
    }
    let consents = CONSENTS.load(Ordering::SeqCst);
    let expected = if args.step_up.is_some() && !args.stop_at_403 { 2 } else { 1 };
    ensure!(consents == expected, "{expected} consent(s) in all, not {consents}");
    println!("[{label}] {consents} consent(s) in all; {} OAuth requests", exchanges.lock().unwrap().len());
    client.cancel().await.map_err(|e| format!("close: {e}"))?;
    Ok(())
}

/// Step 6: a tool that needs a scope the token lacks: the 403 challenge, then
/// rmcp's scope upgrade and a second consent; the tool works afterwards.
async fn step_up(
    args: &Args,
    tool: &str,
    client: &rmcp::service::RunningService<rmcp::RoleClient, ClientConfig>,
    exchanges: &Arc<Mutex<Vec<Exchange>>>,
    store: &InMemoryCredentialStore,
    http: &reqwest::Client,
) -> Result<(), Failure> {
    let label = args.label.as_str();
    let granted = scopes_of_caller(client).await?;
    let error = match client.call_tool(CallToolRequestParams::new(tool.to_string())).await {
        Ok(result) => {
            return Err(format!("{tool} without its scope must be refused with a 403, got {result:?}"))
        }
        Err(error) => error,
    };
    let challenge = error
        .auth_challenge()
        .ok_or_else(|| format!("{tool} was refused without a challenge: {error}"))?
        .to_string();
    println!("[{label}] tools/call {tool}: refused; WWW-Authenticate: {challenge}");
    ensure!(challenge.contains("error=\"insufficient_scope\""), "the challenge says insufficient_scope");
    ensure!(
        challenge_param(&challenge, "resource_metadata").is_some(),
        "the challenge names resource_metadata"
    );
    let scope = challenge_param(&challenge, "scope").ok_or("the challenge names the scopes needed")?;
    let missing: Vec<&str> = scope.split(' ').filter(|s| !granted.iter().any(|g| g == s)).collect();
    ensure!(!missing.is_empty(), "the challenge's scope {scope:?} names one the token lacks ({granted:?})");
    if args.stop_at_403 {
        println!("[{label}] step-up: the 403 challenge is right; stopping there (--step-up-stop-at-403)");
        return Ok(());
    }

    // rmcp's scope upgrade, from the stored client id and tokens.
    let mut manager = new_manager(&args.url, exchanges, store, label).await?;
    ensure!(
        manager.initialize_from_store().await.map_err(|e| format!("initialize_from_store: {e}"))?,
        "the stored credentials are usable"
    );
    // initialize_from_store configures the client with the MCP URL as its
    // redirect URI; the upgrade's authorize URL must carry ours.
    let (client_id, _) = manager.get_credentials().await.map_err(|e| e.to_string())?;
    manager
        .configure_client(OAuthClientConfig::new(client_id, REDIRECT_URI))
        .map_err(|e| format!("configure_client: {e}"))?;
    let mut oauth = OAuthState::Authorized(manager);
    let upgrade_url = oauth
        .request_scope_upgrade(&scope, REDIRECT_URI)
        .await
        .map_err(|e| format!("request_scope_upgrade: {e}"))?;
    let upgrade = Url::parse(&upgrade_url).map_err(|e| e.to_string())?;
    let asked =
        upgrade.query_pairs().find(|(n, _)| n == "scope").map(|(_, v)| v.into_owned()).unwrap_or_default();
    println!("[{label}] scope upgrade: authorize with scope={asked}");
    ensure!(
        scope.split(' ').all(|s| asked.split(' ').any(|a| a == s)),
        "the upgrade asks for every challenged scope: {asked:?}"
    );
    let callback = approve_consent(http, &upgrade_url, label).await?;
    if let Some((_, error)) = callback.query_pairs().find(|(n, _)| n == "error") {
        let why = callback.query_pairs().find(|(n, _)| n == "error_description").map(|(_, v)| v.into_owned());
        return Err(format!("scope upgrade refused: {error}: {}", why.unwrap_or_default()));
    }
    let before = exchanges.lock().unwrap().len();
    oauth.handle_callback_url(callback.as_str()).await.map_err(|e| format!("handle_callback_url: {e}"))?;
    let grants = refresh_grants(exchanges, before);
    ensure!(
        grants == [("authorization_code".to_string(), 200)],
        "one code grant for the upgrade: {grants:?}"
    );

    let manager = oauth.into_authorization_manager().ok_or("not authorized after the upgrade")?;
    let upgraded = client_config()
        .serve(new_transport(manager, http.clone(), &args.url))
        .await
        .map_err(|e| format!("connect with the upgraded token: {e}"))?;
    let result = upgraded
        .call_tool(CallToolRequestParams::new(tool.to_string()))
        .await
        .map_err(|e| format!("tools/call {tool} after the upgrade: {e}"))?;
    let text = serde_json::to_value(&result.content).map_err(|e| e.to_string())?[0]["text"].clone();
    println!("[{label}] tools/call {tool} after the upgrade: {text}");
    ensure!(result.is_error != Some(true), "{tool} succeeds after the upgrade");
    let now_held = scopes_of_caller(&upgraded).await?;
    ensure!(
        missing.iter().all(|s| now_held.iter().any(|h| h == s)),
        "the new token holds {missing:?}: {now_held:?}"
    );
    let consents = CONSENTS.load(Ordering::SeqCst);
    ensure!(consents == 2, "a second consent for the upgrade, not {consents}");
    // The session of the first token still works for what it may do.
    ensure!(client.list_tools(None).await.is_ok(), "the first session still lists tools");
    println!("[{label}] step-up ok: 403 insufficient_scope -> scope upgrade -> consent -> {tool} ok, scopes {now_held:?}");
    upgraded.cancel().await.map_err(|e| format!("close: {e}"))?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("rmcp-client-test: {error}");
            return ExitCode::from(2);
        }
    };
    match tokio::time::timeout(Duration::from_secs(60), run(&args)).await {
        Ok(Ok(())) => {
            println!("[{}] PASS", args.label);
            ExitCode::SUCCESS
        }
        Ok(Err(error)) => {
            eprintln!("[{}] FAIL: {error}", args.label);
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("[{}] FAIL: timed out", args.label);
            ExitCode::from(3)
        }
    }
}
