//! `RedisStorage` under faults and races, through the provider and the HTTP
//! layer: Redis killed mid-run and restarted (same instances recover),
//! restarts of the provider, 200-way races over several connections and
//! provider instances, and a scan of the whole server for secrets.
//!
//! Every test starts a `redis-server` of its own (killing one must not
//! disturb the others); every await that could hang is bounded.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use simply_mcp_oauth::http::OAuthHttp;
use simply_mcp_oauth::storage::{RedisConfig, RedisStorage, Storage, StorageError};
use simply_mcp_oauth::{ErrorCode, Provider};

use common::redis_server::RedisServer;
use simply_mcp_oauth::testing::flows::{self, confidential, CALLBACK, VERIFIER};

/// The bound on every command of the fault tests: short, so that a dead
/// Redis is noticed quickly.
const TIMEOUT_MS: u64 = 500;
/// The bound on every command of the race tests: 200 concurrent scripts on
/// a loaded 2-core machine can queue for longer than [`TIMEOUT_MS`], and a
/// race test must count wins, not measure latency.
const RACE_TIMEOUT_MS: u64 = 20_000;
/// No await may take longer than this (a hang fails the test, never blocks it).
const NO_HANG: Duration = Duration::from_secs(30);

fn config(server: &RedisServer, prefix: &str) -> RedisConfig {
    config_with_timeout(server, prefix, TIMEOUT_MS)
}

fn config_with_timeout(server: &RedisServer, prefix: &str, timeout_ms: u64) -> RedisConfig {
    RedisConfig {
        key_prefix: prefix.into(),
        connection_timeout: timeout_ms,
        connection_retry_attempts: 3,
        connection_retry_delay: 50,
        max_retry_delay: 200,
        ..RedisConfig::from_url(&server.url()).unwrap()
    }
}

async fn connect(server: &RedisServer, prefix: &str) -> RedisStorage {
    bounded(RedisStorage::connect(config(server, prefix))).await.expect("connect")
}

async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(NO_HANG, future).await.expect("an operation hung")
}

/// Runs `op` against a dead Redis: it fails within 5x the connection timeout.
async fn fails_fast<T: std::fmt::Debug>(what: &str, op: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let result = bounded(op).await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(5 * TIMEOUT_MS), "{what} took {took:?} with Redis down");
    result
}

