use super::*;
use crate::source::exchanges::http::Standing;
use crate::source::exchanges::venue::{LiqSide, Parsed};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn now() -> DateTime<Utc> {
    "2026-11-30T12:00:00Z".parse().unwrap()
}

fn ms(t: DateTime<Utc>) -> String {
    t.timestamp_millis().to_string()
}

fn ago(minutes: i64) -> String {
    ms(now() - chrono::Duration::minutes(minutes))
}

fn ok(data: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"code": "0", "msg": "", "data": data}))
}

async fn mount(server: &MockServer, at: &str, data: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ok(data))
        .mount(server)
        .await;
}

fn swap(
    inst_id: &str,
    settle: &str,
    ct_type: &str,
    state: &str,
    ct_val: &str,
) -> serde_json::Value {
    let family = inst_id.trim_end_matches("-SWAP");
    json!({
        "instType": "SWAP", "instId": inst_id, "instFamily": family, "uly": family,
        "settleCcy": settle, "ctType": ct_type, "state": state, "ctVal": ct_val,
        "ctMult": "1", "ctValCcy": family.split('-').next().unwrap(), "lever": "100",
        "listTime": "1611916828000", "baseCcy": "", "newField": [1]
    })
}

async fn mount_instruments(server: &MockServer) {
    mount(
        server,
        "/api/v5/public/instruments",
        json!([
            swap("BTC-USD-SWAP", "BTC", "inverse", "live", "100"),
            swap("BTC-USDT-SWAP", "USDT", "linear", "live", "0.01"),
            swap("PEPE-USDT-SWAP", "USDT", "linear", "live", "10000000"),
            swap("ETH-USDC-SWAP", "USDC", "linear", "live", "0.001"),
            swap("DOGE-USDT-SWAP", "USDT", "linear", "suspend", "1000"),
        ]),
    )
    .await;
}

fn btc() -> Instrument {
    Instrument {
        coin: "BTC".into(),
        id: "BTC-USDT-SWAP".into(),
        price_multiplier: 1.0,
        contract_size: 0.01,
    }
}

fn pepe() -> Instrument {
    Instrument {
        coin: "PEPE".into(),
        id: "PEPE-USDT-SWAP".into(),
        price_multiplier: 1.0,
        contract_size: 1e7,
    }
}

#[tokio::test]
async fn instruments_keep_live_usdt_linear_swaps_with_contract_sizes() {
    let server = MockServer::start().await;
    mount_instruments(&server).await;
    let mut okx = Okx::new(&server.uri(), "ws://unused");
    let coins = ["BTC", "PEPE", "ETH", "DOGE"].map(String::from);
    // ETH only as a USDC swap, DOGE suspended: not listed here.
    assert_eq!(okx.instruments(&coins).await.unwrap(), vec![btc(), pepe()]);
}

/// Funding: BTC hourly, PEPE every 4 h (from the two settlement times).
async fn mount_market(server: &MockServer, ticker_btc_last: &str) {
    let next = now() + chrono::Duration::minutes(20);
    mount(
        server,
        "/api/v5/public/funding-rate",
        json!([
            {"instType": "SWAP", "instId": "BTC-USDT-SWAP", "fundingRate": "0.0001", "method": "current_period",
             "fundingTime": ms(next), "nextFundingTime": ms(next + chrono::Duration::hours(1)),
             "settFundingRate": "0.00008", "settState": "settled", "premium": "", "ts": ms(now())},
            {"instType": "SWAP", "instId": "PEPE-USDT-SWAP", "fundingRate": "-0.0005",
             "fundingTime": ms(next), "nextFundingTime": ms(next + chrono::Duration::hours(4))},
        ]),
    )
    .await;
    mount(
        server,
        "/api/v5/public/open-interest",
        json!([
            {"instType": "SWAP", "instId": "BTC-USDT-SWAP", "oi": "300000", "oiCcy": "3000", "oiUsd": "300000000", "ts": ms(now())},
            // No USD: coins × last price.
            {"instType": "SWAP", "instId": "PEPE-USDT-SWAP", "oi": "100", "oiCcy": "1000000000", "oiUsd": "", "ts": ms(now())},
        ]),
    )
    .await;
    mount(
        server,
        "/api/v5/market/tickers",
        json!([
            {"instType": "SWAP", "instId": "BTC-USDT-SWAP", "last": ticker_btc_last, "open24h": "98000",
             "sodUtc0": "99500", "volCcy24h": "1", "ts": ms(now())},
            {"instType": "SWAP", "instId": "PEPE-USDT-SWAP", "last": "0.00001", "open24h": "0.00002"},
        ]),
    )
    .await;
    // [ts, oi, oiCcy, oiUsd], newest first. An hour ago 2.4e8 USD; a day ago no USD (coins).
    let five: Vec<_> = (0..100)
        .map(|i| {
            let usd = if i == 12 { "240000000" } else { "300000000" };
            json!([ago(5 * i), "300000", "3000", usd])
        })
        .collect();
    let hourly: Vec<_> = (0..25)
        .map(|i| {
            json!([
                ms(now() - chrono::Duration::hours(i)),
                "150000",
                "1500",
                if i == 24 { "" } else { "300000000" }
            ])
        })
        .collect();
    for (period, rows) in [("5m", five), ("1H", hourly)] {
        Mock::given(method("GET"))
            .and(path("/api/v5/rubik/stat/contracts/open-interest-history"))
            .and(query_param("period", period))
            .respond_with(ok(json!(rows)))
            .mount(server)
            .await;
    }
}

