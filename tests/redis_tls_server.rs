//! The server binary on Redis over TLS: `--redis-url rediss://user:pass@…`
//! with `REDIS_TLS_CA_FILE`, against a loopback `redis-server` that speaks
//! only TLS (`--port 0 --tls-port <free>`); and the start-up errors of a
//! wrong CA and of a certificate file that is not PEM.
#![cfg(not(target_arch = "wasm32"))]

mod common;
mod e2e;

use serde_json::json;

use common::redis_server::{RedisServer, TestPki};
use e2e::*;

fn tls_redis(pki: &TestPki) -> RedisServer {
    RedisServer::start_tls(
        pki,
        &[
            "--tls-auth-clients",
            "optional",
            "--requirepass",
            "unused",
            "--user",
            "app",
            "on",
            ">app-pw",
            "~*",
            "&*",
            "+@all",
        ],
    )
}

fn url(redis: &RedisServer) -> String {
    format!("rediss://app:app-pw@127.0.0.1:{}", redis.port())
}

#[test]
fn the_demo_server_on_rediss_answers() {
    let pki = TestPki::new();
    let redis = tls_redis(&pki);
    let ca = pki.path("ca.pem");
    let server = start_with(
        &["--redis-url", &url(&redis)],
        &[("REDIS_TLS_CA_FILE", &ca), ("REDIS_KEY_PREFIX", "tls-e2e:"), ("REDIS_RETRY_DELAY", "50")],
    );
    assert_eq!(server.storage, format!("redis at 127.0.0.1:{} (key prefix \"tls-e2e:\")", redis.port()));
    let health = server.get("/health", &[]);
    assert_eq!(health.status, 200, "{}", health.text());
    assert_eq!(health.json()["storage"]["components"]["backend"], "redis");
    let client_id = server.register("over tls");
    let (access, _refresh) = server.authorize_and_exchange(&client_id);
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "0"}}});
    assert_eq!(server.mcp(&access, &initialize).status, 200);
    assert_eq!(server.metrics()["clients"], 2, "demo-client and the registered one");
}

/// Runs the binary to its exit; (status, stderr).
fn exit_of(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = command();
    command.args(["--bind", "127.0.0.1:0"]).args(args);
    command.envs(env.iter().copied()).env("REDIS_RETRY_DELAY", "10");
    let output = command.output().expect("run the binary");
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_bad_certificate_is_a_clear_start_up_error() {
    let pki = TestPki::new();
    let redis = tls_redis(&pki);
    let redis_url = url(&redis);

    let (status, stderr) =
        exit_of(&["--redis-url", &redis_url], &[("REDIS_TLS_CA_FILE", &pki.path("other-ca.pem"))]);
    assert_eq!(status, Some(2), "{stderr}");
    let expected = format!(
        "TLS handshake with 127.0.0.1:{} failed: certificate not signed by the configured CA",
        redis.port()
    );
    assert!(stderr.contains(&expected), "{stderr}");

    let key = pki.path("server.key");
    let (status, stderr) = exit_of(&["--redis-url", &redis_url], &[("REDIS_TLS_CA_FILE", &key)]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains(&format!("REDIS_TLS_CA_FILE {key}: no PEM certificate")), "{stderr}");

    let plain_url = format!("redis://app:app-pw@127.0.0.1:{}", redis.port());
    let (status, stderr) =
        exit_of(&["--redis-url", &plain_url], &[("REDIS_TLS_CA_FILE", &pki.path("ca.pem"))]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("use rediss://"), "{stderr}");

    let wrong = format!("rediss://app:wrong@127.0.0.1:{}", redis.port());
    let (status, stderr) = exit_of(&["--redis-url", &wrong], &[("REDIS_TLS_CA_FILE", &pki.path("ca.pem"))]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("refused authentication as user \"app\""), "{stderr}");
}
