//! Storage-level checks every backend must pass: each operation, lazy expiry
//! by the `now` argument, atomicity under concurrency, cascades.

use std::sync::Arc;

use crate::config::MAX_LIFETIME;
use crate::storage::*;

use super::fixtures::*;

pub async fn clients_round_trip_without_aliasing<S: Storage>(s: S) {
    assert_eq!(s.get_client("c1").await.unwrap(), None);
    s.put_client(client("c1")).await.unwrap();
    s.put_client(client("c2")).await.unwrap();
    let mut got = s.get_client("c1").await.unwrap().expect("stored client");
    assert_eq!(got, client("c1"));
    got.redirect_uris.push("https://evil.example/cb".into());
    got.scopes.clear();
    assert_eq!(s.get_client("c1").await.unwrap().unwrap(), client("c1"), "a returned copy aliases the store");
    let mut ids = s.list_clients().await.unwrap();
    ids.sort();
    assert_eq!(ids, vec!["c1", "c2"]);
}

pub async fn configured_clients_survive_a_restart<S: Storage>(s: S) {
    s.put_client(client("c1")).await.unwrap();
    let mut changed = client("c1");
    changed.scopes = vec!["read".into()];
    s.put_client(changed.clone()).await.expect("replacing a stored client must not fail");
    assert_eq!(s.get_client("c1").await.unwrap().unwrap(), changed);
    assert_eq!(s.list_clients().await.unwrap(), vec!["c1"]);
}

pub async fn delete_client_cascades_to_grants<S: Storage>(s: S) {
    let grant = redeemed(&s).await;
    s.put_client(client("c2")).await.unwrap();
    s.put_grant(pending_grant("g2", "c2", "alice"), None, T0).await.unwrap();
    assert!(s.delete_client("c1", T0).await.unwrap());
    assert_eq!(s.get_client("c1").await.unwrap(), None);
    assert_eq!(s.get_grant(&grant.id, T0).await.unwrap(), None);
    assert_eq!(s.get_access("g1", &digest("at:first"), T0).await.unwrap(), None);
    assert!(s.get_grant("g2", T0).await.unwrap().is_some(), "another client's grant survives");
    assert!(!s.delete_client("c1", T0).await.unwrap(), "deleting twice reports nothing deleted");
}

pub async fn grant_ids_never_collide<S: Storage>(s: S) {
    s.put_grant(pending_grant("g1", "c1", "alice"), None, T0).await.unwrap();
    let err = s.put_grant(pending_grant("g1", "c1", "mallory"), None, T0).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict(_)), "got {err:?}");
    assert_eq!(s.get_grant("g1", T0).await.unwrap().unwrap().subject.as_deref(), Some("alice"));
}

pub async fn code_is_redeemed_once_with_its_tokens<S: Storage>(s: S) {
    let grant = redeemed(&s).await;
    assert!(grant.code.as_ref().unwrap().used);
    assert_eq!(grant.refresh.as_ref().unwrap().current, digest("rt:first"));
    assert_eq!(grant.expires_at, T0 + 86_400);
    let access = s.get_access("g1", &digest("at:first"), T0 + 1).await.unwrap().expect("access token stored");
    assert_eq!(access.client_id, "c1");
    assert_eq!(access.subject.as_deref(), Some("alice"));
    assert_eq!(access.scopes, vec!["read", "write"]);
    assert_eq!(access.resource, RESOURCE);
    assert_eq!(access.expires_at, T0 + 3600);
    assert_eq!(s.get_access("other", &digest("at:first"), T0).await.unwrap(), None, "keyed by grant too");
}

pub async fn code_mismatch_changes_nothing<S: Storage>(s: S) {
    s.put_grant(pending_grant("g1", "c1", "alice"), None, T0).await.unwrap();
    let before = s.get_grant("g1", T0).await.unwrap();
    let mut wrong = vec![expectation("c2"), expectation("c1"), expectation("c1")];
    wrong[1].redirect_uri = "https://app.example.com/other".into();
    wrong[2].code_challenge = "x".repeat(43);
    for expect in &wrong {
        let outcome =
            s.consume_code("g1", &code_digest("g1"), expect, redemption("x", T0), T0).await.unwrap();
        assert_eq!(outcome, CodeOutcome::Mismatch);
    }
    let outcome = s
        .consume_code("g1", &digest("code:wrong"), &expectation("c1"), redemption("x", T0), T0)
        .await
        .unwrap();
    assert_eq!(outcome, CodeOutcome::NotFound);
    assert_eq!(s.get_grant("g1", T0).await.unwrap(), before, "a failed redemption changed the grant");
    assert_eq!(s.get_access("g1", &digest("at:x"), T0).await.unwrap(), None);
    let outcome =
        s.consume_code("g1", &code_digest("g1"), &expectation("c1"), redemption("ok", T0), T0).await.unwrap();
    assert!(matches!(outcome, CodeOutcome::Redeemed(..)), "the code still works after failed attempts");
}

