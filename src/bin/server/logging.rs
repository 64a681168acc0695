//! The log subscriber: plain lines on stderr, filtered by `RUST_LOG`.

use tracing_subscriber::filter::{EnvFilter, LevelFilter};

/// Installs the subscriber. Without `RUST_LOG` (or with only invalid
/// directives in it) the level is `info`, or `debug` with `--debug`, the
/// seed's `debug: true`.
pub fn init(debug: bool) {
    let default = if debug { LevelFilter::DEBUG } else { LevelFilter::INFO };
    let filter = EnvFilter::builder().with_default_directive(default.into()).from_env_lossy();
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false).init();
}
