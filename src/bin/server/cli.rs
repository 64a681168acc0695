//! The command line: flags with environment fallbacks (clap, derive + env).
//! A flag wins over its variable; a bad value is clap's usage error (exit
//! status 2).

use std::ffi::OsStr;

use clap::builder::BoolishValueParser;
use clap::{CommandFactory as _, Parser, ValueEnum};
use simply_mcp_oauth::config::{
    DEFAULT_CODE_EXPIRATION, DEFAULT_REFRESH_TOKEN_EXPIRATION, DEFAULT_REGISTRATION_LIFETIME,
    DEFAULT_TOKEN_EXPIRATION, MAX_REGISTRATION_LIFETIME,
};
use simply_mcp_oauth::config::{DEFAULT_REFRESH_GRACE, MAX_REFRESH_GRACE};

const ABOUT: &str = "A demo OAuth 2.1 authorization server for MCP, with a protected MCP endpoint at /mcp.";

const LONG_ABOUT: &str = "\
simply-mcp-oauth-server: a demo OAuth 2.1 authorization server for MCP, with a
protected MCP endpoint at /mcp. Storage is in memory, or in Redis (builds with
the `redis` feature). Everyone who approves the consent page is signed in as
the single user `demo-user`, with no password.

Each option is also read from the environment variable shown; flags win, and an
empty variable counts as unset.";

const AFTER_LONG_HELP: &str = "\
Client ids that are https URLs are Client ID Metadata Documents: the server
fetches them (public addresses only, no redirects, 5 KB, 5 s) and caches them.

