use super::super::pairs::{self, pair_key};
use super::state::{PriceRing, PRICE_RING_MAX, PRICE_RING_SPAN_MIN};
use super::*;
use chrono::TimeZone;

fn t(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(min)
}

#[tokio::test]
async fn seeded_prices_give_a_1h_change_right_after_a_restart() {
    let cfg = LiveConfig {
        plan_override: Some(Plan::Standard),
        ..LiveConfig::new(
            "http://127.0.0.1:9",
            SecretString::from("k".to_string()),
            vec!["BTC".into()],
        )
    };
    let client = CoinGlassClient::new(
        cfg.base_url.clone(),
        cfg.api_key.clone(),
        cfg.client.clone(),
    );
    let Ok(client) = client else {
        panic!("client");
    };
    let schedule = plan_schedule(ScheduleInput::for_plan(
        Plan::Standard,
        1,
        cfg.poll_interval,
    ));
    let mut src = LiveSource::new(client, Plan::Standard, schedule, &cfg, vec!["BTC".into()]);
    assert_eq!(src.symbols[0].ring.change_1h_pct(t(70), 110.0), None);
    src.seed_prices("btc", &[(t(0), 100.0), (t(5), f64::NAN), (t(30), 105.0)]);
    src.seed_prices("ETH", &[(t(0), 1.0)]); // not watched: ignored
    let c = src.symbols[0].ring.change_1h_pct(t(60), 110.0);
    assert!(c.is_some_and(|c| (c - 10.0).abs() < 1e-9), "{c:?}");
}

#[test]
fn ring_gives_no_change_before_an_hour_and_the_nearest_to_an_hour_after() {
    let mut r = PriceRing::default();
    for m in (0..=40).step_by(5) {
        r.push(t(m), 100.0);
    }
    assert_eq!(r.change_1h_pct(t(40), 101.0), None);
    for m in (45..=65).step_by(5) {
        r.push(t(m), 100.0 + (m - 40) as f64);
    }
    // At 65 min, the observation 60 min old is t(5) = 100.
    let c = r.change_1h_pct(t(65), 110.0).unwrap();
    assert!((c - 10.0).abs() < 1e-9);
    // Bounded in time and length.
    for m in 66..400 {
        r.push(t(m), 1.0);
    }
    assert!(r.0.len() <= PRICE_RING_MAX);
    assert!(r
        .0
        .front()
        .is_some_and(|(at, _)| *at >= t(399 - PRICE_RING_SPAN_MIN)));
}

#[test]
fn ls_due_is_the_next_bar_boundary_or_a_short_retry() {
    let h4 = chrono::Duration::hours(4);
    let poll = chrono::Duration::minutes(1);
    // In-progress bar 08:00 seen at 09:30 → next bar at 12:00.
    assert_eq!(next_ls_due(t(480), h4, t(570), true, poll), t(720));
    // Closed bar 04:00 seen at 09:30 (server serves closed bars only) → 12:00 as well.
    assert_eq!(next_ls_due(t(240), h4, t(570), true, poll), t(720));
    // Expected a new bar but got the old one → retry after 30 min.
    assert_eq!(next_ls_due(t(480), h4, t(725), false, poll), t(755));
}

#[test]
fn pair_keys_ignore_separators_and_perp_suffixes() {
    assert_eq!(pair_key("BTC-USDT-SWAP"), "BTCUSDT");
    assert_eq!(pair_key("btc/usdt"), "BTCUSDT");
    assert_eq!(pair_key("1000PEPEUSDT"), "1000PEPEUSDT");
}

fn pairs_answer(v: serde_json::Value) -> super::super::wire::ExchangePairs {
    serde_json::from_value(v).unwrap()
}

fn coins(list: &[&str]) -> Vec<String> {
    list.iter().map(|c| c.to_string()).collect()
}

#[test]
fn pair_ids_are_resolved_in_each_exchanges_own_spelling() {
    let answer = pairs_answer(serde_json::json!({
        "OKX": [
            {"instrument_id": "BTC-USD-SWAP", "base_asset": "BTC", "quote_asset": "USD"},
            {"instrument_id": "BTC-USDT-250328", "base_asset": "BTC", "quote_asset": "USDT"},
            {"instrument_id": "BTC-USDT-SWAP", "base_asset": "BTC", "quote_asset": "USDT"},
            {"instrument_id": "ETH-USDT-SWAP", "base_asset": "ETH", "quote_asset": "USDT"}
        ]
    }));
    let l = pairs::resolve_pairs(&answer, "okx", &coins(&["BTC", "ETH", "NOPE"]), "USDT");
    assert_eq!(
        l,
        Some(pairs::PairLookup {
            exchange: Some("OKX".into()),
            ids: vec![
                Some("BTC-USDT-SWAP".into()),
                Some("ETH-USDT-SWAP".into()),
                None
            ],
        })
    );
    for (exchange, id) in [
        ("Gate", "BTC_USDT"),
        ("Bitget", "BTCUSDT_UMCBL"),
        ("Binance", "BTCUSDT"),
    ] {
        let answer = pairs_answer(serde_json::json!({ exchange: [
            {"instrument_id": "BTCUSD_PERP", "base_asset": "BTC", "quote_asset": "USD"},
            {"instrument_id": "BTCUSDT_250627", "base_asset": "BTC", "quote_asset": "USDT"},
            {"instrument_id": id, "base_asset": "BTC", "quote_asset": "USDT"}
        ]}));
        let l = pairs::resolve_pairs(&answer, exchange, &coins(&["BTC"]), "USDT").unwrap();
        assert_eq!(l.ids, vec![Some(id.to_string())], "{exchange}");
    }
}