pub async fn code_replay_revokes_the_grant<S: Storage>(s: S) {
    redeemed(&s).await;
    let again = s
        .consume_code("g1", &code_digest("g1"), &expectation("c1"), redemption("second", T0), T0 + 5)
        .await
        .unwrap();
    assert_eq!(again, CodeOutcome::Replayed);
    assert_eq!(s.get_grant("g1", T0 + 5).await.unwrap(), None, "replay must revoke the grant");
    assert_eq!(s.get_access("g1", &digest("at:first"), T0 + 5).await.unwrap(), None);
    assert_eq!(s.get_access("g1", &digest("at:second"), T0 + 5).await.unwrap(), None);
}

pub async fn code_and_grant_expire_lazily<S: Storage>(s: S) {
    s.put_grant(pending_grant("g1", "c1", "alice"), None, T0).await.unwrap();
    assert!(s.get_grant("g1", T0 + 599).await.unwrap().is_some());
    assert_eq!(s.get_grant("g1", T0 + 600).await.unwrap(), None, "expired grant still readable");
    let outcome = s
        .consume_code("g1", &code_digest("g1"), &expectation("c1"), redemption("late", T0 + 600), T0 + 600)
        .await
        .unwrap();
    assert_eq!(outcome, CodeOutcome::NotFound);
    assert_eq!(s.stats(T0 + 600).await.unwrap().authorization_code_count, 0);
}

pub async fn code_bound_to_its_resource<S: Storage>(s: S) {
    s.put_grant(pending_grant("g1", "c1", "alice"), None, T0).await.unwrap();
    let mut expect = expectation("c1");
    expect.resource = Some("https://other.example.com/mcp".into());
    let outcome = s.consume_code("g1", &code_digest("g1"), &expect, redemption("x", T0), T0).await.unwrap();
    assert_eq!(outcome, CodeOutcome::ResourceMismatch);
    expect.resource = Some(format!("{RESOURCE}/"));
    let outcome = s.consume_code("g1", &code_digest("g1"), &expect, redemption("x", T0), T0).await.unwrap();
    assert!(matches!(outcome, CodeOutcome::Redeemed(..)), "a trailing slash names the same resource");
}

pub async fn refresh_rotates_retries_and_detects_reuse<S: Storage>(s: S) {
    redeemed(&s).await;
    let t = T0 + 10;
    let rotated = s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation("second", t), t).await.unwrap();
    let RotateOutcome::Rotated(grant, access) = rotated else { panic!("expected rotation, got {rotated:?}") };
    let chain = grant.refresh.clone().unwrap();
    assert_eq!(
        (chain.current, chain.previous, chain.generation),
        (digest("rt:second"), Some(digest("rt:first")), 1)
    );
    assert_eq!(chain.salt, "salt:second");
    assert_eq!(grant.expires_at, t + 86_400, "each rotation starts a new refresh lifetime");
    assert_eq!(access.expires_at, t + 3600);
    assert!(s.get_access("g1", &digest("at:second"), t).await.unwrap().is_some());

    // The previous token again (lost response): same successor, no new rotation.
    let retried = s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation("ignored", t), t).await.unwrap();
    let RotateOutcome::Retried(grant, _) = retried else { panic!("expected retry, got {retried:?}") };
    let chain = grant.refresh.unwrap();
    assert_eq!(
        (chain.current, chain.generation, chain.salt.as_str()),
        (digest("rt:second"), 1, "salt:second")
    );
    assert!(
        s.get_access("g1", &digest("at:ignored"), t).await.unwrap().is_some(),
        "the retry's access token is stored"
    );

    // The successor is used: the first token is now retired, and presenting it is reuse.
    let third = s.rotate_refresh("g1", "c1", &digest("rt:second"), rotation("third", t), t).await.unwrap();
    assert!(matches!(third, RotateOutcome::Rotated(..)));
    let reused = s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation("evil", t), t).await.unwrap();
    assert_eq!(reused, RotateOutcome::Reused);
    assert_eq!(s.get_grant("g1", t).await.unwrap(), None, "reuse must revoke the grant");
    for label in ["at:first", "at:second", "at:ignored", "at:third", "at:evil"] {
        assert_eq!(s.get_access("g1", &digest(label), t).await.unwrap(), None, "{label} survived reuse");
    }
}

