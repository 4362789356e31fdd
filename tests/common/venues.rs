//! Local mocks of the Binance, Bybit and OKX public APIs in their documented shapes (numbers as
//! strings, `""`, unknown extra fields), plus one local websocket server for the three
//! liquidation streams. Used by the exchanges end-to-end tests and the `exchanges_cycle` bench
//! (`#[path]`-included there). Nothing here reaches a real host.
#![allow(dead_code)] // each test binary uses part of it

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// USD of the scripted liquidations each stream sends once subscribed: Binance a long
/// (`S = SELL`), Bybit a long (`S = Buy`), OKX a short (`side = buy`).
pub(crate) const BINANCE_LONG_USD: f64 = 2.0 * 50_000.0;
pub(crate) const BYBIT_LONG_USD: f64 = 0.5 * 50_000.0;
/// 30 contracts × 0.01 BTC × 50,000.
pub(crate) const OKX_SHORT_USD: f64 = 30.0 * 0.01 * 50_000.0;

/// The three venues, served locally.
pub(crate) struct Venues {
    pub binance: MockServer,
    pub bybit: MockServer,
    pub okx: MockServer,
    pub ws: WsVenues,
}

impl Venues {
    /// Healthy venues listing `coins` (BTC at 50,000; others at 10 × their position + 1),
    /// every answer `latency` late.
    pub(crate) async fn start(coins: &[&str], latency: Duration) -> Venues {
        Venues::streaming(coins, latency, 0).await
    }

    /// As [`Venues::start`], with every stream sending `per_second` liquidations.
    pub(crate) async fn streaming(coins: &[&str], latency: Duration, per_second: u32) -> Venues {
        let coins: Arc<Vec<String>> = Arc::new(coins.iter().map(|c| c.to_string()).collect());
        let (binance, bybit, okx) = (
            MockServer::start().await,
            MockServer::start().await,
            MockServer::start().await,
        );
        mount_binance(&binance, &coins, latency).await;
        mount_bybit(&bybit, &coins, latency).await;
        mount_okx(&okx, &coins, latency).await;
        Venues {
            binance,
            bybit,
            okx,
            ws: WsVenues::streaming(per_second).await,
        }
    }

    /// The six base-URL variables pointing at the mocks.
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("BINANCE_FAPI_URL", self.binance.uri()),
            ("BYBIT_API_URL", self.bybit.uri()),
            ("OKX_API_URL", self.okx.uri()),
            ("BINANCE_WS_URL", self.ws.url()),
            ("BYBIT_WS_URL", self.ws.url()),
            ("OKX_WS_URL", self.ws.url()),
        ]
    }
}

fn price_of(coins: &[String], coin: &str) -> f64 {
    if coin == "BTC" {
        return 50_000.0;
    }
    let i = coins.iter().position(|c| c == coin).unwrap_or(0);
    10.0 * i as f64 + 1.0
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The latest 5-minute bar start.
fn bar_ms() -> i64 {
    let n = now_ms();
    n - n.rem_euclid(300_000)
}

fn query(req: &Request, key: &str) -> String {
    req.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

/// Answers from a closure of the request.
struct Answer<F>(F, Duration);

impl<F: Fn(&Request) -> Value + Send + Sync + 'static> Respond for Answer<F> {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        ResponseTemplate::new(200)
            .set_body_json((self.0)(req))
            .set_delay(self.1)
    }
}

async fn serve<F>(server: &MockServer, at: &str, latency: Duration, answer: F)
where
    F: Fn(&Request) -> Value + Send + Sync + 'static,
{
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(Answer(answer, latency))
        .mount(server)
        .await;
}

