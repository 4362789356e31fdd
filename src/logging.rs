//! Logging: a daily-rolling file in `<data dir>/logs` always, plus stderr in headless mode.
//! While the TUI owns the terminal nothing is written to stderr.

use std::path::Path;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer};

/// Log files kept (days).
const KEEP_LOG_FILES: usize = 14;

/// Installs the global subscriber. Keep the returned guard alive until exit: dropping it flushes
/// and stops the file writer.
pub fn init(data_dir: &Path, level: &str, to_stderr: bool) -> color_eyre::Result<WorkerGuard> {
    use color_eyre::eyre::WrapErr;
    let log_dir = data_dir.join("logs");
    std::fs::create_dir_all(&log_dir)
        .wrap_err_with(|| format!("cannot create the log directory {}", log_dir.display()))?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("perpwatch")
        .filename_suffix("log")
        .max_log_files(KEEP_LOG_FILES)
        .build(&log_dir)
        .wrap_err_with(|| format!("cannot open a log file in {}", log_dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    // Our own crate at the chosen level; dependencies only warn (hyper/reqwest are chatty).
    let filter = || EnvFilter::new(format!("warn,perpwatch={level}"));
    let file_layer = fmt::layer()
        .with_ansi(false)
        .with_writer(writer)
        .with_filter(filter());
    let stderr_layer = to_stderr.then(|| {
        use std::io::IsTerminal;
        let colour = std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        fmt::layer()
            .with_ansi(colour)
            .with_writer(std::io::stderr)
            .with_target(false)
            .with_filter(filter())
    });
    tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer)
        .try_init()
        .wrap_err("cannot install the logger")?;
    Ok(guard)
}
