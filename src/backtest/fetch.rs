//! Where backtest bars come from, in this order of preference:
//!
//! 1. `--demo`: the demo market's generated history (no key, no network, no files);
//! 2. bars the user imported for the symbol (`perpwatch import`);
//! 3. with `--source exchanges` (or no key under `auto`): Binance's public history
//!    ([`load_exchange_bars`]);
//! 4. CoinGlass history, downloaded into the store and read back from it. Each series
//!    remembers the range it covers (`history_coverage`), so a rerun asks only for what is
//!    missing — nothing at all when the range is already there. Requests go through the client's
//!    limiter, so the key's budget is respected.
//!
//! Downloaded series (coin = `BTC`, pair = the reference exchange's `<COIN>/<quote>` perpetual,
//! looked up once in `supported-exchange-pairs`: Binance `BTCUSDT`, OKX `BTC-USDT-SWAP`): price OHLC (pair), aggregated OI (coin), OI-weighted funding (coin), aggregated
//! liquidations (coin, over every exchange from `supported-exchanges`), global and top-trader
//! account long/short (pair), taker buy/sell volume (pair). Only complete bars are kept.
//!
//! The funding history is taken as quoted per 8 h: see
//! [`crate::source::coinglass::history`].

use super::{human_ms, interval_ms, DAY_MS};
use crate::config::cli::BacktestArgs;
use crate::config::{Config, SourceChoice};
use crate::model::{Bar, HistorySeries};
use crate::source::coinglass::client::{ApiError, ClientOptions, CoinGlassClient, HistoryQuery};
use crate::source::coinglass::history::HistoryTarget;
use crate::source::coinglass::PairVerdict;
use crate::source::coinglass::Plan;
use crate::source::demo::{DemoMarket, SIM_HOUR_S};
use crate::store::{Store, StoreError, ORIGIN_COINGLASS, ORIGIN_IMPORT};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Rows per history request (the API's maximum).
pub const PAGE_LIMIT: u32 = 1000;
/// More bars than this is a mistake (`--interval 1m --days 3650`), not a backtest.
const MAX_BARS: i64 = 1_000_000;

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// Bad usage: exit code 2.
    #[error("{0}")]
    Usage(String),
    /// The API key was refused: exit code 3.
    #[error("{0}")]
    KeyRefused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("CoinGlass history download failed: {0}")]
    Api(ApiError),
    /// The venue's history could not be had (`--source exchanges`).
    #[error("Binance history download failed: {0}")]
    Venue(String),
}

impl BacktestError {
    pub fn exit_code(&self) -> u8 {
        match self {
            BacktestError::Usage(_) => crate::exit::USAGE,
            BacktestError::KeyRefused(_) => crate::exit::KEY_REFUSED,
            BacktestError::Store(_) | BacktestError::Api(_) | BacktestError::Venue(_) => {
                crate::exit::FAILURE
            }
        }
    }
}

/// Where the bars of a run came from.
#[derive(Debug, Clone, PartialEq)]
pub enum BarSource {
    Demo,
    Imported,
    /// `requests` is what this run spent (0 when everything came from the store's cache).
    CoinGlass {
        requests: u64,
    },
    /// Binance's public history (`--source exchanges`); `requests` as for CoinGlass.
    Binance {
        requests: u64,
    },
}

impl BarSource {
    pub fn describe(&self) -> String {
        match self {
            BarSource::Demo => "the demo market's generated history (simulated)".into(),
            BarSource::Imported => "bars you imported (perpwatch import)".into(),
            BarSource::CoinGlass { requests: 0 } => {
                "CoinGlass history from the store's cache (0 requests)".into()
            }
            BarSource::CoinGlass { requests } => {
                format!("CoinGlass history ({requests} requests, now cached in the store)")
            }
            BarSource::Binance { requests } => {
                format!("Binance public history ({requests} requests)")
            }
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            BarSource::Demo => "demo",
            BarSource::Imported => "import",
            BarSource::CoinGlass { .. } => "coinglass",
            BarSource::Binance { .. } => "binance",
        }
    }
}

/// The bars of one run and how they were obtained.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub bars: Vec<Bar>,
    pub interval: String,
    pub interval_ms: i64,
    pub source: BarSource,
    /// Things the reader should know (depth clamped, a series not in the plan, …).
    pub notes: Vec<String>,
}

