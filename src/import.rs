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
//! * `time`: the bar's start, RFC 3339 or epoch milliseconds;
//! * `price`: the bar's close (the replay takes the previous row's price as the open);
//! * `oi_usd`: open interest at the close; `funding_8h_pct`: funding normalised to 8 h, percent;
//! * `liq_*_usd`: USD liquidated during the bar; `*_pct`: percentages 0–100;
//! * an empty cell is absent, never 0.
//!
//! A bad row is an error naming its line and column, and nothing is imported (exit code 2, like a
//! missing or unreadable file or one that is not UTF-8 text; quoted cells are cut to 80
//! characters). A new import of the same symbol replaces the previous one.

use crate::backtest::interval_name;
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

/// A parsed file: its bars and their spacing (a V4 interval name).
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub bars: Vec<Bar>,
    pub interval: &'static str,
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
    let step = bars
        .windows(2)
        .map(|w| w[1].time_ms - w[0].time_ms)
        .min()
        .unwrap_or(0);
    let Some(interval) = interval_name(step) else {
        return Err(ImportError::File {
            path: path.to_path_buf(),
            message: format!(
                "rows are {} apart at the closest: expected the spacing of one interval of {}",
                crate::backtest::human_ms(step),
                crate::config::cli::HISTORY_INTERVALS.join(", ")
            ),
        });
    };
    for (w, line) in bars.windows(2).zip(&lines_of[1..]) {
        if (w[1].time_ms - w[0].time_ms) % step != 0 {
            return Err(row_err(
                *line,
                "time",
                format!("not a whole number of {interval} bars after the previous row"),
            ));
        }
    }
    Ok(Parsed { bars, interval })
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

/// Reads, validates and stores the file (all or nothing).
pub fn import(
    data_dir: &Path,
    file: &Path,
    symbol: &str,
) -> Result<(Parsed, PathBuf), ImportError> {
    let text = read_text(file)?;
    let parsed = parse(file, &text)?;
    let mut store = Store::open_in(data_dir)?;
    store.replace_import(symbol, parsed.interval, &parsed.bars)?;
    Ok((parsed, store.path().to_path_buf()))
}

