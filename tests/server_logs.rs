//! The server's log (stderr) over a whole flow at `RUST_LOG=trace`: a line
//! per request with its route template, status, latency, request id and
//! client, the audit events, and none of the secrets handed out.

mod e2e;

use serde_json::json;

use e2e::*;

/// The first log line containing every one of `parts`.
fn line_with<'a>(logs: &'a [String], parts: &[&str]) -> Option<&'a String> {
    logs.iter().find(|line| parts.iter().all(|part| line.contains(part)))
}

fn token_form<'a>(client_id: &'a str, code: &'a str) -> [(&'static str, &'a str); 5] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("client_id", client_id),
        ("code_verifier", VERIFIER),
    ]
}

/// Consent approved and the code exchanged: the code and the token answer.
fn exchange(server: &Server, client_id: &str) -> (String, serde_json::Value) {
    let consent = server.consent(client_id, "again");
    let approved = post_consent(server, &consent.submission("approve"), Some(&consent.cookie));
    let (_, pairs) = location_params(&approved);
    let code = param(&pairs, "code").expect("a code").to_string();
    let tokens = server.post_form("/token", &token_form(client_id, &code), &[]);
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    (code, tokens.json())
}

#[test]
fn a_whole_flow_logs_requests_and_audit_events_but_no_secret() {
    let mut server = start_logging(&[], &[("RUST_LOG", "trace")]);
    let mut secrets: Vec<String> = vec![VERIFIER.to_string()];

    // A public client: consent, code, tokens, the MCP endpoint, refresh, revoke.
    let client_id = server.register("logged");
    let consent = server.consent(&client_id, "log-state-0123456789");
    secrets.push(param(&consent.fields, "csrf_token").unwrap().to_string());
    secrets.push(consent.cookie.split_once('=').unwrap().1.to_string());
    let approved = post_consent(&server, &consent.submission("approve"), Some(&consent.cookie));
    let (_, pairs) = location_params(&approved);
    let code = param(&pairs, "code").expect("a code").to_string();
    secrets.push(code.clone());
    let tokens =
        server.post_form("/token", &token_form(&client_id, &code), &[("X-Request-Id", "e2e-exchange-1")]);
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    assert_eq!(tokens.header("x-request-id"), Some("e2e-exchange-1"), "a safe incoming id is echoed");
    let tokens = tokens.json();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}});
    assert_eq!(server.mcp(&access, &call).status, 200);
    // Refresh twice, then present the first refresh token again: reuse.
    let first = server.refresh(&client_id, &refresh).json();
    let first_refresh = first["refresh_token"].as_str().unwrap().to_string();
    let second = server.refresh(&client_id, &first_refresh).json();
    assert_eq!(server.refresh(&client_id, &refresh).status, 400, "reuse of a rotated refresh token");
    for pair in [&first, &second] {
        secrets
            .extend(["access_token", "refresh_token"].map(|name| pair[name].as_str().unwrap().to_string()));
    }
    // A second grant, revoked; a third, whose code is presented twice.
    let (revoked_code, revoked) = exchange(&server, &client_id);
    let revoke = [("token", revoked["refresh_token"].as_str().unwrap()), ("client_id", client_id.as_str())];
    assert_eq!(server.post_form("/revoke", &revoke, &[]).status, 200);
    let (replayed_code, replayed) = exchange(&server, &client_id);
    let replay = token_form(&client_id, &replayed_code);
    assert_eq!(server.post_form("/token", &replay, &[]).status, 400, "a replayed code");
    for (code, tokens) in [(revoked_code, revoked), (replayed_code, replayed)] {
        secrets.push(code);
        secrets
            .extend(["access_token", "refresh_token"].map(|name| tokens[name].as_str().unwrap().to_string()));
    }

    // A confidential client: a wrong secret, then its secret. Registration
    // never grants client_credentials, and a registered client introspects
    // only its own tokens, so the user's token is inactive to it.
    let metadata = json!({"redirect_uris": ["http://127.0.0.1/callback"], "client_name": "machine",
        "token_endpoint_auth_method": "client_secret_post"});
    let registered = server.post_json("/register", &metadata, &[]).json();
    let machine = registered["client_id"].as_str().unwrap().to_string();
    let secret = registered["client_secret"].as_str().expect("a secret").to_string();
    let (live_code, live) = exchange(&server, &client_id);
    let live_access = live["access_token"].as_str().unwrap().to_string();
    let introspect = |secret: &str| {
        let form = [("token", live_access.as_str()), ("client_id", &machine), ("client_secret", secret)];
        server.post_form("/introspect", &form, &[])
    };
    let wrong = format!("{secret}-wrong");
    assert_eq!(introspect(&wrong).status, 401);
    let authenticated = introspect(&secret);
    assert_eq!(authenticated.status, 200);
    assert_eq!(authenticated.json()["active"], false, "another client's token");
    // An unsafe incoming request id is replaced; an unknown path is "unmatched".
    let odd = server.get("/no/such/path?code=query-secret-value", &[("X-Request-Id", "bad id\"")]);
    assert_eq!(odd.status, 404);
    assert_ne!(odd.header("x-request-id"), Some("bad id\""));
    let fresh_id = odd.header("x-request-id").expect("a request id").to_string();

    secrets.extend([access, refresh, secret, wrong, live_code, live_access]);
    let logs = server.stop_and_read_logs();
    let all = logs.join("\n");

    for secret in &secrets {
        assert!(!all.contains(secret.as_str()), "{secret} in the log:\n{all}");
        // Tokens are `<grant id>.<secret>`: the secret half must not leak alone.
        if let Some((_, tail)) = secret.split_once('.') {
            assert!(!all.contains(tail), "the secret part of {secret} in the log:\n{all}");
        }
    }
    for query_part in
        ["query-secret-value", "code_challenge", "response_type=", "/no/such/path", "state=log-state"]
    {
        assert!(!all.contains(query_part), "{query_part:?}: no path or query in the log:\n{all}");
    }

    // What an operator gets: one line per request, with its route template,
    // status, latency, request id and client.
    let exchange =
        line_with(&logs, &["request_id=\"e2e-exchange-1\"", "route=\"/token\"", "status=200", "response"]);
    let exchange = exchange.unwrap_or_else(|| panic!("the exchange's line in:\n{all}"));
    assert!(exchange.contains(&format!("client_id=\"{client_id}\"")), "{exchange}");
    assert!(exchange.contains("method=\"POST\"") && exchange.contains("latency_ms="), "{exchange}");
    assert!(
        line_with(&logs, &["route=\"/mcp\"", "status=200", &format!("client_id=\"{client_id}\"")]).is_some()
    );
    assert!(line_with(&logs, &["route=\"/authorize\"", "method=\"GET\"", &client_id]).is_some(), "{all}");
    assert!(line_with(&logs, &["route=\"unmatched\"", "status=404", &fresh_id]).is_some(), "{all}");
    assert!(line_with(&logs, &["route=\"/introspect\"", "status=401", &format!("client_id=\"{machine}\"")])
        .is_some());
    // Audit events, with their levels.
    for (level, kind) in [
        ("INFO", "kind=\"client_registered\""),
        ("INFO", "kind=\"authorization_granted\""),
        ("INFO", "kind=\"code_exchanged\""),
        ("INFO", "kind=\"refresh_rotated\""),
        ("WARN", "kind=\"refresh_reused\""),
        ("INFO", "kind=\"grant_revoked\""),
        ("WARN", "kind=\"code_replayed\""),
        ("WARN", "kind=\"client_auth_failed\""),
    ] {
        assert!(
            line_with(&logs, &[level, "simply_mcp_oauth::audit", kind]).is_some(),
            "{level} {kind} in:\n{all}"
        );
    }
    assert!(
        logs.iter().any(|line| line.contains("TRACE") || line.contains("DEBUG")),
        "RUST_LOG=trace is honoured"
    );
}

