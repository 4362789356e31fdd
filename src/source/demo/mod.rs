//! Deterministic demo market, used with `--demo` or when there is no API key.
//!
//! One scripted loop — calm → euphoria → long cascade → short squeeze → recovery — lasts ten
//! minutes and twenty seconds of wall time at speed 1.0 and then repeats. The script is a table of
//! keyframes (BTC-shaped levels and readings) joined by monotone cubic curves, so consecutive
//! polls never jump between unrelated states. Each symbol plays the same script phase-shifted,
//! scaled to its own price, open interest and volatility, with a little smooth per-symbol noise
//! from a seeded hash of (symbol, channel, step): no OS randomness, so the same (symbols, speed,
//! elapsed, now) always gives the same snapshots.
//!
//! The first loop plays the script as written. After it, the episodes (euphoria, long cascade,
//! short build-up, squeeze) take turns: in an episode's turn it plays up to 30 % further from
//! calm than scripted ([`EPISODE_AMP`]), growing and fading over a quarter of a round of
//! [`EPISODE_ROUND_LOOPS`] loops, while the others play as written. A market whose big moves
//! differ in size over days, as a real one's do: thresholds drawn from its own history
//! (relative mode) find each kind of event among its extremes in turn. The loop is not a whole
//! number of the default polls (60 s ÷ speed), so successive loops are sampled at different
//! moments.
//!
//! Time is compressed: [`SIM_HOUR_S`] simulated seconds stand for one market hour, and every
//! "change over a window" is read off the same price/OI curves with the matching lag, so a
//! snapshot's 1h change agrees with how its level actually moved.

use super::{FatalSourceError, PollContext, RequestStats, Source, SourceLabel};
use crate::model::{
    funding_to_8h, oi_weighted_funding_8h, ExchangeFunding, Field, Funding, Liquidations,
    LongShort, Margin, OpenInterest, Price, Snapshot, SourceKind, TakerFlow,
};
use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};

/// One loop of the script, in simulated seconds (= wall seconds at speed 1.0). Not a multiple of
/// the default 60 s poll: each loop is sampled 20 s later in its script than the one before.
const LOOP_S: f64 = 620.0;
/// Simulated seconds per market hour: a 60 s poll at speed 1.0 covers two market hours.
pub const SIM_HOUR_S: f64 = 30.0;
/// "24h" cannot be a literal 24 market hours (longer than the loop, which would compare a point
/// with itself): it compares with half a loop ago, the furthest distinct point.
const LAG_24H_S: f64 = LOOP_S / 2.0;
/// BTC's aggregated open interest: liquidation dollars in the script are BTC-sized and scale by
/// each symbol's OI relative to this.
const BTC_OI_USD: f64 = 60e9;

/// A point of the script (BTC-shaped): simulated time and one value per channel.
#[derive(Debug, Clone, Copy)]
struct Key {
    t: f64,
    v: [f64; CHANNELS],
}

/// Script channels. `PRICE` and `OI` are levels relative to the symbol's base; liquidations are
/// $M per hour at BTC size; the rest are the readings themselves.
const PRICE: usize = 0;
const OI: usize = 1;
const FUNDING: usize = 2;
const LIQ_LONG: usize = 3;
const LIQ_SHORT: usize = 4;
const RETAIL_LONG: usize = 5;
const TOP_LONG: usize = 6;
const TAKER_BUY: usize = 7;
const CHANNELS: usize = 8;

const fn key(t: f64, v: [f64; CHANNELS]) -> Key {
    Key { t, v }
}

