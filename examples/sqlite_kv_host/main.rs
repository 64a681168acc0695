//! A store written outside this crate proves itself: a `KvHost` over SQLite
//! (`host.rs`, crate `rusqlite`) runs the whole conformance suite with one
//! macro call, as a third party's test file would. This example is compiled
//! as a crate of its own, so it sees only the public API.
//!
//! ```sh
//! cargo test --features testing --example sqlite_kv_host   # the suite, one test per check
//! cargo run --features testing --example sqlite_kv_host -- oauth.sqlite3
//! ```
//!
//! SQLite is native; built for wasm32 the example is empty.

#[cfg(not(target_arch = "wasm32"))]
mod host;

/// The suite on a fresh in-memory database per check.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod conformance {
    use super::host::SqliteKvHost;

    async fn make() -> SqliteKvHost {
        SqliteKvHost::in_memory().expect("an in-memory SQLite database")
    }

    simply_mcp_oauth::conformance_suite!(kv_host = make);
}

/// A provider on the database file named by the first argument: its
/// configured client is written there, then its health and counts printed.
#[cfg(not(target_arch = "wasm32"))]
#[tokio::main(flavor = "current_thread")]
async fn main() {
    use simply_mcp_oauth::storage::KvStorage;
    use simply_mcp_oauth::{ClientConfig, Provider, ProviderConfig};

    let path = std::env::args().nth(1).unwrap_or_else(|| "oauth.sqlite3".into());
    let host = host::SqliteKvHost::open(&path).expect("open the SQLite database");
    let config = ProviderConfig {
        clients: vec![ClientConfig {
            client_id: "my-client".into(),
            client_secret: Some("my-secret".into()),
            redirect_uris: vec!["http://localhost:3000/callback".into()],
            scopes: vec!["read".into()],
        }],
        ..ProviderConfig::new("https://auth.example.com")
    };
    let provider = Provider::create(config, KvStorage::with_default_prefix(host)).await.expect("a provider");
    println!("{path}: {:?}", provider.health_check().await);
    println!("{:?}", provider.get_stats().await.expect("stats"));
}

#[cfg(target_arch = "wasm32")]
fn main() {}
