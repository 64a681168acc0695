//! The figures of `scripts/bench.sh`: verify, code exchange, refresh and a
//! full flow (register -> authorize -> exchange -> verify -> refresh ->
//! revoke) through the `Provider` API, on `MemoryStorage` and (feature
//! `redis`) on `RedisStorage`. Prints one JSON object per line; the script
//! turns them into the table.
//!
//! - Each operation runs on a single-threaded tokio runtime (one core), one at
//!   a time, timed one by one: median and p99 from those timings. Inputs
//!   (codes, refresh tokens) are made beforehand, outside the timings.
//! - `ops_per_sec` of verify is the median of five passes with no clock calls
//!   inside the loop; for the others it is `count / sum of the timings`.
//! - Redis: a server of its own on a free loopback port, or `REDIS_URL`.
//!   Verify also runs with `BENCH_REDIS_CONCURRENCY` (default 16) tasks in
//!   flight on one connection, to set beside `redis-benchmark -c` that many.
//!   Before timing, each operation runs with `MONITOR` watching: round trips
//!   are the commands this client sent, "commands" adds the calls Lua
//!   scripts make inside Redis (the `INFO commandstats` delta counts those).
//!
//! `cargo bench --bench ops --all-features` measures; run any other way (e.g.
//! `cargo test --bench ops --all-features`), or with `--smoke`, each
//! operation runs a few times: the smoke pass.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use simply_mcp_oauth::MemoryStorage;
use tokio::runtime::Runtime;

mod common;

use common::*;

/// Iteration counts: `(verify throughput, verify timed, exchange/refresh, full flow)`.
#[derive(Clone, Copy)]
struct Counts {
    verify_pass: usize,
    verify_timed: usize,
    token: usize,
    flow: usize,
}

const MEMORY: Counts = Counts { verify_pass: 3_000_000, verify_timed: 300_000, token: 50_000, flow: 20_000 };
#[cfg(feature = "redis")]
const REDIS: Counts = Counts { verify_pass: 50_000, verify_timed: 50_000, token: 10_000, flow: 3_000 };
const SMOKE: Counts = Counts { verify_pass: 20, verify_timed: 20, token: 5, flow: 3 };

/// Verify's ops/s is the median of this many passes of `verify_pass / VERIFY_PASSES`.
const VERIFY_PASSES: usize = 5;

fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "dev"
    } else {
        "bench"
    }
}

/// Per-operation timings in nanoseconds.
#[derive(Default)]
struct Timings(Vec<u64>);

impl Timings {
    async fn time<F: std::future::Future>(&mut self, op: F) -> F::Output {
        let started = Instant::now();
        let out = op.await;
        self.0.push(started.elapsed().as_nanos() as u64);
        out
    }

    fn total(&self) -> Duration {
        Duration::from_nanos(self.0.iter().sum())
    }

    /// `(median, p99)` in nanoseconds (nearest rank).
    fn percentiles(&mut self) -> (u64, u64) {
        self.0.sort_unstable();
        let n = self.0.len();
        let rank = |p: usize| self.0[((n * p).div_ceil(100)).clamp(1, n) - 1];
        (rank(50), rank(99))
    }
}

/// One row of the table, printed as a JSON line.
fn row(backend: &str, op: &str, concurrency: usize, ops_per_sec: f64, timings: &mut Timings, extra: Value) {
    let (p50, p99) = timings.percentiles();
    let mut line = json!({
        "backend": backend,
        "op": op,
        "profile": profile(),
        "concurrency": concurrency,
        "samples": timings.0.len(),
        "ops_per_sec": ops_per_sec.round(),
        "p50_us": p50 as f64 / 1000.0,
        "p99_us": p99 as f64 / 1000.0,
    });
    if let (Value::Object(line), Value::Object(extra)) = (&mut line, extra) {
        line.extend(extra);
    }
    println!("{line}");
}

fn per_sec(count: usize, spent: Duration) -> f64 {
    count as f64 / spent.as_secs_f64()
}

