//! `LiveSource`: turns CoinGlass V4 answers into one [`Snapshot`] per watched symbol per cycle.
//!
//! Per symbol it keeps the last good value of every metric group, so that a failing endpoint
//! leaves a stale value (with the reason) instead of a hole, and metrics that the schedule does
//! not refresh this cycle (taker, price, long/short) are carried over unchanged (fresh, with
//! their original `observed_at`).
//!
//! A cycle ends by its deadline ([`PollContext::deadline`]): every request runs under it, and
//! whatever had not finished by then is marked "timed out at the cycle deadline" (stale or
//! absent, never 0). Progress (requests answered of those planned) is published as answers
//! arrive; the funding list, which covers every symbol in one request, goes first.

use super::budget::{
    interval_str, plan_schedule, MarketsMode, Plan, Schedule, ScheduleInput, MARKETS_PER_PAGE,
};
use super::client::{ApiError, ClientOptions, CoinGlassClient, HistoryQuery, LongShortKind};
use super::wire::{
    ms_to_time, CoinMarket, FundingCoin, LiquidationExchangeRow, LongShortBar, OiExchangeRow,
    PairMarket, TakerExchangeList,
};
use crate::model::{GapReason, Liquidations, LongShort, OpenInterest, Snapshot, SourceKind};
use crate::source::{
    Arrived, FatalSourceError, PollContext, PollProgress, RequestStats, Source, SourceLabel,
};
use chrono::{DateTime, Utc};
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use secrecy::SecretString;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

mod answers;
mod apply;
mod state;

use super::pairs::{resolve_pairs, PairLookup};
use answers::{
    fail, funding_of, funding_weights, liquidations_of, next_ls_due, open_interest_of,
    reference_pair, settle, taker_of, unreported, Failure,
};
use apply::summarize_failures;
use state::{PairState, SymbolState};

/// Requests of one cycle in flight at once (all of them still wait for the limiter).
const CONCURRENCY: usize = 8;
/// coins-markets pages scanned at most when looking for a watched coin.
const MAX_MARKETS_PAGES: u32 = 5;
/// Rolling window of the liquidation and taker lists.
const RANGE_1H: &str = "1h";
/// How often a reference pair the exchange did not list is looked for again (new listings).
const MISSING_PAIR_RECHECK: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// What `LiveSource::connect` needs.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub base_url: String,
    pub api_key: SecretString,
    /// Coins (`BTC`, `1000PEPE`), case-insensitive.
    pub symbols: Vec<String>,
    pub poll_interval: Duration,
    /// Skips trusting the subscription's `level` (the key is still validated with it).
    pub plan_override: Option<Plan>,
    /// Exchange of the long/short and price reference pair (default `Binance`).
    pub reference_exchange: String,
    /// Quote asset of the reference pair (default `USDT`).
    pub reference_quote: String,
    pub client: ClientOptions,
}

impl LiveConfig {
    /// Defaults: 5-minute polls, Binance, USDT, production client options.
    pub fn new(base_url: impl Into<String>, api_key: SecretString, symbols: Vec<String>) -> Self {
        LiveConfig {
            base_url: base_url.into(),
            api_key,
            symbols,
            poll_interval: Duration::from_secs(300),
            plan_override: None,
            reference_exchange: "Binance".into(),
            reference_quote: "USDT".into(),
            client: ClientOptions::default(),
        }
    }
}

/// Endpoint groups that can be switched off for the session after a plan gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Group {
    Funding,
    OpenInterest,
    Liquidations,
    Taker,
    PairsMarkets,
    CoinsMarkets,
    Retail,
    Top,
    PairList,
}

