//! `KvStorage` over in-test hosts of the WIT kv interface: the conformance
//! suite three times (an atomic map; an atomic host whose calls yield like
//! real I/O, under another key prefix; a Workers-KV-like host without atomics
//! and with a 60 s minimum TTL), then what only this backend promises: TTLs
//! the host accepts, host failures as `Unavailable`, corrupt records as
//! `Corrupt`, and the Rust trait matching the WIT file.
// Native only (tokio); tests/wasm_kv_storage.rs runs the suite in wasm.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::kv_hosts::{DownHost, MapHost};
use simply_mcp_oauth::config::DEFAULT_KEY_PREFIX;
use simply_mcp_oauth::storage::*;
use simply_mcp_oauth::testing::fixtures::*;

/// Everything a map host holds, for the no-secrets check.
async fn dump(storage: &KvStorage<MapHost>) -> String {
    storage.host().dump()
}

mod atomic {
    use super::*;

    async fn make() -> KvStorage<MapHost> {
        KvStorage::with_default_prefix(MapHost::atomic())
    }

    simply_mcp_oauth::conformance_suite!(make = make, dump = dump);
}

mod atomic_yielding {
    use super::*;

    async fn make() -> KvStorage<MapHost> {
        KvStorage::new(MapHost::atomic_yielding(), "tenant-a:oauth:")
    }

    simply_mcp_oauth::conformance_suite!(make = make, dump = dump);
}

mod workers_like {
    use super::*;

    /// One process's map: its reads are consistent although it announces
    /// Workers KV's capabilities, so the consistency window is off (the
    /// window across locations is tested in `eventual_kv.rs`).
    async fn make() -> KvStorage<MapHost> {
        KvStorage::with_default_prefix(MapHost::workers_like()).with_consistency_window(0)
    }

    simply_mcp_oauth::conformance_suite!(make = make, dump = dump, atomic = false);
}

/// A client, a redeemed grant with a rotation, and a pending grant: every kind of key.
async fn populate<S: Storage>(s: &S) {
    redeemed(s).await;
    s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation("second", T0), T0).await.unwrap();
    s.put_grant(pending_grant("g2", "c1", "bob"), None, T0).await.unwrap();
}

#[tokio::test]
async fn ttls_respect_the_host_minimum() {
    for host in [MapHost::atomic(), MapHost::workers_like()] {
        let min = host.capabilities().min_ttl_seconds;
        let s = KvStorage::with_default_prefix(host.clone());
        populate(&s).await;
        // A record expiring one second from now still gets the host's minimum.
        let mut short = pending_grant("g3", "c1", "carol");
        short.expires_at = T0 + 1;
        s.put_grant(short, None, T0).await.unwrap();
        s.health().await;
        let ttls = host.ttls();
        assert!(!ttls.is_empty());
        for (key, ttl) in &ttls {
            if key.starts_with(&format!("{DEFAULT_KEY_PREFIX}client:")) {
                assert_eq!(*ttl, 0, "clients do not expire: {key}");
            } else {
                assert!(*ttl >= min.max(1), "{key} got TTL {ttl} below the minimum {min}");
            }
        }
        let grant_ttl = ttls.iter().rev().find(|(k, _)| k.ends_with("{g1}:grant")).map(|(_, t)| *t);
        assert_eq!(grant_ttl, Some(86_400), "the TTL is the record's remaining lifetime (after rotation)");
        let short_ttl = ttls.iter().find(|(k, _)| k.ends_with("{g3}:grant")).map(|(_, t)| *t);
        assert_eq!(short_ttl, Some(min.max(1)));
    }
}

#[tokio::test]
async fn host_eviction_by_ttl_is_only_a_ceiling() {
    let host = MapHost::atomic();
    let s = KvStorage::with_default_prefix(host.clone());
    redeemed(&s).await;
    // The host still holds the token, but it expired by the clock the provider passes.
    assert!(s.get_access("g1", &digest("at:first"), T0 + 3600).await.unwrap().is_none());
    // And once the host evicts (its own clock), reads see nothing either.
    host.advance(3600);
    assert!(s.get_access("g1", &digest("at:first"), T0 + 10).await.unwrap().is_none());
    assert!(s.get_grant("g1", T0 + 10).await.unwrap().is_some(), "the grant lives 86400 s");
}

