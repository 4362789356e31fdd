//! Exchanges-source figures against local Binance, Bybit and OKX mocks (never a real host):
//!
//! 1. time to the first full snapshot of 20 coins on three venues, every REST answer 50 ms late
//!    (instrument lists, the first cycle and the first seconds of the liquidation streams);
//! 2. the steady REST cost of 20 coins at a 60 s poll, counted at the mocks over a simulated
//!    ten minutes, per venue and rate-limit pool, against each venue's published limit.
//!
//! `cargo bench --bench exchanges_cycle` measures both; under `cargo test` (no `--bench`
//! argument) it runs a quick smoke pass so the code stays working.

#[path = "../tests/common/mod.rs"]
mod common;

use chrono::{DateTime, Utc};
use common::venues::Venues;
use perpwatch::model::Snapshot;
use perpwatch::source::exchanges::{ExchangesConfig, ExchangesSource, Venue, VenueUrls};
use perpwatch::source::{PollContext, Source};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn config(venues: &Venues, coins: usize) -> ExchangesConfig {
    let env: BTreeMap<&str, String> = venues.env().into_iter().collect();
    ExchangesConfig {
        symbols: common::COIN_UNIVERSE[..coins]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        venues: Venue::ALL.to_vec(),
        reference: Venue::Binance,
        urls: VenueUrls {
            binance_fapi: env["BINANCE_FAPI_URL"].clone(),
            binance_ws: env["BINANCE_WS_URL"].clone(),
            bybit_api: env["BYBIT_API_URL"].clone(),
            bybit_ws: env["BYBIT_WS_URL"].clone(),
            okx_api: env["OKX_API_URL"].clone(),
            okx_ws: env["OKX_WS_URL"].clone(),
        },
        poll_interval: Duration::from_secs(60),
    }
}

/// Every metric group of every coin has a value.
fn full(snapshots: &[Snapshot]) -> bool {
    snapshots.iter().all(|s| {
        s.funding.value.is_some()
            && s.open_interest.value.is_some()
            && s.liquidations.value.is_some()
            && s.retail.value.is_some()
            && s.top.value.is_some()
            && s.taker.value.is_some()
            && s.price.value.is_some()
    })
}

async fn first_snapshot(coins: usize, latency: Duration) -> (Duration, bool) {
    let venues = Venues::start(&common::COIN_UNIVERSE[..coins], latency).await;
    let begun = Instant::now();
    let mut source = ExchangesSource::start(config(&venues, coins))
        .await
        .expect("every coin is listed");
    let ctx = PollContext::within(Utc::now(), Duration::from_secs(20));
    let snapshots = source.poll(&ctx).await.expect("a cycle");
    (begun.elapsed(), full(&snapshots))
}

/// The published limits the steady cost is compared with.
struct Pool {
    venue: &'static str,
    name: &'static str,
    /// Which requests count, by path prefix; the weight of a request.
    matches: fn(&str) -> Option<u32>,
    limit: u32,
    window_s: i64,
    /// The limit holds per endpoint and instrument (OKX), not per IP.
    per_instrument: bool,
}

/// Binance request weights (USDⓈ-M docs): premiumIndex without a symbol 10, ticker/24hr
/// without a symbol 40, the rest of `/fapi` 1; `/futures/data` counts in its own pool.
fn binance_weight(path: &str) -> Option<u32> {
    match path {
        "/fapi/v1/premiumIndex" => Some(10),
        "/fapi/v1/ticker/24hr" => Some(40),
        p if p.starts_with("/fapi/v1/fundingInfo") => None,
        p if p.starts_with("/fapi/") => Some(1),
        _ => None,
    }
}

const POOLS: [Pool; 6] = [
    Pool {
        venue: "binance",
        name: "weight 2400 / 1 min",
        matches: binance_weight,
        limit: 2400,
        window_s: 60,
        per_instrument: false,
    },
    Pool {
        venue: "binance",
        name: "/futures/data 1000 / 5 min",
        matches: |p| p.starts_with("/futures/data/").then_some(1),
        limit: 1000,
        window_s: 300,
        per_instrument: false,
    },
    Pool {
        venue: "binance",
        name: "fundingInfo+fundingRate 500 / 5 min",
        matches: |p| p.starts_with("/fapi/v1/funding").then_some(1),
        limit: 500,
        window_s: 300,
        per_instrument: false,
    },
    Pool {
        venue: "bybit",
        name: "IP 600 / 5 s",
        matches: |_| Some(1),
        limit: 600,
        window_s: 5,
        per_instrument: false,
    },
    Pool {
        venue: "okx",
        name: "OI history 10 / 2 s per instrument",
        matches: |p| {
            p.starts_with("/api/v5/rubik/stat/contracts/open-interest-history")
                .then_some(1)
        },
        limit: 10,
        window_s: 2,
        per_instrument: true,
    },
    Pool {
        venue: "okx",
        name: "public endpoints ≥ 10 / 2 s each",
        matches: |p| p.starts_with("/api/v5/public/").then_some(1),
        limit: 10,
        window_s: 2,
        per_instrument: true,
    },
];

