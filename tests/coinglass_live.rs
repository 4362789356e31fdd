//! The live source under real-API shapes and real failures, against local mocks (never a real
//! host): the recorded liquidation spelling, the cycle deadline and its progress, reference pairs
//! looked up per exchange, funding weights, OI nulls and an unreadable subscription.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::{requests_to, Logs, Sandbox, TEST_KEY};
use perpwatch::model::{GapReason, Margin, Snapshot};
use perpwatch::source::coinglass::{
    paths, ClientOptions, LiveConfig, LiveSource, LongShortKind, Plan,
};
use perpwatch::source::{PollContext, PollProgress, Source};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TIMED_OUT: &str = "timed out at the cycle deadline";

fn ok(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"code": "0", "msg": "success", "data": data}))
}

async fn mount(server: &MockServer, p: &str, resp: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(resp)
        .mount(server)
        .await;
}

/// Answers `p` only after `secs` (the client gives up long before).
async fn hang(server: &MockServer, p: &str, secs: u64) {
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(ok(json!([])).set_delay(Duration::from_secs(secs)))
        .with_priority(1)
        .mount(server)
        .await;
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 3, 30, 0).unwrap()
}

fn config(server: &MockServer, symbols: &[&str]) -> LiveConfig {
    let mut cfg = LiveConfig::new(
        server.uri(),
        SecretString::from(TEST_KEY),
        symbols.iter().map(|s| s.to_string()).collect(),
    );
    cfg.client = ClientOptions {
        connect_timeout: Duration::from_secs(2),
        // Longer than the deadlines below: the cycle deadline, not the client, ends a hang.
        request_timeout: Duration::from_secs(20),
        max_attempts: 1,
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(20),
        // These tests run many cycles in a second; the per-window limit is unchanged.
        rate_window: Duration::from_millis(1),
    };
    cfg
}

/// A Hobbyist market for BTC and ETH in the documented shapes, with `supported-exchange-pairs`.
async fn mount_market(server: &MockServer) {
    mount(
        server,
        paths::SUBSCRIPTION,
        ok(json!({"level": "HOBBYIST"})),
    )
    .await;
    mount(
        server,
        paths::FUNDING_EXCHANGE_LIST,
        ok(json!([
            {"symbol": "BTC", "stablecoin_margin_list": [
                {"exchange": "Binance", "funding_rate": 0.01, "funding_rate_interval": 8}]},
            {"symbol": "ETH", "stablecoin_margin_list": [
                {"exchange": "Binance", "funding_rate": 0.02, "funding_rate_interval": 8}]}
        ])),
    )
    .await;
    mount(
        server,
        paths::SUPPORTED_EXCHANGE_PAIRS,
        ok(json!({"Binance": [
            {"instrument_id": "BTCUSDT", "base_asset": "BTC", "quote_asset": "USDT"},
            {"instrument_id": "ETHUSDT", "base_asset": "ETH", "quote_asset": "USDT"}
        ]})),
    )
    .await;
    mount(
        server,
        paths::OI_EXCHANGE_LIST,
        ok(json!([
            {"exchange": "All", "open_interest_usd": 1e10, "open_interest_change_percent_1h": 2.0},
            {"exchange": "Binance", "open_interest_usd": 6e9}
        ])),
    )
    .await;
    mount(
        server,
        paths::LIQUIDATION_EXCHANGE_LIST,
        ok(json!([{"exchange": "All", "long_liquidation_usd": 3e7, "short_liquidation_usd": 5e6}])),
    )
    .await;
    mount(
        server,
        paths::TAKER_EXCHANGE_LIST,
        ok(json!({"buy_ratio": 55.0, "buy_vol_usd": 5.5e8, "sell_vol_usd": 4.5e8})),
    )
    .await;
    mount(
        server,
        paths::PAIRS_MARKETS,
        ok(
            json!([{"instrument_id": "BTCUSDT", "exchange_name": "Binance",
                   "current_price": 97000.0, "price_change_percent_24h": 1.0}]),
        ),
    )
    .await;
    for (kind, prefix) in [
        (LongShortKind::GlobalAccount, "global_account"),
        (LongShortKind::TopAccount, "top_account"),
    ] {
        mount(
            server,
            kind.path(),
            ok(json!([{"time": t0().timestamp_millis() - 1_800_000,
                       format!("{prefix}_long_percent"): 60.0,
                       format!("{prefix}_short_percent"): 40.0}])),
        )
        .await;
    }
}