async fn mount_binance(server: &MockServer, coins: &Arc<Vec<String>>, latency: Duration) {
    let c = coins.clone();
    serve(server, "/fapi/v1/exchangeInfo", latency, move |_| {
        let symbols: Vec<Value> = c
            .iter()
            .map(|coin| {
                json!({"symbol": format!("{coin}USDT"), "pair": format!("{coin}USDT"),
                       "contractType": "PERPETUAL", "quoteAsset": "USDT", "status": "TRADING",
                       "baseAsset": coin, "filters": []})
            })
            .collect();
        json!({"timezone": "UTC", "serverTime": now_ms(), "symbols": symbols})
    })
    .await;
    let c = coins.clone();
    serve(server, "/fapi/v1/premiumIndex", latency, move |_| {
        Value::Array(
            c.iter()
                .map(|coin| {
                    json!({"symbol": format!("{coin}USDT"),
                           "markPrice": price_of(&c, coin).to_string(),
                           "indexPrice": "", "lastFundingRate": "0.00010000",
                           "nextFundingTime": bar_ms() + 3_600_000, "time": now_ms()})
                })
                .collect(),
        )
    })
    .await;
    let c = coins.clone();
    serve(server, "/fapi/v1/ticker/24hr", latency, move |_| {
        Value::Array(
            c.iter()
                .map(|coin| {
                    json!({"symbol": format!("{coin}USDT"),
                           "lastPrice": price_of(&c, coin).to_string(),
                           "priceChangePercent": "2.000", "count": 1})
                })
                .collect(),
        )
    })
    .await;
    // BTC pays hourly (adjusted); the others the default 8 h.
    serve(server, "/fapi/v1/fundingInfo", latency, |_| {
        json!([{"symbol": "BTCUSDT", "fundingIntervalHours": 1, "adjustedFundingRateCap": "0.02"}])
    })
    .await;
    serve(server, "/fapi/v1/openInterest", latency, |req| {
        json!({"openInterest": "100000.000", "symbol": query(req, "symbol"), "time": now_ms()})
    })
    .await;
    let c = coins.clone();
    serve(server, "/fapi/v1/klines", latency, move |req| {
        let coin = query(req, "symbol").trim_end_matches("USDT").to_string();
        let p = price_of(&c, &coin);
        Value::Array(
            (0..13)
                .map(|i: i64| {
                    let t = bar_ms() - (12 - i) * 300_000;
                    let close = if i == 12 { p } else { p / 1.01 };
                    json!([
                        t,
                        close.to_string(),
                        p.to_string(),
                        p.to_string(),
                        close.to_string(),
                        "10",
                        t + 299_999,
                        "1",
                        1,
                        "5",
                        "1",
                        "0"
                    ])
                })
                .collect(),
        )
    })
    .await;
    serve(server, "/futures/data/openInterestHist", latency, |req| {
        let symbol = query(req, "symbol");
        Value::Array(
            (0..=288)
                .rev()
                .map(|k: i64| {
                    json!({"symbol": symbol, "sumOpenInterest": "1000",
                           "sumOpenInterestValue": format!("{}", 5e9 - k as f64 * 1e6),
                           "timestamp": bar_ms() - k * 300_000})
                })
                .collect(),
        )
    })
    .await;
    for (at, long) in [
        ("/futures/data/globalLongShortAccountRatio", "0.7000"),
        ("/futures/data/topLongShortAccountRatio", "0.4500"),
    ] {
        serve(server, at, latency, move |req| {
            let short = format!("{:.4}", 1.0 - long.parse::<f64>().unwrap_or(0.5));
            json!([{"symbol": query(req, "symbol"), "longShortRatio": "1",
                    "longAccount": long, "shortAccount": short, "timestamp": bar_ms().to_string()}])
        })
        .await;
    }
    serve(server, "/futures/data/takerlongshortRatio", latency, |_| {
        Value::Array(
            (0..12)
                .map(|k: i64| {
                    json!({"buySellRatio": "1.5", "buyVol": "15", "sellVol": "10",
                           "timestamp": bar_ms() - k * 300_000})
                })
                .collect(),
        )
    })
    .await;
}

fn bybit_ok(result: Value) -> Value {
    json!({"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": now_ms()})
}

