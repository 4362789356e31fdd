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

use crate::app::exit;
use crate::config::cli::BacktestArgs;
use crate::config::Config;
use chrono::{DateTime, Utc};
use std::io::IsTerminal;
use std::process::ExitCode;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// One history bar of one coin. `time_ms` is the period start (CoinGlass convention); every
/// value describes the bar as it stood at its end. `None` is unknown, never zero.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bar {
    pub time_ms: i64,
    /// Reference-pair price OHLC. Imported files carry only `close` (see `replay::prices`).
    pub open: Option<f64>,
    pub high: Option<f64>,
    pub low: Option<f64>,
    pub close: Option<f64>,
    /// Aggregated open interest at the bar's close, USD.
    pub oi_usd: Option<f64>,
    /// OI-weighted funding, normalised to 8 h, percent.
    pub funding_8h_pct: Option<f64>,
    /// USD liquidated during the bar (all exchanges).
    pub liq_long_usd: Option<f64>,
    pub liq_short_usd: Option<f64>,
    /// Global-account long percent on the reference pair (short = 100 − long).
    pub retail_long_pct: Option<f64>,
    /// Top-trader-account long percent on the reference pair.
    pub top_long_pct: Option<f64>,
    /// Taker buy share of the bar's volume on the reference pair, percent.
    pub taker_buy_pct: Option<f64>,
}

/// Value columns of a bar, in [`Bar::values`] order (also the store's column names).
pub const BAR_COLUMNS: [&str; 11] = [
    "open",
    "high",
    "low",
    "close",
    "oi_usd",
    "funding_8h_pct",
    "liq_long_usd",
    "liq_short_usd",
    "retail_long_pct",
    "top_long_pct",
    "taker_buy_pct",
];

impl Bar {
    /// An empty bar (every value unknown) starting at `time_ms`.
    pub fn at(time_ms: i64) -> Bar {
        Bar {
            time_ms,
            ..Bar::default()
        }
    }

    pub fn values(&self) -> [Option<f64>; 11] {
        [
            self.open,
            self.high,
            self.low,
            self.close,
            self.oi_usd,
            self.funding_8h_pct,
            self.liq_long_usd,
            self.liq_short_usd,
            self.retail_long_pct,
            self.top_long_pct,
            self.taker_buy_pct,
        ]
    }

    pub fn from_values(time_ms: i64, v: [Option<f64>; 11]) -> Bar {
        Bar {
            time_ms,
            open: v[0],
            high: v[1],
            low: v[2],
            close: v[3],
            oi_usd: v[4],
            funding_8h_pct: v[5],
            liq_long_usd: v[6],
            liq_short_usd: v[7],
            retail_long_pct: v[8],
            top_long_pct: v[9],
            taker_buy_pct: v[10],
        }
    }
}

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
                Ok(s) => s,
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