fn ctx(now: DateTime<Utc>, budget: Duration) -> PollContext {
    PollContext::within(now, budget)
}

/// Every metric group of a snapshot: (name, has a value, gap).
fn groups(s: &Snapshot) -> Vec<(&'static str, bool, Option<GapReason>)> {
    vec![
        ("funding", s.funding.value.is_some(), s.funding.gap.clone()),
        (
            "open_interest",
            s.open_interest.value.is_some(),
            s.open_interest.gap.clone(),
        ),
        (
            "liquidations",
            s.liquidations.value.is_some(),
            s.liquidations.gap.clone(),
        ),
        ("retail", s.retail.value.is_some(), s.retail.gap.clone()),
        ("top", s.top.value.is_some(), s.top.gap.clone()),
        ("taker", s.taker.value.is_some(), s.taker.gap.clone()),
        ("price", s.price.value.is_some(), s.price.gap.clone()),
    ]
}

// ---------------------------------------------------------------------------------------------
// Item 1: the recorded liquidation spelling
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_recorded_shape_liquidation_answer_fills_liquidations_and_the_cascade_inputs() {
    let server = MockServer::start().await;
    // As public clients recorded it from the V4 host: camel-cased sides.
    Mock::given(path(paths::LIQUIDATION_EXCHANGE_LIST))
        .and(query_param("symbol", "BTC"))
        .respond_with(ok(json!([
            {"exchange": "All", "liquidation_usd": 62000000.0,
             "longLiquidation_usd": 55000000.0, "shortLiquidation_usd": 7000000.0},
            {"exchange": "Binance", "liquidation_usd": 3.0e7,
             "longLiquidation_usd": 2.7e7, "shortLiquidation_usd": 3.0e6}
        ])))
        .with_priority(1)
        .mount(&server)
        .await;
    // Both spellings in one object: read, the documented one first.
    Mock::given(path(paths::LIQUIDATION_EXCHANGE_LIST))
        .and(query_param("symbol", "ETH"))
        .respond_with(ok(json!([
            {"exchange": "All", "long_liquidation_usd": 1.0e6, "longLiquidation_usd": 9.0e9,
             "short_liquidation_usd": null, "shortLiquidation_usd": "2.5e5"}
        ])))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_market(&server).await;
    let mut src = LiveSource::connect(config(&server, &["BTC", "ETH"]))
        .await
        .unwrap();
    let snaps = src.poll(t0()).await.unwrap();
    let btc = &snaps[0];
    assert_eq!(btc.liquidations.gap, None, "{:?}", btc.liquidations.gap);
    let liq = btc.liquidations.get().unwrap();
    assert_eq!(
        (liq.long_1h_usd, liq.short_1h_usd),
        (Some(5.5e7), Some(7e6))
    );
    let inputs = btc.inputs();
    assert_eq!(
        (inputs.liq_long_1h_usd, inputs.liq_short_1h_usd),
        (Some(5.5e7), Some(7e6))
    );
    let eth = snaps[1].liquidations.get().unwrap();
    assert_eq!(
        (eth.long_1h_usd, eth.short_1h_usd),
        (Some(1e6), Some(2.5e5))
    );
}

// ---------------------------------------------------------------------------------------------
// Item 4: the cycle deadline and progress
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_symbols_funding_is_shown_while_a_long_first_cycle_is_still_running() {
    let server = MockServer::start().await;
    mount_market(&server).await;
    // Everything per symbol hangs: only the one funding list answers.
    for p in [
        paths::OI_EXCHANGE_LIST,
        paths::LIQUIDATION_EXCHANGE_LIST,
        paths::TAKER_EXCHANGE_LIST,
        paths::PAIRS_MARKETS,
    ] {
        hang(&server, p, 60).await;
    }
    let mut src = LiveSource::connect(config(&server, &["BTC", "ETH"]))
        .await
        .unwrap();
    let ctx = ctx(t0(), Duration::from_secs(3));
    let mut arrived = ctx.arrived.subscribe();
    let started = Instant::now();
    let poll = src.poll_within(&ctx);
    tokio::pin!(poll);
    let early = tokio::select! {
        _ = &mut poll => panic!("the cycle ended before anything was shown"),
        changed = arrived.changed() => {
            changed.expect("arrivals");
            arrived.borrow_and_update().clone().expect("snapshots")
        }
    };
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shown at once, not at the deadline: {:?}",
        started.elapsed()
    );
    assert_eq!(early.len(), 2);
    for s in early.iter() {
        assert!(
            s.funding.get().and_then(|f| f.rate_8h_pct).is_some(),
            "{}",
            s.symbol
        );
        assert_eq!(s.funding.observed_at, Some(t0()));
        // Nothing else has arrived, and nothing pretends it has.
        assert!(s.open_interest.value.is_none() && s.liquidations.value.is_none());
    }
    let snaps = poll.await.unwrap();
    assert!(snaps[0].open_interest.gap.is_some());
}

