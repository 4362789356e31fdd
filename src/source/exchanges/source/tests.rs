//! The combined source against fake venue clients ([`fake`]).

use super::*;
use crate::source::exchanges::venue::{LiqEvent, LiqSide};
use fake::{fake, healthy, reading, start, three, three_healthy, Server};
use venue_check::check_with;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

mod fake;

async fn poll(src: &mut ExchangesSource, now: DateTime<Utc>) -> Vec<Snapshot> {
    let ctx = PollContext::within(now, Duration::from_secs(5));
    src.poll(&ctx).await.unwrap()
}

fn status<'a>(all: &'a [VenueStatus], venue: &str) -> &'a VenueStatus {
    all.iter().find(|s| s.venue == venue).unwrap()
}

/// The REST side is fine: whatever the stream does (connecting, or down since nothing listens
/// at the fake's stream URL).
fn rest_fine(s: &VenueStatus) -> bool {
    s.state == "ok" || s.state == "stream connecting" || s.state.starts_with("stream down")
}

const BTC: &[&str] = &["BTC"];

#[tokio::test]
async fn one_venue_down_while_the_others_answer() {
    let fakes = three(
        [BTC, BTC, BTC],
        [
            Server::Answers(200),
            Server::Answers(500),
            Server::Answers(200),
        ],
    )
    .await;
    let (src, scripts, servers) = start(&["btc"], fakes).await;
    let mut src = src.unwrap();
    let notes = src.start_notes().join("\n");
    assert!(
        notes.contains("Bybit unreachable at start: Bybit answered HTTP 500: {}; retrying"),
        "{notes}"
    );
    let snaps = poll(&mut src, Utc::now()).await;
    assert_eq!(snaps.len(), 1);
    let f = snaps[0]
        .funding
        .get()
        .expect("funding from Binance and OKX");
    let rows: Vec<&str> = f.by_exchange.iter().map(|r| r.exchange.as_str()).collect();
    assert_eq!(rows, ["Binance", "OKX"]);
    // (0.01 × 300 + 0.04 × 100) / 400.
    assert!((f.rate_8h_pct.unwrap() - 0.0175).abs() < 1e-12, "{f:?}");
    assert_eq!(snaps[0].open_interest.get().unwrap().oi_usd, Some(400.0));
    assert_eq!(snaps[0].price.get().unwrap().price, Some(100.0));
    let venues = src.venues();
    let bybit = status(&venues, "bybit");
    assert_eq!(bybit.state, "unreachable");
    assert_eq!(bybit.detail.as_deref(), Some("Bybit answered HTTP 500: {}"));
    assert!(rest_fine(status(&venues, "binance")), "{venues:?}");
    assert!(rest_fine(status(&venues, "okx")), "{venues:?}");
    // Binance and OKX asked once each this cycle; Bybit is not asked again within the minute.
    let stats = src.request_stats();
    assert_eq!((stats.this_cycle, stats.total), (2, 5));
    assert!(scripts[1].lock().unwrap().polls.is_empty());

    // Bybit recovers: on the next due poll its list is fetched and it joins.
    let bybit_server = servers[1].as_ref().unwrap();
    bybit_server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(bybit_server)
        .await;
    src.slots[1].list_failure.as_mut().unwrap().1 = Instant::now();
    let snaps = poll(&mut src, Utc::now()).await;
    let rows = &snaps[0].funding.get().unwrap().by_exchange;
    assert_eq!(rows.len(), 3);
    assert!(rest_fine(status(&src.venues(), "bybit")));
    assert_eq!(src.request_stats().this_cycle, 4);
    assert!(src.slots[1].stream.is_some());
}

