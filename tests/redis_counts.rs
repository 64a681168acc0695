//! What `/metrics` and `/health` cost and show on Redis, and the index sets'
//! lifetimes: `stats()` reads counters (never a `SCAN` or a `GET` per
//! record), counts right after records expire and are revoked, the
//! `subject:` / `clientgrants:` sets expire with their longest grant and are
//! pruned, and a health report names no address and no key prefix.

mod common;

use std::collections::{BTreeMap, HashMap};

use simply_mcp_oauth::storage::{CodeOutcome, RedisConfig, RedisStorage, Storage};

use common::redis_server::RedisServer;
use simply_mcp_oauth::testing::fixtures::*;

/// A store on a server of its own (the command counters see only this test).
async fn own_store(server: &RedisServer, prefix: &str) -> (RedisStorage, redis::aio::MultiplexedConnection) {
    let config = RedisConfig {
        key_prefix: prefix.to_string(),
        connection_timeout: 500,
        connection_retry_attempts: 1,
        ..RedisConfig::from_url(&server.url()).unwrap()
    };
    let storage = RedisStorage::connect(config).await.unwrap();
    let inspect =
        redis::Client::open(server.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    (storage, inspect)
}

/// `INFO commandstats` as command name -> calls.
async fn calls(connection: &mut redis::aio::MultiplexedConnection) -> HashMap<String, u64> {
    let info: String = redis::cmd("INFO").arg("commandstats").query_async(connection).await.unwrap();
    common::redis_server::command_calls(&info)
}

fn sent(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> BTreeMap<String, u64> {
    let mut delta: BTreeMap<String, u64> = after
        .iter()
        .map(|(name, n)| (name.clone(), n - before.get(name).copied().unwrap_or(0)))
        .filter(|(name, n)| *n > 0 && name != "info")
        .collect();
    delta.retain(|_, n| *n > 0);
    delta
}

fn counts(stats: &simply_mcp_oauth::storage::StorageStats) -> (u64, u64, u64, u64) {
    (stats.client_count, stats.token_count, stats.refresh_token_count, stats.authorization_code_count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_read_four_counters_whatever_the_store_holds() {
    let server = RedisServer::start();
    let (s, mut inspect) = own_store(&server, "counted:").await;
    for i in 0..40 {
        s.put_client(client(&format!("c{i}"))).await.unwrap();
        let grant = format!("g{i}");
        s.put_grant(pending_grant(&grant, "c0", "alice"), None, T0).await.unwrap();
        if i % 2 == 0 {
            let label = format!("first{i}");
            let (code, expect) = (code_digest(&grant), expectation("c0"));
            let outcome = s.consume_code(&grant, &code, &expect, redemption(&label, T0), T0).await.unwrap();
            assert!(matches!(outcome, CodeOutcome::Redeemed(..)));
        }
    }
    let before = calls(&mut inspect).await;
    let stats = s.stats(T0).await.unwrap();
    let after = calls(&mut inspect).await;
    assert_eq!(counts(&stats), (40, 20, 20, 20));
    assert_eq!(
        sent(&before, &after),
        BTreeMap::from([("zcount".to_string(), 4)]),
        "one ZCOUNT per kind of record: no SCAN, no GET of each record"
    );

    // Expiry needs no write: the counts follow `now` (codes die at T0 + 600,
    // access tokens at T0 + 3600), and a sweep drops the dead members.
    assert_eq!(counts(&s.stats(T0 + 600).await.unwrap()), (40, 20, 20, 0));
    assert_eq!(counts(&s.stats(T0 + 3600).await.unwrap()), (40, 0, 20, 0));
    s.sweep(T0 + 3600).await.unwrap();
    let members: u64 =
        redis::cmd("ZCARD").arg("counted:{stats}:access").query_async(&mut inspect).await.unwrap();
    assert_eq!(members, 0, "the sweep pruned the expired tokens");

    // Revocation and deletion leave the counts at once.
    assert!(s.revoke_grant("g0").await.unwrap());
    assert!(s.delete_client("c39", T0).await.unwrap());
    assert_eq!(counts(&s.stats(T0 + 3600).await.unwrap()), (39, 0, 19, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_counts_what_was_stored_before_the_counters() {
    let server = RedisServer::start();
    let (s, mut inspect) = own_store(&server, "upgraded:").await;
    let _ = redeemed(&s).await;
    s.put_grant(pending_grant("g2", "c1", "bob"), None, T0).await.unwrap();
    s.put_client(simply_mcp_oauth::storage::ClientRecord { expires_at: Some(T0 + 60), ..client("c2") })
        .await
        .unwrap();
    let expected = counts(&s.stats(T0).await.unwrap());
    assert_eq!(expected, (2, 1, 1, 1));
    // As a store written by a version without the counters.
    for kind in ["clients", "access", "refresh", "codes"] {
        let _: () = redis::cmd("DEL")
            .arg(format!("upgraded:{{stats}}:{kind}"))
            .query_async(&mut inspect)
            .await
            .unwrap();
    }
    assert_eq!(counts(&s.stats(T0).await.unwrap()), (0, 0, 0, 0));
    assert_eq!(counts(&s.rebuild_counts(T0).await.unwrap()), expected);
    assert_eq!(counts(&s.rebuild_counts(T0).await.unwrap()), expected, "running it again changes nothing");
    assert_eq!(counts(&s.stats(T0 + 61).await.unwrap()), (1, 1, 1, 1), "the registration expired");
}

async fn ttl(connection: &mut redis::aio::MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("TTL").arg(key).query_async(connection).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_sets_live_as_long_as_their_longest_grant_and_are_pruned() {
    let server = RedisServer::start();
    let (s, mut inspect) = own_store(&server, "idx:").await;
    s.put_client(client("c1")).await.unwrap();
    s.put_grant(pending_grant("g1", "c1", "alice"), None, T0).await.unwrap();
    assert_eq!(ttl(&mut inspect, "idx:subject:alice").await, 600, "as long as the pending grant");
    assert_eq!(ttl(&mut inspect, "idx:clientgrants:c1").await, 600);
    let (code, expect) = (code_digest("g1"), expectation("c1"));
    let outcome = s.consume_code("g1", &code, &expect, redemption("first", T0), T0).await.unwrap();
    assert!(matches!(outcome, CodeOutcome::Redeemed(..)));
    assert_eq!(ttl(&mut inspect, "idx:subject:alice").await, 86_400, "as long as the redeemed grant");
    assert_eq!(ttl(&mut inspect, "idx:clientgrants:c1").await, 86_400);
    // A shorter grant never shortens them.
    s.put_grant(pending_grant("g2", "c1", "alice"), None, T0).await.unwrap();
    assert_eq!(ttl(&mut inspect, "idx:subject:alice").await, 86_400);

    // Pruned on write: a new grant of the client drops ids whose grant is gone.
    assert!(s.revoke_grant("g1").await.unwrap());
    assert!(s.revoke_grant("g2").await.unwrap());
    s.put_grant(pending_grant("g3", "c1", "bob"), None, T0).await.unwrap();
    let ids: Vec<String> =
        redis::cmd("SMEMBERS").arg("idx:clientgrants:c1").query_async(&mut inspect).await.unwrap();
    assert_eq!(ids, ["g3"], "both dead ids were among the three drawn");
    s.put_grant(pending_grant("g4", "c1", "bob"), None, T0).await.unwrap();
    s.put_grant(pending_grant("g5", "c1", "bob"), None, T0).await.unwrap();
    let mut ids: Vec<String> =
        redis::cmd("SMEMBERS").arg("idx:clientgrants:c1").query_async(&mut inspect).await.unwrap();
    ids.sort();
    assert_eq!(ids, ["g3", "g4", "g5"], "the revoked grants' ids are gone");
    // Pruned on read: the subject's index loses the revoked ids when listed.
    assert!(s.list_grants("alice", T0).await.unwrap().is_empty());
    let left: u64 = redis::cmd("SCARD").arg("idx:subject:alice").query_async(&mut inspect).await.unwrap();
    assert_eq!(left, 0);
    // An index set from before this version (no TTL) gets one on the next grant.
    let _: () =
        redis::cmd("SADD").arg("idx:subject:carol").arg("old").query_async(&mut inspect).await.unwrap();
    assert_eq!(ttl(&mut inspect, "idx:subject:carol").await, -1);
    s.put_grant(pending_grant("g6", "c1", "carol"), None, T0).await.unwrap();
    assert_eq!(ttl(&mut inspect, "idx:subject:carol").await, 600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_names_no_address_and_no_key_prefix() {
    let mut server = RedisServer::start();
    let (s, _) = own_store(&server, "hidden-prefix:").await;
    let port = server.port().to_string();
    let up = serde_json::to_string(&s.health().await).unwrap();
    assert!(up.contains("\"healthy\":true"), "{up}");
    server.stop();
    let down = serde_json::to_string(&s.health().await).unwrap();
    assert!(down.contains("\"healthy\":false") && down.contains("storage unavailable"), "{down}");
    for report in [&up, &down] {
        for secret in ["127.0.0.1", &port, "hidden-prefix"] {
            assert!(!report.contains(secret), "{secret} in {report}");
        }
    }
}
