//! `RedisStorage` over TLS (`rediss://`), against `redis-server`s this test
//! process starts on loopback with `--port 0 --tls-port <free>` and a CA and
//! certificates it makes (rcgen): the conformance suite as an ACL user, a
//! wrong CA, the public roots, a wrong password, a plaintext server behind a
//! TLS URL, and client certificates (mutual TLS).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use simply_mcp_oauth::storage::{RedisConfig, RedisStorage, Storage, StorageError};

use common::redis_server::{RedisServer, TestPki};
use simply_mcp_oauth::testing::fixtures::*;

const USER: &str = "oauth-app";
const USER_PASSWORD: &str = "app-secret";
const DEFAULT_PASSWORD: &str = "default-secret";

/// The PKI and the TLS server most tests share: client certificates
/// optional, the `default` user behind `requirepass`, and an ACL user.
struct Shared {
    pki: TestPki,
    server: RedisServer,
}

static SHARED: LazyLock<Shared> = LazyLock::new(|| {
    let pki = TestPki::new();
    let acl_user = format!(">{USER_PASSWORD}");
    let server = RedisServer::start_tls(
        &pki,
        &[
            "--tls-auth-clients",
            "optional",
            "--requirepass",
            DEFAULT_PASSWORD,
            "--user",
            USER,
            "on",
            &acl_user,
            "~*",
            "&*",
            "+@all",
        ],
    );
    Shared { pki, server }
});

