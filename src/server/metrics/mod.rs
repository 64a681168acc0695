//! Prometheus metrics: requests by route, method and status, latency
//! histograms by route, storage errors and `503`s, and the storage counts
//! read at each scrape, in the text exposition format (0.0.4).
//!
//! Written by hand rather than with `prometheus-client`: that crate writes
//! OpenMetrics only (a counter's samples end in `_total` under a `# TYPE`
//! without it, then `# EOF`), which is not the 0.0.4 format a `text/plain`
//! scrape expects, and this module is smaller than the glue it would need.
//!
//! [`observe`] is the middleware that counts requests; [`MeteredStorage`]
//! wraps a store to count its errors; [`Metrics::render`] writes the page.

mod storage;
mod text;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::StatusCode;

use super::trace::{method_label, route_label};
use crate::storage::{StorageError, StorageStats};

pub use storage::MeteredStorage;
pub use text::CONTENT_TYPE;

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// The kinds of [`StorageError`], as labels.
const STORAGE_ERROR_KINDS: [&str; 4] = ["unavailable", "conflict", "corrupt", "configuration"];

/// What the server has counted so far. Share it (`Arc`) between
/// [`observe`], [`MeteredStorage`] and the `/metrics` handler.
#[derive(Debug, Default)]
pub struct Metrics {
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    /// By (route, method, status).
    requests: BTreeMap<(String, &'static str, u16), u64>,
    /// By route.
    latency: BTreeMap<String, Histogram>,
    unavailable: u64,
    /// By index in [`STORAGE_ERROR_KINDS`].
    storage_errors: [u64; STORAGE_ERROR_KINDS.len()],
}

#[derive(Debug, Default)]
struct Histogram {
    /// Observations at or below each bound of [`LATENCY_BUCKETS`] (not cumulative).
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    /// Nothing counted yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One answered request.
    pub fn record_request(&self, route: &str, method: &'static str, status: StatusCode, latency: Duration) {
        let mut counts = self.lock();
        *counts.requests.entry((route.to_string(), method, status.as_u16())).or_default() += 1;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            counts.unavailable += 1;
        }
        let histogram = counts.latency.entry(route.to_string()).or_default();
        let seconds = latency.as_secs_f64();
        if let Some(bucket) = LATENCY_BUCKETS.iter().position(|bound| seconds <= *bound) {
            histogram.buckets[bucket] += 1;
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    /// One failed storage operation.
    pub fn record_storage_error(&self, error: &StorageError) {
        let kind = match error {
            StorageError::Unavailable(_) => 0,
            StorageError::Conflict(_) => 1,
            StorageError::Corrupt { .. } => 2,
            StorageError::Configuration(_) => 3,
        };
        self.lock().storage_errors[kind] += 1;
    }

    /// The exposition page; `stats` is the store's counts read for this
    /// scrape (`None` when the read failed: `simply_mcp_oauth_storage_up 0`
    /// and no count gauges, while the counters are still served).
    pub fn render(&self, stats: Option<&StorageStats>) -> String {
        let mut page = text::Exposition::default();
        let counts = self.lock();
        let name = "simply_mcp_oauth_http_requests_total";
        page.family(name, "counter", "HTTP requests answered, by route template, method and status.");
        for ((route, method, status), n) in &counts.requests {
            page.sample(name, &[("route", route), ("method", method), ("status", &status.to_string())], n);
        }
        let name = "simply_mcp_oauth_http_request_duration_seconds";
        page.family(name, "histogram", "Time to answer a request, by route template.");
        for (route, histogram) in &counts.latency {
            let mut cumulative = 0;
            for (bound, n) in LATENCY_BUCKETS.iter().zip(histogram.buckets) {
                cumulative += n;
                page.sample(
                    &format!("{name}_bucket"),
                    &[("route", route), ("le", &text::float(*bound))],
                    cumulative,
                );
            }
            page.sample(&format!("{name}_bucket"), &[("route", route), ("le", "+Inf")], histogram.count);
            page.sample(&format!("{name}_sum"), &[("route", route)], text::float(histogram.sum));
            page.sample(&format!("{name}_count"), &[("route", route)], histogram.count);
        }
        let name = "simply_mcp_oauth_http_unavailable_total";
        page.family(name, "counter", "503 answers (storage unavailable, or not consistent yet).");
        page.sample(name, &[], counts.unavailable);
        let name = "simply_mcp_oauth_storage_errors_total";
        page.family(name, "counter", "Failed storage operations, by kind of error.");
        for (kind, n) in STORAGE_ERROR_KINDS.iter().zip(counts.storage_errors) {
            page.sample(name, &[("kind", kind)], n);
        }
        drop(counts);
        let name = "simply_mcp_oauth_storage_up";
        page.family(name, "gauge", "1 if the storage counts could be read for this scrape, else 0.");
        page.sample(name, &[], u8::from(stats.is_some()));
        if let Some(stats) = stats {
            let gauges = [
                ("simply_mcp_oauth_clients", "Registered and configured clients.", Some(stats.client_count)),
                ("simply_mcp_oauth_access_tokens", "Live access tokens.", Some(stats.token_count)),
                ("simply_mcp_oauth_refresh_tokens", "Live refresh tokens.", Some(stats.refresh_token_count)),
                (
                    "simply_mcp_oauth_authorization_codes",
                    "Unused, unexpired authorization codes.",
                    Some(stats.authorization_code_count),
                ),
                (
                    "simply_mcp_oauth_storage_memory_bytes",
                    "Bytes the store holds (approximate).",
                    stats.memory_usage,
                ),
                (
                    "simply_mcp_oauth_storage_connections",
                    "Open connections of the store.",
                    stats.active_connections,
                ),
            ];
            for (name, help, value) in gauges {
                if let Some(value) = value {
                    page.family(name, "gauge", help);
                    page.sample(name, &[], value);
                }
            }
        }
        page.finish()
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The middleware counting each request by its route template, method and
/// status, and timing it. Add it with `Router::layer(axum::middleware::
/// from_fn_with_state(metrics, observe))` after every route.
pub async fn observe(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = route_label(&request);
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.record_request(&route, method, response.status(), started.elapsed());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_counts_add_up() {
        let metrics = Metrics::new();
        let ms = Duration::from_millis;
        metrics.record_request("/token", "POST", StatusCode::OK, ms(2));
        metrics.record_request("/token", "POST", StatusCode::OK, ms(40));
        metrics.record_request("/token", "POST", StatusCode::SERVICE_UNAVAILABLE, ms(9000));
        metrics.record_storage_error(&StorageError::Unavailable("down".into()));
        let page = metrics.render(None);
        let has = |line: &str| page.lines().any(|l| l == line);
        assert!(
            has(r#"simply_mcp_oauth_http_requests_total{route="/token",method="POST",status="200"} 2"#),
            "{page}"
        );
        assert!(has(r#"simply_mcp_oauth_http_request_duration_seconds_bucket{route="/token",le="0.001"} 0"#));
        assert!(has(
            r#"simply_mcp_oauth_http_request_duration_seconds_bucket{route="/token",le="0.0025"} 1"#
        ));
        assert!(has(r#"simply_mcp_oauth_http_request_duration_seconds_bucket{route="/token",le="0.05"} 2"#));
        assert!(has(r#"simply_mcp_oauth_http_request_duration_seconds_bucket{route="/token",le="5"} 2"#));
        assert!(has(r#"simply_mcp_oauth_http_request_duration_seconds_bucket{route="/token",le="+Inf"} 3"#));
        assert!(has(r#"simply_mcp_oauth_http_request_duration_seconds_count{route="/token"} 3"#));
        assert!(has("simply_mcp_oauth_http_unavailable_total 1"));
        assert!(has(r#"simply_mcp_oauth_storage_errors_total{kind="unavailable"} 1"#));
        assert!(has(r#"simply_mcp_oauth_storage_errors_total{kind="corrupt"} 0"#));
        assert!(has("simply_mcp_oauth_storage_up 0"));
        assert!(!page.contains("simply_mcp_oauth_clients"), "no counts when they could not be read");
    }
}
