//! `ShardedStorage` over in-process shards, the shape of the Durable Object
//! deployment: each shard an atomic `KvStorage` whose calls yield like real
//! I/O, reached through a transport that encodes every operation as the
//! Worker does. The conformance suite runs on it (its races included), then
//! what sharding promises: one message per token-endpoint operation, to the
//! grant's own shard; grants spread over every shard; a shard that fails is a
//! 503 and changes nothing elsewhere.
// Native only (tokio); tests/wasm_kv_storage.rs runs the suite in wasm.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use common::kv_hosts::MapHost;
use simply_mcp_oauth::storage::*;
use simply_mcp_oauth::testing::fixtures::*;

/// `n` shards, each an atomic map behind `execute`, as a Durable Object is.
#[derive(Clone)]
struct LocalShards(Arc<Inner>);

struct Inner {
    shards: Vec<KvStorage<MapHost>>,
    sent: Vec<AtomicU64>,
    down: AtomicBool,
}

impl LocalShards {
    fn new(n: u32) -> Self {
        let shards = (0..n).map(|_| KvStorage::with_default_prefix(MapHost::atomic_yielding())).collect();
        let sent = (0..n).map(|_| AtomicU64::new(0)).collect();
        Self(Arc::new(Inner { shards, sent, down: AtomicBool::new(false) }))
    }

    /// Messages sent to each shard since the last call.
    fn take_sent(&self) -> Vec<u64> {
        self.0.sent.iter().map(|c| c.swap(0, Ordering::SeqCst)).collect()
    }
}

#[async_trait::async_trait]
impl ShardTransport for LocalShards {
    fn shard_count(&self) -> u32 {
        self.0.shards.len() as u32
    }

    async fn send(&self, shard: u32, request: String) -> Result<String, StorageError> {
        self.0.sent[shard as usize].fetch_add(1, Ordering::SeqCst);
        if self.0.down.load(Ordering::SeqCst) {
            return Err(StorageError::Unavailable(format!("shard {shard} is overloaded")));
        }
        Ok(execute(&self.0.shards[shard as usize], &request).await)
    }
}

async fn dump(storage: &ShardedStorage<LocalShards>) -> String {
    storage.transport().0.shards.iter().map(|s| s.host().dump()).collect()
}

mod four_shards {
    use super::*;

    async fn make() -> ShardedStorage<LocalShards> {
        ShardedStorage::new(LocalShards::new(4))
    }

    simply_mcp_oauth::conformance_suite!(make = make, dump = dump);
}

mod one_shard {
    use super::*;

    async fn make() -> ShardedStorage<LocalShards> {
        ShardedStorage::new(LocalShards::new(1))
    }

    simply_mcp_oauth::conformance_suite!(make = make, dump = dump);
}

#[tokio::test]
async fn each_token_operation_is_one_message_to_the_grants_shard() {
    let shards = LocalShards::new(8);
    let s = ShardedStorage::new(shards.clone());
    s.put_client(client("c1")).await.unwrap();
    shards.take_sent();
    let home = s.shard_of_grant("g1") as usize;
    let only_home = |sent: Vec<u64>, step: &str| {
        let expected: Vec<u64> = (0..8).map(|i| u64::from(i == home)).collect();
        assert_eq!(sent, expected, "{step}: one message, to shard {home}");
    };
    s.put_grant(pending_grant("g1", "c1", "alice"), None, T0).await.unwrap();
    only_home(shards.take_sent(), "authorize");
    let (code, expect) = (code_digest("g1"), expectation("c1"));
    let outcome = s.consume_code("g1", &code, &expect, redemption("first", T0), T0).await.unwrap();
    assert!(matches!(outcome, CodeOutcome::Redeemed(..)));
    only_home(shards.take_sent(), "exchange");
    assert!(s.get_access("g1", &digest("at:first"), T0).await.unwrap().is_some());
    only_home(shards.take_sent(), "verify");
    let outcome =
        s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation("second", T0), T0).await.unwrap();
    assert!(matches!(outcome, RotateOutcome::Rotated(..)));
    only_home(shards.take_sent(), "refresh");
    assert!(s.revoke_token("g1", "c1", &digest("rt:second"), T0).await.unwrap().is_some());
    only_home(shards.take_sent(), "revoke");
    // Inside the shard, the transitions are the two host calls of KvStorage.
    let host = &shards.0.shards[home];
    assert!(host.host().calls().get("commit").is_some_and(|n| *n >= 4));
}

