//! The fault matrix: every fault on every endpoint the live source calls, on a per-symbol plan
//! (Startup) and a coins-markets plan (Standard), 3 symbols, for one cycle and for three. Each
//! run has its own mock server on 127.0.0.1 answering the healthy market everywhere except the
//! faulty endpoint.
//!
//! What must hold in every run: each cycle ends by its deadline (plus scheduling slack); a
//! metric the fault hid is a gap with a reason, never a number (and no input is ever a made-up
//! 0); a refused key stops the source with a message; the key appears nowhere. The timings
//! table is printed with `--nocapture`.

mod common;

use chrono::{TimeZone, Utc};
use common::{coinglass_with, MockOptions, TEST_KEY};
use futures::StreamExt;
use perpwatch::source::coinglass::{ClientOptions, LiveConfig, LiveSource};
use perpwatch::source::{PollContext, Source};
use secrecy::SecretString;
use serde_json::json;
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// How long one cycle may run in these tests (the monitor passes the poll interval; 30 s at most
/// for `--once`). Short, so that the hanging and rate-limited runs finish quickly.
const DEADLINE: Duration = Duration::from_secs(4);
/// Scheduling slack on top of the deadline: CI runs this on 2 busy cores.
const SLACK: Duration = Duration::from_millis(2500);
const SYMBOLS: [&str; 3] = ["BTC", "ETH", "SOL"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Never answers within the cycle.
    Hang,
    /// HTTP 429 without headers: the key's window is full.
    TooManyRequests,
    /// HTTP 500.
    ServerError,
    /// An "Upgrade plan" answer (code 403 in the envelope over HTTP 200).
    UpgradePlan,
    /// HTTP 200 with a body that is not JSON.
    Malformed,
    /// A success envelope whose `data` is an empty list.
    Empty,
    /// A success envelope whose rows carry no fields at all (every value null).
    Nulls,
    /// The key refused (HTTP 401).
    KeyRefused,
}

const FAULTS: [Fault; 8] = [
    Fault::Hang,
    Fault::TooManyRequests,
    Fault::ServerError,
    Fault::UpgradePlan,
    Fault::Malformed,
    Fault::Empty,
    Fault::Nulls,
    Fault::KeyRefused,
];

impl Fault {
    fn answer(self) -> ResponseTemplate {
        let envelope = |body: serde_json::Value| ResponseTemplate::new(200).set_body_json(body);
        match self {
            Fault::Hang => {
                envelope(json!({"code": "0", "data": []})).set_delay(Duration::from_secs(120))
            }
            Fault::TooManyRequests => ResponseTemplate::new(429),
            Fault::ServerError => ResponseTemplate::new(500).set_body_string("internal error"),
            Fault::UpgradePlan => {
                envelope(json!({"code": "403", "msg": "Upgrade plan to access this endpoint"}))
            }
            Fault::Malformed => ResponseTemplate::new(200).set_body_string("<html>oops</html>"),
            Fault::Empty => envelope(json!({"code": "0", "msg": "success", "data": []})),
            Fault::Nulls => envelope(json!({"code": "0", "msg": "success", "data": [{}]})),
            Fault::KeyRefused => ResponseTemplate::new(401)
                .set_body_json(json!({"code": "401", "msg": "API key missing or invalid"})),
        }
    }
}

/// An endpoint the live source calls each cycle and the metric groups it alone feeds there.
struct Endpoint {
    path: &'static str,
    /// Metric groups (as `Snapshot::gaps` names them) that must be a gap when this endpoint
    /// fails on the first cycle.
    feeds: &'static [&'static str],
    /// A plan gate here switches the source to other endpoints that serve the same metrics
    /// (coins-markets → the per-symbol lists), so a gate leaves no gap.
    gate_has_fallback: bool,
}

const PER_SYMBOL: [Endpoint; 7] = [
    Endpoint {
        path: "/api/futures/funding-rate/exchange-list",
        feeds: &["funding"],
        gate_has_fallback: false,
    },
    Endpoint {
        path: "/api/futures/open-interest/exchange-list",
        feeds: &["open_interest"],
        gate_has_fallback: false,
    },
    Endpoint {
        path: "/api/futures/liquidation/exchange-list",
        feeds: &["liquidations"],
        gate_has_fallback: false,
    },
    Endpoint {
        path: "/api/futures/taker-buy-sell-volume/exchange-list",
        feeds: &["taker"],
        gate_has_fallback: false,
    },
    Endpoint {
        path: "/api/futures/pairs-markets",
        feeds: &["price"],
        gate_has_fallback: false,
    },
    Endpoint {
        path: "/api/futures/global-long-short-account-ratio/history",
        feeds: &["retail_long_short"],
        gate_has_fallback: false,
    },
    Endpoint {
        path: "/api/futures/top-long-short-account-ratio/history",
        feeds: &["top_long_short"],
        gate_has_fallback: false,
    },
];

const COINS_MARKETS: [Endpoint; 1] = [Endpoint {
    path: "/api/futures/coins-markets",
    feeds: &["open_interest", "liquidations", "price"],
    gate_has_fallback: true,
}];

