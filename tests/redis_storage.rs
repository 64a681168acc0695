//! The conformance suite on `RedisStorage`, against a real `redis-server` that
//! this test process starts once (binary from PATH; `REDIS_URL` points the
//! tests at an existing server instead). Each test uses its own key prefix, so
//! the tests share the server and run in parallel.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use simply_mcp_oauth::storage::{RedisConfig, RedisStorage, Storage, StorageError};

use common::redis_server::{free_port, shared_url, RedisServer};
use simply_mcp_oauth::testing::fixtures::*;

fn unique_prefix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("test:{}:{}:", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

fn config() -> RedisConfig {
    RedisConfig { key_prefix: unique_prefix(), ..RedisConfig::from_url(shared_url()).unwrap() }
}

async fn make() -> RedisStorage {
    RedisStorage::connect(config()).await.expect("connect to the test redis-server")
}

/// A plain connection for inspecting what the store wrote.
async fn raw() -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(shared_url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// Every key of the store's prefix with its value (strings and sets), as text.
async fn dump(storage: &RedisStorage) -> String {
    let mut connection = raw().await;
    let pattern = format!("{}*", storage.key_prefix());
    let mut keys: Vec<String> = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await
            .unwrap();
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    common::redis_server::dump_keys(&mut connection, keys).await
}

simply_mcp_oauth::conformance_suite!(make = make, dump = dump);

async fn ttl_of(key: &str) -> i64 {
    redis::cmd("TTL").arg(key).query_async(&mut raw().await).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_ttls_equal_the_lifetimes() {
    let s = make().await;
    let prefix = s.key_prefix().to_string();
    s.put_grant(pending_grant("g1", "c1", "alice"), None, T0).await.unwrap();
    let grant_key = format!("{prefix}{{g1}}:grant");
    assert_eq!(ttl_of(&grant_key).await, 600, "a pending grant lives as long as its code");
    redeemed_again(&s).await;
    assert_eq!(ttl_of(&grant_key).await, 86_400, "a redeemed grant lives as long as its refresh token");
    let access_key = format!("{prefix}{{g1}}:at:{}", digest("at:first").to_hex());
    assert_eq!(ttl_of(&access_key).await, 3600);
    assert_eq!(ttl_of(&format!("{prefix}client:c1")).await, -1, "clients do not expire");
}

async fn redeemed_again(s: &RedisStorage) {
    s.put_client(client("c1")).await.unwrap();
    let outcome = s
        .consume_code("g1", &code_digest("g1"), &expectation("c1"), redemption("first", T0), T0)
        .await
        .unwrap();
    assert!(matches!(outcome, simply_mcp_oauth::storage::CodeOutcome::Redeemed(..)), "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_prefixes_share_nothing() {
    let (a, b) = (make().await, make().await);
    let _ = redeemed(&a).await;
    assert_eq!(b.get_client("c1").await.unwrap(), None);
    assert_eq!(b.get_grant("g1", T0).await.unwrap(), None);
    assert_eq!(b.get_access("g1", &digest("at:first"), T0).await.unwrap(), None);
    assert!(b.list_clients().await.unwrap().is_empty());
    assert!(b.list_grants("alice", T0).await.unwrap().is_empty());
    assert_eq!(b.stats(T0).await.unwrap().client_count, 0);
    assert!(!b.revoke_grant("g1").await.unwrap());
    b.put_grant(pending_grant("g1", "c1", "bob"), None, T0).await.expect("same grant id, other prefix");
    assert_eq!(a.get_grant("g1", T0).await.unwrap().unwrap().subject.as_deref(), Some("alice"));
}

/// `INFO commandstats` deltas: the client sends one command per operation
/// (`GET` to verify, one `EVALSHA` per transition). Redis also counts the
/// commands a script runs inside the server; they are listed exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_operation_within_its_command_budget() {
    // A server of its own: the other tests would disturb the counters.
    let server = RedisServer::start();
    let url = server.url();
    let s = RedisStorage::connect(RedisConfig::from_url(&url).unwrap()).await.unwrap();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut inspect = client.get_multiplexed_async_connection().await.unwrap();
    let calls = |mut c: redis::aio::MultiplexedConnection| async move {
        let info: String = redis::cmd("INFO").arg("commandstats").query_async(&mut c).await.unwrap();
        info.lines()
            .filter_map(|line| {
                let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
                let n: u64 = rest.split(',').find_map(|kv| kv.strip_prefix("calls="))?.parse().ok()?;
                Some((name.to_string(), n))
            })
            .collect::<std::collections::HashMap<String, u64>>()
    };
    // Warm the script cache so NOSCRIPT reloads do not count.
    s.put_client(client_record()).await.unwrap();
    s.put_grant(pending_grant("warm", "c1", "alice"), None, T0).await.unwrap();
    s.consume_code("warm", &code_digest("warm"), &expectation("c1"), redemption("w", T0), T0).await.unwrap();
    s.rotate_refresh("warm", "c1", &digest("rt:w"), rotation("w2", T0), T0).await.unwrap();
    s.revoke_grant("warm").await.unwrap();
    s.put_grant(pending_grant("g1", "c1", "alice"), None, T0).await.unwrap();

    let budget =
        |name: &'static str, delta: std::collections::HashMap<String, u64>, allowed: &[(&str, u64)]| {
            let mut delta = delta;
            if let Some(n) = delta.get_mut("info") {
                *n -= 1;
            }
            delta.retain(|_, v| *v > 0);
            let expected: std::collections::HashMap<String, u64> =
                allowed.iter().map(|(k, v)| (k.to_string(), *v)).collect();
            assert_eq!(delta, expected, "{name} sent other commands than its budget");
        };
    let measure = |before: std::collections::HashMap<String, u64>,
                   after: std::collections::HashMap<String, u64>| {
        after
            .into_iter()
            .map(|(k, v)| (k.clone(), v - before.get(&k).copied().unwrap_or(0)))
            .collect::<std::collections::HashMap<String, u64>>()
    };

    let before = calls(inspect.clone()).await;
    s.consume_code("g1", &code_digest("g1"), &expectation("c1"), redemption("first", T0), T0).await.unwrap();
    // Inside the script: GET the grant, SET it and SET the new access token;
    // then count them (ZREM of the code, ZADD of the refresh chain and the
    // access token: stats.rs) and index the grant (SADD, and TTL to see
    // whether each index must live longer).
    let in_step = [("zadd", 2), ("zrem", 1), ("sadd", 2), ("ttl", 2)];
    budget(
        "exchange",
        measure(before, calls(inspect.clone()).await),
        &[&[("evalsha", 1), ("get", 1), ("set", 2)][..], &in_step].concat(),
    );

    let before = calls(inspect.clone()).await;
    assert!(s.get_access("g1", &digest("at:first"), T0).await.unwrap().is_some());
    budget("verify", measure(before, calls(inspect.clone()).await), &[("get", 1)]);

    let before = calls(inspect.clone()).await;
    s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation("second", T0), T0).await.unwrap();
    budget(
        "refresh",
        measure(before, calls(inspect.clone()).await),
        &[&[("evalsha", 1), ("get", 1), ("set", 2)][..], &in_step].concat(),
    );

    let before = calls(inspect.clone()).await;
    assert!(s.revoke_grant("g1").await.unwrap());
    // Inside the script: GET the grant, DEL its two access tokens and itself,
    // and uncount them (ZREM of the two tokens, the code and the chain).
    budget(
        "revoke",
        measure(before, calls(inspect.clone()).await),
        &[("evalsha", 1), ("get", 1), ("del", 3), ("zrem", 4)],
    );

    let _: () = redis::cmd("PING").query_async(&mut inspect).await.unwrap();
    s.disconnect();
}

fn client_record() -> simply_mcp_oauth::storage::ClientRecord {
    client("c1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_is_idempotent_and_fails_fast() {
    let s = make().await;
    s.disconnect();
    s.disconnect();
    let err = s.get_client("c1").await.unwrap_err();
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
    let health = s.health().await;
    assert!(!health.healthy && !health.errors.is_empty(), "{health:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_errors_in_the_seeds_words() {
    let port = free_port();
    let config = RedisConfig {
        port,
        connection_retry_attempts: 3,
        connection_retry_delay: 10,
        max_retry_delay: 20,
        ..RedisConfig::default()
    };
    let started = Instant::now();
    let err = RedisStorage::connect(config).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
    assert!(text.contains("connection refused") && text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(started.elapsed() < Duration::from_secs(5), "retries stay within the limits");

    let mut wrong = config_with_password();
    wrong.connection_retry_attempts = 3;
    let err = RedisStorage::connect(wrong).await.unwrap_err();
    assert!(matches!(err, StorageError::Configuration(_)), "{err:?}");
    assert!(err.to_string().contains("NOAUTH") || err.to_string().contains("wrong password"), "{err}");
}

fn config_with_password() -> RedisConfig {
    RedisConfig { password: Some("not-the-password".into()), ..config() }
}

/// The scripts against the reference transitions: the same operations on
/// memory and on Redis give the same outcomes, props survive the Lua round
/// trip byte for byte, and the retired list keeps its bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_match_the_reference_transitions() {
    use simply_mcp_oauth::storage::{CodeOutcome, RotateOutcome, RETIRED_REFRESH_KEPT};
    use simply_mcp_oauth::MemoryStorage;

    let (redis, memory) = (make().await, MemoryStorage::new());
    let mut grant = pending_grant("g1", "c1", "alice");
    grant.scopes = vec![];
    let props = serde_json::json!({
        "empty": [], "object": {}, "big": 12_345_678_901_234_567u64, "text": "a/b \"q\" é", "f": 0.1
    });
    grant.props = props.as_object().unwrap().clone();
    for s in [&redis as &dyn Storage, &memory] {
        s.put_grant(grant.clone(), None, T0).await.unwrap();
    }
    let a = redis.consume_code("g1", &code_digest("g1"), &expectation("c1"), redemption("r0", T0), T0).await;
    let b = memory.consume_code("g1", &code_digest("g1"), &expectation("c1"), redemption("r0", T0), T0).await;
    assert_eq!(a, b);
    let Ok(CodeOutcome::Redeemed(g, access)) = a else { panic!("{a:?}") };
    assert_eq!(serde_json::Value::Object(g.props.clone()), props);
    assert_eq!(serde_json::Value::Object(access.props), props);

    let mut previous = "r0".to_string();
    for i in 1..=(RETIRED_REFRESH_KEPT + 4) {
        let t = T0 + i as u64;
        let label = format!("r{i}");
        let presented = digest(&format!("rt:{previous}"));
        let a = redis.rotate_refresh("g1", "c1", &presented, rotation(&label, t), t).await;
        let b = memory.rotate_refresh("g1", "c1", &presented, rotation(&label, t), t).await;
        assert_eq!(a, b, "rotation {i}");
        // A retry of the token just rotated away answers the same successor.
        let a = redis.rotate_refresh("g1", "c1", &presented, rotation("retry", t), t).await;
        let b = memory.rotate_refresh("g1", "c1", &presented, rotation("retry", t), t).await;
        assert_eq!(a, b, "retry {i}");
        assert!(matches!(a, Ok(RotateOutcome::Retried(..))), "{a:?}");
        previous = label;
    }
    let (a, b) = (redis.get_grant("g1", T0).await.unwrap(), memory.get_grant("g1", T0).await.unwrap());
    assert_eq!(a, b);
    assert_eq!(a.unwrap().refresh.unwrap().retired.len(), RETIRED_REFRESH_KEPT);
    // The oldest token fell off the retired list: unknown, not reuse.
    for (label, expected) in [("rt:r0", RotateOutcome::NotFound), ("rt:r5", RotateOutcome::Reused)] {
        let a = redis.rotate_refresh("g1", "c1", &digest(label), rotation("x", T0), T0).await;
        let b = memory.rotate_refresh("g1", "c1", &digest(label), rotation("x", T0), T0).await;
        assert_eq!(a, b, "{label}");
        assert_eq!(a.unwrap(), expected, "{label}");
    }
    assert_eq!(redis.get_grant("g1", T0).await.unwrap(), None, "rt:r5 was retired: reuse revoked the grant");
}

/// `INFO commandstats` as command name -> calls.
async fn command_calls(
    connection: &mut redis::aio::MultiplexedConnection,
) -> std::collections::HashMap<String, u64> {
    let info: String = redis::cmd("INFO").arg("commandstats").query_async(connection).await.unwrap();
    common::redis_server::command_calls(&info)
}

/// Commands between two `INFO commandstats` readings, without the second INFO.
fn commands_between(
    before: &std::collections::HashMap<String, u64>,
    after: &std::collections::HashMap<String, u64>,
) -> std::collections::BTreeMap<String, u64> {
    let mut delta: std::collections::BTreeMap<String, u64> = after
        .iter()
        .map(|(name, n)| (name.clone(), n - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    if let Some(info) = delta.get_mut("info") {
        *info -= 1;
    }
    delta.retain(|_, n| *n > 0);
    delta
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_operations_are_one_round_trip_each() {
    use simply_mcp_oauth::testing::flows::{
        authorize, confidential, config, provider_with, CALLBACK, VERIFIER,
    };
    let server = RedisServer::start();
    let url = server.url();
    let storage = RedisStorage::connect(RedisConfig::from_url(&url).unwrap()).await.unwrap();
    let (provider, _) = provider_with(storage, config()).await;
    let mut inspect =
        redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    // Warm the script cache and the client cache: the first use of each pays once.
    let code = authorize(&provider, "my-client", CALLBACK, &[]).await;
    let warm =
        provider.exchange_authorization_code(&confidential(), &code, CALLBACK, VERIFIER, None).await.unwrap();
    let warm = provider
        .exchange_refresh_token(&confidential(), warm.refresh_token.as_deref().unwrap(), None, None)
        .await
        .unwrap();
    provider.revoke(&confidential(), warm.refresh_token.as_deref().unwrap()).await.unwrap();
    let code = authorize(&provider, "my-client", CALLBACK, &[]).await;
    let expected = |pairs: &[(&str, u64)]| pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect();

    let before = command_calls(&mut inspect).await;
    let tokens =
        provider.exchange_authorization_code(&confidential(), &code, CALLBACK, VERIFIER, None).await.unwrap();
    let after = command_calls(&mut inspect).await;
    // One EVALSHA; GET, SETs, and the counts and indexes (stats.rs) are what
    // the script runs inside Redis.
    let in_step = [("zadd", 2), ("zrem", 1), ("sadd", 2), ("ttl", 2)];
    assert_eq!(
        commands_between(&before, &after),
        expected(&[&[("evalsha", 1), ("get", 1), ("set", 2)][..], &in_step].concat()),
        "exchange"
    );

    let before = command_calls(&mut inspect).await;
    provider.verify_access_token(&tokens.access_token).await.unwrap();
    let after = command_calls(&mut inspect).await;
    assert_eq!(commands_between(&before, &after), expected(&[("get", 1)]), "verify");

    let before = command_calls(&mut inspect).await;
    let rotated = provider
        .exchange_refresh_token(&confidential(), tokens.refresh_token.as_deref().unwrap(), None, None)
        .await
        .unwrap();
    let after = command_calls(&mut inspect).await;
    assert_eq!(
        commands_between(&before, &after),
        expected(&[&[("evalsha", 1), ("get", 1), ("set", 2)][..], &in_step].concat()),
        "refresh"
    );
    assert!(rotated.refresh_token.is_some());

    let before = command_calls(&mut inspect).await;
    provider.revoke(&confidential(), rotated.refresh_token.as_deref().unwrap()).await.unwrap();
    let after = command_calls(&mut inspect).await;
    let mut sent = commands_between(&before, &after);
    // One EVALSHA; inside it, one GET of the grant (a refresh token needs no
    // access-key read) and the cascade's DELs.
    let deleted = sent.remove("del").unwrap_or(0);
    let uncounted = sent.remove("zrem").unwrap_or(0);
    assert_eq!(sent, expected(&[("evalsha", 1), ("get", 1)]), "revoke");
    assert_eq!(uncounted, deleted + 1, "each deleted token, the code and the chain leave the counts");
    assert!(deleted >= 2, "the grant and its access tokens are deleted: {deleted}");
    assert!(provider.verify_access_token(&rotated.access_token).await.is_err());
}