/// Floors `t` to a multiple of `step` (epoch-aligned, as CoinGlass bars are).
fn floor_ms(t: i64, step: i64) -> i64 {
    t - t.rem_euclid(step)
}

fn bar_count_ok(start_ms: i64, end_ms: i64, iv: i64) -> Result<(), BacktestError> {
    if (end_ms - start_ms) / iv > MAX_BARS {
        return Err(BacktestError::Usage(format!(
            "--days with --interval {} would be more than {MAX_BARS} bars; use fewer days or a longer interval",
            human_ms(iv)
        )));
    }
    Ok(())
}

/// Picks the source and returns the bars of `args`' window (see the module docs).
pub async fn load_bars(
    config: &Config,
    args: &BacktestArgs,
    now: DateTime<Utc>,
    progress: bool,
) -> Result<Loaded, BacktestError> {
    let iv = interval_ms(&args.interval).ok_or_else(|| {
        BacktestError::Usage(format!("--interval {} is not a V4 interval", args.interval))
    })?;
    let span = i64::from(args.days) * DAY_MS;
    let end = floor_ms(now.timestamp_millis(), iv);
    let start = end - span;
    bar_count_ok(start, end, iv)?;
    if config.is_demo() {
        return Ok(Loaded {
            bars: demo_bars(&args.symbol, iv, start, end),
            interval: args.interval.clone(),
            interval_ms: iv,
            source: BarSource::Demo,
            notes: Vec::new(),
        });
    }
    let mut store = Store::open_in(&config.data_dir)?;
    if let Some(loaded) = imported(&store, args, span)? {
        return Ok(loaded);
    }
    if config.source == SourceChoice::Exchanges {
        return load_exchange_bars(config, args, iv, start, end, progress).await;
    }
    let req = Request {
        coin: args.symbol.clone(),
        reference_quote: config.reference_quote.clone(),
        pair: format!("{}{}", args.symbol, config.reference_quote),
        exchange: config.reference_exchange.clone(),
        interval: args.interval.clone(),
        interval_ms: iv,
        start_ms: start,
        end_ms: end,
    };
    let mut notes = Vec::new();
    let mut requests = 0;
    if !missing(&store, &req)?.is_empty() {
        let Some(key) = config.api_key.clone() else {
            return Err(BacktestError::Usage(format!(
                "no history for {} in the store and no COINGLASS_API_KEY to download it: set the key, \
                 import a CSV (perpwatch import FILE --symbol {}), use --source exchanges, or try --demo",
                args.symbol, args.symbol
            )));
        };
        let client = CoinGlassClient::new(config.base_url.clone(), key, ClientOptions::default())
            .map_err(key_error)?;
        let plan = plan_of(&client, config.plan).await?;
        client.limiter().set_plan_limit(plan.requests_per_minute());
        check_interval(plan, &args.interval, iv)?;
        notes = download(&client, &mut store, &req, plan, progress).await?;
        requests = client.requests_total();
    }
    let bars = store.bars(&req.coin, &req.interval, ORIGIN_COINGLASS, start, end)?;
    Ok(Loaded {
        bars,
        interval: args.interval.clone(),
        interval_ms: iv,
        source: BarSource::CoinGlass { requests },
        notes,
    })
}

