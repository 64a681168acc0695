//! Shared by the end-to-end tests: starts the `simply-mcp-oauth-server` binary
//! on a free loopback port, and a tiny HTTP/1.1 client (one request per
//! connection) instead of a client crate. The consent page is read by
//! [`consent_page`], the parser the rmcp client uses too.
#![allow(dead_code)]

pub mod consent_page;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use simply_mcp_oauth::crypto::pkce_s256;

pub use consent_page::ConsentForm;

pub const VERIFIER: &str = "e2e-code-verifier-0123456789abcdefghijklmnopqrstuvwxyz";
pub const REDIRECT_URI: &str = "http://127.0.0.1:4567/callback";
pub const CSRF_COOKIE: &str = "simply_mcp_oauth_csrf";

/// The running binary; killed when dropped, so a failing test leaves nothing behind.
pub struct Server {
    /// The process.
    pub child: Child,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    /// The issuer it printed.
    pub issuer: String,
    /// The `storage:` line it printed.
    pub storage: String,
    /// Its stderr lines, when started by [`start_logging`].
    pub logs: Arc<Mutex<Vec<String>>>,
    /// The thread collecting them.
    log_reader: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary on a free port, in memory (whatever the environment says).
pub fn start() -> Server {
    start_with(&[], &[])
}

/// The binary with extra arguments and environment; the caller's
/// `SIMPLY_MCP_OAUTH_*` and `REDIS_*` variables are not passed on.
/// Its request log stays quiet (`RUST_LOG=warn`) unless the caller's
/// `RUST_LOG` or `env` says otherwise.
pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Server {
    launch(args, env, false)
}

/// The binary with its stderr (the log) collected in [`Server::logs`].
pub fn start_logging(args: &[&str], env: &[(&str, &str)]) -> Server {
    launch(args, env, true)
}

/// The binary's command, without the caller's `SIMPLY_MCP_OAUTH_*` and
/// `REDIS_*` variables: for runs that must end with a usage error, where
/// the test reads the exit status and stderr (servers go through [`start`]).
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_simply-mcp-oauth-server"));
    for (name, _) in std::env::vars() {
        if name.starts_with("SIMPLY_MCP_OAUTH_") || name.starts_with("REDIS_") {
            command.env_remove(name);
        }
    }
    command
}

/// Starts the binary through `scripts/native-server.sh`, the launcher the
/// client tests, browser tests and benches use: a free loopback port unless
/// `args` name `--bind`, only the settings given in `env`.
fn launch(args: &[&str], env: &[(&str, &str)], capture_logs: bool) -> Server {
    let mut command = Command::new("bash");
    command.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/native-server.sh"));
    command.arg(env!("CARGO_BIN_EXE_simply-mcp-oauth-server"));
    if std::env::var_os("RUST_LOG").is_none() {
        command.arg("RUST_LOG=warn");
    }
    command.args(env.iter().map(|(name, value)| format!("{name}={value}")));
    command.arg("--").args(args);
    let stderr = if capture_logs { Stdio::piped() } else { Stdio::inherit() };
    let mut child = command.stdout(Stdio::piped()).stderr(stderr).spawn().expect("start the server binary");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let log_reader = child.stderr.take().map(|stderr| {
        let logs = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                logs.lock().unwrap().push(line);
            }
        })
    });
    let stdout = child.stdout.take().expect("stdout");
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut server = Server {
        child,
        addr: String::new(),
        issuer: String::new(),
        storage: String::new(),
        logs,
        log_reader,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.storage.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines.recv_timeout(left).expect("the server announces its address");
        assert!(!line.contains("secret"), "nothing secret is printed: {line}");
        if let Some(url) = line.strip_prefix("listening on http://") {
            server.addr = url.to_string();
        } else if let Some(issuer) = line.strip_prefix("issuer: ") {
            server.issuer = issuer.to_string();
        } else if let Some(storage) = line.strip_prefix("storage: ") {
            server.storage = storage.to_string();
        }
    }
    assert!(!server.addr.is_empty(), "`listening on` comes first");
    assert_eq!(server.issuer, format!("http://{}", server.addr));
    server
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Server {
    /// Stops the process and returns every line it logged (started by
    /// [`start_logging`]; empty otherwise).
    pub fn stop_and_read_logs(&mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.log_reader.take() {
            reader.join().expect("the log reader");
        }
        self.logs.lock().unwrap().clone()
    }
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("JSON body ({e}): {}", self.text()))
    }
}

pub fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    parse_response(&raw)
}

