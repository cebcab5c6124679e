//! Process-wide tracing: human-readable lines to stderr and a daily-rotated
//! file in the app's log directory (7 files kept). Set up once per process.
//!
//! What may be logged is decided at the call sites: spans carry ids and
//! counts, never patient data, badge values, keys or tokens.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

use crate::{CoreError, Result};

/// Keeps the file writer flushing; drop it only at process exit.
pub struct LogGuard {
    _file: WorkerGuard,
}

/// Installs the global subscriber. `filter` uses `EnvFilter` syntax.
pub fn init(log_dir: &Path, filter: &str) -> Result<LogGuard> {
    let filter = EnvFilter::try_new(filter).map_err(|e| {
        CoreError::Config(format!(
            "log filter {filter:?} is invalid ({e}); try TEND_LOG=info"
        ))
    })?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("tend")
        .filename_suffix("log")
        .max_log_files(7)
        .build(log_dir)
        .map_err(|e| CoreError::storage(log_dir, format!("cannot open the log file: {e}")))?;
    let (file_writer, guard) = tracing_appender::non_blocking(appender);
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr).with_target(false))
        .with(fmt::layer().with_writer(file_writer).with_ansi(false))
        .try_init()
        .map_err(|e| CoreError::Config(format!("logging was already set up: {e}")))?;
    Ok(LogGuard { _file: guard })
}
