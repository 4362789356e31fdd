//! The request budget as the CoinGlass client spends it, against local mock servers (nothing here
//! reaches a real host): failed connections cost nothing, a 429 holds every request of the client
//! until the key's window clears and then lets one probe go first, a 429 whose headers show room
//! holds no one back, the window keeps a margin at its edge, and a request dropped at a deadline
//! stops cleanly. The limiter's arithmetic on tokio's paused clock is unit-tested in
//! `src/source/coinglass/budget.rs`.

use perpwatch::source::coinglass::{
    paths, window_margin, ApiError, ClientOptions, CoinGlassClient,
};
use secrecy::SecretString;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "cg-secret-key-budget-0123456789";

fn opts(window: Duration, max_attempts: u32) -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        max_attempts,
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(20),
        rate_window: window,
    }
}

fn client(url: impl Into<String>, o: ClientOptions) -> CoinGlassClient {
    CoinGlassClient::new(url, SecretString::from(KEY), o).unwrap()
}

fn ok_empty() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"code": "0", "data": []}))
}

/// Answers OK and records when each request arrived.
fn stamping(stamps: &Arc<Mutex<Vec<Instant>>>) -> impl Fn(&Request) -> ResponseTemplate {
    let stamps = stamps.clone();
    move |_: &Request| {
        stamps.lock().unwrap().push(Instant::now());
        ok_empty()
    }
}

fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

#[tokio::test]
async fn a_refused_connection_spends_no_budget() {
    // Production window (60 s) and Hobbyist's 30/min: 40 requests × 3 attempts would need more
    // than four minutes if failed connections were counted.
    let c = client(closed_port(), opts(Duration::from_secs(60), 3));
    let started = Instant::now();
    let calls = (0..40).map(|_| c.oi_exchange_list("BTC"));
    let results = futures::future::join_all(calls).await;
    for r in &results {
        assert!(
            matches!(r, Err(ApiError::Transient { .. })),
            "{:?}",
            r.as_ref().err()
        );
    }
    assert_eq!(c.requests_total(), 120, "every attempt was made");
    assert_eq!(c.limiter().used_this_minute(), 0, "none was counted");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_429_pauses_every_endpoint_until_the_window_clears_then_one_probe_goes_first() {
    let server = MockServer::start().await;
    Mock::given(path(paths::OI_EXCHANGE_LIST))
        .respond_with(ResponseTemplate::new(429))
        .mount(&server)
        .await;
    let stamps = Arc::new(Mutex::new(Vec::new()));
    let probe_delay = Duration::from_millis(300);
    let s2 = stamps.clone();
    Mock::given(path(paths::FUNDING_EXCHANGE_LIST))
        .respond_with(move |_: &Request| {
            s2.lock().unwrap().push(Instant::now());
            ok_empty().set_delay(probe_delay)
        })
        .mount(&server)
        .await;
    let window = Duration::from_secs(1);
    let c = client(server.uri(), opts(window, 1));

    let started = Instant::now();
    let err = c.oi_exchange_list("BTC").await.unwrap_err();
    assert!(matches!(err, ApiError::RateLimited { .. }), "{err}");
    assert!(err.to_string().contains("waits"), "{err}");
    assert!(c.limiter().is_throttled());
    assert!(c.limiter().pause_remaining().is_some());

    // Three requests to another endpoint: none goes before the window of the 429'd request has
    // cleared (plus its margin), and the first one goes alone until it is answered.
    let calls = (0..3).map(|_| c.funding_exchange_list());
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok));
    assert!(!c.limiter().is_throttled());
    let mut t = stamps.lock().unwrap().clone();
    t.sort();
    assert_eq!(t.len(), 3);
    let earliest = started + window + window_margin(window);
    assert!(
        t[0] >= earliest,
        "a request went {:?} early",
        earliest - t[0]
    );
    assert!(
        t[1] - t[0] >= probe_delay,
        "the second request did not wait for the probe's answer: {:?}",
        t[1] - t[0]
    );
    assert_eq!(c.requests_total(), 4);
}

