//! Track records in the background: each (symbol, signal)'s backtest result on the symbol's own
//! history, computed at start and then once a day, and kept in the shared
//! [`RecordBook`] that the monitor reads when it reports a signal.
//!
//! **The history** of a symbol is one bar series ([`bars`]):
//! * bars downloaded from CoinGlass at start on the plan's shortest history interval, but not
//!   below 1 h ([`history_interval`]: 1h from Startup up, 4h on Hobbyist), as deep as the plan
//!   serves them and at most [`MAX_HISTORY_DAYS`]. The download reuses the backtest's
//!   (`backtest::fetch`): paged, plan-gated series remembered, cached in the store's
//!   `history_bars`. Its window ends at the start of the current UTC day, so a restart on the
//!   same day asks for nothing, and each day's refresh asks only for the day that passed (one
//!   page per series). Its requests give way to the live polls
//!   ([`CoinGlassClient::background`]);
//! * bars built from the live cycles the store kept (`history_snapshots`), where no downloaded
//!   bar exists: the current day, and whatever the download could not get.
//!
//! The exchanges source has no history download here: its records are computed on bars built
//! from the exchanges cycles the store kept (never CoinGlass or demo rows), so they start once
//! the store holds enough of them.
//!
//! The demo market has no real history: the demo computes its records on the demo market's
//! generated history (`backtest::fetch::demo_bars`, the same simulation `backtest --demo`
//! replays), so that the feature can be seen without a key. Records are then as simulated as
//! the market, and the demo badge says so.
//!
//! **The record** is `backtest::replay::track_record` on that series with the record's setup
//! ([`RECORD_MOVE_PCT`] within [`RECORD_HORIZON`], the symbol's thresholds in the configured
//! mode). Fewer than `signals::record::MIN_DAYS` days of priced bars: no record, and the signal
//! says how many days there are.
//!
//! The job never blocks a cycle: it runs on its own task, reads and replays on the blocking
//! pool one symbol at a time, and writes each symbol's records when they are done.

pub mod bars;
pub mod score;

use crate::backtest::fetch::{self, Request};
use crate::backtest::replay::Setup;
use crate::backtest::{human_ms, DAY_MS, HOUR_MS};
use crate::config::Config;
use crate::model::{Bar, SourceKind};
use crate::signals::record::{NoRecord, RecordBook, SymbolRecords};
use crate::signals::relative::Sample;
use crate::source::coinglass::{CoinGlassClient, Plan, Schedule};
use crate::store::{Store, ORIGIN_COINGLASS};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The move a record counts, percent (as `backtest --move`).
pub const RECORD_MOVE_PCT: f64 = 3.0;
/// How long after an onset the move is looked for (as `backtest --horizon`).
pub const RECORD_HORIZON: Duration = Duration::from_secs(24 * 3600);
/// The deepest history a record reads (and downloads).
pub const MAX_HISTORY_DAYS: i64 = 365;
/// The demo's generated history.
pub const DEMO_HISTORY_DAYS: i64 = 180;
/// Records are recomputed this long after the last computation.
pub const REFRESH_EVERY: chrono::Duration = chrono::Duration::hours(24);
/// How often the job looks at the clock (a suspended machine refreshes soon after it wakes).
const CHECK_EVERY: Duration = Duration::from_secs(600);

/// The wall clock, injectable for tests.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Whether a refresh is due: never run, or [`REFRESH_EVERY`] since the last one started.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Refresh {
    pub last: Option<DateTime<Utc>>,
}

impl Refresh {
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.last.is_none_or(|last| now - last >= REFRESH_EVERY)
    }
}

/// Runs `work` at start and then whenever [`Refresh::due`] says so by `clock`, looking every
/// [`CHECK_EVERY`] (tokio time). Never returns.
pub async fn daily<F, Fut>(clock: Arc<dyn Clock>, mut work: F)
where
    F: FnMut(DateTime<Utc>) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut refresh = Refresh::default();
    loop {
        let now = clock.now();
        if refresh.due(now) {
            refresh.last = Some(now);
            work(now).await;
        }
        tokio::time::sleep(CHECK_EVERY).await;
    }
}

/// The history interval of a plan: its shortest, but not below 1 h (the rules read 1 h
/// changes; finer bars would cost many more requests for the same record).
pub fn history_interval(plan: Plan) -> i64 {
    let min = i64::try_from(plan.min_interval().as_millis()).unwrap_or(i64::MAX);
    min.max(HOUR_MS)
}

/// Requests a live poll cycle may need at once: the schedule's average cycle, plus the two
/// long/short requests per symbol that a new bar adds. History downloads leave this much of the
/// key's window free ([`CoinGlassClient::background`]).
pub fn live_reserve(schedule: &Schedule, symbols: usize) -> u32 {
    let per_cycle = schedule.est_requests_per_minute * schedule.poll_interval.as_secs_f64() / 60.0;
    let symbols = u32::try_from(symbols).unwrap_or(u32::MAX);
    (per_cycle.ceil().max(0.0) as u32).saturating_add(symbols.saturating_mul(2))
}

