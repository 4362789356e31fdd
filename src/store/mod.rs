//! The history store: SQLite (bundled, WAL) in `<data_dir>/perpwatch.db`.
//!
//! Other parts of perpwatch (the alerter) keep their own tables in the same file through their
//! own connection; this module only creates and touches `history_*` tables:
//!
//! * `history_snapshots`: every cycle's inputs per symbol, as the rules saw them (NULL = absent);
//! * `history_signals`: every signal fired;
//! * `history_bars`: backtest bars (CoinGlass downloads and CSV imports), with
//!   `history_coverage` recording which time ranges of which series were downloaded, so a rerun
//!   spends no requests, and `history_gated` the series the plan refused (not asked again for the
//!   same plan).
//!
//! Retention (`[history] retention`) prunes snapshots and signals; bars are a download cache and
//! user imports, kept until replaced.
//!
//! The monitor never writes here itself: [`StoreWriter`] takes cycle reports through a report tap
//! and writes them on its own thread behind a bounded queue that drops (with a log line) rather
//! than block.

use crate::model::{Bar, BAR_COLUMNS};
use crate::model::{SignalInputs, SourceKind};
use crate::report::{CycleReport, SparkSeed};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The database file inside the data directory (shared with the alerter's tables).
pub const DB_FILE: &str = "perpwatch.db";
/// How long a writer waits for another connection's lock before giving up on a write.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Cycle reports queued for the writer thread; beyond this new reports are dropped.
pub const WRITE_QUEUE: usize = 64;
/// How often old snapshots and signals are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Bar origins in `history_bars`.
pub const ORIGIN_COINGLASS: &str = "coinglass";
pub const ORIGIN_IMPORT: &str = "import";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("history store {}: {source}", .path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("history store {}: cannot create the directory: {source}", .path.display())]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("history store: cannot start the writer thread: {0}")]
    Thread(std::io::Error),
}

/// The path of the database in `data_dir`.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_FILE)
}

/// Where the `SignalInputs` columns start in `history_snapshots` (they follow
/// `SignalInputs::NAMES`, in that order, up to the end of the row).
const INPUT_COLUMNS_START: usize = 6;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS history_snapshots (
    symbol TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    source TEXT NOT NULL,
    price REAL,
    price_at_ms INTEGER,
    oi_usd REAL,
    funding_8h_pct REAL,
    oi_change_1h_pct REAL,
    liq_long_1h_usd REAL,
    liq_short_1h_usd REAL,
    retail_long_pct REAL,
    retail_short_pct REAL,
    top_long_pct REAL,
    top_short_pct REAL,
    taker_buy_pct REAL,
    price_change_1h_pct REAL,
    PRIMARY KEY (symbol, time_ms)
);
CREATE INDEX IF NOT EXISTS history_snapshots_time ON history_snapshots (time_ms);
CREATE TABLE IF NOT EXISTS history_signals (
    symbol TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    signal_id TEXT NOT NULL,
    level TEXT NOT NULL,
    bias TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (symbol, time_ms, signal_id)
);
CREATE INDEX IF NOT EXISTS history_signals_time ON history_signals (time_ms);
CREATE TABLE IF NOT EXISTS history_bars (
    symbol TEXT NOT NULL,
    interval TEXT NOT NULL,
    origin TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    open REAL, high REAL, low REAL, close REAL,
    oi_usd REAL,
    funding_8h_pct REAL,
    liq_long_usd REAL,
    liq_short_usd REAL,
    retail_long_pct REAL,
    top_long_pct REAL,
    taker_buy_pct REAL,
    PRIMARY KEY (symbol, interval, origin, time_ms)
);
CREATE TABLE IF NOT EXISTS history_coverage (
    symbol TEXT NOT NULL,
    interval TEXT NOT NULL,
    series TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    PRIMARY KEY (symbol, interval, series)
);
CREATE TABLE IF NOT EXISTS history_gated (
    symbol TEXT NOT NULL,
    interval TEXT NOT NULL,
    series TEXT NOT NULL,
    plan TEXT NOT NULL,
    reason TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (symbol, interval, series)
);
";