impl Group {
    fn name(self) -> &'static str {
        match self {
            Group::Funding => "funding-rate/exchange-list",
            Group::OpenInterest => "open-interest/exchange-list",
            Group::Liquidations => "liquidation/exchange-list",
            Group::Taker => "taker-buy-sell-volume/exchange-list",
            Group::PairsMarkets => "pairs-markets",
            Group::CoinsMarkets => "coins-markets",
            Group::Retail => "global-long-short-account-ratio/history",
            Group::Top => "top-long-short-account-ratio/history",
            Group::PairList => "supported-exchange-pairs",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Retail,
    Top,
}

impl Side {
    const BOTH: [Side; 2] = [Side::Retail, Side::Top];

    fn kind(self) -> LongShortKind {
        match self {
            Side::Retail => LongShortKind::GlobalAccount,
            Side::Top => LongShortKind::TopAccount,
        }
    }
    fn group(self) -> Group {
        match self {
            Side::Retail => Group::Retail,
            Side::Top => Group::Top,
        }
    }
    fn index(self) -> usize {
        match self {
            Side::Retail => 0,
            Side::Top => 1,
        }
    }
}

/// One request of a cycle; `usize` indexes the watched symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Funding,
    /// `supported-exchange-pairs` of the reference exchange (the reference pair ids).
    PairList,
    Markets(u32),
    Oi(usize),
    Liq(usize),
    Taker(usize),
    Pairs(usize),
    LongShort(Side, usize),
}

impl Job {
    fn group(self) -> Group {
        match self {
            Job::Funding => Group::Funding,
            Job::PairList => Group::PairList,
            Job::Markets(_) => Group::CoinsMarkets,
            Job::Oi(_) => Group::OpenInterest,
            Job::Liq(_) => Group::Liquidations,
            Job::Taker(_) => Group::Taker,
            Job::Pairs(_) => Group::PairsMarkets,
            Job::LongShort(side, _) => side.group(),
        }
    }
}

/// A successful answer, self-describing so it cannot be applied to the wrong symbol.
enum Answer {
    Funding(Vec<FundingCoin>),
    /// `None`: the list was empty (no verdict).
    PairList(Option<PairLookup>),
    Markets(u32, Vec<CoinMarket>),
    Oi(usize, Vec<OiExchangeRow>),
    Liq(usize, Vec<LiquidationExchangeRow>),
    Taker(usize, TakerExchangeList),
    Pairs(usize, Vec<PairMarket>),
    LongShort(Side, usize, Vec<LongShortBar>),
}

type Outcome = Result<Answer, Failure>;

/// The jobs of one cycle: those that can start at once, and the long/short requests that wait
/// for this cycle's pair lookup.
struct Planned {
    jobs: Vec<Job>,
    after_pairs: Vec<Job>,
}

/// The exchange and pair a long/short request goes to.
#[derive(Debug, Clone)]
struct LsTarget {
    exchange: String,
    pair: String,
}

/// Requests answered (or given up) out of those planned, published as they change; and what
/// has arrived so far, for frontends to show before the cycle ends.
struct Progress<'a> {
    tx: &'a tokio::sync::watch::Sender<PollProgress>,
    now: PollProgress,
    /// Where early arrivals go, and the moment the cycle stands for.
    arrived: Option<(&'a tokio::sync::watch::Sender<Arrived>, DateTime<Utc>)>,
}

