//! End to end over real HTTP: starts the `simply-mcp-oauth-server` binary on
//! a free loopback port and walks an MCP client's whole OAuth journey.

mod e2e;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use e2e::*;

#[test]
fn an_mcp_client_walks_the_whole_flow() {
    let server = start();
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "e2e", "version": "0"}}});

    // Discovery: the 401 names the resource metadata, which names the AS.
    let challenge = server.post_json("/mcp", &initialize, &[]);
    assert_eq!(challenge.status, 401);
    let www = challenge.header("www-authenticate").expect("a challenge");
    let metadata_url = www.split("resource_metadata=\"").nth(1).unwrap().split('"').next().unwrap();
    let metadata_path = metadata_url.strip_prefix(&server.issuer).expect("same server");
    let resource_metadata = server.get(metadata_path, &[]);
    assert_eq!(resource_metadata.status, 200);
    let resource_metadata = resource_metadata.json();
    assert_eq!(resource_metadata["resource"], format!("{}/mcp", server.issuer));
    assert_eq!(resource_metadata["authorization_servers"][0], server.issuer.as_str());
    let as_metadata = server.get("/.well-known/oauth-authorization-server", &[]);
    assert_eq!(as_metadata.status, 200);
    let as_metadata = as_metadata.json();
    assert_eq!(as_metadata["issuer"], server.issuer.as_str());
    assert_eq!(as_metadata["code_challenge_methods_supported"], json!(["S256"]));
    let endpoint = |name: &str| {
        let url = as_metadata[name].as_str().unwrap_or_else(|| panic!("{name} in metadata"));
        url.strip_prefix(&server.issuer).unwrap().to_string()
    };
    assert_eq!(endpoint("authorization_endpoint"), "/authorize");

    // Registration, then consent; every shown value is escaped.
    let client_id = server.register("E2E <script>alert(1)</script> & co");
    let state = "st<\"'&>";
    let consent = server.consent(&client_id, state);
    assert!(consent.html.contains("E2E &lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
    assert!(!consent.html.contains("<script>"));
    assert!(consent.html.contains("demo-user"));
    assert!(consent.html.contains(&client_id));
    assert!(consent.html.contains("127.0.0.1:4567"));
    assert_eq!(param(&consent.fields, "state"), Some(state));

    let approved = post_consent(&server, &consent.submission("approve"), Some(&consent.cookie));
    assert_eq!(approved.status, 303, "{}", approved.text());
    let (url, pairs) = location_params(&approved);
    assert_eq!(&url[..url::Position::AfterPath], REDIRECT_URI);
    assert_eq!(param(&pairs, "state"), Some(state));
    assert_eq!(param(&pairs, "iss"), Some(server.issuer.as_str()));
    let code = param(&pairs, "code").expect("a code").to_string();
    assert_eq!(server.metrics()["authorizationCodes"], 1);

    // Code + PKCE verifier for tokens.
    let resource = format!("{}/mcp", server.issuer);
    let tokens = server.post_form(
        &endpoint("token_endpoint"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", &client_id),
            ("code_verifier", VERIFIER),
            ("resource", &resource),
        ],
        &[],
    );
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    assert_eq!(tokens.header("cache-control"), Some("no-store"));
    let tokens = tokens.json();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();

    // The protected MCP endpoint.
    let answer = server.mcp(&access, &initialize);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let answer = answer.json();
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(answer["result"]["serverInfo"]["name"], "simply-mcp-oauth-demo");
    let whoami = server.mcp(
        &access,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "whoami", "arguments": {}}}),
    );
    assert!(whoami.json()["result"]["content"][0]["text"].as_str().unwrap().contains("demo-user"));
    let tools = server.mcp(&access, &json!({"jsonrpc": "2.0", "id": "t", "method": "tools/list"}));
    assert_eq!(tools.json()["id"], "t");
    let notification = server.mcp(&access, &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    assert_eq!(notification.status, 202);
    let unknown = server.mcp(&access, &json!({"jsonrpc": "2.0", "id": 3, "method": "nope"}));
    assert_eq!(unknown.status, 200);
    assert_eq!(unknown.json()["error"]["code"], -32601);
    let auth = format!("Bearer {access}");
    let malformed = request(&server.addr, "POST", "/mcp", &[("Authorization", &auth)], b"{not json");
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.json()["error"]["code"], -32700);

    // Refresh: a new pair. The old access token lives on until it expires
    // (rotation replaces the refresh token only).
    let refreshed = server.post_form(
        "/token",
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", &client_id)],
        &[],
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    let refreshed = refreshed.json();
    let new_access = refreshed["access_token"].as_str().unwrap().to_string();
    let new_refresh = refreshed["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(new_access, access);
    assert_ne!(new_refresh, refresh);
    assert_eq!(server.mcp(&new_access, &initialize).status, 200);
    assert_eq!(server.mcp(&access, &initialize).status, 200, "old access token still valid");
    let metrics = server.metrics();
    assert_eq!(metrics["clients"], 2, "demo-client and the registered one: {metrics}");
    assert_eq!(metrics["tokens"], 2, "{metrics}");
    assert_eq!(metrics["refreshTokens"], 1, "{metrics}");
    assert_eq!(metrics["authorizationCodes"], 0, "{metrics}");

    // Revoking the refresh token ends the grant, with every access token.
    let revoked = server.post_form(
        &endpoint("revocation_endpoint"),
        &[("token", &new_refresh), ("token_type_hint", "refresh_token"), ("client_id", &client_id)],
        &[],
    );
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    let after = server.mcp(&new_access, &initialize);
    assert_eq!(after.status, 401);
    assert!(after.header("www-authenticate").unwrap().contains("invalid_token"));
    assert_eq!(server.mcp(&access, &initialize).status, 401);
    assert_eq!(server.metrics()["tokens"], 0);

    // The code was single use.
    let replay = server.post_form(
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", &client_id),
            ("code_verifier", VERIFIER),
        ],
        &[],
    );
    assert_eq!(replay.status, 400);
    assert_eq!(replay.json()["error"], "invalid_grant");
}