#[tokio::test]
async fn a_failing_host_is_unavailable_never_a_panic() {
    let s = KvStorage::with_default_prefix(DownHost);
    let unavailable = |r: Result<(), StorageError>| match r {
        Err(StorageError::Unavailable(message)) => {
            assert!(message.contains("connection refused"), "{message}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    };
    unavailable(s.put_client(client("c1")).await);
    unavailable(s.get_client("c1").await.map(drop));
    unavailable(s.delete_client("c1", T0).await.map(drop));
    unavailable(s.list_clients().await.map(drop));
    unavailable(s.put_grant(pending_grant("g1", "c1", "alice"), None, T0).await);
    unavailable(s.get_grant("g1", T0).await.map(drop));
    unavailable(
        s.consume_code("g1", &code_digest("g1"), &expectation("c1"), redemption("x", T0), T0).await.map(drop),
    );
    unavailable(s.get_access("g1", &digest("at:x"), T0).await.map(drop));
    unavailable(s.rotate_refresh("g1", "c1", &digest("rt:x"), rotation("y", T0), T0).await.map(drop));
    unavailable(s.revoke_grant("g1").await.map(drop));
    unavailable(s.list_grants("alice", T0).await.map(drop));
    unavailable(s.stats(T0).await.map(drop));
    unavailable(s.sweep(T0).await.map(drop));
    let health = s.health().await;
    assert!(!health.healthy);
    assert!(!health.errors.is_empty());
    assert_eq!(health.components.get("atomicity").map(String::as_str), Some("atomic"));
}

#[tokio::test]
async fn a_host_failing_midway_is_unavailable() {
    let host = MapHost::workers_like();
    let s = KvStorage::with_default_prefix(host.clone());
    populate(&s).await;
    host.set_failing(true);
    let err =
        s.rotate_refresh("g1", "c1", &digest("rt:second"), rotation("third", T0), T0).await.unwrap_err();
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
    host.set_failing(false);
    let outcome =
        s.rotate_refresh("g1", "c1", &digest("rt:second"), rotation("third", T0), T0).await.unwrap();
    assert!(matches!(outcome, RotateOutcome::Rotated(..)), "nothing changed by the failed call");
}

#[tokio::test]
async fn corrupt_records_are_reported_with_their_key() {
    let host = MapHost::atomic();
    let s = KvStorage::with_default_prefix(host.clone());
    populate(&s).await;
    let key = format!("{DEFAULT_KEY_PREFIX}{{g1}}:grant");
    host.overwrite_raw(&key, "{not json");
    for err in [
        s.get_grant("g1", T0).await.unwrap_err(),
        s.rotate_refresh("g1", "c1", &digest("rt:second"), rotation("x", T0), T0).await.unwrap_err(),
        s.stats(T0).await.unwrap_err(),
    ] {
        match err {
            StorageError::Corrupt { key: k, .. } => assert_eq!(k, key),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn health_says_whether_single_use_is_atomic() {
    let atomic = KvStorage::with_default_prefix(MapHost::atomic()).health().await;
    assert!(atomic.healthy);
    assert_eq!(atomic.components["atomicity"], "atomic");
    assert_eq!(atomic.components["minTtlSeconds"], "1");
    let workers = KvStorage::with_default_prefix(MapHost::workers_like()).health().await;
    assert!(workers.healthy, "{workers:?}");
    assert_eq!(workers.components["atomicity"], "best-effort (host has no atomic operations)");
    assert_eq!(workers.components["minTtlSeconds"], "60");
    assert!(workers.message.contains("best-effort"));
}

#[tokio::test]
async fn keys_follow_the_documented_layout() {
    let host = MapHost::atomic();
    let s = KvStorage::with_default_prefix(host.clone());
    populate(&s).await;
    let mut keys = host.keys();
    keys.sort();
    let at = |label: &str| format!("oauth:{{g1}}:at:{}", digest(label).to_hex());
    let mut expected = vec![
        "oauth:client:c1".to_string(),
        "oauth:clientgrant:c1:g1".into(),
        "oauth:clientgrant:c1:g2".into(),
        "oauth:subject:alice:g1".into(),
        "oauth:subject:bob:g2".into(),
        "oauth:{g1}:grant".into(),
        at("at:first"),
        at("at:second"),
        "oauth:{g2}:grant".into(),
    ];
    expected.sort();
    assert_eq!(keys, expected);
}

#[tokio::test]
async fn listing_pages_through_many_keys() {
    let s = KvStorage::with_default_prefix(MapHost::atomic());
    for i in 0..1205 {
        s.put_client(client(&format!("c{i:04}"))).await.unwrap();
    }
    let ids = s.list_clients().await.unwrap();
    assert_eq!(ids.len(), 1205);
    assert_eq!(s.stats(T0).await.unwrap().client_count, 1205);
}

/// A host on which every commit loses its race: another writer always
/// changed the grant between the read and the commit.
struct AlwaysOutraced(MapHost);

#[async_trait::async_trait]
impl KvHost for AlwaysOutraced {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        self.0.get(key).await
    }
    async fn put(&self, key: &str, value: &str, ttl: u64) -> Result<(), KvError> {
        self.0.put(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.0.delete(key).await
    }
    async fn list(&self, prefix: &str, cursor: Option<String>, limit: u32) -> Result<KvPage, KvError> {
        self.0.list(prefix, cursor, limit).await
    }
    async fn get_versioned(&self, key: &str) -> Result<Option<Versioned>, KvError> {
        let read = self.0.get_versioned(key).await?;
        Ok(read.map(|v| Versioned { version: format!("stale-{}", v.version), ..v }))
    }
    async fn commit(&self, checks: &[KvCheck], mutations: &[KvMutation]) -> Result<bool, KvError> {
        self.0.commit(checks, mutations).await
    }
    fn capabilities(&self) -> KvCapabilities {
        self.0.capabilities()
    }
}

#[tokio::test]
async fn a_transition_that_always_loses_its_race_is_unavailable_after_bounded_attempts() {
    let host = MapHost::atomic();
    redeemed(&KvStorage::with_default_prefix(host.clone())).await;
    let s = KvStorage::with_default_prefix(AlwaysOutraced(host.clone())).with_commit_attempts(5);
    host.take_call_count();
    let err = s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation("x", T0), T0).await.unwrap_err();
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
    assert_eq!(host.calls().get("commit"), Some(&5), "one commit per attempt, then a 503, not a hang");
    // Nothing was written: the grant still rotates from the first token.
    let plain = KvStorage::with_default_prefix(host);
    let outcome = plain.rotate_refresh("g1", "c1", &digest("rt:first"), rotation("x", T0), T0).await.unwrap();
    assert!(matches!(outcome, RotateOutcome::Rotated(..)));
}

/// The host calls of each step on an atomic host: verify one read, the
/// single-use transitions one versioned read and one commit, a new grant one
/// commit.
#[tokio::test]
async fn each_step_costs_at_most_two_host_calls_on_an_atomic_host() {
    let host = MapHost::atomic();
    let s = KvStorage::with_default_prefix(host.clone());
    s.put_client(client("c1")).await.unwrap();
    host.take_call_count();
    s.put_grant(pending_grant("g1", "c1", "alice"), None, T0).await.unwrap();
    assert_eq!(host.take_call_count(), 1, "authorize: one commit");
    let (code, expect) = (code_digest("g1"), expectation("c1"));
    let outcome = s.consume_code("g1", &code, &expect, redemption("first", T0), T0).await.unwrap();
    assert!(matches!(outcome, CodeOutcome::Redeemed(..)));
    assert_eq!(host.take_call_count(), 2, "exchange: a versioned read and a commit");
    assert!(s.get_access("g1", &digest("at:first"), T0).await.unwrap().is_some());
    assert_eq!(host.take_call_count(), 1, "verify: one read");
    let outcome =
        s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation("second", T0), T0).await.unwrap();
    assert!(matches!(outcome, RotateOutcome::Rotated(..)));
    assert_eq!(host.take_call_count(), 2, "refresh: a versioned read and a commit");
    assert!(s.revoke_token("g1", "c1", &digest("rt:second"), T0).await.unwrap().is_some());
    assert_eq!(host.take_call_count(), 2, "revocation: a versioned read and a commit");
}

#[tokio::test]
async fn sweep_removes_expired_records_from_the_host() {
    let host = MapHost::atomic();
    let s = KvStorage::with_default_prefix(host.clone());
    populate(&s).await;
    // At T0 + 700 the pending grant g2 is gone; at T0 + 3600 the access tokens of g1.
    assert_eq!(s.sweep(T0 + 700).await.unwrap(), 1);
    assert!(!host.contains("oauth:{g2}:grant"));
    assert!(!host.contains("oauth:subject:bob:g2"));
    assert!(host.contains("oauth:{g1}:grant"));
    assert_eq!(s.sweep(T0 + 3600).await.unwrap(), 2);
    assert!(host.keys().iter().all(|k| !k.contains(":at:")), "{:?}", host.keys());
}

/// The WIT file is the contract: `interface kv` and `KvHost` declare the same
/// functions. The Rust side is `KV_FUNCTIONS` (each entry names a trait method
/// or the crate does not compile) and the trait's own source (every method is
/// in `KV_FUNCTIONS`).
#[test]
fn kv_host_mirrors_the_wit_interface() {
    let wit = include_str!("../wit/simply-mcp-oauth.wit");
    let mut wit_functions = functions_of_wit_interface(wit, "kv");
    let mut listed: Vec<&str> = KV_FUNCTIONS.iter().map(|f| f.wit).collect();
    wit_functions.sort();
    listed.sort();
    assert_eq!(wit_functions, listed, "wit `interface kv` and KV_FUNCTIONS differ");

    let source = include_str!("../src/storage/kv/host.rs");
    let mut methods = trait_methods(source, "pub trait KvHost");
    let mut rust: Vec<&str> = KV_FUNCTIONS.iter().map(|f| f.rust).collect();
    methods.sort();
    rust.sort();
    assert_eq!(methods, rust, "KvHost methods and KV_FUNCTIONS differ");
    for f in KV_FUNCTIONS {
        assert_eq!(f.rust, f.wit.replace('-', "_"), "the Rust name is the WIT name in snake case");
    }
    assert!(
        wit.contains("world oauth-provider")
            && wit.contains("import kv;")
            && wit.contains("export provider;")
    );
}

/// Names `name: func(` inside `interface <name> { ... }` (no nested braces
/// other than records and variants, which hold no `func`).
fn functions_of_wit_interface<'a>(wit: &'a str, interface: &str) -> Vec<&'a str> {
    let start = wit.find(&format!("interface {interface} {{")).expect("interface in the WIT file");
    let body = &wit[start..];
    let mut depth = 0;
    let mut end = body.len();
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    end = i;
                    break;
                }
            }
            _ => {}
        }
    }
    body[..end]
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("//"))
        .filter_map(|line| line.split_once(": func(").map(|(name, _)| name.trim().trim_start_matches('%')))
        .collect()
}