impl<'a> Progress<'a> {
    fn start(tx: &'a tokio::sync::watch::Sender<PollProgress>, total: usize) -> Progress<'a> {
        let p = Progress {
            tx,
            arrived: None,
            now: PollProgress {
                done: 0,
                total: u32::try_from(total).unwrap_or(u32::MAX),
            },
        };
        p.publish();
        p
    }
    fn publish(&self) {
        // No receiver is fine: nobody is watching this poll.
        self.tx.send_replace(self.now);
    }
    /// Also publish early arrivals on `arrived` (snapshots as of `at`).
    fn with_arrivals(
        mut self,
        arrived: &'a tokio::sync::watch::Sender<Arrived>,
        at: DateTime<Utc>,
    ) -> Progress<'a> {
        self.arrived = Some((arrived, at));
        self
    }
    /// Publishes what `build` makes of the answers so far, if anyone is watching.
    fn arrived(&self, build: impl FnOnce(DateTime<Utc>) -> Vec<Snapshot>) {
        if let Some((tx, at)) = self.arrived {
            if tx.receiver_count() > 0 {
                tx.send_replace(Some(std::sync::Arc::new(build(at))));
            }
        }
    }
    fn planned(&mut self, more: usize) {
        self.now.total = self
            .now
            .total
            .saturating_add(u32::try_from(more).unwrap_or(u32::MAX));
        self.publish();
    }
    fn dropped(&mut self, fewer: usize) {
        self.now.total = self
            .now
            .total
            .saturating_sub(u32::try_from(fewer).unwrap_or(u32::MAX))
            .max(self.now.done);
        self.publish();
    }
    fn finished(&mut self) {
        self.now.done = self.now.done.saturating_add(1).min(self.now.total);
        self.publish();
    }
}

/// Why the plan shown is what it is, when it is not simply what the subscription said.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PlanBasis {
    /// One word for the label, which the dashboard's top bar shows: `assumed`, `unconfirmed`.
    /// The why is in the note.
    label: String,
    /// A sentence for the user.
    note: String,
}

/// The live CoinGlass source.
#[derive(Debug)]
pub struct LiveSource {
    client: CoinGlassClient,
    plan: Plan,
    /// Set when the plan was assumed or taken from the configuration without the
    /// subscription's word.
    plan_basis: Option<PlanBasis>,
    schedule: Schedule,
    /// As configured until the pair lookup gives the API's own spelling.
    reference_exchange: String,
    reference_quote: String,
    symbols: Vec<SymbolState>,
    gated: HashSet<Group>,
    /// When to look the reference pairs up (again); `None`: never.
    pairs_due: Option<DateTime<Utc>>,
    /// coins-markets pages fetched each cycle (learnt: the last page holding a watched coin).
    markets_pages: u32,
    /// First cycle at which a deeper coins-markets scan for a missing coin may run again.
    markets_rescan_at: u64,
    cycle: u64,
    last_cycle_requests: u32,
    last_cycle_errors: Vec<String>,
    /// Keys of what was already said (said once per session, not every cycle).
    told: HashSet<String>,
}

impl LiveSource {
    /// A source for `coins` on `plan`, with nothing fetched yet.
    fn new(
        client: CoinGlassClient,
        plan: Plan,
        schedule: Schedule,
        cfg: &LiveConfig,
        coins: Vec<String>,
    ) -> LiveSource {
        let quote = cfg.reference_quote.trim().to_ascii_uppercase();
        LiveSource {
            client,
            plan,
            plan_basis: None,
            schedule,
            reference_exchange: cfg.reference_exchange.trim().to_owned(),
            symbols: coins
                .into_iter()
                .map(|c| SymbolState::new(c, &quote))
                .collect(),
            reference_quote: quote,
            gated: HashSet::new(),
            pairs_due: Some(DateTime::<Utc>::MIN_UTC),
            markets_pages: 1,
            markets_rescan_at: 0,
            cycle: 0,
            last_cycle_requests: 0,
            last_cycle_errors: Vec::new(),
            told: HashSet::new(),
        }
    }

