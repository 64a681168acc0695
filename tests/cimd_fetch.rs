//! The native metadata fetcher against its rules. Network discipline: every
//! connection these tests make goes to a listener on 127.0.0.1; refusals of
//! other addresses are proved with an injected lookup, and are refused
//! before any connection.
#![cfg(not(target_arch = "wasm32"))]

use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use simply_mcp_oauth::cimd::native::{FetchOptions, FnLookup, Lookup, SafeFetcher};
use simply_mcp_oauth::cimd::{FetchError, MetadataFetcher, MAX_DOCUMENT_BYTES};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A loopback HTTP server that answers every request with `reply` (or never,
/// for `None`), counting connections and keeping the request heads.
struct Server {
    port: u16,
    accepts: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    async fn start(reply: Option<Vec<u8>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepts = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (count, heads) = (Arc::clone(&accepts), Arc::clone(&requests));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let (reply, heads) = (reply.clone(), Arc::clone(&heads));
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    heads.lock().unwrap().push(String::from_utf8_lossy(&head).into_owned());
                    match reply {
                        Some(bytes) => {
                            let _ = socket.write_all(&bytes).await;
                            let _ = socket.shutdown().await;
                        }
                        None => tokio::time::sleep(Duration::from_secs(10)).await,
                    }
                });
            }
        });
        Self { port, accepts, requests }
    }

    /// Connections seen, after giving a late one time to be accepted.
    async fn accepted(&self) -> usize {
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.accepts.load(Ordering::SeqCst)
    }
}

fn response(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n{headers}\r\n").into_bytes();
    out.extend_from_slice(body);
    out
}

fn options(allow_loopback: bool, timeout_ms: u64) -> FetchOptions {
    FetchOptions { allow_loopback, extra_ca_pem: None, timeout: Duration::from_millis(timeout_ms) }
}

/// A lookup that answers `answer` for every name and counts its calls.
fn lookup(answer: &[&str]) -> (Arc<dyn Lookup>, Arc<AtomicUsize>) {
    let answer: Vec<IpAddr> = answer.iter().map(|a| a.parse().unwrap()).collect();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let lookup = FnLookup(move |_: &str| -> io::Result<Vec<IpAddr>> {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(answer.clone())
    });
    (Arc::new(lookup), calls)
}

fn loopback_fetcher(timeout_ms: u64) -> SafeFetcher {
    SafeFetcher::new(options(true, timeout_ms)).unwrap()
}

fn assert_refused(result: Result<impl std::fmt::Debug, FetchError>, what: &str) {
    assert!(matches!(result, Err(FetchError::Refused(_))), "{what}: {result:?}");
}

