//! Provider operations on each backend: verify, code exchange, refresh and a
//! full flow (register -> authorize -> exchange -> verify -> refresh ->
//! revoke), on `MemoryStorage` always and on `RedisStorage` when built with
//! the `redis` feature and `redis-server` is on PATH (a server of its own on
//! a free loopback port). For Redis it first prints the commands each
//! operation sends (`INFO commandstats` delta; Lua-internal calls listed too).
//!
//! `cargo bench --bench storage --all-features` measures;
//! `... -- --test` runs each benchmark once (the smoke pass of test-all.sh).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use simply_mcp_oauth::crypto::pkce_s256;
use simply_mcp_oauth::provider::{Approval, ClientAuth, ClientMetadata};
use simply_mcp_oauth::{ClientConfig, MemoryStorage, Params, Provider, ProviderConfig, Storage};
use tokio::runtime::Runtime;

#[cfg(feature = "redis")]
#[allow(dead_code)]
#[path = "../tests/common/redis_server.rs"]
mod redis_server;

const REDIRECT: &str = "http://127.0.0.1/callback";
const VERIFIER: &str = "bench-code-verifier-0123456789abcdefghijklmnopqrstuvwxyz";

type Bench = Arc<Provider<Arc<dyn Storage>>>;

async fn provider(storage: Arc<dyn Storage>) -> Bench {
    let config = ProviderConfig {
        clients: vec![ClientConfig {
            client_id: "bench".into(),
            client_secret: None,
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["mcp".into()],
        }],
        ..ProviderConfig::new("http://127.0.0.1:8080")
    };
    Arc::new(Provider::create(config, storage).await.expect("provider"))
}

fn auth(client_id: &str) -> ClientAuth {
    ClientAuth::public(client_id)
}

/// `/authorize` parsed and approved: the code.
async fn authorize(p: &Bench, client_id: &str) -> String {
    let challenge = pkce_s256(VERIFIER);
    let params = Params::from_pairs([
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("scope", "mcp"),
    ]);
    let request = p.parse_authorization(&params).await.expect("authorization request");
    let approval = Approval { subject: "bench-user".into(), ..Default::default() };
    let location = p.complete_authorization(&request, approval).await.expect("approval");
    // Codes are `<base64url>.<base64url>`: nothing to percent-decode.
    let query = location.split_once('?').map_or("", |(_, q)| q);
    query.split('&').find_map(|pair| pair.strip_prefix("code=")).expect("a code").to_string()
}

/// A code exchanged: `(access token, refresh token)`.
async fn exchange(p: &Bench, client_id: &str, code: &str) -> (String, String) {
    let t = p
        .exchange_authorization_code(&auth(client_id), code, REDIRECT, VERIFIER, None)
        .await
        .expect("tokens");
    (t.access_token, t.refresh_token.expect("a refresh token"))
}

async fn refresh(p: &Bench, client_id: &str, token: &str) -> (String, String) {
    let t = p.exchange_refresh_token(&auth(client_id), token, None, None).await.expect("refresh");
    (t.access_token, t.refresh_token.expect("a successor"))
}

async fn full_flow(p: &Bench) {
    let metadata = ClientMetadata {
        redirect_uris: vec![REDIRECT.into()],
        token_endpoint_auth_method: Some("none".into()),
        ..Default::default()
    };
    let client = p.register_client(metadata).await.expect("registration");
    let code = authorize(p, &client.client_id).await;
    let (access, refresh_token) = exchange(p, &client.client_id, &code).await;
    p.verify_access_token(&access).await.expect("verify");
    let (_, successor) = refresh(p, &client.client_id, &refresh_token).await;
    p.revoke(&auth(&client.client_id), &successor).await.expect("revoke");
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, name: &str, storage: Arc<dyn Storage>) {
    let p = rt.block_on(provider(storage));
    let (access, _) = rt.block_on(async {
        let code = authorize(&p, "bench").await;
        exchange(&p, "bench", &code).await
    });

    c.bench_function(&format!("verify/{name}"), |b| {
        b.to_async(rt).iter(|| async { p.verify_access_token(&access).await.expect("verify") })
    });
    c.bench_function(&format!("exchange/{name}"), |b| {
        b.to_async(rt).iter_custom(|iters| {
            let p = Arc::clone(&p);
            async move {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let code = authorize(&p, "bench").await;
                    let started = Instant::now();
                    exchange(&p, "bench", &code).await;
                    spent += started.elapsed();
                }
                spent
            }
        })
    });
    // A fresh grant for every refresh: a grant refreshed thousands of times in
    // a row remembers thousands of live access tokens, which no client does.
    c.bench_function(&format!("refresh/{name}"), |b| {
        b.to_async(rt).iter_custom(|iters| {
            let p = Arc::clone(&p);
            async move {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let code = authorize(&p, "bench").await;
                    let (_, token) = exchange(&p, "bench", &code).await;
                    let started = Instant::now();
                    refresh(&p, "bench", &token).await;
                    spent += started.elapsed();
                }
                spent
            }
        })
    });
    c.bench_function(&format!("full_flow/{name}"), |b| b.to_async(rt).iter(|| full_flow(&p)));
}

