//! `perpwatch import FILE.csv --symbol X`: loads a user's own history so that
//! `perpwatch backtest --symbol X` can replay it.
//!
//! The file: plain comma-separated text (no quoted commas), a header row with exactly these
//! columns in this order, then one row per bar, oldest first, evenly spaced on one of the V4
//! intervals (1m … 1w; missing bars are allowed, as multiples of the spacing):
//!
//! ```text
//! time,price,oi_usd,funding_8h_pct,liq_long_usd,liq_short_usd,retail_long_pct,top_long_pct,taker_buy_pct
//! 2024-05-01T00:00:00Z,60321.5,31200000000,0.0100,1250000,830000,61.2,55.0,51.3
//! 1714525200000,60410,,0.0098,,,61.0,,
//! ```
//!
//! * `time`: the bar's start, RFC 3339 or epoch milliseconds. Real exports are often a few ms
//!   off the boundary (`1714525200003`): a time within ±1 s ([`SNAP_TOLERANCE_MS`]) of a bar
//!   boundary is rounded onto it, and the import says how many were. The interval is the
//!   spacing of the closest two rows (within the same tolerance); every row must then sit on the
//!   grid of that interval (boundaries anchored at the first row's minute);
//! * `price`: the bar's close (the replay takes the previous row's price as the open);
//! * `oi_usd`: open interest at the close; `funding_8h_pct`: funding normalised to 8 h, percent;
//! * `liq_*_usd`: USD liquidated during the bar; `*_pct`: percentages 0–100;
//! * an empty cell is absent, never 0.
//!
//! A bad row is an error naming its line and column, and nothing is imported (exit code 2, like a
//! missing or unreadable file or one that is not UTF-8 text; quoted cells are cut to 80
//! characters). A new import of the same symbol replaces the previous one, and says how many
//! bars it replaced. The summary ends with the backtest command that covers the imported span and
//! interval.

use crate::backtest::{interval_ms, DAY_MS};
use crate::config::{cut, quoted};
use crate::model::Bar;
use crate::store::{Store, StoreError};
use chrono::DateTime;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub const HEADER: [&str; 9] = [
    "time",
    "price",
    "oi_usd",
    "funding_8h_pct",
    "liq_long_usd",
    "liq_short_usd",
    "retail_long_pct",
    "top_long_pct",
    "taker_buy_pct",
];

/// Larger files are refused before reading (a year of 1m bars is about 50 MB).
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {source}; expected a readable CSV file", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{}: line {line} is not UTF-8 text: expected a plain-text CSV file with the header {}",
        .path.display(),
        HEADER.join(",")
    )]
    NotText { path: PathBuf, line: usize },
    #[error("{}: line {line}, column {column}: {message}", .path.display())]
    Row {
        path: PathBuf,
        line: usize,
        column: String,
        message: String,
    },
    #[error("{}: {message}", .path.display())]
    File { path: PathBuf, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A row time within this of a bar boundary is rounded onto it (exports stamp bars a few ms
/// late or early); further off, it is not on the grid.
pub const SNAP_TOLERANCE_MS: i64 = 1_000;

/// A parsed file: its bars and their spacing (a V4 interval name).
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub bars: Vec<Bar>,
    pub interval: &'static str,
    /// Rows whose time was rounded onto the bar boundary.
    pub rounded: usize,
    /// The largest rounding, ms (0 when none).
    pub max_rounding_ms: i64,
}

/// What each value column may hold.
#[derive(Clone, Copy)]
enum Kind {
    Positive,
    NonNegative,
    Signed,
    Percent,
}

const KINDS: [Kind; 8] = [
    Kind::Positive,    // price
    Kind::NonNegative, // oi_usd
    Kind::Signed,      // funding_8h_pct
    Kind::NonNegative, // liq_long_usd
    Kind::NonNegative, // liq_short_usd
    Kind::Percent,     // retail_long_pct
    Kind::Percent,     // top_long_pct
    Kind::Percent,     // taker_buy_pct
];

fn parse_time(s: &str) -> Result<i64, String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .map_err(|_| "epoch milliseconds out of range".to_string());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            format!(
                "{} is not a time: expected RFC 3339 (2024-05-01T00:00:00Z) or epoch milliseconds",
                quoted(s)
            )
        })
}