pub async fn refresh_refuses_other_clients_and_wider_scopes<S: Storage>(s: S) {
    redeemed(&s).await;
    let before = s.get_grant("g1", T0).await.unwrap();
    let other = s.rotate_refresh("g1", "c2", &digest("rt:first"), rotation("x", T0), T0).await.unwrap();
    assert_eq!(other, RotateOutcome::NotFound);
    let unknown = s.rotate_refresh("g1", "c1", &digest("rt:guess"), rotation("x", T0), T0).await.unwrap();
    assert_eq!(unknown, RotateOutcome::NotFound);
    let mut wider = rotation("x", T0);
    wider.scopes = Some(vec!["read".into(), "admin".into()]);
    let outcome = s.rotate_refresh("g1", "c1", &digest("rt:first"), wider, T0).await.unwrap();
    assert_eq!(outcome, RotateOutcome::ScopeExceeded);
    let mut elsewhere = rotation("x", T0);
    elsewhere.resource = Some("https://other.example.com/mcp".into());
    let outcome = s.rotate_refresh("g1", "c1", &digest("rt:first"), elsewhere, T0).await.unwrap();
    assert_eq!(outcome, RotateOutcome::ResourceMismatch);
    assert_eq!(s.get_grant("g1", T0).await.unwrap(), before, "refused rotations changed the grant");
    let mut narrower = rotation("narrow", T0);
    narrower.scopes = Some(vec!["read".into()]);
    let outcome = s.rotate_refresh("g1", "c1", &digest("rt:first"), narrower, T0).await.unwrap();
    let RotateOutcome::Rotated(grant, access) = outcome else { panic!("expected rotation") };
    assert_eq!(access.scopes, vec!["read"], "downscoped access token");
    assert_eq!(grant.scopes, vec!["read", "write"], "the grant keeps its scopes");
}

pub async fn access_tokens_expire_lazily<S: Storage>(s: S) {
    redeemed(&s).await;
    assert!(s.get_access("g1", &digest("at:first"), T0 + 3599).await.unwrap().is_some());
    assert_eq!(s.get_access("g1", &digest("at:first"), T0 + 3600).await.unwrap(), None);
    assert!(s.get_grant("g1", T0 + 3600).await.unwrap().is_some(), "the grant outlives its access token");
    assert_eq!(s.get_grant("g1", T0 + 86_400).await.unwrap(), None);
    let late = s
        .rotate_refresh("g1", "c1", &digest("rt:first"), rotation("late", T0 + 86_400), T0 + 86_400)
        .await
        .unwrap();
    assert_eq!(late, RotateOutcome::NotFound, "an expired refresh token rotates nothing");
}

pub async fn revoke_grant_cascades<S: Storage>(s: S) {
    redeemed(&s).await;
    s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation("second", T0), T0).await.unwrap();
    assert!(s.revoke_grant("g1").await.unwrap());
    assert_eq!(s.get_grant("g1", T0).await.unwrap(), None);
    assert_eq!(s.get_access("g1", &digest("at:first"), T0).await.unwrap(), None);
    assert_eq!(s.get_access("g1", &digest("at:second"), T0).await.unwrap(), None);
    assert_eq!(
        s.rotate_refresh("g1", "c1", &digest("rt:second"), rotation("x", T0), T0).await.unwrap(),
        RotateOutcome::NotFound
    );
    assert!(!s.revoke_grant("g1").await.unwrap(), "revoking twice revokes nothing");
    assert!(s.list_grants("alice", T0).await.unwrap().is_empty());
}

pub async fn grants_listed_per_subject<S: Storage>(s: S) {
    s.put_grant(pending_grant("g1", "c1", "alice"), None, T0).await.unwrap();
    s.put_grant(pending_grant("g2", "c2", "alice"), None, T0).await.unwrap();
    s.put_grant(pending_grant("g3", "c1", "bob"), None, T0).await.unwrap();
    let mut ids: Vec<String> = s.list_grants("alice", T0).await.unwrap().into_iter().map(|g| g.id).collect();
    ids.sort();
    assert_eq!(ids, vec!["g1", "g2"]);
    assert!(s.list_grants("alice", T0 + 600).await.unwrap().is_empty(), "expired grants are not listed");
    assert!(s.list_grants("nobody", T0).await.unwrap().is_empty());
}

