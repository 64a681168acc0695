//! `/metrics` as Prometheus scrapes it: the text exposition format 0.0.4,
//! checked against the format's grammar and read by an independent parser
//! (`prometheus-parse`), with values that follow the requests. The seed's
//! JSON counts stay there for `Accept: application/json`.

mod e2e;
#[allow(dead_code)]
mod exposition;

use prometheus_parse::{Scrape, Value};
use serde_json::json;

use e2e::*;
use exposition::{scrape, Page};

#[test]
fn metrics_follow_the_requests_in_the_text_format() {
    let server = start();
    let before = scrape(&server);
    assert_eq!(before.value("simply_mcp_oauth_clients", &[]), Some(1.0));
    assert_eq!(before.value("simply_mcp_oauth_access_tokens", &[]), Some(0.0));
    assert_eq!(before.value("simply_mcp_oauth_storage_up", &[]), Some(1.0));
    assert_eq!(before.value("simply_mcp_oauth_http_unavailable_total", &[]), Some(0.0));
    assert_eq!(before.value("simply_mcp_oauth_storage_errors_total", &[("kind", "unavailable")]), Some(0.0));
    let token_ok = [("route", "/token"), ("method", "POST"), ("status", "200")];
    assert_eq!(before.value("simply_mcp_oauth_http_requests_total", &token_ok), None);

    let (access, _) = server.authorize_and_exchange("demo-client");
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    assert_eq!(server.mcp(&access, &call).status, 200);
    assert_eq!(server.mcp("not-a-token", &call).status, 401);
    assert_eq!(server.get("/no/such/path?code=abc", &[]).status, 404);

    let after = scrape(&server);
    let requests = |labels: &[(&str, &str)]| after.value("simply_mcp_oauth_http_requests_total", labels);
    assert_eq!(requests(&token_ok), Some(1.0));
    assert_eq!(requests(&[("route", "/mcp"), ("method", "POST"), ("status", "200")]), Some(1.0));
    assert_eq!(requests(&[("route", "/mcp"), ("method", "POST"), ("status", "401")]), Some(1.0));
    assert_eq!(requests(&[("route", "/authorize"), ("method", "GET"), ("status", "200")]), Some(1.0));
    assert_eq!(requests(&[("route", "/authorize"), ("method", "POST"), ("status", "303")]), Some(1.0));
    assert_eq!(requests(&[("route", "unmatched"), ("method", "GET"), ("status", "404")]), Some(1.0));
    assert_eq!(
        requests(&[("route", "/metrics"), ("method", "GET"), ("status", "200")]),
        Some(1.0),
        "the first scrape"
    );
    assert!(!after.text.contains("/no/such/path"), "route templates only, never a raw path");
    let latency = "simply_mcp_oauth_http_request_duration_seconds";
    assert_eq!(after.value(&format!("{latency}_count"), &[("route", "/token")]), Some(1.0));
    assert_eq!(after.value(&format!("{latency}_bucket"), &[("route", "/mcp"), ("le", "+Inf")]), Some(2.0));
    assert!(after.value(&format!("{latency}_sum"), &[("route", "/token")]).unwrap() > 0.0);
    // The storage counts, read at the scrape.
    assert_eq!(after.value("simply_mcp_oauth_access_tokens", &[]), Some(1.0));
    assert_eq!(after.value("simply_mcp_oauth_refresh_tokens", &[]), Some(1.0));
    assert_eq!(after.value("simply_mcp_oauth_authorization_codes", &[]), Some(0.0));

    // An independent parser reads the same page with the same types.
    let parsed = Scrape::parse(after.text.lines().map(|line| Ok(line.to_string()))).expect("parsed");
    let find = |name: &str, route: Option<&str>| {
        parsed
            .samples
            .iter()
            .find(|s| s.metric == name && route.is_none_or(|r| s.labels.get("route") == Some(r)))
            .unwrap_or_else(|| panic!("{name} in {:?}", parsed.samples))
    };
    let token_requests = parsed
        .samples
        .iter()
        .find(|s| {
            s.metric == "simply_mcp_oauth_http_requests_total"
                && s.labels.get("route") == Some("/token")
                && s.labels.get("status") == Some("200")
        })
        .expect("the /token counter");
    assert!(matches!(token_requests.value, Value::Counter(n) if n == 1.0), "{:?}", token_requests.value);
    assert!(matches!(find("simply_mcp_oauth_access_tokens", None).value, Value::Gauge(n) if n == 1.0));
    match &find(latency, Some("/mcp")).value {
        Value::Histogram(buckets) => {
            assert_eq!(buckets.last().map(|b| (b.less_than, b.count)), Some((f64::INFINITY, 2.0)));
        }
        other => panic!("a histogram, not {other:?}"),
    }
}

#[test]
fn json_for_a_request_that_accepts_it_text_otherwise() {
    let server = start();
    let content_type = |accept: Option<&str>| {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
        let response = server.get("/metrics", &headers);
        assert_eq!(response.status, 200);
        response.header("content-type").unwrap().to_string()
    };
    let text = "text/plain; version=0.0.4; charset=utf-8";
    assert_eq!(content_type(None), text);
    // What Prometheus sends.
    let prometheus =
        "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1";
    assert_eq!(content_type(Some(prometheus)), text);
    assert_eq!(content_type(Some("text/html,*/*;q=0.8")), text);
    assert_eq!(content_type(Some("application/json;q=0, text/plain")), text);
    assert_eq!(content_type(Some("application/json")), "application/json");
    assert_eq!(content_type(Some("text/plain;q=0.5, Application/JSON")), "application/json");
    assert_eq!(
        server.metrics(),
        json!({"clients": 1, "tokens": 0, "refreshTokens": 0, "authorizationCodes": 0})
    );
}

#[test]
fn the_grammar_check_refuses_what_prometheus_refuses() {
    for bad in [
        "# TYPE m counter\nm{a=\"x\"} one\n",
        "# TYPE m counter\nm{a=x} 1\n",
        "m 1\n# TYPE m counter\n",
        "# TYPE m gauge\n# TYPE m gauge\nm 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 0\n",
        "# TYPE 9m gauge\n9m 1\n",
    ] {
        assert!(Page::parse(bad.to_string()).is_err(), "{bad:?}");
    }
    let good =
        "# HELP m a \\\\ help\n# TYPE m counter\nm{a=\"x\\\"y\",b=\"\"} 1.5e3\n# TYPE g gauge\ng -Inf\n";
    assert_eq!(Page::parse(good.to_string()).unwrap().value("m", &[("a", "x\"y"), ("b", "")]), Some(1500.0));
}
