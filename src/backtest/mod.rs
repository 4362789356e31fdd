//! `perpwatch backtest`: replays the signal engine over history bars and scores each signal
//! against the unconditional base rate.
//!
//! * [`fetch`]: where bars come from — CoinGlass history (paged, cached in the store), the demo
//!   market, or a CSV the user imported (`crate::import`);
//! * [`replay`]: bar-by-bar evaluation (no look-ahead) and the outcome maths;
//! * [`report`]: the table, `--json` and `--csv`.

pub mod fetch;
pub mod replay;
pub mod report;

use crate::config::cli::BacktestArgs;
use crate::config::Config;
use crate::exit;
use crate::signals::relative::RelativeSettings;
use chrono::{DateTime, Utc};
use std::io::IsTerminal;
use std::process::ExitCode;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Milliseconds of a V4 interval (`1m … 1w`); `None` for anything else.
pub fn interval_ms(interval: &str) -> Option<i64> {
    let minute = 60_000;
    Some(match interval {
        "1m" => minute,
        "3m" => 3 * minute,
        "5m" => 5 * minute,
        "15m" => 15 * minute,
        "30m" => 30 * minute,
        "1h" => HOUR_MS,
        "4h" => 4 * HOUR_MS,
        "6h" => 6 * HOUR_MS,
        "8h" => 8 * HOUR_MS,
        "12h" => 12 * HOUR_MS,
        "1d" => DAY_MS,
        "1w" => 7 * DAY_MS,
        _ => return None,
    })
}

/// The V4 name of an interval length, if it is one.
pub fn interval_name(ms: i64) -> Option<&'static str> {
    crate::config::cli::HISTORY_INTERVALS
        .into_iter()
        .find(|name| interval_ms(name) == Some(ms))
}

/// "4h", "1d", "90m": a short human duration for messages.
pub fn human_ms(ms: i64) -> String {
    if let Some(name) = interval_name(ms) {
        return name.to_string();
    }
    if ms % DAY_MS == 0 {
        format!("{}d", ms / DAY_MS)
    } else if ms % HOUR_MS == 0 {
        format!("{}h", ms / HOUR_MS)
    } else {
        format!("{}m", ms / 60_000)
    }
}

pub fn ms_time(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// The relative-threshold settings of a run: `--threshold-mode`, else the default (relative);
/// window, minimum history and percentiles are the defaults. One sample per bar
/// ([`replay::Setup::with_relative`] sets `sample_ms`).
// When the config carries `[thresholds] mode/window/percentiles` (global and per symbol), they
// take the place of the defaults here, and the flag overrides their mode.
pub fn relative_settings(args: &BacktestArgs) -> RelativeSettings {
    let defaults = RelativeSettings::default();
    RelativeSettings {
        mode: args.threshold_mode.unwrap_or(defaults.mode),
        ..defaults
    }
}

/// `perpwatch backtest`: exit 0 with a report, 2 for bad usage (interval below the plan, no
/// data source), 3 for a refused key, 1 for anything else.
pub async fn command(config: &Config, args: &BacktestArgs) -> ExitCode {
    let progress = std::io::stderr().is_terminal();
    match fetch::load_bars(config, args, Utc::now(), progress).await {
        Ok(loaded) => {
            let setup = match replay::Setup::new(
                loaded.interval_ms,
                args.horizon,
                args.move_pct,
                config.thresholds_for(&args.symbol),
            ) {
                Ok(s) => s.with_relative(relative_settings(args)),
                Err(msg) => {
                    eprintln!("perpwatch: {msg}");
                    return ExitCode::from(exit::USAGE);
                }
            };
            let result = replay::replay(&loaded.bars, &setup);
            let report = report::Report::new(&args.symbol, &loaded, &setup, &result);
            let text = if args.json {
                report.json()
            } else if args.csv {
                // CSV has rows only: what the table and JSON say in their header goes to stderr.
                for note in report.notes() {
                    eprintln!("perpwatch: note: {note}");
                }
                report.csv()
            } else {
                report.table()
            };
            print!("{text}");
            ExitCode::from(exit::OK)
        }
        Err(e) => {
            eprintln!("perpwatch: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