fn parse_value(s: &str, kind: Kind) -> Result<Option<f64>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    let v: f64 = s
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| {
            format!(
                "{} is not a number (leave the cell empty when unknown)",
                quoted(s)
            )
        })?;
    let ok = match kind {
        Kind::Positive => v > 0.0,
        Kind::NonNegative => v >= 0.0,
        Kind::Signed => true,
        Kind::Percent => (0.0..=100.0).contains(&v),
    };
    if !ok {
        let expected = match kind {
            Kind::Positive => "greater than 0",
            Kind::NonNegative => "0 or more",
            Kind::Signed => "a number",
            Kind::Percent => "a percentage from 0 to 100",
        };
        return Err(format!("{} is out of range: expected {expected}", cut(s)));
    }
    Ok(Some(v))
}

fn cells(line: &str) -> Vec<&str> {
    line.split(',')
        .map(|c| c.trim().trim_matches('"').trim())
        .collect()
}

/// Parses the file's text; `path` only names it in errors.
pub fn parse(path: &Path, text: &str) -> Result<Parsed, ImportError> {
    let row_err = |line: usize, column: &str, message: String| ImportError::Row {
        path: path.to_path_buf(),
        line,
        column: column.to_string(),
        message,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_start_matches('\u{feff}')))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((hline, header)) = lines.next() else {
        return Err(ImportError::File {
            path: path.to_path_buf(),
            message: format!(
                "the file is empty; expected a header row: {}",
                HEADER.join(",")
            ),
        });
    };
    let names = cells(header);
    for (i, want) in HEADER.iter().enumerate() {
        match names.get(i) {
            Some(got) if got.eq_ignore_ascii_case(want) => {}
            got => {
                return Err(row_err(
                    hline,
                    want,
                    format!(
                        "header column {} is {}, expected {want}; the header must be: {}",
                        i + 1,
                        got.map_or("missing".to_string(), |g| quoted(g)),
                        HEADER.join(",")
                    ),
                ))
            }
        }
    }
    if names.len() > HEADER.len() {
        return Err(row_err(
            hline,
            &cut(names[HEADER.len()]),
            format!(
                "unexpected extra column; the header must be: {}",
                HEADER.join(",")
            ),
        ));
    }

    let mut bars: Vec<Bar> = Vec::new();
    let mut lines_of: Vec<usize> = Vec::new();
    for (n, line) in lines {
        let c = cells(line);
        if c.len() != HEADER.len() {
            let column = HEADER.get(c.len()).copied().unwrap_or("taker_buy_pct");
            return Err(row_err(
                n,
                column,
                format!("the row has {} cells, expected {}", c.len(), HEADER.len()),
            ));
        }
        let time = parse_time(c[0]).map_err(|m| row_err(n, "time", m))?;
        if let (Some(prev), Some(&prev_line)) = (bars.last(), lines_of.last()) {
            if time <= prev.time_ms {
                return Err(row_err(
                    n,
                    "time",
                    format!("not after line {prev_line}'s time: rows must be in ascending time order without duplicates"),
                ));
            }
        }
        let mut v = [None; 8];
        for (i, slot) in v.iter_mut().enumerate() {
            *slot = parse_value(c[i + 1], KINDS[i]).map_err(|m| row_err(n, HEADER[i + 1], m))?;
        }
        bars.push(Bar {
            close: v[0],
            oi_usd: v[1],
            funding_8h_pct: v[2],
            liq_long_usd: v[3],
            liq_short_usd: v[4],
            retail_long_pct: v[5],
            top_long_pct: v[6],
            taker_buy_pct: v[7],
            ..Bar::at(time)
        });
        lines_of.push(n);
    }
    if bars.len() < 2 {
        return Err(ImportError::File {
            path: path.to_path_buf(),
            message: "at least two rows are needed (their spacing gives the interval)".into(),
        });
    }
    let (interval, iv) = spacing(path, &bars, &lines_of)?;
    let (rounded, max_rounding_ms) = snap(&mut bars, &lines_of, iv, interval)
        .map_err(|(line, column, message)| row_err(line, column, message))?;
    Ok(Parsed {
        bars,
        interval,
        rounded,
        max_rounding_ms,
    })
}

/// `1h (3600000 ms)`: a spacing exactly, for errors.
fn exact(ms: i64) -> String {
    format!("{} ({ms} ms)", crate::backtest::human_ms(ms))
}