#[test]
fn pair_lookup_matches_other_spellings_and_says_when_nothing_is_listed() {
    // Configured as "Gate.io", listed as "Gate": the API's spelling is kept for requests.
    let answer = pairs_answer(serde_json::json!({
        "Binance": [{"instrument_id": "BTCUSDT", "base_asset": "BTC", "quote_asset": "USDT"}],
        "Gate": [{"instrument_id": "BTC_USDT", "base_asset": "BTC", "quote_asset": "USDT"}]
    }));
    let l = pairs::resolve_pairs(&answer, "Gate.io", &coins(&["BTC"]), "USDT").unwrap();
    assert_eq!(l.exchange.as_deref(), Some("Gate"));
    assert_eq!(l.ids, vec![Some("BTC_USDT".to_string())]);
    // Base and quote assets decide when the id does not read <COIN><QUOTE>.
    let answer = pairs_answer(serde_json::json!({"KuCoin": [
        {"instrument_id": "XBTUSDTM", "base_asset": "BTC", "quote_asset": "USDT"}
    ]}));
    let l = pairs::resolve_pairs(&answer, "KuCoin", &coins(&["BTC"]), "USDT").unwrap();
    assert_eq!(l.ids, vec![Some("XBTUSDTM".to_string())]);
    // An exchange the answer does not list: every pair is missing.
    let l = pairs::resolve_pairs(&answer, "Kraken", &coins(&["BTC"]), "USDT").unwrap();
    assert_eq!((l.exchange, l.ids), (None, vec![None]));
    // An empty answer is no verdict.
    assert_eq!(
        pairs::resolve_pairs(
            &pairs_answer(serde_json::json!({})),
            "OKX",
            &coins(&["BTC"]),
            "USDT"
        ),
        None
    );
}

fn offline_source(plan: Plan, symbols: &[&str]) -> LiveSource {
    let cfg = LiveConfig::new(
        "http://127.0.0.1:9",
        SecretString::from("k".to_string()),
        coins(symbols),
    );
    let client = CoinGlassClient::new(
        cfg.base_url.clone(),
        cfg.api_key.clone(),
        cfg.client.clone(),
    )
    .unwrap();
    let schedule = plan_schedule(ScheduleInput::for_plan(
        plan,
        symbols.len(),
        cfg.poll_interval,
    ));
    LiveSource::new(client, plan, schedule, &cfg, coins(symbols))
}

#[test]
fn the_funding_list_goes_first_and_long_short_waits_for_the_pair_lookup() {
    let src = offline_source(Plan::Hobbyist, &["BTC", "ETH"]);
    let planned = src.plan_jobs(0, t(0));
    assert_eq!(planned.jobs[..2], [Job::Funding, Job::PairList]);
    assert!(planned
        .jobs
        .iter()
        .all(|j| !matches!(j, Job::LongShort(..))));
    assert_eq!(planned.after_pairs.len(), 4);
    // Once resolved, long/short goes out at once and the lookup is not repeated.
    let mut src = src;
    src.pairs_due = None;
    for st in &mut src.symbols {
        st.pair_state = state::PairState::Resolved;
    }
    let planned = src.plan_jobs(1, t(1));
    assert!(!planned.jobs.contains(&Job::PairList));
    assert!(planned.after_pairs.is_empty());
    assert_eq!(
        planned
            .jobs
            .iter()
            .filter(|j| matches!(j, Job::LongShort(..)))
            .count(),
        4
    );
    // A pair the exchange does not list is not asked for.
    src.symbols[1].pair_state = state::PairState::Missing("no ETH/USDT pair on X".into());
    let planned = src.plan_jobs(2, t(2));
    assert!(!planned.jobs.contains(&Job::LongShort(Side::Retail, 1)));
    assert!(planned.jobs.contains(&Job::LongShort(Side::Retail, 0)));
}

#[test]
fn failures_are_summarised_once_per_distinct_problem() {
    let refused = |endpoint: &str| {
        Err(answers::Failure::Api(ApiError::Transient {
            endpoint: endpoint.into(),
            detail: "connection refused".into(),
        }))
    };
    let results: Vec<(Job, Outcome)> = vec![
        (
            Job::Funding,
            refused("/api/futures/funding-rate/exchange-list"),
        ),
        (
            Job::Oi(0),
            refused("/api/futures/open-interest/exchange-list?symbol=BTC"),
        ),
        (
            Job::Oi(1),
            refused("/api/futures/open-interest/exchange-list?symbol=ETH"),
        ),
        (Job::Liq(0), Err(answers::Failure::TimedOut)),
        (Job::Liq(1), Err(answers::Failure::TimedOut)),
    ];
    assert_eq!(
        summarize_failures(&results),
        [
            "/api/futures/funding-rate/exchange-list: connection refused (and 2 more requests)",
            "liquidation/exchange-list: timed out at the cycle deadline (and 1 more requests)"
        ]
    );
}

