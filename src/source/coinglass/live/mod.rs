//! `LiveSource`: turns CoinGlass V4 answers into one [`Snapshot`] per watched symbol per cycle.
//!
//! Per symbol it keeps the last good value of every metric group, so that a failing endpoint
//! leaves a stale value (with the reason) instead of a hole, and metrics that the schedule does
//! not refresh this cycle (taker, price, long/short) are carried over unchanged (fresh, with
//! their original `observed_at`).

use super::budget::{
    interval_str, plan_schedule, MarketsMode, Plan, Schedule, ScheduleInput, MARKETS_PER_PAGE,
};
use super::client::{ApiError, ClientOptions, CoinGlassClient, HistoryQuery, LongShortKind};
use super::wire::{
    ms_to_time, CoinMarket, FundingCoin, LiquidationExchangeRow, LongShortBar, OiExchangeRow,
    PairMarket, TakerExchangeList,
};
use crate::model::{Liquidations, LongShort, OpenInterest, Snapshot, SourceKind};
use crate::source::{FatalSourceError, PollContext, RequestStats, Source, SourceLabel};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use secrecy::SecretString;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

mod answers;
mod state;

use answers::{
    fail, funding_of, is_all_row, liquidations_of, next_ls_due, open_interest_of, reference_pair,
    settle, taker_of,
};
use state::SymbolState;

/// Requests of one cycle in flight at once (all of them still wait for the limiter).
const CONCURRENCY: usize = 8;
/// coins-markets pages scanned at most when looking for a watched coin.
const MAX_MARKETS_PAGES: u32 = 5;
/// Rolling window of the liquidation and taker lists.
const RANGE_1H: &str = "1h";
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
    Markets(u32, Vec<CoinMarket>),
    Oi(usize, Vec<OiExchangeRow>),
    Liq(usize, Vec<LiquidationExchangeRow>),
    Taker(usize, TakerExchangeList),
    Pairs(usize, Vec<PairMarket>),
    LongShort(Side, usize, Vec<LongShortBar>),
}