fn refresh_request(refresh_token: &str) -> http::Request<Bytes> {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", "my-client"),
            ("client_secret", "my-secret"),
        ])
        .finish();
    http::Request::builder()
        .method("POST")
        .uri(format!("{}/token", flows::ISSUER))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(body))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_then_back_the_same_instances_recover() {
    let mut redis = RedisServer::start_persistent();
    let storage = Arc::new(connect(&redis, "fault:").await);
    let (provider, _clock) = flows::provider(Arc::clone(&storage)).await;
    let oauth = OAuthHttp::new(provider);
    let p = oauth.provider();
    let t = bounded(flows::tokens(p)).await;
    let refresh = t.refresh_token.clone().unwrap();

    redis.stop();
    let err = fails_fast("get_client", storage.get_client("my-client")).await.unwrap_err();
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
    let err = fails_fast("verify", p.verify_access_token(&t.access_token)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::TemporarilyUnavailable, "{err:?}");
    let err = fails_fast("refresh", p.exchange_refresh_token(&confidential(), &refresh, None, None))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::TemporarilyUnavailable, "{err:?}");
    let response = fails_fast("POST /token", oauth.handle(refresh_request(&refresh))).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key(http::header::RETRY_AFTER), "{response:?}");
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    let health = fails_fast("health", storage.health()).await;
    assert!(!health.healthy && !health.errors.is_empty(), "{health:?}");
    assert!(!fails_fast("provider health", p.health_check()).await.healthy);

    // Back on the same port, with its data: the same instances serve again.
    redis.restart();
    let deadline = Instant::now() + NO_HANG;
    while !bounded(storage.health()).await.healthy {
        assert!(Instant::now() < deadline, "the connection did not come back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let auth = bounded(p.verify_access_token(&t.access_token)).await.expect("the old token is still valid");
    assert_eq!(auth.client_id, "my-client");
    let response = bounded(oauth.handle(refresh_request(&refresh))).await;
    assert_eq!(response.status(), 200, "{:?}", String::from_utf8_lossy(response.body()));
    let fresh = bounded(flows::tokens(p)).await;
    bounded(p.verify_access_token(&fresh.access_token)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_restarted_on_a_populated_redis_works() {
    let redis = RedisServer::start();
    let (first, _) = flows::provider(connect(&redis, "restart:").await).await;
    let t = bounded(flows::tokens(&first)).await;
    let registered = bounded(first.register_client(simply_mcp_oauth::provider::ClientMetadata {
        redirect_uris: vec!["https://app.example/cb".into()],
        ..Default::default()
    }))
    .await
    .unwrap();
    let clients = bounded(first.storage().list_clients()).await.unwrap();
    first.storage().disconnect();
    drop(first);

    // A new process: a new connection, initialize over the stored clients (twice).
    let storage = connect(&redis, "restart:").await;
    let clock = simply_mcp_oauth::clock::FakeClock::at(simply_mcp_oauth::testing::fixtures::T0);
    let second = Provider::new(flows::config(), storage).unwrap().with_clock(clock);
    bounded(second.initialize()).await.expect("initialize is idempotent");
    bounded(second.initialize()).await.expect("and may run again");
    assert_eq!(bounded(second.storage().list_clients()).await.unwrap(), clients);
    bounded(second.verify_access_token(&t.access_token)).await.expect("tokens survive the restart");
    let registered_client = bounded(second.storage().get_client(&registered.client_id)).await.unwrap();
    assert!(registered_client.is_some(), "a registered client survives the restart");
    let refreshed = bounded(second.exchange_refresh_token(
        &confidential(),
        t.refresh_token.as_deref().unwrap(),
        None,
        None,
    ))
    .await
    .expect("the refresh token survives the restart");
    assert!(refreshed.refresh_token.is_some());
}

/// Providers over separate connections (one `RedisStorage::connect` each) on one prefix.
async fn providers(redis: &RedisServer, prefix: &str, n: usize) -> Vec<Arc<Provider<RedisStorage>>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let storage = bounded(RedisStorage::connect(config_with_timeout(redis, prefix, RACE_TIMEOUT_MS)))
            .await
            .expect("connect");
        let (provider, _) = flows::provider(storage).await;
        out.push(Arc::new(provider));
    }
    out
}

/// Racers: how many tasks and how many provider instances (each its own connection).
const RACERS: usize = 200;
const INSTANCES: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_200_exchanges_of_a_code_wins_across_connections_and_instances() {
    let redis = RedisServer::start();
    let ps = providers(&redis, "race:", INSTANCES).await;
    let code = bounded(flows::authorize(&ps[0], "my-client", CALLBACK, &[])).await;
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let (p, code) = (Arc::clone(&ps[i % INSTANCES]), code.clone());
            tokio::spawn(async move {
                p.exchange_authorization_code(&confidential(), &code, CALLBACK, VERIFIER, None).await
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        match bounded(task).await.expect("no panic") {
            Ok(_) => wins += 1,
            Err(e) => assert_eq!(e.code, ErrorCode::InvalidGrant, "{e:?}"),
        }
    }
    assert_eq!(wins, 1, "exactly one exchange succeeds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_200_refreshes_rotates_and_every_success_gets_the_same_successor() {
    let redis = RedisServer::start();
    let ps = providers(&redis, "race:", INSTANCES).await;
    let t = bounded(flows::tokens(&ps[0])).await;
    let refresh = t.refresh_token.unwrap();
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let (p, refresh) = (Arc::clone(&ps[i % INSTANCES]), refresh.clone());
            tokio::spawn(async move { p.exchange_refresh_token(&confidential(), &refresh, None, None).await })
        })
        .collect();
    let mut successors = std::collections::BTreeSet::new();
    let mut accesses = Vec::new();
    for task in tasks {
        let answer = bounded(task).await.expect("no panic").expect("the retry answer is a success");
        successors.insert(answer.refresh_token.unwrap());
        accesses.push(answer.access_token);
    }
    assert_eq!(successors.len(), 1, "every success names the one successor");
    let grant_id = refresh.split_once('.').expect("<grant id>.<secret>").0;
    let grant =
        bounded(ps[1].storage().get_grant(grant_id, simply_mcp_oauth::testing::fixtures::T0)).await.unwrap();
    let chain = grant.expect("the grant is not revoked").refresh.unwrap();
    assert_eq!(chain.generation, 1, "exactly one rotation");
    for access in accesses.iter().step_by(37) {
        bounded(ps[2].verify_access_token(access)).await.expect("every issued access token is valid");
    }
    let successor = successors.into_iter().next().unwrap();
    let next = bounded(ps[3].exchange_refresh_token(&confidential(), &successor, None, None)).await;
    assert!(next.is_ok(), "the successor rotates on: {next:?}");
}

/// Every key and value on the server (`SCAN` without a pattern), as text.
async fn dump_everything(url: &str) -> String {
    let client = redis::Client::open(url).unwrap();
    let mut c = bounded(client.get_multiplexed_async_connection()).await.unwrap();
    let (mut cursor, mut out) = (0u64, String::new());
    loop {
        let (next, keys): (u64, Vec<String>) =
            bounded(redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(1000).query_async(&mut c)).await.unwrap();
        for key in keys {
            let kind: String = bounded(redis::cmd("TYPE").arg(&key).query_async(&mut c)).await.unwrap();
            let value: Vec<String> = match kind.as_str() {
                "string" => vec![bounded(redis::cmd("GET").arg(&key).query_async(&mut c)).await.unwrap()],
                "set" => bounded(redis::cmd("SMEMBERS").arg(&key).query_async(&mut c)).await.unwrap(),
                "zset" => {
                    bounded(redis::cmd("ZRANGE").arg(&key).arg(0).arg(-1).query_async(&mut c)).await.unwrap()
                }
                "hash" => bounded(redis::cmd("HGETALL").arg(&key).query_async(&mut c)).await.unwrap(),
                "list" => {
                    bounded(redis::cmd("LRANGE").arg(&key).arg(0).arg(-1).query_async(&mut c)).await.unwrap()
                }
                other => panic!("unexpected {other} at {key}"),
            };
            out.push_str(&format!("{key} = {}\n", value.join(",")));
        }
        if next == 0 {
            return out;
        }
        cursor = next;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_anywhere_on_the_server_after_full_flows() {
    let redis = RedisServer::start();
    let mut secrets = Vec::new();
    for prefix in ["oauth:", "other:"] {
        let (provider, mut handed_out) = bounded(
            simply_mcp_oauth::testing::secrets::full_flow_collecting_secrets(connect(&redis, prefix).await),
        )
        .await;
        secrets.append(&mut handed_out);
        drop(provider);
    }
    let dump = dump_everything(&redis.url()).await;
    assert!(dump.contains("oauth:{") && dump.contains("other:{"), "both prefixes were written:\n{dump}");
    for secret in &secrets {
        assert!(!dump.contains(secret.as_str()), "a secret is stored in clear");
        let tail = secret.split_once('.').map_or(secret.as_str(), |(_, tail)| tail);
        assert!(!dump.contains(tail), "the secret part of a token is stored in clear");
    }
}