#[test]
fn progress_never_counts_past_its_total() {
    let tx = tokio::sync::watch::Sender::new(crate::source::PollProgress::default());
    let rx = tx.subscribe();
    let mut p = Progress::start(&tx, 3);
    p.finished();
    p.dropped(1);
    assert_eq!(
        *rx.borrow(),
        crate::source::PollProgress { done: 1, total: 2 }
    );
    p.planned(2);
    for _ in 0..5 {
        p.finished();
    }
    assert_eq!(
        *rx.borrow(),
        crate::source::PollProgress { done: 4, total: 4 }
    );
}

#[test]
fn unknown_or_unweighted_funding_rows_are_said_and_weights_follow_the_margin() {
    use crate::model::Margin;
    let coin: FundingCoin = serde_json::from_value(serde_json::json!({
        "symbol": "BTC",
        "stablecoin_margin_list": [
            {"exchange": "Binance", "funding_rate": 0.01, "funding_rate_interval": 8},
            {"exchange": "OKX", "funding_rate": 0.05, "funding_rate_interval": 8},
            {"exchange": "Bybit", "funding_rate": 0.3},
            {"exchange": "Lighter", "funding_rate": 0.2, "funding_rate_interval": 1}
        ],
        "token_margin_list": [{"exchange": "Binance", "funding_rate": 0.02, "funding_rate_interval": 8}]
    }))
    .unwrap();
    let rows: Vec<OiExchangeRow> = serde_json::from_value(serde_json::json!([
        {"exchange": "All", "open_interest_usd": 2e10},
        {"exchange": "Binance", "open_interest_usd": 1e10, "open_interest_by_stable_coin_margin": 6e9},
        {"exchange": "OKEx", "open_interest_usd": 5e9, "open_interest_by_stable_coin_margin": 2e9},
        {"exchange": "Bybit", "open_interest_usd": 3e9, "open_interest_by_stable_coin_margin": 3e9}
    ]))
    .unwrap();
    let weights = answers::funding_weights(&rows);
    let (f, notes) = funding_of(&coin, &weights);
    let f = f.unwrap();
    // Stablecoin-margined shares 6:2; Bybit (interval unknown) and Lighter (no OI) left out.
    let want = (0.01 * 6.0 + 0.05 * 2.0) / 8.0;
    assert!(
        (f.rate_8h_pct.unwrap() - want).abs() < 1e-12,
        "{:?}",
        f.rate_8h_pct
    );
    let oi = |ex: &str, m: Margin| {
        f.by_exchange
            .iter()
            .find(|r| r.exchange == ex && r.margin == m)
            .and_then(|r| r.oi_usd)
    };
    assert_eq!(oi("Binance", Margin::Stablecoin), Some(6e9));
    assert_eq!(oi("Binance", Margin::Token), Some(4e9));
    assert_eq!(oi("OKX", Margin::Stablecoin), Some(2e9), "OKEx is OKX");
    let bybit = f
        .by_exchange
        .iter()
        .find(|r| r.exchange == "Bybit")
        .unwrap();
    assert_eq!((bybit.interval_hours, bybit.rate_pct), (None, 0.3));
    let said: Vec<&str> = notes.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(
        said[0].contains("Bybit") && said[0].contains("no funding interval"),
        "{said:?}"
    );
    assert!(
        said[1].contains("Lighter") && said[1].contains("no figure"),
        "{said:?}"
    );
}

#[tokio::test]
async fn a_deadline_already_past_sends_nothing_and_marks_every_metric() {
    let mut src = offline_source(Plan::Hobbyist, &["BTC"]);
    let ctx = PollContext::within(t(0), Duration::ZERO);
    let progress = ctx.progress.subscribe();
    let snaps = src.poll_within(&ctx).await.unwrap();
    assert_eq!(src.client.requests_total(), 0, "nothing was sent");
    let s = &snaps[0];
    let timed_out = Some(crate::model::GapReason::FetchFailed(
        answers::TIMED_OUT.into(),
    ));
    for (name, gap) in [
        ("funding", &s.funding.gap),
        ("oi", &s.open_interest.gap),
        ("liq", &s.liquidations.gap),
        ("retail", &s.retail.gap),
        ("top", &s.top.gap),
        ("taker", &s.taker.gap),
        ("price", &s.price.gap),
    ] {
        assert_eq!(gap, &timed_out, "{name}");
    }
    // funding, pair lookup, OI, liquidations, price, taker, 2 × long/short.
    assert_eq!(
        *progress.borrow(),
        crate::source::PollProgress { done: 8, total: 8 }
    );
    // The lookup is tried again next cycle.
    assert_eq!(src.pairs_due, Some(t(0)));
}
