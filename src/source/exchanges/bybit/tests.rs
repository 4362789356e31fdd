use super::*;
use crate::source::exchanges::http::Standing;
use crate::source::exchanges::venue::{LiqSide, Parsed};
use serde_json::json;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn now() -> DateTime<Utc> {
    "2026-11-30T12:00:00Z".parse().unwrap()
}

fn ms(t: DateTime<Utc>) -> String {
    t.timestamp_millis().to_string()
}

fn ok(result: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": 1764504000000_i64
    }))
}

fn instrument(
    symbol: &str,
    base: &str,
    quote: &str,
    interval: serde_json::Value,
) -> serde_json::Value {
    json!({
        "symbol": symbol, "contractType": "LinearPerpetual", "status": "Trading",
        "baseCoin": base, "quoteCoin": quote, "settleCoin": quote, "fundingInterval": interval,
        "priceScale": "2", "unknownField": {"x": 1}
    })
}

/// Two instrument pages: BTC (8 h → here 1 h), 1000PEPE (4 h, as a string), the USDC perp.
async fn mount_instruments(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v5/market/instruments-info"))
        .and(query_param("category", "linear"))
        .and(query_param("limit", "1000"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ok(json!({
            "category": "linear",
            "list": [
                instrument("BTCUSDT", "BTC", "USDT", json!(60)),
                instrument("BTCPERP", "BTC", "USDC", json!(480)),
            ],
            "nextPageCursor": "first%3DBTCUSDT"
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v5/market/instruments-info"))
        .and(query_param("cursor", "first%3DBTCUSDT"))
        .respond_with(ok(json!({
            "category": "linear",
            "list": [
                instrument("1000PEPEUSDT", "1000PEPE", "USDT", json!("240")),
                {"symbol": "ETHUSDT-26DEC26", "contractType": "LinearFutures", "status": "Trading",
                 "baseCoin": "ETH", "quoteCoin": "USDT", "fundingInterval": 0},
            ],
            "nextPageCursor": ""
        })))
        .mount(server)
        .await;
}

fn ticker(symbol: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut t = json!({
        "symbol": symbol, "lastPrice": "100000.50", "prevPrice1h": "99000.50",
        "price24hPcnt": "0.014", "fundingRate": "0.0001", "nextFundingTime": ms(now() + chrono::Duration::minutes(30)),
        "openInterest": "10000", "openInterestValue": "2000000000", "singleOpenInterest": "5000",
        "singleOpenInterestValue": "1000000000", "markPrice": "100001", "basis": ""
    });
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    t
}

async fn mount_tickers(server: &MockServer, list: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path("/v5/market/tickers"))
        .respond_with(ok(json!({"category": "linear", "list": list})))
        .mount(server)
        .await;
}

/// OI history in coins (one side): 5000 now, 4000 an hour ago, 2500 a day ago.
async fn mount_oi_history(server: &MockServer, symbol: &str) {
    let five: Vec<_> = (0..60)
        .map(|i| {
            let q = if i == 12 { "4000" } else { "5000" };
            json!({"openInterest": "", "singleOpenInterest": q,
                   "timestamp": ms(now() - chrono::Duration::minutes(5 * i))})
        })
        .collect();
    let hourly: Vec<_> = (0..25)
        .map(|i| {
            // No single-side figure here: the both-sides one is halved.
            let both = if i == 24 { "5000" } else { "10000" };
            json!({"openInterest": both, "timestamp": ms(now() - chrono::Duration::hours(i))})
        })
        .collect();
    for (interval, list) in [("5min", five), ("1h", hourly)] {
        Mock::given(method("GET"))
            .and(path("/v5/market/open-interest"))
            .and(query_param("symbol", symbol))
            .and(query_param("intervalTime", interval))
            .respond_with(ok(
                json!({"symbol": symbol, "category": "linear", "list": list, "nextPageCursor": ""}),
            ))
            .mount(server)
            .await;
    }
}

fn btc() -> Instrument {
    Instrument {
        coin: "BTC".into(),
        id: "BTCUSDT".into(),
        price_multiplier: 1.0,
        contract_size: 1.0,
    }
}

fn pepe() -> Instrument {
    Instrument {
        coin: "PEPE".into(),
        id: "1000PEPEUSDT".into(),
        price_multiplier: 1000.0,
        contract_size: 1.0,
    }
}

#[tokio::test]
async fn instruments_follow_the_cursor_keep_usdt_perpetuals_and_resolve_multipliers() {
    let server = MockServer::start().await;
    mount_instruments(&server).await;
    let mut bybit = Bybit::new(&server.uri(), "ws://unused");
    let coins = vec!["btc".to_string(), "PEPE".into(), "ETH".into()];
    let found = bybit.instruments(&coins).await.unwrap();
    // ETH is only a quarterly here (not listed as a perpetual); BTCPERP (USDC) is out.
    assert_eq!(
        found,
        vec![
            Instrument {
                coin: "btc".into(),
                ..btc()
            },
            pepe(),
        ]
    );
    assert_eq!(bybit.intervals.get("BTCUSDT"), Some(&60.0));
    assert_eq!(bybit.intervals.get("1000PEPEUSDT"), Some(&240.0));
    assert!(!bybit.intervals.contains_key("BTCPERP"));
}

#[test]
fn multiplier_names() {
    assert_eq!(split_multiplier("1000PEPE"), Some((1000.0, "PEPE")));
    assert_eq!(split_multiplier("1000000MOG"), Some((1_000_000.0, "MOG")));
    assert_eq!(split_multiplier("SHIB1000"), Some((1000.0, "SHIB")));
    assert_eq!(split_multiplier("1INCH"), None);
    assert_eq!(split_multiplier("BTC"), None);
    assert_eq!(split_multiplier("1000"), None);
}

#[tokio::test]
async fn a_cycle_reads_funding_intervals_oi_one_side_price_and_retail() {
    let server = MockServer::start().await;
    mount_instruments(&server).await;
    mount_tickers(
        &server,
        json!([
            ticker("BTCUSDT", json!({})),
            // Only the both-sides figure: halved. 1000PEPE quotes 1000 coins.
            ticker("1000PEPEUSDT", json!({"lastPrice": "0.0125", "prevPrice1h": "",
                "singleOpenInterestValue": "", "openInterestValue": "300000000", "fundingRate": "-0.0002"})),
            ticker("ETHUSDT", json!({})),
        ]),
    )
    .await;
    mount_oi_history(&server, "BTCUSDT").await;
    mount_oi_history(&server, "1000PEPEUSDT").await;
    Mock::given(method("GET"))
        .and(path("/v5/market/account-ratio"))
        .and(query_param("period", "5min"))
        .respond_with(ok(json!({"list": [
            {"symbol": "BTCUSDT", "buyRatio": "0.5777", "sellRatio": "0.4223", "timestamp": ms(now() - chrono::Duration::minutes(5))}
        ]})))
        .mount(&server)
        .await;
    let mut bybit = Bybit::new(&server.uri(), "ws://unused");
    let instruments = bybit
        .instruments(&["BTC".to_string(), "PEPE".into()])
        .await
        .unwrap();
    let cycle = bybit.poll(&instruments, true, now()).await;

    let b = &cycle["BTC"];
    let f = b.funding.clone().unwrap();
    assert!((f.rate_pct - 0.01).abs() < 1e-12);
    assert_eq!(f.interval_hours, Some(1.0));
    assert_eq!(
        f.next_funding_time,
        Some(now() + chrono::Duration::minutes(30))
    );
    let p = cycle["PEPE"].funding.clone().unwrap();
    assert_eq!(p.interval_hours, Some(4.0));

    let oi = b.open_interest.clone().unwrap();
    assert_eq!(oi.usd, 1e9);
    // 5m..30m: same quantity; 1h: 4000/5000; 4h: same; 24h: (5000/2)/(5000) from hourly rows.
    assert_eq!(
        oi.past_usd,
        [
            Some(1e9),
            Some(1e9),
            Some(1e9),
            Some(8e8),
            Some(1e9),
            Some(5e8)
        ]
    );
    assert_eq!(cycle["PEPE"].open_interest.clone().unwrap().usd, 1.5e8);

    let price = b.price.clone().unwrap();
    assert_eq!(price.price, 100000.5);
    assert!((price.change_24h_pct.unwrap() - 1.4).abs() < 1e-9);
    assert!((price.change_1h_pct.unwrap() - (100000.5 / 99000.5 - 1.0) * 100.0).abs() < 1e-9);
    let pepe_price = cycle["PEPE"].price.clone().unwrap();
    assert!((pepe_price.price - 0.0000125).abs() < 1e-15);
    assert_eq!(pepe_price.change_1h_pct, None);

    let retail = b.retail.clone().unwrap();
    assert!((retail.long_pct.unwrap() - 57.77).abs() < 1e-9);
    assert!((retail.short_pct.unwrap() - 42.23).abs() < 1e-9);
    assert_eq!(retail.source, "Bybit BTCUSDT 5m");
    assert_eq!(b.top, Err(not_offered(Venue::Bybit)));
    assert_eq!(b.taker, Err(not_offered(Venue::Bybit)));
    assert!(!cycle.contains_key("ETH"));

    // Not the reference: the reference metrics are not asked.
    let cycle = bybit.poll(&instruments, false, now()).await;
    assert_eq!(cycle["BTC"].retail, Err(GapReason::Pending));
    assert_eq!(cycle["BTC"].top, Err(GapReason::Pending));
}

#[tokio::test]
async fn the_envelope_rate_limit_code_pauses_the_venue_and_other_metrics_stay() {
    let server = MockServer::start().await;
    mount_instruments(&server).await;
    mount_tickers(&server, json!([ticker("BTCUSDT", json!({}))])).await;
    mount_oi_history(&server, "BTCUSDT").await;
    Mock::given(method("GET"))
        .and(path("/v5/market/account-ratio"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "retCode": 10006, "retMsg": "Too many visits!", "result": {}, "time": 1
        })))
        .expect(1)
        .mount(&server)
        .await;
    let mut bybit = Bybit::new(&server.uri(), "ws://unused");
    bybit.instruments(&["BTC".to_string()]).await.unwrap();
    let cycle = bybit.poll(&[btc()], true, now()).await;
    let b = &cycle["BTC"];
    assert_eq!(b.retail, Err(GapReason::RateLimited));
    assert!(b.funding.is_ok() && b.price.is_ok());
    assert_eq!(b.open_interest.clone().unwrap().past_usd[3], Some(8e8));
    assert!(matches!(bybit.http().standing(), Standing::Paused { .. }));
    // Paused: the next cycle sends nothing (account-ratio expected once) and says why.
    let cycle = bybit.poll(&[btc()], true, now()).await;
    assert_eq!(cycle["BTC"].funding, Err(GapReason::RateLimited));
}

#[tokio::test]
async fn other_ret_codes_and_garbage_fields_name_the_culprit_and_only_that_metric_is_absent() {
    let server = MockServer::start().await;
    mount_tickers(
        &server,
        json!([ticker(
            "BTCUSDT",
            json!({"fundingRate": "abc", "price24hPcnt": ""})
        )]),
    )
    .await;
    mount_oi_history(&server, "BTCUSDT").await;
    Mock::given(method("GET"))
        .and(path("/v5/market/instruments-info"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "retCode": 10001, "retMsg": "params error", "result": {}
        })))
        .mount(&server)
        .await;
    let mut bybit = Bybit::new(&server.uri(), "ws://unused");
    let e = bybit.instruments(&["BTC".to_string()]).await.unwrap_err();
    assert!(
        e.to_string().contains("params error (retCode 10001)"),
        "{e}"
    );

    let cycle = bybit.poll(&[btc()], false, now()).await;
    let b = &cycle["BTC"];
    assert_eq!(
        b.funding,
        Err(GapReason::FetchFailed(
            "Bybit BTCUSDT fundingRate is not a number: \"abc\"".into()
        ))
    );
    let price = b.price.clone().unwrap();
    assert_eq!(price.change_24h_pct, None);
    assert!(b.open_interest.is_ok());
}

