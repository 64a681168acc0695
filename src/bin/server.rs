//! `simply-mcp-oauth-server`: the demo authorization server with a protected
//! MCP endpoint, in memory. See `--help`.

use std::future::{Future, IntoFuture as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use simply_mcp_oauth::http::OAuthHttp;
use simply_mcp_oauth::server::demo::{demo_router, spawn_sweeper, MCP_SCOPE, SWEEP_INTERVAL};
use simply_mcp_oauth::{ClientConfig, MemoryStorage, Provider, ProviderConfig};

/// The configured public client, for trying the flow by hand.
const DEMO_CLIENT_ID: &str = "demo-client";
/// How long open connections may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

const HELP: &str = "\
simply-mcp-oauth-server: a demo OAuth 2.1 authorization server for MCP, with a
protected MCP endpoint at /mcp. Storage is in memory. Everyone who approves the
consent page is signed in as the single user `demo-user`, with no password.

USAGE:
    simply-mcp-oauth-server [OPTIONS]

OPTIONS (each also read from the environment variable shown; flags win):
    --bind <ADDR>                      SIMPLY_MCP_OAUTH_BIND
        Address to listen on [default: 127.0.0.1:8080]; port 0 picks a free port.
    --issuer <URL>                     SIMPLY_MCP_OAUTH_ISSUER
        Issuer URL [default: http://<bound address>]; https, or http on loopback.
    --token-expiration <SECONDS>       SIMPLY_MCP_OAUTH_TOKEN_EXPIRATION
        Access token lifetime [default: 3600].
    --refresh-token-expiration <SECONDS>  SIMPLY_MCP_OAUTH_REFRESH_TOKEN_EXPIRATION
        Refresh token lifetime [default: 86400].
    --code-expiration <SECONDS>        SIMPLY_MCP_OAUTH_CODE_EXPIRATION
        Authorization code lifetime [default: 600].
    -h, --help
        Print this help.

A public client `demo-client` is configured with the redirect URIs
http://127.0.0.1/callback and http://localhost/callback (any port); clients may
also register themselves at /register.
";

/// Settings after flags and environment.
#[derive(Debug, Default, PartialEq)]
struct Options {
    bind: Option<String>,
    issuer: Option<String>,
    token_expiration: Option<u64>,
    refresh_token_expiration: Option<u64>,
    code_expiration: Option<u64>,
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Run(Options),
}

/// A flag: its name, its environment variable, and where the value goes.
struct Flag {
    name: &'static str,
    env: &'static str,
    set: fn(&mut Options, &str) -> Result<(), String>,
}

const FLAGS: [Flag; 5] = [
    Flag {
        name: "--bind",
        env: "SIMPLY_MCP_OAUTH_BIND",
        set: |o, v| {
            o.bind = Some(v.to_string());
            Ok(())
        },
    },
    Flag {
        name: "--issuer",
        env: "SIMPLY_MCP_OAUTH_ISSUER",
        set: |o, v| {
            o.issuer = Some(v.to_string());
            Ok(())
        },
    },
    Flag {
        name: "--token-expiration",
        env: "SIMPLY_MCP_OAUTH_TOKEN_EXPIRATION",
        set: |o, v| {
            o.token_expiration = Some(seconds(v)?);
            Ok(())
        },
    },
    Flag {
        name: "--refresh-token-expiration",
        env: "SIMPLY_MCP_OAUTH_REFRESH_TOKEN_EXPIRATION",
        set: |o, v| {
            o.refresh_token_expiration = Some(seconds(v)?);
            Ok(())
        },
    },
    Flag {
        name: "--code-expiration",
        env: "SIMPLY_MCP_OAUTH_CODE_EXPIRATION",
        set: |o, v| {
            o.code_expiration = Some(seconds(v)?);
            Ok(())
        },
    },
];

fn seconds(value: &str) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("expected a positive number of seconds, got {value:?}")),
    }
}