A public client `demo-client` is configured with the redirect URIs
http://127.0.0.1/callback and http://localhost/callback (any port); clients may
also register themselves at /register, but never for client_credentials:
a machine client is configured with --client-id and --client-secret (it
authenticates with HTTP Basic or client_secret_post; its redirect URI is
http://127.0.0.1/callback). Its tokens stand for no user, so /mcp, which
serves users, answers them 403.

Logs go to stderr, one line per request (method, route, status, latency,
request id, client id) and per audit event; RUST_LOG filters them (default
`info`, or `debug` with --debug). GET /metrics is the Prometheus text format,
or the JSON counts with `Accept: application/json`.

/health and /metrics are open to anyone who reaches the server unless
--ops-token or --ops-bind protects them: with a token, /metrics needs
`Authorization: Bearer <token>` and /health without it says only
{\"status\":\"healthy\"} or \"unhealthy\" (for load balancers); with --ops-bind
they are served only on that address (say 127.0.0.1:9090), not on --bind.";

/// Settings after flags and environment.
#[derive(Debug, Parser)]
#[command(
    name = "simply-mcp-oauth-server",
    version,
    // A repeated flag: the last one wins, as before clap.
    args_override_self = true,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_long_help = AFTER_LONG_HELP
)]
pub struct Options {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "SIMPLY_MCP_OAUTH_BIND", value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Issuer URL [default: http://<bound address>]; https, or http on loopback.
    #[arg(long, env = "SIMPLY_MCP_OAUTH_ISSUER", value_name = "URL")]
    pub issuer: Option<String>,

    /// Access token lifetime, in seconds.
    #[arg(long, env = "SIMPLY_MCP_OAUTH_TOKEN_EXPIRATION", value_name = "SECONDS",
          value_parser = seconds, default_value_t = DEFAULT_TOKEN_EXPIRATION)]
    pub token_expiration: u64,

    /// Refresh token lifetime, in seconds.
    #[arg(long, env = "SIMPLY_MCP_OAUTH_REFRESH_TOKEN_EXPIRATION", value_name = "SECONDS",
          value_parser = seconds, default_value_t = DEFAULT_REFRESH_TOKEN_EXPIRATION)]
    pub refresh_token_expiration: u64,

    /// Seconds after a refresh during which the previous refresh token still
    /// works and returns the same new token (several processes of one client
    /// refreshing at once, a retry after a lost response); after that, using
    /// it again is reuse and revokes the grant. 0: no grace. At most 300.
    #[arg(long, env = "SIMPLY_MCP_OAUTH_REFRESH_GRACE", value_name = "SECONDS",
          value_parser = refresh_grace, default_value_t = DEFAULT_REFRESH_GRACE)]
    pub refresh_grace: u64,

    /// Authorization code lifetime, in seconds.
    #[arg(long, env = "SIMPLY_MCP_OAUTH_CODE_EXPIRATION", value_name = "SECONDS",
          value_parser = seconds, default_value_t = DEFAULT_CODE_EXPIRATION)]
    pub code_expiration: u64,

    /// How long a dynamically registered client lives until its first token,
    /// in seconds (at most 86400); then it stays.
    #[arg(long, env = "SIMPLY_MCP_OAUTH_REGISTRATION_LIFETIME", value_name = "SECONDS",
          value_parser = registration_lifetime, default_value_t = DEFAULT_REGISTRATION_LIFETIME)]
    pub registration_lifetime: u64,

    /// The request limits of /register, /token, /authorize, /introspect and
    /// /revoke (per client address, per authenticated client_id on /token,
    /// and for everyone on /register; see the README).
    ///
    /// On by default; `--rate-limits=off` turns them all off, e.g. for a load
    /// test from one address (on/off, 1/0, true/false, yes/no).
    #[arg(long, env = "SIMPLY_MCP_OAUTH_RATE_LIMITS", value_name = "BOOL", hide_possible_values = true,
          action = clap::ArgAction::Set, require_equals = true, default_value = "on",
          value_parser = BoolishValueParser::new())]
    pub rate_limits: bool,

    /// Where clients, grants and tokens live [default: redis when a Redis URL
    /// or REDIS_HOST is set, memory otherwise].
    #[arg(long, env = "SIMPLY_MCP_OAUTH_STORAGE", value_enum)]
    pub storage: Option<StorageKind>,

    /// redis://[[user]:password@]host[:port][/db], or rediss://... for TLS.
    ///
    /// Without a URL, Redis is reached by REDIS_HOST, REDIS_PORT,
    /// REDIS_USERNAME, REDIS_PASSWORD, REDIS_DB and REDIS_TLS; a URL wins over
    /// them. REDIS_KEY_PREFIX, REDIS_CONNECTION_TIMEOUT, REDIS_RETRY_ATTEMPTS,
    /// REDIS_RETRY_DELAY and the TLS files REDIS_TLS_CA_FILE (PEM CA instead of
    /// the public roots), REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE (PEM
    /// client certificate and key) apply either way. A build without the
    /// `redis` feature refuses Redis storage (exit status 2).
    #[arg(long, env = "REDIS_URL", value_name = "URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Development only: accept Client ID Metadata Document URLs on loopback
    /// hosts.
    ///
    /// http or https on localhost, 127.0.0.0/8, [::1]. Off by default;
    /// `--cimd-allow-loopback=0` turns it off again (1/0, true/false, yes/no).
    #[arg(long, env = "SIMPLY_MCP_OAUTH_CIMD_ALLOW_LOOPBACK", value_name = "BOOL", hide_possible_values = true,
          num_args = 0..=1, require_equals = true, default_missing_value = "true",
          default_value = "false", value_parser = BoolishValueParser::new())]
    pub cimd_allow_loopback: bool,

    /// A PEM CA certificate trusted, besides the public roots, when fetching
    /// metadata documents (for https documents on loopback in tests).
    #[arg(long, env = "SIMPLY_MCP_OAUTH_CIMD_CA_FILE", value_name = "PATH")]
    pub cimd_ca_file: Option<String>,

    /// A secret (at least 16 characters) that /metrics and the full /health
    /// report require as `Authorization: Bearer <token>`.
    ///
    /// Without it, /health answers only its status word. Compared in
    /// constant time and never logged; prefer the variable to the flag (the
    /// command line is visible to other local users).
    #[arg(long, env = "SIMPLY_MCP_OAUTH_OPS_TOKEN", value_name = "TOKEN", hide_env_values = true,
          value_parser = SecretParser)]
    pub ops_token: Option<Secret>,

    /// Serve /health and /metrics on this address only (e.g. 127.0.0.1:9090),
    /// not on --bind.
    #[arg(long, env = "SIMPLY_MCP_OAUTH_OPS_BIND", value_name = "ADDR")]
    pub ops_bind: Option<String>,

    /// The client_id of a configured machine client, which gets tokens with
    /// the client_credentials grant (scope `mcp`; they stand for no user);
    /// needs --client-secret.
    ///
    /// Dynamic registration never grants client_credentials: the operator
    /// configures such a client here. Stored at startup, replacing a stored
    /// client of that id (restart-safe on Redis). Not `demo-client`.
    #[arg(long, env = "SIMPLY_MCP_OAUTH_CLIENT_ID", value_name = "ID", requires = "client_secret",
          value_parser = machine_client_id)]
    pub client_id: Option<String>,

    /// The secret of --client-id (at least 16 characters), sent with HTTP
    /// Basic or in the form body; needs --client-id.
    ///
    /// Stored only as a salted digest and never logged; prefer the variable
    /// to the flag (the command line is visible to other local users).
    #[arg(long, env = "SIMPLY_MCP_OAUTH_CLIENT_SECRET", value_name = "SECRET", hide_env_values = true,
          requires = "client_id", value_parser = SecretParser)]
    pub client_secret: Option<Secret>,

    /// Log at debug level when RUST_LOG is unset (the seed's `debug: true`),
    /// and log Redis connection attempts.
    #[arg(long, env = "SIMPLY_MCP_OAUTH_DEBUG", value_name = "BOOL", hide_possible_values = true,
          num_args = 0..=1, require_equals = true, default_missing_value = "true",
          default_value = "false", value_parser = BoolishValueParser::new())]
    pub debug: bool,
}