/// `backtest --source exchanges`: the coin's Binance USDⓈ-M history (klines, the full funding
/// history, and the 30 days of OI and long/short Binance keeps). Binance is the only venue with
/// years of public history, so it is used whichever venues the live source reads.
pub async fn load_exchange_bars(
    config: &Config,
    args: &BacktestArgs,
    iv: i64,
    start_ms: i64,
    end_ms: i64,
    progress: bool,
) -> Result<Loaded, BacktestError> {
    use crate::source::exchanges::binance::{history::history_bars, Binance};
    use crate::source::exchanges::venue::VenueApi;
    let urls = &config.venue_urls;
    let mut binance = Binance::new(&urls.binance_fapi, &urls.binance_ws);
    let coin = args.symbol.trim().to_ascii_uppercase();
    let listed = binance
        .instruments(std::slice::from_ref(&coin))
        .await
        .map_err(|e| BacktestError::Venue(format!("cannot list Binance's instruments: {e}")))?;
    let Some(inst) = listed.into_iter().next() else {
        return Err(BacktestError::Usage(format!(
            "{coin} is not listed as a USDT perpetual on Binance, the only venue with public \
             history; import a CSV (perpwatch import FILE --symbol {coin}) or use CoinGlass"
        )));
    };
    let bar = progress_bar(progress, 1);
    bar.set_message(format!("downloading {} history from Binance", inst.id));
    let (bars, notes) = history_bars(binance.http(), &inst, iv, start_ms, end_ms)
        .await
        .map_err(|e| BacktestError::Venue(format!("Binance history of {}: {e}", inst.id)))?;
    bar.finish_and_clear();
    let (_, requests) = binance.http().take_cycle_count();
    Ok(Loaded {
        bars,
        interval: args.interval.clone(),
        interval_ms: iv,
        source: BarSource::Binance { requests },
        notes,
    })
}

fn key_error(e: ApiError) -> BacktestError {
    match e {
        ApiError::Unauthorized { .. } => BacktestError::KeyRefused(format!(
            "{e}. Check COINGLASS_API_KEY: it may be invalid or expired."
        )),
        other => BacktestError::Api(other),
    }
}

/// The configured plan, or the one the subscription reports; an error naming `--plan` when
/// neither says.
pub async fn plan_of(
    client: &CoinGlassClient,
    configured: Option<Plan>,
) -> Result<Plan, BacktestError> {
    if let Some(p) = configured {
        return Ok(p);
    }
    match client.subscription().await {
        Ok(sub) if sub.expired == Some(true) => Err(BacktestError::KeyRefused(
            "the CoinGlass subscription expired. Check COINGLASS_API_KEY.".into(),
        )),
        Ok(sub) => match sub.level.as_deref().map(Plan::parse) {
            Some(Ok(plan)) => Ok(plan),
            Some(Err(e)) => Err(BacktestError::Usage(format!(
                "{e}; say which plan the key has with --plan or PERPWATCH_PLAN"
            ))),
            None => Err(BacktestError::Usage(
                "the subscription reports no plan level; say which plan the key has with --plan \
                 or PERPWATCH_PLAN"
                    .into(),
            )),
        },
        Err(e) if e.is_fatal() => Err(key_error(e)),
        // Depth, minimum interval and budget all depend on the plan: guessing would either
        // waste requests or refuse what the key may serve, so say so instead.
        Err(e) => Err(BacktestError::Usage(format!(
            "cannot read the CoinGlass subscription to learn the key's plan ({e}); \
             say which plan it has with --plan or PERPWATCH_PLAN"
        ))),
    }
}

/// An interval below the plan's minimum is a usage error naming the minimum.
pub fn check_interval(plan: Plan, interval: &str, iv: i64) -> Result<(), BacktestError> {
    let min = i64::try_from(plan.min_interval().as_millis()).unwrap_or(i64::MAX);
    if iv < min {
        return Err(BacktestError::Usage(format!(
            "--interval {interval} is below the {plan} plan's minimum history interval of {}; \
             use --interval {} or longer",
            human_ms(min),
            human_ms(min)
        )));
    }
    Ok(())
}