/// The script. Columns: price level, OI level, funding %/8h, long liq $M, short liq $M,
/// retail long %, top-trader long %, taker buy %. The last key repeats the first so the loop
/// closes without a seam. Comments name what fires for BTC with default static thresholds; the
/// big moves (the OI surge and the two flushes, the two cascades, the top-vs-retail gaps of
/// distribution and accumulation) are about the same size, so that which one is the largest
/// depends on the loop's amplified episode.
#[rustfmt::skip]
const SCRIPT: [Key; 22] = [
    // calm: nothing fires
    key(  0.0, [1.000, 1.000,  0.010,  4.0,  3.0, 51.0, 51.0, 50.0]),
    key( 50.0, [1.001, 1.001,  0.011,  4.0,  3.0, 50.0, 51.0, 51.0]),
    key(110.0, [1.002, 1.006,  0.025,  3.0,  4.0, 52.0, 53.0, 54.0]),
    // euphoria ramp (130-160 s): flow_new_longs, funding_elevated, oi_moving
    key(150.0, [1.020, 1.030,  0.075,  4.0,  9.0, 59.0, 57.0, 62.0]),
    // euphoria peak (170-200 s): funding, the OI rise and retail longs peak together:
    // funding_extreme_long, oi_surge, retail_extreme_long, taker_buy_pressure, setup_classic_top
    key(185.0, [1.040, 1.110,  0.130,  8.0, 16.0, 69.0, 62.0, 70.0]),
    key(200.0, [1.045, 1.118,  0.122,  7.0, 14.0, 68.0, 59.0, 64.0]),
    // distribution (210-280 s): top traders turn short on flat OI: smart_money_divergence,
    // setup_distribution
    key(225.0, [1.048, 1.124,  0.108,  5.0,  8.0, 66.0, 49.0, 50.0]),
    key(260.0, [1.045, 1.126,  0.105,  6.0,  6.0, 65.5, 49.0, 46.0]),
    // long cascade (280-330 s): long_liquidation_cascade, oi_flush, taker_sell_pressure,
    // flow_long_capitulation; funding lags the crash, so its start is setup_deleveraging
    key(275.0, [1.036, 1.118,  0.112, 25.0,  5.0, 63.0, 49.0, 38.0]),
    key(292.0, [1.005, 1.062,  0.118, 80.0,  6.0, 60.0, 50.0, 27.0]),
    key(310.0, [0.993, 1.030,  0.104, 85.0,  6.0, 58.0, 50.0, 28.0]),
    // aftermath (330-350 s): liquidations_elevated
    key(330.0, [0.990, 1.012,  0.062, 42.0,  5.0, 53.0, 53.0, 38.0]),
    key(350.0, [0.989, 1.003,  0.036, 20.0,  5.0, 47.0, 56.0, 45.0]),
    // bottom (370-400 s): retail turns short while top traders buy: setup_accumulation
    key(375.0, [0.988, 1.000,  0.010,  8.0,  6.0, 42.0, 55.0, 47.0]),
    // short build-up (390-440 s): funding, retail shorts and the OI rise peak together:
    // funding_extreme_short, retail_heavy_short, flow_new_shorts, setup_short_squeeze
    key(395.0, [0.980, 1.005, -0.030,  6.0,  8.0, 38.0, 56.5, 42.0]),
    key(425.0, [0.968, 1.062, -0.078,  5.0,  9.0, 35.0, 45.0, 42.0]),
    key(440.0, [0.970, 1.065, -0.072,  8.0, 20.0, 36.0, 46.0, 52.0]),
    // squeeze (450-480 s): short_liquidation_cascade, oi_flush, taker_buy_pressure,
    // flow_short_covering
    key(460.0, [1.005, 1.010, -0.030, 10.0, 83.0, 45.0, 52.0, 70.0]),
    key(475.0, [1.014, 0.994, -0.005,  8.0, 62.0, 49.0, 52.0, 68.0]),
    // recovery: back to calm (quiet from 520 s)
    key(500.0, [1.015, 0.992,  0.010,  6.0, 25.0, 50.0, 51.0, 58.0]),
    key(540.0, [1.007, 0.996,  0.012,  4.0,  8.0, 51.0, 50.0, 52.0]),
    key(LOOP_S, [1.000, 1.000,  0.010,  4.0,  3.0, 51.0, 51.0, 50.0]),
];

/// Regime names by start time (simulated seconds into the loop).
const REGIMES: [(f64, &str); 5] = [
    (0.0, "calm"),
    (120.0, "euphoria"),
    (270.0, "long cascade"),
    (380.0, "short squeeze"),
    (510.0, "recovery"),
];