/// Names of the `fn`s declared in the trait block that starts with `header`.
fn trait_methods<'a>(source: &'a str, header: &str) -> Vec<&'a str> {
    let start = source.find(header).expect("trait in the source");
    let body = &source[start..];
    let end = body.find("\n}\n").expect("end of the trait");
    body[..end]
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("//"))
        .filter_map(|line| line.split_once("fn ").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split(['(', '<']).next())
        .collect()
}

/// An exchange and a refresh write the grant and one access token; the index
/// entries written at authorize already outlive the grant, and are written
/// again only when a renewal moves the grant's expiry past them.
#[tokio::test]
async fn index_entries_are_written_once_and_outlive_their_grant() {
    let host = MapHost::atomic();
    let s = KvStorage::with_default_prefix(host.clone());
    redeemed(&s).await;
    let index_writes = |host: &MapHost| {
        host.ttls()
            .iter()
            .filter(|(k, _)| k.contains("grant:c1:g1") || k.contains("subject:alice:g1"))
            .count()
    };
    assert_eq!(index_writes(&host), 2, "authorize wrote the two index entries; the exchange did not");
    let (index_ttl, grant_ttl) = {
        let ttls = host.ttls();
        let of =
            |suffix: &str| ttls.iter().rev().find(|(k, _)| k.ends_with(suffix)).map(|(_, t)| *t).unwrap();
        (of("clientgrant:c1:g1"), of("{g1}:grant"))
    };
    assert!(index_ttl >= grant_ttl, "the index ({index_ttl} s) outlives the grant ({grant_ttl} s)");
    s.rotate_refresh("g1", "c1", &digest("rt:first"), rotation("second", T0), T0).await.unwrap();
    assert_eq!(index_writes(&host), 2, "a refresh in the same period leaves the index alone");
    // A renewal for 60 days moves the grant's expiry into a later period.
    let mut long = rotation("third", T0);
    long.grant_expires_at = T0 + 60 * 86_400;
    s.rotate_refresh("g1", "c1", &digest("rt:second"), long, T0).await.unwrap();
    assert_eq!(index_writes(&host), 4, "the index entries are renewed with the grant");
    assert_eq!(s.list_grants("alice", T0 + 59 * 86_400).await.unwrap().len(), 1);
}