/// The relative thresholds' samples of `bars` (one per bar, the inputs as the backtest reads
/// them at that bar): what seeds a symbol's baselines from downloaded history.
pub fn samples_of(bars: &[Bar], interval_ms: i64) -> Vec<(i64, Sample)> {
    (0..bars.len())
        .map(|t| {
            let inputs = crate::backtest::replay::inputs_at(&bars[..=t], interval_ms);
            (bars[t].time_ms, Sample::of(&inputs, bars[t].oi_usd))
        })
        .collect()
}

/// Where a symbol's history comes from.
#[derive(Debug, Clone)]
pub enum HistorySource {
    /// The demo market's generated history.
    Demo,
    /// CoinGlass downloads (through `client`, a background clone sharing the live source's
    /// limiter) plus the stored live cycles.
    CoinGlass { client: CoinGlassClient, plan: Plan },
    /// The exchanges source: bars from its stored cycles only (1h bars).
    Exchanges,
}

/// Hands each symbol's downloaded bars (and their interval) to whoever wants them besides the
/// record: the relative thresholds' baselines are seeded from them (`ThresholdBook::seed`).
/// Called on the blocking pool at every refresh that has downloaded bars.
pub type HistoryHook = Arc<dyn Fn(&str, &[Bar], i64) + Send + Sync>;

/// Everything the job needs.
#[derive(Clone)]
pub struct RecordJob {
    pub config: Config,
    pub source: HistorySource,
    pub book: RecordBook,
    pub on_history: Option<HistoryHook>,
}

impl std::fmt::Debug for RecordJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordJob")
            .field("symbols", &self.config.symbols)
            .field("source", &self.source)
            .finish()
    }
}

/// The window of bar starts `[start, end)` a history covers at `now`, and its interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub interval_ms: i64,
    /// Downloads end here: the start of the current UTC day.
    pub download_end_ms: i64,
    pub start_ms: i64,
}

impl Span {
    /// The span of `source` at `now`: as deep as the plan serves bars of its interval, at most
    /// [`MAX_HISTORY_DAYS`] ([`DEMO_HISTORY_DAYS`] for the demo).
    pub fn of(source: &HistorySource, now: DateTime<Utc>) -> Span {
        let day_start = now.timestamp_millis() - now.timestamp_millis().rem_euclid(DAY_MS);
        let (interval_ms, days) = match source {
            HistorySource::Demo => (HOUR_MS, DEMO_HISTORY_DAYS * DAY_MS),
            HistorySource::Exchanges => (HOUR_MS, MAX_HISTORY_DAYS * DAY_MS),
            HistorySource::CoinGlass { plan, .. } => {
                let iv = history_interval(*plan);
                let max = MAX_HISTORY_DAYS * DAY_MS;
                (iv, fetch::plan_depth_ms(*plan, iv).unwrap_or(max).min(max))
            }
        };
        Span {
            interval_ms,
            download_end_ms: day_start,
            start_ms: day_start - days,
        }
    }

    pub fn interval(&self) -> String {
        human_ms(self.interval_ms)
    }
}

/// The record's setup for `symbol`: [`RECORD_MOVE_PCT`] within [`RECORD_HORIZON`], the
/// symbol's thresholds in the threshold mode the monitor evaluates with.
pub fn setup_for(config: &Config, symbol: &str, interval_ms: i64) -> Result<Setup, String> {
    Ok(Setup::new(
        interval_ms,
        RECORD_HORIZON,
        RECORD_MOVE_PCT,
        config.thresholds_for(symbol),
    )?
    .with_relative(config.relative_for(symbol)))
}

/// Downloads what the store lacks of `symbol`'s history in `span` (nothing when the cache
/// covers it). Returns the notes the download made (series not in the plan …).
pub async fn download(
    client: &CoinGlassClient,
    plan: Plan,
    config: &Config,
    symbol: &str,
    span: &Span,
) -> Result<Vec<String>, String> {
    let req = Request {
        coin: symbol.to_string(),
        reference_quote: config.reference_quote.clone(),
        pair: format!("{symbol}{}", config.reference_quote),
        exchange: config.reference_exchange.clone(),
        interval: span.interval(),
        interval_ms: span.interval_ms,
        start_ms: span.start_ms,
        end_ms: span.download_end_ms,
    };
    let mut store = Store::open_in(&config.data_dir).map_err(|e| e.to_string())?;
    if fetch::missing(&store, &req)
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Ok(Vec::new());
    }
    fetch::download(client, &mut store, &req, plan, false)
        .await
        .map_err(|e| e.to_string())
}

