//! simply-mcp-oauth as a WebAssembly component (`wasm32-wasip2`) of world
//! `oauth-provider` in `../wit/simply-mcp-oauth.wit`: the host supplies the
//! key-value store (`import kv`), the component answers the OAuth endpoints
//! (`export provider`).
//!
//! It is the root crate's `OAuthHttp<KvStorage<ComponentHost>>`, where
//! [`ComponentHost`] implements `KvHost` by calling the imported `kv`
//! functions.
//!
//! # Futures without a runtime
//!
//! The imported `kv` functions are synchronous component imports: each call
//! returns its result before the component continues. `ComponentHost` returns
//! them as already-completed futures, so every future of the provider
//! completes during its first poll, except where the provider yields on
//! purpose (`KvStorage` gives other tasks a turn before it retries a grant
//! commit that lost a race; a yield wakes itself and is ready on the next
//! poll). [`block_on`]
//! therefore polls with a no-op waker in a loop: there is nothing to wait for
//! and no other task to run. A future still pending after [`MAX_POLLS`] polls
//! would mean an import that is not synchronous, which this world does not
//! have; the component traps rather than spin forever.
//!
//! # Configuration
//!
//! The WIT `provider` interface has no configuration function, so the
//! component uses fixed defaults: `ProviderConfig::new(issuer)` (dynamic
//! registration open, scopes `["mcp"]`, no configured clients, the seed's
//! lifetimes). The issuer is the WASI environment variable
//! `SIMPLY_MCP_OAUTH_ISSUER` when the host sets one, else [`DEFAULT_ISSUER`].
//! `SIMPLY_MCP_OAUTH_CLIENT_ID` with `SIMPLY_MCP_OAUTH_CLIENT_SECRET`
//! configure one confidential client (scope `mcp`, redirect URI
//! [`MACHINE_REDIRECT_URI`]): dynamic registration never grants
//! `client_credentials`, so this is how a machine client gets its tokens.
//!
//! # Clock
//!
//! The provider's clock is [`WasiClock`]: `std::time::SystemTime`, which on
//! `wasm32-wasip2` reads `wasi:clocks/wall-clock`.

use std::cell::OnceCell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use bytes::Bytes;
use simply_mcp_oauth::clock::Clock;
use simply_mcp_oauth::http::{MachineClients, OAuthHttp};
use simply_mcp_oauth::storage::{
    KvCapabilities, KvCheck, KvError, KvHost, KvMutation, KvPage, KvStorage, Versioned,
};
use simply_mcp_oauth::{ClientConfig, Provider, ProviderConfig};

wit_bindgen::generate!({
    path: "../wit/simply-mcp-oauth.wit",
    world: "oauth-provider",
});

use exports::simply_mcp::oauth::provider as wit;
use simply_mcp::oauth::kv;

/// The issuer when the host sets no `SIMPLY_MCP_OAUTH_ISSUER`.
pub const DEFAULT_ISSUER: &str = "http://localhost:8787";

/// The one redirect URI of the configured client (loopback: never a third
/// party's site).
pub const MACHINE_REDIRECT_URI: &str = "http://127.0.0.1/callback";

/// Polls after which [`block_on`] gives up (see the module docs).
pub const MAX_POLLS: u64 = 10_000_000;

/// `KvHost` over the component's `kv` import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ComponentHost;

fn kv_error(error: kv::KvError) -> KvError {
    match error {
        kv::KvError::Unavailable(reason) => KvError::Unavailable(reason),
        kv::KvError::Unsupported(reason) => KvError::Unsupported(reason),
    }
}

