//! The HTTP layer end to end: every endpoint through `OAuthHttp::handle`,
//! the authorization request through `authorize_request`, and the resource
//! side through `authenticate`, including every bad input a client can send.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use simply_mcp_oauth::clock::{FakeClock, UnixTime};
use simply_mcp_oauth::crypto::{pkce_s256, SecretDigest};
use simply_mcp_oauth::http::{redirect, see_other, OAuthHttp, MAX_BODY_BYTES};
use simply_mcp_oauth::provider::{Approval, AuthorizationRequest, ProviderStats};
use simply_mcp_oauth::storage::*;
use simply_mcp_oauth::{ClientConfig, MemoryStorage, Params, Provider, ProviderConfig};

const ISSUER: &str = "https://auth.example.com";
const RESOURCE: &str = "https://auth.example.com/mcp";
const CLIENT: &str = "conf-client";
const SECRET: &str = "conf-secret";
const REDIRECT: &str = "https://app.example/callback";
const PUBLIC: &str = "public-client";
const LOOPBACK: &str = "http://127.0.0.1/cb";
const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";
const START: UnixTime = 1_700_000_000;

// ---------- helpers ----------

/// A store that can be switched to "unreachable", to see 503 answers.
struct Flaky {
    inner: MemoryStorage,
    down: Arc<AtomicBool>,
}

impl Flaky {
    fn check(&self) -> Result<(), StorageError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StorageError::Unavailable("test outage".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait::async_trait]
impl Storage for Flaky {
    async fn put_client(&self, c: ClientRecord) -> Result<(), StorageError> {
        self.check()?;
        self.inner.put_client(c).await
    }
    async fn get_client(&self, id: &str) -> Result<Option<ClientRecord>, StorageError> {
        self.check()?;
        self.inner.get_client(id).await
    }
    async fn delete_client(&self, id: &str, now: UnixTime) -> Result<bool, StorageError> {
        self.check()?;
        self.inner.delete_client(id, now).await
    }
    async fn list_clients(&self) -> Result<Vec<String>, StorageError> {
        self.check()?;
        self.inner.list_clients().await
    }
    async fn put_grant(
        &self,
        g: GrantRecord,
        a: Option<NewAccess>,
        now: UnixTime,
    ) -> Result<(), StorageError> {
        self.check()?;
        self.inner.put_grant(g, a, now).await
    }
    async fn get_grant(&self, id: &str, now: UnixTime) -> Result<Option<GrantRecord>, StorageError> {
        self.check()?;
        self.inner.get_grant(id, now).await
    }
    async fn consume_code(
        &self,
        id: &str,
        d: &SecretDigest,
        e: &CodeExpectation,
        r: Redemption,
        now: UnixTime,
    ) -> Result<CodeOutcome, StorageError> {
        self.check()?;
        self.inner.consume_code(id, d, e, r, now).await
    }
    async fn get_access(
        &self,
        id: &str,
        d: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<AccessRecord>, StorageError> {
        self.check()?;
        self.inner.get_access(id, d, now).await
    }
    async fn rotate_refresh(
        &self,
        id: &str,
        c: &str,
        d: &SecretDigest,
        r: Rotation,
        now: UnixTime,
    ) -> Result<RotateOutcome, StorageError> {
        self.check()?;
        self.inner.rotate_refresh(id, c, d, r, now).await
    }
    async fn revoke_grant(&self, id: &str) -> Result<bool, StorageError> {
        self.check()?;
        self.inner.revoke_grant(id).await
    }
    async fn list_grants(&self, s: &str, now: UnixTime) -> Result<Vec<GrantRecord>, StorageError> {
        self.check()?;
        self.inner.list_grants(s, now).await
    }
    async fn stats(&self, now: UnixTime) -> Result<StorageStats, StorageError> {
        self.inner.stats(now).await
    }
    async fn health(&self) -> HealthCheck {
        self.inner.health().await
    }
    async fn sweep(&self, now: UnixTime) -> Result<u64, StorageError> {
        self.inner.sweep(now).await
    }
}

fn base_config(issuer: &str) -> ProviderConfig {
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

struct Env<S: Storage = MemoryStorage> {
    oauth: OAuthHttp<S>,
    clock: FakeClock,
}

async fn env() -> Env {
    env_with(|_| {}).await
}

async fn env_with(change: impl FnOnce(&mut ProviderConfig)) -> Env {
    let mut config = base_config(ISSUER);
    change(&mut config);
    let clock = FakeClock::at(START);
    let provider = Provider::new(config, MemoryStorage::new()).unwrap().with_clock(clock.clone());
    provider.initialize().await.unwrap();
    Env { oauth: OAuthHttp::new(provider), clock }
}

async fn flaky_env() -> (Env<Flaky>, Arc<AtomicBool>) {
    let down = Arc::new(AtomicBool::new(false));
    let storage = Flaky { inner: MemoryStorage::new(), down: down.clone() };
    let clock = FakeClock::at(START);
    let provider = Provider::new(base_config(ISSUER), storage).unwrap().with_clock(clock.clone());
    provider.initialize().await.unwrap();
    (Env { oauth: OAuthHttp::new(provider), clock }, down)
}

/// A decoded response.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn from(response: Response<Bytes>) -> Self {
        let (parts, body) = response.into_parts();
        Self { status: parts.status, headers: parts.headers, body }
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
    fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_string()
    }
    #[track_caller]
    fn expect_error(&self, status: u16, error: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.error(), error);
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert_eq!(self.header("cache-control"), Some("no-store"));
    }
}

