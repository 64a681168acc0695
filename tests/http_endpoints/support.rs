//! Fixtures and request builders shared by the endpoint tests.
#![allow(dead_code)]

pub use std::sync::atomic::{AtomicBool, Ordering};
pub use std::sync::Arc;

pub use base64::engine::general_purpose::STANDARD;
pub use base64::Engine as _;
pub use bytes::Bytes;
pub use http::header::{HeaderName, HeaderValue};
pub use http::{HeaderMap, Method, Request, Response, StatusCode};
pub use serde_json::{json, Value};
pub use simply_mcp_oauth::clock::{FakeClock, UnixTime};
pub use simply_mcp_oauth::crypto::pkce_s256;
pub use simply_mcp_oauth::http::{redirect, see_other, MachineClients, OAuthHttp, MAX_BODY_BYTES};
pub use simply_mcp_oauth::provider::{Approval, AuthorizationRequest, ProviderStats};
pub use simply_mcp_oauth::storage::*;
pub use simply_mcp_oauth::{ClientConfig, MemoryStorage, Params, Provider, ProviderConfig};

pub const ISSUER: &str = "https://auth.example.com";
pub const RESOURCE: &str = "https://auth.example.com/mcp";
pub const CLIENT: &str = "conf-client";
pub const SECRET: &str = "conf-secret";
pub const REDIRECT: &str = "https://app.example/callback";
pub const PUBLIC: &str = "public-client";
pub const LOOPBACK: &str = "http://127.0.0.1/cb";
pub const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";
pub const START: UnixTime = 1_700_000_000;

/// A store that can be switched to "unreachable", to see 503 answers.
pub struct Flaky {
    pub inner: MemoryStorage,
    pub down: Arc<AtomicBool>,
}

impl Flaky {
    pub fn check(&self) -> Result<(), StorageError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StorageError::Unavailable("test outage".into()))
        } else {
            Ok(())
        }
    }
}

/// Every call but the housekeeping ones (`stats`, `health`, `sweep`)
/// fails while the store is down.
impl Delegate for Flaky {
    type Inner = MemoryStorage;

    fn inner(&self) -> &MemoryStorage {
        &self.inner
    }

    fn before(&self, operation: &'static str) -> Result<(), StorageError> {
        match operation {
            "stats" | "health" | "sweep" => Ok(()),
            _ => self.check(),
        }
    }
}

pub fn base_config(issuer: &str) -> ProviderConfig {
    ProviderConfig {
        clients: vec![
            ClientConfig {
                client_id: CLIENT.into(),
                client_secret: Some(SECRET.into()),
                redirect_uris: vec![REDIRECT.into()],
                scopes: vec!["read".into(), "write".into()],
            },
            ClientConfig {
                client_id: PUBLIC.into(),
                client_secret: None,
                redirect_uris: vec![LOOPBACK.into()],
                scopes: vec!["read".into(), "write".into()],
            },
        ],
        extra_resources: vec!["https://other.example/api".into()],
        ..ProviderConfig::new(issuer)
    }
}

pub struct Env<S: Storage = MemoryStorage> {
    pub oauth: OAuthHttp<S>,
    pub clock: FakeClock,
}

pub async fn env() -> Env {
    env_with(|_| {}).await
}

pub async fn env_with(change: impl FnOnce(&mut ProviderConfig)) -> Env {
    let mut config = base_config(ISSUER);
    change(&mut config);
    let clock = FakeClock::at(START);
    let provider = Provider::new(config, MemoryStorage::new()).unwrap().with_clock(clock.clone());
    provider.initialize().await.unwrap();
    Env { oauth: OAuthHttp::new(provider), clock }
}

pub async fn flaky_env() -> (Env<Flaky>, Arc<AtomicBool>) {
    let down = Arc::new(AtomicBool::new(false));
    let storage = Flaky { inner: MemoryStorage::new(), down: down.clone() };
    let clock = FakeClock::at(START);
    let provider = Provider::new(base_config(ISSUER), storage).unwrap().with_clock(clock.clone());
    provider.initialize().await.unwrap();
    (Env { oauth: OAuthHttp::new(provider), clock }, down)
}

/// A decoded response.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn from(response: Response<Bytes>) -> Self {
        let (parts, body) = response.into_parts();
        Self { status: parts.status, headers: parts.headers, body }
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_string()
    }
    #[track_caller]
    pub fn expect_error(&self, status: u16, error: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.error(), error);
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert_eq!(self.header("cache-control"), Some("no-store"));
    }
}