    /// Builds the client and reads the key's plan from `/api/user/account/subscription`.
    ///
    /// The subscription is read even with `plan_override` set, to validate the key before the
    /// first cycle (the override then wins over the reported level). An invalid key or an
    /// expired subscription returns [`ApiError::Unauthorized`] (exit code 3). If the call fails
    /// for any other reason, or its level is missing or unknown, the override, or else the most
    /// conservative plan (Hobbyist), is used, and the source says so: in its label
    /// (`HOBBYIST (assumed: subscription unreadable)`) and in [`LiveSource::plan_note`].
    pub async fn connect(cfg: LiveConfig) -> Result<LiveSource, ApiError> {
        let mut coins: Vec<String> = Vec::new();
        for s in &cfg.symbols {
            let coin = s.trim().to_ascii_uppercase();
            if !coin.is_empty() && !coins.contains(&coin) {
                coins.push(coin);
            }
        }
        if coins.is_empty() {
            return Err(ApiError::BadRequest {
                endpoint: "configuration".into(),
                detail: "no symbols to watch".into(),
            });
        }
        let client = CoinGlassClient::new(
            cfg.base_url.clone(),
            cfg.api_key.clone(),
            cfg.client.clone(),
        )?;
        let assumed = |note: String| {
            let plan = Plan::Hobbyist;
            let basis = PlanBasis {
                label: "assumed".into(),
                note: format!(
                    "{note}: assuming the {} plan's limits ({} requests/minute), the most \
                     conservative; set `plan` (PERPWATCH_PLAN, --plan) to say which plan the key has",
                    plan.to_string().to_uppercase(),
                    plan.requests_per_minute()
                ),
            };
            (plan, Some(basis))
        };
        let (plan, plan_basis) = match client.subscription().await {
            Ok(sub) if sub.expired == Some(true) => {
                let when = sub
                    .expire_time
                    .and_then(ms_to_time)
                    .map(|t| format!(" on {}", t.format("%Y-%m-%d")))
                    .unwrap_or_default();
                return Err(ApiError::Unauthorized {
                    endpoint: super::client::paths::SUBSCRIPTION.into(),
                    detail: format!("the CoinGlass subscription expired{when}"),
                });
            }
            Ok(sub) => match (cfg.plan_override, sub.level.as_deref().map(Plan::parse)) {
                (Some(p), reported) => {
                    if let Some(Ok(r)) = reported.filter(|r| r.as_ref().ok() != Some(&p)) {
                        tracing::info!(plan_override = %p, reported = %r, "plan override differs from the subscription; using the override");
                    }
                    (p, None)
                }
                (None, Some(Ok(p))) => (p, None),
                (None, Some(Err(e))) => assumed(
                    format!(
                        "the subscription reports the level {:?}, which perpwatch does not know",
                        e.given
                    ),
                ),
                (None, None) => assumed(
                    "the subscription answer has no level".to_owned(),
                ),
            },
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => match cfg.plan_override {
                Some(p) => (
                    p,
                    Some(PlanBasis {
                        label: "unconfirmed".into(),
                        note: format!(
                            "could not read the CoinGlass subscription at start ({e}); using the configured \
                             {} plan, unconfirmed",
                            p.to_string().to_uppercase()
                        ),
                    }),
                ),
                None => assumed(
                    format!(
                        "could not read the CoinGlass subscription at start ({e}), so the key's \
                         plan is unknown"
                    ),
                ),
            },
        };
        client.limiter().set_plan_limit(plan.requests_per_minute());
        let mut input = ScheduleInput::for_plan(plan, coins.len(), cfg.poll_interval);
        input.limit_per_minute = client.limiter().limit();
        let schedule = plan_schedule(input);
        let mut source = LiveSource::new(client, plan, schedule, &cfg, coins);
        source.plan_basis = plan_basis;
        // The schedule is the caller's to explain (it may tell the user it was stretched).
        tracing::info!(plan = %source.label(), "coinglass live source ready");
        Ok(source)
    }

    pub fn plan(&self) -> Plan {
        self.plan
    }

    /// Why the plan in use is not simply the subscription's word (it was assumed, or taken from
    /// the configuration unconfirmed), in a sentence for the user; `None` when it is.
    pub fn plan_note(&self) -> Option<String> {
        self.plan_basis.as_ref().map(|b| b.note.clone())
    }

    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The underlying client (shared limiter and counter), e.g. for history downloads.
    pub fn client(&self) -> &CoinGlassClient {
        &self.client
    }

    /// Watched coins, upper-cased, in configuration order.
    pub fn symbols(&self) -> Vec<String> {
        self.symbols.iter().map(|s| s.coin.clone()).collect()
    }

