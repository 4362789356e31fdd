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

/// "4h", "1d", "36h", "4h30m", "59m59.997s": a short, exact human duration for messages (the
/// interval name when it is one; whole days or hours as such; otherwise hours, minutes and
/// seconds as `--horizon` spells them, down to the millisecond).
pub fn human_ms(ms: i64) -> String {
    if let Some(name) = interval_name(ms) {
        return name.to_string();
    }
    if ms != 0 && ms % DAY_MS == 0 {
        return format!("{}d", ms / DAY_MS);
    }
    if ms != 0 && ms % HOUR_MS == 0 {
        return format!("{}h", ms / HOUR_MS);
    }
    let a = ms.unsigned_abs();
    let hour = HOUR_MS.unsigned_abs();
    let (h, m, milli) = (a / hour, a % hour / 60_000, a % 60_000);
    let mut out = String::from(if ms < 0 { "-" } else { "" });
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 || (h > 0 && milli > 0) {
        out.push_str(&format!("{m}m"));
    }
    if milli > 0 || a == 0 {
        let (secs, frac) = (milli / 1000, milli % 1000);
        if frac == 0 {
            out.push_str(&format!("{secs}s"));
        } else {
            let frac = format!("{frac:03}");
            out.push_str(&format!("{secs}.{}s", frac.trim_end_matches('0')));
        }
    }
    out
}

pub fn ms_time(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// The relative-threshold settings of a run: the configuration's for the symbol (`[thresholds]`
/// mode, window and percentiles, per symbol where set), the mode overridden by
/// `--threshold-mode`. One sample per bar ([`replay::Setup::with_relative`] sets `sample_ms`).
pub fn relative_settings(config: &Config, args: &BacktestArgs) -> RelativeSettings {
    let configured = config.relative_for(&args.symbol);
    RelativeSettings {
        mode: args.threshold_mode.unwrap_or(configured.mode),
        ..configured
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
                Ok(s) => s.with_relative(relative_settings(config, args)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_are_exact_and_read_like_flags() {
        let cases = [
            (HOUR_MS, "1h"),
            (4 * HOUR_MS, "4h"),
            (DAY_MS, "1d"),
            (7 * DAY_MS, "1w"),
            (30 * DAY_MS, "30d"),
            (36 * HOUR_MS, "36h"),
            (270 * 60_000, "4h30m"),
            (7 * 60_000, "7m"),
            (HOUR_MS + 3, "1h0m0.003s"),
            (7 * 60_000 - 3, "6m59.997s"),
            (500, "0.5s"),
            (2_000, "2s"),
            (0, "0s"),
            (-90 * 60_000, "-1h30m"),
        ];
        for (ms, want) in cases {
            assert_eq!(human_ms(ms), want, "{ms}");
        }
    }
}