#[tokio::test]
async fn a_coin_listed_on_one_venue_only() {
    let fakes = three(
        [BTC, &["BTC", "PEPE"], BTC],
        [
            Server::Answers(200),
            Server::Answers(200),
            Server::Answers(200),
        ],
    )
    .await;
    let (src, scripts, _servers) = start(&["BTC", "PEPE"], fakes).await;
    let mut src = src.unwrap();
    let notes = src.start_notes();
    for venue in ["Binance", "OKX"] {
        let note = format!("{venue} does not list PEPE as a USDT perpetual: skipped there");
        assert!(notes.contains(&note), "{notes:?}");
    }
    assert_eq!(notes.len(), 2, "{notes:?}");
    let snaps = poll(&mut src, Utc::now()).await;
    let pepe = &snaps[1];
    assert_eq!(pepe.symbol, "PEPE");
    let f = pepe.funding.get().unwrap();
    assert_eq!(f.by_exchange.len(), 1);
    assert_eq!(f.by_exchange[0].exchange, "Bybit");
    // 0.0125 % per hour is 0.1 % per 8 h.
    assert!((f.rate_8h_pct.unwrap() - 0.1).abs() < 1e-12);
    assert_eq!(pepe.price.get().unwrap().price, Some(101.0));
    assert_eq!(
        pepe.retail.gap.as_ref().map(ToString::to_string).as_deref(),
        Some("PEPE not listed on Binance (reference_exchange)")
    );
    // Each venue was asked for the coins it lists only, the reference as such.
    assert_eq!(
        scripts[0].lock().unwrap().polls,
        vec![(true, vec!["BTC".to_string()])]
    );
    assert_eq!(
        scripts[1].lock().unwrap().polls,
        vec![(false, vec!["BTC".to_string(), "PEPE".to_string()])]
    );
    // BTC: retail from Binance (the reference), funding across all three.
    assert_eq!(snaps[0].retail.get().unwrap().long_pct, Some(60.0));
    assert_eq!(snaps[0].funding.get().unwrap().by_exchange.len(), 3);
    assert_eq!(src.slots[0].unlisted, vec!["PEPE".to_string()]);
}

#[tokio::test]
async fn funding_of_1h_and_4h_venues_is_normalised_and_oi_weighted() {
    let fakes = three_healthy().await;
    let (src, _scripts, _servers) = start(BTC, fakes).await;
    let snaps = poll(&mut src.unwrap(), Utc::now()).await;
    let f = snaps[0].funding.get().unwrap();
    let by: Vec<(&str, Option<f64>, f64)> = f
        .by_exchange
        .iter()
        .map(|r| (r.exchange.as_str(), r.interval_hours, r.rate_8h_pct))
        .collect();
    assert_eq!(
        by,
        vec![
            ("Binance", Some(8.0), 0.01),
            ("Bybit", Some(1.0), 0.1),
            ("OKX", Some(4.0), 0.04)
        ]
    );
    let weighted = (0.01 * 300.0 + 0.1 * 100.0 + 0.04 * 100.0) / 500.0;
    assert!((f.rate_8h_pct.unwrap() - weighted).abs() < 1e-12);
    assert_eq!(snaps[0].open_interest.get().unwrap().oi_usd, Some(500.0));
    assert_eq!(
        snaps[0].open_interest.get().unwrap().change_1h_pct,
        Some(0.0)
    );
}

#[tokio::test]
async fn stale_values_are_kept_with_the_new_reason_then_expire() {
    let only = fake(
        Venue::Binance,
        Server::Answers(200),
        BTC,
        reading(0.01, 8.0, 1.0, 1.0),
    )
    .await;
    let (src, _scripts, servers) = start(BTC, vec![only]).await;
    let mut src = src.unwrap();
    let t0 = Utc::now();
    let first = poll(&mut src, t0).await;
    assert!(first[0].funding.gap.is_none());
    let server = servers[0].as_ref().unwrap();
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/cycle"))
        .respond_with(ResponseTemplate::new(500))
        .mount(server)
        .await;
    let failed = GapReason::FetchFailed("Binance answered HTTP 500".into());
    let second = poll(&mut src, t0 + chrono::Duration::seconds(60)).await;
    let s = &second[0];
    assert!(s.funding.is_stale() && s.open_interest.is_stale() && s.price.is_stale());
    assert_eq!(s.funding.get(), first[0].funding.get());
    assert_eq!(s.funding.observed_at, Some(t0));
    assert_eq!(s.funding.gap, Some(failed.clone()));
    assert_eq!(s.retail.gap, Some(failed.clone()));
    assert_eq!(status(&src.venues(), "binance").state, "failing");
    // Past the longest a kept value may serve (10 min at a 1-minute poll): dropped.
    let third = poll(&mut src, t0 + chrono::Duration::seconds(700)).await;
    let s = &third[0];
    assert!(s.funding.get().is_none() && s.price.get().is_none());
    assert_eq!(s.funding.gap, Some(failed));
    assert_eq!(s.inputs().funding_8h_pct, None);
}