    pub fn request_stats(&self) -> RequestStats {
        let limiter = self.client.limiter();
        RequestStats {
            this_cycle: self.last_cycle_requests,
            used_this_minute: Some(limiter.used_this_minute()),
            limit_per_minute: Some(limiter.limit()),
            total: self.client.requests_total(),
        }
    }

    /// `LIVE · HOBBYIST`, or `LIVE · HOBBYIST (assumed: subscription unreadable)` when the plan
    /// is not the subscription's word.
    pub fn label(&self) -> SourceLabel {
        let name = self.plan.to_string().to_uppercase();
        SourceLabel {
            kind: SourceKind::Live,
            plan: Some(match &self.plan_basis {
                Some(basis) => format!("{name} ({})", basis.label),
                None => name,
            }),
        }
    }

    /// Seeds `coin`'s own price observations (e.g. from the history store after a restart), so
    /// the self-computed 1h price change is available at once instead of after an hour. Points
    /// must be `(observed at, price)`, oldest first; unknown coins and bad prices are ignored.
    pub fn seed_prices(&mut self, coin: &str, points: &[(DateTime<Utc>, f64)]) {
        let Some(st) = self
            .symbols
            .iter_mut()
            .find(|s| s.coin.eq_ignore_ascii_case(coin))
        else {
            return;
        };
        for &(at, price) in points {
            if price.is_finite() && price > 0.0 {
                st.ring.push(at, price);
            }
        }
    }

    /// Problems of the last cycle, one line per distinct problem (the first endpoint it hit
    /// and how many more requests it hit; never the key).
    pub fn last_cycle_errors(&self) -> &[String] {
        &self.last_cycle_errors
    }

    /// Runs one cycle that must end within the schedule's poll interval. See
    /// [`LiveSource::poll_within`].
    pub async fn poll(&mut self, now: DateTime<Utc>) -> Result<Vec<Snapshot>, ApiError> {
        let ctx = PollContext::within(now, self.schedule.poll_interval);
        self.poll_within(&ctx).await
    }

    /// Runs one cycle and returns one snapshot per watched symbol by `ctx.deadline`: requests
    /// still unfinished then are dropped and their metrics marked "timed out at the cycle
    /// deadline" (the last value kept as stale, or absent). Progress goes to `ctx.progress` as
    /// answers arrive. Only a refused key ([`ApiError::Unauthorized`]) is an `Err`; every other
    /// failure becomes a gap.
    pub async fn poll_within(&mut self, ctx: &PollContext) -> Result<Vec<Snapshot>, ApiError> {
        let now = ctx.now;
        let before = self.client.requests_total();
        let cycle = self.cycle;
        self.cycle += 1;

        let planned = self.plan_jobs(cycle, now);
        let mut progress = Progress::start(
            &ctx.progress,
            planned.jobs.len() + planned.after_pairs.len(),
        )
        .with_arrivals(&ctx.arrived, now);
        let mut results = self
            .run(
                planned.jobs,
                planned.after_pairs,
                ctx.deadline,
                &mut progress,
            )
            .await;
        if self.schedule.mode == MarketsMode::CoinsMarkets
            && !results
                .iter()
                .any(|(_, r)| r.as_ref().is_err_and(Failure::is_fatal))
        {
            self.complete_markets(cycle, &mut results, ctx.deadline, &mut progress)
                .await;
        }
        self.last_cycle_requests =
            u32::try_from(self.client.requests_total() - before).unwrap_or(u32::MAX);
        if let Some(Failure::Api(fatal)) = results
            .iter()
            .find_map(|(_, r)| r.as_ref().err().filter(|e| e.is_fatal()))
        {
            return Err(fatal.clone());
        }
        self.last_cycle_errors = summarize_failures(&results);
        self.apply(results, now);
        Ok(self.symbols.iter().map(|s| s.snapshot(now)).collect())
    }