fn request(method: Method, path: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Request<Bytes> {
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

fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn form(path: &str, pairs: &[(&str, &str)]) -> Request<Bytes> {
    let ct = [("content-type", "application/x-www-form-urlencoded")];
    request(Method::POST, path, &ct, encode(pairs))
}

fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| encode(&[("x", s)])[2..].to_string();
    format!("Basic {}", STANDARD.encode(format!("{}:{}", enc(id), enc(secret))))
}

fn form_basic(path: &str, pairs: &[(&str, &str)], id: &str, secret: &str) -> Request<Bytes> {
    let auth = basic(id, secret);
    let headers = [("content-type", "application/x-www-form-urlencoded"), ("authorization", &auth)];
    request(Method::POST, path, &headers, encode(pairs))
}

fn get(path: &str) -> Request<Bytes> {
    request(Method::GET, path, &[], Bytes::new())
}

fn bearer(token: &str) -> Request<()> {
    Request::builder().uri("/mcp").header("authorization", format!("Bearer {token}")).body(()).unwrap()
}

fn query_of(location: &str) -> Params {
    Params::parse(url::Url::parse(location).unwrap().query().unwrap_or(""))
}

fn authorize_uri(pairs: &[(&str, &str)]) -> Request<()> {
    Request::builder().uri(format!("/authorize?{}", encode(pairs))).body(()).unwrap()
}

fn auth_params<'a>(client: &'a str, redirect_uri: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", redirect_uri),
        ("code_challenge_method", "S256"),
        ("state", "st<&>"),
    ]
}

impl<S: Storage> Env<S> {
    async fn send(&self, request: Request<Bytes>) -> Answer {
        Answer::from(self.oauth.handle(request).await)
    }

    async fn stats(&self) -> ProviderStats {
        self.oauth.provider().get_stats().await.unwrap()
    }

    /// `GET /authorize` + consent; returns the code from the redirect.
    async fn code_with(&self, client: &str, redirect_uri: &str, extra: &[(&str, &str)]) -> String {
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

    async fn code(&self) -> String {
        self.code_with(CLIENT, REDIRECT, &[]).await
    }

    async fn exchange(&self, code: &str) -> Answer {
        let pairs = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        self.send(form_basic("/token", &pairs, CLIENT, SECRET)).await
    }

    /// A fresh grant's (access, refresh) tokens.
    async fn tokens(&self) -> (String, String) {
        let answer = self.exchange(&self.code().await).await;
        assert_eq!(answer.status, 200);
        let body = answer.json();
        (body["access_token"].as_str().unwrap().into(), body["refresh_token"].as_str().unwrap().into())
    }

    async fn refresh(&self, refresh_token: &str, extra: &[(&str, &str)]) -> Answer {
        let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
        pairs.extend_from_slice(extra);
        self.send(form_basic("/token", &pairs, CLIENT, SECRET)).await
    }

    async fn auth_status(&self, token: &str) -> u16 {
        match self.oauth.authenticate(&bearer(token), &[]).await {
            Ok(_) => 200,
            Err(response) => response.status().as_u16(),
        }
    }
}

// ---------- the happy flow ----------

#[tokio::test]
async fn full_flow_through_handle_authorize_request_and_authenticate() {
    let env = env().await;
    let code = env.code().await;
    let answer = env.exchange(&code).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_eq!(answer.header("pragma"), Some("no-cache"));
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    let body = answer.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read write");
    let access = body["access_token"].as_str().unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();

    let info = env.oauth.authenticate(&bearer(access), &["read"]).await.unwrap();
    assert_eq!(info.client_id, CLIENT);
    assert_eq!(info.subject.as_deref(), Some("alice"));
    assert_eq!(info.props["tenant"], "acme");
    assert_eq!(info.resource, RESOURCE);

    let rotated = env.refresh(refresh, &[]).await;
    assert_eq!(rotated.status, 200);
    let next = rotated.json();
    assert_ne!(next["refresh_token"], body["refresh_token"]);
    assert_eq!(env.auth_status(next["access_token"].as_str().unwrap()).await, 200);
}

#[tokio::test]
async fn public_client_uses_pkce_without_a_secret_on_any_loopback_port() {
    let env = env().await;
    let redirect_uri = "http://127.0.0.1:53117/cb";
    let code = env.code_with(PUBLIC, redirect_uri, &[]).await;
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", VERIFIER),
        ("client_id", PUBLIC),
    ];
    let answer = env.send(form("/token", &pairs)).await;
    assert_eq!(answer.status, 200, "{}", answer.json());
    assert_eq!(env.auth_status(answer.json()["access_token"].as_str().unwrap()).await, 200);
}

#[tokio::test]
async fn redirect_helpers_answer_302_and_303_without_caching() {
    let found = Answer::from(redirect("https://app.example/cb?code=x"));
    assert_eq!(found.status, StatusCode::FOUND);
    assert_eq!(found.header("location"), Some("https://app.example/cb?code=x"));
    assert_eq!(found.header("cache-control"), Some("no-store"));
    let other = Answer::from(see_other("https://app.example/cb"));
    assert_eq!(other.status, StatusCode::SEE_OTHER);
    assert_eq!(other.header("location"), Some("https://app.example/cb"));
}

// ---------- metadata, routing, CORS ----------