/// (simulated second of the request, path, instrument) per venue, over `cycles` cycles 60 s
/// apart.
async fn steady_cost(coins: usize, cycles: i64) -> BTreeMap<&'static str, Vec<Req>> {
    let venues = Venues::start(&common::COIN_UNIVERSE[..coins], Duration::ZERO).await;
    let mut source = ExchangesSource::start(config(&venues, coins))
        .await
        .expect("every coin is listed");
    let t0: DateTime<Utc> = Utc::now();
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut out: BTreeMap<&'static str, Vec<Req>> = BTreeMap::new();
    for k in 0..cycles {
        let ctx = PollContext::within(
            t0 + chrono::Duration::seconds(60 * k),
            Duration::from_secs(20),
        );
        source.poll(&ctx).await.expect("a cycle");
        for (venue, server) in [
            ("binance", &venues.binance),
            ("bybit", &venues.bybit),
            ("okx", &venues.okx),
        ] {
            let reqs = server.received_requests().await.unwrap_or_default();
            let before = seen.insert(venue, reqs.len()).unwrap_or(0);
            out.entry(venue)
                .or_default()
                .extend(reqs[before..].iter().map(|r| {
                    Req {
                        at_s: 60 * k,
                        path: r.url.path().to_string(),
                        instrument: r
                            .url
                            .query_pairs()
                            .find(|(k, _)| k == "instId" || k == "symbol")
                            .map(|(_, v)| v.to_string())
                            .unwrap_or_default(),
                    }
                }));
        }
        // Real time between cycles, so the sources' own budget windows (seconds) see a pace
        // like the real one's and never refuse a request the simulated minute would allow.
        tokio::time::sleep(Duration::from_millis(2100)).await;
    }
    out
}

/// One request a mock received.
struct Req {
    /// The simulated second of its cycle.
    at_s: i64,
    path: String,
    instrument: String,
}

/// The first cycle (instrument lists, everything due) is left out: the steady state starts at
/// the second cycle. Average use of each pool per window, and the busiest single cycle.
fn report_cost(requests: &BTreeMap<&'static str, Vec<Req>>, cycles: i64) {
    let span_s = 60 * (cycles - 1);
    println!("steady REST cost, 20 coins, 60 s poll, Binance the reference venue:");
    for pool in &POOLS {
        let rows: Vec<(&Req, u32)> = requests[pool.venue]
            .iter()
            .filter(|r| r.at_s > 0)
            .filter_map(|r| (pool.matches)(&r.path).map(|w| (r, w)))
            .collect();
        let total: u32 = rows.iter().map(|(_, w)| w).sum();
        let keys = if pool.per_instrument {
            let mut k: Vec<(&str, &str)> = rows
                .iter()
                .map(|(r, _)| (r.path.as_str(), r.instrument.as_str()))
                .collect();
            k.sort_unstable();
            k.dedup();
            k.len().max(1)
        } else {
            1
        };
        let per_window = f64::from(total) * pool.window_s as f64 / span_s as f64 / keys as f64;
        // The busiest cycle (per instrument and endpoint where the limit is per instrument).
        let mut per_cycle: BTreeMap<(i64, &str, &str), u32> = BTreeMap::new();
        for (r, w) in &rows {
            let key = if pool.per_instrument {
                (r.at_s, r.path.as_str(), r.instrument.as_str())
            } else {
                (r.at_s, "", "")
            };
            *per_cycle.entry(key).or_default() += w;
        }
        let busiest = per_cycle.values().copied().max().unwrap_or(0);
        println!(
            "  {:<8} {:<42} average {:>7.1} per window = {:>5.2} % · busiest cycle {:>4} ({:.1} %)",
            pool.venue,
            pool.name,
            per_window,
            100.0 * per_window / f64::from(pool.limit),
            busiest,
            100.0 * f64::from(busiest) / f64::from(pool.limit),
        );
    }
    for (venue, rows) in requests {
        let steady = rows.iter().filter(|r| r.at_s > 0).count();
        println!(
            "  {venue:<8} {steady} requests in {} steady minutes ({:.1} a minute)",
            cycles - 1,
            steady as f64 * 60.0 / span_s as f64
        );
    }
}

#[tokio::main]
async fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (runs, cycles) = if bench { (5, 11) } else { (1, 2) };
    let mut times = Vec::new();
    for _ in 0..runs {
        let (took, complete) = first_snapshot(20, Duration::from_millis(50)).await;
        assert!(complete, "the first snapshot lacks a metric");
        times.push(took);
    }
    times.sort();
    println!(
        "first full snapshot, 20 coins × 3 venues, 50 ms per answer: median {:?}, worst {:?} (target ≤ 3 s)",
        times[times.len() / 2],
        times[times.len() - 1]
    );
    let requests = steady_cost(20, cycles).await;
    report_cost(&requests, cycles);
}