async fn mount_bybit(server: &MockServer, coins: &Arc<Vec<String>>, latency: Duration) {
    let c = coins.clone();
    serve(server, "/v5/market/instruments-info", latency, move |_| {
        let list: Vec<Value> = c
            .iter()
            .map(|coin| {
                json!({"symbol": format!("{coin}USDT"), "contractType": "LinearPerpetual",
                       "status": "Trading", "baseCoin": coin, "quoteCoin": "USDT",
                       "settleCoin": "USDT", "fundingInterval": 240})
            })
            .collect();
        bybit_ok(json!({"category": "linear", "list": list, "nextPageCursor": ""}))
    })
    .await;
    let c = coins.clone();
    serve(server, "/v5/market/tickers", latency, move |_| {
        let list: Vec<Value> = c
            .iter()
            .map(|coin| {
                let p = price_of(&c, coin);
                json!({"symbol": format!("{coin}USDT"), "lastPrice": p.to_string(),
                       "prevPrice1h": (p / 1.01).to_string(), "price24hPcnt": "0.02",
                       "fundingRate": "0.0002", "nextFundingTime": (bar_ms() + 3_600_000).to_string(),
                       "openInterest": "40000", "openInterestValue": "4000000000",
                       "singleOpenInterest": "20000", "singleOpenInterestValue": "2000000000",
                       "markPrice": p.to_string(), "basis": ""})
            })
            .collect();
        bybit_ok(json!({"category": "linear", "list": list}))
    })
    .await;
    serve(server, "/v5/market/open-interest", latency, |req| {
        let hourly = query(req, "intervalTime") == "1h";
        let step = if hourly { 3_600_000 } else { 300_000 };
        let list: Vec<Value> = (0..if hourly { 25 } else { 200 })
            .map(|i: i64| {
                json!({"openInterest": "40000", "singleOpenInterest": "20000",
                                  "timestamp": (bar_ms() - i * step).to_string()})
            })
            .collect();
        bybit_ok(
            json!({"symbol": query(req, "symbol"), "category": "linear", "list": list,
                        "nextPageCursor": ""}),
        )
    })
    .await;
    serve(server, "/v5/market/account-ratio", latency, |req| {
        bybit_ok(
            json!({"list": [{"symbol": query(req, "symbol"), "buyRatio": "0.6",
                                  "sellRatio": "0.4", "timestamp": bar_ms().to_string()}]}),
        )
    })
    .await;
}

fn okx_ok(data: Value) -> Value {
    json!({"code": "0", "msg": "", "data": data})
}

async fn mount_okx(server: &MockServer, coins: &Arc<Vec<String>>, latency: Duration) {
    let c = coins.clone();
    serve(server, "/api/v5/public/instruments", latency, move |_| {
        okx_ok(Value::Array(
            c.iter()
                .map(|coin| {
                    json!({"instType": "SWAP", "instId": format!("{coin}-USDT-SWAP"),
                           "instFamily": format!("{coin}-USDT"), "settleCcy": "USDT",
                           "ctType": "linear", "state": "live", "ctVal": "0.01", "ctMult": "1",
                           "ctValCcy": coin})
                })
                .collect(),
        ))
    })
    .await;
    let c = coins.clone();
    serve(server, "/api/v5/public/funding-rate", latency, move |_| {
        let next = bar_ms() + 3_600_000;
        okx_ok(Value::Array(
            c.iter()
                .map(|coin| {
                    json!({"instType": "SWAP", "instId": format!("{coin}-USDT-SWAP"),
                           "fundingRate": "0.0001", "fundingTime": next.to_string(),
                           "nextFundingTime": (next + 8 * 3_600_000).to_string()})
                })
                .collect(),
        ))
    })
    .await;
    let c = coins.clone();
    serve(server, "/api/v5/public/open-interest", latency, move |_| {
        okx_ok(Value::Array(
            c.iter()
                .map(|coin| {
                    json!({"instType": "SWAP", "instId": format!("{coin}-USDT-SWAP"),
                           "oi": "100000", "oiCcy": "1000", "oiUsd": "1000000000",
                           "ts": now_ms().to_string()})
                })
                .collect(),
        ))
    })
    .await;
    let c = coins.clone();
    serve(server, "/api/v5/market/tickers", latency, move |_| {
        okx_ok(Value::Array(
            c.iter()
                .map(|coin| {
                    let p = price_of(&c, coin);
                    json!({"instType": "SWAP", "instId": format!("{coin}-USDT-SWAP"),
                           "last": p.to_string(), "open24h": (p / 1.02).to_string(),
                           "sodUtc0": "", "ts": now_ms().to_string()})
                })
                .collect(),
        ))
    })
    .await;
    serve(
        server,
        "/api/v5/rubik/stat/contracts/open-interest-history",
        latency,
        |req| {
            let hourly = query(req, "period") != "5m";
            let step = if hourly { 3_600_000 } else { 300_000 };
            okx_ok(Value::Array(
                (0..if hourly { 25 } else { 100 })
                    .map(|i: i64| {
                        json!([
                            (bar_ms() - i * step).to_string(),
                            "100000",
                            "1000",
                            "1000000000"
                        ])
                    })
                    .collect(),
            ))
        },
    )
    .await;
}

