//! What still holds under concurrency on a store without atomic operations
//! (Workers KV): run by `conformance_suite!(.., atomic = false)` in place of
//! the two exactly-once checks of `conformance.rs`, which such a store cannot
//! pass. The shared suite itself is unchanged.

use std::sync::Arc;

use crate::storage::*;

use super::fixtures::*;

/// 100 concurrent exchanges of one code: at least one wins, every outcome is a
/// documented one, nothing fails or panics. (More than one may win: that is
/// the best-effort single use the health check announces.)
pub async fn some_winner_among_100_concurrent_code_exchanges<S: Storage + 'static>(s: S) {
    s.put_client(client("c1")).await.unwrap();
    s.put_grant(pending_grant("g1", "c1", "alice"), None, T0).await.unwrap();
    let outcomes = concurrently(Arc::new(s), 100, |s, i| async move {
        s.consume_code("g1", &code_digest("g1"), &expectation("c1"), redemption(&format!("r{i}"), T0), T0)
            .await
            .expect("no storage error under contention")
    })
    .await;
    let wins = outcomes.iter().filter(|o| matches!(o, CodeOutcome::Redeemed(..))).count();
    assert!(wins >= 1, "at least one exchange wins");
    for outcome in &outcomes {
        assert!(
            matches!(outcome, CodeOutcome::Redeemed(..) | CodeOutcome::Replayed | CodeOutcome::NotFound),
            "undocumented outcome {outcome:?}"
        );
    }
}

/// 100 concurrent refreshes with one token: at least one rotation, the others
/// rotate too or retry onto a successor some rotation stored, never reuse; the
/// grant survives with a rotated chain.
pub async fn some_rotation_among_100_concurrent_refreshes<S: Storage + 'static>(s: S) {
    redeemed(&s).await;
    let s = Arc::new(s);
    let outcomes = concurrently(s.clone(), 100, |s, i| async move {
        s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation(&format!("r{i}"), T0), T0)
            .await
            .expect("no storage error under contention")
    })
    .await;
    let successors: Vec<SecretDigestOf> = outcomes
        .iter()
        .filter_map(|o| match o {
            RotateOutcome::Rotated(g, _) => Some(g.refresh.as_ref().unwrap().current),
            _ => None,
        })
        .collect();
    assert!(!successors.is_empty(), "at least one rotation");
    for outcome in &outcomes {
        match outcome {
            RotateOutcome::Rotated(..) => {}
            RotateOutcome::Retried(grant, _) => assert!(
                successors.contains(&grant.refresh.as_ref().unwrap().current),
                "a retry answers a successor some rotation stored"
            ),
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    let chain = s.get_grant("g1", T0).await.unwrap().expect("the grant survives").refresh.unwrap();
    assert!(chain.generation >= 1);
    assert_eq!(chain.previous, Some(digest("rt:first")));
    assert!(successors.contains(&chain.current), "the stored successor is one a rotation answered");
}

type SecretDigestOf = crate::crypto::SecretDigest;