async fn mount_reference(server: &MockServer) {
    mount(
        server,
        "/api/v5/rubik/stat/contracts/long-short-account-ratio-contract",
        json!([[ago(10), "1.5"], [ago(5), "3"]]),
    )
    .await;
    mount(
        server,
        "/api/v5/rubik/stat/contracts/long-short-account-ratio-contract-top-trader",
        json!([[ago(5), "1"]]),
    )
    .await;
    // Twelve bars [ts, sellVol, buyVol]: SELL FIRST. 12 × 100 sold, 12 × 300 bought.
    let taker: Vec<_> = (0..12).map(|i| json!([ago(5 * i), "100", "300"])).collect();
    Mock::given(method("GET"))
        .and(path("/api/v5/rubik/stat/taker-volume-contract"))
        .and(query_param("unit", "2"))
        .respond_with(ok(json!(taker)))
        .mount(server)
        .await;
    // 13 candles [ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm]: open an hour ago 95000.
    let candles: Vec<_> = (0..13)
        .map(|i| {
            let open = if i == 12 { "95000" } else { "99000" };
            json!([ago(5 * i), open, "1", "1", "99750", "1", "1", "1", "0"])
        })
        .collect();
    mount(server, "/api/v5/market/candles", json!(candles)).await;
}

#[tokio::test]
async fn a_reference_cycle_reads_every_metric() {
    let server = MockServer::start().await;
    mount_market(&server, "99750").await;
    mount_reference(&server).await;
    let mut okx = Okx::new(&server.uri(), "ws://unused");
    let cycle = okx.poll(&[btc(), pepe()], true, now()).await;
    let b = &cycle["BTC"];

    let f = b.funding.clone().unwrap();
    assert!((f.rate_pct - 0.01).abs() < 1e-12);
    assert_eq!(f.interval_hours, Some(1.0));
    assert_eq!(
        f.next_funding_time,
        Some(now() + chrono::Duration::minutes(20))
    );
    assert_eq!(
        cycle["PEPE"].funding.clone().unwrap().interval_hours,
        Some(4.0)
    );

    let oi = b.open_interest.clone().unwrap();
    assert_eq!(oi.usd, 3e8);
    // 1 h from the row's USD; 24 h: no USD in the row, so coins 1500 / 3000 × the current USD.
    assert_eq!(
        oi.past_usd,
        [
            Some(3e8),
            Some(3e8),
            Some(3e8),
            Some(2.4e8),
            Some(3e8),
            Some(1.5e8)
        ]
    );
    assert_eq!(cycle["PEPE"].open_interest.clone().unwrap().usd, 1e4);

    let p = b.price.clone().unwrap();
    assert_eq!(p.price, 99750.0);
    assert!((p.change_24h_pct.unwrap() - (99750.0 / 98000.0 - 1.0) * 100.0).abs() < 1e-9);
    assert!((p.change_1h_pct.unwrap() - 5.0).abs() < 1e-9);

    // Ratio 3 (the newest row) = 75 % long; top ratio 1 = 50 %.
    let retail = b.retail.clone().unwrap();
    assert_eq!(
        (retail.long_pct, retail.short_pct),
        (Some(75.0), Some(25.0))
    );
    assert_eq!(retail.bar_time, now() - chrono::Duration::minutes(5));
    assert_eq!(retail.source, "OKX BTC-USDT-SWAP 5m");
    assert_eq!(b.top.clone().unwrap().long_pct, Some(50.0));
    let taker = b.taker.clone().unwrap();
    assert_eq!(
        (taker.sell_usd, taker.buy_usd),
        (Some(1200.0), Some(3600.0))
    );
    assert_eq!(taker.buy_pct, Some(75.0));

    // Not the reference: not asked.
    let cycle = okx.poll(&[btc()], false, now()).await;
    assert_eq!(cycle["BTC"].taker, Err(GapReason::Pending));
    assert_eq!(cycle["BTC"].price.clone().unwrap().change_1h_pct, None);
}

