use super::super::tests::inst;
use super::super::{Binance, MIN_MS};
use super::*;
use crate::source::exchanges::venue::VenueApi;
use chrono::Utc;
use serde_json::{json, Value};
use std::collections::HashMap;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A fake paged endpoint: serves `rows(t)` for every `t` of `times` inside the request's
/// `[startTime, endTime]`, at most `limit` from the start (as Binance pages forward).
struct Paged {
    times: Vec<i64>,
    row: fn(i64) -> Value,
    /// Refuses a `startTime` before this (Binance's 30-day reach).
    earliest: Option<i64>,
}

impl Respond for Paged {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let q: HashMap<String, String> = req.url.query_pairs().into_owned().collect();
        let num = |k: &str| q.get(k).and_then(|v| v.parse::<i64>().ok());
        let (from, to) = (
            num("startTime").unwrap_or(0),
            num("endTime").unwrap_or(i64::MAX),
        );
        if self.earliest.is_some_and(|e| from < e) {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"code": -1130, "msg": "parameter 'startTime' is invalid"}));
        }
        let limit = num("limit").unwrap_or(500) as usize;
        let rows: Vec<Value> = self
            .times
            .iter()
            .filter(|t| (from..=to).contains(*t))
            .take(limit)
            .map(|t| (self.row)(*t))
            .collect();
        ResponseTemplate::new(200).set_body_json(rows)
    }
}

async fn paged(server: &MockServer, at: &str, fake: Paged, pages: u64) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(fake)
        .expect(pages)
        .mount(server)
        .await;
}

#[tokio::test]
async fn history_pages_klines_and_funding_normalises_each_rate_and_keeps_30_days() {
    let server = MockServer::start().await;
    let now_ms = Utc::now().timestamp_millis();
    let end = now_ms - now_ms.rem_euclid(HOUR_MS);
    let start = end - 50 * 24 * HOUR_MS; // 1200 hourly bars: two pages of klines
    let hours = |from: i64, to: i64, step: i64| {
        (0..)
            .map(move |i| from + i * step * HOUR_MS)
            .take_while(move |t| *t < to)
    };
    paged(
        &server,
        KLINES,
        Paged {
            times: hours(start - 48 * HOUR_MS, end + 48 * HOUR_MS, 1).collect(),
            row: |t| {
                json!([
                    t,
                    "9.0",
                    "11.0",
                    "8.0",
                    "10.0",
                    "100",
                    t + HOUR_MS - 1,
                    "1000",
                    5,
                    "60",
                    "600",
                    "0"
                ])
            },
            earliest: None,
        },
        2,
    )
    .await;
    // Hourly funding until `switch`, 4-hourly after: over 1000 rows, two pages.
    let switch = end - 5 * 24 * HOUR_MS;
    let times = hours(start - 72 * HOUR_MS, switch + 1, 1).chain(hours(
        switch + 4 * HOUR_MS,
        end + 48 * HOUR_MS,
        4,
    ));
    paged(&server, FUNDING_RATE, Paged {
        times: times.collect(),
        row: |t| json!({"symbol": "1000PEPEUSDT", "fundingRate": "0.00010000", "fundingTime": t, "markPrice": "0.01"}),
        earliest: None,
    }, 2).await;
    let earliest = Some(now_ms - 30 * 24 * HOUR_MS);
    let stat_times: Vec<i64> = hours(start, end + 1, 1).collect();
    // 30 days of hourly rows: two windows of 500 each.
    paged(&server, OI_HIST, Paged {
        times: stat_times.clone(),
        row: |t| json!({"symbol": "1000PEPEUSDT", "sumOpenInterest": "1", "sumOpenInterestValue": "123456.7", "timestamp": t.to_string()}),
        earliest,
    }, 2).await;
    for p in [GLOBAL_ACCOUNTS, TOP_ACCOUNTS] {
        paged(&server, p, Paged {
            times: stat_times.clone(),
            row: |t| json!({"longShortRatio": "1.5", "longAccount": "0.6000", "shortAccount": "0.4000", "timestamp": t}),
            earliest,
        }, 2).await;
    }
    let b = Binance::new(&server.uri(), "wss://example.invalid");
    let pepe = inst("PEPE", "1000PEPEUSDT", 1000.0);
    let (bars, notes) = history_bars(b.http(), &pepe, HOUR_MS, start, end)
        .await
        .unwrap();
    assert_eq!(bars.len(), 1200);
    assert_eq!(
        (bars[0].time_ms, bars[1199].time_ms),
        (start, end - HOUR_MS)
    );
    let bar_at = |t: i64| bars[((t - start) / HOUR_MS) as usize];
    let early = bar_at(start + 24 * HOUR_MS);
    assert_eq!(early.close, Some(0.01)); // per coin
    assert_eq!(early.taker_buy_pct, Some(60.0));
    // 0.01 % per hour is 0.08 % per 8 h; per 4 h, 0.02 %.
    let near = |v: Option<f64>, x: f64| v.is_some_and(|v| (v - x).abs() < 1e-9);
    assert!(near(bars[0].funding_8h_pct, 0.08), "{:?}", bars[0]);
    assert!(near(early.funding_8h_pct, 0.08));
    // The first 4-hour settlement (switch + 4 h) opens the bar it falls on.
    assert!(near(bar_at(switch + 3 * HOUR_MS).funding_8h_pct, 0.08));
    assert!(near(bar_at(switch + 4 * HOUR_MS).funding_8h_pct, 0.02));
    assert!(near(bars[1199].funding_8h_pct, 0.02));
    // OI and long/short only inside the 30 days.
    assert_eq!((early.oi_usd, early.retail_long_pct), (None, None));
    let recent = bar_at(end - 48 * HOUR_MS);
    assert_eq!(recent.oi_usd, Some(123456.7));
    assert!(near(recent.retail_long_pct, 60.0) && near(recent.top_long_pct, 60.0));
    assert!(
        notes.iter().any(|n| n.contains("Binance keeps 30 days")),
        "{notes:?}"
    );
    assert!(notes.iter().any(|n| n.contains("no liquidation history")));
}