// ---- the liquidation stream ----------------------------------------------------------------

fn coins() -> HashMap<String, String> {
    [("BTCUSDT", "BTC"), ("1000PEPEUSDT", "PEPE")]
        .map(|(s, c)| (s.to_string(), c.to_string()))
        .into()
}

#[test]
fn buy_is_a_long_liquidation_and_usd_is_size_times_price() {
    let frame = json!({
        "topic": "allLiquidation.BTCUSDT", "type": "snapshot", "ts": 1739502303204_i64,
        "data": [
            {"T": 1739502302929_i64, "s": "BTCUSDT", "S": "Buy", "v": "0.5", "p": "90000"},
            {"T": 1739502302930_i64, "s": "BTCUSDT", "S": "Sell", "v": 2, "p": "91000.5"}
        ]
    });
    let Parsed::Events(events) = stream::parse_frame(&frame.to_string(), &coins()) else {
        panic!()
    };
    assert_eq!(events.len(), 2);
    assert_eq!((events[0].side, events[0].usd), (LiqSide::Long, 45000.0));
    assert_eq!((events[1].side, events[1].usd), (LiqSide::Short, 182001.0));
    assert_eq!(events[0].coin, "BTC");
    assert_eq!(events[0].at.timestamp_millis(), 1739502302929);
}