#[tokio::test]
async fn authorization_server_metadata_describes_every_endpoint() {
    let env = env().await;
    let answer = env.send(get("/.well-known/oauth-authorization-server")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    let doc = answer.json();
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(doc["authorization_endpoint"], format!("{ISSUER}/authorize"));
    assert_eq!(doc["token_endpoint"], format!("{ISSUER}/token"));
    assert_eq!(doc["registration_endpoint"], format!("{ISSUER}/register"));
    assert_eq!(doc["revocation_endpoint"], format!("{ISSUER}/revoke"));
    assert_eq!(doc["introspection_endpoint"], format!("{ISSUER}/introspect"));
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        doc["grant_types_supported"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    let methods = json!(["client_secret_basic", "client_secret_post", "none"]);
    assert_eq!(doc["token_endpoint_auth_methods_supported"], methods);
    assert_eq!(doc["revocation_endpoint_auth_methods_supported"], methods);
    assert_eq!(doc["introspection_endpoint_auth_methods_supported"], methods);
    assert_eq!(doc["scopes_supported"], json!(["read", "write"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);

    let head = env.send(request(Method::HEAD, "/.well-known/oauth-authorization-server", &[], "")).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let post = env.send(form("/.well-known/oauth-authorization-server", &[])).await;
    post.expect_error(405, "invalid_request");
    assert_eq!(post.header("allow"), Some("GET, HEAD, OPTIONS"));
}

#[tokio::test]
async fn registration_endpoint_is_hidden_and_refused_when_disabled() {
    let env = env_with(|c| c.allow_dynamic_registration = false).await;
    let doc = env.send(get("/.well-known/oauth-authorization-server")).await.json();
    assert!(doc.get("registration_endpoint").is_none());
    let ct = [("content-type", "application/json")];
    let body = r#"{"redirect_uris":["https://x.example/cb"]}"#;
    let answer = env.send(request(Method::POST, "/register", &ct, body)).await;
    answer.expect_error(403, "access_denied");
    assert_eq!(env.stats().await.clients, 2);
}

#[tokio::test]
async fn protected_resource_metadata_at_path_and_root() {
    let env = env().await;
    for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"] {
        let answer = env.send(get(path)).await;
        assert_eq!(answer.status, 200, "{path}");
        let doc = answer.json();
        assert_eq!(doc["resource"], RESOURCE);
        assert_eq!(doc["authorization_servers"], json!([ISSUER]));
        assert_eq!(doc["scopes_supported"], json!(["read", "write"]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    }
    let extra = env.send(get("/.well-known/oauth-protected-resource/api")).await.json();
    assert_eq!(extra["resource"], "https://other.example/api");
}

#[tokio::test]
async fn issuer_with_a_path_serves_endpoints_under_it() {
    let provider =
        Provider::create(base_config("https://x.example/auth"), MemoryStorage::new()).await.unwrap();
    let env = Env { oauth: OAuthHttp::new(provider), clock: FakeClock::at(START) };
    for path in
        ["/.well-known/oauth-authorization-server/auth", "/auth/.well-known/oauth-authorization-server"]
    {
        let answer = env.send(get(path)).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.json()["token_endpoint"], "https://x.example/auth/token");
    }
    let resource = env.send(get("/.well-known/oauth-protected-resource/auth/mcp")).await.json();
    assert_eq!(resource["resource"], "https://x.example/auth/mcp");
    let pairs = [("grant_type", "client_credentials")];
    let answer = env.send(form_basic("/auth/token", &pairs, CLIENT, SECRET)).await;
    assert_eq!(answer.status, 200);
    // Absolute-form request targets route the same way.
    let absolute = env.send(form_basic("https://x.example/auth/token", &pairs, CLIENT, SECRET)).await;
    assert_eq!(absolute.status, 200);
    env.send(form_basic("/token", &pairs, CLIENT, SECRET)).await.expect_error(404, "not_found");
    env.send(get("/.well-known/oauth-authorization-server")).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn unknown_paths_and_authorize_are_404_json_without_cors() {
    let env = env().await;
    for path in ["/nope", "/authorize", "/token/", "/.well-known/openid-configuration"] {
        let answer = env.send(get(path)).await;
        answer.expect_error(404, "not_found");
        assert_eq!(answer.header("access-control-allow-origin"), None, "{path}");
    }
    let authorize = env.send(get("/authorize?response_type=code&client_id=conf-client")).await;
    assert!(authorize.json()["error_description"].as_str().unwrap().contains("host application"));
}

#[tokio::test]
async fn cors_preflight_and_headers_on_browser_endpoints() {
    let env = env().await;
    for path in ["/token", "/register", "/revoke", "/introspect"] {
        let headers = [("origin", "https://app.example"), ("access-control-request-method", "POST")];
        let answer = env.send(request(Method::OPTIONS, path, &headers, "")).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{path}");
        assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
        assert_eq!(answer.header("access-control-allow-methods"), Some("POST, OPTIONS"));
        assert_eq!(
            answer.header("access-control-allow-headers"),
            Some("Authorization, Content-Type, MCP-Protocol-Version")
        );
        // Errors are readable cross-origin too.
        let error = env.send(form(path, &[])).await;
        assert_eq!(error.header("access-control-allow-origin"), Some("*"), "{path}");
    }
    let preflight =
        env.send(request(Method::OPTIONS, "/.well-known/oauth-protected-resource/mcp", &[], "")).await;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert_eq!(preflight.header("access-control-allow-methods"), Some("GET, HEAD, OPTIONS"));
    let bad = env.oauth.authorize_request(&authorize_uri(&[("client_id", "nobody")])).await.unwrap_err();
    assert!(bad.headers().get("access-control-allow-origin").is_none());
}

// ---------- transport-level bad input ----------

#[tokio::test]
async fn post_endpoints_refuse_other_methods_with_allow() {
    let env = env().await;
    for path in ["/token", "/register", "/revoke", "/introspect"] {
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            let answer = env.send(request(method.clone(), path, &[], "")).await;
            answer.expect_error(405, "invalid_request");
            assert_eq!(answer.header("allow"), Some("POST, OPTIONS"), "{method} {path}");
        }
    }
}

#[tokio::test]
async fn wrong_or_missing_content_type_is_refused() {
    let env = env().await;
    let body = encode(&[("grant_type", "client_credentials")]);
    let auth = basic(CLIENT, SECRET);
    for ct in [None, Some("application/json"), Some("text/plain"), Some("multipart/form-data")] {
        let mut headers = vec![("authorization", auth.as_str())];
        if let Some(ct) = ct {
            headers.push(("content-type", ct));
        }
        let answer = env.send(request(Method::POST, "/token", &headers, body.clone())).await;
        answer.expect_error(415, "invalid_request");
    }
    // Parameters on the media type are ignored.
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
    ];
    assert_eq!(env.send(request(Method::POST, "/token", &headers, body)).await.status, 200);
    // /register wants JSON.
    let form_ct = [("content-type", "application/x-www-form-urlencoded")];
    let answer = env.send(request(Method::POST, "/register", &form_ct, "redirect_uris=x")).await;
    answer.expect_error(415, "invalid_request");
}

#[tokio::test]
async fn oversized_bodies_are_413_and_invalid_utf8_is_400() {
    let env = env().await;
    let before = env.stats().await;
    let big = format!("grant_type=client_credentials&pad={}", "a".repeat(MAX_BODY_BYTES));
    let ct = [("content-type", "application/x-www-form-urlencoded")];
    for path in ["/token", "/revoke", "/introspect"] {
        env.send(request(Method::POST, path, &ct, big.clone())).await.expect_error(413, "invalid_request");
    }
    let json_ct = [("content-type", "application/json")];
    let big_json = format!("{{\"client_name\":\"{}\"}}", "a".repeat(MAX_BODY_BYTES));
    env.send(request(Method::POST, "/register", &json_ct, big_json))
        .await
        .expect_error(413, "invalid_request");

    let invalid = Bytes::from_static(b"grant_type=client_credentials&x=\xff\xfe");
    env.send(request(Method::POST, "/token", &ct, invalid)).await.expect_error(400, "invalid_request");
    let invalid_json = Bytes::from_static(b"{\"client_name\":\"\xff\"}");
    env.send(request(Method::POST, "/register", &json_ct, invalid_json))
        .await
        .expect_error(400, "invalid_request");
    assert_eq!(env.stats().await, before);
}

#[tokio::test]
async fn hostile_inputs_never_panic_and_always_answer_json() {
    let env = env().await;
    let ct = [("content-type", "application/x-www-form-urlencoded")];
    let bodies: [&[u8]; 8] = [
        b"",
        b"&&&===&",
        b"grant_type",
        b"grant_type=%zz&code=%",
        b"grant_type=authorization_code&code=..........&redirect_uri=&code_verifier=x",
        b"grant_type=refresh_token&refresh_token=aaaaaaaaaaaaaaaaaaaaaa.bbbb",
        b"\x00\x01\x02",
        b"token=%00%0d%0a&client_id=%0d%0a",
    ];
    for path in ["/token", "/revoke", "/introspect", "/register"] {
        for body in bodies {
            let answer = env.send(request(Method::POST, path, &ct, Bytes::from_static(body))).await;
            assert!(answer.status.is_client_error(), "{path} {body:?} -> {}", answer.status);
            let _ = answer.json();
        }
    }
    let weird_auth = ["Basic", "Basic ====", "Basic \u{e9}t\u{e9}", "Bearer x", "Digest a=b", "basic Og=="];
    for auth in weird_auth {
        let headers = [ct[0], ("authorization", auth)];
        let answer =
            env.send(request(Method::POST, "/token", &headers, "grant_type=client_credentials")).await;
        assert!(answer.status.is_client_error(), "{auth}");
    }
}

// ---------- /token: parameters and client authentication ----------

#[tokio::test]
async fn missing_and_repeated_parameters_are_invalid_request() {
    let env = env().await;
    let code = env.code().await;
    let before = env.stats().await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "invalid_request"),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
            "invalid_request",
        ),
        (
            vec![("grant_type", "authorization_code"), ("code", &code), ("code_verifier", VERIFIER)],
            "invalid_request",
        ),
        (
            vec![("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)],
            "invalid_request",
        ),
        (vec![("grant_type", "refresh_token")], "invalid_request"),
        (vec![("grant_type", "client_credentials"), ("grant_type", "client_credentials")], "invalid_request"),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
            "invalid_request",
        ),
        (
            vec![("grant_type", "client_credentials"), ("scope", "read"), ("scope", "write")],
            "invalid_request",
        ),
        (
            vec![("grant_type", "client_credentials"), ("resource", RESOURCE), ("resource", RESOURCE)],
            "invalid_target",
        ),
        (vec![("grant_type", "password"), ("username", "a"), ("password", "b")], "unsupported_grant_type"),
        (vec![("grant_type", "implicit")], "unsupported_grant_type"),
    ];
    for (pairs, error) in cases {
        let answer = env.send(form_basic("/token", &pairs, CLIENT, SECRET)).await;
        answer.expect_error(400, error);
        assert_eq!(answer.header("pragma"), Some("no-cache"));
    }
    assert_eq!(env.stats().await, before);
    // The code survived all of that.
    assert_eq!(env.exchange(&code).await.status, 200);
}

#[tokio::test]
async fn client_authentication_failures() {
    let env = env().await;
    let code = env.code().await;
    let before = env.stats().await;
    let grant = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut pairs = grant.to_vec();
        pairs.extend_from_slice(extra);
        pairs
    };

    // Wrong secret over Basic: 401 with a Basic challenge.
    let answer = env.send(form_basic("/token", &grant, CLIENT, "wrong")).await;
    answer.expect_error(401, "invalid_client");
    let challenge = answer.header("www-authenticate").unwrap();
    assert!(challenge.starts_with("Basic realm=\""), "{challenge}");
    assert!(!answer.json()["error_description"].as_str().unwrap().contains("wrong"));

    // Unknown client over Basic, and in the body.
    env.send(form_basic("/token", &grant, "nobody", SECRET)).await.expect_error(401, "invalid_client");
    let answer = env.send(form("/token", &with(&[("client_id", "nobody"), ("client_secret", SECRET)]))).await;
    answer.expect_error(401, "invalid_client");
    assert_eq!(answer.header("www-authenticate"), None);

    // Wrong secret in the body; no secret at all for a confidential client.
    env.send(form("/token", &with(&[("client_id", CLIENT), ("client_secret", "nope")])))
        .await
        .expect_error(401, "invalid_client");
    env.send(form("/token", &with(&[("client_id", CLIENT)]))).await.expect_error(401, "invalid_client");
    // No client identification at all.
    env.send(form("/token", &grant)).await.expect_error(401, "invalid_client");
    // A secret without an id.
    env.send(form("/token", &with(&[("client_secret", SECRET)]))).await.expect_error(400, "invalid_request");

    // Basic and body credentials together.
    let both = with(&[("client_id", CLIENT), ("client_secret", SECRET)]);
    env.send(form_basic("/token", &both, CLIENT, SECRET)).await.expect_error(400, "invalid_request");
    // Basic with a different body client_id.
    env.send(form_basic("/token", &with(&[("client_id", PUBLIC)]), CLIENT, SECRET))
        .await
        .expect_error(400, "invalid_request");
    // Malformed Basic and other schemes.
    for auth in
        ["Basic not-base64!", "Basic", "Bearer abc", &format!("Basic {}", STANDARD.encode("no-colon"))]
    {
        let headers = [("content-type", "application/x-www-form-urlencoded"), ("authorization", auth)];
        let answer = env.send(request(Method::POST, "/token", &headers, encode(&grant))).await;
        answer.expect_error(401, "invalid_client");
        assert!(answer.header("www-authenticate").unwrap().starts_with("Basic "), "{auth}");
    }
    // Two Authorization headers.
    let auth = basic(CLIENT, SECRET);
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("authorization", auth.as_str()),
        ("authorization", auth.as_str()),
    ];
    env.send(request(Method::POST, "/token", &headers, encode(&grant)))
        .await
        .expect_error(400, "invalid_request");

    assert_eq!(env.stats().await, before);
    // The client_secret_post method works once alone.
    let answer = env.send(form("/token", &with(&[("client_id", CLIENT), ("client_secret", SECRET)]))).await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded_before_base64() {
    let id = "weird:id&x";
    let secret = "p@ss word:+%";
    let env = env_with(|c| {
        c.clients.push(ClientConfig {
            client_id: id.into(),
            client_secret: Some(secret.into()),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["read".into()],
        })
    })
    .await;
    let answer = env.send(form_basic("/token", &[("grant_type", "client_credentials")], id, secret)).await;
    assert_eq!(answer.status, 200, "{}", answer.json());
}

