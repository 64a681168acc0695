//! The conformance suite on `RedisStorage` over a Redis Cluster: three
//! masters on free loopback ports, formed with `redis-cli --cluster create`
//! by this test process (`REDIS_CLUSTER_NODES=host:port,…` points the tests at
//! an existing cluster instead). Each test uses its own key prefix.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

use simply_mcp_oauth::storage::{RedisConfig, RedisStorage, Storage};

use common::redis_server::RedisCluster;
use simply_mcp_oauth::testing::fixtures::*;

/// Seed nodes, and the cluster when this process started it.
static CLUSTER: LazyLock<(Vec<String>, Option<RedisCluster>)> =
    LazyLock::new(|| match std::env::var("REDIS_CLUSTER_NODES") {
        Ok(nodes) => (nodes.split(',').map(|n| n.trim().to_string()).collect(), None),
        Err(_) => {
            let cluster = RedisCluster::start();
            let nodes = cluster.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port())).collect();
            (nodes, Some(cluster))
        }
    });

fn config() -> RedisConfig {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    RedisConfig {
        cluster_nodes: CLUSTER.0.clone(),
        key_prefix: format!("cluster:{}:{}:", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)),
        ..RedisConfig::default()
    }
}

async fn make() -> RedisStorage {
    RedisStorage::connect(config()).await.expect("connect to the test cluster")
}

/// Every key of the store's prefix with its value, node by node (a key lives
/// on the master that serves its slot, so plain connections read it there).
async fn dump(storage: &RedisStorage) -> String {
    let mut lines = Vec::new();
    for node in &CLUSTER.0 {
        let client = redis::Client::open(format!("redis://{node}")).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        let role: String = redis::cmd("ROLE").query_async::<Vec<redis::Value>>(&mut c).await.map_or_else(
            |_| "master".into(),
            |v| redis::from_redis_value(v.into_iter().next().unwrap()).unwrap(),
        );
        if role != "master" {
            continue;
        }
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", storage.key_prefix()))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut c)
                .await
                .unwrap();
            for key in keys {
                let kind: String = redis::cmd("TYPE").arg(&key).query_async(&mut c).await.unwrap();
                let value = match kind.as_str() {
                    "string" => redis::cmd("GET").arg(&key).query_async::<String>(&mut c).await.unwrap(),
                    "set" => {
                        let mut members: Vec<String> =
                            redis::cmd("SMEMBERS").arg(&key).query_async(&mut c).await.unwrap();
                        members.sort();
                        members.join(",")
                    }
                    other => format!("<{other}>"),
                };
                lines.push(format!("{key} = {value}"));
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    lines.sort();
    lines.join("\n")
}

simply_mcp_oauth::conformance_suite!(make = make, dump = dump);

/// The keys of one grant share a slot; the indexes and clients spread over the
/// cluster, so the cross-slot paths (one command per key, `SCAN` on every
/// master) are exercised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_keys_share_a_slot_and_the_rest_spreads() {
    let s = make().await;
    let prefix = s.key_prefix().to_string();
    for i in 0..30 {
        s.put_client(client(&format!("c{i}"))).await.unwrap();
    }
    redeemed(&s).await;
    let client = redis::Client::open(format!("redis://{}", CLUSTER.0[0])).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let slot = |key: String| {
        let mut c = c.clone();
        async move { redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).query_async::<u64>(&mut c).await.unwrap() }
    };
    let grant_slot = slot(format!("{prefix}{{g1}}:grant")).await;
    let access_slot = slot(format!("{prefix}{{g1}}:at:{}", digest("at:first").to_hex())).await;
    assert_eq!(grant_slot, access_slot, "one hash tag per grant");
    let mut slots = std::collections::BTreeSet::new();
    for i in 0..30 {
        slots.insert(slot(format!("{prefix}client:c{i}")).await);
    }
    assert!(slots.len() > 3, "clients spread over slots");
    let stats = s.stats(T0).await.unwrap();
    assert_eq!((stats.client_count, stats.token_count, stats.refresh_token_count), (30, 1, 1));
    assert_eq!(s.list_clients().await.unwrap().len(), 30);
    let _: () = redis::cmd("PING").query_async(&mut c).await.unwrap();
}

/// On a cluster the scripts cannot reach the index sets and the counted
/// records (other slots): the store writes them after each script, with the
/// same outcome as on one server (tests/redis_counts.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_sets_expire_and_counts_share_one_slot() {
    let s = make().await;
    let prefix = s.key_prefix().to_string();
    let nodes: Vec<String> = CLUSTER.0.iter().map(|node| format!("redis://{node}")).collect();
    let mut c = redis::cluster::ClusterClient::new(nodes).unwrap().get_async_connection().await.unwrap();
    let ttl = |key: String| {
        let mut c = c.clone();
        async move { redis::cmd("TTL").arg(key).query_async::<i64>(&mut c).await.unwrap() }
    };
    s.put_client(client("c1")).await.unwrap();
    s.put_grant(pending_grant("g1", "c1", "alice"), None, T0).await.unwrap();
    assert_eq!(ttl(format!("{prefix}subject:alice")).await, 600);
    assert_eq!(ttl(format!("{prefix}clientgrants:c1")).await, 600);
    let (code, expect) = (code_digest("g1"), expectation("c1"));
    s.consume_code("g1", &code, &expect, redemption("first", T0), T0).await.unwrap();
    assert_eq!(ttl(format!("{prefix}subject:alice")).await, 86_400, "as long as the redeemed grant");
    assert_eq!(ttl(format!("{prefix}clientgrants:c1")).await, 86_400);
    assert!(s.revoke_grant("g1").await.unwrap());
    s.put_grant(pending_grant("g2", "c1", "bob"), None, T0).await.unwrap();
    let ids: Vec<String> =
        redis::cmd("SMEMBERS").arg(format!("{prefix}clientgrants:c1")).query_async(&mut c).await.unwrap();
    assert_eq!(ids, ["g2"], "the revoked grant's id was pruned on write");
    let stats = s.stats(T0).await.unwrap();
    assert_eq!((stats.client_count, stats.token_count, stats.authorization_code_count), (1, 0, 1));
    let mut slots = std::collections::BTreeSet::new();
    for kind in ["clients", "access", "refresh", "codes"] {
        let key = format!("{prefix}{{stats}}:{kind}");
        slots.insert(redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).query_async::<u64>(&mut c).await.unwrap());
    }
    assert_eq!(slots.len(), 1, "stats() reads one slot");
}
