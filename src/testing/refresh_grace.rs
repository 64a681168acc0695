//! The refresh grace period (RFC 9700 §4.14.2), on every backend: the
//! previous refresh token retries onto the same successor only for
//! `grace_seconds` after its rotation; from then on presenting it is reuse,
//! which revokes the grant with every token it issued. Time is the `now`
//! argument (storage checks) or a `FakeClock` (provider flows).

use std::sync::Arc;

use crate::provider::TokenResponse;
use crate::storage::*;
use crate::{ErrorCode, OAuthError, ProviderConfig};

use super::fixtures::*;
use super::flows::{confidential, config, provider_with, tokens};

/// `first` rotated to `second` at `T0 + 10`; returns that time.
async fn rotated<S: Storage>(s: &S, grace: u64) -> u64 {
    redeemed(s).await;
    let t = T0 + 10;
    let second = with_grace(rotation("second", t), grace);
    let outcome = s.rotate_refresh("g1", "c1", &digest("rt:first"), second, t).await.unwrap();
    assert!(matches!(outcome, RotateOutcome::Rotated(..)), "{outcome:?}");
    t
}

fn with_grace(rotation: Rotation, grace_seconds: u64) -> Rotation {
    Rotation { grace_seconds, ..rotation }
}

/// Every token `labels` names is dead, and so is the grant.
async fn all_revoked<S: Storage>(s: &S, now: u64, labels: &[&str]) {
    assert_eq!(s.get_grant("g1", now).await.unwrap(), None, "reuse must revoke the grant");
    for label in labels {
        assert_eq!(s.get_access("g1", &digest(label), now).await.unwrap(), None, "{label} survived reuse");
    }
    let current = s.rotate_refresh("g1", "c1", &digest("rt:second"), rotation("after", now), now).await;
    assert_eq!(current.unwrap(), RotateOutcome::NotFound, "the current refresh token died with the grant");
}

pub async fn previous_refresh_token_retries_within_its_grace<S: Storage>(s: S) {
    let t = rotated(&s, GRACE).await;
    let last = t + GRACE - 1;
    let retried =
        s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation("retry", last), last).await.unwrap();
    let RotateOutcome::Retried(grant, _) = retried else { panic!("expected a retry, got {retried:?}") };
    let chain = grant.refresh.unwrap();
    assert_eq!(
        (chain.current, chain.salt.as_str(), chain.rotated_at),
        (digest("rt:second"), "salt:second", t)
    );
    assert!(
        s.get_access("g1", &digest("at:retry"), last).await.unwrap().is_some(),
        "the retry's token works"
    );
}

pub async fn previous_refresh_token_after_its_grace_revokes_the_grant<S: Storage>(s: S) {
    let t = rotated(&s, GRACE).await;
    let within = t + 1;
    let retried = s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation("retry", within), within).await;
    assert!(matches!(retried.unwrap(), RotateOutcome::Retried(..)));
    let late = t + GRACE;
    let reused =
        s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation("evil", late), late).await.unwrap();
    assert_eq!(reused, RotateOutcome::Reused, "the previous token at the end of its grace is reuse");
    all_revoked(&s, late, &["at:first", "at:second", "at:retry", "at:evil"]).await;
}

pub async fn refresh_grace_zero_makes_the_previous_token_reuse<S: Storage>(s: S) {
    let t = rotated(&s, 0).await;
    let again = with_grace(rotation("again", t), 0);
    let reused = s.rotate_refresh("g1", "c1", &digest("rt:first"), again, t).await.unwrap();
    assert_eq!(reused, RotateOutcome::Reused, "no grace: even the same second is reuse");
    all_revoked(&s, t, &["at:first", "at:second", "at:again"]).await;
}

/// 100 concurrent retries of the previous token, late in its grace: every
/// one answers the one successor, and the chain does not move.
pub async fn concurrent_retries_within_the_grace_share_one_successor<S: Storage + 'static>(s: S) {
    let t = rotated(&s, GRACE).await;
    let late = t + GRACE - 1;
    let outcomes = concurrently(Arc::new(s), 100, move |s, i| async move {
        let retry = rotation(&format!("r{i}"), late);
        s.rotate_refresh("g1", "c1", &digest("rt:first"), retry, late).await.expect("no storage error")
    })
    .await;
    for outcome in outcomes {
        let RotateOutcome::Retried(grant, _) = outcome else { panic!("expected a retry, got {outcome:?}") };
        let chain = grant.refresh.unwrap();
        assert_eq!((chain.current, chain.generation), (digest("rt:second"), 1));
    }
}

fn code_of(result: Result<TokenResponse, OAuthError>) -> ErrorCode {
    result.expect_err("expected an OAuth error").code
}

/// Through the provider, with its clock: the lost-response retry works for
/// the grace period; the same token after it is caught as reuse (the attacker
/// who refreshed first, or the victim after them), and the whole grant dies.
pub async fn flow_refresh_reuse_is_caught_after_the_grace<S: Storage>(s: S) {
    let config = ProviderConfig { refresh_grace_seconds: 5, ..config() };
    let (p, clock) = provider_with(s, config).await;
    let first = tokens(&p).await.refresh_token.unwrap();
    let a = p.exchange_refresh_token(&confidential(), &first, None, None).await.unwrap();
    clock.advance(4);
    let b = p.exchange_refresh_token(&confidential(), &first, None, None).await.unwrap();
    assert_eq!(a.refresh_token, b.refresh_token, "within the grace: the same successor");
    clock.advance(1);
    let late = p.exchange_refresh_token(&confidential(), &first, None, None).await;
    assert_eq!(code_of(late), ErrorCode::InvalidGrant, "after the grace: reuse");
    for access in [&a.access_token, &b.access_token] {
        let verified = p.verify_access_token(access).await;
        assert_eq!(verified.expect_err("revoked").code, ErrorCode::InvalidToken, "reuse revokes the grant");
    }
    let successor = a.refresh_token.unwrap();
    let after = p.exchange_refresh_token(&confidential(), &successor, None, None).await;
    assert_eq!(code_of(after), ErrorCode::InvalidGrant, "the successor died with the grant");
}