/// The interval: the spacing of the closest two rows, when it is a V4 interval give or take
/// twice [`SNAP_TOLERANCE_MS`] (each row may be off by it); an error naming the two lines and
/// their exact spacing otherwise.
fn spacing(
    path: &Path,
    bars: &[Bar],
    lines_of: &[usize],
) -> Result<(&'static str, i64), ImportError> {
    let Some((gap, i)) = bars
        .windows(2)
        .enumerate()
        .map(|(i, w)| (w[1].time_ms - w[0].time_ms, i))
        .min()
    else {
        return Err(ImportError::File {
            path: path.to_path_buf(),
            message: "at least two rows are needed (their spacing gives the interval)".into(),
        });
    };
    let found = crate::config::cli::HISTORY_INTERVALS
        .into_iter()
        .find_map(|name| {
            let iv = interval_ms(name)?;
            // Each of the two rows may be off by the tolerance.
            ((gap - iv).abs() <= 2 * SNAP_TOLERANCE_MS).then_some((name, iv))
        });
    found.ok_or_else(|| ImportError::File {
        path: path.to_path_buf(),
        message: format!(
            "lines {} and {} are {} apart, the closest two rows: expected the spacing of one \
             interval of {} (each row within ±{} of a bar start)",
            lines_of[i],
            lines_of[i + 1],
            exact(gap),
            crate::config::cli::HISTORY_INTERVALS.join(", "),
            crate::backtest::human_ms(SNAP_TOLERANCE_MS)
        ),
    })
}

/// Rounds every row's time onto the `iv` grid (boundaries at the first row's minute, modulo the
/// interval) when it is within [`SNAP_TOLERANCE_MS`] of a boundary. Returns how many rows moved
/// and the largest move; an error `(line, column, message)` names the row that is off the grid,
/// the row before it and their exact spacing.
fn snap(
    bars: &mut [Bar],
    lines_of: &[usize],
    iv: i64,
    interval: &str,
) -> Result<(usize, i64), (usize, &'static str, String)> {
    let minute = 60_000;
    let first = bars.first().map_or(0, |b| b.time_ms);
    let offset = ((first.rem_euclid(iv) + minute / 2) / minute * minute).rem_euclid(iv);
    let raw: Vec<i64> = bars.iter().map(|b| b.time_ms).collect();
    let (mut rounded, mut max_shift) = (0, 0);
    for (k, bar) in bars.iter_mut().enumerate() {
        let t = raw[k];
        let on_grid = offset + (t - offset + iv / 2).div_euclid(iv) * iv;
        let shift = t - on_grid;
        if shift.abs() > SNAP_TOLERANCE_MS {
            let tol = crate::backtest::human_ms(SNAP_TOLERANCE_MS);
            let message = match k.checked_sub(1) {
                Some(p) => format!(
                    "{} after line {}: not a whole number of {interval} bars (±{tol})",
                    exact(t - raw[p]),
                    lines_of[p]
                ),
                None => format!(
                    "{} off the {interval} bar boundary: bars start on a whole minute (±{tol})",
                    exact(shift)
                ),
            };
            return Err((lines_of[k], "time", message));
        }
        if shift != 0 {
            rounded += 1;
            max_shift = max_shift.max(shift.abs());
            bar.time_ms = on_grid;
        }
    }
    Ok((rounded, max_shift))
}

/// The backtest command that replays exactly the imported span and interval: `--days` counted
/// back from the newest bar (at most 3650), `--horizon` at least one bar.
pub fn suggested_command(symbol: &str, parsed: &Parsed) -> String {
    let iv = interval_ms(parsed.interval).unwrap_or(crate::backtest::HOUR_MS);
    let span = match (parsed.bars.first(), parsed.bars.last()) {
        (Some(a), Some(b)) => b.time_ms - a.time_ms + iv,
        _ => iv,
    };
    let days = (span + DAY_MS - 1).div_euclid(DAY_MS).clamp(1, MAX_DAYS);
    let mut cmd = format!(
        "perpwatch backtest --symbol {symbol} --interval {} --days {days}",
        parsed.interval
    );
    // The default horizon is 24h; a longer bar needs at least one bar's horizon.
    if iv > DAY_MS {
        cmd.push_str(&format!(" --horizon {}d", iv / DAY_MS));
    }
    if span > MAX_DAYS * DAY_MS {
        cmd.push_str(&format!(
            "   # the newest {MAX_DAYS} days: --days is at most {MAX_DAYS}"
        ));
    }
    cmd
}