    fn plan_jobs(&self, cycle: u64, now: DateTime<Utc>) -> Planned {
        let s = &self.schedule;
        let every = |n: u32| cycle % u64::from(n.max(1)) == 0;
        let open = |g: Group| !self.gated.contains(&g);
        let mut jobs = Vec::new();
        let mut after_pairs = Vec::new();
        // First: one request that serves every symbol.
        if open(Group::Funding) {
            jobs.push(Job::Funding);
        }
        let wants_ls = open(Group::Retail) || open(Group::Top);
        let lookup =
            wants_ls && open(Group::PairList) && self.pairs_due.is_some_and(|due| now >= due);
        if lookup {
            jobs.push(Job::PairList);
        }
        if s.mode == MarketsMode::CoinsMarkets {
            jobs.extend((1..=self.markets_pages).map(Job::Markets));
        }
        for (i, st) in self.symbols.iter().enumerate() {
            match s.mode {
                MarketsMode::PerSymbol => {
                    if open(Group::OpenInterest) {
                        jobs.push(Job::Oi(i));
                    }
                    if open(Group::Liquidations) {
                        jobs.push(Job::Liq(i));
                    }
                    if open(Group::PairsMarkets) && every(s.price_every_cycles) {
                        jobs.push(Job::Pairs(i));
                    }
                }
                MarketsMode::CoinsMarkets => {
                    if open(Group::OpenInterest) && every(s.weights_every_cycles) {
                        jobs.push(Job::Oi(i));
                    }
                }
            }
            if open(Group::Taker) && every(s.taker_every_cycles) {
                jobs.push(Job::Taker(i));
            }
            if matches!(st.pair_state, PairState::Missing(_)) {
                continue;
            }
            for side in Side::BOTH {
                let due = st.ls[side.index()].next_due.is_none_or(|t| now >= t);
                if open(side.group()) && due {
                    if lookup && st.pair_state == PairState::Guessed {
                        after_pairs.push(Job::LongShort(side, i));
                    } else {
                        jobs.push(Job::LongShort(side, i));
                    }
                }
            }
        }
        Planned { jobs, after_pairs }
    }

    /// Runs `jobs` concurrently (bounded), each under `deadline`; the long/short jobs in
    /// `after_pairs` start once this cycle's pair lookup is answered (on the ids it found, or on
    /// the guessed ids if it failed). Stops at a refused key rather than sending the rest. Jobs
    /// not started by the deadline are not sent at all.
    async fn run(
        &self,
        jobs: Vec<Job>,
        mut after_pairs: Vec<Job>,
        deadline: Instant,
        progress: &mut Progress<'_>,
    ) -> Vec<(Job, Outcome)> {
        let mut queue: VecDeque<Job> = jobs.into();
        let mut targets: HashMap<usize, LsTarget> = HashMap::new();
        let mut in_flight = FuturesUnordered::new();
        let mut out = Vec::new();
        loop {
            while in_flight.len() < CONCURRENCY {
                let Some(job) = queue.pop_front() else {
                    break;
                };
                if Instant::now() >= deadline {
                    if job == Job::PairList {
                        // They wait for nothing now: they time out too, and say so.
                        queue.extend(after_pairs.drain(..));
                    }
                    out.push((job, Err(Failure::TimedOut)));
                    progress.finished();
                    continue;
                }
                let target = match job {
                    Job::LongShort(_, i) => {
                        Some(targets.get(&i).cloned().unwrap_or_else(|| LsTarget {
                            exchange: self.reference_exchange.clone(),
                            pair: self.symbols[i].pair.clone(),
                        }))
                    }
                    _ => None,
                };
                in_flight.push(async move {
                    let answer = tokio::time::timeout_at(deadline, self.fetch(job, target)).await;
                    let outcome = match answer {
                        Ok(Ok(a)) => Ok(a),
                        Ok(Err(e)) => Err(Failure::Api(e)),
                        Err(_) => Err(Failure::TimedOut),
                    };
                    (job, outcome)
                });
            }
            let Some((job, outcome)) = in_flight.next().await else {
                break;
            };
            progress.finished();
            if let Ok(Answer::Funding(coins)) = &outcome {
                // One answer covers every symbol: show it while the rest is still coming.
                progress.arrived(|at| self.with_funding(coins, at));
            }
            if job == Job::PairList {
                let lookup = match &outcome {
                    Ok(Answer::PairList(Some(lookup))) => Some(lookup),
                    _ => None,
                };
                let mut dropped = 0;
                for waiting in after_pairs.drain(..) {
                    let Job::LongShort(_, i) = waiting else {
                        continue;
                    };
                    match lookup {
                        Some(l) => match (&l.exchange, l.ids.get(i).and_then(Option::as_ref)) {
                            (Some(exchange), Some(pair)) => {
                                targets.insert(
                                    i,
                                    LsTarget {
                                        exchange: exchange.clone(),
                                        pair: pair.clone(),
                                    },
                                );
                                queue.push_back(waiting);
                            }
                            // No such pair: nothing to ask.
                            _ => dropped += 1,
                        },
                        // No verdict: ask on the guessed id.
                        None => queue.push_back(waiting),
                    }
                }
                if dropped > 0 {
                    progress.dropped(dropped);
                }
            }
            let fatal = outcome.as_ref().is_err_and(Failure::is_fatal);
            out.push((job, outcome));
            if fatal {
                break;
            }
        }
        out
    }