// ---------- /authorize ----------

#[tokio::test]
async fn untrusted_redirects_get_an_escaped_400_page_never_a_redirect() {
    let env = env().await;
    let before = env.stats().await;
    let challenge = pkce_s256(VERIFIER);
    let attempts = [
        (CLIENT, "https://evil.example/callback"),
        (CLIENT, "javascript:alert(1)//https://app.example/callback"),
        (CLIENT, "https://app.example:8443/callback"),
        (CLIENT, "https://app.example/callback/../evil"),
        (CLIENT, "https://app.example/callback?x=1"),
        (CLIENT, "<script>alert(1)</script>"),
        (PUBLIC, "http://127.0.0.1:9999/other"),
        (PUBLIC, "http://evil.example/cb"),
        ("nobody", REDIRECT),
    ];
    for (client, redirect_uri) in attempts {
        let mut pairs = auth_params(client, redirect_uri);
        pairs.push(("code_challenge", &challenge));
        let response = env.oauth.authorize_request(&authorize_uri(&pairs)).await.unwrap_err();
        let answer = Answer::from(response);
        assert_eq!(answer.status, 400, "{client} {redirect_uri}");
        assert_eq!(answer.header("location"), None);
        assert_eq!(answer.header("content-type"), Some("text/html; charset=utf-8"));
        let html = String::from_utf8(answer.body.to_vec()).unwrap();
        assert!(html.contains("invalid_request"));
        assert!(!html.contains("<script>"), "{html}");
    }
    // Missing or repeated client_id / redirect_uri are page errors too.
    for pairs in [
        vec![("redirect_uri", REDIRECT)],
        vec![("client_id", CLIENT)],
        vec![("client_id", CLIENT), ("client_id", CLIENT), ("redirect_uri", REDIRECT)],
        vec![("client_id", CLIENT), ("redirect_uri", REDIRECT), ("redirect_uri", REDIRECT)],
    ] {
        let response = env.oauth.authorize_request(&authorize_uri(&pairs)).await.unwrap_err();
        assert_eq!(response.status(), 400);
        assert!(response.headers().get("location").is_none());
    }
    assert_eq!(env.stats().await, before);
}