#[test]
fn data_as_an_object_and_unwatched_symbols() {
    let object = json!({"topic": "allLiquidation.1000PEPEUSDT", "ts": 1,
        "data": {"T": "1739502302929", "s": "1000PEPEUSDT", "S": "Buy", "v": "1000", "p": "0.0125"}});
    let Parsed::Events(events) = stream::parse_frame(&object.to_string(), &coins()) else {
        panic!()
    };
    // v × p is USD whatever the multiplier (v counts 1000-PEPE units, p is their price).
    assert_eq!((events[0].coin.as_str(), events[0].usd), ("PEPE", 12.5));
    let other = json!({"topic": "allLiquidation.ETHUSDT", "data": [
        {"T": 1, "s": "ETHUSDT", "S": "Buy", "v": "1", "p": "3000"}]});
    assert_eq!(
        stream::parse_frame(&other.to_string(), &coins()),
        Parsed::Events(vec![])
    );
}

#[test]
fn acks_pongs_refusals_and_malformed_frames() {
    let parse = |f: &str| stream::parse_frame(f, &coins());
    let pong = r#"{"success":true,"ret_msg":"pong","conn_id":"0970e817","op":"ping"}"#;
    assert_eq!(parse(pong), Parsed::Control);
    let ack = r#"{"success":true,"ret_msg":"","conn_id":"c1","req_id":"","op":"subscribe"}"#;
    assert_eq!(parse(ack), Parsed::Control);
    let refused = r#"{"success":false,"ret_msg":"error:handler not found,topic:allLiquidation.NOPEUSDT","op":"subscribe"}"#;
    let Parsed::Refused(why) = parse(refused) else {
        panic!()
    };
    assert!(why.contains("allLiquidation.NOPEUSDT"), "{why}");
    for bad in [
        "not json",
        "[1,2]",
        r#"{"topic":"allLiquidation.BTCUSDT","data":"x"}"#,
        r#"{"topic":"allLiquidation.BTCUSDT","data":[{"T":1,"s":"BTCUSDT","S":"Long","v":"1","p":"1"}]}"#,
        r#"{"topic":"allLiquidation.BTCUSDT","data":[{"T":1,"s":"BTCUSDT","S":"Buy","v":"1","p":""}]}"#,
        r#"{"hello":"world"}"#,
    ] {
        assert!(matches!(parse(bad), Parsed::Malformed(_)), "{bad}");
    }
}