/// One local websocket server answering the three venues' liquidation routes: each connection
/// gets one scripted liquidation for BTC once subscribed (Binance at once), and pongs to the
/// venues' text pings.
pub(crate) struct WsVenues {
    port: u16,
    /// The request paths of the connections, in order.
    pub paths: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WsVenues {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl WsVenues {
    /// One scripted liquidation per connection, once subscribed.
    pub(crate) async fn start() -> WsVenues {
        WsVenues::streaming(0).await
    }

    /// As [`WsVenues::start`], then `per_second` more liquidations on every connection (a
    /// long-running market for soak runs).
    pub(crate) async fn streaming(per_second: u32) -> WsVenues {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let paths: Arc<Mutex<Vec<String>>> = Arc::default();
        let seen = paths.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(serve_ws(tcp, seen.clone(), per_second));
            }
        });
        WsVenues { port, paths, task }
    }

    pub(crate) fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }
}

/// The route's liquidation frame at `ts` (BTC, the sides and sizes of the constants above).
fn liquidation_frame(route: &str, ts: i64) -> Option<String> {
    let frame = match route {
        "/market/ws/!forceOrder@arr" => json!({"e": "forceOrder", "E": ts, "o": {
            "s": "BTCUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC", "q": "2", "p": "49000",
            "ap": "50000", "X": "FILLED", "l": "2", "z": "2", "T": ts}}),
        "/v5/public/linear" => json!({"topic": "allLiquidation.BTCUSDT", "type": "snapshot",
            "ts": ts, "data": [{"T": ts, "s": "BTCUSDT", "S": "Buy", "v": "0.5", "p": "50000"}]}),
        "/ws/v5/public" => json!({"arg": {"channel": "liquidation-orders", "instType": "SWAP"},
            "data": [{"instId": "BTC-USDT-SWAP", "instFamily": "BTC-USDT", "instType": "SWAP",
                      "details": [{"side": "buy", "posSide": "short", "sz": "30",
                                   "bkPx": "50000", "ts": ts.to_string()}]}]}),
        _ => return None,
    };
    Some(frame.to_string())
}

/// What the mock answers to a client's text frame (pongs, subscribe acknowledgements).
fn ws_reply(route: &str, text: &str) -> Option<String> {
    if text == "ping" {
        return Some("pong".to_string());
    }
    let reply = if text.contains("\"ping\"") {
        json!({"success": true, "ret_msg": "pong", "op": "ping"})
    } else if !text.contains("subscribe") {
        return None;
    } else if route.starts_with("/ws/v5") {
        json!({"event": "subscribe", "arg": {"channel": "liquidation-orders", "instType": "SWAP"}, "connId": "1"})
    } else {
        json!({"success": true, "ret_msg": "", "op": "subscribe", "conn_id": "1"})
    };
    Some(reply.to_string())
}

async fn serve_ws(tcp: tokio::net::TcpStream, paths: Arc<Mutex<Vec<String>>>, per_second: u32) {
    let mut route = String::new();
    // The handshake callback's error type is tungstenite's, not ours to shrink.
    #[allow(clippy::result_large_err)]
    let callback =
        |req: &tokio_tungstenite::tungstenite::handshake::server::Request,
         resp: tokio_tungstenite::tungstenite::handshake::server::Response| {
            route = req.uri().path().to_string();
            Ok(resp)
        };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
        return;
    };
    paths.lock().unwrap().push(route.clone());
    // Binance streams from the URL; the others once subscribed.
    let mut subscribed = route.starts_with("/market");
    let mut first = true;
    let period = Duration::from_secs_f64(1.0 / f64::from(per_second.max(1)));
    let mut tick = tokio::time::interval(period);
    loop {
        if subscribed && first {
            first = false;
            if let Some(frame) = liquidation_frame(&route, now_ms()) {
                let _ = ws.send(Message::text(frame)).await;
            }
        }
        tokio::select! {
            msg = ws.next() => {
                let Some(Ok(msg)) = msg else { return };
                let Message::Text(text) = msg else { continue };
                if let Some(reply) = ws_reply(&route, text.as_str()) {
                    if ws.send(Message::text(reply)).await.is_err() {
                        return;
                    }
                }
                subscribed |= text.as_str().contains("subscribe");
            }
            _ = tick.tick(), if per_second > 0 && subscribed && !first => {
                if let Some(frame) = liquidation_frame(&route, now_ms()) {
                    if ws.send(Message::text(frame)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