/// `symbol`'s stored history in `span` up to `now`: downloaded bars where there are some,
/// bars from the stored live cycles where not; and the downloaded bars alone.
pub fn stored_history(
    store: &Store,
    symbol: &str,
    span: &Span,
    now: DateTime<Utc>,
) -> Result<(Vec<Bar>, Vec<Bar>), crate::store::StoreError> {
    let downloaded = store.bars(
        symbol,
        &span.interval(),
        ORIGIN_COINGLASS,
        span.start_ms,
        span.download_end_ms,
    )?;
    let live = stored_cycle_bars(store, symbol, span, SourceKind::Live, now)?;
    Ok((bars::merge(downloaded.clone(), live), downloaded))
}

/// Bars of `symbol` in `span` up to `now` built from the stored cycles of the source `kind`.
pub fn stored_cycle_bars(
    store: &Store,
    symbol: &str,
    span: &Span,
    kind: SourceKind,
    now: DateTime<Utc>,
) -> Result<Vec<Bar>, crate::store::StoreError> {
    let since = DateTime::from_timestamp_millis(span.start_ms).unwrap_or(now);
    let rows = store.snapshots_since(symbol, kind, since)?;
    Ok(bars::bars_from_cycles(
        &rows,
        span.interval_ms,
        now.timestamp_millis(),
    ))
}

/// One symbol's history at `now` from `source`, read on the calling thread (blocking): the
/// series, and the downloaded bars in it (none for the demo).
fn history_of(
    config: &Config,
    source: &HistorySource,
    symbol: &str,
    span: &Span,
    now: DateTime<Utc>,
) -> Result<(Vec<Bar>, Vec<Bar>), String> {
    match source {
        HistorySource::Demo => {
            let now_ms = now.timestamp_millis();
            let end = now_ms - now_ms.rem_euclid(span.interval_ms);
            Ok((
                fetch::demo_bars(symbol, span.interval_ms, span.start_ms, end),
                Vec::new(),
            ))
        }
        HistorySource::CoinGlass { .. } => {
            let store = Store::open_in(&config.data_dir).map_err(|e| e.to_string())?;
            stored_history(&store, symbol, span, now).map_err(|e| e.to_string())
        }
        HistorySource::Exchanges => {
            let store = Store::open_in(&config.data_dir).map_err(|e| e.to_string())?;
            let bars = stored_cycle_bars(&store, symbol, span, SourceKind::Exchanges, now)
                .map_err(|e| e.to_string())?;
            Ok((bars, Vec::new()))
        }
    }
}

impl RecordJob {
    /// Computes (downloading first where the source has history to download) every symbol's
    /// records at `now` and writes each into the book as soon as it is done.
    pub async fn refresh(&self, now: DateTime<Utc>) {
        let span = Span::of(&self.source, now);
        for symbol in &self.config.symbols {
            if let HistorySource::CoinGlass { client, plan } = &self.source {
                match download(client, *plan, &self.config, symbol, &span).await {
                    Ok(notes) => {
                        for note in notes {
                            tracing::info!(symbol = %symbol, "track record history: {note}");
                        }
                    }
                    Err(e) => tracing::warn!(
                        symbol = %symbol,
                        "track record history download failed ({e}); using what the store has"
                    ),
                }
            }
            let job = self.clone();
            let sym = symbol.clone();
            let computed = tokio::task::spawn_blocking(move || job.compute(&sym, &span, now)).await;
            let records = computed.unwrap_or_else(|e| {
                SymbolRecords::None(NoRecord::Unavailable(format!(
                    "the computation stopped: {e}"
                )))
            });
            self.book.set(symbol, records);
        }
        tracing::info!(
            symbols = self.config.symbols.len(),
            "track records refreshed"
        );
    }

    /// Reads `symbol`'s history and computes its records (blocking).
    fn compute(&self, symbol: &str, span: &Span, now: DateTime<Utc>) -> SymbolRecords {
        let (bars, downloaded) = match history_of(&self.config, &self.source, symbol, span, now) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(symbol = %symbol, "track record: cannot read the history: {e}");
                return SymbolRecords::None(NoRecord::Unavailable(e));
            }
        };
        if let (Some(hook), false) = (&self.on_history, downloaded.is_empty()) {
            hook(symbol, &downloaded, span.interval_ms);
        }
        match setup_for(&self.config, symbol, span.interval_ms) {
            Ok(setup) => score::records_for(&bars, &span.interval(), &setup),
            Err(e) => SymbolRecords::None(NoRecord::Unavailable(e)),
        }
    }

    /// Starts the job on its own task: at start, then daily by `clock`.
    pub fn spawn(self, clock: Arc<dyn Clock>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            daily(clock, |now| {
                let job = self.clone();
                async move { job.refresh(now).await }
            })
            .await;
        })
    }
}

#[cfg(test)]
mod tests;