/// How much further from calm an episode plays at the height of its turn (a fraction of its
/// scripted distance).
pub const EPISODE_AMP: f64 = 0.3;
/// Loops per round of turns: the episodes take turns, each growing and fading over a quarter
/// of this (72 loops, half a day at speed 1), longer than a 30-day baseline (35 loops): so
/// every kind of event is, in its turn, the largest its baseline has seen.
pub const EPISODE_ROUND_LOOPS: f64 = 288.0;
/// The noise channel each symbol's place in the round is drawn from.
const AMP_CH: u64 = 200;
/// How much of the amplification each channel takes: positioning (account ratios, taker share)
/// moves half as much further as prices, open interest, funding and liquidations.
const EPISODE_GAIN: [f64; CHANNELS] = [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5];

/// The episodes that take turns, in turn order: the span of loop time each covers. Events that
/// compete for the same extreme (the OI surge and the two flushes; the long and the short
/// cascade; distribution's and accumulation's top-vs-retail gaps) are in different episodes.
const EPISODES: [(f64, f64); 4] = [
    (105.0, 270.0), // euphoria and distribution
    (270.0, 360.0), // long cascade and aftermath
    (360.0, 440.0), // bottom and short build-up
    (440.0, 530.0), // squeeze
];
/// How long an episode's amplification takes to ramp in and out (simulated seconds).
const EPISODE_RAMP_S: f64 = 12.0;

/// How much of its amplification episode `e` has at loop time `t` (0 outside its span, 1
/// inside, a raised-cosine ramp between): smooth, so polls never jump.
fn episode_weight(e: usize, t: f64) -> f64 {
    let (a, b) = EPISODES[e];
    let ramp = |x: f64| 0.5 - 0.5 * (std::f64::consts::PI * x.clamp(0.0, 1.0)).cos();
    ramp((t - a) / EPISODE_RAMP_S).min(ramp((b - t) / EPISODE_RAMP_S))
}

/// The script at simulated time `s` (from the symbol's start; negative before it): the
/// keyframes of its loop time, the episode whose turn it is played further from calm as its
/// turn grows and fades (the first loop, and anything before it, as written). `seed` sets the
/// symbol's place in the round.
fn script_at(seed: u64, s: f64) -> [f64; CHANNELS] {
    let t = s.rem_euclid(LOOP_S);
    let v = keyframes_at(t);
    let k = (s / LOOP_S).floor();
    if k < 1.0 {
        return v;
    }
    let Some((e, w)) = (0..EPISODES.len())
        .map(|e| (e, episode_weight(e, t)))
        .find(|(_, w)| *w > 0.0)
    else {
        return v;
    };
    // Whose turn it is in this loop, and how far into it.
    let round = (k / EPISODE_ROUND_LOOPS + unit(seed, AMP_CH, 0)).fract() * EPISODES.len() as f64;
    if round.floor() as usize != e {
        return v;
    }
    let amp = EPISODE_AMP * (std::f64::consts::PI * round.fract()).sin();
    let (a, b) = EPISODES[e];
    let calm = SCRIPT[0].v;
    let (start, end) = (keyframes_at(a), keyframes_at(b));
    let along = (t - a) / (b - a);
    std::array::from_fn(|c| {
        let m = 1.0 + amp * w * EPISODE_GAIN[c];
        if c == PRICE || c == OI {
            // A level: its moves away from the straight path (in ratio terms) between where
            // the episode begins and ends, raised to the power m; the ends stay put.
            let line = start[c] * (end[c] / start[c]).powf(along);
            v[c] * (v[c] / line).powf(m - 1.0)
        } else {
            calm[c] + m * (v[c] - calm[c])
        }
    })
}

/// The keyframes at loop time `t`: monotone cubic (PCHIP) interpolation between keys, per
/// channel. C¹ and without overshoot — every value stays between the keys around it, and a key
/// where a channel turns is a smooth turning point — while slopes carry through monotone
/// stretches instead of stalling at every key.
fn keyframes_at(t: f64) -> [f64; CHANNELS] {
    let t = t.rem_euclid(LOOP_S);
    let i = SCRIPT
        .windows(2)
        .position(|w| t < w[1].t)
        .unwrap_or(SCRIPT.len() - 2);
    let (a, b) = (SCRIPT[i], SCRIPT[i + 1]);
    let h = b.t - a.t;
    let s = ((t - a.t) / h).clamp(0.0, 1.0);
    let (s2, s3) = (s * s, s * s * s);
    let (h00, h10, h01, h11) = (
        2.0 * s3 - 3.0 * s2 + 1.0,
        s3 - 2.0 * s2 + s,
        3.0 * s2 - 2.0 * s3,
        s3 - s2,
    );
    let (ma, mb) = (tangents(i), tangents(i + 1));
    std::array::from_fn(|c| h00 * a.v[c] + h10 * h * ma[c] + h01 * b.v[c] + h11 * h * mb[c])
}