#[test]
fn consent_can_be_denied_and_is_protected_from_forgery() {
    let server = start();
    let consent = server.consent("demo-client", "deny-me");

    // A forged token, a missing cookie, a missing token, a tampered field:
    // each a 400 page, never a redirect, and no code issued.
    let mut forged = consent.submission("approve");
    for (name, value) in forged.iter_mut() {
        if name == "csrf_token" {
            *value = "A".repeat(value.len());
        }
    }
    let mut tampered = consent.submission("approve");
    for (name, value) in tampered.iter_mut() {
        if name == "redirect_uri" {
            *value = "http://127.0.0.1:9999/callback".into();
        }
    }
    let no_token: Vec<_> =
        consent.submission("approve").into_iter().filter(|(k, _)| k != "csrf_token").collect();
    let other_cookie = format!("{CSRF_COOKIE}={}", "B".repeat(43));
    for (pairs, cookie) in [
        (&forged, Some(consent.cookie.as_str())),
        (&consent.submission("approve"), None),
        (&consent.submission("approve"), Some(other_cookie.as_str())),
        (&no_token, Some(consent.cookie.as_str())),
        (&tampered, Some(consent.cookie.as_str())),
    ] {
        let response = post_consent(&server, pairs, cookie);
        assert_eq!(response.status, 400, "{}", response.text());
        assert!(response.header("location").is_none());
        assert!(response.header("content-type").unwrap().starts_with("text/html"));
    }
    assert_eq!(server.metrics()["authorizationCodes"], 0);

    let denied = post_consent(&server, &consent.submission("deny"), Some(&consent.cookie));
    assert_eq!(denied.status, 303, "{}", denied.text());
    let (_, pairs) = location_params(&denied);
    assert_eq!(param(&pairs, "error"), Some("access_denied"));
    assert_eq!(param(&pairs, "state"), Some("deny-me"));
    assert_eq!(param(&pairs, "iss"), Some(server.issuer.as_str()));
    assert!(param(&pairs, "code").is_none());
    assert_eq!(server.metrics()["authorizationCodes"], 0);

    // An untrusted redirect URI is a 400 page from the start.
    let bad = server.get("/authorize?client_id=demo-client&redirect_uri=https%3A%2F%2Fevil.example%2F", &[]);
    assert_eq!(bad.status, 400);
    assert!(bad.header("location").is_none());
}

#[test]
fn health_metrics_limits_and_sigterm() {
    let mut server = start();
    assert_eq!(server.storage, "memory");
    let health = server.get("/health", &[]);
    assert_eq!(health.status, 200);
    let health = health.json();
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["storage"]["healthy"], true);
    let metrics = server.metrics();
    assert_eq!(metrics, json!({"clients": 1, "tokens": 0, "refreshTokens": 0, "authorizationCodes": 0}));

    // An oversized body is a 413 JSON error, never a 500.
    let big = vec![b'a'; 70 * 1024];
    let response = request(
        &server.addr,
        "POST",
        "/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &big,
    );
    assert_eq!(response.status, 413);
    assert_eq!(response.json()["error"], "invalid_request");
    let unknown = server.get("/.well-known/nothing-here", &[]);
    assert_eq!(unknown.status, 404);

    // SIGTERM: a clean exit within a few seconds.
    let pid = server.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "the server did not exit within 5 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit:?}");
}