    async fn fetch(&self, job: Job, target: Option<LsTarget>) -> Result<Answer, ApiError> {
        let c = &self.client;
        let coin = |i: usize| self.symbols[i].coin.as_str();
        match job {
            Job::Funding => c.funding_exchange_list().await.map(Answer::Funding),
            Job::PairList => {
                // Every exchange: the configured name may be spelled unlike the API's ("okx",
                // "Gate.io"), and a filter on a misspelled name would list nothing.
                let answer = c.supported_exchange_pairs(None).await?;
                let coins = self.symbols();
                Ok(Answer::PairList(resolve_pairs(
                    &answer,
                    &self.reference_exchange,
                    &coins,
                    &self.reference_quote,
                )))
            }
            Job::Markets(page) => c
                .coins_markets(page, MARKETS_PER_PAGE)
                .await
                .map(|rows| Answer::Markets(page, rows)),
            Job::Oi(i) => c.oi_exchange_list(coin(i)).await.map(|r| Answer::Oi(i, r)),
            Job::Liq(i) => c
                .liquidation_exchange_list(coin(i), RANGE_1H)
                .await
                .map(|r| Answer::Liq(i, r)),
            Job::Taker(i) => c
                .taker_exchange_list(coin(i), RANGE_1H)
                .await
                .map(|r| Answer::Taker(i, r)),
            Job::Pairs(i) => c.pairs_markets(coin(i)).await.map(|r| Answer::Pairs(i, r)),
            Job::LongShort(side, i) => {
                let target = target.unwrap_or_else(|| LsTarget {
                    exchange: self.reference_exchange.clone(),
                    pair: self.symbols[i].pair.clone(),
                });
                // Two bars: the newest may still be empty while it opens.
                let q = HistoryQuery::new(self.schedule.ls_interval_str()).limit(2);
                c.long_short_history(side.kind(), &target.exchange, &target.pair, &q)
                    .await
                    .map(|r| Answer::LongShort(side, i, r))
            }
        }
    }