/// The live CoinGlass source.
#[derive(Debug)]
pub struct LiveSource {
    client: CoinGlassClient,
    plan: Plan,
    schedule: Schedule,
    reference_exchange: String,
    symbols: Vec<SymbolState>,
    gated: HashSet<Group>,
    /// coins-markets pages fetched each cycle (learnt: the last page holding a watched coin).
    markets_pages: u32,
    /// First cycle at which a deeper coins-markets scan for a missing coin may run again.
    markets_rescan_at: u64,
    cycle: u64,
    last_cycle_requests: u32,
    last_cycle_errors: Vec<String>,
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
            schedule,
            reference_exchange: cfg.reference_exchange.trim().to_owned(),
            symbols: coins
                .into_iter()
                .map(|c| SymbolState::new(c, &quote))
                .collect(),
            gated: HashSet::new(),
            markets_pages: 1,
            markets_rescan_at: 0,
            cycle: 0,
            last_cycle_requests: 0,
            last_cycle_errors: Vec::new(),
        }
    }

    /// Builds the client and reads the key's plan from `/api/user/account/subscription`.
    ///
    /// The subscription is read even with `plan_override` set, to validate the key before the
    /// first cycle (the override then wins over the reported level). An invalid key or an
    /// expired subscription returns [`ApiError::Unauthorized`] (exit code 3). If the call fails
    /// for any other reason the override, or else the most conservative plan (Hobbyist), is
    /// assumed and logged.
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
        let fallback = cfg.plan_override.unwrap_or(Plan::Hobbyist);
        let plan = match client.subscription().await {
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
                    p
                }
                (None, Some(Ok(p))) => p,
                (None, Some(Err(e))) => {
                    tracing::warn!(error = %e, "subscription level not understood; assuming HOBBYIST");
                    Plan::Hobbyist
                }
                (None, None) => {
                    tracing::warn!("subscription has no level; assuming HOBBYIST");
                    Plan::Hobbyist
                }
            },
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, plan = %fallback, "could not read the subscription; assuming a plan");
                fallback
            }
        };
        client.limiter().set_plan_limit(plan.requests_per_minute());
        let mut input = ScheduleInput::for_plan(plan, coins.len(), cfg.poll_interval);
        input.limit_per_minute = client.limiter().limit();
        let schedule = plan_schedule(input);
        tracing::info!(plan = %plan, schedule = %schedule.explanation, "coinglass live source ready");
        Ok(LiveSource::new(client, plan, schedule, &cfg, coins))
    }

    pub fn plan(&self) -> Plan {
        self.plan
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

    /// Problems of the last cycle, one line each (endpoint and reason; never the key).
    pub fn last_cycle_errors(&self) -> &[String] {
        &self.last_cycle_errors
    }

    /// Runs one cycle and returns one snapshot per watched symbol. Only a refused key
    /// ([`ApiError::Unauthorized`]) is an `Err`; every other failure becomes a gap.
    pub async fn poll(&mut self, now: DateTime<Utc>) -> Result<Vec<Snapshot>, ApiError> {
        let before = self.client.requests_total();
        let cycle = self.cycle;
        self.cycle += 1;

        let jobs = self.plan_jobs(cycle, now);
        let mut results = self.run(jobs).await;
        if self.schedule.mode == MarketsMode::CoinsMarkets {
            self.complete_markets(cycle, &mut results).await;
        }
        self.last_cycle_requests = (self.client.requests_total() - before) as u32;
        if let Some(fatal) = results
            .iter()
            .find_map(|(_, r)| r.as_ref().err().filter(|e| e.is_fatal()))
        {
            return Err(fatal.clone());
        }
        self.last_cycle_errors = results
            .iter()
            .filter_map(|(_, r)| r.as_ref().err().map(|e| e.to_string()))
            .collect();
        self.apply(results, now);
        Ok(self.symbols.iter().map(|s| s.snapshot(now)).collect())
    }

    fn plan_jobs(&self, cycle: u64, now: DateTime<Utc>) -> Vec<Job> {
        let s = &self.schedule;
        let every = |n: u32| cycle % u64::from(n.max(1)) == 0;
        let open = |g: Group| !self.gated.contains(&g);
        let mut jobs = Vec::new();
        if open(Group::Funding) {
            jobs.push(Job::Funding);
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
            for side in Side::BOTH {
                let due = st.ls[side.index()].next_due.is_none_or(|t| now >= t);
                if open(side.group()) && due {
                    jobs.push(Job::LongShort(side, i));
                }
            }
        }
        jobs
    }

    /// Runs `jobs` concurrently (bounded); stops at a refused key rather than sending the rest.
    async fn run(&self, jobs: Vec<Job>) -> Vec<(Job, Result<Answer, ApiError>)> {
        let mut stream = futures::stream::iter(jobs)
            .map(|job| async move { (job, self.fetch(job).await) })
            .buffer_unordered(CONCURRENCY);
        let mut out = Vec::new();
        while let Some((job, result)) = stream.next().await {
            let fatal = result.as_ref().is_err_and(ApiError::is_fatal);
            out.push((job, result));
            if fatal {
                break;
            }
        }
        out
    }

    async fn fetch(&self, job: Job) -> Result<Answer, ApiError> {
        let c = &self.client;
        let coin = |i: usize| self.symbols[i].coin.as_str();
        match job {
            Job::Funding => c.funding_exchange_list().await.map(Answer::Funding),
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
                // Two bars: the newest may still be empty while it opens.
                let q = HistoryQuery::new(self.schedule.ls_interval_str()).limit(2);
                c.long_short_history(
                    side.kind(),
                    &self.reference_exchange,
                    &self.symbols[i].pair,
                    &q,
                )
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
        results: &mut Vec<(Job, Result<Answer, ApiError>)>,
    ) {
        let gated = results.iter().any(|(j, r)| {
            matches!(j, Job::Markets(_)) && matches!(r, Err(ApiError::PlanGated { .. }))
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
            let jobs = (0..self.symbols.len())
                .flat_map(|i| [Job::Oi(i), Job::Liq(i), Job::Pairs(i)])
                .filter(|j| !matches!(j, Job::Oi(i) if have_oi.contains(i)))
                .filter(|j| !self.gated.contains(&j.group()))
                .collect();
            results.extend(self.run(jobs).await);
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
            let exhausted =
                any_error || last_len < MARKETS_PER_PAGE as usize || last_page >= MAX_MARKETS_PAGES;
            if exhausted || cycle < self.markets_rescan_at {
                if scanned_deeper {
                    // A coin that is not listed must not cost extra pages every cycle.
                    self.markets_rescan_at = cycle + u64::from(self.schedule.weights_every_cycles);
                    tracing::info!(missing = ?missing, pages = last_page, "coins not found in coins-markets");
                }
                return;
            }
            scanned_deeper = true;
            let more = self.run(vec![Job::Markets(last_page + 1)]).await;
            results.extend(more);
        }
    }

    fn apply(&mut self, results: Vec<(Job, Result<Answer, ApiError>)>, now: DateTime<Utc>) {
        let per_symbol = self.schedule.mode == MarketsMode::PerSymbol;
        let ls_interval = chrono::Duration::from_std(self.schedule.ls_interval)
            .unwrap_or(chrono::Duration::hours(4));
        let poll = chrono::Duration::from_std(self.schedule.poll_interval)
            .unwrap_or(chrono::Duration::minutes(5));
        let ls_label = interval_str(self.schedule.ls_interval);

        let mut funding: Option<Result<Vec<FundingCoin>, ApiError>> = None;
        let mut markets: HashMap<String, CoinMarket> = HashMap::new();
        let mut markets_error: Option<ApiError> = None;
        let mut markets_fetched = false;

        for (job, result) in results {
            let answer = match result {
                Ok(a) => a,
                Err(e) => {
                    if matches!(e, ApiError::PlanGated { .. }) {
                        tracing::warn!(error = %e, "endpoint not in plan; not requesting it again this session");
                        self.gated.insert(job.group());
                    }
                    match job {
                        Job::Funding => funding = Some(Err(e)),
                        Job::Markets(_) => {
                            markets_fetched = true;
                            markets_error.get_or_insert(e);
                        }
                        Job::Oi(i) if per_symbol => fail(&mut self.symbols[i].oi, &e),
                        // Weights only (coins-markets mode): the last known weights stay.
                        Job::Oi(_) => {}
                        Job::Liq(i) => fail(&mut self.symbols[i].liq, &e),
                        Job::Taker(i) => fail(&mut self.symbols[i].taker, &e),
                        Job::Pairs(i) => fail(&mut self.symbols[i].price, &e),
                        Job::LongShort(side, i) => {
                            // Try again soon, but not every cycle: a series can fail for hours.
                            let retry = (ls_interval / 16).max(poll);
                            self.symbols[i].ls[side.index()].next_due = Some(now + retry);
                            fail(self.symbols[i].ls_field(side), &e);
                        }
                    }
                    continue;
                }
            };
            match answer {
                Answer::Funding(coins) => funding = Some(Ok(coins)),
                Answer::Markets(_, rows) => {
                    markets_fetched = true;
                    for row in rows {
                        markets.insert(row.symbol.trim().to_ascii_uppercase(), row);
                    }
                }
                Answer::Oi(i, rows) => {
                    let st = &mut self.symbols[i];
                    let weights: HashMap<String, f64> = rows
                        .iter()
                        .filter(|r| !is_all_row(&r.exchange))
                        .filter_map(|r| {
                            let oi = r.open_interest_usd.filter(|v| *v > 0.0)?;
                            Some((r.exchange.trim().to_ascii_lowercase(), oi))
                        })
                        .collect();
                    if !weights.is_empty() {
                        st.weights = weights;
                    }
                    if per_symbol {
                        settle(&mut st.oi, open_interest_of(&rows), now);
                    }
                }
                Answer::Liq(i, rows) => {
                    settle(&mut self.symbols[i].liq, liquidations_of(&rows), now)
                }
                Answer::Taker(i, t) => settle(&mut self.symbols[i].taker, taker_of(&t), now),
                Answer::Pairs(i, rows) => {
                    let st = &mut self.symbols[i];
                    let price =
                        reference_pair(&rows, &self.reference_exchange, &st.pair).and_then(|r| {
                            let p = r.current_price?;
                            Some(st.ring.observe(
                                now,
                                p,
                                r.price_change_percent_1h,
                                r.price_change_percent_24h,
                            ))
                        });
                    settle(&mut st.price, price, now);
                }
                Answer::LongShort(side, i, bars) => {
                    let exchange = self.reference_exchange.clone();
                    let st = &mut self.symbols[i];
                    let latest = bars
                        .iter()
                        .filter(|b| b.long_percent.is_some() || b.short_percent.is_some())
                        .filter_map(|b| Some((ms_to_time(b.time?)?, b)))
                        .max_by_key(|(t, _)| *t);
                    let state = &mut st.ls[side.index()];
                    let value = match latest {
                        Some((bar_time, bar)) => {
                            let advanced = state.last_bar.is_none_or(|t| bar_time > t);
                            state.last_bar = Some(bar_time);
                            state.next_due =
                                Some(next_ls_due(bar_time, ls_interval, now, advanced, poll));
                            Some(LongShort {
                                long_pct: bar.long_percent,
                                short_pct: bar.short_percent,
                                bar_time,
                                source: format!("{exchange} {} {ls_label}", st.pair),
                            })
                        }
                        None => {
                            // Nothing for this pair: ask again after one bar, not every cycle.
                            state.next_due = Some(now + ls_interval);
                            None
                        }
                    };
                    settle(st.ls_field(side), value, now);
                }
            }
        }

        if markets_fetched {
            for st in &mut self.symbols {
                match markets.get(&st.coin) {
                    Some(m) => {
                        settle(
                            &mut st.oi,
                            Some(OpenInterest {
                                oi_usd: m.open_interest_usd,
                                change_5m_pct: m.open_interest_change_percent_5m,
                                change_15m_pct: m.open_interest_change_percent_15m,
                                change_30m_pct: m.open_interest_change_percent_30m,
                                change_1h_pct: m.open_interest_change_percent_1h,
                                change_4h_pct: m.open_interest_change_percent_4h,
                                change_24h_pct: m.open_interest_change_percent_24h,
                            }),
                            now,
                        );
                        let liq = Liquidations {
                            long_1h_usd: m.long_liquidation_usd_1h,
                            short_1h_usd: m.short_liquidation_usd_1h,
                        };
                        settle(
                            &mut st.liq,
                            (liq != Liquidations::default()).then_some(liq),
                            now,
                        );
                        let price = m.current_price.map(|p| {
                            st.ring.observe(
                                now,
                                p,
                                m.price_change_percent_1h,
                                m.price_change_percent_24h,
                            )
                        });
                        settle(&mut st.price, price, now);
                    }
                    None => match &markets_error {
                        Some(e) => {
                            fail(&mut st.oi, e);
                            fail(&mut st.liq, e);
                            fail(&mut st.price, e);
                        }
                        None => {
                            settle(&mut st.oi, None, now);
                            settle(&mut st.liq, None, now);
                            settle(&mut st.price, None, now);
                        }
                    },
                }
            }
        }

        match funding {
            Some(Ok(coins)) => {
                for st in &mut self.symbols {
                    let row = coins
                        .iter()
                        .find(|c| c.symbol.trim().eq_ignore_ascii_case(&st.coin));
                    let value = row.and_then(|c| funding_of(c, &st.weights));
                    settle(&mut st.funding, value, now);
                }
            }
            Some(Err(e)) => {
                for st in &mut self.symbols {
                    fail(&mut st.funding, &e);
                }
            }
            None => {}
        }
    }
}

impl Source for LiveSource {
    fn label(&self) -> SourceLabel {
        SourceLabel {
            kind: SourceKind::Live,
            plan: Some(self.plan().to_string().to_uppercase()),
        }
    }

    async fn poll(&mut self, ctx: &PollContext) -> Result<Vec<Snapshot>, FatalSourceError> {
        LiveSource::poll(self, ctx.now).await.map_err(|e| match e {
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
