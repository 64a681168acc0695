//! The native operations of the table under criterion: verify, code exchange,
//! refresh and the full flow on `MemoryStorage` and (feature `redis`) on
//! `RedisStorage`, one thread each. `scripts/bench.sh` prints criterion's
//! median and its 95% confidence interval beside the `ops` harness's figures:
//! a second measurement, by a well-known tool with its own statistics.
//!
//! `cargo bench --bench criterion --features redis` measures (estimates under
//! `$CRITERION_HOME`, default `target/criterion`); run by `cargo test`, each
//! benchmark runs once: the smoke pass.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use criterion::Criterion;
use simply_mcp_oauth::MemoryStorage;
use tokio::runtime::Runtime;

/// Times `op` on inputs made by `input` beforehand, outside the clock.
async fn timed_on_inputs<I, In, Op, F>(iters: u64, input: In, mut op: Op) -> Duration
where
    In: AsyncFnMut() -> I,
    Op: FnMut(I) -> F,
    F: Future<Output = ()>,
{
    let made = inputs(iters as usize, input).await;
    let started = Instant::now();
    for item in made {
        op(item).await;
    }
    started.elapsed()
}

/// One group per backend: `<group>/verify`, `/exchange`, `/refresh`, `/full_flow`.
fn operations(c: &mut Criterion, rt: &Runtime, group: &str, p: &Bench) {
    let access = rt.block_on(fresh_access(p));
    let mut g = c.benchmark_group(group);
    g.bench_function("verify", |b| b.to_async(rt).iter(|| verify(p, &access)));
    g.bench_function("exchange", |b| {
        b.to_async(rt).iter_custom(|iters| {
            timed_on_inputs(
                iters,
                async || fresh_code(p).await,
                |code| async move {
                    exchange(p, CLIENT, &code).await;
                },
            )
        })
    });
    g.bench_function("refresh", |b| {
        b.to_async(rt).iter_custom(|iters| {
            timed_on_inputs(
                iters,
                async || fresh_refresh(p).await,
                |token| async move {
                    refresh(p, CLIENT, &token).await;
                },
            )
        })
    });
    g.bench_function("full_flow", |b| b.to_async(rt).iter(|| full_flow(p)));
    g.finish();
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let rt = single_thread();

    let memory = rt.block_on(provider(Arc::new(MemoryStorage::new())));
    operations(&mut c, &rt, "memory", &memory);
    drop(memory);

    #[cfg(feature = "redis")]
    if let Some((_server, url)) = redis_target() {
        use simply_mcp_oauth::storage::{RedisConfig, RedisStorage};
        let redis = rt.block_on(async {
            let config = RedisConfig::from_url(&url).expect("REDIS_URL");
            let p = provider(Arc::new(RedisStorage::connect(config).await.expect("Redis"))).await;
            full_flow(&p).await; // loads the scripts
            p
        });
        operations(&mut c, &rt, "redis", &redis);
    }
    c.final_summary();
}