// The imports are synchronous: each method's future is ready on first poll.
#[async_trait(?Send)]
impl KvHost for ComponentHost {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        kv::get(key).map_err(kv_error)
    }

    async fn put(&self, key: &str, value: &str, ttl_seconds: u64) -> Result<(), KvError> {
        kv::put(key, value, ttl_seconds).map_err(kv_error)
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        kv::delete(key).map_err(kv_error)
    }

    async fn list(&self, prefix: &str, cursor: Option<String>, limit: u32) -> Result<KvPage, KvError> {
        let page = kv::list(prefix, cursor.as_deref(), limit).map_err(kv_error)?;
        Ok(KvPage { keys: page.keys, cursor: page.cursor })
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<Versioned>, KvError> {
        let entry = kv::get_versioned(key).map_err(kv_error)?;
        Ok(entry.map(|e| Versioned { value: e.value, version: e.version }))
    }

    async fn commit(&self, checks: &[KvCheck], mutations: &[KvMutation]) -> Result<bool, KvError> {
        let checks: Vec<kv::KvCheck> =
            checks.iter().map(|c| kv::KvCheck { key: c.key.clone(), version: c.version.clone() }).collect();
        let mutations: Vec<kv::KvMutation> = mutations
            .iter()
            .map(|m| match m {
                KvMutation::Set { key, value, ttl_seconds } => kv::KvMutation::Set(kv::KvSet {
                    key: key.clone(),
                    value: value.clone(),
                    ttl_seconds: *ttl_seconds,
                }),
                KvMutation::Delete { key } => kv::KvMutation::Delete(key.clone()),
            })
            .collect();
        kv::commit(&checks, &mutations).map_err(kv_error)
    }

    fn capabilities(&self) -> KvCapabilities {
        let caps = kv::capabilities();
        KvCapabilities {
            atomic: caps.atomic,
            min_ttl_seconds: caps.min_ttl_seconds,
            consistent_reads: caps.consistent_reads,
        }
    }
}

/// Wall-clock time from WASI (`std::time::SystemTime` on `wasm32-wasip2`).
#[derive(Debug, Clone, Copy, Default)]
pub struct WasiClock;

impl Clock for WasiClock {
    fn now_millis(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// Runs `future` to completion on this thread (see the module docs).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..MAX_POLLS {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("a provider future was still pending after {MAX_POLLS} polls; the kv imports must be synchronous");
}

type Oauth = OAuthHttp<KvStorage<ComponentHost>>;

thread_local! {
    /// The provider, built on first use and kept for the instance's lifetime
    /// (a build that failed is tried again on the next call: the store may
    /// have been down while the configured client was written).
    static OAUTH: OnceCell<Oauth> = const { OnceCell::new() };
}

fn build() -> Result<Oauth, String> {
    let issuer = std::env::var("SIMPLY_MCP_OAUTH_ISSUER").unwrap_or_else(|_| DEFAULT_ISSUER.to_string());
    let storage = KvStorage::with_default_prefix(ComponentHost);
    let mut config = ProviderConfig::new(issuer);
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (var("SIMPLY_MCP_OAUTH_CLIENT_ID"), var("SIMPLY_MCP_OAUTH_CLIENT_SECRET")) {
        (Some(client_id), Some(secret)) => config.clients.push(ClientConfig {
            client_id,
            client_secret: Some(secret),
            redirect_uris: vec![MACHINE_REDIRECT_URI.to_string()],
            scopes: vec!["mcp".to_string()],
        }),
        (None, None) => {}
        _ => {
            return Err(
                "set both SIMPLY_MCP_OAUTH_CLIENT_ID and SIMPLY_MCP_OAUTH_CLIENT_SECRET, or neither".into()
            )
        }
    }
    let provider = Provider::new(config, storage)
        .map_err(|e| format!("invalid provider configuration: {e}"))?
        .with_clock(WasiClock);
    block_on(provider.initialize()).map_err(|e| format!("the configured client could not be stored: {e}"))?;
    Ok(OAuthHttp::new(provider))
}

fn with_oauth<T>(f: impl FnOnce(Result<&Oauth, &str>) -> T) -> T {
    OAUTH.with(|cell| {
        if cell.get().is_none() {
            match build() {
                Ok(oauth) => {
                    let _ = cell.set(oauth);
                }
                Err(reason) => return f(Err(&reason)),
            }
        }
        match cell.get() {
            Some(oauth) => f(Ok(oauth)),
            None => f(Err("the provider could not be kept")),
        }
    })
}

/// The bearer check of both `authenticate` exports, on this resource
/// (`<issuer>/mcp`).
fn authenticate(
    request: wit::HttpRequest,
    required_scopes: Vec<String>,
    machines: MachineClients,
) -> wit::Authentication {
    let request = match to_request(request) {
        Ok(request) => request,
        Err(response) => return wit::Authentication::Refused(response),
    };
    let scopes: Vec<&str> = required_scopes.iter().map(String::as_str).collect();
    with_oauth(|oauth| match oauth {
        Ok(oauth) => {
            let resource = oauth.provider().config().default_resource();
            match block_on(oauth.authenticate_with(&request, &resource, &scopes, machines)) {
                Ok(info) => wit::Authentication::Authenticated(wit::AuthInfo {
                    client_id: info.client_id,
                    subject: info.subject,
                    scopes: info.scopes,
                    resource: info.resource,
                    props_json: serde_json::Value::Object(info.props).to_string(),
                    expires_at: info.expires_at,
                }),
                Err(response) => wit::Authentication::Refused(from_response(response)),
            }
        }
        Err(reason) => wit::Authentication::Refused(config_error(reason)),
    })
}

fn json_response(status: u16, body: serde_json::Value) -> wit::HttpResponse {
    wit::HttpResponse {
        status,
        headers: vec![wit::Header { name: "content-type".into(), value: "application/json".into() }],
        body: body.to_string().into_bytes(),
    }
}

/// The `http::Request` for a WIT request, or the 400 response to send.
fn to_request(request: wit::HttpRequest) -> Result<http::Request<Bytes>, wit::HttpResponse> {
    let mut builder = http::Request::builder().method(request.method.as_str()).uri(request.url.as_str());
    for header in &request.headers {
        builder = builder.header(header.name.as_str(), header.value.as_str());
    }
    builder.body(Bytes::from(request.body)).map_err(|e| {
        json_response(
            400,
            serde_json::json!({ "error": "invalid_request", "error_description": format!("malformed request: {e}") }),
        )
    })
}

fn from_response(response: http::Response<Bytes>) -> wit::HttpResponse {
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| wit::Header {
            name: name.as_str().to_string(),
            value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
        })
        .collect();
    wit::HttpResponse { status: response.status().as_u16(), headers, body: response.into_body().to_vec() }
}

