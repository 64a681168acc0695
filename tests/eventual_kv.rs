//! `KvStorage` on Workers KV as seen from several locations (`EventualHost`):
//! the conformance suite and the provider flows, then a user's requests
//! through the provider while the locations disagree.
//!
//! Within the store's consistency window nothing a user did right is refused:
//! a code, refresh token or access token issued moments ago elsewhere gets a
//! retryable 503 until this location sees it. Garbage and expired tokens are
//! still refused at once, and a forged issue time buys a 503 only while it is
//! within the window. What needs atomics is shown too: two stale locations
//! may both redeem one code.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::eventual_host::EventualHost;
use common::kv_hosts::MapHost;
use simply_mcp_oauth::testing::fixtures::T0;
use simply_mcp_oauth::testing::flows::{self, authorize, confidential, CALLBACK, VERIFIER};
use std::sync::Arc;

use simply_mcp_oauth::clock::{Clock, FakeClock};
use simply_mcp_oauth::crypto::{random_id, timed_secret};
use simply_mcp_oauth::provider::TokenResponse;
use simply_mcp_oauth::storage::{KvCapabilities, KvError, KvHost, KvStorage};
use simply_mcp_oauth::{ErrorCode, OAuthError, Provider, Storage};

type Kv = KvStorage<EventualHost>;

async fn dump(storage: &Kv) -> String {
    storage.host().dump()
}

/// The whole suite at one location. A location sees its own writes at once,
/// so reads are consistent here: the window is off, and the flows' checks
/// that a revoked grant is refused at once hold as they are written.
mod one_location {
    use super::*;

    async fn make() -> Kv {
        KvStorage::with_default_prefix(EventualHost::auto_advancing()).with_consistency_window(0)
    }

    simply_mcp_oauth::conformance_suite!(make = make, dump = dump, atomic = false);
}

/// The provider flows with the window on (60 s). A provider remembers the
/// grants it revoked, so the flows' revocations are refused at once as they
/// expect. Left out: the two that delete a client and expect its grants'
/// tokens refused at once; the deletion revokes grants the provider never
/// saw, so inside the window their tokens get a 503 (refused either way,
/// finally once the window has passed).
mod windowed_flows {
    use super::*;

    async fn make() -> Kv {
        KvStorage::with_default_prefix(EventualHost::auto_advancing())
    }

    simply_mcp_oauth::conformance_suite!(
        flows = make,
        except = [flow_user_grants_and_client_deletion, flow_client_cache_bounds_staleness]
    );
}

#[tokio::test]
async fn the_host_behaves_like_workers_kv_across_locations() {
    let host = EventualHost::new(2, 30);
    host.put("k", "v1", 0).await.unwrap();
    assert_eq!(host.get("k").await.unwrap().as_deref(), Some("v1"), "its own write, at once");
    host.set_location(1);
    assert_eq!(host.get("k").await.unwrap(), None, "another location's write lags");
    host.advance(30);
    assert_eq!(host.get("k").await.unwrap(), None, "the lag is over, the cached miss is not");
    host.advance(30);
    assert_eq!(host.get("k").await.unwrap().as_deref(), Some("v1"), "the miss expired");

    host.set_location(0);
    host.put("k", "v2", 0).await.unwrap();
    for second_write in [host.put("k", "v3", 0).await, host.delete("k").await] {
        assert!(matches!(second_write, Err(KvError::Unavailable(m)) if m.starts_with("429")));
    }
    host.set_location(1);
    assert_eq!(host.get("k").await.unwrap().as_deref(), Some("v1"), "v2 is not visible here yet");
    assert_eq!(host.get("mine").await.unwrap(), None);
    host.put("mine", "m", 60).await.unwrap();
    assert_eq!(host.get("mine").await.unwrap().as_deref(), Some("m"), "an own write ends the cached miss");
    assert!(host.put("short", "s", 59).await.is_err(), "TTLs below 60 s are refused");
    host.advance(60);
    assert_eq!(host.get("mine").await.unwrap(), None, "evicted after its TTL");
    assert_eq!(host.list("", None, 10).await.unwrap().keys, vec!["k"]);
    assert_eq!(
        host.capabilities(),
        KvCapabilities { atomic: false, min_ttl_seconds: 60, consistent_reads: false }
    );
}

