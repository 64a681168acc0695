//! Provider-level flows over any backend: what a client and a user do, checked
//! against the storage underneath. Time moves with a `FakeClock`.

use std::sync::{Arc, Mutex};

use crate::clock::FakeClock;
use crate::provider::{
    Approval, AuthorizationRequest, AuthorizeError, ClientAuth, ClientMetadata, RegisteredClient,
    TokenResponse,
};
use crate::{ClientConfig, ErrorCode, OAuthError, Params, Provider, ProviderConfig, Storage};

use super::fixtures::T0;

// Here with the other flows, where `conformance_suite!` finds every flow.
pub use super::cimd_flow::flow_metadata_document_client;

pub const ISSUER: &str = "https://auth.example.com";
pub const MCP: &str = "https://auth.example.com/mcp";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const CALLBACK: &str = "http://localhost:3000/callback";

pub fn config() -> ProviderConfig {
    ProviderConfig {
        clients: vec![
            ClientConfig {
                client_id: "my-client".into(),
                client_secret: Some("my-secret".into()),
                redirect_uris: vec![CALLBACK.into()],
                scopes: vec!["read".into(), "write".into()],
            },
            ClientConfig {
                client_id: "public-app".into(),
                client_secret: None,
                redirect_uris: vec!["https://app.example.com/cb".into()],
                scopes: vec!["read".into()],
            },
        ],
        extra_resources: vec!["https://other.example.com/mcp".into()],
        ..ProviderConfig::new(ISSUER)
    }
}

pub async fn provider<S: Storage>(storage: S) -> (Provider<S>, FakeClock) {
    provider_with(storage, config()).await
}

pub async fn provider_with<S: Storage>(storage: S, config: ProviderConfig) -> (Provider<S>, FakeClock) {
    let clock = FakeClock::at(T0);
    let provider = Provider::new(config, storage).unwrap().with_clock(clock.clone());
    provider.initialize().await.unwrap();
    (provider, clock)
}

pub fn confidential() -> ClientAuth {
    ClientAuth::post("my-client", "my-secret")
}

pub fn authorize_params(client_id: &str, redirect: &str, extra: &[(&str, &str)]) -> Params {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("state", "xyz"),
    ];
    pairs.extend_from_slice(extra);
    Params::from_pairs(pairs)
}

/// Runs the authorization endpoint and the user's approval; returns the code.
pub async fn authorize<S: Storage>(
    provider: &Provider<S>,
    client_id: &str,
    redirect: &str,
    extra: &[(&str, &str)],
) -> String {
    let request = provider.parse_authorization(&authorize_params(client_id, redirect, extra)).await.unwrap();
    let approval = Approval { subject: "alice".into(), ..Default::default() };
    let location = provider.complete_authorization(&request, approval).await.unwrap();
    let query = location.split_once('?').map_or("", |(_, query)| query);
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(get("state").as_deref(), Some("xyz"), "state is echoed");
    assert_eq!(get("iss").as_deref(), Some(ISSUER), "iss is sent (RFC 9207)");
    get("code").expect("a code in the redirect")
}

/// Registers (RFC 7591) a confidential client with no more than a redirect URI.
pub async fn register_confidential<S: Storage>(provider: &Provider<S>) -> RegisteredClient {
    let metadata =
        ClientMetadata { redirect_uris: vec!["https://app.example/cb".into()], ..Default::default() };
    provider.register_client(metadata).await.expect("a dynamic registration")
}

/// The tokens of one authorization of `my-client`.
pub async fn tokens<S: Storage>(provider: &Provider<S>) -> TokenResponse {
    code_and_tokens(provider).await.1
}

/// Authorizes `my-client` and exchanges the code: the code and its tokens.
pub async fn code_and_tokens<S: Storage>(provider: &Provider<S>) -> (String, TokenResponse) {
    let code = authorize(provider, "my-client", CALLBACK, &[]).await;
    let tokens =
        provider.exchange_authorization_code(&confidential(), &code, CALLBACK, VERIFIER, None).await.unwrap();
    (code, tokens)
}

