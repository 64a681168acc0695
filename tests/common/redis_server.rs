//! `redis-server` processes owned by the tests (binary from PATH), each on a
//! free loopback port: stopped when dropped, and by a watcher process when the
//! test process ends without dropping them (statics, a killed harness).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// How long a server may take to accept connections or to form a cluster.
const START_WITHIN: Duration = Duration::from_secs(20);

/// One `redis-server` child.
pub struct RedisServer {
    port: u16,
    /// `port` is the TLS port (`--port 0 --tls-port <port>`): no plaintext listener.
    tls: bool,
    extra: Vec<String>,
    child: Option<Child>,
    /// A data directory of its own, removed on drop.
    dir: Option<PathBuf>,
}

impl RedisServer {
    /// A standalone server, no persistence.
    pub fn start() -> Self {
        Self::start_with(free_port(), &[])
    }

    /// A server on `port` with extra arguments.
    pub fn start_with(port: u16, extra: &[String]) -> Self {
        let mut server = Self { port, tls: false, extra: extra.to_vec(), child: None, dir: None };
        server.restart();
        server
    }

    /// A server that speaks only TLS (`--port 0 --tls-port <free>`), with the
    /// certificate and CA of `pki` and extra arguments (`--tls-auth-clients`
    /// defaults to `yes` in Redis: pass `optional` or `no` to connect without
    /// a client certificate).
    pub fn start_tls(pki: &TestPki, extra: &[&str]) -> Self {
        Self::start_tls_on(free_port(), pki, extra)
    }

    /// [`start_tls`](Self::start_tls) on a given TLS port.
    pub fn start_tls_on(port: u16, pki: &TestPki, extra: &[&str]) -> Self {
        let mut args: Vec<String> = [
            "--tls-cert-file",
            &pki.path("server.pem"),
            "--tls-key-file",
            &pki.path("server.key"),
            "--tls-ca-cert-file",
            &pki.path("ca.pem"),
        ]
        .map(String::from)
        .to_vec();
        args.extend(extra.iter().map(|a| a.to_string()));
        let mut server = Self { port, tls: true, extra: args, child: None, dir: None };
        server.restart();
        server
    }