fn config_error(reason: &str) -> wit::HttpResponse {
    json_response(500, serde_json::json!({ "error": "server_error", "error_description": reason }))
}

struct Component;

impl wit::Guest for Component {
    fn handle(request: wit::HttpRequest) -> wit::HttpResponse {
        let request = match to_request(request) {
            Ok(request) => request,
            Err(response) => return response,
        };
        with_oauth(|oauth| match oauth {
            Ok(oauth) => from_response(block_on(oauth.handle(request))),
            Err(reason) => config_error(reason),
        })
    }

    fn authenticate(request: wit::HttpRequest, required_scopes: Vec<String>) -> wit::Authentication {
        authenticate(request, required_scopes, MachineClients::Refused)
    }

    fn authenticate_machine(request: wit::HttpRequest, required_scopes: Vec<String>) -> wit::Authentication {
        authenticate(request, required_scopes, MachineClients::Allowed)
    }

    fn stats() -> Result<wit::StorageStats, String> {
        with_oauth(|oauth| {
            let stats = block_on(oauth?.provider().get_stats()).map_err(|e| e.to_string())?;
            Ok(wit::StorageStats {
                clients: stats.clients,
                tokens: stats.tokens,
                refresh_tokens: stats.refresh_tokens,
                authorization_codes: stats.authorization_codes,
            })
        })
    }

    fn health() -> wit::HealthReport {
        with_oauth(|oauth| match oauth {
            Ok(oauth) => {
                let check = block_on(oauth.provider().health_check());
                wit::HealthReport {
                    healthy: check.healthy,
                    message: check.message,
                    components: check.components.into_iter().collect(),
                    errors: check.errors,
                }
            }
            Err(reason) => wit::HealthReport {
                healthy: false,
                message: reason.to_string(),
                components: Vec::new(),
                errors: vec![reason.to_string()],
            },
        })
    }
}

export!(Component);