async fn parse<S: Storage>(p: &Provider<S>, params: Params) -> Result<AuthorizationRequest, AuthorizeError> {
    p.parse_authorization(&params).await
}

fn code_of(error: Result<impl std::fmt::Debug, OAuthError>) -> ErrorCode {
    error.expect_err("expected an OAuth error").code
}

pub async fn flow_full_authorization_code_cycle<S: Storage>(s: S) {
    let (p, _) = provider(s).await;
    let t = tokens(&p).await;
    assert_eq!((t.token_type, t.expires_in, t.scope.as_str()), ("Bearer", 3600, "read write"));
    let auth = p.verify_access_token(&t.access_token).await.unwrap();
    assert_eq!(
        (auth.client_id.as_str(), auth.subject.as_deref(), auth.resource.as_str()),
        ("my-client", Some("alice"), MCP)
    );
    let refreshed = p
        .exchange_refresh_token(&confidential(), t.refresh_token.as_deref().unwrap(), None, None)
        .await
        .unwrap();
    assert_ne!(refreshed.refresh_token, t.refresh_token, "refresh tokens rotate");
    p.verify_access_token(&refreshed.access_token).await.unwrap();
    p.revoke(&confidential(), refreshed.refresh_token.as_deref().unwrap()).await.unwrap();
    for token in [&t.access_token, &refreshed.access_token] {
        assert_eq!(
            code_of(p.verify_access_token(token).await),
            ErrorCode::InvalidToken,
            "revocation cascades"
        );
    }
}

pub async fn flow_restart_safe_initialization<S: Storage>(s: S) {
    let (p, clock) = provider(s).await;
    let t = tokens(&p).await;
    p.initialize().await.expect("initializing again over stored clients must not fail");
    // A restart: a new provider over the same store, with one client's scopes changed.
    let mut changed = config();
    changed.clients[1].scopes = vec![];
    let restarted = Provider::create(changed, p.into_storage()).await.expect("restart over stored clients");
    let restarted = restarted.with_clock(clock);
    restarted.verify_access_token(&t.access_token).await.expect("tokens survive a restart");
    assert_eq!(restarted.list_clients().await.unwrap(), vec!["my-client", "public-app"]);
    let public = restarted.get_client("public-app").await.unwrap().unwrap();
    assert!(public.scopes.is_empty(), "the configured form replaces the stored one");
}

pub async fn flow_refresh_outlives_the_access_token<S: Storage>(s: S) {
    let (p, clock) = provider(s).await;
    let t = tokens(&p).await;
    clock.advance(3600 + 60);
    assert_eq!(code_of(p.verify_access_token(&t.access_token).await), ErrorCode::InvalidToken);
    let refreshed =
        p.exchange_refresh_token(&confidential(), t.refresh_token.as_deref().unwrap(), None, None).await;
    let refreshed =
        refreshed.expect("the refresh token lives its own 86400 s, not the access token's 3600 s");
    p.verify_access_token(&refreshed.access_token).await.unwrap();
    clock.advance(86_400);
    let late = p
        .exchange_refresh_token(&confidential(), refreshed.refresh_token.as_deref().unwrap(), None, None)
        .await;
    assert_eq!(code_of(late), ErrorCode::InvalidGrant, "and then it expires");
}