/// An `--ops-token` or `--client-secret`; its `Debug` shows no value.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The shortest secret accepted: a guessable one protects nothing.
const MIN_SECRET: usize = 16;

/// Reads a secret; a refusal names the option, never the value (clap's own
/// "invalid value" message would repeat it on stderr, into the logs).
#[derive(Clone)]
struct SecretParser;

impl clap::builder::TypedValueParser for SecretParser {
    type Value = Secret;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Secret, clap::Error> {
        let refuse = || {
            let name = arg.map(|arg| arg.get_id().as_str().replace('_', "-")).unwrap_or_default();
            let message =
                format!("--{name} needs at least {MIN_SECRET} characters without spaces (value not shown)\n");
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, message).with_cmd(cmd)
        };
        let value = value.to_str().ok_or_else(refuse)?;
        if value.trim().chars().count() < MIN_SECRET || value.chars().any(char::is_whitespace) {
            return Err(refuse());
        }
        Ok(Secret(value.to_string()))
    }
}

/// A `--client-id`: what the provider accepts as a configured client id, and
/// not the demo client's, which it would replace.
fn machine_client_id(value: &str) -> Result<String, String> {
    if value.is_empty() || value.len() > 255 || value.chars().any(char::is_control) {
        return Err("expected 1 to 255 characters, no control characters".to_string());
    }
    if value == crate::DEMO_CLIENT_ID {
        return Err(format!("{value} is the demo client's id"));
    }
    Ok(value.to_string())
}

/// The `--storage` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StorageKind {
    Memory,
    Redis,
}

impl Options {
    /// The store to open: the one asked for, else Redis when a Redis URL or
    /// `REDIS_HOST` (looked up in `env`) names one, else memory.
    pub fn storage_kind(&self, env: impl Fn(&str) -> Option<String>) -> StorageKind {
        self.storage.unwrap_or_else(|| {
            let named = self.redis_url.is_some() || env("REDIS_HOST").is_some_and(|host| !host.is_empty());
            if named {
                StorageKind::Redis
            } else {
                StorageKind::Memory
            }
        })
    }