#[tokio::test]
async fn the_window_is_the_hosts_and_health_reports_it() {
    assert_eq!(KvStorage::with_default_prefix(MapHost::atomic()).consistency_window(), None);
    let new = || KvStorage::with_default_prefix(EventualHost::auto_advancing());
    assert_eq!(new().consistency_window(), Some(60), "Workers KV's 60 s by default");
    assert_eq!(new().with_consistency_window(120).consistency_window(), Some(120));
    assert_eq!(new().with_consistency_window(0).consistency_window(), None);
    let health = new().health().await;
    assert!(health.healthy, "{health:?}");
    assert!(health.message.contains("best-effort"), "{}", health.message);
    assert_eq!(health.components["atomicity"], "best-effort (host has no atomic operations)");
    assert_eq!(health.components["consistencyWindowSeconds"], "60");
    let consistent = KvStorage::with_default_prefix(MapHost::atomic()).health().await;
    assert_eq!(consistent.components["consistencyWindowSeconds"], "0");
}

const LOCATIONS: usize = 3;
const A: usize = 0;
const B: usize = 1;
const C: usize = 2;
/// How long a location's reads lag the others' writes in these scenarios.
const LAG: u64 = 30;

/// Workers KV at three locations, each with a provider of its own (an
/// isolate there) over the one store. The clocks of the providers and of the
/// host move together; the window covers the host's worst staleness.
struct Edge {
    providers: Vec<Provider<Arc<Kv>>>,
    host: EventualHost,
    clock: FakeClock,
    window: u64,
}

impl Edge {
    /// Each location's provider writes the configured clients as it starts,
    /// a second after the previous one.
    async fn new() -> Self {
        let host = EventualHost::new(LOCATIONS, LAG);
        let window = host.staleness_bound();
        let storage = Arc::new(KvStorage::with_default_prefix(host.clone()).with_consistency_window(window));
        let clock = FakeClock::at(T0);
        let mut edge = Self { providers: Vec::new(), host, clock, window };
        for location in 0..LOCATIONS {
            edge.host.set_location(location);
            let provider =
                Provider::new(flows::config(), storage.clone()).unwrap().with_clock(edge.clock.clone());
            provider.initialize().await.unwrap();
            edge.providers.push(provider);
            edge.advance(1);
        }
        edge
    }

    /// The provider at `location`, which serves the next host calls.
    fn at(&self, location: usize) -> &Provider<Arc<Kv>> {
        self.host.set_location(location);
        &self.providers[location]
    }

    fn now(&self) -> u64 {
        self.clock.now()
    }

    fn advance(&self, seconds: u64) {
        self.clock.advance(seconds);
        self.host.advance(seconds);
    }

    async fn exchange(&self, location: usize, code: &str) -> Result<TokenResponse, OAuthError> {
        self.at(location).exchange_authorization_code(&confidential(), code, CALLBACK, VERIFIER, None).await
    }

    async fn refresh(&self, location: usize, token: &str) -> Result<TokenResponse, OAuthError> {
        self.at(location).exchange_refresh_token(&confidential(), token, None, None).await
    }

    /// Authorizes and exchanges at `location`, a second apart (one write of
    /// the grant per second).
    async fn tokens_at(&self, location: usize) -> TokenResponse {
        let code = authorize(self.at(location), "my-client", CALLBACK, &[]).await;
        self.advance(1);
        let tokens = self.exchange(location, &code).await.unwrap();
        self.advance(1);
        tokens
    }

    /// Calls again after each 503 as a client honouring Retry-After does;
    /// the first other answer. Panics if the 503s outlast the window.
    async fn retried<T>(
        &self,
        mut call: impl AsyncFnMut() -> Result<T, OAuthError>,
    ) -> Result<T, OAuthError> {
        let mut waited = 0;
        loop {
            match call().await {
                Err(error) if error.code == ErrorCode::TemporarilyUnavailable => {
                    assert!(waited <= self.window, "503s for {waited} s, past the window: {error}");
                    let wait = retry_after(&error);
                    self.advance(wait);
                    waited += wait;
                }
                other => return other,
            }
        }
    }
}

/// The seconds of Retry-After in the HTTP answer to `error`, which must be a 503.
fn retry_after(error: &OAuthError) -> u64 {
    assert_eq!(error.code, ErrorCode::TemporarilyUnavailable, "{error}");
    let response = simply_mcp_oauth::http::error_response(error);
    assert_eq!(response.status(), 503);
    response.headers()["retry-after"].to_str().unwrap().parse().unwrap()
}

fn code_of<T: std::fmt::Debug>(result: Result<T, OAuthError>) -> ErrorCode {
    result.expect_err("expected an OAuth error").code
}

/// (a) A code exchanged at another location before its grant shows there:
/// 503s with Retry-After, then tokens, never `invalid_grant`; also when the
/// first try comes just before the lag ends, so that its cached miss
/// outlasts the lag.
#[tokio::test]
async fn a_code_exchanged_where_its_grant_is_not_visible_is_retried_never_refused() {
    let edge = Edge::new().await;
    for first_try_after in [1, LAG - 1] {
        let code = authorize(edge.at(A), "my-client", CALLBACK, &[]).await;
        edge.advance(first_try_after);
        retry_after(&edge.exchange(B, &code).await.expect_err("not visible at B yet"));
        let tokens =
            edge.retried(async || edge.exchange(B, &code).await).await.expect("exchanged once visible");
        edge.at(B).verify_access_token(&tokens.access_token).await.expect("B sees its own writes");
    }
}

