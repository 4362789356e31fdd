//! The request budget: the key's plan, a client-side rate limiter and the poll-schedule planner.
//!
//! The limiter keeps perpwatch below the key's per-minute limit so that HTTP 429 does not happen
//! in normal operation; the planner decides how often each metric is fetched so that a cycle fits
//! comfortably (≤ 80 %) inside that limit before the limiter ever has to make anyone wait.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

// ---------------------------------------------------------------------------------------------
// Plan
// ---------------------------------------------------------------------------------------------

/// A CoinGlass API plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Plan {
    Hobbyist,
    Startup,
    Standard,
    Professional,
    Enterprise,
}

/// A subscription level perpwatch does not know (the caller reports it; it never silently
/// becomes Hobbyist).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown CoinGlass plan {given:?}; expected one of: {}", plan_names())]
pub struct UnknownPlan {
    pub given: String,
}

/// `hobbyist, startup, standard, professional, enterprise`
fn plan_names() -> String {
    Plan::ALL
        .iter()
        .map(|p| p.as_str().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Plan {
    pub const ALL: [Plan; 5] = [
        Plan::Hobbyist,
        Plan::Startup,
        Plan::Standard,
        Plan::Professional,
        Plan::Enterprise,
    ];

    /// Requests per minute of the plan as CoinGlass's pricing lists it (the server's
    /// `API-KEY-MAX-LIMIT` wins when sent, which matters most for Enterprise keys, whose limit
    /// can be negotiated).
    pub fn requests_per_minute(self) -> u32 {
        match self {
            Plan::Hobbyist => 30,
            Plan::Startup => 80,
            Plan::Standard => 300,
            Plan::Professional => 1200,
            Plan::Enterprise => 6000,
        }
    }

    /// Shortest history interval the plan serves (`4h` on Hobbyist, `30m` on Startup, every
    /// interval from Standard up).
    pub fn min_interval(self) -> Duration {
        match self {
            Plan::Hobbyist => Duration::from_secs(4 * 3600),
            Plan::Startup => Duration::from_secs(30 * 60),
            Plan::Standard | Plan::Professional | Plan::Enterprise => Duration::from_secs(60),
        }
    }

    /// Whether `/api/futures/coins-markets` is in the plan.
    pub fn has_coins_markets(self) -> bool {
        matches!(self, Plan::Standard | Plan::Professional | Plan::Enterprise)
    }

    /// Upper-case name as CoinGlass spells it (`HOBBYIST`).
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Hobbyist => "HOBBYIST",
            Plan::Startup => "STARTUP",
            Plan::Standard => "STANDARD",
            Plan::Professional => "PROFESSIONAL",
            Plan::Enterprise => "ENTERPRISE",
        }
    }

    /// Parses a subscription `level` (`"HOBBYIST"`, `"hobbyist"`, `"Enterprise"` …). A level
    /// that is none of [`Plan::ALL`] (or empty) is an [`UnknownPlan`] for the caller to report.
    pub fn parse(s: &str) -> Result<Plan, UnknownPlan> {
        let t = s.trim();
        Plan::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| UnknownPlan {
                given: t.to_owned(),
            })
    }
}