#[tokio::test]
async fn a_coin_no_fetched_venue_lists_is_refused_at_start() {
    let fakes = three(
        [BTC, BTC, &["BTC", "DOGE2"]],
        [Server::Answers(200), Server::Answers(200), Server::Closed],
    )
    .await;
    let (src, _scripts, _servers) = start(&["BTC", "DOGE2"], fakes).await;
    let e = src.unwrap_err();
    assert_eq!(
        e,
        ExchangesStartError::NotListed {
            coin: "DOGE2".into(),
            venues: "binance, bybit".into()
        }
    );
    assert!(e
        .to_string()
        .starts_with("DOGE2 is not listed as a USDT perpetual on binance, bybit;"));
}

#[tokio::test]
async fn all_venues_unreachable_at_start_leaves_every_metric_absent_with_the_errors() {
    let fakes = three(
        [BTC, BTC, BTC],
        [Server::Closed, Server::Closed, Server::Answers(451)],
    )
    .await;
    let (src, _scripts, _servers) = start(BTC, fakes).await;
    let mut src = src.expect("start goes on without any venue");
    let notes = src.start_notes().join("\n");
    assert!(
        notes.contains("Binance unreachable at start: connection failed; retrying"),
        "{notes}"
    );
    assert!(notes.contains("no venue could be reached"), "{notes}");
    let snaps = poll(&mut src, Utc::now()).await;
    let s = &snaps[0];
    assert!(s.inputs().values().iter().all(Option::is_none));
    let funding = s.funding.gap.as_ref().unwrap().to_string();
    assert_eq!(
        funding,
        "fetch failed: Binance unreachable: connection failed; \
         Bybit unreachable: connection failed"
    );
    assert_eq!(s.open_interest.gap, s.funding.gap);
    let liq = s.liquidations.gap.as_ref().unwrap().to_string();
    assert!(
        liq.starts_with("fetch failed: no liquidation stream: Binance unreachable")
            && liq.contains("OKX is not available in this region (HTTP 451)"),
        "{liq}"
    );
    let venues = src.venues();
    for id in ["binance", "bybit"] {
        let v = status(&venues, id);
        assert_eq!(v.state, "unreachable", "{v:?}");
        assert!(v.detail.as_deref().unwrap().ends_with("connection failed"));
    }
    assert_eq!(status(&venues, "okx").state, "restricted region (HTTP 451)");
    // Not asked again within the minute.
    assert_eq!(src.request_stats().this_cycle, 0);
}

#[tokio::test]
async fn the_label_names_the_venues_in_order() {
    let fakes = three_healthy().await;
    let (src, _scripts, _servers) = start(BTC, fakes).await;
    let label = src.unwrap().label();
    assert_eq!(label.kind, SourceKind::Exchanges);
    assert_eq!(label.plan.as_deref(), Some("Binance+Bybit+OKX"));
    assert_eq!(label.to_string(), "LIVE · Binance+Bybit+OKX");
    let two = vec![healthy(Venue::Okx).await, healthy(Venue::Binance).await];
    let (src, _scripts, _servers) = start(BTC, two).await;
    assert_eq!(src.unwrap().label().plan.as_deref(), Some("OKX+Binance"));
}

#[tokio::test]
async fn a_venue_that_does_not_answer_by_the_deadline_is_said_so_and_the_rest_return() {
    let fakes = three(
        [BTC, BTC, &["BTC", "OKB"]],
        [
            Server::Answers(200),
            Server::Answers(200),
            Server::Answers(200),
        ],
    )
    .await;
    fakes[2].script.lock().unwrap().delay = Duration::from_secs(5);
    let (src, _scripts, _servers) = start(&["BTC", "OKB"], fakes).await;
    let mut src = src.unwrap();
    let ctx = PollContext::within(Utc::now(), Duration::from_millis(400));
    let mut progress = ctx.progress.subscribe();
    let began = Instant::now();
    let snaps = src.poll(&ctx).await.unwrap();
    assert!(
        began.elapsed() < Duration::from_millis(1500),
        "{:?}",
        began.elapsed()
    );
    let rows = &snaps[0].funding.get().unwrap().by_exchange;
    assert_eq!(rows.len(), 2);
    let okb = &snaps[1];
    let why = GapReason::FetchFailed("OKX did not answer within the cycle".into());
    assert_eq!(okb.funding.gap, Some(why.clone()));
    assert_eq!(okb.price.gap, Some(why));
    assert_eq!(
        *progress.borrow_and_update(),
        PollProgress { done: 3, total: 3 }
    );
    let okx = status(&src.venues(), "okx").clone();
    assert_eq!(okx.state, "unreachable");
    assert_eq!(
        okx.detail.as_deref(),
        Some("OKX did not answer within the cycle")
    );
}