/// (b) A refresh token rotated at A and presented at B before the rotation
/// shows there (B sees no grant yet, or the one before the rotation): 503s,
/// then a rotation; never `invalid_grant`, never taken for reuse. Back at A,
/// which sees B's rotation only later, the chain goes on.
#[tokio::test]
async fn a_rotation_not_visible_elsewhere_is_retried_never_taken_for_reuse() {
    for b_sees_the_exchange in [false, true] {
        let edge = Edge::new().await;
        let tokens = edge.tokens_at(A).await;
        if b_sees_the_exchange {
            edge.advance(LAG);
        }
        let at_a = edge.refresh(A, tokens.refresh_token.as_deref().unwrap()).await.unwrap();
        let successor = at_a.refresh_token.unwrap();
        edge.advance(1);
        retry_after(&edge.refresh(B, &successor).await.expect_err("the rotation is not visible at B"));
        let at_b = edge.retried(async || edge.refresh(B, &successor).await).await.expect("rotated at B");
        let next = at_b.refresh_token.unwrap();
        edge.advance(1);
        let back = edge.retried(async || edge.refresh(A, &next).await).await.expect("the chain goes on at A");
        edge.at(A).verify_access_token(&back.access_token).await.expect("the grant was never revoked");
    }
}

/// A revocation is final at once where it was made (that provider remembers
/// the grants it revoked). Elsewhere it shows within the lag, and until then
/// the revoked tokens still work there: what KV-only mode cannot avoid. Once
/// it shows, a token younger than the window gets a 503, then a refusal.
#[tokio::test]
async fn a_revocation_is_final_where_made_and_shows_elsewhere_within_the_window() {
    let edge = Edge::new().await;
    let tokens = edge.tokens_at(A).await;
    let refresh = tokens.refresh_token.unwrap();
    let verify = async |location| edge.at(location).verify_access_token(&tokens.access_token).await;
    edge.advance(LAG);
    verify(B).await.expect("visible at B");
    edge.at(A).revoke(&confidential(), &refresh).await.unwrap();
    assert_eq!(code_of(verify(A).await), ErrorCode::InvalidToken);
    assert_eq!(code_of(edge.refresh(A, &refresh).await), ErrorCode::InvalidGrant);
    verify(B).await.expect("B does not see the revocation yet");
    edge.advance(LAG);
    retry_after(&verify(B).await.expect_err("revoked, but B cannot tell it from not visible yet"));
    edge.advance(edge.window);
    assert_eq!(code_of(verify(B).await), ErrorCode::InvalidToken);
    assert_eq!(code_of(edge.refresh(B, &refresh).await), ErrorCode::InvalidGrant);
}

/// An access token used at another location before it shows there: 503s
/// (not the 401 that would send the client back to authorization), then it
/// verifies; once expired it is refused at once everywhere.
#[tokio::test]
async fn an_access_token_not_visible_elsewhere_is_retried_not_refused() {
    let edge = Edge::new().await;
    let tokens = edge.tokens_at(A).await;
    let verify_at_b = async || edge.at(B).verify_access_token(&tokens.access_token).await;
    retry_after(&verify_at_b().await.expect_err("not visible at B yet"));
    let auth = edge.retried(verify_at_b).await.expect("verified once visible");
    edge.advance(auth.expires_at - edge.now());
    for location in [A, B] {
        let expired = edge.at(location).verify_access_token(&tokens.access_token).await;
        assert_eq!(code_of(expired), ErrorCode::InvalidToken);
    }
}