impl FromStr for Plan {
    type Err = UnknownPlan;
    fn from_str(s: &str) -> Result<Plan, UnknownPlan> {
        Plan::parse(s)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// Limiter
// ---------------------------------------------------------------------------------------------

/// Requests kept in reserve below the key's limit: about 10 %, at least 2.
pub fn headroom(limit: u32) -> u32 {
    limit.div_ceil(10).max(2)
}

/// Requests the limiter lets through per window for a key limit (never below 1).
pub fn allowed_per_window(limit: u32) -> u32 {
    limit.saturating_sub(headroom(limit)).max(1)
}

/// Safety margin added to the rate window: a request counts for `window + margin`, so a burst
/// right at the edge of perpwatch's window is not still inside the server's (latency and clock
/// skew between the two; a burst at +60.05 s drew four 429s on Hobbyist). 1/20 of the window:
/// 3 s for the API's 60 s.
pub fn window_margin(window: Duration) -> Duration {
    window / 20
}

/// A `Retry-After` longer than this many windows is clamped (and said in the log).
const MAX_RETRY_AFTER_WINDOWS: u32 = 5;

/// What the answer to a rate-limited (429) request said about the key's window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitHint {
    /// `Retry-After`, when the server sent one (CoinGlass does not document it).
    pub retry_after: Option<Duration>,
    /// `API-KEY-MAX-LIMIT` of that answer.
    pub max_limit: Option<u32>,
    /// `API-KEY-USE-LIMIT` of that answer.
    pub used: Option<u32>,
}

impl RateLimitHint {
    /// The answer's own headers say the key's window still has room.
    fn window_has_room(&self) -> bool {
        matches!((self.max_limit, self.used), (Some(max), Some(used)) if used < max)
    }
}

/// Client-side sliding-window limiter shared by every request of one key.
///
/// - A request is counted when it is let through and stays counted for the window plus
///   [`window_margin`]; a request that never left (refused connection, failed DNS lookup,
///   connect timeout) is refunded through its [`Permit`].
/// - A 429 means the key's window is full (another process may share the key): every request
///   of the client is paused until the window clears, and then a single *probe* request goes
///   first; the others follow once the probe is answered with anything but another 429.
///
/// Time is `tokio::time::Instant`, so tests can run it on tokio's paused clock. Waiting is
/// cancellation-safe: a dropped [`Limiter::acquire`] future has taken nothing, and a dropped
/// [`Permit`] gives up the probe role it held (its request stays counted, as it may have
/// reached the server, and expires with the window like any other).
#[derive(Debug)]
pub struct Limiter {
    window: Duration,
    /// `window` plus [`window_margin`]: how long a sent request counts.
    span: Duration,
    state: Mutex<LimiterState>,
    /// Wakes waiters when a probe settles or a pause changes.
    wake: Notify,
}

#[derive(Debug)]
struct LimiterState {
    limit: u32,
    /// Send times of requests inside the window, oldest first (ours, plus placeholders for
    /// requests another client made on the same key, learnt from `API-KEY-USE-LIMIT`).
    sent: VecDeque<Instant>,
    /// No request is let through before this (after a 429).
    paused_until: Option<Instant>,
    /// Set by a 429; cleared when a request let through after it is answered.
    throttled: bool,
    /// While throttled: the one request in flight that tests whether the window has cleared.
    probe_in_flight: bool,
    server_used: Option<u32>,
    /// Whether `limit` came from an `API-KEY-MAX-LIMIT` header (which beats the plan's figure).
    limit_from_server: bool,
}

/// One counted request slot from [`Limiter::acquire`]. Settle it with what became of the
/// request; dropping it unsettled keeps the request counted.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a Limiter,
    sent_at: Instant,
    probe: bool,
    settled: bool,
}

impl Permit<'_> {
    /// Whether this request tests a paused key's window for everyone else.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// The request never left (connection refused, name not resolved, connect timeout): its
    /// slot is given back, it spends no budget.
    pub fn not_sent(mut self) {
        self.settled = true;
        self.limiter.refund(self.sent_at, self.probe);
    }

    /// Sent, but no answer came back (timeout, reset): it stays counted and says nothing about
    /// the key's window.
    pub fn no_answer(mut self) {
        self.settled = true;
        if self.probe {
            self.limiter.release_probe();
        }
    }

    /// The server answered with anything but a rate limit: the window had room.
    pub fn answered(mut self) {
        self.settled = true;
        if self.probe {
            self.limiter.clear_throttle();
        }
    }

    /// The server answered 429. Pauses every request of the client until the key's window
    /// clears and returns the pause; `None` when the answer's own headers say the key's window
    /// still has room (then only this request backs off).
    pub fn rate_limited(mut self, hint: RateLimitHint) -> Option<Duration> {
        self.settled = true;
        self.limiter.on_429(hint, self.probe)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.settled && self.probe {
            self.limiter.release_probe();
        }
    }
}