/// A series the plan refused, as remembered in `history_gated`.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// The plan that refused it (`STARTUP`).
    pub plan: String,
    /// The API's answer, for the report.
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// One stored cycle row of one symbol (what the rules saw). `None` is NULL: absent.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSnapshot {
    pub symbol: String,
    pub time: DateTime<Utc>,
    pub source: String,
    pub price: Option<f64>,
    /// When the price was observed (prices are not refreshed every cycle).
    pub price_at: Option<DateTime<Utc>>,
    pub oi_usd: Option<f64>,
    pub inputs: crate::model::SignalInputs,
}

/// One stored signal.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSignal {
    pub symbol: String,
    pub time: DateTime<Utc>,
    pub signal_id: String,
    pub level: String,
    pub bias: String,
    pub message: String,
}

/// A price and when it was observed.
pub type PriceObservation = (DateTime<Utc>, f64);

/// A connection to the history tables.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

impl Store {
    /// Opens (creating the directory, the file and the `history_*` tables as needed) in WAL mode
    /// with a busy timeout, so that it shares the file with other connections.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let err = |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // journal_mode answers with a row; NORMAL sync is safe in WAL (a crash loses at most the
        // last commits, never the file).
        let _mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(err)?;
        conn.execute_batch("PRAGMA synchronous=NORMAL;")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Opens `<data_dir>/perpwatch.db`.
    pub fn open_in(data_dir: &Path) -> Result<Store, StoreError> {
        Store::open(&db_path(data_dir))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Runs `body` in one write transaction and commits it; any failure rolls it all back.
    ///
    /// IMMEDIATE: take the write lock up front (waiting in busy_timeout). A deferred
    /// transaction that reads first fails at once with "database is locked" when the other
    /// writer of this file (alerts / history store) committed in between.
    fn write<T>(
        &mut self,
        body: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let started = std::time::Instant::now();
        let path = self.path.clone();
        let err = move |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(&err)?;
        let value = body(&tx).map_err(&err)?;
        tx.commit().map_err(&err)?;
        metrics::histogram!("perpwatch_store_write_seconds")
            .record(started.elapsed().as_secs_f64());
        Ok(value)
    }

    /// Writes one cycle (every symbol's inputs and every signal) in one transaction. A cycle
    /// written twice replaces its rows.
    pub fn write_cycle(&mut self, report: &CycleReport) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut snap = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO history_snapshots (symbol, time_ms, source, price,
                     price_at_ms, oi_usd, funding_8h_pct, oi_change_1h_pct, liq_long_1h_usd,
                     liq_short_1h_usd, retail_long_pct, retail_short_pct, top_long_pct,
                     top_short_pct, taker_buy_pct, price_change_1h_pct)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                )?;
            let mut sig = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO history_signals
                     (symbol, time_ms, signal_id, level, bias, message)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
            for r in &report.symbols {
                let s = &r.snapshot;
                let time = ms(s.time);
                let i = s.inputs();
                let price = s.price.get().and_then(|p| p.price);
                let price_at = price.and(s.price.observed_at).map(ms);
                let head = params![
                    s.symbol,
                    time,
                    s.source.to_string(),
                    price,
                    price_at,
                    s.open_interest.get().and_then(|o| o.oi_usd),
                ];
                // The input columns follow `SignalInputs::NAMES` (a test checks the schema).
                let inputs = i.values();
                snap.execute(rusqlite::params_from_iter(
                    head.iter()
                        .copied()
                        .chain(inputs.iter().map(|v| v as &dyn rusqlite::ToSql)),
                ))?;
                for g in &r.signals {
                    sig.execute(params![
                        s.symbol,
                        time,
                        g.id.as_str(),
                        g.level.as_str(),
                        g.bias.as_str(),
                        g.message,
                    ])?;
                }
            }
            Ok(())
        })
    }

    /// Deletes snapshots and signals older than `cutoff`; returns the rows deleted.
    pub fn prune(&self, cutoff: DateTime<Utc>) -> Result<usize, StoreError> {
        let c = ms(cutoff);
        let a = self
            .conn
            .execute("DELETE FROM history_snapshots WHERE time_ms < ?1", [c])
            .map_err(self.err())?;
        let b = self
            .conn
            .execute("DELETE FROM history_signals WHERE time_ms < ?1", [c])
            .map_err(self.err())?;
        Ok(a + b)
    }

    /// Stored cycle rows of `symbol` from `source` at or after `since`, oldest first.
    pub fn snapshots_since(
        &self,
        symbol: &str,
        source: SourceKind,
        since: DateTime<Utc>,
    ) -> Result<Vec<StoredSnapshot>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT symbol, time_ms, source, price, price_at_ms, oi_usd, funding_8h_pct,
                 oi_change_1h_pct, liq_long_1h_usd, liq_short_1h_usd, retail_long_pct,
                 retail_short_pct, top_long_pct, top_short_pct, taker_buy_pct, price_change_1h_pct
                 FROM history_snapshots WHERE symbol = ?1 AND source = ?2 AND time_ms >= ?3
                 ORDER BY time_ms",
            )
            .map_err(self.err())?;
        let rows = st
            .query_map(params![symbol, source.to_string(), ms(since)], |r| {
                let time: i64 = r.get(1)?;
                let price_at: Option<i64> = r.get(4)?;
                Ok(StoredSnapshot {
                    symbol: r.get(0)?,
                    time: DateTime::from_timestamp_millis(time).unwrap_or_default(),
                    source: r.get(2)?,
                    price: r.get(3)?,
                    price_at: price_at.and_then(DateTime::from_timestamp_millis),
                    oi_usd: r.get(5)?,
                    inputs: {
                        let mut v = [None; SignalInputs::NAMES.len()];
                        for (k, slot) in v.iter_mut().enumerate() {
                            *slot = r.get(INPUT_COLUMNS_START + k)?;
                        }
                        SignalInputs::from_values(v)
                    },
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Stored signals of `symbol` at or after `since`, oldest first.
    pub fn signals_since(
        &self,
        symbol: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<StoredSignal>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT symbol, time_ms, signal_id, level, bias, message FROM history_signals
                 WHERE symbol = ?1 AND time_ms >= ?2 ORDER BY time_ms, signal_id",
            )
            .map_err(self.err())?;
        let rows = st
            .query_map(params![symbol, ms(since)], |r| {
                let time: i64 = r.get(1)?;
                Ok(StoredSignal {
                    symbol: r.get(0)?,
                    time: DateTime::from_timestamp_millis(time).unwrap_or_default(),
                    signal_id: r.get(2)?,
                    level: r.get(3)?,
                    bias: r.get(4)?,
                    message: r.get(5)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Funding and OI sparkline points of each symbol since `since` (known values only, at most
    /// `cap` newest each), for seeding the dashboard after a restart.
    pub fn spark_seeds(
        &self,
        symbols: &[String],
        source: SourceKind,
        since: DateTime<Utc>,
        cap: usize,
    ) -> Result<Vec<SparkSeed>, StoreError> {
        let mut out = Vec::new();
        for symbol in symbols {
            let rows = self.snapshots_since(symbol, source, since)?;
            let keep_last = |v: Vec<f64>| v[v.len().saturating_sub(cap)..].to_vec();
            let funding = rows
                .iter()
                .filter_map(|r| r.inputs.funding_8h_pct)
                .collect();
            let oi = rows.iter().filter_map(|r| r.oi_usd).collect();
            out.push(SparkSeed {
                symbol: symbol.clone(),
                funding_8h_pct: keep_last(funding),
                oi_usd: keep_last(oi),
            });
        }
        Ok(out)
    }

    /// Distinct price observations `(observed at, price)` of a live `symbol` since `since`,
    /// oldest first: what the live source's own 1h price change needs after a restart.
    pub fn price_observations(
        &self,
        symbol: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, f64)>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT price_at_ms, price FROM history_snapshots
                 WHERE symbol = ?1 AND source = ?2 AND price_at_ms >= ?3 AND price IS NOT NULL
                 ORDER BY price_at_ms",
            )
            .map_err(self.err())?;
        let rows = st
            .query_map(
                params![symbol, SourceKind::Live.to_string(), ms(since)],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?)),
            )
            .map_err(self.err())?;
        let mut out = Vec::new();
        for row in rows {
            let (at, price) = row.map_err(self.err())?;
            if let Some(at) = DateTime::from_timestamp_millis(at) {
                out.push((at, price));
            }
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------------------------
    // Bars
    // -----------------------------------------------------------------------------------------

    /// Sets `columns` (indexes into [`BAR_COLUMNS`]) of the given bars, leaving the other
    /// columns of existing rows untouched. One transaction.
    pub fn upsert_bar_columns(
        &mut self,
        symbol: &str,
        interval: &str,
        origin: &str,
        columns: &[usize],
        bars: &[Bar],
    ) -> Result<(), StoreError> {
        self.write(|tx| upsert_bars(tx, (symbol, interval, origin), columns, bars))
    }

    /// Bars of `symbol`/`interval`/`origin` with `from_ms <= time < to_ms`, ascending.
    pub fn bars(
        &self,
        symbol: &str,
        interval: &str,
        origin: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Bar>, StoreError> {
        let sql = format!(
            "SELECT time_ms, {} FROM history_bars WHERE symbol = ?1 AND interval = ?2
             AND origin = ?3 AND time_ms >= ?4 AND time_ms < ?5 ORDER BY time_ms",
            BAR_COLUMNS.join(", ")
        );
        let mut st = self.conn.prepare_cached(&sql).map_err(self.err())?;
        let rows = st
            .query_map(params![symbol, interval, origin, from_ms, to_ms], |r| {
                let mut v = [None; 11];
                for (i, slot) in v.iter_mut().enumerate() {
                    *slot = r.get(i + 1)?;
                }
                Ok(Bar::from_values(r.get(0)?, v))
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// The downloaded range `[start, end)` of one series, if any.
    pub fn coverage(
        &self,
        symbol: &str,
        interval: &str,
        series: &str,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        self.conn
            .query_row(
                "SELECT start_ms, end_ms FROM history_coverage
                 WHERE symbol = ?1 AND interval = ?2 AND series = ?3",
                params![symbol, interval, series],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.err())
    }

    pub fn set_coverage(
        &self,
        symbol: &str,
        interval: &str,
        series: &str,
        range: (i64, i64),
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO history_coverage (symbol, interval, series, start_ms, end_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![symbol, interval, series, range.0, range.1],
            )
            .map(|_| ())
            .map_err(self.err())
    }

    /// The remembered refusal of one series, if any.
    pub fn gated(
        &self,
        symbol: &str,
        interval: &str,
        series: &str,
    ) -> Result<Option<Gate>, StoreError> {
        self.conn
            .query_row(
                "SELECT plan, reason, at_ms FROM history_gated
                 WHERE symbol = ?1 AND interval = ?2 AND series = ?3",
                params![symbol, interval, series],
                |r| {
                    Ok(Gate {
                        plan: r.get(0)?,
                        reason: r.get(1)?,
                        at: DateTime::from_timestamp_millis(r.get(2)?).unwrap_or_default(),
                    })
                },
            )
            .optional()
            .map_err(self.err())
    }

    /// Remembers that `plan` refused one series.
    pub fn set_gated(
        &self,
        symbol: &str,
        interval: &str,
        series: &str,
        gate: &Gate,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO history_gated (symbol, interval, series, plan, reason, at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![symbol, interval, series, gate.plan, gate.reason, ms(gate.at)],
            )
            .map(|_| ())
            .map_err(self.err())
    }

    /// Forgets a refusal (the series was served).
    pub fn clear_gated(
        &self,
        symbol: &str,
        interval: &str,
        series: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "DELETE FROM history_gated WHERE symbol = ?1 AND interval = ?2 AND series = ?3",
                params![symbol, interval, series],
            )
            .map(|_| ())
            .map_err(self.err())
    }

    /// Replaces every imported bar of `symbol` with `bars` (one transaction: all or nothing).
    pub fn replace_import(
        &mut self,
        symbol: &str,
        interval: &str,
        bars: &[Bar],
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM history_bars WHERE symbol = ?1 AND origin = ?2",
                params![symbol, ORIGIN_IMPORT],
            )?;
            let all: Vec<usize> = (0..BAR_COLUMNS.len()).collect();
            upsert_bars(tx, (symbol, interval, ORIGIN_IMPORT), &all, bars)
        })
    }

    /// Intervals of `symbol`'s imported bars with their row counts.
    pub fn imported_intervals(&self, symbol: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT interval, COUNT(*) FROM history_bars WHERE symbol = ?1 AND origin = ?2
                 GROUP BY interval ORDER BY COUNT(*) DESC",
            )
            .map_err(self.err())?;
        let rows = st
            .query_map(params![symbol, ORIGIN_IMPORT], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }
}

/// Inserts or updates `columns` of `bars` under `(symbol, interval, origin)`.
fn upsert_bars(
    conn: &Connection,
    key: (&str, &str, &str),
    columns: &[usize],
    bars: &[Bar],
) -> rusqlite::Result<()> {
    if columns.is_empty() || bars.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = columns.iter().map(|&c| BAR_COLUMNS[c]).collect();
    let placeholders: Vec<String> = (0..names.len()).map(|i| format!("?{}", i + 5)).collect();
    let updates: Vec<String> = names.iter().map(|n| format!("{n}=excluded.{n}")).collect();
    let sql = format!(
        "INSERT INTO history_bars (symbol, interval, origin, time_ms, {}) VALUES (?1, ?2, ?3, ?4, {})
         ON CONFLICT (symbol, interval, origin, time_ms) DO UPDATE SET {}",
        names.join(", "),
        placeholders.join(", "),
        updates.join(", ")
    );
    let (symbol, interval, origin) = key;
    let mut st = conn.prepare_cached(&sql)?;
    for bar in bars {
        let values = bar.values();
        let mut p: Vec<&dyn rusqlite::ToSql> = vec![&symbol, &interval, &origin, &bar.time_ms];
        for &c in columns {
            p.push(&values[c]);
        }
        st.execute(p.as_slice())?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Start-up check of the data directory
// ---------------------------------------------------------------------------------------------

/// What a run loses when the data dir cannot hold `perpwatch.db`, and what still works.
const WITHOUT_DB: &str = "history is not recorded and alerts are not durable (queued in memory: \
     one unsent at exit is lost, the cooldown restarts); monitoring, the output and sending \
     alerts still work";

/// Problems writing the data directory's files, one sentence each (naming the path, the cause,
/// what is lost and what still works); empty when all is well. Creates the directory if needed
/// and nothing else (a probe file is created and removed). The log directory is checked by
/// `logging::init`.
pub fn unwritable(data_dir: &Path) -> Vec<String> {
    if let Err(e) = std::fs::create_dir_all(data_dir) {
        return vec![format!(
            "cannot create the data directory {} ({e}): {WITHOUT_DB}",
            data_dir.display()
        )];
    }
    let probe = data_dir.join(format!(".perpwatch-write-probe-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
        }
        Err(e) => {
            return vec![format!(
                "cannot write in the data directory {} ({e}): {WITHOUT_DB}",
                data_dir.display()
            )]
        }
    }
    let db = db_path(data_dir);
    let db_problem = match std::fs::metadata(&db) {
        Err(_) => None,
        Ok(m) if m.is_dir() => Some("it is a directory".to_string()),
        Ok(_) => std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&db)
            .err()
            .map(|e| e.to_string()),
    };
    db_problem
        .map(|why| format!("cannot write {} ({why}): {WITHOUT_DB}", db.display()))
        .into_iter()
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Seeding after a restart
// ---------------------------------------------------------------------------------------------

/// How far back the dashboard's sparklines are seeded.
pub const SEED_SPAN: chrono::Duration = chrono::Duration::hours(24);
/// How far back the live source's own price ring is seeded (it keeps two hours).
const PRICE_SEED_SPAN: chrono::Duration = chrono::Duration::hours(2);

/// The last 24 h of funding/OI points per symbol for the dashboard, or nothing (logged) when
/// the store cannot be read.
///
/// Only a live run is seeded, and only from live rows. Demo cycles are stored (tagged `demo`)
/// but never seed anything: the simulation starts its loop afresh each run, so points from an
/// earlier demo run would draw jumps that never happened.
pub fn load_spark_seeds(data_dir: &Path, symbols: &[String], source: SourceKind) -> Vec<SparkSeed> {
    if source == SourceKind::Demo {
        return Vec::new();
    }
    let read = || {
        Store::open_in(data_dir)?.spark_seeds(
            symbols,
            source,
            Utc::now() - SEED_SPAN,
            crate::report::HISTORY_CAP,
        )
    };
    read().unwrap_or_else(|e| {
        tracing::warn!("{e}; sparklines start empty");
        Vec::new()
    })
}

/// The stored live prices of the last two hours per symbol, `(observed at, price)` oldest first,
/// so the live source's own 1h price change is there right after a restart. A symbol that cannot
/// be read is left out (logged).
pub fn recent_live_prices(
    data_dir: &Path,
    symbols: &[String],
) -> Vec<(String, Vec<PriceObservation>)> {
    let since = Utc::now() - PRICE_SEED_SPAN;
    let result = Store::open_in(data_dir).and_then(|store| {
        symbols
            .iter()
            .map(|coin| Ok((coin.clone(), store.price_observations(coin, since)?)))
            .collect::<Result<Vec<_>, StoreError>>()
    });
    result.unwrap_or_else(|e| {
        tracing::warn!("{e}; the 1h price change needs an hour of new prices");
        Vec::new()
    })
}

// ---------------------------------------------------------------------------------------------
// The writer: a report tap served by its own thread
// ---------------------------------------------------------------------------------------------

/// Writes every cycle report it is handed on a dedicated thread.
///
/// The monitor awaits each tap's `send`; a forwarding thread drains the tap at once and hands
/// reports to the writer thread through a bounded queue with `try_send`, so a slow or locked
/// database never holds up the monitor: when the queue is full the report is dropped and a
/// warning logged.
pub struct StoreWriter {
    tap: tokio::sync::mpsc::Sender<Arc<CycleReport>>,
    dropped: Arc<AtomicU64>,
    written: Arc<AtomicU64>,
    done: std::sync::mpsc::Receiver<()>,
}

impl StoreWriter {
    /// Opens the store (so a bad path fails now, not on the first cycle) and starts the threads.
    /// Prunes rows older than `retention` at start and then every hour.
    pub fn spawn(
        path: &Path,
        retention: Duration,
        queue: usize,
    ) -> Result<StoreWriter, StoreError> {
        let mut store = Store::open(path)?;
        let (tap, mut tap_rx) = tokio::sync::mpsc::channel::<Arc<CycleReport>>(4);
        let (queue_tx, queue_rx) = std::sync::mpsc::sync_channel::<Arc<CycleReport>>(queue.max(1));
        let (done_tx, done) = std::sync::mpsc::channel::<()>();
        let dropped = Arc::new(AtomicU64::new(0));
        let written = Arc::new(AtomicU64::new(0));

        let dropped_in = Arc::clone(&dropped);
        std::thread::Builder::new()
            .name("history-tap".into())
            .spawn(move || {
                while let Some(report) = tap_rx.blocking_recv() {
                    let cycle = report.cycle;
                    match queue_tx.try_send(report) {
                        Ok(()) => {}
                        Err(std::sync::mpsc::TrySendError::Full(_)) => {
                            dropped_in.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(cycle, "history store is behind: cycle not stored");
                        }
                        Err(std::sync::mpsc::TrySendError::Disconnected(_)) => break,
                    }
                }
            })
            .map_err(StoreError::Thread)?;

        let written_in = Arc::clone(&written);
        let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
        std::thread::Builder::new()
            .name("history-writer".into())
            .spawn(move || {
                let prune = |store: &Store| {
                    let cutoff = Utc::now()
                        .checked_sub_signed(retention)
                        .unwrap_or(DateTime::<Utc>::MIN_UTC);
                    match store.prune(cutoff) {
                        Ok(n) if n > 0 => tracing::info!(rows = n, "history store pruned"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!("{e}"),
                    }
                };
                prune(&store);
                let mut last_prune = std::time::Instant::now();
                loop {
                    match queue_rx.recv_timeout(PRUNE_EVERY) {
                        Ok(report) => match store.write_cycle(&report) {
                            Ok(()) => {
                                written_in.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => tracing::warn!(cycle = report.cycle, "{e}"),
                        },
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                    if last_prune.elapsed() >= PRUNE_EVERY {
                        prune(&store);
                        last_prune = std::time::Instant::now();
                    }
                }
                let _ = done_tx.send(());
            })
            .map_err(StoreError::Thread)?;

        Ok(StoreWriter {
            tap,
            dropped,
            written,
            done,
        })
    }

    /// A sender for `MonitorOptions::report_taps`.
    pub fn tap(&self) -> tokio::sync::mpsc::Sender<Arc<CycleReport>> {
        self.tap.clone()
    }

    /// Reports dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Reports written.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Stops taking reports and waits (at most `timeout`) for the queued ones to be written.
    /// Every other clone of the tap must be gone (the monitor stopped) for this to finish early.
    /// Returns whether the writer finished in time.
    pub fn finish(self, timeout: Duration) -> bool {
        let StoreWriter { tap, done, .. } = self;
        drop(tap);
        done.recv_timeout(timeout).is_ok()
    }
}

#[cfg(test)]
mod tests;