pub async fn stats_count_live_records<S: Storage>(s: S) {
    s.put_client(client("c1")).await.unwrap();
    s.put_client(client("c2")).await.unwrap();
    s.put_grant(pending_grant("g1", "c1", "alice"), None, T0).await.unwrap();
    s.put_grant(pending_grant("g2", "c1", "alice"), None, T0).await.unwrap();
    s.consume_code("g1", &code_digest("g1"), &expectation("c1"), redemption("first", T0), T0).await.unwrap();
    let stats = s.stats(T0).await.unwrap();
    assert_eq!(
        (stats.client_count, stats.token_count, stats.refresh_token_count, stats.authorization_code_count),
        (2, 1, 1, 1)
    );
    let later = s.stats(T0 + 3600).await.unwrap();
    assert_eq!((later.token_count, later.refresh_token_count, later.authorization_code_count), (0, 1, 0));
}

pub async fn sweep_drops_only_the_expired<S: Storage>(s: S) {
    redeemed(&s).await;
    s.put_grant(pending_grant("g2", "c1", "bob"), None, T0).await.unwrap();
    s.sweep(T0 + 700).await.unwrap();
    assert_eq!(s.get_grant("g2", T0 + 700).await.unwrap(), None);
    assert!(s.get_grant("g1", T0 + 700).await.unwrap().is_some(), "sweep removed a live grant");
    assert!(s.get_access("g1", &digest("at:first"), T0 + 700).await.unwrap().is_some());
    s.sweep(T0 + 3600).await.unwrap();
    assert!(s.get_grant("g1", T0 + 3600).await.unwrap().is_some());
    assert_eq!(s.stats(T0 + 3600).await.unwrap().token_count, 0);
    assert_eq!(s.list_grants("bob", T0 + 3600).await.unwrap(), vec![]);
}

/// A registration that never completes an authorization expires; one that
/// is kept (stored again without `expires_at`) stays. Every backend forgets
/// the expired one after a sweep at a later `now`, whatever its own TTL did.
pub async fn registrations_expire_unless_kept<S: Storage>(s: S) {
    let registration = |id: &str| ClientRecord { expires_at: Some(T0 + 120), ..client(id) };
    s.put_client(registration("abandoned")).await.unwrap();
    s.put_client(registration("kept")).await.unwrap();
    s.put_client(client("configured")).await.unwrap();
    let stored = s.get_client("abandoned").await.unwrap().expect("a registration is stored");
    assert_eq!(stored.expires_at, Some(T0 + 120), "the expiry is stored in the record");
    assert!(stored.is_live(T0 + 119) && !stored.is_live(T0 + 120));
    s.put_client(ClientRecord { expires_at: None, ..registration("kept") }).await.unwrap();
    assert_eq!(s.stats(T0 + 60).await.unwrap().client_count, 3);

    s.sweep(T0 + 121).await.unwrap();
    assert_eq!(s.get_client("abandoned").await.unwrap(), None, "an expired registration outlived a sweep");
    assert_eq!(s.get_client("kept").await.unwrap().unwrap().expires_at, None);
    assert!(s.get_client("configured").await.unwrap().is_some());
    assert_eq!(s.list_clients().await.unwrap(), vec!["configured", "kept"]);
    assert_eq!(s.stats(T0 + 121).await.unwrap().client_count, 2);
}

pub async fn lifetimes_of_years_do_not_overflow<S: Storage>(s: S) {
    let mut grant = pending_grant("g1", "c1", "alice");
    grant.expires_at = T0 + MAX_LIFETIME;
    grant.code.as_mut().unwrap().expires_at = T0 + MAX_LIFETIME;
    s.put_grant(grant, None, T0).await.unwrap();
    let mut r = redemption("long", T0);
    r.access_expires_at = T0 + MAX_LIFETIME;
    r.grant_expires_at = T0 + MAX_LIFETIME;
    let outcome = s.consume_code("g1", &code_digest("g1"), &expectation("c1"), r, T0).await.unwrap();
    assert!(matches!(outcome, CodeOutcome::Redeemed(..)));
    let nine_years = T0 + MAX_LIFETIME - 86_400;
    assert!(s.get_access("g1", &digest("at:long"), nine_years).await.unwrap().is_some());
    assert!(s.get_grant("g1", nine_years).await.unwrap().is_some());
    assert_eq!(s.get_access("g1", &digest("at:long"), T0 + MAX_LIFETIME).await.unwrap(), None);
}