/// Without atomics a lost race can leave an access token its grant does not
/// list; revoking that token still revokes the grant, and takes the stray
/// token with it.
#[tokio::test]
async fn a_token_its_grant_does_not_list_still_revokes_it_without_atomics() {
    let host = MapHost::workers_like();
    let s = KvStorage::with_default_prefix(host.clone()).with_consistency_window(0);
    let grant = redeemed(&s).await;
    let stray = digest("at:lost-race");
    let record = grant.access_record(&grant.scopes, T0, T0 + 3600);
    let key = format!("oauth:{{g1}}:at:{}", stray.to_hex());
    host.put(&key, &serde_json::to_string(&record).unwrap(), 3600).await.unwrap();
    assert!(s.get_access("g1", &stray, T0).await.unwrap().is_some());
    assert_eq!(
        s.revoke_token("g1", "c2", &stray, T0).await.unwrap(),
        None,
        "another client's revocation changes nothing"
    );
    assert!(s.revoke_token("g1", "c1", &stray, T0).await.unwrap().is_some());
    assert_eq!(s.get_grant("g1", T0).await.unwrap(), None);
    assert!(!host.contains(&key), "the stray token went with its grant");
    assert!(s.get_access("g1", &digest("at:first"), T0).await.unwrap().is_none());
}