#[test]
fn the_stream_subscribes_listed_symbols_in_frames_of_ten_and_pings() {
    let bybit = Bybit::new("http://x", "wss://stream.bybit.com/");
    let instruments: Vec<Instrument> = (0..25)
        .map(|i| Instrument {
            coin: format!("C{i}"),
            id: format!("C{i}USDT"),
            ..btc()
        })
        .collect();
    let spec = bybit.liq_stream(&instruments);
    assert_eq!(spec.url, "wss://stream.bybit.com/v5/public/linear");
    assert_eq!(spec.subscribe.len(), 3);
    let first: serde_json::Value = serde_json::from_str(&spec.subscribe[0]).unwrap();
    assert_eq!(first["op"], "subscribe");
    assert_eq!(first["args"].as_array().unwrap().len(), 10);
    assert_eq!(first["args"][0], "allLiquidation.C0USDT");
    assert_eq!(
        spec.keepalive,
        Keepalive::SendText {
            text: r#"{"op":"ping"}"#.into(),
            every: Duration::from_secs(20)
        }
    );
    let frame = r#"{"topic":"allLiquidation.C3USDT","data":[{"T":1,"s":"C3USDT","S":"Sell","v":"2","p":"3"}]}"#;
    let Parsed::Events(e) = (spec.parse)(frame) else {
        panic!()
    };
    assert_eq!(
        (e[0].coin.as_str(), e[0].side, e[0].usd),
        ("C3", LiqSide::Short, 6.0)
    );
}