#[tokio::test]
async fn numeric_hosts_are_refused_without_lookup_or_connection() {
    let server = Server::start(Some(response("200 OK", "", b"{}"))).await;
    let p = server.port;
    for allow_loopback in [false, true] {
        let (lookup, calls) = lookup(&["127.0.0.1"]);
        let fetcher = SafeFetcher::with_lookup(options(allow_loopback, 1000), lookup).unwrap();
        for host in ["2130706433", "0x7f000001", "0x7f.1", "0177.0.0.1", "127.1", "127.0.1", "017700000001"] {
            for scheme in ["http", "https"] {
                let url = format!("{scheme}://{host}:{p}/client");
                assert_refused(fetcher.fetch(&url).await, &url);
            }
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
    let fetcher = SafeFetcher::new(options(false, 1000)).unwrap();
    for url in
        [format!("https://[::1]:{p}/"), format!("https://127.0.0.1:{p}/"), format!("https://localhost:{p}/")]
    {
        assert_refused(fetcher.fetch(&url).await, &url);
    }
    assert_eq!(server.accepted().await, 0);
}

#[tokio::test]
async fn http_is_refused_without_the_switch() {
    let server = Server::start(Some(response("200 OK", "", b"{}"))).await;
    let (lookup, calls) = lookup(&["127.0.0.1"]);
    let fetcher = SafeFetcher::with_lookup(options(false, 1000), lookup).unwrap();
    for host in ["localhost", "127.0.0.1", "metadata.test"] {
        let url = format!("http://{host}:{}/client", server.port);
        assert_refused(fetcher.fetch(&url).await, &url);
    }
    // With the switch, http is still refused for every host but loopback.
    let (lookup, _) = self::lookup(&["127.0.0.1"]);
    let fetcher = SafeFetcher::with_lookup(options(true, 1000), lookup).unwrap();
    let url = format!("http://metadata.test:{}/client", server.port);
    assert_refused(fetcher.fetch(&url).await, &url);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(server.accepted().await, 0);
}

#[tokio::test]
async fn names_resolving_to_special_addresses_are_refused() {
    let server = Server::start(Some(response("200 OK", "", b"{}"))).await;
    let url = format!("https://metadata.test:{}/client", server.port);
    // A name pointing at this listener is refused when loopback is not
    // allowed: the listener must see no connection.
    let (lookup, calls) = lookup(&["127.0.0.1"]);
    let fetcher = SafeFetcher::with_lookup(options(false, 1000), lookup).unwrap();
    let refused = fetcher.fetch(&url).await;
    assert_refused(refused.clone(), "a name resolving to 127.0.0.1");
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("metadata.test") && !message.contains("127.0.0.1"), "{message}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // These are refused by the resolver filter before any connection, with
    // the switch on or off, and the message says what, never where to.
    for answer in ["10.0.0.5", "169.254.169.254", "192.168.1.1", "fd00::1", "::ffff:127.0.0.1", "0.0.0.0"] {
        for allow_loopback in [false, true] {
            let (lookup, _) = self::lookup(&[answer]);
            let fetcher = SafeFetcher::with_lookup(options(allow_loopback, 1000), lookup).unwrap();
            let refused = fetcher.fetch(&url).await;
            assert_refused(refused.clone(), answer);
            let message = refused.unwrap_err().to_string();
            assert!(!message.contains(answer) && message.contains("metadata.test"), "{message}");
        }
    }
    assert_eq!(server.accepted().await, 0);
}

#[tokio::test]
async fn a_200_json_document_is_returned_with_its_headers() {
    let body = br#"{"client_id":"x","client_name":"Test"}"#;
    let headers = format!(
        "Content-Type: application/json\r\nCache-Control: max-age=300\r\nSet-Cookie: a=b\r\nContent-Length: {}\r\n",
        body.len()
    );
    let server = Server::start(Some(response("200 OK", &headers, body))).await;
    let fetcher = loopback_fetcher(2000);
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("http://{host}:{}/client", server.port);
        let doc = fetcher.fetch(&url).await.unwrap();
        assert_eq!(doc.body, body);
        assert_eq!(doc.content_type.as_deref(), Some("application/json"));
        assert_eq!(doc.cache_control.as_deref(), Some("max-age=300"));
    }
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    for head in &requests {
        let lower = head.to_ascii_lowercase();
        assert!(lower.starts_with("get /client http/1.1\r\n"), "{head}");
        assert!(lower.contains("\r\naccept: application/json\r\n"), "{head}");
        assert!(lower.contains("\r\nuser-agent: simply-mcp-oauth/"), "{head}");
        assert!(!lower.contains("cookie") && !lower.contains("accept-encoding"), "{head}");
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let target = Server::start(Some(response("200 OK", "Content-Length: 2\r\n", b"{}"))).await;
    let location = format!("Location: http://127.0.0.1:{}/client\r\nContent-Length: 0\r\n", target.port);
    let server = Server::start(Some(response("302 Found", &location, b""))).await;
    let result = loopback_fetcher(2000).fetch(&format!("http://127.0.0.1:{}/c", server.port)).await;
    assert_eq!(result, Err(FetchError::Redirected(302)));
    assert_eq!(server.accepted().await, 1);
    assert_eq!(target.accepted().await, 0);
}

#[tokio::test]
async fn other_statuses_are_refused() {
    let server = Server::start(Some(response("404 Not Found", "Content-Length: 2\r\n", b"no"))).await;
    let result = loopback_fetcher(2000).fetch(&format!("http://127.0.0.1:{}/c", server.port)).await;
    assert_eq!(result, Err(FetchError::Status(404)));
}

fn chunked(total: usize) -> Vec<u8> {
    let mut body = Vec::new();
    for size in std::iter::repeat_n(1024, total / 1024).chain(Some(total % 1024)).filter(|&n| n > 0) {
        body.extend_from_slice(format!("{size:x}\r\n").as_bytes());
        body.extend(std::iter::repeat_n(b' ', size));
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    response("200 OK", "Transfer-Encoding: chunked\r\n", &body)
}

#[tokio::test]
async fn the_size_limit_holds_while_streaming() {
    let fetcher = loopback_fetcher(2000);
    let big = Server::start(Some(chunked(6 * 1024))).await;
    let result = fetcher.fetch(&format!("http://127.0.0.1:{}/c", big.port)).await;
    assert_eq!(result, Err(FetchError::TooLarge));
    // Exactly the limit, chunked, is accepted.
    let full = Server::start(Some(chunked(MAX_DOCUMENT_BYTES))).await;
    let doc = fetcher.fetch(&format!("http://127.0.0.1:{}/c", full.port)).await.unwrap();
    assert_eq!(doc.body.len(), MAX_DOCUMENT_BYTES);
}

#[tokio::test]
async fn a_declared_length_over_the_limit_fails_early() {
    // The server declares 1 MB, sends a few bytes and then stalls: only a
    // check of the header can fail before the 2 s limit.
    let server = Server::start(Some(response("200 OK", "Content-Length: 1048576\r\n", b"{"))).await;
    let started = Instant::now();
    let result = loopback_fetcher(2000).fetch(&format!("http://127.0.0.1:{}/c", server.port)).await;
    assert_eq!(result, Err(FetchError::TooLarge));
    assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let server = Server::start(None).await;
    let started = Instant::now();
    let result = loopback_fetcher(300).fetch(&format!("http://127.0.0.1:{}/c", server.port)).await;
    assert_eq!(result, Err(FetchError::Timeout));
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(server.accepted().await, 1);
}

#[tokio::test]
async fn the_client_is_told_what_was_refused_not_where_a_name_points() {
    use simply_mcp_oauth::http::OAuthHttp;
    use simply_mcp_oauth::{MemoryStorage, Provider, ProviderConfig};

    let (lookup, calls) = lookup(&["10.0.0.5", "fd00::7"]);
    let fetcher = SafeFetcher::with_lookup(options(false, 1000), lookup).unwrap();
    let provider = Provider::new(ProviderConfig::new("https://auth.example.com"), MemoryStorage::new())
        .unwrap()
        .with_metadata_fetcher(Arc::new(fetcher));
    provider.initialize().await.unwrap();
    let oauth = OAuthHttp::new(provider);
    let body = "grant_type=refresh_token&refresh_token=g.s&client_id=https%3A%2F%2Fmetadata.test%2Fclient";
    let request = http::Request::post("https://auth.example.com/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(bytes::Bytes::from(body))
        .unwrap();
    let response = oauth.handle(request).await;
    assert_eq!(response.status(), 401);
    let text = String::from_utf8_lossy(response.body()).to_string();
    assert!(text.contains("metadata.test") && text.contains("not public"), "{text}");
    assert!(!text.contains("10.0.0.5") && !text.contains("fd00"), "{text}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