pub fn request(
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Request<Bytes> {
    let mut request = Request::new(body.into());
    *request.method_mut() = method;
    *request.uri_mut() = path.parse().unwrap();
    for (name, value) in headers {
        request.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    request
}

pub fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

pub fn form(path: &str, pairs: &[(&str, &str)]) -> Request<Bytes> {
    let ct = [("content-type", "application/x-www-form-urlencoded")];
    request(Method::POST, path, &ct, encode(pairs))
}

pub fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| encode(&[("x", s)])[2..].to_string();
    format!("Basic {}", STANDARD.encode(format!("{}:{}", enc(id), enc(secret))))
}

pub fn form_basic(path: &str, pairs: &[(&str, &str)], id: &str, secret: &str) -> Request<Bytes> {
    let auth = basic(id, secret);
    let headers = [("content-type", "application/x-www-form-urlencoded"), ("authorization", &auth)];
    request(Method::POST, path, &headers, encode(pairs))
}

pub fn get(path: &str) -> Request<Bytes> {
    request(Method::GET, path, &[], Bytes::new())
}

pub fn bearer(token: &str) -> Request<()> {
    Request::builder().uri("/mcp").header("authorization", format!("Bearer {token}")).body(()).unwrap()
}

pub fn query_of(location: &str) -> Params {
    Params::parse(url::Url::parse(location).unwrap().query().unwrap_or(""))
}

pub fn authorize_uri(pairs: &[(&str, &str)]) -> Request<()> {
    Request::builder().uri(format!("/authorize?{}", encode(pairs))).body(()).unwrap()
}

pub fn auth_params<'a>(client: &'a str, redirect_uri: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", redirect_uri),
        ("code_challenge_method", "S256"),
        ("state", "st<&>"),
    ]
}

impl<S: Storage> Env<S> {
    pub async fn send(&self, request: Request<Bytes>) -> Answer {
        Answer::from(self.oauth.handle(request).await)
    }

    pub async fn stats(&self) -> ProviderStats {
        self.oauth.provider().get_stats().await.unwrap()
    }

    /// `GET /authorize` + consent; returns the code from the redirect.
    pub async fn code_with(&self, client: &str, redirect_uri: &str, extra: &[(&str, &str)]) -> String {
        let challenge = pkce_s256(VERIFIER);
        let mut pairs = auth_params(client, redirect_uri);
        pairs.push(("code_challenge", &challenge));
        pairs.extend_from_slice(extra);
        let parsed: AuthorizationRequest =
            self.oauth.authorize_request(&authorize_uri(&pairs)).await.expect("valid request");
        let mut props = serde_json::Map::new();
        props.insert("tenant".into(), json!("acme"));
        let approval = Approval { subject: "alice".into(), scopes: None, props };
        let location = self.oauth.provider().complete_authorization(&parsed, approval).await.unwrap();
        let query = query_of(&location);
        assert_eq!(query.single("state").unwrap(), Some("st<&>"));
        assert_eq!(query.single("iss").unwrap(), Some(ISSUER));
        query.required("code").unwrap().to_string()
    }

    pub async fn code(&self) -> String {
        self.code_with(CLIENT, REDIRECT, &[]).await
    }

    pub async fn exchange(&self, code: &str) -> Answer {
        let pairs = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        self.send(form_basic("/token", &pairs, CLIENT, SECRET)).await
    }

    /// A fresh grant's (access, refresh) tokens.
    pub async fn tokens(&self) -> (String, String) {
        let answer = self.exchange(&self.code().await).await;
        assert_eq!(answer.status, 200);
        let body = answer.json();
        (body["access_token"].as_str().unwrap().into(), body["refresh_token"].as_str().unwrap().into())
    }

    pub async fn refresh(&self, refresh_token: &str, extra: &[(&str, &str)]) -> Answer {
        let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
        pairs.extend_from_slice(extra);
        self.send(form_basic("/token", &pairs, CLIENT, SECRET)).await
    }

    pub async fn auth_status(&self, token: &str) -> u16 {
        match self.oauth.authenticate(&bearer(token), &[]).await {
            Ok(_) => 200,
            Err(response) => response.status().as_u16(),
        }
    }
}
