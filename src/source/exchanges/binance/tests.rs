use super::super::venue::{FrameParser, LiqSide, Parsed};
use super::*;
use crate::model::funding_to_8h;
use chrono::TimeZone;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// 2026-01-01 12:02 UTC: two minutes into a 5-minute bar.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 2, 0).unwrap()
}
const BAR_MS: i64 = 5 * MIN_MS;
/// The latest 5-minute bar's start before `now()` (12:00).
fn base_ms() -> i64 {
    let n = now().timestamp_millis();
    n - n.rem_euclid(BAR_MS)
}

pub(super) fn inst(coin: &str, id: &str, multiplier: f64) -> Instrument {
    Instrument {
        coin: coin.into(),
        id: id.into(),
        price_multiplier: multiplier,
        contract_size: 1.0,
    }
}

fn watched() -> Vec<Instrument> {
    vec![
        inst("BTC", "BTCUSDT", 1.0),
        inst("PEPE", "1000PEPEUSDT", 1000.0),
        inst("SOL", "SOLUSDT", 1.0),
    ]
}

async fn serve(server: &MockServer, at: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

/// Mounted before [`market`]'s answers, so it wins for its path.
async fn override_with(server: &MockServer, at: &str, answer: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(answer)
        .with_priority(1)
        .mount(server)
        .await;
}

/// A healthy Binance in the documented shapes: numbers as strings, `""`, extra fields.
async fn market(server: &MockServer) {
    let next = base_ms() + 2 * HOUR_MS;
    serve(server, PREMIUM_INDEX, json!([
        {"symbol": "BTCUSDT", "markPrice": "50000.00000000", "indexPrice": "49990.1",
         "estimatedSettlePrice": "", "lastFundingRate": "0.00010000", "interestRate": "0.00010000",
         "nextFundingTime": next, "time": base_ms(), "newField": [1]},
        {"symbol": "1000PEPEUSDT", "markPrice": "0.01000000", "lastFundingRate": "-0.00020000",
         "nextFundingTime": next},
        {"symbol": "SOLUSDT", "markPrice": "100", "lastFundingRate": "0.00005000",
         "nextFundingTime": next},
        {"symbol": "BTCUSDT_260327", "markPrice": "51000", "lastFundingRate": "", "nextFundingTime": 0}
    ])).await;
    serve(
        server,
        TICKER_24H,
        json!([
            {"symbol": "BTCUSDT", "priceChange": "1000.0", "priceChangePercent": "2.040",
             "lastPrice": "50010.50", "volume": "8913.3", "openTime": 1, "count": 76},
            {"symbol": "1000PEPEUSDT", "lastPrice": "0.01020", "priceChangePercent": "-1.500"},
            {"symbol": "SOLUSDT", "lastPrice": "100.5", "priceChangePercent": ""}
        ]),
    )
    .await;
    serve(server, FUNDING_INFO, json!([
        {"symbol": "1000PEPEUSDT", "adjustedFundingRateCap": "0.02500000",
         "adjustedFundingRateFloor": "-0.02500000", "fundingIntervalHours": 4, "disclaimer": false},
        {"symbol": "SOLUSDT", "fundingIntervalHours": "1"}
    ])).await;
    serve(
        server,
        OPEN_INTEREST,
        json!({"openInterest": "1000.500", "symbol": "ANY", "time": 1}),
    )
    .await;
    // 24 h of 5-minute bars, newest 12:00; k bars back holds 1e9 − k·1e6 USD. Timestamps as
    // strings (the docs' examples).
    let hist: Vec<Value> = (0..=288)
        .rev()
        .map(|k: i64| {
            json!({"symbol": "BTCUSDT", "sumOpenInterest": "20403.637",
            "sumOpenInterestValue": format!("{}", 1e9 - k as f64 * 1e6),
            "timestamp": (base_ms() - k * BAR_MS).to_string()})
        })
        .collect();
    serve(server, OI_HIST, Value::Array(hist)).await;
    let klines: Vec<Value> = (0..13)
        .map(|i: i64| {
            let close = if i == 12 { "50010.50" } else { "49000.00" };
            json!([
                base_ms() - (12 - i) * BAR_MS,
                "49000",
                "50100",
                "48900",
                close,
                "148.1",
                base_ms() - (11 - i) * BAR_MS - 1,
                "2434.19",
                308,
                "50.2",
                "28.4",
                "0"
            ])
        })
        .collect();
    serve(server, KLINES, Value::Array(klines)).await;
    // Numbers as timestamps here (what real answers carry).
    serve(
        server,
        GLOBAL_ACCOUNTS,
        json!([{"symbol": "BTCUSDT", "longShortRatio": "1.9559",
        "longAccount": "0.6617", "shortAccount": "0.3383", "timestamp": base_ms()}]),
    )
    .await;
    serve(
        server,
        TOP_ACCOUNTS,
        json!([{"symbol": "BTCUSDT", "longShortRatio": "0.5576",
        "longAccount": "0.3580", "shortAccount": "0.6420", "timestamp": base_ms().to_string()}]),
    )
    .await;
    let taker: Vec<Value> = (0..12)
        .map(|k: i64| {
            json!({"buySellRatio": "2.0", "buyVol": "10.0", "sellVol": "5.0",
            "timestamp": base_ms() - k * BAR_MS})
        })
        .collect();
    serve(server, TAKER_VOLUME, Value::Array(taker)).await;
}

async fn cycle(server: &MockServer, reference: bool) -> (Binance, VenueCycle) {
    let mut b = Binance::new(&server.uri(), "wss://example.invalid");
    let out = b.poll(&watched(), reference, now()).await;
    (b, out)
}

fn fails_with(r: &Reading<impl std::fmt::Debug>, needle: &str) -> bool {
    matches!(r, Err(GapReason::FetchFailed(why)) if why.contains(needle))
}

#[tokio::test]
async fn instruments_take_plain_and_multiplied_usdt_perpetuals_only() {
    let server = MockServer::start().await;
    let sym = |s: &str, ct: &str, q: &str, st: &str| {
        json!({"symbol": s, "pair": s, "contractType": ct, "quoteAsset": q, "status": st,
               "baseAsset": "X", "filters": [], "pricePrecision": 2})
    };
    serve(
        &server,
        EXCHANGE_INFO,
        json!({
            "timezone": "UTC", "rateLimits": [], "assets": [],
            "symbols": [
                sym("BTCUSDT", "PERPETUAL", "USDT", "TRADING"),
                sym("BTCUSDT_260327", "CURRENT_QUARTER", "USDT", "TRADING"),
                sym("1000PEPEUSDT", "PERPETUAL", "USDT", "TRADING"),
                sym("1MBABYDOGEUSDT", "PERPETUAL", "USDT", "TRADING"),
                sym("ETHUSDC", "PERPETUAL", "USDC", "TRADING"),
                sym("LUNAUSDT", "PERPETUAL", "USDT", "SETTLING")
            ]
        }),
    )
    .await;
    let mut b = Binance::new(&server.uri(), "wss://example.invalid");
    let coins: Vec<String> = ["BTC", "pepe", "BABYDOGE", "ETH", "LUNA", "NOTACOIN"]
        .map(String::from)
        .to_vec();
    let got = b.instruments(&coins).await.unwrap();
    assert_eq!(
        got,
        vec![
            inst("BTC", "BTCUSDT", 1.0),
            inst("pepe", "1000PEPEUSDT", 1000.0),
            inst("BABYDOGE", "1MBABYDOGEUSDT", 1e6),
        ]
    );
}

#[tokio::test]
async fn funding_carries_each_symbols_interval_so_it_normalises_to_8h() {
    let server = MockServer::start().await;
    market(&server).await;
    let (_, out) = cycle(&server, false).await;
    let quote = |coin: &str| out[coin].funding.clone().unwrap();
    let (btc, pepe, sol) = (quote("BTC"), quote("PEPE"), quote("SOL"));
    // BTC is not in fundingInfo: 8 h. PEPE 4 h, SOL 1 h.
    assert_eq!(btc.interval_hours, Some(8.0));
    assert_eq!(pepe.interval_hours, Some(4.0));
    assert_eq!(sol.interval_hours, Some(1.0));
    assert!((btc.rate_pct - 0.01).abs() < 1e-12, "{btc:?}");
    assert!((pepe.rate_pct + 0.02).abs() < 1e-12);
    assert!((funding_to_8h(pepe.rate_pct, pepe.interval_hours) + 0.04).abs() < 1e-12);
    assert!((funding_to_8h(sol.rate_pct, sol.interval_hours) - 0.04).abs() < 1e-12);
    assert_eq!(
        btc.next_funding_time.unwrap().timestamp_millis(),
        base_ms() + 2 * HOUR_MS
    );
}

#[tokio::test]
async fn without_the_interval_list_the_rate_stands_with_no_interval() {
    let server = MockServer::start().await;
    override_with(&server, FUNDING_INFO, ResponseTemplate::new(500)).await;
    market(&server).await;
    let (_, out) = cycle(&server, false).await;
    let btc = out["BTC"].funding.clone().unwrap();
    assert_eq!(btc.interval_hours, None);
    assert!((btc.rate_pct - 0.01).abs() < 1e-12);
}

#[tokio::test]
async fn oi_is_contracts_times_mark_with_lags_from_the_cached_history() {
    let server = MockServer::start().await;
    market(&server).await;
    let mut b = Binance::new(&server.uri(), "wss://example.invalid");
    let out = b.poll(&watched(), false, now()).await;
    let oi = out["BTC"].open_interest.clone().unwrap();
    assert!((oi.usd - 1000.5 * 50_000.0).abs() < 1e-6);
    let m = |k: f64| Some(1e9 - k * 1e6);
    // 12:02 − 5m = 11:57 → the 11:55 bar (1 back); 15m → 11:45 (3); 30m → 11:30 (6);
    // 1h → 11:00 (12); 4h → 08:00 (48); 24h → 12:00 yesterday (288).
    assert_eq!(
        oi.past_usd,
        [m(1.0), m(3.0), m(6.0), m(12.0), m(48.0), m(288.0)]
    );
    // PEPE: contracts of 1000 PEPE × the mark of 1000 PEPE.
    let pepe = out["PEPE"].open_interest.clone().unwrap();
    assert!((pepe.usd - 1000.5 * 0.01).abs() < 1e-9);
    let history_asks = || async {
        let reqs = server.received_requests().await.unwrap();
        reqs.iter().filter(|r| r.url.path() == OI_HIST).count()
    };
    // A minute later the 5-minute history comes from the cache (the lags move on with `now`).
    let minute = b
        .poll(&watched(), false, now() + chrono::TimeDelta::minutes(1))
        .await;
    assert_eq!(history_asks().await, 3);
    let lagged = minute["BTC"].open_interest.clone().unwrap().past_usd;
    assert_eq!(lagged[0], m(1.0)); // 11:58 → still the 11:55 bar
    assert_eq!(lagged[2], m(6.0)); // 11:33 → 11:30
    b.poll(&watched(), false, now() + chrono::TimeDelta::minutes(5))
        .await;
    assert_eq!(history_asks().await, 6);
}

#[tokio::test]
async fn reference_adds_long_short_taker_and_1h_change_others_leave_them_pending() {
    let server = MockServer::start().await;
    market(&server).await;
    let (_, plain) = cycle(&server, false).await;
    let btc = &plain["BTC"];
    assert_eq!(btc.retail, Err(GapReason::Pending));
    assert_eq!(btc.top, Err(GapReason::Pending));
    assert_eq!(btc.taker, Err(GapReason::Pending));
    let price = btc.price.clone().unwrap();
    assert_eq!((price.price, price.change_1h_pct), (50010.5, None));
    assert_eq!(price.change_24h_pct, Some(2.04));
    let reqs = server.received_requests().await.unwrap();
    let asked = |p: &str| reqs.iter().filter(|r| r.url.path() == p).count();
    assert_eq!(
        asked(KLINES) + asked(GLOBAL_ACCOUNTS) + asked(TAKER_VOLUME),
        0
    );

    let (_, refd) = cycle(&server, true).await;
    let btc = &refd["BTC"];
    let retail = btc.retail.clone().unwrap();
    assert!((retail.long_pct.unwrap() - 66.17).abs() < 1e-9);
    assert!((retail.short_pct.unwrap() - 33.83).abs() < 1e-9);
    assert_eq!(retail.bar_time.timestamp_millis(), base_ms());
    assert_eq!(retail.source, "Binance BTCUSDT 5m");
    let top = btc.top.clone().unwrap();
    assert!((top.long_pct.unwrap() - 35.8).abs() < 1e-9);
    assert_eq!(top.bar_time.timestamp_millis(), base_ms()); // string timestamp
    let taker = btc.taker.clone().unwrap();
    assert!((taker.buy_pct.unwrap() - 200.0 / 3.0).abs() < 1e-9);
    assert!((taker.buy_usd.unwrap() - 120.0 * 50010.5).abs() < 1e-6);
    assert!((taker.sell_usd.unwrap() - 60.0 * 50010.5).abs() < 1e-6);
    let change = btc.price.clone().unwrap().change_1h_pct.unwrap();
    assert!((change - (50010.5 - 49000.0) / 49000.0 * 100.0).abs() < 1e-9);
    // Per coin: 1000PEPE quotes 1000 PEPE.
    assert!((refd["PEPE"].price.clone().unwrap().price - 0.0000102).abs() < 1e-15);
}

#[tokio::test]
async fn a_garbage_field_takes_only_its_metric_and_says_what_arrived() {
    let server = MockServer::start().await;
    override_with(&server, PREMIUM_INDEX, ResponseTemplate::new(200).set_body_json(json!([
        {"symbol": "BTCUSDT", "markPrice": "50000", "lastFundingRate": "abc", "nextFundingTime": 1}
    ]))).await;
    override_with(
        &server,
        GLOBAL_ACCOUNTS,
        ResponseTemplate::new(200).set_body_json(json!([
            {"longAccount": {"v": 1}, "shortAccount": "0.3", "timestamp": base_ms()}
        ])),
    )
    .await;
    market(&server).await;
    let (_, out) = cycle(&server, true).await;
    let btc = &out["BTC"];
    assert_eq!(
        btc.funding.clone().unwrap_err().to_string(),
        "fetch failed: Binance BTCUSDT lastFundingRate is not a number: \"abc\""
    );
    assert!(fails_with(
        &btc.retail,
        "Binance BTCUSDT longAccount is not a number"
    ));
    assert!(btc.open_interest.is_ok() && btc.price.is_ok() && btc.top.is_ok());
    assert!(btc.taker.is_ok());
    // SOL is missing from that premiumIndex: not reported, never zero.
    assert_eq!(out["SOL"].funding, Err(GapReason::NotReported));
}

#[tokio::test]
async fn a_429_on_one_endpoint_leaves_the_other_metrics_live() {
    let server = MockServer::start().await;
    // Answered last, so every other request of the cycle has its answer already.
    let refused = ResponseTemplate::new(429)
        .insert_header("retry-after", "30")
        .set_delay(Duration::from_millis(400));
    override_with(&server, TICKER_24H, refused).await;
    market(&server).await;
    let (b, out) = cycle(&server, true).await;
    for coin in ["BTC", "PEPE", "SOL"] {
        let r = &out[coin];
        assert_eq!(r.price, Err(GapReason::RateLimited), "{coin}");
        assert!(
            r.funding.is_ok() && r.open_interest.is_ok() && r.retail.is_ok(),
            "{coin}"
        );
    }
    // Taker USD falls back to the mark price.
    let taker = out["BTC"].taker.clone().unwrap();
    assert!((taker.buy_usd.unwrap() - 120.0 * 50_000.0).abs() < 1e-6);
    assert!(matches!(
        b.http().standing(),
        super::super::http::Standing::Paused { .. }
    ));
}

#[tokio::test]
async fn twenty_coins_cost_under_a_tenth_of_every_pool() {
    let server = MockServer::start().await;
    market(&server).await;
    let coins: Vec<Instrument> = (0..20)
        .map(|i| inst(&format!("C{i}"), &format!("C{i}USDT"), 1.0))
        .collect();
    let mut b = Binance::new(&server.uri(), "wss://example.invalid");
    let usage = |b: &Binance| {
        b.http()
            .usage()
            .into_iter()
            .map(|u| (u.name, u.used))
            .collect::<HashMap<_, _>>()
    };
    b.poll(&coins, true, now()).await;
    let first = usage(&b);
    // premiumIndex 10 + ticker 40 + 20 openInterest + 20 klines; 4 data requests per coin;
    // fundingInfo once.
    assert_eq!(
        (first["weight"], first["data"], first["funding"]),
        (90, 80, 1)
    );
    b.poll(&coins, true, now() + chrono::TimeDelta::minutes(1))
        .await;
    let second = usage(&b);
    // A steady minute adds only the weight pool (the 5-minute series and intervals are cached).
    assert_eq!(
        (second["weight"], second["data"], second["funding"]),
        (180, 80, 1)
    );
    // Steady: the weight of one minute, the data and funding requests of one 5-minute window.
    for pool in b.http().usage() {
        let steady = match pool.name {
            "weight" => second["weight"] - first["weight"],
            name => second[name],
        };
        assert!(
            steady * 10 < pool.limit,
            "{} {steady} of {}",
            pool.name,
            pool.limit
        );
    }
}

fn frame_parser() -> FrameParser {
    Binance::new("http://127.0.0.1:9", "wss://fstream.example/")
        .liq_stream(&watched())
        .parse
}

#[test]
fn the_stream_is_the_market_route_without_subscriptions() {
    let spec = Binance::new("http://127.0.0.1:9", "wss://fstream.example/").liq_stream(&watched());
    assert_eq!(spec.url, "wss://fstream.example/market/ws/!forceOrder@arr");
    assert!(spec.subscribe.is_empty());
    assert_eq!(spec.keepalive, Keepalive::AnswerPings);
    assert_eq!(spec.max_age, Some(Duration::from_secs(86_400)));
}

fn force_order(symbol: &str, side: &str, extra: &str) -> String {
    format!(
        r#"{{"e":"forceOrder","E":1568014460893,"o":{{"s":"{symbol}","S":"{side}","o":"LIMIT",
        "f":"IOC","q":"0.014","p":"9910","ap":"9920.5","X":"FILLED","l":"0.014","z":"0.010",
        "T":1568014460890{extra}}}}}"#
    )
}

