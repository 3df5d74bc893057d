//! Logging, initialised once, here only. Adapters and the domain use `tracing` macros.

use tracing_subscriber::EnvFilter;

/// Logs to stderr as `pretty` text or `json`; `RUST_LOG` overrides `level`.
pub fn init(format: &str, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // `try_init` so that a second call (tests) is harmless.
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