    /// A server whose data survives a kill: an append-only file synced on
    /// every write, in a directory of its own.
    pub fn start_persistent() -> Self {
        let port = free_port();
        let dir = scratch_dir("aof");
        let extra = ["--appendonly", "yes", "--appendfsync", "always", "--dir"].map(String::from);
        let mut extra = extra.to_vec();
        extra.push(dir.display().to_string());
        let mut server = Self { port, tls: false, extra, child: None, dir: Some(dir) };
        server.restart();
        server
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>` (`rediss://` for a TLS server).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL) and waits for it; nothing survives (no persistence).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (stopping it first if it runs).
    pub fn restart(&mut self) {
        self.stop();
        let port = self.port.to_string();
        let ports = if self.tls { ["--port", "0", "--tls-port", &port] } else { ["--port", &port, "", ""] };
        let child = Command::new("redis-server")
            .args(ports.iter().filter(|a| !a.is_empty()))
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        reap_on_exit(child.id());
        self.child = Some(child);
        let deadline = Instant::now() + START_WITHIN;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start on port {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A fresh directory under the system's temporary directory.
fn scratch_dir(kind: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("simply-mcp-oauth-{kind}-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The server most tests share: `REDIS_URL` if set, else one started once for
/// this test process (stopped by the watcher when the process exits).
pub fn shared_url() -> &'static str {
    static SHARED: LazyLock<(String, Option<RedisServer>)> =
        LazyLock::new(|| match std::env::var("REDIS_URL") {
            Ok(url) => (url, None),
            Err(_) => {
                let server = RedisServer::start();
                (server.url(), Some(server))
            }
        });
    &SHARED.0
}

/// `INFO commandstats` read as command name -> calls, to count what a
/// step sent to Redis.
pub fn command_calls(info: &str) -> std::collections::HashMap<String, u64> {
    info.lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let n: u64 = rest.split(',').find_map(|kv| kv.strip_prefix("calls="))?.parse().ok()?;
            Some((name.to_string(), n))
        })
        .collect()
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A watcher process that kills `pid` once this process is gone (or leaves
/// as soon as `pid` has exited).
fn reap_on_exit(pid: u32) {
    let me = std::process::id();
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "while kill -0 {me} 2>/dev/null && kill -0 {pid} 2>/dev/null; do sleep 1; done; kill -9 {pid} 2>/dev/null"
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

/// A watcher process that removes `dir` once this process is gone (a static
/// cluster is never dropped).
fn remove_on_exit(dir: &std::path::Path) {
    let me = std::process::id();
    let _ = Command::new("sh")
        .arg("-c")
        .arg(r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done; rm -rf "$2""#)
        .arg("sh")
        .arg(me.to_string())
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

/// A local Redis Cluster of three masters, no replicas, on free loopback
/// ports, formed with `redis-cli --cluster create`. Dropped: servers stopped,
/// node files removed.
pub struct RedisCluster {
    /// The three nodes.
    pub nodes: Vec<RedisServer>,
    dir: PathBuf,
}

impl RedisCluster {
    /// Starts and forms the cluster; waits for `cluster_state:ok` on every node.
    pub fn start() -> Self {
        Self::start_inner(None)
    }

    /// The same over TLS only (`--port 0 --tls-port`, `--tls-cluster yes`):
    /// the certificates of `pki`, client certificates optional.
    pub fn start_tls(pki: &TestPki) -> Self {
        Self::start_inner(Some(pki))
    }

    fn start_inner(pki: Option<&TestPki>) -> Self {
        let dir = scratch_dir("cluster");
        remove_on_exit(&dir);
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| {
                let port = free_port();
                let conf = dir.join(format!("nodes-{port}.conf"));
                let mut extra = vec![
                    "--cluster-enabled".to_string(),
                    "yes".to_string(),
                    "--cluster-config-file".to_string(),
                    conf.display().to_string(),
                    "--dir".to_string(),
                    dir.display().to_string(),
                ];
                match pki {
                    None => RedisServer::start_with(port, &extra),
                    Some(pki) => {
                        extra.extend(
                            ["--tls-cluster", "yes", "--tls-auth-clients", "optional"].map(String::from),
                        );
                        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
                        RedisServer::start_tls_on(port, pki, &extra)
                    }
                }
            })
            .collect();
        let cluster = Self { nodes, dir };
        // redis-cli over TLS when the nodes speak only TLS.
        let cli = || {
            let mut command = Command::new("redis-cli");
            if let Some(pki) = pki {
                command.args(["--tls", "--cacert", &pki.path("ca.pem")]);
            }
            command
        };
        let addresses: Vec<String> =
            cluster.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port())).collect();
        let output = cli()
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli on PATH (Debian: redis-tools)");
        assert!(
            output.status.success(),
            "redis-cli --cluster create: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let deadline = Instant::now() + START_WITHIN;
        for node in &cluster.nodes {
            loop {
                let info = cli()
                    .args(["-p", &node.port().to_string(), "cluster", "info"])
                    .output()
                    .expect("redis-cli");
                if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                    break;
                }
                assert!(Instant::now() < deadline, "the cluster did not reach cluster_state:ok");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        cluster
    }

    /// `redis://127.0.0.1:<port>` of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A test PKI in a directory of its own (removed on drop): `ca.pem`; a
/// server certificate for `localhost` and 127.0.0.1 (`server.pem`,
/// `server.key`); a client certificate (`client.pem`, `client.key`), both
/// signed by the CA; and `other-ca.pem`, a CA that signed neither.
pub struct TestPki {
    dir: PathBuf,
}

impl TestPki {
    /// Makes the CA and the certificates (rcgen, ECDSA P-256).
    pub fn new() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose, SanType,
        };
        let dir = scratch_dir("pki");
        remove_on_exit(&dir);
        let write =
            |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write the test PKI");
        let ca = |name: &str| {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
            params.distinguished_name.push(rcgen::DnType::CommonName, name);
            CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
        };
        let authority = ca("simply-mcp-oauth test CA");
        write("ca.pem", &authority.pem());
        write("other-ca.pem", &ca("some other CA").pem());
        let mut server = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        server.subject_alt_names.push(SanType::IpAddress([127, 0, 0, 1].into()));
        server.extended_key_usages =
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().unwrap();
        write("server.pem", &server.signed_by(&key, &authority).unwrap().pem());
        write("server.key", &key.serialize_pem());
        let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
        client.distinguished_name.push(rcgen::DnType::CommonName, "simply-mcp-oauth test client");
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().unwrap();
        write("client.pem", &client.signed_by(&key, &authority).unwrap().pem());
        write("client.key", &key.serialize_pem());
        Self { dir }
    }

    /// The path of one of its files, as text.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `keys` (sorted) with their values, strings and sets, one `key = value` a
/// line: what a store wrote, for the no-secrets check of the conformance suite.
pub async fn dump_keys(connection: &mut redis::aio::MultiplexedConnection, mut keys: Vec<String>) -> String {
    keys.sort();
    let mut out = String::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE").arg(&key).query_async(connection).await.unwrap();
        let value = match kind.as_str() {
            "string" => redis::cmd("GET").arg(&key).query_async::<String>(connection).await.unwrap(),
            "set" => {
                let mut members: Vec<String> =
                    redis::cmd("SMEMBERS").arg(&key).query_async(connection).await.unwrap();
                members.sort();
                members.join(",")
            }
            // The counted records (stats.rs): members in order of expiry.
            "zset" => redis::cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .query_async::<Vec<String>>(connection)
                .await
                .unwrap()
                .join(","),
            other => format!("<{other}>"),
        };
        out.push_str(&format!("{key} = {value}\n"));
    }
    out
}