/// `perpwatch import`.
pub fn command(config: &crate::config::Config, args: &crate::config::cli::ImportArgs) -> ExitCode {
    match import(&config.data_dir, &args.file, &args.symbol) {
        Ok((parsed, db)) => {
            let when = |b: Option<&Bar>| {
                b.and_then(|b| crate::backtest::ms_time(b.time_ms))
                    .map_or_else(|| "-".to_string(), |t| t.to_rfc3339())
            };
            println!(
                "imported {} {} bars for {} ({} to {}) into {}",
                parsed.bars.len(),
                parsed.interval,
                args.symbol,
                when(parsed.bars.first()),
                when(parsed.bars.last()),
                db.display()
            );
            println!(
                "replay them with: perpwatch backtest --symbol {}",
                args.symbol
            );
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
mod tests {
    use super::*;

    const HEAD: &str = "time,price,oi_usd,funding_8h_pct,liq_long_usd,liq_short_usd,retail_long_pct,top_long_pct,taker_buy_pct";

    fn file(rows: &[&str]) -> String {
        std::iter::once(HEAD)
            .chain(rows.iter().copied())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn parse_err(text: &str) -> String {
        match parse(Path::new("my.csv"), text) {
            Ok(p) => panic!("expected an error, got {p:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn good_file_with_both_time_forms_and_empty_cells() {
        let text = file(&[
            "2024-05-01T00:00:00Z,100.5,1e9,0.01,5,6,61,55,51",
            "1714525200000,101,,,,,,,",
            "\"2024-05-01T03:00:00+00:00\", 99 ,2e9,-0.02,0,0,40,45,49",
        ]);
        let p = parse(Path::new("my.csv"), &text).expect("valid");
        assert_eq!(p.interval, "1h");
        assert_eq!(p.bars.len(), 3);
        assert_eq!(p.bars[0].time_ms, 1_714_521_600_000);
        assert_eq!(p.bars[1].time_ms, 1_714_525_200_000);
        assert_eq!(p.bars[0].close, Some(100.5));
        assert_eq!(p.bars[0].taker_buy_pct, Some(51.0));
        // Empty cells are absent, not zero; an explicit 0 stays 0.
        let b = p.bars[1];
        assert_eq!(
            (
                b.oi_usd,
                b.funding_8h_pct,
                b.liq_long_usd,
                b.retail_long_pct,
                b.taker_buy_pct
            ),
            (None, None, None, None, None)
        );
        assert_eq!(p.bars[2].liq_long_usd, Some(0.0));
        assert_eq!(p.bars[2].open, None, "one price per row: the close");
    }

    #[test]
    fn bad_rows_name_line_and_column() {
        let ok_row = "2024-05-01T00:00:00Z,100,1,0.01,1,1,50,50,50";
        let cases: &[(String, &[&str])] = &[
            (
                file(&[ok_row, "2024-05-01T01:00:00Z,abc,1,0,1,1,50,50,50"]),
                &["my.csv: line 3, column price", "\"abc\" is not a number"],
            ),
            (
                file(&[ok_row, "2024-05-01T01:00:00Z,100,1,0,1,1,150,50,50"]),
                &["line 3, column retail_long_pct", "0 to 100"],
            ),
            (
                file(&[ok_row, "2024-05-01T01:00:00Z,-5,1,0,1,1,50,50,50"]),
                &["line 3, column price", "greater than 0"],
            ),
            (
                file(&[ok_row, "yesterday,100,1,0,1,1,50,50,50"]),
                &["line 3, column time", "RFC 3339"],
            ),
            (
                file(&[ok_row, "2024-05-01T01:00:00Z,100,1"]),
                &["line 3, column funding_8h_pct", "3 cells, expected 9"],
            ),
            (
                file(&[ok_row, ok_row]),
                &["line 3, column time", "ascending"],
            ),
            (
                file(&[ok_row, "2024-05-01T00:07:00Z,100,1,0,1,1,50,50,50"]),
                &["7m apart"],
            ),
            (
                file(&[
                    ok_row,
                    "2024-05-01T01:00:00Z,100,1,0,1,1,50,50,50",
                    "2024-05-01T02:30:00Z,100,1,0,1,1,50,50,50",
                ]),
                &["line 4, column time", "whole number of 1h bars"],
            ),
            (
                "time,close,oi_usd\n1,2,3".to_string(),
                &["line 1, column price", "header column 2 is \"close\""],
            ),
            (file(&[ok_row]), &["at least two rows"]),
            (String::new(), &["empty"]),
        ];
        for (text, wants) in cases {
            let msg = parse_err(text);
            for want in *wants {
                assert!(msg.contains(want), "{want:?} not in {msg:?}");
            }
        }
    }

    /// A 5 MB cell is quoted cut to 80 characters with its length, whichever column it is in.
    #[test]
    fn huge_cells_are_quoted_cut() {
        let huge = "z".repeat(5 * 1024 * 1024);
        let ok_row = "2024-05-01T00:00:00Z,100,1,0.01,1,1,50,50,50";
        let digits = format!("1{}", "0".repeat(5 * 1024 * 1024));
        let cases = [
            file(&[
                ok_row,
                &format!("2024-05-01T01:00:00Z,{huge},1,0,1,1,50,50,50"),
            ]),
            file(&[ok_row, &format!("{huge},100,1,0,1,1,50,50,50")]),
            file(&[
                ok_row,
                &format!("2024-05-01T01:00:00Z,100,1,0,1,1,{digits},50,50"),
            ]),
            format!("{huge},price\n1,2"),
            format!("{HEAD},{huge}\n1,2"),
        ];
        for text in cases {
            let msg = parse_err(&text);
            assert!(msg.len() < 600, "{} bytes: {}", msg.len(), &msg[..300]);
            assert!(
                msg.contains("(5242880 characters)") || msg.contains("(5242881 characters)"),
                "{msg}"
            );
        }
    }

    #[test]
    fn binary_missing_and_directory_files_are_named() -> Result<(), ImportError> {
        let dir = tempfile::tempdir().map_err(|source| ImportError::Read {
            path: PathBuf::from("tmp"),
            source,
        })?;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ImportError::Read { path, source }
        };
        let garbage = dir.path().join("garbage.csv");
        let mut bytes = format!("{HEAD}\n2024-05-01T00:00:00Z,1,,,,,,,\n").into_bytes();
        bytes.extend([0xff, 0xfe, 0x00, 0x80, b'\n', 0xc3]);
        std::fs::write(&garbage, &bytes).map_err(io(&garbage))?;
        let msg = match import(dir.path(), &garbage, "BTC") {
            Err(e @ ImportError::NotText { line: 3, .. }) => e.to_string(),
            other => panic!("expected line 3 not text, got {other:?}"),
        };
        assert!(
            msg.contains("garbage.csv: line 3 is not UTF-8 text"),
            "{msg}"
        );
        let missing = dir.path().join("nope.csv");
        let msg = import(dir.path(), &missing, "BTC")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            msg.contains(&format!("cannot read {}", missing.display())),
            "{msg}"
        );
        let msg = import(dir.path(), dir.path(), "BTC")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("is a directory"), "{msg}");
        Ok(())
    }

    #[test]
    fn a_failed_import_leaves_the_previous_one() -> Result<(), ImportError> {
        let dir = tempfile::tempdir().map_err(|source| ImportError::Read {
            path: PathBuf::from("tmp"),
            source,
        })?;
        let good = dir.path().join("good.csv");
        let bad = dir.path().join("bad.csv");
        let rows = [
            "2024-05-01T00:00:00Z,100,,,,,,,",
            "2024-05-01T04:00:00Z,101,,,,,,,",
        ];
        std::fs::write(&good, file(&rows)).map_err(|source| ImportError::Read {
            path: good.clone(),
            source,
        })?;
        std::fs::write(&bad, file(&[rows[0], "2024-05-01T04:00:00Z,x,,,,,,,"])).map_err(
            |source| ImportError::Read {
                path: bad.clone(),
                source,
            },
        )?;
        import(dir.path(), &good, "BTC")?;
        assert!(import(dir.path(), &bad, "BTC").is_err());
        let store = Store::open_in(dir.path())?;
        assert_eq!(
            store.imported_intervals("BTC")?,
            vec![("4h".to_string(), 2)]
        );
        Ok(())
    }
}