/// PCHIP tangents (Fritsch–Butland) at key `j`, wrapping around the loop: zero where a channel
/// turns, a weighted harmonic mean of the neighbouring slopes where it keeps going.
fn tangents(j: usize) -> [f64; CHANNELS] {
    let last = SCRIPT.len() - 1; // the closing key, a copy of key 0 at LOOP_S
    let j = if j == last { 0 } else { j };
    let (prev, prev_t) = if j == 0 {
        (SCRIPT[last - 1], SCRIPT[last - 1].t - LOOP_S)
    } else {
        (SCRIPT[j - 1], SCRIPT[j - 1].t)
    };
    let (cur, next) = (SCRIPT[j], SCRIPT[j + 1]);
    let (h0, h1) = (cur.t - prev_t, next.t - cur.t);
    std::array::from_fn(|c| {
        let d0 = (cur.v[c] - prev.v[c]) / h0;
        let d1 = (next.v[c] - cur.v[c]) / h1;
        if d0 * d1 <= 0.0 {
            0.0
        } else {
            let (w1, w2) = (2.0 * h1 + h0, h1 + 2.0 * h0);
            (w1 + w2) / (w1 / d0 + w2 / d1)
        }
    })
}

/// How one symbol plays the script.
#[derive(Debug, Clone, Copy)]
struct Profile {
    seed: u64,
    price_usd: f64,
    oi_usd: f64,
    /// Scales price excursions and liquidations; OI, funding and positioning swings scale by a
    /// damped version ([`Profile::crowd`]).
    vol: f64,
    /// Where in the loop this symbol starts (simulated seconds).
    offset_s: f64,
}

/// Known coins: (symbol, price, OI, vol, offset). Offsets spread them over the loop.
const KNOWN: [(&str, f64, f64, f64, f64); 6] = [
    ("BTC", 67_000.0, BTC_OI_USD, 1.0, 0.0),
    ("ETH", 3_400.0, 28e9, 1.2, 130.0),
    ("SOL", 150.0, 5e9, 1.4, 260.0),
    ("DOGE", 0.16, 2e9, 1.5, 390.0),
    ("XRP", 0.55, 3.5e9, 1.3, 470.0),
    ("BNB", 590.0, 1.2e9, 1.1, 200.0),
];

impl Profile {
    fn of(symbol: &str) -> Profile {
        let coin = symbol.trim().to_ascii_uppercase();
        let seed = fnv1a(coin.as_bytes());
        if let Some(&(_, price_usd, oi_usd, vol, offset_s)) =
            KNOWN.iter().find(|(name, ..)| *name == coin)
        {
            return Profile {
                seed,
                price_usd,
                oi_usd,
                vol,
                offset_s,
            };
        }
        // Unknown coin: a plausible small-cap drawn from its name, the same every run.
        Profile {
            seed,
            price_usd: 10f64.powf(-2.0 + 4.5 * unit(seed, 1, 0)), // $0.01 … $316
            oi_usd: 10f64.powf(8.0 + 1.3 * unit(seed, 2, 0)),     // $100M … $2B
            vol: 1.2 + 0.3 * unit(seed, 3, 0),
            offset_s: LOOP_S * unit(seed, 4, 0),
        }
    }

    /// OI, funding and positioning (account ratios, taker share) swing a bit wider on volatile
    /// coins.
    fn crowd(&self) -> f64 {
        1.0 + 0.25 * (self.vol - 1.0)
    }

    /// Liquidation dollars relative to the BTC-sized script.
    fn liq_scale(&self) -> f64 {
        self.oi_usd / BTC_OI_USD * self.vol
    }
}

/// Noise channels (one independent smooth noise track each).
#[derive(Clone, Copy)]
enum Ch {
    Price = 10,
    Oi,
    Funding,
    LiqLong,
    LiqShort,
    Retail,
    Top,
    Taker,
    Venue = 100,
}

/// Noise knots are this far apart (simulated seconds); a whole number of them fits the loop so
/// the noise loops with the script.
const NOISE_STEP_S: f64 = 20.0;

