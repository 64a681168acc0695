//! `RedisStorage` on a Redis Cluster over TLS (`rediss+cluster://`): three
//! masters on loopback that speak only TLS, also between themselves
//! (`--tls-cluster yes`), with a CA and certificates this test makes.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use simply_mcp_oauth::storage::{RedisConfig, RedisStorage, Storage, StorageError};

use common::redis_server::{RedisCluster, TestPki};
use simply_mcp_oauth::testing::fixtures::*;

fn config(cluster: &RedisCluster, ca: String) -> RedisConfig {
    let url = format!("rediss+cluster://127.0.0.1:{}", cluster.nodes[0].port());
    RedisConfig {
        key_prefix: format!("tls-cluster:{}:", std::process::id()),
        tls_ca_file: Some(ca.into()),
        connection_retry_attempts: 2,
        connection_retry_delay: 50,
        connection_timeout: 3000,
        ..RedisConfig::from_url(&url).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_over_tls_serves_the_store_and_refuses_a_wrong_ca() {
    let pki = TestPki::new();
    let cluster = RedisCluster::start_tls(&pki);
    let c = config(&cluster, pki.path("ca.pem"));
    assert!(c.tls && c.cluster_nodes.len() == 1, "{c:?}");
    let s = RedisStorage::connect(c.clone()).await.expect("the cluster over TLS");
    for i in 0..30 {
        s.put_client(client(&format!("c{i}"))).await.unwrap();
    }
    redeemed(&s).await;
    // Cross-slot paths: one command per key, and SCAN on every master (over TLS).
    let stats = s.stats(T0).await.unwrap();
    assert_eq!((stats.client_count, stats.token_count, stats.refresh_token_count), (30, 1, 1));
    assert_eq!(s.list_clients().await.unwrap().len(), 30);

    let wrong = RedisConfig { tls_ca_file: Some(pki.path("other-ca.pem").into()), ..c };
    let error = RedisStorage::connect(wrong).await.expect_err("a wrong CA");
    assert!(matches!(error, StorageError::Configuration(_)), "{error}");
    assert!(error.to_string().contains("certificate not signed by the configured CA"), "{error}");
}
