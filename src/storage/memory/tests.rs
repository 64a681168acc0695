//! Sharding: grants spread over the shards, and the calls over many grants
//! still see every one of them.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use super::*;
use crate::storage::IssuedAccess;

const GRANTS: usize = 64;

/// Runs a call of the store to its end: it never waits on anything.
fn run<F: Future>(call: F) -> F::Output {
    match std::pin::pin!(call).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("MemoryStorage never waits"),
    }
}

fn access_digest(i: usize) -> SecretDigest {
    SecretDigest::of(&format!("at:{i}"))
}

/// A `client_credentials`-style grant of client `c` for `alice`, with one
/// access token, as the provider stores it.
fn grant_with_access(i: usize) -> (GrantRecord, NewAccess) {
    let mut grant = GrantRecord {
        id: format!("grant-{i}"),
        client_id: "c".into(),
        subject: Some("alice".into()),
        scopes: Vec::new(),
        resource: "https://r.example/mcp".into(),
        props: Default::default(),
        created_at: i as UnixTime,
        expires_at: 1000,
        code: None,
        refresh: None,
        access_tokens: Vec::new(),
    };
    let digest = access_digest(i);
    let record = grant.access_record(&[], 0, 500);
    grant.access_tokens.push(IssuedAccess { digest, expires_at: 500 });
    (grant, NewAccess { digest, record })
}

fn store_with_grants() -> MemoryStorage {
    let store = MemoryStorage::new();
    for i in 0..GRANTS {
        let (grant, access) = grant_with_access(i);
        run(store.put_grant(grant, Some(access), 0)).unwrap();
    }
    store
}

#[test]
fn grants_spread_over_the_shards() {
    let store = store_with_grants();
    let used = store.each_shard().filter(|shard| shard.records() > 0).count();
    assert!(used > 1, "{GRANTS} grants all landed in one shard");
    for i in 0..GRANTS {
        let id = format!("grant-{i}");
        assert!(run(store.get_access(&id, &access_digest(i), 1)).unwrap().is_some());
    }
}

#[test]
fn calls_over_many_grants_see_every_shard() {
    let store = store_with_grants();
    let stats = run(store.stats(1)).unwrap();
    assert_eq!(stats.token_count, GRANTS as u64);
    let listed = run(store.list_grants("alice", 1)).unwrap();
    let ids: Vec<String> = listed.into_iter().map(|g| g.id).collect();
    let expected: Vec<String> = (0..GRANTS).map(|i| format!("grant-{i}")).collect();
    assert_eq!(ids, expected, "every grant, ordered by creation");

    run(store.put_client(ClientRecord {
        client_id: "c".into(),
        secret_digest: None,
        redirect_uris: Vec::new(),
        scopes: Vec::new(),
        grant_types: Vec::new(),
        auth_method: crate::storage::AuthMethod::None,
        client_name: None,
        origin: crate::storage::ClientOrigin::Registered,
        issued_at: 0,
        expires_at: None,
    }))
    .unwrap();
    assert!(run(store.delete_client("c", 1)).unwrap());
    assert_eq!(run(store.stats(1)).unwrap().token_count, 0);
    assert!(store.each_shard().all(|shard| shard.records() == 0), "the cascade reached every shard");
}

#[test]
fn sweep_visits_every_shard() {
    let store = store_with_grants();
    assert_eq!(run(store.sweep(500)).unwrap(), GRANTS as u64, "the access tokens expired");
    assert_eq!(run(store.sweep(1000)).unwrap(), GRANTS as u64, "then the grants");
    assert!(store.each_shard().all(|shard| shard.records() == 0));
}