pub async fn one_winner_among_100_concurrent_code_exchanges<S: Storage + 'static>(s: S) {
    s.put_client(client("c1")).await.unwrap();
    s.put_grant(pending_grant("g1", "c1", "alice"), None, T0).await.unwrap();
    let outcomes = concurrently(Arc::new(s), 100, |s, i| async move {
        s.consume_code("g1", &code_digest("g1"), &expectation("c1"), redemption(&format!("r{i}"), T0), T0)
            .await
            .unwrap()
    })
    .await;
    let wins = outcomes.iter().filter(|o| matches!(o, CodeOutcome::Redeemed(..))).count();
    assert_eq!(wins, 1, "exactly one exchange may win");
    let replays = outcomes.iter().filter(|o| **o == CodeOutcome::Replayed).count();
    let gone = outcomes.iter().filter(|o| **o == CodeOutcome::NotFound).count();
    assert_eq!(replays + gone, 99, "the rest are replays (or find the grant already revoked)");
}

pub async fn one_rotation_among_100_concurrent_refreshes<S: Storage + 'static>(s: S) {
    redeemed(&s).await;
    let s = Arc::new(s);
    let outcomes = concurrently(s.clone(), 100, |s, i| async move {
        s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation(&format!("r{i}"), T0), T0).await.unwrap()
    })
    .await;
    let rotated: Vec<_> = outcomes.iter().filter(|o| matches!(o, RotateOutcome::Rotated(..))).collect();
    assert_eq!(rotated.len(), 1, "exactly one rotation");
    let RotateOutcome::Rotated(winner, _) = rotated[0] else { unreachable!() };
    let successor = winner.refresh.as_ref().unwrap().current;
    for outcome in &outcomes {
        match outcome {
            RotateOutcome::Rotated(..) => {}
            RotateOutcome::Retried(grant, _) => {
                assert_eq!(
                    grant.refresh.as_ref().unwrap().current,
                    successor,
                    "every retry answers the one successor"
                )
            }
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    let grant = s.get_grant("g1", T0).await.unwrap().unwrap();
    assert_eq!(grant.refresh.unwrap().generation, 1);
}

pub async fn health_reports_a_healthy_store<S: Storage>(s: S) {
    let health = s.health().await;
    assert!(health.healthy, "{health:?}");
    assert!(!health.message.is_empty());
    assert!(health.timestamp > T0 * 1000, "timestamp is Unix milliseconds of the real clock");
    assert!(health.components.contains_key("atomicity"));
}

pub async fn revoke_token_checks_what_the_token_is<S: Storage>(s: S) {
    redeemed(&s).await;
    s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation("second", T0), T0).await.unwrap();
    // Not this client's, not a token of the grant, a retired refresh token, an
    // expired access token: nothing changes.
    assert_eq!(s.revoke_token("g1", "c2", &digest("at:second"), T0).await.unwrap(), None);
    assert_eq!(s.revoke_token("g1", "c1", &digest("at:guess"), T0).await.unwrap(), None);
    assert_eq!(s.revoke_token("g2", "c1", &digest("at:second"), T0).await.unwrap(), None);
    assert_eq!(s.revoke_token("g1", "c1", &digest("at:first"), T0 + 3600).await.unwrap(), None);
    assert!(s.get_grant("g1", T0).await.unwrap().is_some(), "refused revocations changed nothing");
    // The previous refresh token still revokes (the client may hold it after a lost response).
    let revoked = s.revoke_token("g1", "c1", &digest("rt:first"), T0).await.unwrap().expect("revoked");
    assert_eq!((revoked.id.as_str(), revoked.subject.as_deref()), ("g1", Some("alice")));
    assert_eq!(s.get_grant("g1", T0).await.unwrap(), None);
    assert_eq!(
        s.get_access("g1", &digest("at:second"), T0).await.unwrap(),
        None,
        "the cascade reached the access tokens"
    );
}

pub async fn revoke_token_by_access_token<S: Storage>(s: S) {
    redeemed(&s).await;
    let revoked = s.revoke_token("g1", "c1", &digest("at:first"), T0 + 1).await.unwrap();
    assert_eq!(revoked.map(|g| g.id), Some("g1".to_string()));
    assert_eq!(s.get_access("g1", &digest("at:first"), T0 + 1).await.unwrap(), None);
    assert_eq!(s.revoke_token("g1", "c1", &digest("at:first"), T0 + 1).await.unwrap(), None, "once");
}