#[tokio::test]
async fn errors_after_the_redirect_uri_is_trusted_redirect_with_state_and_iss() {
    let env = env().await;
    let challenge = pkce_s256(VERIFIER);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("code_challenge", &challenge), ("code_challenge_method", "plain")], "invalid_request"),
        (vec![], "invalid_request"), // missing code_challenge
        (vec![("code_challenge", "too-short")], "invalid_request"),
        (vec![("code_challenge", &challenge), ("response_type", "token")], "unsupported_response_type"),
        (vec![("code_challenge", &challenge), ("scope", "read admin")], "invalid_scope"),
        (vec![("code_challenge", &challenge), ("resource", "https://unknown.example/mcp")], "invalid_target"),
        (
            vec![("code_challenge", &challenge), ("resource", "https://auth.example.com/mcp#frag")],
            "invalid_target",
        ),
    ];
    for (extra, error) in cases {
        let mut pairs: Vec<(&str, &str)> =
            vec![("client_id", CLIENT), ("redirect_uri", REDIRECT), ("state", "s1")];
        if !extra.iter().any(|(k, _)| *k == "response_type") {
            pairs.push(("response_type", "code"));
        }
        if !extra.iter().any(|(k, _)| *k == "code_challenge_method") {
            pairs.push(("code_challenge_method", "S256"));
        }
        pairs.extend(extra);
        let answer = Answer::from(env.oauth.authorize_request(&authorize_uri(&pairs)).await.unwrap_err());
        assert_eq!(answer.status, StatusCode::FOUND, "{error}");
        assert_eq!(answer.header("cache-control"), Some("no-store"));
        let location = answer.header("location").unwrap();
        assert!(location.starts_with(REDIRECT), "{location}");
        let query = query_of(location);
        assert_eq!(query.single("error").unwrap(), Some(error), "{location}");
        assert_eq!(query.single("state").unwrap(), Some("s1"));
        assert_eq!(query.single("iss").unwrap(), Some(ISSUER));
    }
}

