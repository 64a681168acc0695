//! `/health` and `/metrics` of the server binary, protected: with
//! `--ops-token` the metrics need the bearer secret and `/health` without it
//! is the status word alone; with `--ops-bind` both live on their own
//! address and the public one serves neither.

mod e2e;

use e2e::*;

const TOKEN: &str = "ops-secret-0123456789";

#[test]
fn the_ops_token_guards_metrics_and_the_health_details() {
    let mut server = start_logging(&[], &[("SIMPLY_MCP_OAUTH_OPS_TOKEN", TOKEN), ("RUST_LOG", "trace")]);
    let bearer = format!("Bearer {TOKEN}");
    for (headers, what) in [
        (vec![], "no token"),
        (vec![("authorization", "Bearer ops-secret-012345678")], "a wrong token"),
        (vec![("authorization", "Basic b3BzOm9wcw==")], "another scheme"),
    ] {
        let refused = server.get("/metrics", &headers);
        assert_eq!(refused.status, 401, "{what}: {}", refused.text());
        assert_eq!(refused.header("www-authenticate"), Some("Bearer realm=\"ops\""));
        let json = server.get("/metrics", &[&headers[..], &[("accept", "application/json")]].concat());
        assert_eq!(json.status, 401, "{what}, JSON");
        let health = server.get("/health", &headers);
        assert_eq!(health.status, 200, "liveness stays open for load balancers");
        assert_eq!(health.json(), serde_json::json!({"status": "healthy"}), "{what}: the word alone");
    }
    let scrape = server.get("/metrics", &[("authorization", &bearer)]);
    assert_eq!(scrape.status, 200);
    assert!(scrape.text().contains("simply_mcp_oauth_http_requests_total"), "{}", scrape.text());
    let health = server.get("/health", &[("authorization", &bearer)]).json();
    assert_eq!(health["storage"]["components"]["backend"], "memory", "{health}");
    let logs = server.stop_and_read_logs().join("\n");
    assert!(!logs.contains(TOKEN), "the token is never logged:\n{logs}");
}

#[test]
fn ops_bind_serves_health_and_metrics_apart() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let ops = format!("127.0.0.1:{port}");
    let server = start_with(&["--ops-bind", &ops], &[]);
    for path in ["/health", "/metrics"] {
        assert_eq!(server.get(path, &[]).status, 404, "{path} is not on the public address");
        let answer = request(&ops, "GET", path, &[], b"");
        assert_eq!(answer.status, 200, "{path} on the ops address: {}", answer.text());
    }
    // The OAuth endpoints stay on the public address only.
    assert_eq!(request(&ops, "GET", "/.well-known/oauth-authorization-server", &[], b"").status, 404);
    let _ = server.register("still served");
    let page = request(&ops, "GET", "/metrics", &[], b"").text();
    assert!(page.contains(r#"route="/register",method="POST",status="201""#), "{page}");
}

#[test]
fn ops_bind_with_a_token_needs_both() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let ops = format!("127.0.0.1:{port}");
    let _server = start_with(&["--ops-bind", &ops, "--ops-token", TOKEN], &[]);
    assert_eq!(request(&ops, "GET", "/metrics", &[], b"").status, 401);
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(request(&ops, "GET", "/metrics", &[("authorization", &bearer)], b"").status, 200);
}