#[tokio::test]
async fn the_first_poll_waits_for_the_streams_but_never_past_the_deadline() {
    let fakes = three_healthy().await;
    let (src, _scripts, _servers) = start(BTC, fakes).await;
    let mut src = src.unwrap().with_stream_wait(FIRST_POLL_STREAM_WAIT);
    let began = Instant::now();
    let ctx = PollContext::within(Utc::now(), Duration::from_millis(400));
    src.poll(&ctx).await.unwrap();
    assert!(
        began.elapsed() < Duration::from_millis(1000),
        "{:?}",
        began.elapsed()
    );
    // Later polls do not wait.
    let began = Instant::now();
    let ctx = PollContext::within(Utc::now(), Duration::from_secs(5));
    src.poll(&ctx).await.unwrap();
    assert!(
        began.elapsed() < Duration::from_millis(1000),
        "{:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn early_arrivals_show_the_reference_venue_before_the_slow_one_answers() {
    let fakes = three_healthy().await;
    fakes[2].script.lock().unwrap().delay = Duration::from_millis(300);
    let (src, _scripts, _servers) = start(BTC, fakes).await;
    let mut src = src.unwrap();
    let ctx = PollContext::within(Utc::now(), Duration::from_secs(5));
    let mut arrived = ctx.arrived.subscribe();
    let snaps = src.poll(&ctx).await.unwrap();
    let early = arrived
        .borrow_and_update()
        .clone()
        .expect("published before OKX answered");
    let e = &early[0];
    assert_eq!(e.price.get().unwrap().price, Some(100.0));
    assert!(e.retail.get().is_some());
    // The sums wait for every venue that lists the coin: no partial OI.
    assert_eq!(e.funding.gap, Some(GapReason::Pending));
    assert_eq!(e.open_interest.gap, Some(GapReason::Pending));
    assert_eq!(snaps[0].open_interest.get().unwrap().oi_usd, Some(500.0));
}

// Needs the real liquidation book (the interface stub's `totals` is always None).
#[tokio::test]
async fn liquidations_come_from_the_book_over_the_venues_that_list_the_coin() {
    let fakes = three(
        [BTC, BTC, &["ETH"]],
        [
            Server::Answers(200),
            Server::Answers(200),
            Server::Answers(200),
        ],
    )
    .await;
    let (src, _scripts, _servers) = start(&["BTC", "ETH"], fakes).await;
    let mut src = src.unwrap();
    let now = Utc::now();
    let event = |coin: &str, side, usd| LiqEvent {
        coin: coin.into(),
        side,
        usd,
        at: now - chrono::Duration::milliseconds(500),
    };
    for venue in [Venue::Binance, Venue::Bybit] {
        src.book
            .stream_up(venue, now - chrono::Duration::seconds(1));
    }
    src.book
        .record(Venue::Binance, &event("BTC", LiqSide::Long, 1000.0));
    src.book
        .record(Venue::Bybit, &event("BTC", LiqSide::Short, 500.0));
    let snaps = poll(&mut src, now).await;
    let liq = snaps[0].liquidations.get().expect("liquidation sums");
    assert_eq!(liq.long_1h_usd, Some(1000.0));
    assert_eq!(liq.short_1h_usd, Some(500.0));
    assert!(liq.lower_bound, "Binance samples");
}

#[tokio::test]
async fn check_reaches_each_venue_once_and_gives_its_budget() {
    let fakes = vec![
        healthy(Venue::Binance).await,
        fake(
            Venue::Bybit,
            Server::Answers(451),
            BTC,
            reading(0.0, 8.0, 1.0, 1.0),
        )
        .await,
    ];
    let mut clients = Vec::new();
    let mut _servers = Vec::new();
    for f in fakes {
        clients.push(f.client);
        _servers.push(f.server);
    }
    let checks = check_with(&["BTC".into(), "PEPE".into()], clients).await;
    assert_eq!(checks.len(), 2);
    assert_eq!(checks[0].status.venue, "binance");
    assert_eq!(checks[0].status.state, "ok");
    assert_eq!(checks[0].unlisted, vec!["PEPE".to_string()]);
    assert_eq!(
        checks[0].budget,
        vec!["weight 1 of 2400 per 1m (ours: half)".to_string()]
    );
    assert_eq!(checks[1].status.state, "restricted region (HTTP 451)");
    assert!(checks[1].unlisted.is_empty());
}