#[tokio::test]
async fn wrong_pkce_verifier_and_redirect_uri_fail_the_exchange() {
    let env = env().await;
    let code = env.code().await;
    let before = env.stats().await;
    let cases = [
        ("another-verifier-of-at-least-forty-three-characters-0000", REDIRECT),
        ("short", REDIRECT),
        (VERIFIER, "https://app.example/other"),
    ];
    for (verifier, redirect_uri) in cases {
        let pairs = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        env.send(form_basic("/token", &pairs, CLIENT, SECRET)).await.expect_error(400, "invalid_grant");
    }
    // Another client cannot redeem it either.
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", PUBLIC),
    ];
    env.send(form("/token", &pairs)).await.expect_error(400, "invalid_grant");
    assert_eq!(env.stats().await, before);
}

// ---------- codes, refresh tokens and expiry ----------

#[tokio::test]
async fn replayed_code_fails_and_revokes_the_first_tokens() {
    let env = env().await;
    let code = env.code().await;
    let first = env.exchange(&code).await.json();
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(env.auth_status(access).await, 200);

    let replay = env.exchange(&code).await;
    replay.expect_error(400, "invalid_grant");
    assert_eq!(env.auth_status(access).await, 401);
    env.refresh(first["refresh_token"].as_str().unwrap(), &[]).await.expect_error(400, "invalid_grant");
    let stats = env.stats().await;
    assert_eq!((stats.tokens, stats.refresh_tokens), (0, 0));
}

#[tokio::test]
async fn refresh_retry_returns_the_same_successor_and_reuse_revokes_the_grant() {
    let env = env().await;
    let (_, r0) = env.tokens().await;
    let first = env.refresh(&r0, &[]).await.json();
    let r1 = first["refresh_token"].as_str().unwrap().to_string();
    // The response was "lost": the client retries with r0 and gets r1 again.
    let retry = env.refresh(&r0, &[]).await;
    assert_eq!(retry.status, 200);
    assert_eq!(retry.json()["refresh_token"], r1.as_str());
    // r1 is used; r0 is now reuse, which ends the whole grant.
    let second = env.refresh(&r1, &[]).await.json();
    let r2 = second["refresh_token"].as_str().unwrap();
    let a2 = second["access_token"].as_str().unwrap();
    assert_eq!(env.auth_status(a2).await, 200);
    env.refresh(&r0, &[]).await.expect_error(400, "invalid_grant");
    env.refresh(r2, &[]).await.expect_error(400, "invalid_grant");
    assert_eq!(env.auth_status(a2).await, 401);
}

#[tokio::test]
async fn downscoping_is_allowed_and_upscoping_refused() {
    let env = env().await;
    let (_, refresh) = env.tokens().await;
    let narrow = env.refresh(&refresh, &[("scope", "read")]).await;
    assert_eq!(narrow.status, 200);
    let body = narrow.json();
    assert_eq!(body["scope"], "read");
    let access = body["access_token"].as_str().unwrap();
    assert!(env.oauth.authenticate(&bearer(access), &["read"]).await.is_ok());
    let denied = Answer::from(env.oauth.authenticate(&bearer(access), &["write"]).await.unwrap_err());
    denied.expect_error(403, "insufficient_scope");

    // A grant of "read" only cannot be widened.
    let code = env.code_with(CLIENT, REDIRECT, &[("scope", "read")]).await;
    let tokens = env.exchange(&code).await.json();
    let before = env.stats().await;
    let wider = env.refresh(tokens["refresh_token"].as_str().unwrap(), &[("scope", "read write")]).await;
    wider.expect_error(400, "invalid_scope");
    env.refresh(tokens["refresh_token"].as_str().unwrap(), &[("scope", "bad\"scope")])
        .await
        .expect_error(400, "invalid_scope");
    assert_eq!(env.stats().await, before);
}

#[tokio::test]
async fn expired_code_access_and_refresh_tokens_are_refused() {
    let env = env().await;
    let code = env.code().await;
    env.clock.advance(601);
    env.exchange(&code).await.expect_error(400, "invalid_grant");

    let (access, refresh) = env.tokens().await;
    env.clock.advance(3599);
    assert_eq!(env.auth_status(&access).await, 200);
    env.clock.advance(2);
    let expired = Answer::from(env.oauth.authenticate(&bearer(&access), &[]).await.unwrap_err());
    expired.expect_error(401, "invalid_token");
    assert!(expired.header("www-authenticate").unwrap().contains("error=\"invalid_token\""));
    // The refresh token outlives the access token...
    let next = env.refresh(&refresh, &[]).await;
    assert_eq!(next.status, 200);
    // ...but not its own lifetime.
    env.clock.advance(86_401);
    env.refresh(next.json()["refresh_token"].as_str().unwrap(), &[]).await.expect_error(400, "invalid_grant");
}

#[tokio::test]
async fn resource_indicators_bind_tokens_to_their_audience() {
    let env = env().await;
    let code = env.code().await;
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("resource", "https://other.example/api"),
    ];
    env.send(form_basic("/token", &pairs, CLIENT, SECRET)).await.expect_error(400, "invalid_target");

    // A grant for the extra resource: valid there, refused at the default one.
    let code = env.code_with(CLIENT, REDIRECT, &[("resource", "https://other.example/api")]).await;
    let access = env.exchange(&code).await.json()["access_token"].as_str().unwrap().to_string();
    let request = bearer(&access);
    assert!(env.oauth.authenticate_for(&request, "https://other.example/api/", &[]).await.is_ok());
    let wrong = Answer::from(env.oauth.authenticate(&request, &[]).await.unwrap_err());
    wrong.expect_error(401, "invalid_token");
    let challenge = wrong.header("www-authenticate").unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("audience"), "{challenge}");
}

#[tokio::test]
async fn client_credentials_for_confidential_clients_only() {
    let env = env().await;
    let answer = env
        .send(form_basic(
            "/token",
            &[("grant_type", "client_credentials"), ("scope", "read")],
            CLIENT,
            SECRET,
        ))
        .await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["scope"], "read");
    let info =
        env.oauth.authenticate(&bearer(body["access_token"].as_str().unwrap()), &["read"]).await.unwrap();
    assert_eq!(info.subject, None);
    assert_eq!(info.client_id, CLIENT);

    let before = env.stats().await;
    let public =
        env.send(form("/token", &[("grant_type", "client_credentials"), ("client_id", PUBLIC)])).await;
    public.expect_error(400, "unauthorized_client");
    let scope = env
        .send(form_basic(
            "/token",
            &[("grant_type", "client_credentials"), ("scope", "admin")],
            CLIENT,
            SECRET,
        ))
        .await;
    scope.expect_error(400, "invalid_scope");
    assert_eq!(env.stats().await, before);
}