/// One HTTP/1.1 response read off a kept-alive connection: the status, the
/// headers (lower-case names) and the body, by its Content-Length.
fn read_response(
    reader: &mut std::io::BufReader<std::net::TcpStream>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    use std::io::{BufRead, Read};
    let mut line = String::new();
    reader.read_line(&mut line).expect("a status line");
    let status =
        line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("a header line");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').expect("name: value");
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let length = headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("the body");
    (status, headers, body)
}

/// The first request of every MCP client is an unauthenticated POST /mcp,
/// and some clients write its body after its headers. The 401 must leave the
/// connection usable: the client's next request (discovery) goes on it.
#[test]
fn an_early_401_keeps_the_connection_usable_when_the_body_arrives_late() {
    use std::io::Write;
    let server = start();
    let body = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
    for trial in 0..100 {
        let stream = std::net::TcpStream::connect(&server.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut reader = std::io::BufReader::new(stream);
        let head = format!(
            "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n",
            server.addr,
            body.len()
        );
        writer.write_all(head.as_bytes()).unwrap();
        writer.flush().unwrap();
        std::thread::sleep(Duration::from_millis(30));
        writer.write_all(body).unwrap();
        let (status, headers, _) = read_response(&mut reader);
        assert_eq!(status, 401, "trial {trial}");
        assert!(
            headers.iter().any(|(n, v)| n == "www-authenticate" && v.contains("scope=\"mcp\"")),
            "{headers:?}"
        );
        assert!(
            !headers.iter().any(|(n, v)| n == "connection" && v.eq_ignore_ascii_case("close")),
            "trial {trial}"
        );
        let discovery = format!(
            "GET /.well-known/oauth-protected-resource/mcp HTTP/1.1\r\nHost: {}\r\n\r\n",
            server.addr
        );
        writer.write_all(discovery.as_bytes()).unwrap();
        let (status, _, metadata) = read_response(&mut reader);
        assert_eq!(status, 200, "trial {trial}: the connection stayed usable");
        assert!(String::from_utf8_lossy(&metadata).contains("authorization_servers"));
    }
}

/// The access-token lifetime a fresh server gives, from its refresh answer.
fn access_lifetime(server: &Server) -> u64 {
    let (_, refresh) = server.authorize_and_exchange("demo-client");
    let refreshed = server.refresh("demo-client", &refresh);
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    refreshed.json()["expires_in"].as_u64().expect("expires_in")
}

#[test]
fn variables_are_fallbacks_flags_win_and_empty_means_unset() {
    let from_env = start_with(&[], &[("SIMPLY_MCP_OAUTH_TOKEN_EXPIRATION", "30")]);
    assert_eq!(access_lifetime(&from_env), 30);
    // `start_with` checks the issuer is the default one: the empty variable is unset.
    let flag_wins = start_with(
        &["--token-expiration", "60"],
        &[("SIMPLY_MCP_OAUTH_TOKEN_EXPIRATION", "30"), ("SIMPLY_MCP_OAUTH_ISSUER", "")],
    );
    assert_eq!(access_lifetime(&flag_wins), 60);
}

/// The real binary reads the refresh grace: with 0 the previous refresh
/// token is reuse at once (the default grace would answer 200), and reuse
/// ends the grant, its successor included.
#[test]
fn the_refresh_grace_variable_reaches_the_provider() {
    let server = start_with(&[], &[("SIMPLY_MCP_OAUTH_REFRESH_GRACE", "0")]);
    let (_, first) = server.authorize_and_exchange("demo-client");
    let rotated = server.refresh("demo-client", &first);
    assert_eq!(rotated.status, 200, "{}", rotated.text());
    let successor = rotated.json()["refresh_token"].as_str().expect("refresh_token").to_string();
    let again = server.refresh("demo-client", &first);
    assert_eq!((again.status, again.json()["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(server.refresh("demo-client", &successor).status, 400, "the grant is gone");
}

#[test]
fn bad_values_are_usage_errors_and_version_and_help_answer() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let output = e2e::command().args(args).envs(env.iter().copied()).output().expect("run the binary");
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        (output.status.code(), text(&output.stdout), text(&output.stderr))
    };
    let (code, _, stderr) = run(&["--bind", "127.0.0.1:0"], &[("SIMPLY_MCP_OAUTH_CODE_EXPIRATION", "0")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--code-expiration") && stderr.contains("positive number of seconds"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["--storage", "disk"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("possible values: memory, redis"), "{stderr}");
    let (code, stdout, _) = run(&["--version"], &[]);
    assert_eq!(
        (code, stdout.trim()),
        (Some(0), concat!("simply-mcp-oauth-server ", env!("CARGO_PKG_VERSION")))
    );
    let (code, stdout, _) = run(&["--help"], &[("REDIS_URL", "redis://:hunter2@cache")]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("SIMPLY_MCP_OAUTH_CIMD_CA_FILE") && stdout.contains("REDIS_TLS_KEY_FILE"),
        "{stdout}"
    );
    assert!(!stdout.contains("hunter2"), "the help never shows a variable's value");
}

/// The attacker's requests from issue 18, over real HTTP against the binary
/// (which always sets a metadata fetcher). On `main`: registering
/// `client_credentials` succeeded, and `client_id=https:/é` dropped the
/// connection on each endpoint (a panic in the request's task).
#[test]
fn an_attackers_requests_get_4xx_answers() {
    let server = start();
    let machine =
        json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"});
    let refused = server.post_json("/register", &machine, &[]);
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["error"], "invalid_client_metadata");

    for id in ["https:/é", "http:/é", "https://é.example/c"] {
        let pairs =
            [("grant_type", "refresh_token"), ("refresh_token", "x"), ("token", "x"), ("client_id", id)];
        for path in ["/token", "/introspect", "/revoke"] {
            let status = server.post_form(path, &pairs, &[]).status;
            assert!((400..500).contains(&status), "{path} {id}: {status}");
        }
        let query =
            form(&[("response_type", "code"), ("client_id", id), ("redirect_uri", "https://a.example/cb")]);
        let status = server.get(&format!("/authorize?{query}"), &[]).status;
        assert_eq!(status, 400, "/authorize {id}");
    }
    // The server is still there.
    assert_eq!(server.get("/.well-known/oauth-authorization-server", &[]).status, 200);
}

/// A machine client is the operator's decision: configured with
/// `--client-id`/`--client-secret` (here through the variables), it gets
/// client_credentials tokens with HTTP Basic, while `/register` still refuses
/// that grant, and the demo's `/mcp`, which serves users, answers its token
/// 403. The secret is never printed or logged.
#[test]
fn a_configured_machine_client_gets_tokens_that_mcp_refuses() {
    use base64::Engine as _;
    const SECRET: &str = "e2e-machine-secret-0123456789";
    let mut server = start_logging(
        &["--client-id", "nightly-sync"],
        &[("SIMPLY_MCP_OAUTH_CLIENT_SECRET", SECRET), ("RUST_LOG", "debug")],
    );
    let basic = |secret: &str| {
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("nightly-sync:{secret}"));
        format!("Basic {credentials}")
    };
    let grant = [("grant_type", "client_credentials"), ("scope", "mcp")];

    let issued = server.post_form("/token", &grant, &[("Authorization", &basic(SECRET))]);
    assert_eq!(issued.status, 200, "{}", issued.text());
    let token = issued.json()["access_token"].as_str().expect("access_token").to_string();
    assert!(issued.json().get("refresh_token").is_none(), "no refresh token for client_credentials");
    let wrong = server.post_form("/token", &grant, &[("Authorization", &basic("e2e-machine-secret-wrong"))]);
    assert_eq!((wrong.status, wrong.json()["error"].as_str()), (401, Some("invalid_client")));

    let machine = json!({"grant_types": ["client_credentials"], "scope": "mcp"});
    let refused = server.post_json("/register", &machine, &[]);
    assert_eq!((refused.status, refused.json()["error"].as_str()), (400, Some("invalid_client_metadata")));

    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let answer = server.mcp(&token, &ping);
    assert_eq!(answer.status, 403, "{}", answer.text());
    let challenge = answer.header("www-authenticate").expect("a challenge");
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    let (user_token, _) = server.authorize_and_exchange("demo-client");
    assert_eq!(server.mcp(&user_token, &ping).status, 200, "a user's token still works");

    let logs = server.stop_and_read_logs();
    assert!(logs.iter().any(|line| line.contains("nightly-sync")), "the client is in the log");
    assert!(!logs.iter().any(|line| line.contains(SECRET)), "the secret never is");
}

/// `--client-id` without a secret (or a short secret) is a usage error, before
/// anything listens.
#[test]
fn a_machine_client_needs_its_secret() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let output = e2e::command().args(args).envs(env.iter().copied()).output().expect("run the binary");
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (code, stderr) = run(&["--bind", "127.0.0.1:0", "--client-id", "nightly-sync"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--client-secret"), "{stderr}");
    let (code, stderr) =
        run(&["--bind", "127.0.0.1:0"], &[("SIMPLY_MCP_OAUTH_CLIENT_SECRET", "0123456789abcdef")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--client-id"), "{stderr}");
    let (code, stderr) =
        run(&["--client-id", "nightly-sync"], &[("SIMPLY_MCP_OAUTH_CLIENT_SECRET", "too-short")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("at least 16 characters"), "{stderr}");
}
