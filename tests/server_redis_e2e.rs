//! The server binary on Redis (`--redis-url`): clients and tokens survive a
//! restart of the binary, `/health` follows Redis, and the endpoints answer
//! 503 `temporarily_unavailable` while Redis is down and recover without a
//! restart when it is back; `REDIS_USERNAME`/`REDIS_PASSWORD` apply to a URL
//! without credentials.

mod common;
mod e2e;

use serde_json::json;

use common::redis_server::RedisServer;
use e2e::*;

fn initialize() -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "0"}}})
}

/// The binary on `redis`; `bind` keeps the address (and so the issuer and
/// the token audience) of an earlier run.
fn on_redis(redis: &RedisServer, bind: &str) -> Server {
    let url = redis.url();
    let server = start_with(
        &["--redis-url", &url, "--bind", bind],
        &[("REDIS_KEY_PREFIX", "e2e:"), ("REDIS_CONNECTION_TIMEOUT", "500"), ("REDIS_RETRY_DELAY", "50")],
    );
    assert_eq!(server.storage, format!("redis at 127.0.0.1:{} (key prefix \"e2e:\")", redis.port()));
    server
}

#[test]
fn clients_and_tokens_survive_a_restart_of_the_binary() {
    let redis = RedisServer::start();
    let server = on_redis(&redis, "127.0.0.1:0");
    assert_eq!(server.get("/health", &[]).json()["storage"]["components"]["backend"], "redis");
    let client_id = server.register("survivor");
    let (access, refresh) = server.authorize_and_exchange(&client_id);
    assert_eq!(server.mcp(&access, &initialize()).status, 200);
    let addr = server.addr.clone();
    drop(server);

    let server = on_redis(&redis, &addr);
    let metrics = server.metrics();
    assert_eq!(metrics["clients"], 2, "demo-client and the registered one: {metrics}");
    assert_eq!((metrics["tokens"].as_u64(), metrics["refreshTokens"].as_u64()), (Some(1), Some(1)));
    assert_eq!(server.mcp(&access, &initialize()).status, 200, "the access token outlives the process");
    let _ = server.consent(&client_id, "again");
    let refreshed = server.refresh(&client_id, &refresh);
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    let new_access = refreshed.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(server.mcp(&new_access, &initialize()).status, 200);
}

#[test]
fn redis_down_is_503_and_redis_back_recovers_without_a_restart() {
    let mut redis = RedisServer::start();
    let server = on_redis(&redis, "127.0.0.1:0");
    let client_id = server.register("outage");
    let (access, refresh) = server.authorize_and_exchange(&client_id);

    redis.stop();
    let health = server.get("/health", &[]);
    assert_eq!(health.status, 503, "{}", health.text());
    assert_eq!(health.json()["status"], "unhealthy");
    let refused = server.refresh(&client_id, &refresh);
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.json()["error"], "temporarily_unavailable");
    assert!(refused.header("retry-after").is_some(), "Retry-After on a 503");
    let resource = server.mcp(&access, &initialize());
    assert_eq!(resource.status, 503, "{}", resource.text());

    // Redis back (empty: no persistence); the same process serves again.
    redis.restart();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while server.get("/health", &[]).status != 200 {
        assert!(std::time::Instant::now() < deadline, "the server did not see Redis come back");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let client_id = server.register("after the outage");
    let (access, _) = server.authorize_and_exchange(&client_id);
    assert_eq!(server.mcp(&access, &initialize()).status, 200);
}

#[test]
fn an_unreachable_redis_is_a_clean_exit() {
    let port = common::redis_server::free_port();
    let mut command = command();
    command.args(["--bind", "127.0.0.1:0", "--redis-url", &format!("redis://127.0.0.1:{port}")]);
    command.env("REDIS_RETRY_ATTEMPTS", "2").env("REDIS_RETRY_DELAY", "10");
    let output = command.output().expect("run the binary");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("connection refused") && stderr.contains(&port.to_string()), "{stderr}");
    let output = e2e::command().args(["--redis-url", "http://nope"]).output().expect("run the binary");
    assert_eq!(output.status.code(), Some(2), "a bad URL is a usage error: {output:?}");
}

#[test]
fn credentials_in_the_variables_apply_to_a_url_without_them() {
    let acl = ["--requirepass", "admin-pw", "--user", "app", "on", ">app-pw", "~*", "&*", "+@all"];
    let redis = RedisServer::start_with(common::redis_server::free_port(), &acl.map(String::from));
    // The usual way to keep the secret out of the URL (and out of `ps`).
    let url = format!("{}/0", redis.url());
    let server = start_with(
        &["--redis-url", &url],
        &[("REDIS_USERNAME", "app"), ("REDIS_PASSWORD", "app-pw"), ("REDIS_RETRY_ATTEMPTS", "1")],
    );
    let client_id = server.register("acl user");
    let (access, _) = server.authorize_and_exchange(&client_id);
    assert_eq!(server.mcp(&access, &initialize()).status, 200);
    drop(server);

    // A URL's own credentials still win over the variables.
    let wrong_in_url = format!("redis://app:wrong@127.0.0.1:{}/0", redis.port());
    let output = command()
        .args(["--bind", "127.0.0.1:0", "--redis-url", &wrong_in_url])
        .envs([("REDIS_USERNAME", "app"), ("REDIS_PASSWORD", "app-pw"), ("REDIS_RETRY_ATTEMPTS", "1")])
        .output()
        .expect("run the binary");
    assert_eq!(output.status.code(), Some(2), "refused authentication: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refused authentication") && !stderr.contains("app-pw"), "{stderr}");
}