/// How far back the plan serves `iv` bars, per the depth table of CoinGlass's interval docs
/// (a start earlier than that is silently moved forward by the server, so asking for it would
/// waste requests). `None`: no limit documented (1d and 1w bars: all history; Enterprise
/// depths are set per contract). Intervals a plan does not serve at all are refused earlier
/// ([`check_interval`]).
///
/// | interval | Hobbyist | Startup | Standard | Professional |
/// |---|---|---|---|---|
/// | 1m | — | — | 6 d | 12 d |
/// | 3m | — | — | 20 d | 40 d |
/// | 5m | — | — | 30 d | 60 d |
/// | 15m | — | — | 90 d | 180 d |
/// | 30m | — | 90 d | 180 d | 360 d |
/// | 1h | — | 180 d | 360 d | 720 d |
/// | 4h | 180 d | 180 d | 360 d | 720 d |
/// | 6h, 8h, 12h | 360 d | 360 d | 360 d | 720 d |
/// | 1d, 1w | all | all | all | all |
pub fn plan_depth_ms(plan: Plan, iv: i64) -> Option<i64> {
    const MIN: i64 = 60_000;
    const H: i64 = super::HOUR_MS;
    let days = match (plan, iv) {
        (_, iv) if iv >= DAY_MS => return None,
        (Plan::Hobbyist, iv) if iv >= 6 * H => 360,
        (Plan::Hobbyist, iv) if iv >= 4 * H => 180,
        (Plan::Startup, iv) if iv >= 6 * H => 360,
        (Plan::Startup, iv) if iv >= H => 180,
        (Plan::Startup, iv) if iv >= 30 * MIN => 90,
        (Plan::Standard, iv) if iv >= H => 360,
        (Plan::Standard, iv) if iv >= 30 * MIN => 180,
        (Plan::Standard, iv) if iv >= 15 * MIN => 90,
        (Plan::Standard, iv) if iv >= 5 * MIN => 30,
        (Plan::Standard, iv) if iv >= 3 * MIN => 20,
        (Plan::Standard, iv) if iv >= MIN => 6,
        (Plan::Professional, iv) if iv >= H => 720,
        (Plan::Professional, iv) if iv >= 30 * MIN => 360,
        (Plan::Professional, iv) if iv >= 15 * MIN => 180,
        (Plan::Professional, iv) if iv >= 5 * MIN => 60,
        (Plan::Professional, iv) if iv >= 3 * MIN => 40,
        (Plan::Professional, iv) if iv >= MIN => 12,
        _ => return None,
    };
    Some(days * DAY_MS)
}

/// A series the plan refused is not asked again for the same plan until this has passed (in
/// case CoinGlass opens it); a different plan asks at once.
pub const GATE_RECHECK: chrono::Duration = chrono::Duration::days(7);

/// Imported bars of the symbol: of `--interval` when there are some, else of the interval with
/// the most rows; the last `--days` before the newest imported bar.
fn imported(
    store: &Store,
    args: &BacktestArgs,
    span: i64,
) -> Result<Option<Loaded>, BacktestError> {
    let intervals = store.imported_intervals(&args.symbol)?;
    let chosen = intervals
        .iter()
        .find(|(i, _)| *i == args.interval)
        .or_else(|| intervals.first());
    let Some((interval, _)) = chosen else {
        return Ok(None);
    };
    let Some(iv) = interval_ms(interval) else {
        return Ok(None);
    };
    let all = store.bars(&args.symbol, interval, ORIGIN_IMPORT, i64::MIN, i64::MAX)?;
    let Some(last) = all.last().map(|b| b.time_ms) else {
        return Ok(None);
    };
    let from = last.saturating_sub(span) + iv;
    let bars: Vec<Bar> = all.into_iter().filter(|b| b.time_ms >= from).collect();
    let mut notes = Vec::new();
    if *interval != args.interval {
        notes.push(format!(
            "the imported bars are {interval}, so --interval {} does not apply",
            args.interval
        ));
    }
    Ok(Some(Loaded {
        bars,
        interval: interval.clone(),
        interval_ms: iv,
        source: BarSource::Imported,
        notes,
    }))
}

// ---------------------------------------------------------------------------------------------
// CoinGlass download
// ---------------------------------------------------------------------------------------------