impl Limiter {
    /// A limiter for `limit` requests per `window` (60 s in production).
    pub fn new(limit: u32, window: Duration) -> Limiter {
        Limiter {
            window,
            span: window + window_margin(window),
            state: Mutex::new(LimiterState {
                limit: limit.max(1),
                sent: VecDeque::new(),
                paused_until: None,
                throttled: false,
                probe_in_flight: false,
                server_used: None,
                limit_from_server: false,
            }),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LimiterState> {
        // A poisoned lock only means another task panicked mid-update; the counts stay usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn prune(&self, st: &mut LimiterState, now: Instant) {
        while st
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.span)
        {
            st.sent.pop_front();
        }
    }

    /// Waits until a request may be sent, counts it as sent now and returns its [`Permit`].
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            // Registered before the state is read, so a wake-up in between is not lost.
            notified.as_mut().enable();
            let wake_at = {
                let mut st = self.lock();
                let now = Instant::now();
                self.prune(&mut st, now);
                match self.try_take(&mut st, now) {
                    Ok(probe) => {
                        return Permit {
                            limiter: self,
                            sent_at: now,
                            probe,
                            settled: false,
                        }
                    }
                    Err(wake_at) => wake_at,
                }
            };
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(wake_at) => {}
            }
        }
    }

    /// Takes a slot now (`Ok(is_probe)`) or says when to look again.
    fn try_take(&self, st: &mut LimiterState, now: Instant) -> Result<bool, Instant> {
        if let Some(until) = st.paused_until {
            if until > now {
                return Err(until);
            }
            st.paused_until = None;
        }
        if st.throttled && st.probe_in_flight {
            // Woken when the probe settles; the timer is only a safety net.
            return Err(now + self.span);
        }
        if (st.sent.len() as u64) >= u64::from(allowed_per_window(st.limit)) {
            return Err(st.sent.front().map_or(now + self.span, |t| *t + self.span));
        }
        st.sent.push_back(now);
        st.probe_in_flight = st.throttled;
        Ok(st.throttled)
    }

    fn refund(&self, sent_at: Instant, probe: bool) {
        let mut st = self.lock();
        if let Some(i) = st.sent.iter().rposition(|t| *t == sent_at) {
            st.sent.remove(i);
        }
        if probe {
            st.probe_in_flight = false;
        }
        drop(st);
        self.wake.notify_waiters();
    }

    fn release_probe(&self) {
        self.lock().probe_in_flight = false;
        self.wake.notify_waiters();
    }

    fn clear_throttle(&self) {
        let mut st = self.lock();
        st.throttled = false;
        st.probe_in_flight = false;
        drop(st);
        self.wake.notify_waiters();
    }

    /// When the window running now clears: the oldest request still counted leaves it (the
    /// rest of the current window), at least one margin from now.
    fn window_clears(&self, st: &LimiterState, now: Instant) -> Instant {
        let rest = st.sent.front().map_or(now + self.span, |t| *t + self.span);
        rest.max(now + window_margin(self.window))
    }

    fn on_429(&self, hint: RateLimitHint, probe: bool) -> Option<Duration> {
        let mut st = self.lock();
        let now = Instant::now();
        self.prune(&mut st, now);
        if probe {
            st.probe_in_flight = false;
        }
        if hint.retry_after.is_none() && hint.window_has_room() {
            // The key's own counter has room: this 429 is not about the key's budget (one
            // endpoint's limit, a proxy…). Holding every other request back would not help.
            if probe {
                st.throttled = false;
            }
            drop(st);
            self.wake.notify_waiters();
            return None;
        }
        let until = match hint.retry_after {
            Some(ra) => {
                let cap = self.window * MAX_RETRY_AFTER_WINDOWS;
                if ra > cap {
                    tracing::warn!(
                        retry_after_s = ra.as_secs(),
                        cap_s = cap.as_secs(),
                        "Retry-After is unusually long; pausing for the cap instead"
                    );
                }
                now + ra.min(cap)
            }
            None => self.window_clears(&st, now),
        };
        let until = st.paused_until.map_or(until, |p| p.max(until));
        let fresh = !st.throttled || st.paused_until.is_none_or(|p| p < until);
        st.paused_until = Some(until);
        st.throttled = true;
        drop(st);
        self.wake.notify_waiters();
        let pause = until - now;
        if fresh {
            tracing::warn!(
                pause_ms = pause.as_millis() as u64,
                "CoinGlass rate limit reached (429): every request waits for the key's window to clear"
            );
        }
        Some(pause)
    }

    /// Feeds the `API-KEY-MAX-LIMIT` / `API-KEY-USE-LIMIT` headers of a response.
    pub fn observe_headers(&self, max_limit: Option<u32>, used: Option<u32>) {
        let mut st = self.lock();
        let now = Instant::now();
        self.prune(&mut st, now);
        if let Some(max) = max_limit.filter(|m| *m > 0) {
            st.limit = max;
            st.limit_from_server = true;
        }
        if let Some(used) = used {
            st.server_used = Some(used);
            // The server saw more requests this minute than we sent: another client shares the
            // key. Count the difference as sent now so that it expires a full window later.
            let local = st.sent.len() as u32;
            for _ in local..used {
                st.sent.push_back(now);
            }
        }
    }

    /// After a 429 with nothing else known: pause every request until the window clears.
    pub fn on_rate_limited(&self) {
        self.on_429(RateLimitHint::default(), false);
    }

    /// Sets the key's limit from its plan, unless the server already reported the real one.
    pub fn set_plan_limit(&self, limit: u32) {
        let mut st = self.lock();
        if !st.limit_from_server {
            st.limit = limit.max(1);
        }
    }

    /// The key's per-minute limit as currently known.
    pub fn limit(&self) -> u32 {
        self.lock().limit
    }

    /// The limiter's window without its margin (60 s in production).
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Requests counted in the current window (ours and, when reported, other clients').
    pub fn used_this_minute(&self) -> u32 {
        let mut st = self.lock();
        self.prune(&mut st, Instant::now());
        st.sent.len() as u32
    }

    /// The last `API-KEY-USE-LIMIT` the server reported.
    pub fn server_used(&self) -> Option<u32> {
        self.lock().server_used
    }

    /// How long every request still waits after a 429, if it does.
    pub fn pause_remaining(&self) -> Option<Duration> {
        let st = self.lock();
        let now = Instant::now();
        st.paused_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    /// Whether a 429 is still unresolved (no request let through since has been answered).
    pub fn is_throttled(&self) -> bool {
        self.lock().throttled
    }
}

// ---------------------------------------------------------------------------------------------
// Schedule planner
// ---------------------------------------------------------------------------------------------

/// Share of the per-minute limit a schedule may plan for.
pub(crate) const BUDGET_SHARE: f64 = 0.8;
/// Default: taker flow every 2 cycles, price every 5 cycles.
pub(crate) const DEFAULT_TAKER_EVERY: u32 = 2;
pub(crate) const DEFAULT_PRICE_EVERY: u32 = 5;
/// Taker is a rolling 1-hour window: refreshing it more often than every ~3 min (5 % of the
/// window) buys almost nothing, and it should never be older than its window.
const TAKER_MIN_PERIOD: Duration = Duration::from_secs(180);
const TAKER_MAX_PERIOD: Duration = Duration::from_secs(3600);
const TAKER_MAX_EVERY: u32 = 10;
/// Price is never older than ~30 min (it also feeds the self-computed 1h change).
const PRICE_MAX_PERIOD: Duration = Duration::from_secs(30 * 60);
/// On coins-markets plans, per-exchange OI (the funding weights) is fetched this often: the
/// exchanges' shares of OI move slowly.
const WEIGHTS_PERIOD: Duration = Duration::from_secs(30 * 60);
/// Coins per coins-markets page.
pub(crate) const MARKETS_PER_PAGE: u32 = 100;
/// Poll-interval stretching step and ceiling.
const STRETCH_STEP: Duration = Duration::from_secs(15);
const MAX_POLL: Duration = Duration::from_secs(24 * 3600);

/// How the per-symbol OI / liquidation / price figures are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketsMode {
    /// One OI and one liquidation exchange-list per symbol per cycle, pairs-markets for price.
    PerSymbol,
    /// `coins-markets` pages carry OI, liquidations and price for every coin (Standard+).
    CoinsMarkets,
}