/// One run's result, for the table.
struct Run {
    plan: &'static str,
    endpoint: &'static str,
    fault: Fault,
    cycles: usize,
    /// Wall time of each cycle.
    took: Vec<Duration>,
}

fn config(server: &MockServer) -> LiveConfig {
    let mut cfg = LiveConfig::new(
        server.uri(),
        SecretString::from(TEST_KEY.to_string()),
        SYMBOLS.iter().map(|s| s.to_string()).collect(),
    );
    cfg.poll_interval = Duration::from_secs(60);
    cfg.client = ClientOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(10),
        ..ClientOptions::default()
    };
    cfg
}

/// Runs `cycles` cycles with `fault` on `endpoint` and checks what must hold in every run.
async fn run(plan: &'static str, endpoint: &'static Endpoint, fault: Fault, cycles: usize) -> Run {
    let server = coinglass_with(MockOptions {
        level: plan,
        ..MockOptions::default()
    })
    .await;
    Mock::given(method("GET"))
        .and(path(endpoint.path))
        .respond_with(fault.answer())
        .with_priority(1)
        .mount(&server)
        .await;
    let what = format!("{plan} · {} · {fault:?}", endpoint.path);
    let mut source = match LiveSource::connect(config(&server)).await {
        Ok(s) => s,
        Err(e) => panic!("{what}: connect failed: {e}"),
    };
    let t0 = Utc
        .with_ymd_and_hms(2025, 11, 25, 12, 0, 0)
        .single()
        .expect("a valid time");
    let mut took = Vec::new();
    for k in 0..cycles {
        let now = t0 + chrono::Duration::minutes(k as i64);
        let ctx = PollContext::within(now, DEADLINE);
        let started = Instant::now();
        let result = Source::poll(&mut source, &ctx).await;
        let elapsed = started.elapsed();
        took.push(elapsed);
        assert!(
            elapsed <= DEADLINE + SLACK,
            "{what}: cycle {k} took {elapsed:?}, over its {DEADLINE:?} deadline"
        );
        let snapshots = match (fault, result) {
            (Fault::KeyRefused, Err(e)) => {
                assert!(!e.0.contains(TEST_KEY), "{what}: the key in {e}");
                assert!(
                    e.0.to_ascii_lowercase().contains("key"),
                    "{what}: a refused key must say so: {e}"
                );
                break;
            }
            (Fault::KeyRefused, Ok(_)) => panic!("{what}: a refused key did not stop the source"),
            (_, Err(e)) => panic!("{what}: cycle {k} failed as a whole: {e}"),
            (_, Ok(s)) => s,
        };
        assert_eq!(snapshots.len(), SYMBOLS.len(), "{what}");
        for snap in &snapshots {
            let shown = format!("{snap:?}");
            assert!(!shown.contains(TEST_KEY), "{what}: the key in a snapshot");
            for (name, value) in perpwatch::model::SignalInputs::NAMES
                .iter()
                .zip(snap.inputs().values())
            {
                assert_ne!(
                    value,
                    Some(0.0),
                    "{what}: {} {name} is 0 (the mock never serves 0)",
                    snap.symbol
                );
            }
            let served_elsewhere = fault == Fault::UpgradePlan && endpoint.gate_has_fallback;
            if k == 0 && !served_elsewhere {
                let gaps = snap.gaps();
                for metric in endpoint.feeds {
                    let gap = gaps.iter().find(|g| g.metric == *metric);
                    assert!(
                        gap.is_some(),
                        "{what}: {} {metric} has no gap although its endpoint failed: {gaps:?}",
                        snap.symbol
                    );
                }
            }
        }
    }
    Run {
        plan,
        endpoint: endpoint.path,
        fault,
        cycles,
        took,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_on_every_endpoint_keeps_the_deadline_and_never_invents_a_value() {
    let mut jobs = Vec::new();
    for (plan, endpoints) in [
        ("STARTUP", &PER_SYMBOL[..]),
        ("STANDARD", &COINS_MARKETS[..]),
        ("STANDARD", &PER_SYMBOL[5..]),
    ] {
        for endpoint in endpoints {
            for fault in FAULTS {
                for cycles in [1, 3] {
                    jobs.push((plan, endpoint, fault, cycles));
                }
            }
        }
    }
    let started = Instant::now();
    let runs: Vec<Run> = futures::stream::iter(jobs)
        .map(|(plan, endpoint, fault, cycles)| run(plan, endpoint, fault, cycles))
        .buffer_unordered(16)
        .collect()
        .await;
    let mut worst = Duration::ZERO;
    eprintln!("plan      endpoint                                             fault             cycles  slowest cycle");
    for r in &runs {
        let slowest = r.took.iter().copied().max().unwrap_or_default();
        worst = worst.max(slowest);
        eprintln!(
            "{:<9} {:<52} {:<17} {:>6}  {:>6.2} s",
            r.plan,
            r.endpoint,
            format!("{:?}", r.fault),
            r.cycles,
            slowest.as_secs_f64()
        );
    }
    eprintln!(
        "{} runs in {:.1} s; slowest cycle {:.2} s (deadline {:?})",
        runs.len(),
        started.elapsed().as_secs_f64(),
        worst.as_secs_f64(),
        DEADLINE
    );
}