/// Environment first, then flags (`--flag value` or `--flag=value`) on top.
fn parse(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command, String> {
    let mut options = Options::default();
    for flag in &FLAGS {
        if let Some(value) = env(flag.env).filter(|v| !v.is_empty()) {
            (flag.set)(&mut options, &value).map_err(|e| format!("{}: {e}", flag.env))?;
        }
    }
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            return Ok(Command::Help);
        }
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (arg.clone(), None),
        };
        let Some(flag) = FLAGS.iter().find(|f| f.name == name) else {
            return Err(format!("unknown argument {arg:?}"));
        };
        let value = match inline {
            Some(value) => value,
            None => args.next().ok_or_else(|| format!("{name} needs a value"))?,
        };
        (flag.set)(&mut options, &value).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(Command::Run(options))
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1), |name| std::env::var(name).ok()) {
        Ok(Command::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run(options)) => options,
        Err(message) => {
            eprintln!("simply-mcp-oauth-server: {message}\nTry --help.");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("simply-mcp-oauth-server: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(options))
}

async fn run(options: Options) -> ExitCode {
    let fail = |message: String, code: u8| {
        eprintln!("simply-mcp-oauth-server: {message}");
        ExitCode::from(code)
    };
    // Listen for signals before announcing the address, so that a signal sent
    // right after the announcement is never lost.
    let shutdown = match shutdown_signal() {
        Ok(shutdown) => shutdown,
        Err(error) => return fail(format!("cannot install signal handlers: {error}"), 1),
    };
    let bind = options.bind.as_deref().unwrap_or("127.0.0.1:8080");
    let listener = match tokio::net::TcpListener::bind(bind).await {
        Ok(listener) => listener,
        Err(error) => return fail(format!("cannot listen on {bind}: {error}"), 1),
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => return fail(format!("cannot read the bound address: {error}"), 1),
    };
    let issuer = options.issuer.clone().unwrap_or_else(|| format!("http://{address}"));
    let mut config = ProviderConfig {
        clients: vec![ClientConfig {
            client_id: DEMO_CLIENT_ID.into(),
            client_secret: None,
            redirect_uris: vec!["http://127.0.0.1/callback".into(), "http://localhost/callback".into()],
            scopes: vec![MCP_SCOPE.into()],
        }],
        ..ProviderConfig::new(issuer)
    };
    if let Some(seconds) = options.token_expiration {
        config.token_expiration = seconds;
    }
    if let Some(seconds) = options.refresh_token_expiration {
        config.refresh_token_expiration = seconds;
    }
    if let Some(seconds) = options.code_expiration {
        config.code_expiration = seconds;
    }
    let hint = if options.issuer.is_none() { " (pass --issuer)" } else { "" };
    let provider = match Provider::create(config, MemoryStorage::new()).await {
        Ok(provider) => provider,
        Err(error) => return fail(format!("{error}{hint}"), 2),
    };
    let oauth = Arc::new(OAuthHttp::new(provider));
    let app = match demo_router(Arc::clone(&oauth)) {
        Ok(app) => app,
        Err(error) => return fail(error.to_string(), 1),
    };
    let sweeper = spawn_sweeper(Arc::clone(&oauth), SWEEP_INTERVAL);

    println!("listening on http://{address}");
    println!("issuer: {}", oauth.provider().config().issuer);
    println!("demo client: {DEMO_CLIENT_ID}");

    let signalled = Arc::new(tokio::sync::Notify::new());
    let on_signal = Arc::clone(&signalled);
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            eprintln!("simply-mcp-oauth-server: shutting down");
            on_signal.notify_one();
        })
        .into_future();
    let deadline = async {
        signalled.notified().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    let result = tokio::select! {
        result = server => result,
        () = deadline => {
            eprintln!("simply-mcp-oauth-server: connections still open; closing them");
            Ok(())
        }
    };
    sweeper.stop().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(format!("server error: {error}"), 1),
    }
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM. The handlers are installed now,
/// not when the future is first polled.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let interrupt = tokio::spawn(tokio::signal::ctrl_c());
    Ok(async move {
        #[cfg(unix)]
        let terminate = terminate.recv();
        #[cfg(not(unix))]
        let terminate = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = interrupt => {}
            _ = terminate => {}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_override_environment() {
        let env = |name: &str| match name {
            "SIMPLY_MCP_OAUTH_BIND" => Some("0.0.0.0:1".to_string()),
            "SIMPLY_MCP_OAUTH_CODE_EXPIRATION" => Some("30".to_string()),
            _ => None,
        };
        let parsed = parse(args(&["--bind", "127.0.0.1:0", "--token-expiration=60"]), env).unwrap();
        assert_eq!(
            parsed,
            Command::Run(Options {
                bind: Some("127.0.0.1:0".into()),
                token_expiration: Some(60),
                code_expiration: Some(30),
                ..Options::default()
            })
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        let none = |_: &str| None;
        assert!(parse(args(&["--nope"]), none).is_err());
        assert!(parse(args(&["--bind"]), none).is_err());
        assert!(parse(args(&["--token-expiration", "soon"]), none).is_err());
        assert!(parse(args(&["--code-expiration=0"]), none).is_err());
        assert!(parse(args(&[]), |_| Some("x".into())).is_err());
        assert_eq!(parse(args(&["--help"]), none).unwrap(), Command::Help);
    }
}