pub fn parse_response(raw: &[u8]) -> Response {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("end of head");
    let head = std::str::from_utf8(&raw[..split]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Response { status, headers, body }
}

pub fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").expect("chunk size line");
        let size_text = std::str::from_utf8(&data[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

impl Server {
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        request(&self.addr, "GET", path, headers, b"")
    }

    pub fn post_form(&self, path: &str, pairs: &[(&str, &str)], headers: &[(&str, &str)]) -> Response {
        let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        request(&self.addr, "POST", path, &all, form(pairs).as_bytes())
    }

    pub fn post_json(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Response {
        let mut all = vec![("Content-Type", "application/json")];
        all.extend_from_slice(headers);
        request(&self.addr, "POST", path, &all, body.to_string().as_bytes())
    }

    /// `POST /mcp` with a bearer token.
    pub fn mcp(&self, token: &str, body: &Value) -> Response {
        let auth = format!("Bearer {token}");
        let accept = ("Accept", "application/json, text/event-stream");
        self.post_json("/mcp", body, &[("Authorization", &auth), accept])
    }

    /// The seed's JSON counts (`/metrics` with `Accept: application/json`).
    pub fn metrics(&self) -> Value {
        let response = self.get("/metrics", &[("Accept", "application/json")]);
        assert_eq!(response.status, 200);
        response.json()
    }

    /// Registers a public client with a loopback redirect URI.
    pub fn register(&self, name: &str) -> String {
        let metadata = json!({
            "redirect_uris": ["http://127.0.0.1/callback"],
            "token_endpoint_auth_method": "none",
            "client_name": name,
        });
        let response = self.post_json("/register", &metadata, &[]);
        assert_eq!(response.status, 201, "{}", response.text());
        let client = response.json();
        assert!(client.get("client_secret").is_none(), "a public client gets no secret");
        client["client_id"].as_str().unwrap().to_string()
    }

    /// `GET /authorize` for `client_id`; the page and what the form needs.
    pub fn consent(&self, client_id: &str, state: &str) -> Consent {
        let query = form(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "mcp"),
            ("state", state),
            ("code_challenge", &pkce_s256(VERIFIER)),
            ("code_challenge_method", "S256"),
            ("resource", &format!("{}/mcp", self.issuer)),
        ]);
        let page = self.get(&format!("/authorize?{query}"), &[]);
        assert_eq!(page.status, 200, "{}", page.text());
        assert!(page.header("content-type").unwrap().starts_with("text/html"));
        let set_cookie = page.header("set-cookie").expect("the CSRF cookie").to_string();
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/authorize"] {
            assert!(set_cookie.contains(attribute), "{attribute} in {set_cookie}");
        }
        let cookie = consent_page::cookie_header([set_cookie.as_str()]);
        assert!(cookie.starts_with(&format!("{CSRF_COOKIE}=")));
        let html = page.text();
        let form = ConsentForm::parse(&html).expect("the consent form");
        assert!(form.field("csrf_token").is_some(), "a CSRF token in the form");
        Consent { fields: form.fields.clone(), html, cookie, form }
    }
}

pub struct Consent {
    /// The page.
    pub html: String,
    /// The CSRF cookie, as a `Cookie` header value.
    pub cookie: String,
    /// The hidden form fields.
    pub fields: Vec<(String, String)>,
    /// The form as the page has it.
    pub form: ConsentForm,
}

impl Consent {
    /// The form as a browser submits it when the `decision` button
    /// (`approve` or `deny`) is pressed.
    pub fn submission(&self, decision: &str) -> Vec<(String, String)> {
        self.form.press(decision).unwrap_or_else(|e| panic!("{e}"))
    }
}

pub fn post_consent(server: &Server, pairs: &[(String, String)], cookie: Option<&str>) -> Response {
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
    server.post_form("/authorize", &pairs, &headers)
}

/// The hidden fields of a consent page, unescaped.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    ConsentForm::parse(html).expect("the consent form").fields
}

/// The query parameters of a `Location`.
pub fn location_params(response: &Response) -> (url::Url, Vec<(String, String)>) {
    let location = response.header("location").expect("a Location header");
    let url = url::Url::parse(location).expect("an absolute Location");
    let pairs = url.query_pairs().into_owned().collect();
    (url, pairs)
}

pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

impl Server {
    /// Consent approved and the code exchanged: `(access token, refresh token)`.
    pub fn authorize_and_exchange(&self, client_id: &str) -> (String, String) {
        let consent = self.consent(client_id, "s");
        let approved = post_consent(self, &consent.submission("approve"), Some(&consent.cookie));
        assert_eq!(approved.status, 303, "{}", approved.text());
        let (_, pairs) = location_params(&approved);
        let code = param(&pairs, "code").expect("a code").to_string();
        let tokens = self.post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("client_id", client_id),
                ("code_verifier", VERIFIER),
            ],
            &[],
        );
        assert_eq!(tokens.status, 200, "{}", tokens.text());
        let tokens = tokens.json();
        let field = |name: &str| tokens[name].as_str().unwrap_or_else(|| panic!("{name}")).to_string();
        (field("access_token"), field("refresh_token"))
    }

    /// `POST /token` with a refresh token.
    pub fn refresh(&self, client_id: &str, refresh_token: &str) -> Response {
        self.post_form(
            "/token",
            &[("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", client_id)],
            &[],
        )
    }
}