#[tokio::test]
async fn slow_series_are_reused_for_five_minutes() {
    let server = MockServer::start().await;
    mount_market(&server, "99750").await;
    Mock::given(method("GET"))
        .and(path(
            "/api/v5/rubik/stat/contracts/long-short-account-ratio-contract-top-trader",
        ))
        .respond_with(ok(json!([[ago(5), "1"]])))
        .expect(2)
        .mount(&server)
        .await;
    let mut okx = Okx::new(&server.uri(), "ws://unused");
    for minutes in [0, 4, 5] {
        let cycle = okx
            .poll(&[btc()], true, now() + chrono::Duration::minutes(minutes))
            .await;
        assert!(cycle["BTC"].top.is_ok(), "{minutes}");
    }
}

#[tokio::test]
async fn code_50011_pauses_the_venue_and_other_metrics_stay() {
    let server = MockServer::start().await;
    mount_market(&server, "99750").await;
    mount_reference(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v5/rubik/stat/taker-volume-contract"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "code": "50011", "msg": "Rate limit reached. Please refer to API documentation and throttle requests accordingly", "data": []
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    let mut okx = Okx::new(&server.uri(), "ws://unused");
    let cycle = okx.poll(&[btc()], true, now()).await;
    let b = &cycle["BTC"];
    assert_eq!(b.taker, Err(GapReason::RateLimited));
    assert!(b.funding.is_ok() && b.open_interest.is_ok());
    assert!(matches!(okx.http().standing(), Standing::Paused { .. }));
}

#[tokio::test]
async fn a_garbage_price_is_absent_with_the_reason_and_the_rest_live() {
    let server = MockServer::start().await;
    mount_market(&server, "n/a").await;
    Mock::given(method("GET"))
        .and(path("/api/v5/public/instruments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"code": "51001", "msg": "Instrument ID does not exist", "data": []}),
        ))
        .mount(&server)
        .await;
    let mut okx = Okx::new(&server.uri(), "ws://unused");
    let e = okx.instruments(&["BTC".to_string()]).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("Instrument ID does not exist (code 51001)"),
        "{e}"
    );
    let cycle = okx.poll(&[btc()], false, now()).await;
    let b = &cycle["BTC"];
    assert_eq!(
        b.price,
        Err(GapReason::FetchFailed(
            "OKX BTC-USDT-SWAP last is not a number: \"n/a\"".into()
        ))
    );
    assert!(b.funding.is_ok());
    // oiUsd is there: the price is not needed for it.
    assert_eq!(b.open_interest.clone().unwrap().usd, 3e8);
}

// ---- the liquidation stream ----------------------------------------------------------------

fn watched() -> HashMap<String, Watched> {
    [btc(), pepe()]
        .into_iter()
        .map(|i| {
            let w = Watched {
                coin: i.coin.clone(),
                contract_size: i.contract_size,
            };
            (i.id, w)
        })
        .collect()
}