/// Smooth value noise in [-1, 1] for (symbol, channel) at loop time `t`.
fn noise(seed: u64, ch: u64, t: f64) -> f64 {
    let steps = (LOOP_S / NOISE_STEP_S) as u64;
    let x = t.rem_euclid(LOOP_S) / NOISE_STEP_S;
    let k = x.floor();
    let f = x - k;
    let k = k as u64 % steps;
    let a = unit(seed, ch, k);
    let b = unit(seed, ch, (k + 1) % steps);
    let w = f * f * (3.0 - 2.0 * f);
    2.0 * (a + (b - a) * w) - 1.0
}

/// Uniform [0, 1) from (seed, a, b): SplitMix64 finaliser over the mixed inputs.
fn unit(seed: u64, a: u64, b: u64) -> f64 {
    let z = splitmix(seed ^ splitmix(a.wrapping_mul(0x9E37_79B9) ^ splitmix(b)));
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A symbol's readings at loop time `t`.
struct Reading {
    price_level: f64,
    oi_level: f64,
    funding_8h: f64,
    liq_long_usd: f64,
    liq_short_usd: f64,
    retail_long: f64,
    top_long: f64,
    taker_buy: f64,
}

impl Profile {
    fn price_level(&self, t: f64) -> f64 {
        1.0 + self.vol * (script_at(self.seed, t)[PRICE] - 1.0)
            + 0.0005 * noise(self.seed, Ch::Price as u64, t)
    }

    fn oi_level(&self, t: f64) -> f64 {
        1.0 + self.crowd() * (script_at(self.seed, t)[OI] - 1.0)
            + 0.0005 * noise(self.seed, Ch::Oi as u64, t)
    }

    fn reading(&self, t: f64) -> Reading {
        let k = script_at(self.seed, t);
        let n = |ch: Ch| noise(self.seed, ch as u64, t);
        let crowd = self.crowd();
        let pct = |base: f64, ch: Ch, amp: f64| {
            (50.0 + crowd * (base - 50.0) + amp * n(ch)).clamp(1.0, 99.0)
        };
        let liq = |m: f64, ch: Ch| (m * 1e6 * self.liq_scale() * (1.0 + 0.08 * n(ch))).max(0.0);
        Reading {
            price_level: self.price_level(t),
            oi_level: self.oi_level(t),
            funding_8h: k[FUNDING] * crowd + 0.003 * n(Ch::Funding),
            liq_long_usd: liq(k[LIQ_LONG], Ch::LiqLong),
            liq_short_usd: liq(k[LIQ_SHORT], Ch::LiqShort),
            retail_long: pct(k[RETAIL_LONG], Ch::Retail, 0.7),
            top_long: pct(k[TOP_LONG], Ch::Top, 0.7),
            taker_buy: pct(k[TAKER_BUY], Ch::Taker, 1.5),
        }
    }

    /// Percent change of a level curve over `lag` simulated seconds ending at `t`.
    fn change(&self, level: fn(&Profile, f64) -> f64, t: f64, lag: f64) -> f64 {
        (level(self, t) / level(self, t - lag) - 1.0) * 100.0
    }
}

/// A venue in the funding table. `skew` scales the symbol's rate (venues disagree a little).
struct Venue {
    name: &'static str,
    margin: Margin,
    interval_h: f64,
    oi_share: f64,
    skew: f64,
}

/// Funding venues: 8h, 4h and 1h intervals, and one token-margined row (not in the average).
#[rustfmt::skip]
const VENUES: [Venue; 6] = [
    Venue { name: "Binance", margin: Margin::Stablecoin, interval_h: 8.0, oi_share: 0.34, skew: 1.00 },
    Venue { name: "Bybit", margin: Margin::Stablecoin, interval_h: 8.0, oi_share: 0.22, skew: 0.95 },
    Venue { name: "Hyperliquid", margin: Margin::Stablecoin, interval_h: 1.0, oi_share: 0.14, skew: 1.25 },
    Venue { name: "Bitget", margin: Margin::Stablecoin, interval_h: 4.0, oi_share: 0.10, skew: 1.10 },
    Venue { name: "OKX", margin: Margin::Stablecoin, interval_h: 8.0, oi_share: 0.10, skew: 0.90 },
    Venue { name: "Binance", margin: Margin::Token, interval_h: 8.0, oi_share: 0.10, skew: 0.80 },
];

/// The demo market. Cheap to clone; holds only the symbol list and the speed.
#[derive(Debug, Clone)]
pub struct DemoMarket {
    symbols: Vec<String>,
    speed: f64,
}

impl DemoMarket {
    /// `speed` multiplies simulated time (2.0 plays the loop twice as fast). A non-finite or
    /// non-positive speed falls back to 1.0; tiny speeds are floored so the loop length fits a
    /// `Duration`.
    pub fn new(symbols: Vec<String>, speed: f64) -> DemoMarket {
        let speed = if speed.is_finite() && speed > 0.0 {
            speed.max(1e-6)
        } else {
            1.0
        };
        DemoMarket { symbols, speed }
    }

    pub fn symbols(&self) -> &[String] {
        &self.symbols
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// One snapshot per symbol at `elapsed` wall-clock time since start; `now` stamps the snapshot.
    pub fn snapshots_at(&self, elapsed: Duration, now: DateTime<Utc>) -> Vec<Snapshot> {
        self.symbols
            .iter()
            .map(|s| self.snapshot_at(s, elapsed, now))
            .collect()
    }

    /// Market time per wall-clock time: [`SIM_HOUR_S`] simulated seconds make a market hour,
    /// and the speed multiplies simulated time (at speed 1, 120 market hours per wall hour).
    pub fn time_factor(&self) -> f64 {
        3600.0 / SIM_HOUR_S * self.speed
    }

    /// Length of one regime loop in wall time at this speed.
    pub fn loop_duration(&self) -> Duration {
        Duration::try_from_secs_f64(LOOP_S / self.speed).unwrap_or(Duration::MAX)
    }

    /// Name of the regime a symbol is in (for labels/logs): "calm", "euphoria", "long cascade",
    /// "short squeeze", "recovery".
    pub fn regime_at(&self, symbol: &str, elapsed: Duration) -> &'static str {
        let t = self.loop_time(&Profile::of(symbol), elapsed);
        REGIMES
            .iter()
            .rev()
            .find(|(start, _)| t >= *start)
            .map_or(REGIMES[0].1, |(_, name)| name)
    }

    /// Where in its loop a symbol is, in simulated seconds.
    fn loop_time(&self, p: &Profile, elapsed: Duration) -> f64 {
        self.sim_time(p, elapsed).rem_euclid(LOOP_S)
    }

    /// Simulated seconds since the symbol's script began (its offset included).
    fn sim_time(&self, p: &Profile, elapsed: Duration) -> f64 {
        elapsed.as_secs_f64() * self.speed + p.offset_s
    }

    pub fn snapshot_at(&self, symbol: &str, elapsed: Duration, now: DateTime<Utc>) -> Snapshot {
        let p = Profile::of(symbol);
        let t = self.sim_time(&p, elapsed);
        let r = p.reading(t);
        let coin = symbol.trim().to_ascii_uppercase();
        let oi_usd = p.oi_usd * r.oi_level;
        let price_change_1h = p.change(Profile::price_level, t, SIM_HOUR_S);

        let mut snap = Snapshot::new(symbol, SourceKind::Demo, now);
        snap.funding = Field::fresh(funding(&p, &r, oi_usd, t, now), now);
        let oi_change = |lag_h: f64| Some(p.change(Profile::oi_level, t, lag_h * SIM_HOUR_S));
        snap.open_interest = Field::fresh(
            OpenInterest {
                oi_usd: Some(oi_usd),
                change_5m_pct: oi_change(5.0 / 60.0),
                change_15m_pct: oi_change(0.25),
                change_30m_pct: oi_change(0.5),
                change_1h_pct: oi_change(1.0),
                change_4h_pct: oi_change(4.0),
                change_24h_pct: Some(p.change(Profile::oi_level, t, LAG_24H_S)),
            },
            now,
        );
        snap.liquidations = Field::fresh(
            Liquidations {
                long_1h_usd: Some(r.liq_long_usd),
                short_1h_usd: Some(r.liq_short_usd),
                ..Default::default()
            },
            now,
        );
        let source = format!("Binance {coin}USDT 4h (demo)");
        let bar_time = floor_to(now, 4 * 3600);
        let long_short = |long: f64| LongShort {
            long_pct: Some(long),
            short_pct: Some(100.0 - long),
            bar_time,
            source: source.clone(),
        };
        snap.retail = Field::fresh(long_short(r.retail_long), now);
        snap.top = Field::fresh(long_short(r.top_long), now);
        // Hourly volume: a slice of OI, busier when price moves.
        let volume = oi_usd * 0.05 * (1.0 + 0.4 * price_change_1h.abs());
        snap.taker = Field::fresh(
            TakerFlow {
                buy_pct: Some(r.taker_buy),
                buy_usd: Some(volume * r.taker_buy / 100.0),
                sell_usd: Some(volume * (100.0 - r.taker_buy) / 100.0),
            },
            now,
        );
        snap.price = Field::fresh(
            Price {
                price: Some(p.price_usd * r.price_level),
                change_1h_pct: Some(price_change_1h),
                change_24h_pct: Some(p.change(Profile::price_level, t, LAG_24H_S)),
            },
            now,
        );
        snap
    }
}

/// Per-venue funding around the symbol's rate. Venue skews and noise are re-centred on the
/// stablecoin OI weights, so the OI-weighted mean is exactly the scripted rate.
fn funding(p: &Profile, r: &Reading, oi_usd: f64, t: f64, now: DateTime<Utc>) -> Funding {
    let venue_noise = |i: usize| 0.004 * noise(p.seed, Ch::Venue as u64 + i as u64, t);
    let (mut w, mut skew, mut off) = (0.0, 0.0, 0.0);
    for (i, v) in VENUES.iter().enumerate() {
        if v.margin == Margin::Stablecoin {
            w += v.oi_share;
            skew += v.oi_share * v.skew;
            off += v.oi_share * venue_noise(i);
        }
    }
    let (skew, off) = (skew / w, off / w);
    let mut rows: Vec<ExchangeFunding> = VENUES
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let rate_8h = r.funding_8h * v.skew / skew + venue_noise(i) - off;
            let rate_pct = rate_8h * v.interval_h / 8.0;
            ExchangeFunding {
                exchange: v.name.to_owned(),
                margin: v.margin,
                rate_pct,
                interval_hours: Some(v.interval_h),
                rate_8h_pct: funding_to_8h(rate_pct, Some(v.interval_h)),
                next_funding_time: next_boundary(now, v.interval_h),
                oi_usd: Some(oi_usd * v.oi_share),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.oi_usd
            .partial_cmp(&a.oi_usd)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Funding {
        rate_8h_pct: oi_weighted_funding_8h(&rows),
        by_exchange: rows,
    }
}

/// The next funding time on an `hours` grid aligned to the Unix epoch (as exchanges do).
fn next_boundary(now: DateTime<Utc>, hours: f64) -> Option<DateTime<Utc>> {
    let period = (hours * 3600.0) as i64;
    if period <= 0 {
        return None;
    }
    let next = (now.timestamp().div_euclid(period) + 1) * period;
    DateTime::from_timestamp(next, 0)
}

fn floor_to(now: DateTime<Utc>, period_s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(now.timestamp() - now.timestamp().rem_euclid(period_s), 0)
        .unwrap_or(now)
}

/// The demo market, clocked by wall time since start.
pub struct DemoSource {
    market: DemoMarket,
    started: Instant,
}

impl DemoSource {
    pub fn new(symbols: Vec<String>, speed: f64) -> Self {
        DemoSource {
            market: DemoMarket::new(symbols, speed),
            started: Instant::now(),
        }
    }
}

impl DemoSource {
    /// See [`DemoMarket::time_factor`].
    pub fn time_factor(&self) -> f64 {
        self.market.time_factor()
    }
}

impl Source for DemoSource {
    fn label(&self) -> SourceLabel {
        SourceLabel {
            kind: SourceKind::Demo,
            plan: None,
        }
    }

    async fn poll(&mut self, ctx: &PollContext) -> Result<Vec<Snapshot>, FatalSourceError> {
        Ok(self.market.snapshots_at(self.started.elapsed(), ctx.now))
    }

    fn request_stats(&self) -> RequestStats {
        RequestStats::default()
    }
}

#[cfg(test)]
mod tests;