    /// The machine client's id and secret, when configured (clap sees to it
    /// that both or neither are given).
    pub fn machine_client(&self) -> Option<(&str, &Secret)> {
        self.client_id.as_deref().zip(self.client_secret.as_ref())
    }
}

/// The variables the options read, so that an empty one can count as unset.
pub fn variables() -> Vec<String> {
    let command = Options::command();
    let names = command.get_arguments().filter_map(|arg| arg.get_env()).map(OsStr::to_string_lossy);
    names.map(|name| name.into_owned()).chain(["REDIS_HOST".to_string()]).collect()
}

fn seconds(value: &str) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a positive number of seconds".to_string()),
    }
}

fn refresh_grace(value: &str) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(n) if n <= MAX_REFRESH_GRACE => Ok(n),
        _ => Err(format!("expected 0 to {MAX_REFRESH_GRACE} seconds")),
    }
}

fn registration_lifetime(value: &str) -> Result<u64, String> {
    match seconds(value) {
        Ok(n) if n <= MAX_REGISTRATION_LIFETIME => Ok(n),
        _ => Err(format!("expected 1 to {MAX_REGISTRATION_LIFETIME} seconds")),
    }
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;

    use super::*;

    /// The command line alone: the environment of the test run is left out
    /// (tests/server_e2e.rs checks the variables on the real binary).
    fn parse(list: &[&str]) -> Result<Options, clap::Error> {
        let command = Options::command().mut_args(|arg| arg.env(None::<&'static str>));
        let matches = command
            .try_get_matches_from(std::iter::once("simply-mcp-oauth-server").chain(list.iter().copied()))?;
        <Options as clap::FromArgMatches>::from_arg_matches(&matches)
    }

    #[test]
    fn the_command_is_well_formed() {
        Options::command().debug_assert();
    }

    #[test]
    fn flags_and_defaults() {
        let options = parse(&["--bind", "127.0.0.1:0", "--token-expiration=60"]).unwrap();
        assert_eq!(options.bind, "127.0.0.1:0");
        assert_eq!(options.token_expiration, 60);
        assert_eq!(options.refresh_token_expiration, DEFAULT_REFRESH_TOKEN_EXPIRATION);
        assert_eq!(options.code_expiration, DEFAULT_CODE_EXPIRATION);
        assert_eq!(options.issuer, None);
        assert!(!options.debug);
        let defaults = parse(&[]).unwrap();
        assert_eq!(defaults.bind, "127.0.0.1:8080");
        assert_eq!(defaults.token_expiration, DEFAULT_TOKEN_EXPIRATION);
        assert!(parse(&["--debug"]).unwrap().debug);
        let repeated =
            parse(&["--bind", "127.0.0.1:1", "--bind", "127.0.0.1:2", "--debug", "--debug=0"]).unwrap();
        assert_eq!((repeated.bind.as_str(), repeated.debug), ("127.0.0.1:2", false), "the last one wins");
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        for list in [
            &["--nope"][..],
            &["--bind"],
            &["--token-expiration", "soon"],
            &["--code-expiration=0"],
            &["--storage", "disk"],
            &["--cimd-allow-loopback=maybe"],
            &["--registration-lifetime=86401"],
            &["--rate-limits=sometimes"],
        ] {
            let error = parse(list).expect_err(&format!("{list:?}"));
            assert_eq!(error.exit_code(), 2, "{list:?}: {error}");
        }
        assert_eq!(parse(&["--help"]).unwrap_err().kind(), ErrorKind::DisplayHelp);
        assert_eq!(parse(&["--version"]).unwrap_err().kind(), ErrorKind::DisplayVersion);
    }

    #[test]
    fn the_help_names_every_flag_and_variable_and_no_value() {
        let help = Options::command().render_long_help().to_string();
        for (flag, variable) in [
            ("--bind", "SIMPLY_MCP_OAUTH_BIND"),
            ("--issuer", "SIMPLY_MCP_OAUTH_ISSUER"),
            ("--token-expiration", "SIMPLY_MCP_OAUTH_TOKEN_EXPIRATION"),
            ("--refresh-token-expiration", "SIMPLY_MCP_OAUTH_REFRESH_TOKEN_EXPIRATION"),
            ("--refresh-grace", "SIMPLY_MCP_OAUTH_REFRESH_GRACE"),
            ("--code-expiration", "SIMPLY_MCP_OAUTH_CODE_EXPIRATION"),
            ("--storage", "SIMPLY_MCP_OAUTH_STORAGE"),
            ("--redis-url", "REDIS_URL"),
            ("--cimd-allow-loopback", "SIMPLY_MCP_OAUTH_CIMD_ALLOW_LOOPBACK"),
            ("--cimd-ca-file", "SIMPLY_MCP_OAUTH_CIMD_CA_FILE"),
            ("--debug", "SIMPLY_MCP_OAUTH_DEBUG"),
            ("--registration-lifetime", "SIMPLY_MCP_OAUTH_REGISTRATION_LIFETIME"),
            ("--rate-limits", "SIMPLY_MCP_OAUTH_RATE_LIMITS"),
            ("--ops-token", "SIMPLY_MCP_OAUTH_OPS_TOKEN"),
            ("--ops-bind", "SIMPLY_MCP_OAUTH_OPS_BIND"),
            ("--client-id", "SIMPLY_MCP_OAUTH_CLIENT_ID"),
            ("--client-secret", "SIMPLY_MCP_OAUTH_CLIENT_SECRET"),
        ] {
            assert!(help.contains(flag) && help.contains(variable), "{flag} {variable} in\n{help}");
        }
        for text in [
            "demo-user",
            "REDIS_TLS_CA_FILE",
            "demo-client",
            "answers them 403",
            "[default: 3600]",
            "RUST_LOG",
        ] {
            assert!(help.contains(text), "{text} in\n{help}");
        }
        let mut with_url = Options::command().mut_arg("redis_url", |arg| arg.env("PATH"));
        assert!(!with_url.render_long_help().to_string().contains("[env: PATH="), "values are never shown");
    }

    #[test]
    fn cimd_loopback_switch_and_ca_file() {
        assert!(!parse(&[]).unwrap().cimd_allow_loopback);
        assert!(parse(&["--cimd-allow-loopback"]).unwrap().cimd_allow_loopback);
        assert!(parse(&["--cimd-allow-loopback=1"]).unwrap().cimd_allow_loopback);
        assert!(!parse(&["--cimd-allow-loopback=0"]).unwrap().cimd_allow_loopback);
        // The switch takes no separate value: what follows is the next flag.
        let options = parse(&["--cimd-allow-loopback", "--cimd-ca-file", "/tmp/ca.pem"]).unwrap();
        assert!(options.cimd_allow_loopback);
        assert_eq!(options.cimd_ca_file.as_deref(), Some("/tmp/ca.pem"));
    }

    #[test]
    fn the_ops_token_is_long_and_never_shown() {
        let options = parse(&["--ops-token", "0123456789abcdef", "--ops-bind", "127.0.0.1:9090"]).unwrap();
        assert_eq!(options.ops_token.as_ref().map(|t| t.0.as_str()), Some("0123456789abcdef"));
        assert_eq!(options.ops_bind.as_deref(), Some("127.0.0.1:9090"));
        assert!(!format!("{options:?}").contains("0123456789abcdef"), "never in a debug print");
        for weak in ["short", "0123456789abcde", "0123456789 abcdef"] {
            let error = parse(&["--ops-token", weak]).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{weak}");
            let message = error.to_string();
            assert!(message.contains("--ops-token") && !message.contains(weak), "not echoed: {message}");
        }
        let help = Options::command().render_long_help().to_string();
        assert!(help.contains("/health and /metrics are open") && help.contains("Bearer"), "{help}");
        let mut with_token = Options::command().mut_arg("ops_token", |arg| arg.env("PATH"));
        assert!(!with_token.render_long_help().to_string().contains("[env: PATH="), "values are never shown");
    }

    #[test]
    fn the_machine_client_needs_both_and_its_secret_is_never_shown() {
        let secret = "0123456789abcdef";
        assert!(parse(&[]).unwrap().machine_client().is_none(), "neither: no machine client");
        let options = parse(&["--client-id", "nightly-sync", "--client-secret", secret]).unwrap();
        let (client_id, configured) = options.machine_client().expect("both: a machine client");
        assert_eq!((client_id, configured.0.as_str()), ("nightly-sync", secret));
        assert!(!format!("{options:?}").contains(secret), "never in a debug print");
        for one in [&["--client-id", "nightly-sync"][..], &["--client-secret", secret]] {
            let error = parse(one).expect_err(&format!("{one:?}"));
            assert_eq!(error.exit_code(), 2, "{one:?}: {error}");
            assert!(error.to_string().contains("required"), "{one:?}: {error}");
        }
        for weak in ["short", "0123456789abcde", "0123456789 abcdef"] {
            let error = parse(&["--client-id", "nightly-sync", "--client-secret", weak]).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{weak}");
            let message = error.to_string();
            assert!(message.contains("--client-secret") && !message.contains(weak), "not echoed: {message}");
        }
        for id in ["", "demo-client", "a\nb"] {
            let error = parse(&["--client-id", id, "--client-secret", secret]).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{id:?}");
        }
        let mut with_secret = Options::command().mut_arg("client_secret", |arg| arg.env("PATH"));
        assert!(
            !with_secret.render_long_help().to_string().contains("[env: PATH="),
            "values are never shown"
        );
    }

    #[test]
    fn rate_limits_and_registration_lifetime() {
        let defaults = parse(&[]).unwrap();
        assert!(defaults.rate_limits);
        assert_eq!(defaults.registration_lifetime, DEFAULT_REGISTRATION_LIFETIME);
        assert!(!parse(&["--rate-limits=off"]).unwrap().rate_limits);
        assert!(parse(&["--rate-limits=on"]).unwrap().rate_limits);
        assert_eq!(parse(&["--registration-lifetime", "600"]).unwrap().registration_lifetime, 600);
    }

    #[test]
    fn refresh_grace_from_0_to_300() {
        assert_eq!(parse(&[]).unwrap().refresh_grace, DEFAULT_REFRESH_GRACE);
        assert_eq!(parse(&["--refresh-grace", "0"]).unwrap().refresh_grace, 0, "0: no grace");
        assert_eq!(parse(&["--refresh-grace=300"]).unwrap().refresh_grace, 300);
        for bad in ["--refresh-grace=301", "--refresh-grace=-1", "--refresh-grace=soon"] {
            assert_eq!(parse(&[bad]).expect_err(bad).exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn redis_when_named_unless_memory_is_asked_for() {
        let none = |_: &str| None;
        let host = |name: &str| (name == "REDIS_HOST").then(|| "cache".to_string());
        let empty_host = |name: &str| (name == "REDIS_HOST").then(String::new);
        let kind =
            |list: &[&str], env: &dyn Fn(&str) -> Option<String>| parse(list).unwrap().storage_kind(env);
        assert_eq!(kind(&[], &none), StorageKind::Memory);
        assert_eq!(kind(&[], &host), StorageKind::Redis);
        assert_eq!(kind(&[], &empty_host), StorageKind::Memory);
        assert_eq!(kind(&["--redis-url", "redis://x"], &none), StorageKind::Redis);
        assert_eq!(kind(&["--storage=redis"], &none), StorageKind::Redis);
        assert_eq!(kind(&["--storage", "memory", "--redis-url", "redis://x"], &host), StorageKind::Memory);
    }

    #[test]
    fn every_variable_is_listed() {
        let names = variables();
        assert!(names.iter().any(|n| n == "SIMPLY_MCP_OAUTH_BIND"));
        assert!(names.iter().any(|n| n == "REDIS_URL"));
        assert!(names.iter().any(|n| n == "REDIS_HOST"));
        assert!(names.iter().any(|n| n == "SIMPLY_MCP_OAUTH_CLIENT_SECRET"));
        assert_eq!(names.len(), 18);
    }
}