#[test]
fn rust_log_wins_and_debug_is_the_default_it_raises() {
    let lines = |args: &[&str], rust_log: &str| {
        let mut server = start_logging(args, &[("RUST_LOG", rust_log)]);
        assert_eq!(server.get("/health", &[]).status, 200);
        server.stop_and_read_logs()
    };
    let has = |logs: &[String], level: &str| logs.iter().any(|line| line.contains(level));
    // An empty RUST_LOG: `info`, or `debug` with --debug or SIMPLY_MCP_OAUTH_DEBUG.
    let plain = lines(&[], "");
    assert!(has(&plain, " INFO ") && !has(&plain, "DEBUG"), "{plain:?}");
    let debug = lines(&["--debug"], "");
    assert!(line_with(&debug, &["DEBUG", "route=\"/health\""]).is_some(), "{debug:?}");
    let mut server = start_logging(&[], &[("RUST_LOG", ""), ("SIMPLY_MCP_OAUTH_DEBUG", "true")]);
    assert_eq!(server.get("/health", &[]).status, 200);
    assert!(has(&server.stop_and_read_logs(), "DEBUG"));
    // RUST_LOG says warn: no request lines, even with --debug.
    let quiet = lines(&["--debug"], "warn");
    assert!(!has(&quiet, " INFO ") && !has(&quiet, "DEBUG"), "{quiet:?}");
}