/// What the planner needs to know.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduleInput {
    pub plan: Plan,
    /// Requests per minute of the key (the plan's, or `API-KEY-MAX-LIMIT`).
    pub limit_per_minute: u32,
    pub symbols: usize,
    pub poll_interval: Duration,
    pub mode: MarketsMode,
}

impl ScheduleInput {
    /// The usual input: limit and mode follow the plan.
    pub fn for_plan(plan: Plan, symbols: usize, poll_interval: Duration) -> ScheduleInput {
        ScheduleInput {
            plan,
            limit_per_minute: plan.requests_per_minute(),
            symbols,
            poll_interval,
            mode: if plan.has_coins_markets() {
                MarketsMode::CoinsMarkets
            } else {
                MarketsMode::PerSymbol
            },
        }
    }
}

/// How often each metric is fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub poll_interval: Duration,
    pub mode: MarketsMode,
    /// Taker exchange-list every N cycles.
    pub taker_every_cycles: u32,
    /// pairs-markets (price) every N cycles (PerSymbol mode; coins-markets carries price).
    pub price_every_cycles: u32,
    /// Per-exchange OI for funding weights every N cycles (CoinsMarkets mode; PerSymbol mode
    /// reads it from the OI exchange-list every cycle).
    pub weights_every_cycles: u32,
    /// Bar interval of the long/short series; fetched once per new bar.
    pub ls_interval: Duration,
    pub est_requests_per_minute: f64,
    pub est_requests_per_symbol_per_cycle: f64,
    /// Set when the requested poll interval had to be lengthened to fit the limit.
    pub stretched_from: Option<Duration>,
    pub explanation: String,
}