    /// coins-markets follow-ups: further pages while a watched coin is missing, and the
    /// per-symbol endpoints for the rest of the session if the plan turns out not to include it.
    async fn complete_markets(
        &mut self,
        cycle: u64,
        results: &mut Vec<(Job, Outcome)>,
        deadline: Instant,
        progress: &mut Progress<'_>,
    ) {
        let gated = results.iter().any(|(j, r)| {
            matches!(j, Job::Markets(_))
                && matches!(r, Err(Failure::Api(ApiError::PlanGated { .. })))
        });
        if gated {
            tracing::warn!(
                "coins-markets is not in this key's plan; switching to per-symbol requests"
            );
            self.gated.insert(Group::CoinsMarkets);
            let mut input =
                ScheduleInput::for_plan(self.plan, self.symbols.len(), self.schedule.poll_interval);
            input.limit_per_minute = self.client.limiter().limit();
            input.mode = MarketsMode::PerSymbol;
            self.schedule = plan_schedule(input);
            results.retain(|(j, _)| !matches!(j, Job::Markets(_)));
            // OI exchange-lists already fetched this cycle (as funding weights) serve as OI.
            let have_oi: HashSet<usize> = results
                .iter()
                .filter_map(|(j, _)| match j {
                    Job::Oi(i) => Some(*i),
                    _ => None,
                })
                .collect();
            let jobs: Vec<Job> = (0..self.symbols.len())
                .flat_map(|i| [Job::Oi(i), Job::Liq(i), Job::Pairs(i)])
                .filter(|j| !matches!(j, Job::Oi(i) if have_oi.contains(i)))
                .filter(|j| !self.gated.contains(&j.group()))
                .collect();
            progress.planned(jobs.len());
            results.extend(self.run(jobs, Vec::new(), deadline, progress).await);
            return;
        }
        let mut scanned_deeper = false;
        loop {
            let mut found: HashSet<String> = HashSet::new();
            let (mut last_page, mut last_len, mut any_error) = (0u32, 0usize, false);
            let mut deepest_hit = 0u32;
            for (job, r) in results.iter() {
                match (job, r) {
                    (Job::Markets(_), Ok(Answer::Markets(page, rows))) => {
                        for row in rows {
                            let sym = row.symbol.trim().to_ascii_uppercase();
                            if self.symbols.iter().any(|s| s.coin == sym) {
                                deepest_hit = deepest_hit.max(*page);
                                found.insert(sym);
                            }
                        }
                        if *page > last_page {
                            (last_page, last_len) = (*page, rows.len());
                        }
                    }
                    (Job::Markets(_), Err(_)) => any_error = true,
                    _ => {}
                }
            }
            let missing: Vec<&str> = self
                .symbols
                .iter()
                .filter(|s| !found.contains(&s.coin))
                .map(|s| s.coin.as_str())
                .collect();
            if deepest_hit > 0 || !any_error {
                self.markets_pages = deepest_hit.max(1);
            }
            if missing.is_empty() {
                return;
            }
            let exhausted = any_error
                || last_len < MARKETS_PER_PAGE as usize
                || last_page >= MAX_MARKETS_PAGES
                || Instant::now() >= deadline;
            if exhausted || cycle < self.markets_rescan_at {
                if scanned_deeper {
                    // A coin that is not listed must not cost extra pages every cycle.
                    self.markets_rescan_at = cycle + u64::from(self.schedule.weights_every_cycles);
                    tracing::info!(missing = ?missing, pages = last_page, "coins not found in coins-markets");
                }
                return;
            }
            scanned_deeper = true;
            progress.planned(1);
            let more = self
                .run(
                    vec![Job::Markets(last_page + 1)],
                    Vec::new(),
                    deadline,
                    progress,
                )
                .await;
            results.extend(more);
        }
    }
}

impl Source for LiveSource {
    fn label(&self) -> SourceLabel {
        LiveSource::label(self)
    }

    async fn poll(&mut self, ctx: &PollContext) -> Result<Vec<Snapshot>, FatalSourceError> {
        self.poll_within(ctx).await.map_err(|e| match e {
            ApiError::Unauthorized { .. } => FatalSourceError(format!(
                "{e}. Check COINGLASS_API_KEY: it may be invalid or expired."
            )),
            other => FatalSourceError(other.to_string()),
        })
    }

    fn request_stats(&self) -> RequestStats {
        LiveSource::request_stats(self)
    }
}
#[cfg(test)]
mod tests;