#[tokio::test]
async fn a_429_whose_headers_show_room_holds_no_other_request_back() {
    let server = MockServer::start().await;
    Mock::given(path(paths::OI_EXCHANGE_LIST))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("API-KEY-MAX-LIMIT", "30")
                .insert_header("API-KEY-USE-LIMIT", "3"),
        )
        .mount(&server)
        .await;
    Mock::given(path(paths::FUNDING_EXCHANGE_LIST))
        .respond_with(ok_empty())
        .mount(&server)
        .await;
    // The production window: a pause would be felt for most of a minute.
    let c = client(server.uri(), opts(Duration::from_secs(60), 2));
    let err = c.oi_exchange_list("BTC").await.unwrap_err();
    assert!(matches!(err, ApiError::RateLimited { .. }), "{err}");
    assert_eq!(
        c.requests_total(),
        2,
        "the 429'd request itself was retried"
    );
    assert!(!c.limiter().is_throttled());
    let started = Instant::now();
    c.funding_exchange_list().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_after_sets_the_pause() {
    let server = MockServer::start().await;
    Mock::given(path(paths::OI_EXCHANGE_LIST))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "2"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let stamps = Arc::new(Mutex::new(Vec::new()));
    Mock::given(path(paths::OI_EXCHANGE_LIST))
        .respond_with(stamping(&stamps))
        .with_priority(2)
        .mount(&server)
        .await;
    // A 1 s window: without Retry-After the pause would be about 1.05 s.
    let c = client(server.uri(), opts(Duration::from_secs(1), 2));
    let started = Instant::now();
    c.oi_exchange_list("BTC").await.unwrap();
    let retried = stamps.lock().unwrap()[0];
    assert!(
        retried - started >= Duration::from_secs(2),
        "{:?}",
        retried - started
    );
}

#[tokio::test]
async fn the_window_keeps_a_margin_at_its_edge() {
    let server = MockServer::start().await;
    let stamps = Arc::new(Mutex::new(Vec::new()));
    Mock::given(path(paths::OI_EXCHANGE_LIST))
        .respond_with(stamping(&stamps))
        .mount(&server)
        .await;
    // Limit 10 per 1 s window: 8 allowed (headroom 2); the 9th waits for the window plus its
    // margin, not just the window.
    let window = Duration::from_secs(1);
    let c = client(server.uri(), opts(window, 1));
    c.limiter().set_plan_limit(10);
    let started = Instant::now();
    let calls = (0..9).map(|_| c.oi_exchange_list("BTC"));
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok));
    let mut t = stamps.lock().unwrap().clone();
    t.sort();
    assert_eq!(t.len(), 9);
    let edge = started + window + window_margin(window);
    assert!(t[8] >= edge, "the 9th request went {:?} early", edge - t[8]);
}

#[tokio::test]
async fn a_request_dropped_at_a_deadline_stops_cleanly() {
    let server = MockServer::start().await;
    let hits = Arc::new(AtomicUsize::new(0));
    let h2 = hits.clone();
    Mock::given(path(paths::OI_EXCHANGE_LIST))
        .respond_with(move |_: &Request| {
            h2.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(json!({"code": "500", "msg": "Server Error"}))
        })
        .mount(&server)
        .await;
    // Backing off for seconds between attempts: the deadline falls in the first backoff.
    let c = client(
        server.uri(),
        ClientOptions {
            backoff_base: Duration::from_secs(4),
            backoff_cap: Duration::from_secs(8),
            ..opts(Duration::from_secs(60), 3)
        },
    );
    let started = Instant::now();
    let r = tokio::time::timeout(Duration::from_millis(500), c.oi_exchange_list("BTC")).await;
    assert!(r.is_err(), "the deadline cut the request");
    assert!(started.elapsed() < Duration::from_secs(2));
    // Nothing goes on behind the caller's back: no retry arrives after the deadline.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(c.requests_total(), 1);
    assert_eq!(c.limiter().used_this_minute(), 1);

    // A request waiting on a 429 pause gives up at its deadline without taking a slot, and the
    // pause stays in force for the others.
    let server = MockServer::start().await;
    Mock::given(path(paths::OI_EXCHANGE_LIST))
        .respond_with(ResponseTemplate::new(429))
        .mount(&server)
        .await;
    let c = client(server.uri(), opts(Duration::from_secs(60), 1));
    c.oi_exchange_list("BTC").await.unwrap_err();
    let used = c.limiter().used_this_minute();
    let started = Instant::now();
    let r = tokio::time::timeout(Duration::from_millis(300), c.funding_exchange_list()).await;
    assert!(r.is_err());
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(c.limiter().used_this_minute(), used);
    assert_eq!(c.requests_total(), 1);
    assert!(c.limiter().is_throttled());
    assert!(c.limiter().pause_remaining().unwrap() > Duration::from_secs(50));
}