// ---------- /revoke and /introspect ----------

#[tokio::test]
async fn revocation_is_200_for_unknown_tokens_and_cascades() {
    let env = env().await;
    let (access, refresh) = env.tokens().await;
    let before = env.stats().await;
    for token in ["unknown", "aaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"] {
        let answer = env.send(form_basic("/revoke", &[("token", token)], CLIENT, SECRET)).await;
        assert_eq!(answer.status, 200);
        assert!(answer.body.is_empty());
    }
    // Another client's revocation of our token changes nothing.
    let other = env.send(form("/revoke", &[("token", &refresh), ("client_id", PUBLIC)])).await;
    assert_eq!(other.status, 200);
    assert_eq!(env.stats().await, before);
    assert_eq!(env.auth_status(&access).await, 200);

    env.send(form_basic("/revoke", &[], CLIENT, SECRET)).await.expect_error(400, "invalid_request");
    env.send(form_basic("/revoke", &[("token", "a"), ("token", "b")], CLIENT, SECRET))
        .await
        .expect_error(400, "invalid_request");
    env.send(form("/revoke", &[("token", &refresh)])).await.expect_error(401, "invalid_client");
    env.send(form_basic("/revoke", &[("token", &refresh)], CLIENT, "wrong"))
        .await
        .expect_error(401, "invalid_client");
    assert_eq!(env.stats().await, before);

    // Revoking the refresh token (with an odd hint) ends the access token too.
    let pairs = [("token", refresh.as_str()), ("token_type_hint", "something_else")];
    assert_eq!(env.send(form_basic("/revoke", &pairs, CLIENT, SECRET)).await.status, 200);
    assert_eq!(env.auth_status(&access).await, 401);
    env.refresh(&refresh, &[]).await.expect_error(400, "invalid_grant");
}

#[tokio::test]
async fn revoking_an_access_token_ends_its_grant() {
    let env = env().await;
    let (access, refresh) = env.tokens().await;
    let pairs = [("token", access.as_str()), ("token_type_hint", "access_token")];
    assert_eq!(env.send(form_basic("/revoke", &pairs, CLIENT, SECRET)).await.status, 200);
    assert_eq!(env.auth_status(&access).await, 401);
    env.refresh(&refresh, &[]).await.expect_error(400, "invalid_grant");
}

#[tokio::test]
async fn introspection_reports_active_and_inactive_tokens() {
    let env = env().await;
    let (access, refresh) = env.tokens().await;
    let answer = env.send(form_basic("/introspect", &[("token", &access)], CLIENT, SECRET)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let body = answer.json();
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], CLIENT);
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["scope"], "read write");
    assert_eq!(body["aud"], RESOURCE);
    assert_eq!(body["iss"], ISSUER);
    assert_eq!(body["token_type"], "access_token");
    assert_eq!(body["exp"], START + 3600);

    let body = env.send(form_basic("/introspect", &[("token", &refresh)], CLIENT, SECRET)).await.json();
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");

    // A public client sees only its own tokens.
    let body = env.send(form("/introspect", &[("token", &access), ("client_id", PUBLIC)])).await.json();
    assert_eq!(body, json!({"active": false}));

    let body = env.send(form_basic("/introspect", &[("token", "garbage")], CLIENT, SECRET)).await.json();
    assert_eq!(body, json!({"active": false}));
    env.send(form("/introspect", &[("token", &access)])).await.expect_error(401, "invalid_client");
    env.send(form_basic("/introspect", &[], CLIENT, SECRET)).await.expect_error(400, "invalid_request");

    env.clock.advance(3601);
    let body = env.send(form_basic("/introspect", &[("token", &access)], CLIENT, SECRET)).await.json();
    assert_eq!(body, json!({"active": false}));
}

// ---------- /register ----------

