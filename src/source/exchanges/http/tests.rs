use super::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const COST: Cost = Cost {
    pool: "weight",
    weight: 1,
};

fn http(venue: Venue, server: &MockServer) -> VenueHttp {
    VenueHttp::new(HttpSetup {
        venue,
        base_url: server.uri(),
        pools: vec![Pool {
            name: "weight",
            limit: 2400,
            window: Duration::from_secs(60),
        }],
        usage_header: Some(("x-mbx-used-weight-1m", "weight")),
        timeout: Duration::from_secs(5),
    })
}

#[derive(Debug, serde::Deserialize)]
struct Answer {
    ok: bool,
}

#[tokio::test]
async fn a_429_pauses_the_venue_until_retry_after_then_it_recovers() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/x"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    let h = http(Venue::Binance, &server);
    let e = h.get::<Answer>("/x", &[], COST).await.unwrap_err();
    assert_eq!(
        e,
        FetchError::RateLimited {
            venue: Venue::Binance
        }
    );
    assert_eq!(e.gap(), GapReason::RateLimited);
    assert!(matches!(h.standing(), Standing::Paused { .. }));
    // Paused: refused here, the server is not asked (it saw one request).
    assert!(h.get::<Answer>("/x", &[], COST).await.is_err());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    Mock::given(method("GET"))
        .and(path("/x"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"ok":true}"#))
        .mount(&server)
        .await;
    assert!(h.get::<Answer>("/x", &[], COST).await.unwrap().ok);
    assert_eq!(h.standing(), Standing::Ok);
}

#[tokio::test]
async fn a_418_bans_until_retry_after_and_nothing_is_sent_meanwhile() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(418).insert_header("retry-after", "7200"))
        .expect(1)
        .mount(&server)
        .await;
    let h = http(Venue::Binance, &server);
    let before = Utc::now();
    let e = h.get::<Answer>("/x", &[], COST).await.unwrap_err();
    let FetchError::Banned { until, .. } = e else {
        panic!("{e:?}")
    };
    let secs = (until - before).num_seconds();
    assert!((7190..=7210).contains(&secs), "{secs}");
    for _ in 0..3 {
        assert!(matches!(
            h.get::<Answer>("/x", &[], COST).await,
            Err(FetchError::Banned { .. })
        ));
    }
    assert!(
        e.to_string().starts_with("Binance banned this IP until "),
        "{e}"
    );
}

#[tokio::test]
async fn a_451_marks_the_region_unavailable_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(451).set_body_string("restricted location"))
        .expect(1)
        .mount(&server)
        .await;
    let h = http(Venue::Binance, &server);
    let e = h.get::<Answer>("/x", &[], COST).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "Binance is not available in this region (HTTP 451)"
    );
    assert!(matches!(e.gap(), GapReason::Unavailable(_)));
    assert!(h.get::<Answer>("/y", &[], COST).await.is_err());
    assert_eq!(h.standing(), Standing::Restricted { status: 451 });
}

#[tokio::test]
async fn bybit_403_is_a_ban_when_too_frequent_and_a_region_block_otherwise() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/busy"))
        .respond_with(ResponseTemplate::new(403).set_body_string("access too frequent"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/region"))
        .respond_with(ResponseTemplate::new(403).set_body_string("forbidden"))
        .mount(&server)
        .await;
    let busy = http(Venue::Bybit, &server);
    let e = busy.get::<Answer>("/busy", &[], COST).await.unwrap_err();
    let FetchError::Banned { until, .. } = e else {
        panic!("{e:?}")
    };
    assert!(
        (until - Utc::now()).num_seconds() > 590,
        "ten minutes at least"
    );
    let region = http(Venue::Bybit, &server);
    assert_eq!(
        region
            .get::<Answer>("/region", &[], COST)
            .await
            .unwrap_err(),
        FetchError::Restricted {
            venue: Venue::Bybit,
            status: 403
        }
    );
}

#[tokio::test]
async fn the_usage_header_feeds_the_budget_and_garbage_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/heavy"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-MBX-USED-WEIGHT-1M", "1250")
                .set_body_string("<html>"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let h = http(Venue::Binance, &server);
    let e = h.get::<Answer>("/heavy", &[], COST).await.unwrap_err();
    assert!(matches!(e, FetchError::Decode { .. }), "{e:?}");
    assert_eq!(h.usage()[0].used, 1250);
    // 1250 of 2400 is past our half share: the next request is refused here.
    assert_eq!(
        h.get::<Answer>("/heavy", &[], COST).await.unwrap_err(),
        FetchError::RateLimited {
            venue: Venue::Binance
        }
    );
    assert_eq!(h.take_cycle_count(), (1, 1));
}

#[tokio::test]
async fn an_unreachable_venue_says_so_without_the_url() {
    let h = VenueHttp::new(HttpSetup {
        venue: Venue::Okx,
        base_url: "http://127.0.0.1:9".into(),
        pools: vec![],
        usage_header: None,
        timeout: Duration::from_secs(2),
    });
    let e = h.get::<Answer>("/x", &[], COST).await.unwrap_err();
    assert!(matches!(e, FetchError::Transport { .. }), "{e:?}");
    assert!(e.to_string().starts_with("OKX unreachable"), "{e}");
    assert!(!e.to_string().contains("127.0.0.1"), "{e}");
}

#[tokio::test]
async fn a_burst_past_our_share_waits_for_room_instead_of_failing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"ok":true}"#))
        .expect(3)
        .mount(&server)
        .await;
    let h = VenueHttp::new(HttpSetup {
        venue: Venue::Okx,
        base_url: server.uri(),
        // Our half of 4 per second: two at once, the third a second later.
        pools: vec![Pool {
            name: "candles",
            limit: 4,
            window: Duration::from_secs(1),
        }],
        usage_header: None,
        timeout: Duration::from_secs(5),
    });
    let cost = Cost {
        pool: "candles",
        weight: 1,
    };
    let started = Instant::now();
    for _ in 0..3 {
        assert!(h.get::<Answer>("/c", &[], cost).await.unwrap().ok);
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(990) && took < Duration::from_secs(3),
        "{took:?}"
    );
}