impl Schedule {
    /// The L/S interval in the API's spelling (`4h`, `30m`, `1h`).
    pub fn ls_interval_str(&self) -> String {
        interval_str(self.ls_interval)
    }
}

/// A duration as a V4 interval string (`1m`, `30m`, `4h`, `1d`).
pub(crate) fn interval_str(d: Duration) -> String {
    let s = d.as_secs();
    if s % 86_400 == 0 && s >= 86_400 {
        format!("{}d", s / 86_400)
    } else if s % 3600 == 0 && s >= 3600 {
        format!("{}h", s / 3600)
    } else {
        format!("{}m", (s / 60).max(1))
    }
}

fn cycles_within(period: Duration, poll: Duration) -> u32 {
    let poll_s = poll.as_secs_f64().max(1.0);
    ((period.as_secs_f64() / poll_s).floor() as u32).max(1)
}

fn cycles_at_least(period: Duration, poll: Duration) -> u32 {
    let poll_s = poll.as_secs_f64().max(1.0);
    ((period.as_secs_f64() / poll_s).ceil() as u32).max(1)
}

/// Cadence caps for one poll interval.
struct Caps {
    taker_default: u32,
    taker_max: u32,
    price_max: u32,
}

fn caps(poll: Duration) -> Caps {
    let taker_max = cycles_within(TAKER_MAX_PERIOD, poll).min(TAKER_MAX_EVERY);
    Caps {
        taker_default: DEFAULT_TAKER_EVERY
            .max(cycles_at_least(TAKER_MIN_PERIOD, poll))
            .min(taker_max),
        taker_max,
        price_max: cycles_within(PRICE_MAX_PERIOD, poll),
    }
}

/// Requests one cycle costs on average, per the cost model in the module docs of
/// [`plan_schedule`].
fn cost_per_cycle(
    input: &ScheduleInput,
    poll: Duration,
    taker_every: u32,
    price_every: u32,
    weights_every: u32,
    ls_interval: Duration,
) -> f64 {
    let n = input.symbols as f64;
    // Two L/S series per symbol, one request each per new bar (at most one bar per cycle).
    let ls = 2.0 * (poll.as_secs_f64() / ls_interval.as_secs_f64()).min(1.0);
    let taker = 1.0 / f64::from(taker_every);
    let per_symbol = match input.mode {
        MarketsMode::PerSymbol => 2.0 + taker + 1.0 / f64::from(price_every) + ls,
        MarketsMode::CoinsMarkets => taker + 1.0 / f64::from(weights_every) + ls,
    };
    let shared = match input.mode {
        MarketsMode::PerSymbol => 1.0,
        // Funding list + one coins-markets page (watched coins are assumed to be in the top
        // MARKETS_PER_PAGE; LiveSource fetches further pages only when a symbol is missing).
        MarketsMode::CoinsMarkets => 2.0,
    };
    shared + n * per_symbol
}