#[test]
fn sell_is_a_long_liquidation_and_usd_is_contracts_times_ct_val_times_price() {
    let frame = json!({
        "arg": {"channel": "liquidation-orders", "instType": "SWAP"},
        "data": [{
            "instFamily": "BTC-USDT", "instId": "BTC-USDT-SWAP", "instType": "SWAP", "uly": "BTC-USDT",
            "details": [
                {"bkLoss": "0", "bkPx": "90000", "ccy": "", "posSide": "long", "side": "sell", "sz": "50", "ts": "1692266434010"},
                {"bkLoss": "0", "bkPx": "91000", "ccy": "", "posSide": "net", "side": "sell", "sz": "10", "ts": "1692266434011"},
                {"bkLoss": "0", "bkPx": "92000", "ccy": "", "posSide": "short", "side": "buy", "sz": "1", "ts": "1692266434012"}
            ]
        }, {
            "instId": "ETH-USDT-SWAP", "details": [{"side": "sell", "sz": "1", "bkPx": "3000", "ts": "1"}]
        }]
    });
    let Parsed::Events(e) = stream::parse_frame(&frame.to_string(), &watched()) else {
        panic!()
    };
    assert_eq!(e.len(), 3);
    assert_eq!(
        (e[0].side, e[0].usd),
        (LiqSide::Long, 50.0 * 0.01 * 90000.0)
    );
    assert_eq!((e[1].side, e[1].usd), (LiqSide::Long, 9100.0));
    assert_eq!((e[2].side, e[2].usd), (LiqSide::Short, 920.0));
    assert_eq!(e[0].at.timestamp_millis(), 1692266434010);
}

#[test]
fn data_as_an_object_acks_errors_and_malformed_frames() {
    let parse = |f: &str| stream::parse_frame(f, &watched());
    let object = r#"{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":{"instId":"PEPE-USDT-SWAP","details":[{"side":"buy","posSide":"short","sz":"2","bkPx":"0.00001","ts":"1"}]}}"#;
    let Parsed::Events(e) = parse(object) else {
        panic!()
    };
    assert_eq!((e[0].coin.as_str(), e[0].side), ("PEPE", LiqSide::Short));
    assert!((e[0].usd - 200.0).abs() < 1e-9);
    assert_eq!(parse("pong"), Parsed::Control);
    let ack = r#"{"event":"subscribe","arg":{"channel":"liquidation-orders","instType":"SWAP"},"connId":"a4d3ae55"}"#;
    assert_eq!(parse(ack), Parsed::Control);
    let error = r#"{"event":"error","code":"60012","msg":"Invalid request: {\"op\": \"subscribe\"}","connId":"a4d3ae55"}"#;
    let Parsed::Refused(why) = parse(error) else {
        panic!()
    };
    assert!(
        why.contains("60012") && why.contains("Invalid request"),
        "{why}"
    );
    for bad in [
        "png",
        r#"{"arg":{"channel":"liquidation-orders"},"data":7}"#,
        r#"{"arg":{"channel":"liquidation-orders"},"data":[{"instId":"BTC-USDT-SWAP","details":[{"side":"close","sz":"1","bkPx":"1","ts":"1"}]}]}"#,
        r#"{"arg":{"channel":"liquidation-orders"},"data":[{"instId":"BTC-USDT-SWAP","details":[{"side":"sell","sz":"x","bkPx":"1","ts":"1"}]}]}"#,
        r#"{"arg":{"channel":"tickers"},"data":[]}"#,
    ] {
        assert!(matches!(parse(bad), Parsed::Malformed(_)), "{bad}");
    }
}

#[test]
fn the_stream_subscribes_the_channel_and_pings_with_text() {
    let okx = Okx::new("http://x", "wss://ws.okx.com:8443");
    let spec = okx.liq_stream(&[btc()]);
    assert_eq!(spec.url, "wss://ws.okx.com:8443/ws/v5/public");
    let sub: serde_json::Value = serde_json::from_str(&spec.subscribe[0]).unwrap();
    assert_eq!(
        sub,
        json!({"op": "subscribe", "args": [{"channel": "liquidation-orders", "instType": "SWAP"}]})
    );
    assert_eq!(
        spec.keepalive,
        Keepalive::SendText {
            text: "ping".into(),
            every: Duration::from_secs(20)
        }
    );
}