/// `--days` accepts up to this.
const MAX_DAYS: i64 = 3650;

/// "720 1h bars", "720 1h bars and 12 4h bars".
fn describe_bars(counts: &[(String, i64)]) -> String {
    let parts: Vec<String> = counts
        .iter()
        .map(|(interval, n)| format!("{n} {interval} bars"))
        .collect();
    parts.join(" and ")
}

/// The file's text; an error names the path (missing, unreadable, too big) or the first line
/// that is not UTF-8.
fn read_text(file: &Path) -> Result<String, ImportError> {
    let read_err = |source| ImportError::Read {
        path: file.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(file).map_err(read_err)?;
    if meta.is_dir() {
        return Err(ImportError::File {
            path: file.to_path_buf(),
            message: "is a directory; expected a CSV file".into(),
        });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(ImportError::File {
            path: file.to_path_buf(),
            message: format!(
                "the file is {} MB; at most {} MB can be imported",
                meta.len() / (1024 * 1024),
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        });
    }
    let bytes = std::fs::read(file).map_err(read_err)?;
    String::from_utf8(bytes).map_err(|e| {
        let bad = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..bad].iter().filter(|b| **b == b'\n').count();
        ImportError::NotText {
            path: file.to_path_buf(),
            line,
        }
    })
}

/// What an import did.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub parsed: Parsed,
    /// The store it went into.
    pub db: PathBuf,
    /// The symbol's earlier import that this one replaced: `(interval, bars)` per interval;
    /// empty when there was none.
    pub replaced: Vec<(String, i64)>,
}

/// Reads, validates and stores the file (all or nothing).
pub fn import(data_dir: &Path, file: &Path, symbol: &str) -> Result<Imported, ImportError> {
    let text = read_text(file)?;
    let parsed = parse(file, &text)?;
    let mut store = Store::open_in(data_dir)?;
    let replaced = store.imported_intervals(symbol)?;
    store.replace_import(symbol, parsed.interval, &parsed.bars)?;
    Ok(Imported {
        parsed,
        db: store.path().to_path_buf(),
        replaced,
    })
}

/// The lines `perpwatch import` prints on success.
pub fn summary(symbol: &str, imported: &Imported) -> Vec<String> {
    let parsed = &imported.parsed;
    let when = |b: Option<&Bar>| {
        b.and_then(|b| crate::backtest::ms_time(b.time_ms))
            .map_or_else(|| "-".to_string(), |t| t.to_rfc3339())
    };
    let mut lines = vec![format!(
        "imported {} {} bars for {symbol} ({} to {}) into {}",
        parsed.bars.len(),
        parsed.interval,
        when(parsed.bars.first()),
        when(parsed.bars.last()),
        imported.db.display()
    )];
    if parsed.rounded > 0 {
        lines.push(format!(
            "rounded {} row times onto the {} bar boundaries (at most {} off; tolerance ±{})",
            parsed.rounded,
            parsed.interval,
            crate::backtest::human_ms(parsed.max_rounding_ms),
            crate::backtest::human_ms(SNAP_TOLERANCE_MS)
        ));
    }
    if !imported.replaced.is_empty() {
        lines.push(format!(
            "replaced the earlier import for {symbol}: {} (removed)",
            describe_bars(&imported.replaced)
        ));
    }
    lines.push(format!(
        "replay them with: {}",
        suggested_command(symbol, parsed)
    ));
    lines
}

/// `perpwatch import`.
pub fn command(config: &crate::config::Config, args: &crate::config::cli::ImportArgs) -> ExitCode {
    match import(&config.data_dir, &args.file, &args.symbol) {
        Ok(imported) => {
            for line in summary(&args.symbol, &imported) {
                println!("{line}");
            }
            ExitCode::from(crate::exit::OK)
        }
        Err(e) => {
            eprintln!("perpwatch: import failed, nothing was imported: {e}");
            // Bad input (a missing, unreadable or malformed file) is a usage error; only the
            // store failing is not the file's fault.
            let code = match e {
                ImportError::Store(_) => crate::exit::FAILURE,
                _ => crate::exit::USAGE,
            };
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests;