#[tokio::test]
async fn grants_spread_over_every_shard_and_listings_reach_them_all() {
    let shards = LocalShards::new(8);
    let s = ShardedStorage::new(shards.clone());
    s.put_client(client("c1")).await.unwrap();
    for i in 0..200 {
        s.put_grant(pending_grant(&format!("g{i}"), "c1", "alice"), None, T0).await.unwrap();
    }
    let per_shard: Vec<usize> = shards
        .0
        .shards
        .iter()
        .map(|shard| shard.host().keys().iter().filter(|k| k.ends_with(":grant")).count())
        .collect();
    assert!(per_shard.iter().all(|n| *n >= 10), "200 grants over 8 shards: {per_shard:?}");
    assert_eq!(s.list_grants("alice", T0).await.unwrap().len(), 200);
    assert_eq!(s.stats(T0).await.unwrap().authorization_code_count, 200);
    assert!(s.delete_client("c1", T0).await.unwrap());
    assert!(s.list_grants("alice", T0).await.unwrap().is_empty(), "the cascade reached every shard");
    assert_eq!(s.list_clients().await.unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn a_shard_that_fails_is_unavailable_and_nothing_is_half_written() {
    let shards = LocalShards::new(4);
    let s = ShardedStorage::new(shards.clone());
    redeemed(&s).await;
    shards.0.down.store(true, Ordering::SeqCst);
    let err = s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation("x", T0), T0).await.unwrap_err();
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
    let health = s.health().await;
    assert!(!health.healthy);
    assert_eq!(health.components["shards"], "4");
    shards.0.down.store(false, Ordering::SeqCst);
    let outcome = s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation("x", T0), T0).await.unwrap();
    assert!(matches!(outcome, RotateOutcome::Rotated(..)), "the failed call changed nothing");
    assert!(s.health().await.healthy);
}

#[tokio::test]
async fn a_shard_answers_a_malformed_request_with_an_error_not_a_panic() {
    let shard = KvStorage::with_default_prefix(MapHost::atomic());
    for request in ["", "{", r#"{"op":"nope"}"#, r#"{"op":"get_grant"}"#, "[1,2]"] {
        let reply = execute(&shard, request).await;
        assert!(
            reply.contains("configuration") && reply.contains("not a storage operation"),
            "{request}: {reply}"
        );
    }
}

#[test]
fn every_operation_reads_back_as_it_was_written() {
    let grant = pending_grant("g1", "c1", "alice");
    let access = NewAccess {
        digest: digest("at:1"),
        record: grant.access_record(&["mcp".to_string()], T0, T0 + 3600),
    };
    let mut narrowed = rotation("x", T0);
    narrowed.scopes = Some(vec!["mcp".into(), String::new(), "with \"quotes\" and ünïcode".into()]);
    narrowed.resource = Some(RESOURCE.into());
    let ops = [
        StorageOp::PutClient(client("c1")),
        StorageOp::GetClient("c1".into()),
        StorageOp::DeleteClient("c1".into(), T0),
        StorageOp::ListClients,
        StorageOp::PutGrant(grant.clone(), Some(access), T0),
        StorageOp::PutGrant(grant, None, T0),
        StorageOp::GetGrant("g1".into(), T0),
        StorageOp::ConsumeCode("g1".into(), code_digest("g1"), expectation("c1"), redemption("a", T0), T0),
        StorageOp::GetAccess("g1".into(), digest("at:1"), u64::MAX),
        StorageOp::RotateRefresh("g1".into(), "c1".into(), digest("rt"), rotation("y", T0), T0),
        StorageOp::RotateRefresh("g1".into(), "c1".into(), digest("rt"), narrowed, T0),
        StorageOp::RevokeGrant("g1".into()),
        StorageOp::RevokeToken("g1".into(), "c1".into(), digest("at:1"), T0),
        StorageOp::ListGrants("alice".into(), T0),
        StorageOp::Stats(T0),
        StorageOp::Health,
        StorageOp::Sweep(0),
    ];
    for op in ops {
        assert_eq!(StorageOp::decode(&op.encode()), Ok(op.clone()), "{}", op.encode());
    }
}

#[test]
fn a_damaged_operation_is_refused_with_a_reason() {
    let whole =
        StorageOp::RotateRefresh("g1".into(), "c1".into(), digest("rt"), rotation("y", T0), T0).encode();
    let items: Vec<String> = serde_json::from_str(&whole).unwrap();
    for cut in 0..items.len() {
        let shorter = serde_json::to_string(&items[..cut]).unwrap();
        assert!(StorageOp::decode(&shorter).is_err(), "{shorter}");
    }
    let mut longer = items.clone();
    longer.push("extra".into());
    assert!(StorageOp::decode(&serde_json::to_string(&longer).unwrap()).unwrap_err().contains("more than"));
    let mut scoped = rotation("y", T0);
    scoped.scopes = Some(vec!["mcp".into()]);
    let scoped = StorageOp::RotateRefresh("g1".into(), "c1".into(), digest("rt"), scoped, T0).encode();
    let lying = scoped.replace(r#""+","1","mcp""#, r#""+","4000000000","mcp""#);
    assert_ne!(lying, scoped);
    assert_eq!(StorageOp::decode(&lying), Err("a list is longer than the message".into()));
    let mut bad_digest = items;
    bad_digest[3] = "not hex".into();
    assert_eq!(StorageOp::decode(&serde_json::to_string(&bad_digest).unwrap()), Err("not a digest".into()));
}