#[tokio::test]
async fn a_hanging_endpoint_ends_the_cycle_at_its_deadline_with_the_rest_fresh() {
    let server = MockServer::start().await;
    mount_market(&server).await;
    let mut src = LiveSource::connect(config(&server, &["BTC", "ETH"]))
        .await
        .unwrap();
    // A good first cycle, then the OI list hangs.
    let first = src.poll(t0()).await.unwrap();
    assert_eq!(first[0].open_interest.gap, None);
    hang(&server, paths::OI_EXCHANGE_LIST, 60).await;

    let t1 = t0() + chrono::Duration::minutes(5);
    let started = Instant::now();
    let snaps = src
        .poll_within(&ctx(t1, Duration::from_secs(2)))
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1900), "ended early: {took:?}");
    assert!(took < Duration::from_secs(6), "ended late: {took:?}");

    for s in &snaps {
        let oi = &s.open_interest;
        // The last good value is kept, stale, with the reason; never a 0.
        assert_eq!(oi.get().unwrap().oi_usd, Some(1e10), "{}", s.symbol);
        assert_eq!(oi.observed_at, Some(t0()));
        assert_eq!(
            oi.gap,
            Some(GapReason::FetchFailed(TIMED_OUT.into())),
            "{}",
            s.symbol
        );
        for (name, observed) in [
            ("funding", s.funding.observed_at),
            ("liquidations", s.liquidations.observed_at),
        ] {
            assert_eq!(observed, Some(t1), "{} {name} is fresh", s.symbol);
        }
        assert_eq!(s.funding.gap, None);
        assert_eq!(s.liquidations.gap, None);
    }
    let errors = src.last_cycle_errors();
    assert_eq!(errors.len(), 1, "said once: {errors:?}");
    assert!(errors[0].contains(TIMED_OUT), "{errors:?}");
    assert!(errors[0].contains("and 1 more"), "{errors:?}");
}

#[tokio::test]
async fn a_first_cycle_against_a_hanging_server_is_absent_with_the_reason_by_the_deadline() {
    let server = MockServer::start().await;
    mount(
        &server,
        paths::SUBSCRIPTION,
        ok(json!({"level": "HOBBYIST"})),
    )
    .await;
    Mock::given(method("GET"))
        .respond_with(ok(json!([])).set_delay(Duration::from_secs(60)))
        .mount(&server)
        .await;
    let mut src = LiveSource::connect(config(&server, &["BTC", "ETH", "SOL"]))
        .await
        .unwrap();
    let c = ctx(t0(), Duration::from_secs(2));
    let watch = c.progress.subscribe();
    let started = Instant::now();
    let snaps = src.poll_within(&c).await.unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(6), "ended late: {took:?}");
    for s in &snaps {
        for (name, has_value, gap) in groups(s) {
            assert!(!has_value, "{} {name}: no value, so no number", s.symbol);
            assert_eq!(
                gap,
                Some(GapReason::FetchFailed(TIMED_OUT.into())),
                "{} {name}",
                s.symbol
            );
        }
    }
    let p = *watch.borrow();
    assert!(p.total > 0 && p.done == p.total, "{p:?}");
    // Only what could start before the deadline was sent (at most one batch in flight).
    let sent = server.received_requests().await.unwrap_or_default().len();
    assert!(sent <= 1 + 8, "{sent} requests");
}