/// One download: the coin, its reference pair and the window `[start_ms, end_ms)` of bar starts.
#[derive(Debug, Clone)]
pub struct Request {
    pub coin: String,
    /// The quote asset of the reference pair (`USDT`).
    pub reference_quote: String,
    pub pair: String,
    pub exchange: String,
    pub interval: String,
    pub interval_ms: i64,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// Per series, the `[from, to)` ranges still to download.
pub type Missing = Vec<(HistorySeries, Vec<(i64, i64)>)>;

/// Ranges of each series that the store does not cover yet.
pub fn missing(store: &Store, req: &Request) -> Result<Missing, StoreError> {
    let mut out = Vec::new();
    for s in HistorySeries::ALL {
        let parts = match store.coverage(&req.coin, &req.interval, s.name())? {
            None => vec![(req.start_ms, req.end_ms)],
            Some((from, to)) => {
                let mut p = Vec::new();
                if req.start_ms < from {
                    p.push((req.start_ms, from.min(req.end_ms)));
                }
                if req.end_ms > to {
                    p.push((to.max(req.start_ms), req.end_ms));
                }
                p
            }
        };
        if !parts.is_empty() {
            out.push((s, parts));
        }
    }
    Ok(out)
}

/// Page starts of `[from, to)`: chunks of interval × limit.
fn pages(from: i64, to: i64, iv: i64) -> Vec<(i64, i64)> {
    let step = iv * i64::from(PAGE_LIMIT);
    let mut out = Vec::new();
    let mut s = from;
    while s < to {
        let e = (s + step).min(to);
        out.push((s, e));
        s = e;
    }
    out
}

/// Downloads every missing range into the store, recording coverage per completed range.
/// Returns notes for the report. A series the plan refuses is left absent and remembered in the
/// store with the plan (`history_gated`): later runs on the same plan do not ask again (for
/// [`GATE_RECHECK`]), a different plan asks at once. Any other failure stops the download.
pub async fn download(
    client: &CoinGlassClient,
    store: &mut Store,
    req: &Request,
    plan: Plan,
    progress: bool,
) -> Result<Vec<String>, BacktestError> {
    let mut notes = Vec::new();
    let depth_from = plan_depth_ms(plan, req.interval_ms).map(|d| req.end_ms - d);
    if let Some(from) = depth_from.filter(|f| *f > req.start_ms) {
        notes.push(format!(
            "the {plan} plan serves {} bars back to {} only; earlier bars are absent",
            req.interval,
            super::ms_time(from)
                .map_or_else(|| from.to_string(), |t| t.format("%Y-%m-%d").to_string())
        ));
    }
    let now = Utc::now();
    let mut todo = Vec::new();
    for (series, parts) in missing(store, req)? {
        match store.gated(&req.coin, &req.interval, series.name())? {
            Some(gate) if gate.plan == plan.as_str() && now - gate.at < GATE_RECHECK => {
                notes.push(format!(
                    "{}: not in your {plan} plan ({}; remembered from {}, asked again after a plan \
                     change or {} days); its inputs are absent",
                    series.name(),
                    gate.reason,
                    gate.at.format("%Y-%m-%d"),
                    GATE_RECHECK.num_days()
                ));
            }
            _ => todo.push((series, parts)),
        }
    }
    let plan_pages = |(a, b): (i64, i64)| pages(a.max(depth_from.unwrap_or(a)), b, req.interval_ms);
    let total: usize = todo
        .iter()
        .flat_map(|(_, parts)| parts.iter().map(|p| plan_pages(*p).len()))
        .sum();
    let bar = progress_bar(progress, total as u64);
    let mut target = HistoryTarget {
        coin: req.coin.clone(),
        exchange: req.exchange.clone(),
        pair: req.pair.clone(),
    };
    let mut exchanges: Option<Vec<String>> = None;
    // Whether the reference pair exists, looked up once before the first per-pair series.
    let mut pair_exists: Option<bool> = None;
    'series: for (series, parts) in todo {
        if series == HistorySeries::Liquidations && exchanges.is_none() {
            let list = client.supported_exchanges().await.map_err(key_error)?;
            exchanges = Some(list.into_iter().map(|e| e.0).collect());
        }
        if on_reference_pair(series) {
            let exists = match pair_exists {
                Some(exists) => exists,
                None => {
                    let exists =
                        check_pair(client, &mut target, &req.reference_quote, &mut notes).await?;
                    pair_exists = Some(exists);
                    exists
                }
            };
            if !exists {
                continue 'series;
            }
        }
        let ex = exchanges.as_deref().unwrap_or(&[]);
        bar.set_message(series.name());
        for part in parts {
            for (s, e) in plan_pages(part) {
                let q = HistoryQuery::new(req.interval.clone())
                    .limit(PAGE_LIMIT)
                    .range_ms(s, e);
                let rows = match client.history_page(series, &target, ex, &q).await {
                    Ok(rows) => rows,
                    Err(err @ ApiError::PlanGated { .. }) => {
                        let reason = match &err {
                            ApiError::PlanGated { detail, .. } => detail.clone(),
                            other => other.to_string(),
                        };
                        store.set_gated(
                            &req.coin,
                            &req.interval,
                            series.name(),
                            &crate::store::Gate {
                                plan: plan.as_str().to_string(),
                                reason,
                                at: now,
                            },
                        )?;
                        notes.push(format!(
                            "{}: {err}; its inputs are absent (remembered: not asked again on the \
                             {plan} plan for {} days)",
                            series.name(),
                            GATE_RECHECK.num_days()
                        ));
                        continue 'series;
                    }
                    Err(err) => {
                        bar.finish_and_clear();
                        return Err(key_error(err));
                    }
                };
                // Only complete bars inside the page (the server may round its edges).
                let rows: Vec<Bar> = rows
                    .into_iter()
                    .filter(|b| b.time_ms >= s && b.time_ms < e && b.time_ms < req.end_ms)
                    .collect();
                store.upsert_bar_columns(
                    &req.coin,
                    &req.interval,
                    ORIGIN_COINGLASS,
                    series.columns(),
                    &rows,
                )?;
                bar.inc(1);
            }
            let merged = match store.coverage(&req.coin, &req.interval, series.name())? {
                Some((a, b)) => (a.min(part.0), b.max(part.1)),
                None => part,
            };
            store.set_coverage(&req.coin, &req.interval, series.name(), merged)?;
        }
        // Served (perhaps after a plan change): forget an earlier refusal.
        store.clear_gated(&req.coin, &req.interval, series.name())?;
    }
    bar.finish_and_clear();
    Ok(notes)
}

