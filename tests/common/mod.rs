//! Shared test support for this crate's own backends: the key-value hosts of
//! the tests and the Redis servers they start. The conformance suite itself
//! is public, in `simply_mcp_oauth::testing` (feature `testing`).
#![allow(dead_code)]

pub mod eventual_host;
pub mod kv_hosts;
#[cfg(all(feature = "redis", not(target_arch = "wasm32")))]
pub mod redis_server;