/// Sequential measurements of every operation on one backend.
fn measure(rt: &Runtime, backend: &str, p: &Bench, counts: Counts, extras: &dyn Fn(&str) -> Value) {
    rt.block_on(async {
        let access = fresh_access(p).await;

        // Verify: warm-up, passes with no clock inside the loop (the median
        // pass gives ops/s, so one pass disturbed by the machine does not), then timed.
        for _ in 0..counts.verify_timed.min(10_000) {
            verify(p, &access).await;
        }
        let mut rates = Vec::with_capacity(VERIFY_PASSES);
        for _ in 0..VERIFY_PASSES {
            let started = Instant::now();
            for _ in 0..counts.verify_pass / VERIFY_PASSES {
                verify(p, &access).await;
            }
            rates.push(per_sec(counts.verify_pass / VERIFY_PASSES, started.elapsed()));
        }
        rates.sort_by(f64::total_cmp);
        let throughput = rates[VERIFY_PASSES / 2];
        let mut t = Timings::default();
        for _ in 0..counts.verify_timed {
            t.time(verify(p, &access)).await;
        }
        row(backend, "verify", 1, throughput, &mut t, extras("verify"));

        let codes = inputs(counts.token, async || fresh_code(p).await).await;
        let mut t = Timings::default();
        for code in &codes {
            t.time(exchange(p, CLIENT, code)).await;
        }
        row(backend, "exchange", 1, per_sec(t.0.len(), t.total()), &mut t, extras("exchange"));

        // A fresh grant for every refresh: a grant refreshed thousands of times
        // in a row remembers thousands of live access tokens, which no client does.
        let tokens = inputs(counts.token, async || fresh_refresh(p).await).await;
        let mut t = Timings::default();
        for token in &tokens {
            t.time(refresh(p, CLIENT, token)).await;
        }
        row(backend, "refresh", 1, per_sec(t.0.len(), t.total()), &mut t, extras("refresh"));

        let mut t = Timings::default();
        for _ in 0..counts.flow {
            t.time(full_flow(p)).await;
        }
        row(backend, "full_flow", 1, per_sec(t.0.len(), t.total()), &mut t, extras("full_flow"));
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let smoke = !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--smoke");
    let rt = single_thread();

    // scripts/bench.sh runs this a second time built with sha2's portable
    // code (`--features sha2/force-soft`), to show what the CPU's SHA
    // instructions are worth: wasm has none.
    let label = std::env::var("BENCH_MEMORY_LABEL").unwrap_or_else(|_| "native memory".into());
    let memory = rt.block_on(provider(Arc::new(MemoryStorage::new())));
    let none = |_: &str| json!({ "round_trips": null, "commands": null });
    measure(&rt, &label, &memory, if smoke { SMOKE } else { MEMORY }, &none);
    drop(memory);
    if std::env::var_os("BENCH_MEMORY_ONLY").is_some() {
        return;
    }

    #[cfg(feature = "redis")]
    redis_side::run(&rt, smoke);
    #[cfg(not(feature = "redis"))]
    eprintln!("built without the `redis` feature: Redis rows skipped");
}

#[cfg(feature = "redis")]
mod redis_side {
    use std::collections::BTreeMap;
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;

    use super::*;
    use simply_mcp_oauth::provider::ClientAuth;
    use simply_mcp_oauth::storage::{RedisConfig, RedisStorage};
    use simply_mcp_oauth::Storage;

    /// What one operation sends, per run.
    #[derive(Default)]
    struct Sent {
        /// Commands from this client (round trips), by name.
        top: BTreeMap<String, f64>,
        /// Commands Lua scripts called inside Redis, by name.
        lua: BTreeMap<String, f64>,
        /// `INFO commandstats` delta per run (every command, scripts' included).
        commandstats: f64,
        /// Round trips per run (the proxy's count).
        round_trips: f64,
    }

    impl Sent {
        fn extra(&self) -> Value {
            let describe = |m: &BTreeMap<String, f64>| {
                m.iter().map(|(name, n)| format!("{name} {}", trim(*n))).collect::<Vec<_>>().join(", ")
            };
            json!({
                "round_trips": self.round_trips,
                "commands_sent": self.top.values().sum::<f64>(),
                "commands": self.commandstats,
                "sent": describe(&self.top),
                "in_lua": describe(&self.lua),
            })
        }
    }

    fn trim(n: f64) -> String {
        if n.fract() == 0.0 {
            format!("{n:.0}")
        } else {
            format!("{n:.2}")
        }
    }

    /// A loopback TCP proxy to Redis that counts round trips: each time a
    /// client sends after Redis has answered (or first) is one. Exact for
    /// one operation at a time; a pipeline is one round trip.
    struct TurnCounter {
        url: String,
        turns: Arc<std::sync::atomic::AtomicU64>,
    }

    impl TurnCounter {
        fn start(upstream: &str) -> Self {
            use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (host, port) = host_port(upstream);
            let upstream = format!("{host}:{port}");
            let turns = Arc::new(AtomicU64::new(0));
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("redis://{}", listener.local_addr().unwrap());
            listener.set_nonblocking(true).unwrap();
            let counted = Arc::clone(&turns);
            std::thread::spawn(move || {
                let rt = single_thread();
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    loop {
                        let Ok((client, _)) = listener.accept().await else { return };
                        let server = tokio::net::TcpStream::connect(&upstream).await.unwrap();
                        let _ = (client.set_nodelay(true), server.set_nodelay(true));
                        let (mut client_read, mut client_write) = client.into_split();
                        let (mut server_read, mut server_write) = server.into_split();
                        // Whether the last bytes went from Redis to the client.
                        let answered = Arc::new(AtomicBool::new(true));
                        let (answered_up, turns) = (Arc::clone(&answered), Arc::clone(&counted));
                        tokio::spawn(async move {
                            let mut buf = vec![0u8; 64 * 1024];
                            while let Ok(n @ 1..) = client_read.read(&mut buf).await {
                                if answered_up.swap(false, Ordering::SeqCst) {
                                    turns.fetch_add(1, Ordering::SeqCst);
                                }
                                if server_write.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                            }
                        });
                        tokio::spawn(async move {
                            let mut buf = vec![0u8; 64 * 1024];
                            while let Ok(n @ 1..) = server_read.read(&mut buf).await {
                                if client_write.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                                answered.store(true, Ordering::SeqCst);
                            }
                        });
                    }
                });
            });
            Self { url, turns }
        }

        fn turns(&self) -> u64 {
            self.turns.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    /// `redis-cli MONITOR` in a child process, its lines on a channel.
    struct Monitor {
        child: std::process::Child,
        lines: mpsc::Receiver<String>,
        marks: redis::aio::MultiplexedConnection,
        seq: u64,
    }

    impl Monitor {
        async fn start(url: &str) -> Self {
            let (host, port) = host_port(url);
            let mut child = Command::new("redis-cli")
                .args(["-h", &host, "-p", &port, "monitor"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-cli on PATH (Debian: redis-tools)");
            let stdout = child.stdout.take().unwrap();
            let (tx, lines) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            let client = redis::Client::open(url).unwrap();
            let marks = client.get_multiplexed_async_connection().await.unwrap();
            let mut monitor = Self { child, lines, marks, seq: 0 };
            // MONITOR answers OK first; wait until it sees commands.
            monitor.until_mark(|_| {}).await;
            monitor
        }

        /// Sends a marker and hands every line before it to `each`.
        async fn until_mark(&mut self, mut each: impl FnMut(&str)) {
            self.seq += 1;
            let mark = format!("bench-mark-{}", self.seq);
            let deadline = Instant::now() + Duration::from_secs(10);
            'outer: loop {
                let _: String = redis::cmd("ECHO").arg(&mark).query_async(&mut self.marks).await.unwrap();
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    if line.contains(&mark) {
                        break 'outer;
                    }
                    each(&line);
                }
                assert!(Instant::now() < deadline, "MONITOR saw no marker");
            }
        }
    }

    impl Drop for Monitor {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn host_port(url: &str) -> (String, String) {
        let rest = url.trim_start_matches("redis://");
        let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
        let rest = rest.split('/').next().unwrap_or(rest);
        match rest.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.to_string()),
            None => (rest.to_string(), "6379".to_string()),
        }
    }

    /// `1700000000.123456 [0 127.0.0.1:5000] "GET" "key"` -> (from Lua?, "get").
    fn parse_monitor(line: &str) -> Option<(bool, String)> {
        let (_, rest) = line.split_once('[')?;
        let (source, rest) = rest.split_once(']')?;
        let name = rest.trim().strip_prefix('"')?.split('"').next()?.to_ascii_lowercase();
        Some((source.ends_with(" lua"), name))
    }

    async fn commandstats(c: &mut redis::aio::MultiplexedConnection) -> u64 {
        let info: String = redis::cmd("INFO").arg("commandstats").query_async(c).await.unwrap();
        info.lines()
            .filter_map(|line| {
                let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
                let n: u64 = rest.split(',').find_map(|kv| kv.strip_prefix("calls="))?.parse().ok()?;
                // Our own INFO and ECHO calls are not the operation's.
                (name != "info" && name != "echo").then_some(n)
            })
            .sum()
    }

    /// Runs `op` `n` times under MONITOR and `INFO commandstats`.
    async fn count<F: std::future::Future<Output = ()>>(
        (monitor, proxy): (&mut Monitor, &TurnCounter),
        n: usize,
        mut op: impl FnMut(usize) -> F,
    ) -> Sent {
        let mut marks = monitor.marks.clone();
        let before = commandstats(&mut marks).await;
        monitor.until_mark(|_| {}).await;
        let turns = proxy.turns();
        for i in 0..n {
            op(i).await;
        }
        let round_trips = (proxy.turns() - turns) as f64 / n as f64;
        let (mut top, mut in_lua) = (BTreeMap::<String, u64>::new(), BTreeMap::<String, u64>::new());
        monitor
            .until_mark(|line| {
                if let Some((lua, name)) = parse_monitor(line) {
                    if name != "info" && name != "echo" {
                        *(if lua { &mut in_lua } else { &mut top }).entry(name).or_default() += 1;
                    }
                }
            })
            .await;
        let per_run =
            |m: BTreeMap<String, u64>| m.into_iter().map(|(k, v)| (k, v as f64 / n as f64)).collect();
        let mut sent = Sent { top: per_run(top), lua: per_run(in_lua), commandstats: 0.0, round_trips };
        let after = commandstats(&mut marks).await;
        sent.commandstats = (after - before) as f64 / n as f64;
        sent
    }

    /// What each operation sends, through a provider of its own connected via a [`TurnCounter`].
    async fn sent_per_op(url: &str) -> BTreeMap<&'static str, Value> {
        const N: usize = 20;
        let proxy = TurnCounter::start(url);
        let storage: Arc<dyn Storage> =
            Arc::new(RedisStorage::connect(RedisConfig::from_url(&proxy.url).unwrap()).await.unwrap());
        let p = &provider(storage).await;
        full_flow(p).await;
        let mut monitor = Monitor::start(url).await;
        let monitor = &mut monitor;
        let access = fresh_access(p).await;
        let mut out = BTreeMap::new();
        let sent = count((&mut *monitor, &proxy), N, |_| verify(p, &access)).await;
        out.insert("verify", sent.extra());
        let codes = inputs(N, async || fresh_code(p).await).await;
        let sent = count((&mut *monitor, &proxy), N, |i| {
            let code = codes[i].clone();
            async move {
                exchange(p, CLIENT, &code).await;
            }
        })
        .await;
        out.insert("exchange", sent.extra());
        let tokens = inputs(N, async || fresh_refresh(p).await).await;
        let sent = count((&mut *monitor, &proxy), N, |i| {
            let token = tokens[i].clone();
            async move {
                refresh(p, CLIENT, &token).await;
            }
        })
        .await;
        out.insert("refresh", sent.extra());
        let sent = count((&mut *monitor, &proxy), N, |_| full_flow(p)).await;
        out.insert("full_flow", sent.extra());
        // The full flow's other steps, for the breakdown under the table.
        let sent = count((&mut *monitor, &proxy), N, |_| async {
            p.register_client(public_metadata()).await.expect("registration");
        })
        .await;
        out.insert("register", sent.extra());
        let sent = count((&mut *monitor, &proxy), N, |_| async {
            authorize(p, CLIENT).await;
        })
        .await;
        out.insert("authorize", sent.extra());
        let tokens = inputs(N, async || fresh_refresh(p).await).await;
        let sent = count((&mut *monitor, &proxy), N, |i| {
            let token = tokens[i].clone();
            async move {
                p.revoke(&ClientAuth::public(CLIENT), &token).await.expect("revoke");
            }
        })
        .await;
        out.insert("revoke", sent.extra());
        out
    }

    /// Verify with `tasks` in flight on the one (multiplexed) connection.
    async fn concurrent_verify(p: &Bench, tasks: usize, total: usize) -> (f64, Timings) {
        let access = Arc::new(fresh_access(p).await);
        let per_task = total.div_ceil(tasks);
        let started = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let p = Arc::clone(p);
                let access = Arc::clone(&access);
                tokio::spawn(async move {
                    let mut t = Timings::default();
                    for _ in 0..per_task {
                        t.time(verify(&p, &access)).await;
                    }
                    t.0
                })
            })
            .collect();
        let mut all = Timings::default();
        for handle in handles {
            all.0.extend(handle.await.unwrap());
        }
        (per_sec(all.0.len(), started.elapsed()), all)
    }

    pub fn run(rt: &Runtime, smoke: bool) {
        let Some((_server, url)) = redis_target() else { return };
        let p = rt.block_on(async {
            let storage: Arc<dyn Storage> =
                Arc::new(RedisStorage::connect(RedisConfig::from_url(&url).unwrap()).await.unwrap());
            let p = provider(storage).await;
            // The first exchange, refresh and revoke load the scripts (NOSCRIPT, then SCRIPT LOAD).
            full_flow(&p).await;
            p
        });
        let sent = rt.block_on(sent_per_op(&url));
        let extras = |op: &str| sent.get(op).cloned().unwrap_or(Value::Null);
        measure(rt, "native redis", &p, if smoke { SMOKE } else { REDIS }, &extras);
        for step in ["register", "authorize", "revoke"] {
            println!("{}", json!({ "redis_step": step, "detail": extras(step) }));
        }

        let tasks: usize =
            std::env::var("BENCH_REDIS_CONCURRENCY").ok().and_then(|v| v.parse().ok()).unwrap_or(16);
        let total = if smoke { 32 } else { 200_000 };
        let (throughput, mut t) = rt.block_on(async {
            concurrent_verify(&p, tasks, total / 10).await; // warm-up
            concurrent_verify(&p, tasks, total).await
        });
        row("native redis", "verify", tasks, throughput, &mut t, extras("verify"));

        let (rounds, per_round) = if smoke { (1, 200) } else { (7, 40_000) };
        for concurrency in [1, tasks] {
            rt.block_on(beside_redis_benchmark(&p, &url, concurrency, rounds, per_round));
        }
    }

    /// Verify, a bare GET through the redis crate and `redis-benchmark -t
    /// get`, all at the same concurrency, taking turns for `rounds` rounds so
    /// that all three see the same machine (a shared VM drifts by more than
    /// the 20% the target allows between two runs minutes apart). The bare
    /// GET tells the client library's cost from ours. Prints every round and
    /// the medians of the per-round ratios.
    async fn beside_redis_benchmark(p: &Bench, url: &str, concurrency: usize, rounds: usize, n: usize) {
        let (host, port) = host_port(url);
        // redis-benchmark GETs this one key (no -r); a value the size of an access record.
        const KEY: &str = "key:__rand_int__";
        let mut c = redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap();
        let _: () = redis::cmd("SET").arg(KEY).arg("x".repeat(300)).query_async(&mut c).await.unwrap();
        let mut measured = Vec::new();
        for _ in 0..rounds {
            let (verify, _) = concurrent_verify(p, concurrency, n).await;
            let crate_get = concurrent_get(&c, KEY, concurrency, n).await;
            let output = Command::new("redis-benchmark")
                .args(["-h", &host, "-p", &port, "-t", "get", "-q", "-n", &n.to_string()])
                .args(["-c", &concurrency.to_string()])
                .stdin(Stdio::null())
                .output()
                .expect("redis-benchmark on PATH (Debian: redis-tools)");
            let benchmark_get = get_per_sec(&String::from_utf8_lossy(&output.stdout))
                .unwrap_or_else(|| panic!("redis-benchmark printed no GET rate: {output:?}"));
            measured.push((verify, crate_get, benchmark_get));
        }
        let median = |ratio: fn(&(f64, f64, f64)) -> f64| {
            let mut ratios: Vec<f64> = measured.iter().map(ratio).collect();
            ratios.sort_by(f64::total_cmp);
            ratios[ratios.len() / 2]
        };
        let rounds: Vec<Value> = measured
            .iter()
            .map(|(verify, crate_get, get)| json!({ "verify": verify.round(), "crate_get": crate_get.round(), "get": get }))
            .collect();
        println!(
            "{}",
            json!({
                "beside_redis_benchmark": true,
                "concurrency": concurrency,
                "rounds": rounds,
                "median_ratio": median(|(verify, _, get)| verify / get),
                "median_crate_ratio": median(|(_, crate_get, get)| crate_get / get),
                "median_verify_to_crate": median(|(verify, crate_get, _)| verify / crate_get),
                "command": format!("redis-benchmark -t get -q -n {n} -c {concurrency}"),
            })
        );
    }

    /// GETs of one key with `tasks` in flight on one multiplexed connection:
    /// the redis crate alone.
    async fn concurrent_get(
        connection: &redis::aio::MultiplexedConnection,
        key: &'static str,
        tasks: usize,
        total: usize,
    ) -> f64 {
        let per_task = total.div_ceil(tasks);
        let started = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let mut connection = connection.clone();
                tokio::spawn(async move {
                    for _ in 0..per_task {
                        let _: Option<String> =
                            redis::cmd("GET").arg(key).query_async(&mut connection).await.expect("GET");
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        per_sec(per_task * tasks, started.elapsed())
    }

    /// The GET rate from `redis-benchmark -q` output (`GET: 41666.67 requests per second, p50=...`).
    fn get_per_sec(output: &str) -> Option<f64> {
        let line = output.split(['\r', '\n']).rfind(|l| l.starts_with("GET: "))?;
        line.strip_prefix("GET: ")?.split_whitespace().next()?.parse().ok()
    }
}