pub async fn flow_refresh_retry_and_reuse<S: Storage>(s: S) {
    let (p, _) = provider(s).await;
    let t = tokens(&p).await;
    let first = t.refresh_token.unwrap();
    let a = p.exchange_refresh_token(&confidential(), &first, None, None).await.unwrap();
    let b = p.exchange_refresh_token(&confidential(), &first, None, None).await.unwrap();
    assert_eq!(a.refresh_token, b.refresh_token, "a retry with the previous token gets the same successor");
    assert_ne!(a.access_token, b.access_token);
    let second = a.refresh_token.unwrap();
    let c = p.exchange_refresh_token(&confidential(), &second, None, None).await.unwrap();
    let reuse = p.exchange_refresh_token(&confidential(), &first, None, None).await;
    assert_eq!(code_of(reuse), ErrorCode::InvalidGrant);
    assert_eq!(
        code_of(p.verify_access_token(&c.access_token).await),
        ErrorCode::InvalidToken,
        "reuse revokes the grant"
    );
    let after =
        p.exchange_refresh_token(&confidential(), c.refresh_token.as_deref().unwrap(), None, None).await;
    assert_eq!(code_of(after), ErrorCode::InvalidGrant);
}

pub async fn flow_downscoping_and_upscoping<S: Storage>(s: S) {
    let (p, _) = provider(s).await;
    let code = authorize(&p, "my-client", CALLBACK, &[("scope", "read")]).await;
    let t = p.exchange_authorization_code(&confidential(), &code, CALLBACK, VERIFIER, None).await.unwrap();
    assert_eq!(t.scope, "read");
    let up = p
        .exchange_refresh_token(
            &confidential(),
            t.refresh_token.as_deref().unwrap(),
            Some("read write"),
            None,
        )
        .await;
    assert_eq!(code_of(up), ErrorCode::InvalidScope, "no upscoping beyond the grant");
    let full = tokens(&p).await;
    let down = p
        .exchange_refresh_token(&confidential(), full.refresh_token.as_deref().unwrap(), Some("read"), None)
        .await
        .unwrap();
    assert_eq!(down.scope, "read");
    assert_eq!(p.verify_access_token(&down.access_token).await.unwrap().scopes, vec!["read"]);
    let again = p
        .exchange_refresh_token(&confidential(), down.refresh_token.as_deref().unwrap(), None, None)
        .await
        .unwrap();
    assert_eq!(again.scope, "read write", "downscoping one token keeps the grant's scopes");
}

pub async fn flow_code_replay_revokes_tokens<S: Storage>(s: S) {
    let (p, _) = provider(s).await;
    let (code, t) = code_and_tokens(&p).await;
    let replay = p.exchange_authorization_code(&confidential(), &code, CALLBACK, VERIFIER, None).await;
    assert_eq!(code_of(replay), ErrorCode::InvalidGrant);
    assert_eq!(code_of(p.verify_access_token(&t.access_token).await), ErrorCode::InvalidToken);
    let refresh =
        p.exchange_refresh_token(&confidential(), t.refresh_token.as_deref().unwrap(), None, None).await;
    assert_eq!(code_of(refresh), ErrorCode::InvalidGrant);
}

pub async fn flow_pkce_and_redirect_checks<S: Storage>(s: S) {
    let (p, _) = provider(s).await;
    let code = authorize(&p, "my-client", CALLBACK, &[]).await;
    let before = p.get_stats().await.unwrap();
    let wrong_verifier = "x".repeat(43);
    let cases = [
        (confidential(), code.as_str(), CALLBACK, wrong_verifier.as_str(), ErrorCode::InvalidGrant),
        (confidential(), code.as_str(), "http://localhost:3000/other", VERIFIER, ErrorCode::InvalidGrant),
        (confidential(), code.as_str(), CALLBACK, "short", ErrorCode::InvalidGrant),
        (ClientAuth::post("my-client", "wrong"), code.as_str(), CALLBACK, VERIFIER, ErrorCode::InvalidClient),
        (ClientAuth::public("public-app"), code.as_str(), CALLBACK, VERIFIER, ErrorCode::InvalidGrant),
        (confidential(), "not-a-code", CALLBACK, VERIFIER, ErrorCode::InvalidGrant),
    ];
    for (auth, code, redirect, verifier, expected) in cases {
        let result = p.exchange_authorization_code(&auth, code, redirect, verifier, None).await;
        assert_eq!(code_of(result), expected, "{auth:?} {redirect} {verifier}");
    }
    assert_eq!(p.get_stats().await.unwrap(), before, "failed exchanges change nothing");
    p.exchange_authorization_code(&confidential(), &code, CALLBACK, VERIFIER, None)
        .await
        .expect("the code still works");
}