#[tokio::test]
async fn registration_creates_a_client_that_can_authorize() {
    let env = env().await;
    let ct = [("content-type", "application/json; charset=utf-8")];
    let body = json!({
        "redirect_uris": ["http://localhost/cb"],
        "token_endpoint_auth_method": "none",
        "client_name": "<b>Inspector</b>",
        "unknown_field": 1,
    });
    let answer = env.send(request(Method::POST, "/register", &ct, body.to_string())).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json());
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    let client = answer.json();
    assert!(client.get("client_secret").is_none());
    assert_eq!(client["token_endpoint_auth_method"], "none");
    let client_id = client["client_id"].as_str().unwrap();
    assert_eq!(env.stats().await.clients, 3);

    let redirect_uri = "http://localhost:4444/cb";
    let code = env.code_with(client_id, redirect_uri, &[]).await;
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", VERIFIER),
        ("client_id", client_id),
    ];
    assert_eq!(env.send(form("/token", &pairs)).await.status, 200);

    // A confidential registration gets its secret once, and it works.
    let body = json!({"redirect_uris": ["https://c.example/cb"], "grant_types": ["client_credentials"]});
    let confidential = env.send(request(Method::POST, "/register", &ct, body.to_string())).await.json();
    let (id, secret) =
        (confidential["client_id"].as_str().unwrap(), confidential["client_secret"].as_str().unwrap());
    let answer = env.send(form_basic("/token", &[("grant_type", "client_credentials")], id, secret)).await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn malformed_registrations_are_refused_and_store_nothing() {
    let env = env().await;
    let before = env.stats().await;
    let ct = [("content-type", "application/json")];
    let cases = [
        ("{", "invalid_client_metadata"),
        ("", "invalid_client_metadata"),
        ("[]", "invalid_client_metadata"),
        ("[[\"https://x.example/cb\"]]", "invalid_client_metadata"),
        ("null", "invalid_client_metadata"),
        (r#"{"redirect_uris":"https://x.example/cb"}"#, "invalid_client_metadata"),
        (
            r#"{"redirect_uris":["https://x.example/cb"],"redirect_uris":["https://y.example/cb"]}"#,
            "invalid_client_metadata",
        ),
        (
            r#"{"redirect_uris":["https://x.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}"#,
            "invalid_client_metadata",
        ),
        (r#"{"redirect_uris":["https://x.example/cb"],"scope":"admin"}"#, "invalid_client_metadata"),
        (r#"{"redirect_uris":["http://evil.example/cb"]}"#, "invalid_redirect_uri"),
        (r#"{"redirect_uris":["javascript:alert(1)"]}"#, "invalid_redirect_uri"),
        (r#"{}"#, "invalid_redirect_uri"),
    ];
    for (body, error) in cases {
        let answer = env.send(request(Method::POST, "/register", &ct, body)).await;
        assert_eq!(answer.status, 400, "{body}");
        assert_eq!(answer.error(), error, "{body}");
    }
    assert_eq!(env.stats().await, before);
}

// ---------- the resource side ----------

#[tokio::test]
async fn bearer_challenges_follow_rfc_6750_and_9728() {
    let env = env().await;
    let metadata = "https://auth.example.com/.well-known/oauth-protected-resource/mcp";

    let none = Request::builder().uri("/mcp").body(()).unwrap();
    let missing = Answer::from(env.oauth.authenticate(&none, &[]).await.unwrap_err());
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.header("www-authenticate"),
        Some(format!("Bearer resource_metadata=\"{metadata}\"").as_str())
    );
    // Another scheme counts as no credentials: no error attribute either.
    let other = Request::builder().uri("/mcp").header("authorization", basic("a", "b")).body(()).unwrap();
    let answer = Answer::from(env.oauth.authenticate(&other, &[]).await.unwrap_err());
    assert_eq!(answer.status, 401);
    assert!(!answer.header("www-authenticate").unwrap().contains("error="));

    let invalid = Answer::from(env.oauth.authenticate(&bearer("not-a-token"), &[]).await.unwrap_err());
    invalid.expect_error(401, "invalid_token");
    let challenge = invalid.header("www-authenticate").unwrap();
    assert!(
        challenge.starts_with(&format!(
            "Bearer resource_metadata=\"{metadata}\", error=\"invalid_token\", error_description=\""
        )),
        "{challenge}"
    );
    assert!(!challenge.contains("not-a-token"));

    let malformed = Request::builder().uri("/mcp").header("authorization", "Bearer a b").body(()).unwrap();
    let answer = Answer::from(env.oauth.authenticate(&malformed, &[]).await.unwrap_err());
    answer.expect_error(400, "invalid_request");
    assert!(answer.header("www-authenticate").unwrap().contains("error=\"invalid_request\""));

    let (access, _) = env.tokens().await;
    // Only the header is a bearer method: a token in the query is ignored.
    let in_query = Request::builder().uri(format!("/mcp?access_token={access}")).body(()).unwrap();
    assert_eq!(env.oauth.authenticate(&in_query, &[]).await.unwrap_err().status(), 401);
    let lower =
        Request::builder().uri("/mcp").header("authorization", format!("bearer {access}")).body(()).unwrap();
    assert!(env.oauth.authenticate(&lower, &["read", "write"]).await.is_ok());

    let code = env.code_with(CLIENT, REDIRECT, &[("scope", "read")]).await;
    let read_only = env.exchange(&code).await.json()["access_token"].as_str().unwrap().to_string();
    let forbidden =
        Answer::from(env.oauth.authenticate(&bearer(&read_only), &["read", "write"]).await.unwrap_err());
    forbidden.expect_error(403, "insufficient_scope");
    let challenge = forbidden.header("www-authenticate").unwrap();
    assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
    assert!(challenge.contains("scope=\"read write\""), "{challenge}");
    assert!(challenge.contains(&format!("resource_metadata=\"{metadata}\"")), "{challenge}");
}

#[tokio::test]
async fn authenticate_futures_are_send_for_any_body_type() {
    fn assert_send<T: Send>(_: &T) {}
    let env = env().await;
    // A body that is Send but not Sync, like axum's.
    let request = Request::builder().uri("/mcp").body(std::cell::Cell::new(0u8)).unwrap();
    let future = env.oauth.authenticate(&request, &[]);
    assert_send(&future);
    assert_eq!(future.await.unwrap_err().status(), 401);
    let authorize = env.oauth.authorize_request(&request);
    assert_send(&authorize);
    assert_eq!(authorize.await.unwrap_err().status(), 400);
}

#[tokio::test]
async fn an_unreachable_store_is_503_with_retry_after() {
    let (env, down) = flaky_env().await;
    let answer =
        env.send(form_basic("/token", &[("grant_type", "client_credentials")], CLIENT, SECRET)).await;
    assert_eq!(answer.status, 200);
    let access = answer.json()["access_token"].as_str().unwrap().to_string();

    down.store(true, Ordering::SeqCst);
    let token = env.send(form_basic("/token", &[("grant_type", "client_credentials")], CLIENT, SECRET)).await;
    token.expect_error(503, "temporarily_unavailable");
    assert_eq!(token.header("retry-after"), Some("5"));
    let bearer_answer = Answer::from(env.oauth.authenticate(&bearer(&access), &[]).await.unwrap_err());
    bearer_answer.expect_error(503, "temporarily_unavailable");
    assert_eq!(bearer_answer.header("retry-after"), Some("5"));
    let revoke = env.send(form_basic("/revoke", &[("token", &access)], CLIENT, SECRET)).await;
    revoke.expect_error(503, "temporarily_unavailable");
    let page = env.oauth.authorize_request(&authorize_uri(&auth_params(CLIENT, REDIRECT))).await.unwrap_err();
    assert_eq!(page.status(), 503);
    assert!(page.headers().get("location").is_none());

    down.store(false, Ordering::SeqCst);
    assert!(env.oauth.authenticate(&bearer(&access), &[]).await.is_ok());
}