#[tokio::test]
async fn a_closed_port_fails_every_metric_once_with_one_line_per_problem() {
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cfg = LiveConfig::new(
        format!("http://127.0.0.1:{port}"),
        SecretString::from(TEST_KEY),
        vec!["BTC".into(), "ETH".into(), "SOL".into()],
    );
    cfg.client.max_attempts = 1;
    let mut src = LiveSource::connect(cfg).await.unwrap();
    let started = Instant::now();
    let snaps = src
        .poll_within(&ctx(t0(), Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    for s in &snaps {
        for (name, has_value, gap) in groups(s) {
            assert!(!has_value, "{} {name}", s.symbol);
            assert!(
                matches!(gap, Some(GapReason::FetchFailed(_))),
                "{} {name}: {gap:?}",
                s.symbol
            );
        }
    }
    let errors = src.last_cycle_errors();
    assert_eq!(errors.len(), 1, "one problem, one line: {errors:?}");
    assert!(errors[0].contains("more requests"), "{errors:?}");
    assert!(!errors[0].contains(TEST_KEY));
}

#[tokio::test]
async fn progress_counts_requests_as_their_answers_arrive() {
    let server = MockServer::start().await;
    // Prices arrive late; everything else at once.
    Mock::given(path(paths::PAIRS_MARKETS))
        .respond_with(ok(json!([])).set_delay(Duration::from_millis(1500)))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_market(&server).await;
    let mut src = LiveSource::connect(config(&server, &["BTC", "ETH"]))
        .await
        .unwrap();
    let c = ctx(t0(), Duration::from_secs(20));
    let mut watch = c.progress.subscribe();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<PollProgress>::new()));
    let record = seen.clone();
    let observer = tokio::spawn(async move {
        while watch.changed().await.is_ok() {
            let p = *watch.borrow_and_update();
            record.lock().unwrap().push(p);
        }
    });
    let snaps = src.poll_within(&c).await.unwrap();
    drop(c);
    observer.await.unwrap();
    let seen = seen.lock().unwrap().clone();
    let last = *seen.last().unwrap();
    // Cycle 0: funding + pair lookup + 2 × (OI, liq, taker, price, 2 × L/S).
    assert_eq!(
        last,
        PollProgress {
            done: 14,
            total: 14
        }
    );
    assert!(
        seen.iter().any(|p| p.done >= 12 && p.done < p.total),
        "the fast answers were counted while the slow ones ran: {seen:?}"
    );
    assert!(seen.windows(2).all(|w| w[0].done <= w[1].done), "{seen:?}");
    assert!(snaps[0].funding.get().is_some());
}