pub async fn flow_expired_code_and_tokens<S: Storage>(s: S) {
    let (p, clock) = provider(s).await;
    let code = authorize(&p, "my-client", CALLBACK, &[]).await;
    clock.advance(600);
    let late = p.exchange_authorization_code(&confidential(), &code, CALLBACK, VERIFIER, None).await;
    assert_eq!(code_of(late), ErrorCode::InvalidGrant, "codes live codeExpiration (600 s)");
    let t = tokens(&p).await;
    clock.advance(3599);
    p.verify_access_token(&t.access_token).await.expect("still valid one second before expiry");
    clock.advance(1);
    assert_eq!(code_of(p.verify_access_token(&t.access_token).await), ErrorCode::InvalidToken);
}

pub async fn flow_resource_indicators<S: Storage>(s: S) {
    let (p, _) = provider(s).await;
    let other = "https://other.example.com/mcp";
    let code = authorize(&p, "my-client", CALLBACK, &[("resource", other)]).await;
    let wrong = p.exchange_authorization_code(&confidential(), &code, CALLBACK, VERIFIER, Some(MCP)).await;
    assert_eq!(code_of(wrong), ErrorCode::InvalidTarget);
    let t =
        p.exchange_authorization_code(&confidential(), &code, CALLBACK, VERIFIER, Some(other)).await.unwrap();
    assert_eq!(p.verify_access_token(&t.access_token).await.unwrap().resource, other);
    let refresh =
        p.exchange_refresh_token(&confidential(), t.refresh_token.as_deref().unwrap(), None, Some(MCP)).await;
    assert_eq!(code_of(refresh), ErrorCode::InvalidTarget);
    let unknown = p
        .parse_authorization(&authorize_params(
            "my-client",
            CALLBACK,
            &[("resource", "https://evil.example/mcp")],
        ))
        .await;
    assert!(
        matches!(unknown, Err(AuthorizeError::Redirect { error, .. }) if error.code == ErrorCode::InvalidTarget)
    );
}

pub async fn flow_client_credentials<S: Storage>(s: S) {
    let (p, _) = provider(s).await;
    let t = p.exchange_client_credentials(&confidential(), Some("read"), None).await.unwrap();
    assert!(t.refresh_token.is_none());
    let auth = p.verify_access_token(&t.access_token).await.unwrap();
    assert_eq!((auth.subject, auth.scopes), (None, vec!["read".to_string()]));
    let public = p.exchange_client_credentials(&ClientAuth::public("public-app"), None, None).await;
    assert_eq!(code_of(public), ErrorCode::UnauthorizedClient);
    let wide = p.exchange_client_credentials(&confidential(), Some("admin"), None).await;
    assert_eq!(code_of(wide), ErrorCode::InvalidScope);
}

pub async fn flow_revocation_and_introspection<S: Storage>(s: S) {
    let (p, _) = provider(s).await;
    let t = tokens(&p).await;
    let seen = p.introspect(&confidential(), &t.access_token).await.unwrap();
    assert!(seen.active);
    assert_eq!(
        (seen.sub.as_deref(), seen.aud.as_deref(), seen.token_type),
        (Some("alice"), Some(MCP), Some("access_token"))
    );
    let refresh = p.introspect(&confidential(), t.refresh_token.as_deref().unwrap()).await.unwrap();
    assert_eq!(refresh.token_type, Some("refresh_token"));
    assert!(
        !p.introspect(&ClientAuth::public("public-app"), &t.access_token).await.unwrap().active,
        "public clients see only their own tokens"
    );
    assert!(!p.introspect(&confidential(), "garbage").await.unwrap().active);
    assert_eq!(
        code_of(p.introspect(&ClientAuth::post("my-client", "nope"), &t.access_token).await),
        ErrorCode::InvalidClient
    );
    p.revoke(&confidential(), "unknown-token").await.expect("unknown tokens revoke fine (RFC 7009 §2.2)");
    p.revoke(&ClientAuth::public("public-app"), &t.access_token).await.unwrap();
    p.verify_access_token(&t.access_token).await.expect("another client cannot revoke the token");
    p.revoke(&confidential(), &t.access_token).await.unwrap();
    assert!(!p.introspect(&confidential(), &t.access_token).await.unwrap().active);
    let r = p.exchange_refresh_token(&confidential(), t.refresh_token.as_deref().unwrap(), None, None).await;
    assert_eq!(code_of(r), ErrorCode::InvalidGrant, "revoking the access token revoked the grant");
}