#[test]
fn a_sell_liquidates_a_long_and_usd_is_filled_times_average() {
    let parse = frame_parser();
    let Parsed::Events(ev) = parse(&force_order("BTCUSDT", "SELL", "")) else {
        panic!()
    };
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].coin.as_str(), ev[0].side), ("BTC", LiqSide::Long));
    assert!((ev[0].usd - 0.010 * 9920.5).abs() < 1e-9);
    assert_eq!(ev[0].at.timestamp_millis(), 1_568_014_460_890);
    let Parsed::Events(ev) = parse(&force_order("1000PEPEUSDT", "BUY", "")) else {
        panic!()
    };
    assert_eq!((ev[0].coin.as_str(), ev[0].side), ("PEPE", LiqSide::Short));
    // Nothing filled yet: the order's quantity × price.
    let unfilled = r#"{"e":"forceOrder","E":5,"o":{"s":"SOLUSDT","S":"SELL","q":"2","p":"100",
        "ap":"0","z":"0","T":7}}"#;
    let Parsed::Events(ev) = parse(unfilled) else {
        panic!()
    };
    assert!((ev[0].usd - 200.0).abs() < 1e-9);
}

#[test]
fn combined_stream_wrapper_and_arrays_are_accepted() {
    let parse = frame_parser();
    let wrapped = format!(
        r#"{{"stream":"!forceOrder@arr","data":{}}}"#,
        force_order("BTCUSDT", "BUY", "")
    );
    let Parsed::Events(ev) = parse(&wrapped) else {
        panic!()
    };
    assert_eq!(ev[0].side, LiqSide::Short);
    let array = format!(
        "[{},{}]",
        force_order("BTCUSDT", "SELL", ""),
        force_order("DOGEUSDT", "SELL", "")
    );
    let Parsed::Events(ev) = parse(&array) else {
        panic!()
    };
    assert_eq!(ev.len(), 1);
}

#[test]
fn unwatched_symbols_are_dropped_and_odd_frames_are_malformed() {
    let parse = frame_parser();
    assert_eq!(
        parse(&force_order("DOGEUSDT", "SELL", "")),
        Parsed::Events(vec![])
    );
    assert_eq!(parse(r#"{"result":null,"id":1}"#), Parsed::Control);
    assert!(matches!(
        parse(r#"{"error":{"code":2,"msg":"Invalid request"}}"#),
        Parsed::Refused(_)
    ));
    for bad in [
        "not json",
        r#"{"e":"markPriceUpdate","s":"BTCUSDT"}"#,
        r#"{"e":"forceOrder","E":1}"#,
        &force_order("BTCUSDT", "HOLD", ""),
        r#"{"e":"forceOrder","o":{"s":"BTCUSDT","S":"SELL","q":"","p":"1","z":"x","T":1}}"#,
        r#"{"e":"forceOrder","o":{"s":"BTCUSDT","S":"SELL","q":"1","p":"1"}}"#,
        "42",
    ] {
        assert!(matches!(parse(bad), Parsed::Malformed(_)), "{bad}");
    }
}
