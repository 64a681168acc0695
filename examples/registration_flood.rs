//! A registration flood on the fake clock: `--hours` of `--rate` attempts a
//! second at `/register`, each from a new address (so only the ceiling for
//! everyone holds it back), through the HTTP layer with the default limits
//! and `MemoryStorage`. Prints, every `--every` hours, what was accepted and
//! refused and how many clients the store holds: registrations that never
//! complete expire after `registrationLifetime`, so the store levels off at
//! about `registerTotal.limit × (1 + lifetime / period)` instead of growing.
//!
//!   cargo run --release --features rate-limit --example registration_flood -- [--hours 72] [--rate 10] [--every 6]
//!
//! (`scripts/registration-flood.sh` runs it, and floods the real server too.)

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;
use simply_mcp_oauth::clock::{Clock, FakeClock};
use simply_mcp_oauth::http::{ClientIp, OAuthHttp};
use simply_mcp_oauth::storage::Storage;
use simply_mcp_oauth::{MemoryStorage, Provider, ProviderConfig};

/// Runs a future that never waits (memory storage, the in-memory limiter).
fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} takes a whole number")))
        .unwrap_or(default)
}

fn main() {
    let (hours, rate, every) = (arg("--hours", 72), arg("--rate", 10), arg("--every", 6).max(1));
    let clock = FakeClock::at(1_700_000_000);
    let config = ProviderConfig::new("https://auth.example.com");
    let (lifetime, total) = (config.registration_lifetime, config.rate_limits.register_total);
    let provider = Provider::new(config, MemoryStorage::new()).unwrap().with_clock(clock.clone());
    let oauth = OAuthHttp::new(provider);
    let body = Bytes::from_static(
        br#"{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none"}"#,
    );

    match total {
        Some(rule) => println!(
            "registerTotal {} per {} s, registrationLifetime {lifetime} s: bound {} clients; {rate} attempts/s\n",
            rule.limit,
            rule.period,
            rule.limit as u64 * (1 + lifetime / rule.period)
        ),
        None => println!("registerTotal off: no bound\n"),
    }
    println!("| hour | attempts | accepted | refused (429) | clients stored | most stored | approx. bytes |");
    println!("|-----:|---------:|---------:|--------------:|---------------:|------------:|--------------:|");
    let started = Instant::now();
    let (mut attempts, mut accepted, mut refused, mut most, mut n) = (0u64, 0u64, 0u64, 0usize, 0u64);
    for hour in 1..=hours {
        for _ in 0..3600 {
            for _ in 0..rate {
                n += 1;
                let mut request = http::Request::new(body.clone());
                *request.method_mut() = http::Method::POST;
                *request.uri_mut() = http::Uri::from_static("/register");
                request
                    .headers_mut()
                    .insert("content-type", http::HeaderValue::from_static("application/json"));
                let ip = format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255);
                request.extensions_mut().insert(ClientIp(ip));
                attempts += 1;
                match run(oauth.handle(request)).status().as_u16() {
                    201 => accepted += 1,
                    429 => refused += 1,
                    other => panic!("unexpected status {other}"),
                }
            }
            clock.advance(1);
        }
        let stored = run(oauth.provider().storage().list_clients()).unwrap().len();
        most = most.max(stored);
        if hour % every == 0 || hour == hours {
            let bytes = run(oauth.provider().storage().stats(clock.now())).unwrap().memory_usage.unwrap_or(0);
            println!("| {hour:>4} | {attempts:>8} | {accepted:>8} | {refused:>13} | {stored:>14} | {most:>11} | {bytes:>13} |");
        }
    }
    eprintln!("\n{attempts} requests in {:.1} s of wall time", started.elapsed().as_secs_f64());
}