// ---------------------------------------------------------------------------------------------
// Item 6: reference pairs, funding weights, intervals, exchange names
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn okx_pairs_are_resolved_once_and_a_missing_pair_is_said_not_requested() {
    let server = MockServer::start().await;
    Mock::given(path(paths::SUPPORTED_EXCHANGE_PAIRS))
        .respond_with(ok(json!({
          "Binance": [
            {"instrument_id": "BTCUSDT", "base_asset": "BTC", "quote_asset": "USDT"},
            {"instrument_id": "NOPEUSDT", "base_asset": "NOPE", "quote_asset": "USDT"}
          ],
          "OKX": [
            {"instrument_id": "BTC-USD-SWAP", "base_asset": "BTC", "quote_asset": "USD"},
            {"instrument_id": "BTC-USDT-250328", "base_asset": "BTC", "quote_asset": "USDT"},
            {"instrument_id": "BTC-USDT-SWAP", "base_asset": "BTC", "quote_asset": "USDT"},
            {"instrument_id": "ETH-USDT-SWAP", "base_asset": "ETH", "quote_asset": "USDT"}
          ]
        })))
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    for (kind, prefix, long) in [
        (LongShortKind::GlobalAccount, "global_account", 64.0),
        (LongShortKind::TopAccount, "top_account", 51.0),
    ] {
        for pair in ["BTC-USDT-SWAP", "ETH-USDT-SWAP"] {
            Mock::given(path(kind.path()))
                .and(query_param("exchange", "OKX"))
                .and(query_param("symbol", pair))
                .respond_with(ok(json!([{"time": t0().timestamp_millis() - 1_800_000,
                    format!("{prefix}_long_percent"): long,
                    format!("{prefix}_short_percent"): 100.0 - long}])))
                .with_priority(1)
                .mount(&server)
                .await;
        }
        // Any other id: zero rows and no error, as the real API answers a wrong pair id.
        Mock::given(path(kind.path()))
            .respond_with(ok(json!([])))
            .with_priority(2)
            .mount(&server)
            .await;
    }
    mount_market(&server).await;
    let logs = Logs::default();
    let _guard = logs.install();
    let mut cfg = config(&server, &["BTC", "ETH", "NOPE"]);
    cfg.reference_exchange = "okx".into();
    let mut src = LiveSource::connect(cfg).await.unwrap();
    for k in 0..3i64 {
        // A new 4h bar every cycle: long/short is due each time.
        let now = t0() + chrono::Duration::hours(4 * k);
        let snaps = src.poll(now).await.unwrap();
        let btc = snaps[0].retail.get().expect("BTC retail");
        assert_eq!(btc.long_pct, Some(64.0));
        assert_eq!(btc.source, "OKX BTC-USDT-SWAP 4h");
        assert_eq!(snaps[1].top.get().unwrap().long_pct, Some(51.0));
        for field in [&snaps[2].retail, &snaps[2].top] {
            assert_eq!(field.value, None);
            assert_eq!(
                field.gap,
                Some(GapReason::Unavailable("no NOPE/USDT pair on OKX".into()))
            );
        }
    }
    for kind in [LongShortKind::GlobalAccount, LongShortKind::TopAccount] {
        let sent = requests_to(&server, kind.path()).await;
        let ids: Vec<String> = sent
            .iter()
            .filter_map(|r| {
                r.url
                    .query_pairs()
                    .find(|(k, _)| k == "symbol")
                    .map(|(_, v)| v.into_owned())
            })
            .collect();
        assert!(
            ids.iter().all(|id| id.ends_with("-USDT-SWAP")),
            "only resolved ids are asked: {ids:?}"
        );
        assert!(!ids.iter().any(|id| id.contains("NOPE")), "{ids:?}");
    }
    assert_eq!(
        requests_to(&server, paths::SUPPORTED_EXCHANGE_PAIRS)
            .await
            .len(),
        1
    );
    let said = logs.text().matches("no NOPE/USDT pair on OKX").count();
    assert_eq!(said, 1, "said once: {}", logs.text());
}