#[tokio::test]
async fn history_says_which_intervals_exist() {
    let b = Binance::new("http://127.0.0.1:9", "wss://example.invalid");
    let e = history_bars(
        b.http(),
        &inst("BTC", "BTCUSDT", 1.0),
        7 * MIN_MS,
        0,
        HOUR_MS,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("1m, 3m, 5m"), "{e}");
}

#[tokio::test]
async fn a_page_our_budget_refuses_is_waited_for_not_dropped() {
    use super::super::super::http::{HttpSetup, Pool};
    let server = MockServer::start().await;
    let end = 1_800_000_000_000_i64 - 1_800_000_000_000_i64.rem_euclid(HOUR_MS);
    let start = end - 1200 * MIN_MS; // two pages of 1m klines, weight 5 each
    paged(
        &server,
        KLINES,
        Paged {
            times: (0..1200).map(|i| start + i * MIN_MS).collect(),
            row: |t| {
                json!([
                    t,
                    "1",
                    "1",
                    "1",
                    "1",
                    "0",
                    t + MIN_MS - 1,
                    "0",
                    0,
                    "0",
                    "0",
                    "0"
                ])
            },
            earliest: None,
        },
        2,
    )
    .await;
    Mock::given(method("GET"))
        .and(path(FUNDING_RATE))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    // Our share of this pool (half of 12 per second) fits one page at a time.
    let pool = |name, limit| Pool {
        name,
        limit,
        window: Duration::from_secs(1),
    };
    let http = VenueHttp::new(HttpSetup {
        venue: crate::source::exchanges::Venue::Binance,
        base_url: server.uri(),
        pools: vec![pool("weight", 12), pool("funding", 500)],
        usage_header: None,
        timeout: Duration::from_secs(5),
    });
    let began = std::time::Instant::now();
    let (bars, notes) = history_bars(&http, &inst("BTC", "BTCUSDT", 1.0), MIN_MS, start, end)
        .await
        .unwrap();
    assert_eq!(bars.len(), 1200);
    // Zero volume: no taker share (never 0 %); no funding rows: no funding.
    assert_eq!(
        (bars[0].taker_buy_pct, bars[0].funding_8h_pct),
        (None, None)
    );
    assert!(
        began.elapsed() >= Duration::from_millis(900),
        "{:?}",
        began.elapsed()
    );
    assert!(
        notes.iter().any(|n| n.contains("1m bars have none")),
        "{notes:?}"
    );
}
