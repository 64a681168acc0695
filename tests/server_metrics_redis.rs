//! `/metrics` while Redis is down: the scrape still answers, with the 503s
//! and the storage errors counted and `simply_mcp_oauth_storage_up 0`.

mod common;
mod e2e;
#[allow(dead_code)]
mod exposition;

use common::redis_server::RedisServer;
use e2e::*;
use exposition::scrape;

#[test]
fn an_outage_shows_in_the_counters_and_the_scrape_still_answers() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    let server = start_with(
        &["--redis-url", &url],
        &[("REDIS_CONNECTION_TIMEOUT", "500"), ("REDIS_RETRY_DELAY", "50"), ("REDIS_KEY_PREFIX", "metrics:")],
    );
    let client_id = server.register("metered");
    let (_, refresh) = server.authorize_and_exchange(&client_id);
    let up = scrape(&server);
    assert_eq!(up.value("simply_mcp_oauth_storage_up", &[]), Some(1.0));
    assert_eq!(up.value("simply_mcp_oauth_refresh_tokens", &[]), Some(1.0));
    assert_eq!(up.value("simply_mcp_oauth_storage_errors_total", &[("kind", "unavailable")]), Some(0.0));

    redis.stop();
    assert_eq!(server.refresh(&client_id, &refresh).status, 503);
    assert_eq!(server.refresh(&client_id, &refresh).status, 503);
    let down = scrape(&server);
    assert_eq!(down.value("simply_mcp_oauth_storage_up", &[]), Some(0.0));
    assert_eq!(down.value("simply_mcp_oauth_refresh_tokens", &[]), None, "no counts without the store");
    assert_eq!(down.value("simply_mcp_oauth_http_unavailable_total", &[]), Some(2.0));
    let token_503 = [("route", "/token"), ("method", "POST"), ("status", "503")];
    assert_eq!(down.value("simply_mcp_oauth_http_requests_total", &token_503), Some(2.0));
    // The two refreshes and the scrape's own read of the counts, at least.
    let errors = down.value("simply_mcp_oauth_storage_errors_total", &[("kind", "unavailable")]).unwrap();
    assert!(errors >= 3.0, "{errors} storage errors counted:\n{}", down.text);
}

/// `INFO commandstats` as command name -> calls.
fn command_calls(url: &str) -> std::collections::HashMap<String, u64> {
    let mut connection = redis::Client::open(url).unwrap().get_connection().unwrap();
    let info: String = redis::cmd("INFO").arg("commandstats").query(&mut connection).unwrap();
    common::redis_server::command_calls(&info)
}

#[test]
fn a_scrape_reads_counters_and_health_names_no_address() {
    let redis = RedisServer::start();
    let url = redis.url();
    let server = start_with(&["--redis-url", &url], &[("REDIS_KEY_PREFIX", "private-prefix:")]);
    for name in ["one", "two", "three"] {
        let client_id = server.register(name);
        let _ = server.authorize_and_exchange(&client_id);
    }
    let before = command_calls(&url);
    let page = scrape(&server);
    let json = server.metrics();
    let after = command_calls(&url);
    assert_eq!(page.value("simply_mcp_oauth_refresh_tokens", &[]), Some(3.0));
    assert_eq!(page.value("simply_mcp_oauth_clients", &[]), Some(4.0), "demo-client and three registered");
    assert_eq!((json["tokens"].as_u64(), json["refreshTokens"].as_u64()), (Some(3), Some(3)));
    let sent: std::collections::BTreeMap<String, u64> = after
        .iter()
        .map(|(name, n)| (name.clone(), n - before.get(name).copied().unwrap_or(0)))
        .filter(|(name, n)| *n > 0 && name != "info")
        .collect();
    // Two scrapes (text, JSON): four ZCOUNTs each; no SCAN, no GET per record.
    assert_eq!(sent, std::collections::BTreeMap::from([("zcount".to_string(), 8)]), "per scrape");

    let health = server.get("/health", &[]).text();
    assert!(health.contains("\"backend\":\"redis\""), "{health}");
    for hidden in ["127.0.0.1", &redis.port().to_string(), "private-prefix"] {
        assert!(!health.contains(hidden), "/health shows {hidden}: {health}");
    }
}