#[tokio::test]
async fn a_failed_pair_lookup_falls_back_to_the_guessed_id_and_is_asked_again_later() {
    let server = MockServer::start().await;
    Mock::given(path(paths::SUPPORTED_EXCHANGE_PAIRS))
        .respond_with(ResponseTemplate::new(503))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_market(&server).await;
    let mut src = LiveSource::connect(config(&server, &["BTC"]))
        .await
        .unwrap();
    let snaps = src.poll(t0()).await.unwrap();
    assert_eq!(snaps[0].retail.get().unwrap().source, "Binance BTCUSDT 4h");
    // Not every cycle; again after a while.
    src.poll(t0() + chrono::Duration::minutes(5)).await.unwrap();
    assert_eq!(
        requests_to(&server, paths::SUPPORTED_EXCHANGE_PAIRS)
            .await
            .len(),
        1
    );
    src.poll(t0() + chrono::Duration::hours(1)).await.unwrap();
    assert_eq!(
        requests_to(&server, paths::SUPPORTED_EXCHANGE_PAIRS)
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn a_hanging_pair_lookup_holds_back_only_long_short() {
    let server = MockServer::start().await;
    mount_market(&server).await;
    hang(&server, paths::SUPPORTED_EXCHANGE_PAIRS, 60).await;
    let mut src = LiveSource::connect(config(&server, &["BTC"]))
        .await
        .unwrap();
    let snaps = src
        .poll_within(&ctx(t0(), Duration::from_secs(2)))
        .await
        .unwrap();
    let s = &snaps[0];
    for (name, has_value, gap) in groups(s) {
        if name == "retail" || name == "top" {
            assert!(!has_value);
            assert_eq!(
                gap,
                Some(GapReason::FetchFailed(TIMED_OUT.into())),
                "{name}"
            );
        } else {
            assert!(has_value && gap.is_none(), "{name}: {gap:?}");
        }
    }
    assert!(requests_to(&server, LongShortKind::GlobalAccount.path())
        .await
        .is_empty());
}

#[tokio::test]
async fn funding_is_weighted_by_stablecoin_margined_oi_across_exchange_spellings() {
    let server = MockServer::start().await;
    Mock::given(path(paths::FUNDING_EXCHANGE_LIST))
        .respond_with(ok(json!([{"symbol": "BTC",
            "stablecoin_margin_list": [
                {"exchange": "Binance", "funding_rate": 0.01, "funding_rate_interval": 8},
                {"exchange": "OKX", "funding_rate": 0.05, "funding_rate_interval": 8},
                {"exchange": "Gate", "funding_rate": 0.0125, "funding_rate_interval": 1},
                {"exchange": "HTX", "funding_rate": 0.02, "funding_rate_interval": 4},
                // No interval: shown as quoted, left out of the mean, said once.
                {"exchange": "Bybit", "funding_rate": 0.9}
            ],
            "token_margin_list": [
                {"exchange": "Binance", "funding_rate": 0.03, "funding_rate_interval": 8}]}])))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path(paths::OI_EXCHANGE_LIST))
        .respond_with(ok(json!([
            {"exchange": "All", "open_interest_usd": 3.0e10, "open_interest_by_stable_coin_margin": 2.0e10},
            {"exchange": "Binance", "open_interest_usd": 1.0e10, "open_interest_by_stable_coin_margin": 6.0e9},
            {"exchange": "OKEx", "open_interest_usd": 5.0e9, "open_interest_by_stable_coin_margin": 1.0e9},
            {"exchange": "Gate.io", "open_interest_usd": 2.0e9, "open_interest_by_stable_coin_margin": 2.0e9},
            {"exchange": "Huobi", "open_interest_usd": 1.0e9, "open_interest_by_stable_coin_margin": 1.0e9},
            {"exchange": "Bybit", "open_interest_usd": 4.0e9, "open_interest_by_stable_coin_margin": 4.0e9}
        ])))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_market(&server).await;
    let logs = Logs::default();
    let _guard = logs.install();
    let mut src = LiveSource::connect(config(&server, &["BTC"]))
        .await
        .unwrap();
    let mut rate = None;
    for k in 0..3 {
        let snaps = src.poll(t0() + chrono::Duration::minutes(k)).await.unwrap();
        let f = snaps[0].funding.get().unwrap().clone();
        // 8h rates 0.01, 0.05, 0.1, 0.04 on stablecoin-margined OI 6 : 1 : 2 : 1 (×1e9).
        let want = (0.01 * 6.0 + 0.05 * 1.0 + 0.1 * 2.0 + 0.04 * 1.0) / 10.0;
        assert!(
            f.rate_8h_pct.is_some_and(|r| (r - want).abs() < 1e-12),
            "{:?} vs {want} (total-OI weights would give a different rate)",
            f.rate_8h_pct
        );
        let row = |ex: &str, m: Margin| {
            f.by_exchange
                .iter()
                .find(|r| r.exchange == ex && r.margin == m)
                .unwrap()
                .clone()
        };
        for (ex, oi) in [("Binance", 6e9), ("OKX", 1e9), ("Gate", 2e9), ("HTX", 1e9)] {
            assert_eq!(
                row(ex, Margin::Stablecoin).oi_usd,
                Some(oi),
                "{ex}: no weight dropped"
            );
        }
        assert_eq!(
            row("Binance", Margin::Token).oi_usd,
            Some(4e9),
            "coin-margined share"
        );
        let bybit = row("Bybit", Margin::Stablecoin);
        assert_eq!((bybit.interval_hours, bybit.rate_pct), (None, 0.9));
        rate = f.rate_8h_pct;
    }
    assert!(rate.is_some());
    let text = logs.text();
    assert_eq!(
        text.matches("Bybit: the API gave no funding interval")
            .count(),
        1,
        "said once: {text}"
    );
}

// ---------------------------------------------------------------------------------------------
// Item 7: nulls on the OI list
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_null_oi_usd_comes_with_a_reason_never_a_silent_hole() {
    let server = MockServer::start().await;
    let null_all = || {
        ok(json!([
            {"exchange": "All", "open_interest_usd": null, "open_interest_change_percent_1h": null},
            {"exchange": "Binance", "open_interest_usd": null}
        ]))
    };
    Mock::given(path(paths::OI_EXCHANGE_LIST))
        .respond_with(null_all())
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_market(&server).await;
    let mut src = LiveSource::connect(config(&server, &["BTC"]))
        .await
        .unwrap();
    // Nulls on the first cycle: absent, with the reason.
    let s = src.poll(t0()).await.unwrap().remove(0);
    assert_eq!(s.open_interest.value, None);
    assert_eq!(s.open_interest.gap, Some(GapReason::NotReported));
    assert!(s.gaps().iter().any(|g| g.metric == "open_interest"));
    // A good cycle, then nulls again: the last value stays, stale, with the reason.
    let t1 = t0() + chrono::Duration::minutes(1);
    let s = src.poll(t1).await.unwrap().remove(0);
    assert_eq!(s.open_interest.get().unwrap().oi_usd, Some(1e10));
    Mock::given(path(paths::OI_EXCHANGE_LIST))
        .respond_with(null_all())
        .with_priority(1)
        .mount(&server)
        .await;
    let t2 = t0() + chrono::Duration::minutes(2);
    let s = src.poll(t2).await.unwrap().remove(0);
    assert!(s.open_interest.is_stale());
    assert_eq!(s.open_interest.get().unwrap().oi_usd, Some(1e10));
    assert_eq!(s.open_interest.observed_at, Some(t1));
    assert_eq!(s.open_interest.gap, Some(GapReason::NotReported));
    let gap = s
        .gaps()
        .into_iter()
        .find(|g| g.metric == "open_interest")
        .unwrap();
    assert_eq!(gap.age_s, Some(60));
}

// ---------------------------------------------------------------------------------------------
// Item 2: a subscription that cannot be read is not shown as a known plan
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unreadable_subscription_is_shown_as_an_assumption_with_the_reason() {
    let server = MockServer::start().await;
    mount(&server, paths::SUBSCRIPTION, ResponseTemplate::new(503)).await;
    let src = LiveSource::connect(config(&server, &["BTC"]))
        .await
        .unwrap();
    assert_eq!(src.plan(), Plan::Hobbyist);
    assert_eq!(
        src.request_stats().limit_per_minute,
        Some(30),
        "conservative limits"
    );
    assert_eq!(Source::label(&src).to_string(), "LIVE · HOBBYIST (assumed)");
    let note = src.plan_note().unwrap();
    assert!(
        note.contains("could not read the CoinGlass subscription at start"),
        "{note}"
    );
    assert!(note.contains("503"), "{note}");
    assert!(!note.contains(TEST_KEY));

    let mut cfg = config(&server, &["BTC"]);
    cfg.plan_override = Some(Plan::Startup);
    let src = LiveSource::connect(cfg).await.unwrap();
    assert_eq!(src.label().plan.as_deref(), Some("STARTUP (unconfirmed)"));
    assert!(src.plan_note().unwrap().contains("configured STARTUP plan"));

    let src = connected_at_level("PLATINUM").await;
    assert_eq!(src.label().plan.as_deref(), Some("HOBBYIST (assumed)"));
    assert!(src.plan_note().unwrap().contains("\"PLATINUM\""));

    let src = connected_at_level("Startup").await;
    assert_eq!(src.label().plan.as_deref(), Some("STARTUP"));
    assert_eq!(src.plan_note(), None);
}

/// A BTC live source whose subscription reports `level`.
async fn connected_at_level(level: &str) -> LiveSource {
    let server = MockServer::start().await;
    mount(&server, paths::SUBSCRIPTION, ok(json!({ "level": level }))).await;
    LiveSource::connect(config(&server, &["BTC"]))
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Item 10: "live source ready" once, the schedule once
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn start_up_says_ready_and_the_schedule_once_each() {
    let server = common::coinglass().await;
    let sb = Sandbox::new();
    let mut cmd = sb.live_command(&server);
    cmd.args(["--no-ui", "--once", "--symbols", "BTC"]);
    let out = common::run(cmd).await;
    let (_, stderr) = common::text(&out);
    let logs = sb.logs();
    assert_eq!(
        logs.matches("live source ready").count(),
        1,
        "stderr: {stderr}\nlogs: {logs}"
    );
    // The schedule's explanation ("… requests per … cycle …") is logged by one line only.
    let schedule_lines = logs
        .lines()
        .filter(|l| l.contains("requests per") && l.contains("cycle"))
        .count();
    assert_eq!(schedule_lines, 1, "{logs}");
    assert!(!logs.contains(TEST_KEY) && !stderr.contains(TEST_KEY));
}