pub async fn flow_dynamic_registration_rules<S: Storage>(s: S) {
    let (p, _) = provider(s).await;
    let public = p
        .register_client(ClientMetadata {
            redirect_uris: vec!["http://127.0.0.1/callback".into()],
            token_endpoint_auth_method: Some("none".into()),
            client_name: Some("<b>Claude</b>".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(public.client_secret.is_none());
    let stored = p.get_client(&public.client_id).await.unwrap().unwrap();
    assert_eq!(stored.secret_digest, None);
    let code = authorize(&p, &public.client_id, "http://127.0.0.1:51234/callback", &[]).await;
    let auth = ClientAuth::public(public.client_id.clone());
    p.exchange_authorization_code(&auth, &code, "http://127.0.0.1:51234/callback", VERIFIER, None)
        .await
        .expect("public client with PKCE");

    let confidential = register_confidential(&p).await;
    let secret = confidential.client_secret.clone().expect("confidential clients get a secret");
    let stored = p.get_client(&confidential.client_id).await.unwrap().unwrap();
    assert!(stored.secret_digest.is_some() && !format!("{stored:?}").contains(&secret));
    p.authenticate_client(&ClientAuth::post(confidential.client_id.clone(), secret)).await.unwrap();

    let bad = [
        (ClientMetadata::default(), ErrorCode::InvalidRedirectUri),
        (
            ClientMetadata { redirect_uris: vec!["javascript:alert(1)".into()], ..Default::default() },
            ErrorCode::InvalidRedirectUri,
        ),
        (
            ClientMetadata { redirect_uris: vec!["http://evil.example/cb".into()], ..Default::default() },
            ErrorCode::InvalidRedirectUri,
        ),
        (
            ClientMetadata { redirect_uris: vec!["https://a.example/cb#x".into()], ..Default::default() },
            ErrorCode::InvalidRedirectUri,
        ),
        (
            ClientMetadata { redirect_uris: vec!["https://a.example/cb".into(); 11], ..Default::default() },
            ErrorCode::InvalidRedirectUri,
        ),
        (
            ClientMetadata {
                redirect_uris: vec!["https://a.example/cb".into()],
                token_endpoint_auth_method: Some("private_key_jwt".into()),
                ..Default::default()
            },
            ErrorCode::InvalidClientMetadata,
        ),
        (
            ClientMetadata {
                redirect_uris: vec!["https://a.example/cb".into()],
                grant_types: Some(vec!["implicit".into()]),
                ..Default::default()
            },
            ErrorCode::InvalidClientMetadata,
        ),
        (
            ClientMetadata {
                redirect_uris: vec!["https://a.example/cb".into()],
                scope: Some("admin".into()),
                ..Default::default()
            },
            ErrorCode::InvalidClientMetadata,
        ),
        (
            ClientMetadata {
                redirect_uris: vec!["https://a.example/cb".into()],
                response_types: Some(vec!["token".into()]),
                ..Default::default()
            },
            ErrorCode::InvalidClientMetadata,
        ),
    ];
    let clients_before = p.list_clients().await.unwrap().len();
    for (metadata, expected) in bad {
        let shown = format!("{metadata:?}");
        assert_eq!(code_of(p.register_client(metadata).await), expected, "{shown}");
    }
    assert_eq!(p.list_clients().await.unwrap().len(), clients_before, "refused registrations store nothing");
}

pub async fn flow_authorization_request_errors<S: Storage>(s: S) {
    let (p, _) = provider(s).await;
    let page = |r: Result<_, AuthorizeError>| match r {
        Err(AuthorizeError::BadRequest(e)) => e.code,
        other => panic!("expected an error page, got {other:?}"),
    };
    let redirect = |r: Result<_, AuthorizeError>| match r {
        Err(AuthorizeError::Redirect { location, error }) => {
            assert!(location.starts_with(CALLBACK), "errors go only to the registered URI");
            assert!(location.contains("state=xyz"));
            error.code
        }
        other => panic!("expected an error redirect, got {other:?}"),
    };
    assert_eq!(page(parse(&p, authorize_params("nobody", CALLBACK, &[])).await), ErrorCode::InvalidRequest);
    for evil in [
        "https://evil.example/cb",
        "javascript:alert(1)",
        "http://localhost:3000/callback/../x",
        "http://localhost:3000/callback?x=1",
    ] {
        assert_eq!(
            page(parse(&p, authorize_params("my-client", evil, &[])).await),
            ErrorCode::InvalidRequest,
            "{evil}"
        );
    }
    let mut dup = authorize_params("my-client", CALLBACK, &[]).pairs().to_vec();
    dup.push(("redirect_uri".into(), "https://evil.example/cb".into()));
    assert_eq!(page(parse(&p, Params::from_pairs(dup)).await), ErrorCode::InvalidRequest);
    let no_pkce = Params::from_pairs([
        ("response_type", "code"),
        ("client_id", "my-client"),
        ("redirect_uri", CALLBACK),
        ("state", "xyz"),
    ]);
    assert_eq!(redirect(parse(&p, no_pkce).await), ErrorCode::InvalidRequest);
    let plain = authorize_params("my-client", CALLBACK, &[])
        .pairs()
        .iter()
        .map(|(k, v)| (k.clone(), if k == "code_challenge_method" { "plain".to_string() } else { v.clone() }))
        .collect::<Vec<_>>();
    assert_eq!(
        redirect(parse(&p, Params::from_pairs(plain)).await),
        ErrorCode::InvalidRequest,
        "plain PKCE is refused"
    );
    assert_eq!(
        redirect(parse(&p, authorize_params("my-client", CALLBACK, &[("scope", "read admin")])).await),
        ErrorCode::InvalidScope
    );
    let token = authorize_params("my-client", CALLBACK, &[])
        .pairs()
        .iter()
        .map(|(k, v)| (k.clone(), if k == "response_type" { "token".to_string() } else { v.clone() }))
        .collect::<Vec<_>>();
    assert_eq!(redirect(parse(&p, Params::from_pairs(token)).await), ErrorCode::UnsupportedResponseType);
    // A loopback redirect URI registered without a port matches any port (RFC 8252 §7.3).
    p.parse_authorization(&authorize_params("my-client", "http://localhost:4000/callback", &[]))
        .await
        .unwrap();
    let request = p.parse_authorization(&authorize_params("my-client", CALLBACK, &[])).await.unwrap();
    let denied = p.deny_authorization(&request);
    assert!(
        denied.starts_with(CALLBACK)
            && denied.contains("error=access_denied")
            && denied.contains("state=xyz")
    );
    assert_eq!(p.get_stats().await.unwrap().authorization_codes, 0, "nothing stored for refused requests");
}

pub async fn flow_user_grants_and_client_deletion<S: Storage>(s: S) {
    let (p, _) = provider(s).await;
    let t = tokens(&p).await;
    let grants = p.list_grants("alice").await.unwrap();
    assert_eq!(grants.len(), 1);
    assert!(!p.revoke_grant("mallory", &grants[0].id).await.unwrap(), "only the grant's user may revoke it");
    p.verify_access_token(&t.access_token).await.unwrap();
    assert!(p.revoke_grant("alice", &grants[0].id).await.unwrap());
    assert_eq!(code_of(p.verify_access_token(&t.access_token).await), ErrorCode::InvalidToken);
    let t2 = tokens(&p).await;
    assert!(p.delete_client("my-client").await.unwrap());
    assert_eq!(
        code_of(p.verify_access_token(&t2.access_token).await),
        ErrorCode::InvalidToken,
        "deleting a client revokes its grants"
    );
    assert!(p.list_grants("alice").await.unwrap().is_empty());
    assert!(!p.list_clients().await.unwrap().contains(&"my-client".to_string()));
}

pub async fn flow_audit_events_hold_no_secrets<S: Storage>(s: S) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let mut config = config();
    config.audit = Some(Arc::new(move |e| sink.lock().unwrap().push(serde_json::to_string(e).unwrap())));
    let (p, _) = provider_with(s, config).await;
    let (code, t) = code_and_tokens(&p).await;
    let r = p
        .exchange_refresh_token(&confidential(), t.refresh_token.as_deref().unwrap(), None, None)
        .await
        .unwrap();
    let _ = p.exchange_authorization_code(&confidential(), &code, CALLBACK, VERIFIER, None).await;
    let _ = p.authenticate_client(&ClientAuth::post("my-client", "wrong-secret")).await;
    let events = events.lock().unwrap().join("\n");
    for kind in
        ["authorization_granted", "code_exchanged", "refresh_rotated", "code_replayed", "client_auth_failed"]
    {
        assert!(events.contains(kind), "missing {kind} in {events}");
    }
    for secret in [
        code.as_str(),
        &t.access_token,
        t.refresh_token.as_deref().unwrap(),
        &r.access_token,
        "my-secret",
        "wrong-secret",
    ] {
        let tail = secret.split_once('.').map_or(secret, |(_, s)| s);
        assert!(!events.contains(tail), "an audit event holds a secret");
    }
}

pub async fn flow_stats_in_the_seed_shape<S: Storage>(s: S) {
    let (p, _) = provider(s).await;
    let _code = authorize(&p, "my-client", CALLBACK, &[]).await;
    let _t = tokens(&p).await;
    let stats = p.get_stats().await.unwrap();
    assert_eq!((stats.clients, stats.tokens, stats.refresh_tokens, stats.authorization_codes), (2, 1, 1, 1));
    let json = serde_json::to_value(stats).unwrap();
    for key in ["clients", "tokens", "refreshTokens", "authorizationCodes"] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    assert!(p.health_check().await.healthy);
}

pub async fn flow_client_cache_bounds_staleness<S: Storage>(s: S) {
    use crate::provider::CLIENT_CACHE_SECONDS;
    let shared = Arc::new(s);
    let (a, clock) = provider_with(shared.clone(), config()).await;
    let b = Provider::new(config(), shared).unwrap().with_clock(clock.clone());
    let t = tokens(&a).await;
    b.authenticate_client(&confidential()).await.expect("a second instance reads the client");
    assert!(a.delete_client("my-client").await.unwrap());
    assert_eq!(
        code_of(a.authenticate_client(&confidential()).await),
        ErrorCode::InvalidClient,
        "forgotten at once here"
    );
    let refresh =
        b.exchange_refresh_token(&confidential(), t.refresh_token.as_deref().unwrap(), None, None).await;
    assert_eq!(
        code_of(refresh),
        ErrorCode::InvalidGrant,
        "the deletion revoked the grants everywhere at once"
    );
    // The other instance may trust its recent read, but no longer than the cache's bound.
    clock.advance(CLIENT_CACHE_SECONDS);
    let late = b.authenticate_client(&confidential()).await;
    assert_eq!(code_of(late), ErrorCode::InvalidClient, "refused once CLIENT_CACHE_SECONDS have passed");
}