/// (c) Garbage, and codes or tokens issued longer ago than the window, are
/// refused at once everywhere; a forged recent issue time buys a 503 only
/// while it is within the window.
#[tokio::test]
async fn garbage_and_expired_tokens_are_refused_at_once() {
    let edge = Edge::new().await;
    let grant_id = random_id().unwrap();
    let issued = |at: u64| format!("{grant_id}.{}", timed_secret(at).unwrap());
    let zeros = format!("{}.{}", "A".repeat(22), "A".repeat(43));
    for token in [issued(T0 - 3600), zeros] {
        for location in [A, B] {
            assert_eq!(code_of(edge.exchange(location, &token).await), ErrorCode::InvalidGrant);
            assert_eq!(code_of(edge.refresh(location, &token).await), ErrorCode::InvalidGrant);
            let verified = edge.at(location).verify_access_token(&token).await;
            assert_eq!(code_of(verified), ErrorCode::InvalidToken);
        }
    }

    let forged = issued(edge.now());
    retry_after(&edge.exchange(B, &forged).await.unwrap_err());
    retry_after(&edge.refresh(B, &forged).await.unwrap_err());
    retry_after(&edge.at(B).verify_access_token(&forged).await.unwrap_err());
    edge.advance(edge.window + 1);
    assert_eq!(code_of(edge.exchange(B, &forged).await), ErrorCode::InvalidGrant);
    assert_eq!(code_of(edge.refresh(B, &forged).await), ErrorCode::InvalidGrant);
    assert_eq!(code_of(edge.at(B).verify_access_token(&forged).await), ErrorCode::InvalidToken);

    let code = authorize(edge.at(A), "my-client", CALLBACK, &[]).await;
    edge.advance(edge.at(A).config().code_expiration);
    for location in [A, B] {
        assert_eq!(code_of(edge.exchange(location, &code).await), ErrorCode::InvalidGrant, "expired");
    }
}

/// (d) Workers KV takes one write of a key per second: an exchange in the
/// second of its authorization, or a refresh in the second of the exchange,
/// is a 429 there, answered as a retryable 503 (not a 500) that uses up
/// nothing.
#[tokio::test]
async fn a_second_write_within_a_second_is_a_retryable_503() {
    let edge = Edge::new().await;
    let code = authorize(edge.at(A), "my-client", CALLBACK, &[]).await;
    retry_after(&edge.exchange(A, &code).await.expect_err("the grant was written this second"));
    edge.advance(1);
    let tokens = edge.exchange(A, &code).await.expect("the code was not used up");
    let refresh = tokens.refresh_token.unwrap();
    retry_after(&edge.refresh(A, &refresh).await.expect_err("the grant was written this second"));
    edge.advance(1);
    let rotated = edge.refresh(A, &refresh).await.expect("the refresh token was not used up");
    edge.advance(1);
    edge.refresh(A, rotated.refresh_token.as_deref().unwrap()).await.expect("and the chain goes on");
}

/// What single use cannot promise without atomics: two locations that both
/// still see a code unused both redeem it, and no replay is detected. The
/// writes converge on the later one: its refresh token goes on, the other's
/// is refused once the window has passed (without revoking the grant); both
/// access tokens live out their lifetime. Health says single use is
/// best-effort here.
#[tokio::test]
async fn without_atomics_two_stale_locations_may_both_redeem_one_code() {
    let edge = Edge::new().await;
    let code = authorize(edge.at(A), "my-client", CALLBACK, &[]).await;
    edge.advance(LAG);
    let at_b = edge.exchange(B, &code).await.expect("B redeems the code");
    edge.advance(1);
    let at_c = edge.exchange(C, &code).await.expect("C, not seeing B's write yet, redeems it too");
    edge.advance(edge.window + 1);
    for location in [A, B, C] {
        for tokens in [&at_b, &at_c] {
            edge.at(location).verify_access_token(&tokens.access_token).await.expect("both access tokens");
        }
    }
    let b_chain = edge.refresh(A, at_b.refresh_token.as_deref().unwrap()).await;
    assert_eq!(code_of(b_chain), ErrorCode::InvalidGrant, "the later write replaced B's chain");
    edge.refresh(A, at_c.refresh_token.as_deref().unwrap()).await.expect("C's chain goes on");
    let health = edge.at(A).health_check().await;
    assert!(health.healthy && health.message.contains("best-effort"), "{health:?}");
}

/// The same for refresh: two stale locations may both rotate one refresh
/// token, forking the chain; the later write wins, the other fork is
/// refused once the window has passed, and nothing is taken for reuse.
#[tokio::test]
async fn without_atomics_two_stale_locations_may_both_rotate_one_refresh_token() {
    let edge = Edge::new().await;
    let tokens = edge.tokens_at(A).await;
    let refresh = tokens.refresh_token.unwrap();
    edge.advance(LAG);
    let at_b = edge.refresh(B, &refresh).await.expect("B rotates");
    edge.advance(1);
    let at_c = edge.refresh(C, &refresh).await.expect("C, not seeing B's rotation yet, rotates too");
    assert_ne!(at_b.refresh_token, at_c.refresh_token, "a forked chain");
    edge.advance(edge.window + 1);
    let b_fork = edge.refresh(A, at_b.refresh_token.as_deref().unwrap()).await;
    assert_eq!(code_of(b_fork), ErrorCode::InvalidGrant);
    edge.refresh(A, at_c.refresh_token.as_deref().unwrap()).await.expect("the later fork goes on");
}