/// Series read on the reference exchange's pair (the others are the coin's aggregates).
fn on_reference_pair(series: HistorySeries) -> bool {
    matches!(
        series,
        HistorySeries::Price | HistorySeries::Retail | HistorySeries::Top | HistorySeries::Taker
    )
}

/// Looks up the reference pair's id (`BTC-USDT-SWAP` on OKX, not a guessed `BTCUSDT`, which
/// would return zero rows with no error) and points `target` at it. `false` when the exchange
/// has no such pair: said in the notes, and the per-pair series stay absent. When the lookup gives
/// no verdict the guessed id is used, and the notes say it is unverified.
async fn check_pair(
    client: &CoinGlassClient,
    target: &mut HistoryTarget,
    quote: &str,
    notes: &mut Vec<String>,
) -> Result<bool, BacktestError> {
    let unverified = |why: String| {
        format!(
            "the pair id {} on {} is a guess ({why}); if price, long/short and taker come back \
             empty, set reference_exchange to another venue",
            target.pair, target.exchange
        )
    };
    match client
        .reference_pair(&target.exchange, &target.coin, quote)
        .await
    {
        Ok(PairVerdict::Found { exchange, pair }) => {
            target.exchange = exchange;
            target.pair = pair;
            Ok(true)
        }
        Ok(PairVerdict::Missing(why)) => {
            notes.push(format!(
                "{why}: price, long/short and taker history are absent; set reference_exchange \
                 to a venue that lists it"
            ));
            Ok(false)
        }
        Ok(PairVerdict::Unknown) => {
            notes.push(unverified("the pair list came back empty".into()));
            Ok(true)
        }
        Err(e) if e.is_fatal() => Err(key_error(e)),
        Err(e) => {
            notes.push(unverified(format!("the pair list could not be read: {e}")));
            Ok(true)
        }
    }
}

fn progress_bar(visible: bool, total: u64) -> indicatif::ProgressBar {
    if !visible {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "fetching history {bar:30} {pos}/{len} pages · {msg}",
    ) {
        bar.set_style(style);
    }
    bar
}

// ---------------------------------------------------------------------------------------------
// Demo history
// ---------------------------------------------------------------------------------------------

/// Combines two maybe-known values; a known one wins over an unknown one.
fn fold(a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(f(x, y)),
        (x, y) => x.or(y),
    }
}