/// Plans the cadences for `input`.
///
/// Cost model per cycle: funding exchange-list 1 (all coins); per symbol OI exchange-list 1 +
/// liquidation exchange-list 1 + taker 1/taker_every + pairs-markets 1/price_every + 2 L/S
/// requests per new bar. With coins-markets (Standard+) one page replaces the per-symbol OI,
/// liquidation and price calls, and per-exchange OI (funding weights) is read every ~30 min.
///
/// The plan targets ≤ 80 % of the limit: first taker, then price are fetched less often (up to
/// their caps), and only then is the poll interval lengthened.
pub fn plan_schedule(input: ScheduleInput) -> Schedule {
    let ls_interval = input.plan.min_interval().max(Duration::from_secs(3600));
    let budget = BUDGET_SHARE * f64::from(input.limit_per_minute.max(1));
    let requested = input.poll_interval.max(Duration::from_secs(1));
    let per_minute = |poll: Duration, cost: f64| cost * 60.0 / poll.as_secs_f64();

    let mut poll = requested;
    let (taker_every, price_every, weights_every, cost) = loop {
        let c = caps(poll);
        let weights_every = cycles_at_least(WEIGHTS_PERIOD, poll);
        let mut taker = c.taker_default;
        let mut price = DEFAULT_PRICE_EVERY.min(c.price_max);
        let cost_of = |t, p| cost_per_cycle(&input, poll, t, p, weights_every, ls_interval);
        while per_minute(poll, cost_of(taker, price)) > budget && taker < c.taker_max {
            taker += 1;
        }
        if input.mode == MarketsMode::PerSymbol {
            while per_minute(poll, cost_of(taker, price)) > budget && price < c.price_max {
                price += 1;
            }
        }
        let cost = cost_of(taker, price);
        if per_minute(poll, cost) <= budget || poll >= MAX_POLL {
            break (taker, price, weights_every, cost);
        }
        poll = (poll + STRETCH_STEP).min(MAX_POLL);
    };

    let est_per_minute = per_minute(poll, cost);
    let n = input.symbols.max(1) as f64;
    let per_symbol = cost / n;
    let stretched_from = (poll != requested).then_some(requested);

    let mut explanation = format!(
        "{} symbols × {:.2} requests per {} s cycle = {:.1}/min, limit {}/min (plan {}, target ≤ {:.0}/min); \
         taker every {} cycles, ",
        input.symbols,
        per_symbol,
        poll.as_secs(),
        est_per_minute,
        input.limit_per_minute,
        input.plan,
        budget,
        taker_every,
    );
    match input.mode {
        MarketsMode::PerSymbol => {
            explanation.push_str(&format!("price every {price_every} cycles, "))
        }
        MarketsMode::CoinsMarkets => explanation.push_str(&format!(
            "OI, liquidations and price from coins-markets ({MARKETS_PER_PAGE} coins per page), \
             funding weights every {weights_every} cycles, "
        )),
    }
    explanation.push_str(&format!(
        "long/short on {} bars (once per new bar).",
        interval_str(ls_interval)
    ));
    if let Some(from) = stretched_from {
        explanation.push_str(&format!(
            " The requested {} s interval would need {:.1}/min even at the slowest taker and price \
             cadence, so the poll interval was stretched to {} s.",
            from.as_secs(),
            per_minute(
                from,
                cost_per_cycle(
                    &input,
                    from,
                    caps(from).taker_max,
                    caps(from).price_max,
                    cycles_at_least(WEIGHTS_PERIOD, from),
                    ls_interval
                )
            ),
            poll.as_secs()
        ));
    }

    Schedule {
        poll_interval: poll,
        mode: input.mode,
        taker_every_cycles: taker_every,
        price_every_cycles: price_every,
        weights_every_cycles: weights_every,
        ls_interval,
        est_requests_per_minute: est_per_minute,
        est_requests_per_symbol_per_cycle: per_symbol,
        stretched_from,
        explanation,
    }
}

#[cfg(test)]
mod tests;