fn unique_prefix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("tls:{}:{}:", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The ACL user over TLS, the CA from a file; a fresh key prefix.
fn config() -> RedisConfig {
    let shared = &*SHARED;
    let url = format!("rediss://{USER}:{USER_PASSWORD}@127.0.0.1:{}", shared.server.port());
    RedisConfig {
        key_prefix: unique_prefix(),
        tls_ca_file: Some(shared.pki.path("ca.pem").into()),
        connection_retry_attempts: 3,
        connection_retry_delay: 50,
        connection_timeout: 3000,
        ..RedisConfig::from_url(&url).unwrap()
    }
}

async fn make() -> RedisStorage {
    RedisStorage::connect(config()).await.expect("connect to the test redis-server over TLS")
}

/// A plain redis-crate connection (TLS, same CA, same user) for reading what the store wrote.
async fn raw() -> redis::aio::MultiplexedConnection {
    let shared = &*SHARED;
    let url = format!("rediss://{USER}:{USER_PASSWORD}@127.0.0.1:{}", shared.server.port());
    let certificates = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(std::fs::read(shared.pki.path("ca.pem")).unwrap()),
    };
    let client = redis::Client::build_with_tls(url, certificates).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// Every key of the store's prefix with its value (strings and sets), as text.
async fn dump(storage: &RedisStorage) -> String {
    let mut connection = raw().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", storage.key_prefix()))
        .query_async(&mut connection)
        .await
        .unwrap();
    common::redis_server::dump_keys(&mut connection, keys).await
}

simply_mcp_oauth::conformance_suite!(make = make, dump = dump);

/// The error of a connect that must fail at start-up, and fast (not retried).
async fn refused(config: RedisConfig) -> StorageError {
    let started = Instant::now();
    let error = RedisStorage::connect(config).await.expect_err("the connection must be refused");
    assert!(started.elapsed() < Duration::from_secs(3), "refused without retrying: {error}");
    error
}

#[tokio::test]
async fn the_acl_user_sees_what_the_store_wrote() {
    let storage = make().await;
    storage.put_client(client("tls-client")).await.unwrap();
    assert!(storage.get_client("tls-client").await.unwrap().is_some());
    let whoami: String = redis::cmd("ACL").arg("WHOAMI").query_async(&mut raw().await).await.unwrap();
    assert_eq!(whoami, USER);
    assert!(dump(&storage).await.contains("tls-client"));
}

#[tokio::test]
async fn a_wrong_ca_is_refused_naming_the_problem() {
    let c = RedisConfig { tls_ca_file: Some(SHARED.pki.path("other-ca.pem").into()), ..config() };
    let address = c.address();
    let error = refused(c).await;
    let text = error.to_string();
    assert!(matches!(error, StorageError::Configuration(_)), "{text}");
    assert!(
        text.contains(&format!(
            "TLS handshake with {address} failed: certificate not signed by the configured CA"
        )),
        "{text}"
    );
}

#[tokio::test]
async fn without_a_ca_file_the_public_roots_refuse_a_private_ca() {
    let error = refused(RedisConfig { tls_ca_file: None, ..config() }).await;
    assert!(error.to_string().contains("certificate not signed by the configured CA"), "{error}");
}

#[tokio::test]
async fn a_wrong_password_is_refused_clearly() {
    let error = refused(RedisConfig { password: Some("wrong".into()), ..config() }).await;
    let text = error.to_string();
    assert!(matches!(error, StorageError::Configuration(_)), "{text}");
    assert!(text.contains(&format!("refused authentication as user {USER:?}")), "{text}");
    // The ACL user's password is not the default user's, and the other way round.
    let error = refused(RedisConfig { username: None, ..config() }).await;
    assert!(error.to_string().contains("refused authentication"), "{error}");
    let mut default_user =
        RedisConfig { username: None, password: Some(DEFAULT_PASSWORD.into()), ..config() };
    RedisStorage::connect(default_user.clone()).await.expect("the default user with requirepass");
    default_user.username = Some("nobody".into());
    assert!(refused(default_user).await.to_string().contains("refused authentication"));
}

#[tokio::test]
async fn a_user_name_without_a_password_is_a_configuration_error() {
    let error = refused(RedisConfig { password: None, ..config() }).await;
    assert!(error.to_string().contains("without a password"), "{error}");
}

#[tokio::test]
async fn a_tls_url_never_falls_back_to_plaintext() {
    // A plaintext server takes the ClientHello for an unfinished inline
    // command and never answers: the handshake times out, and nothing is
    // sent in the clear.
    let plain = RedisServer::start();
    let c = RedisConfig {
        port: plain.port(),
        username: None,
        password: None,
        connection_retry_attempts: 1,
        connection_timeout: 500,
        ..config()
    };
    let error = RedisStorage::connect(c).await.expect_err("no TLS, no connection");
    assert!(matches!(error, StorageError::Unavailable(_)), "{error}");
    assert!(error.to_string().contains("is this the server's TLS port?"), "{error}");
    let output = std::process::Command::new("redis-cli")
        .args(["-p", &plain.port().to_string(), "INFO", "stats"])
        .output()
        .expect("redis-cli");
    let stats = String::from_utf8_lossy(&output.stdout);
    assert!(stats.contains("total_commands_processed:0"), "no command reached the plaintext server: {stats}");
}

#[tokio::test]
async fn bad_certificate_files_are_named() {
    let c = RedisConfig { tls_ca_file: Some("/nonexistent/ca.pem".into()), ..config() };
    let error = refused(c).await;
    assert!(error.to_string().contains("REDIS_TLS_CA_FILE /nonexistent/ca.pem: cannot read it"), "{error}");
    let key = SHARED.pki.path("server.key");
    let error = refused(RedisConfig { tls_ca_file: Some(key.clone().into()), ..config() }).await;
    assert!(error.to_string().contains(&format!("REDIS_TLS_CA_FILE {key}: no PEM certificate")), "{error}");
    let c = RedisConfig { tls_cert_file: Some(SHARED.pki.path("client.pem").into()), ..config() };
    assert!(refused(c).await.to_string().contains("without REDIS_TLS_KEY_FILE"));
}

#[tokio::test]
async fn client_certificates_for_a_server_that_requires_them() {
    let pki = &SHARED.pki;
    let server = RedisServer::start_tls(pki, &["--tls-auth-clients", "yes"]);
    let base = RedisConfig {
        key_prefix: unique_prefix(),
        tls_ca_file: Some(pki.path("ca.pem").into()),
        connection_retry_attempts: 2,
        connection_retry_delay: 50,
        connection_timeout: 3000,
        ..RedisConfig::from_url(&server.url()).unwrap()
    };
    let with_cert = RedisConfig {
        tls_cert_file: Some(pki.path("client.pem").into()),
        tls_key_file: Some(pki.path("client.key").into()),
        ..base.clone()
    };
    let storage = RedisStorage::connect(with_cert).await.expect("mutual TLS");
    storage.put_client(client("mtls")).await.unwrap();
    assert!(storage.get_client("mtls").await.unwrap().is_some());

    let started = Instant::now();
    let error = RedisStorage::connect(base).await.expect_err("no client certificate");
    assert!(started.elapsed() < Duration::from_secs(10), "{error}");
    let text = error.to_string();
    assert!(text.contains(&format!("TLS handshake with 127.0.0.1:{} failed", server.port())), "{text}");
    assert!(text.contains("does it require a client certificate?"), "{text}");
}
