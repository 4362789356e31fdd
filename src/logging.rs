//! Logging: a daily-rolling file in `<data dir>/logs` always, plus stderr in headless mode.
//! While the TUI owns the terminal nothing is written to stderr.
//!
//! When the log file cannot be opened (a read-only data dir, `logs` being a file, a full disk)
//! the stderr layer is installed anyway, so a headless run keeps every line, and the error says
//! what failed and where the lines go instead.

use std::path::Path;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer};

/// Log files kept (days).
const KEEP_LOG_FILES: usize = 14;

/// Installs the global subscriber. Keep the returned guard alive until exit: dropping it flushes
/// and stops the file writer. On error the stderr layer (when asked for) is still installed; the
/// error names what failed and where log lines go instead.
pub fn init(data_dir: &Path, level: &str, to_stderr: bool) -> color_eyre::Result<WorkerGuard> {
    let filter = || filter(level);
    let appender = match open_file(data_dir) {
        Ok(a) => a,
        Err(e) => {
            let _ = tracing_subscriber::registry()
                .with(stderr_layer(level, to_stderr))
                .try_init();
            let instead = if to_stderr {
                "log lines go to stderr only"
            } else {
                "log lines are not kept this run (errors are still printed on exit)"
            };
            return Err(color_eyre::eyre::eyre!("{e}; {instead}"));
        }
    };
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let file_layer = fmt::layer()
        .with_ansi(false)
        .with_writer(writer)
        .with_filter(filter());
    use color_eyre::eyre::WrapErr;
    tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer(level, to_stderr))
        .try_init()
        .wrap_err("cannot install the logger")?;
    Ok(guard)
}

/// Our own crate at the chosen level; dependencies only warn (hyper/reqwest are chatty).
fn filter(level: &str) -> EnvFilter {
    EnvFilter::new(format!("warn,perpwatch={level}"))
}

/// The stderr layer, when asked for (colour only on a terminal, and not with `NO_COLOR`).
fn stderr_layer<S>(level: &str, on: bool) -> Option<impl Layer<S>>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    on.then(|| {
        use std::io::IsTerminal;
        let colour = std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        fmt::layer()
            .with_ansi(colour)
            .with_writer(std::io::stderr)
            .with_target(false)
            .with_filter(filter(level))
    })
}

/// Where the log files go: `<data dir>/logs`.
pub fn log_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("logs")
}

/// The rolling appender in [`log_dir`], or what stopped it (path and cause).
fn open_file(data_dir: &Path) -> Result<RollingFileAppender, String> {
    let log_dir = log_dir(data_dir);
    std::fs::create_dir_all(&log_dir)
        .map_err(|e| format!("cannot create the log directory {}: {e}", log_dir.display()))?;
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("perpwatch")
        .filename_suffix("log")
        .max_log_files(KEEP_LOG_FILES)
        .build(&log_dir)
        .map_err(|e| format!("cannot open a log file in {}: {e}", log_dir.display()))
}
