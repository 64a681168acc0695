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