#[cfg(feature = "redis")]
mod redis_side {
    use std::collections::BTreeMap;

    use super::*;
    use simply_mcp_oauth::storage::{RedisConfig, RedisStorage};

    /// `cmdstat_<name>` -> calls.
    async fn calls(c: &mut redis::aio::MultiplexedConnection) -> BTreeMap<String, u64> {
        let info: String = redis::cmd("INFO").arg("commandstats").query_async(c).await.unwrap();
        info.lines()
            .filter_map(|line| {
                let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
                let n = rest.split(',').find_map(|kv| kv.strip_prefix("calls="))?.parse().ok()?;
                Some((name.to_string(), n))
            })
            .collect()
    }

    /// Runs `op` `n` times and prints the commands per run (INFO itself excluded).
    async fn per_op<F: std::future::Future<Output = ()>>(
        c: &mut redis::aio::MultiplexedConnection,
        label: &str,
        n: u64,
        mut op: impl FnMut() -> F,
    ) {
        let before = calls(c).await;
        for _ in 0..n {
            op().await;
        }
        let after = calls(c).await;
        let mut parts = Vec::new();
        for (name, total) in after {
            let delta = total - before.get(&name).copied().unwrap_or(0) - u64::from(name == "info");
            if delta > 0 {
                parts.push(format!("{name} {}", delta as f64 / n as f64));
            }
        }
        println!("redis commands per {label:<10} {}", parts.join(", "));
    }

    /// Prints the commands per operation; returns the store for the benchmarks.
    pub fn start(rt: &Runtime) -> Option<(redis_server::RedisServer, Arc<dyn Storage>)> {
        let on_path = std::process::Command::new("redis-server").arg("--version").output().is_ok();
        if !on_path {
            eprintln!("redis-server is not on PATH: Redis benchmarks skipped");
            return None;
        }
        let server = redis_server::RedisServer::start();
        let storage: Arc<dyn Storage> = rt.block_on(async {
            Arc::new(RedisStorage::connect(RedisConfig::from_url(&server.url()).unwrap()).await.unwrap())
        });
        rt.block_on(async {
            let p = provider(Arc::clone(&storage)).await;
            let client = redis::Client::open(server.url()).unwrap();
            let mut c = client.get_multiplexed_async_connection().await.unwrap();
            let code = authorize(&p, "bench").await;
            // The first exchange and refresh load the scripts (SCRIPT LOAD after NOSCRIPT).
            let (access, token) = exchange(&p, "bench", &code).await;
            refresh(&p, "bench", &token).await;
            full_flow(&p).await;
            println!("(EVALSHA is one round trip; the calls a script makes inside Redis are counted too)");
            const N: u64 = 50;
            per_op(&mut c, "verify", N, || async {
                p.verify_access_token(&access).await.unwrap();
            })
            .await;
            let mut codes = Vec::new();
            for _ in 0..N {
                codes.push(authorize(&p, "bench").await);
            }
            let mut next = codes.into_iter();
            per_op(&mut c, "exchange", N, || {
                let code = next.next().unwrap();
                let p = &p;
                async move {
                    exchange(p, "bench", &code).await;
                }
            })
            .await;
            let mut tokens = Vec::new();
            for _ in 0..N {
                tokens.push(token_of(&p).await);
            }
            let mut next = tokens.into_iter();
            per_op(&mut c, "refresh", N, || {
                let token = next.next().unwrap();
                let p = &p;
                async move {
                    refresh(p, "bench", &token).await;
                }
            })
            .await;
            per_op(&mut c, "full flow", N, || full_flow(&p)).await;
        });
        Some((server, storage))
    }

    async fn token_of(p: &Bench) -> String {
        let code = authorize(p, "bench").await;
        exchange(p, "bench", &code).await.1
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    bench_backend(c, &rt, "memory", Arc::new(MemoryStorage::new()));
    #[cfg(feature = "redis")]
    if let Some((_server, storage)) = redis_side::start(&rt) {
        bench_backend(c, &rt, "redis", storage);
    }
}

criterion_group! {
    name = storage;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(storage);
