//! The backend conformance suite (feature `testing`): every check a
//! [`Storage`](crate::Storage) must pass, the same checks this crate runs on
//! its own backends (memory, key-value hosts, shards, Redis, and the JS stores
//! in wasm). A store written elsewhere proves itself with one macro call in a
//! test file of its own crate:
//!
//! ```toml
//! [dev-dependencies]
//! simply-mcp-oauth = { version = "0.1", features = ["testing"] }
//! ```
//!
//! ```ignore
//! // A `Storage`: `make` returns a fresh, empty store; `dump` everything it
//! // holds as text (the check that no secret is stored in clear reads it).
//! async fn make() -> MyStorage { MyStorage::connect_fresh().await }
//! async fn dump(storage: &MyStorage) -> String { storage.everything_as_text().await }
//! simply_mcp_oauth::conformance_suite!(make = make, dump = dump);
//!
//! // A `KvHost`: `make` returns a fresh, empty host; the suite runs on
//! // `KvStorage::with_default_prefix(host)` and dumps the host by `list` and `get`.
//! async fn make_host() -> MyHost { MyHost::open_fresh().await }
//! simply_mcp_oauth::conformance_suite!(kv_host = make_host);
//! ```
//!
//! Each check becomes one `#[test]` (one `#[wasm_bindgen_test]` on wasm32),
//! named after the check, so `cargo test` runs them in parallel; natively each
//! runs on its own two-thread tokio runtime. The test file needs no other
//! dev-dependency. `examples/sqlite_kv_host/` is a complete `KvHost` over
//! SQLite that runs the suite this way.
//!
//! Stores without atomic operations (Workers KV) add `atomic = false`: the two
//! exactly-once races become the best-effort checks of [`best_effort`]. A host
//! without consistent reads gets `KvStorage`'s consistency window, under which
//! the flows that expect an immediate refusal need `make = ..` with
//! `with_consistency_window(0)`, or `flows = make, except = [..]` (see
//! [`conformance_suite!`](crate::conformance_suite)).
//!
//! The checks are plain `async fn(S)`s in the modules below, usable on their
//! own; the macro lists them all, and a unit test keeps its lists equal to the
//! functions, so a new check runs on every backend.

// Each check's name says what it checks; the helpers have docs.
#[allow(missing_docs)]
pub mod best_effort;
mod cimd_flow;
#[allow(missing_docs)]
pub mod conformance;
#[allow(missing_docs)]
pub mod fixtures;
#[allow(missing_docs)]
pub mod flows;
#[allow(missing_docs)]
pub mod refresh_grace;
pub mod secrets;
mod suite;

/// What the generated tests need from this crate's dependencies, so that a
/// crate running the suite needs no dev-dependency of its own.
#[doc(hidden)]
pub mod __private {
    #[cfg(target_arch = "wasm32")]
    pub use wasm_bindgen_test;

    /// Runs one check as `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]`
    /// would: on a runtime of its own, with every driver enabled.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn block_on<F: std::future::Future>(check: F) -> F::Output {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime for the check")
            .block_on(check)
    }
}

#[cfg(test)]
mod tests;