/// The demo market sampled as bars over `[start_ms, end_ms)`. The demo compresses time
/// ([`SIM_HOUR_S`] simulated seconds per market hour); bar `time` maps to the simulated time
/// elapsed since `start_ms`, so the same window always gives the same bars. Within a bar the
/// market is sampled every hour (or once per bar below 1h): OHLC from those samples, the bar's
/// liquidations as the sum of hourly amounts, everything else as read at the bar's end.
pub fn demo_bars(symbol: &str, interval_ms: i64, start_ms: i64, end_ms: i64) -> Vec<Bar> {
    let market = DemoMarket::new(vec![symbol.to_string()], 1.0);
    let at = |t: i64| {
        let hours = (t - start_ms) as f64 / super::HOUR_MS as f64;
        let elapsed = Duration::from_secs_f64((hours * SIM_HOUR_S).max(0.0));
        let now = DateTime::from_timestamp_millis(t).unwrap_or_default();
        market.snapshot_at(symbol, elapsed, now)
    };
    let step = interval_ms.min(super::HOUR_MS);
    let mut bars = Vec::new();
    let mut t = start_ms;
    while t < end_ms {
        let mut bar = Bar::at(t);
        let open = at(t).price.get().and_then(|p| p.price);
        let (mut hi, mut lo) = (open, open);
        let (mut liq_long, mut liq_short) = (Some(0.0), Some(0.0));
        let mut s = t;
        let mut last = None;
        while s < t + interval_ms {
            s = (s + step).min(t + interval_ms);
            let snap = at(s);
            let p = snap.price.get().and_then(|p| p.price);
            hi = fold(hi, p, f64::max);
            lo = fold(lo, p, f64::min);
            let share = step as f64 / super::HOUR_MS as f64;
            let liq = snap.liquidations.get().copied();
            liq_long = liq_long
                .zip(liq.and_then(|l| l.long_1h_usd))
                .map(|(a, b)| a + b * share);
            liq_short = liq_short
                .zip(liq.and_then(|l| l.short_1h_usd))
                .map(|(a, b)| a + b * share);
            last = Some(snap);
        }
        if let Some(end) = last {
            bar.open = open;
            bar.high = hi;
            bar.low = lo;
            bar.close = end.price.get().and_then(|p| p.price);
            bar.oi_usd = end.open_interest.get().and_then(|o| o.oi_usd);
            bar.funding_8h_pct = end.funding.get().and_then(|f| f.rate_8h_pct);
            bar.liq_long_usd = liq_long;
            bar.liq_short_usd = liq_short;
            bar.retail_long_pct = end.retail.get().and_then(|r| r.long_pct);
            bar.top_long_pct = end.top.get().and_then(|r| r.long_pct);
            bar.taker_buy_pct = end.taker.get().and_then(|r| r.buy_pct);
        }
        bars.push(bar);
        t += interval_ms;
    }
    bars
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The depth table of CoinGlass's interval docs, cell by cell (days; None: not limited).
    #[test]
    fn plan_depth_matches_the_docs_table() {
        let table: [(&str, [Option<i64>; 4]); 11] = [
            ("1m", [None, None, Some(6), Some(12)]),
            ("3m", [None, None, Some(20), Some(40)]),
            ("5m", [None, None, Some(30), Some(60)]),
            ("15m", [None, None, Some(90), Some(180)]),
            ("30m", [None, Some(90), Some(180), Some(360)]),
            ("1h", [None, Some(180), Some(360), Some(720)]),
            ("4h", [Some(180), Some(180), Some(360), Some(720)]),
            ("6h", [Some(360), Some(360), Some(360), Some(720)]),
            ("8h", [Some(360), Some(360), Some(360), Some(720)]),
            ("12h", [Some(360), Some(360), Some(360), Some(720)]),
            ("1d", [None, None, None, None]),
        ];
        let plans = [
            Plan::Hobbyist,
            Plan::Startup,
            Plan::Standard,
            Plan::Professional,
        ];
        for (interval, days) in table {
            let iv = interval_ms(interval).unwrap_or_default();
            for (plan, want) in plans.iter().zip(days) {
                // Below the plan's minimum interval the backtest refuses first; the depth
                // there does not matter.
                if check_interval(*plan, interval, iv).is_err() {
                    continue;
                }
                assert_eq!(
                    plan_depth_ms(*plan, iv),
                    want.map(|d| d * DAY_MS),
                    "{plan} {interval}"
                );
            }
        }
        assert_eq!(plan_depth_ms(Plan::Professional, 7 * DAY_MS), None);
    }
}
