//! The runner against the local websocket server ([`server`]), with short delays.

use super::server::{EndedBy, Received, Step, WsServer};
use super::*;
use crate::source::exchanges::venue::{LiqEvent, LiqSide, Venue};
use chrono::TimeDelta;
use std::sync::Mutex;

const SUB: &str = r#"{"op":"subscribe","args":["allLiquidation.BTCUSDT"]}"#;
const VENUE: Venue = Venue::Bybit;

/// A test venue's frames: `liq:<coin>:<long|short>:<usd>`, `ack`, `error:<why>`; anything else
/// is malformed.
fn parse(text: &str) -> Parsed {
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        ["ack"] | ["pong"] => Parsed::Control,
        ["error", why] => Parsed::Refused((*why).to_string()),
        ["liq", coin, side, usd] => {
            let side = match *side {
                "long" => LiqSide::Long,
                "short" => LiqSide::Short,
                _ => return Parsed::Malformed(format!("side {side:?}")),
            };
            match usd.parse::<f64>() {
                Ok(usd) => Parsed::Events(vec![LiqEvent {
                    coin: (*coin).to_string(),
                    side,
                    usd,
                    at: Utc::now(),
                }]),
                Err(_) => Parsed::Malformed(format!("usd {usd:?}")),
            }
        }
        _ => Parsed::Malformed(short(text)),
    }
}

fn liq(coin: &str, side: &str, usd: f64) -> Step {
    Step::Text(format!("liq:{coin}:{side}:{usd}"))
}

fn spec(url: String, keepalive: Keepalive, max_age: Option<Duration>) -> StreamSpec {
    StreamSpec {
        venue: VENUE,
        url,
        subscribe: vec![SUB.into()],
        keepalive,
        max_age,
        parse: Arc::new(parse),
    }
}

const BASE: Duration = Duration::from_millis(40);

fn timing() -> Timing {
    Timing {
        backoff_base: BASE,
        backoff_cap: Duration::from_millis(400),
        stable_after: Duration::from_secs(10),
        silence_with_server_pings: Duration::from_millis(300),
        io_timeout: Duration::from_secs(1),
        rollover_lead: Duration::from_secs(300),
    }
}

fn start(
    server: &WsServer,
    keepalive: Keepalive,
    max_age: Option<Duration>,
) -> (StreamHandle, LiqBook) {
    let book = LiqBook::new(Utc::now());
    let handle = spawn_with(
        spec(server.url(), keepalive, max_age),
        book.clone(),
        timing(),
    );
    (handle, book)
}

/// Every state the handle goes through, in order.
fn record_states(handle: &StreamHandle) -> Arc<Mutex<Vec<StreamState>>> {
    let mut rx = handle.state.clone();
    let log = Arc::new(Mutex::new(vec![rx.borrow_and_update().clone()]));
    let writer = log.clone();
    tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let state = rx.borrow_and_update().clone();
            writer.lock().unwrap().push(state);
        }
    });
    log
}

async fn eventually(within: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(5)).await;
    }
    true
}

fn is_up(state: &StreamState) -> bool {
    matches!(state, StreamState::Up { .. })
}

fn subs(texts: &[&str]) -> usize {
    texts.iter().filter(|t| **t == SUB).count()
}

#[tokio::test]
async fn subscribes_and_counts_parsed_liquidations() {
    let server = WsServer::start(|_| {
        vec![
            Step::AwaitTexts(1),
            Step::Text("ack".into()),
            liq("BTC", "long", 100.0),
            liq("BTC", "short", 50.0),
            liq("ETH", "long", 7.0),
        ]
    })
    .await;
    let (handle, book) = start(&server, Keepalive::AnswerPings, None);
    assert!(eventually(Duration::from_secs(2), || book.counted() == 3).await);
    assert!(is_up(&handle.state()), "{:?}", handle.state());
    let btc = book.totals("BTC", &[VENUE], Utc::now()).unwrap();
    assert_eq!(
        (btc.long_1h_usd, btc.short_1h_usd),
        (Some(100.0), Some(50.0))
    );
    assert_eq!(server.connections()[0].texts(), vec![SUB]);
    assert_eq!(handle.malformed(), 0);

    // Dropping the handle stops the task: the connection goes, the book says down.
    drop(handle);
    assert!(
        server
            .wait_until(Duration::from_secs(2), |c| c[0].ended.is_some())
            .await
    );
    assert_eq!(server.connections()[0].ended.unwrap().1, EndedBy::Client);
    let later = Utc::now() + TimeDelta::seconds(3600);
    assert_eq!(book.totals("BTC", &[VENUE], later), None);
}

#[tokio::test]
async fn resubscribes_after_the_server_drops_or_closes_the_connection() {
    let server = WsServer::start(|conn| match conn {
        0 => vec![Step::AwaitTexts(1), liq("BTC", "long", 1.0), Step::Drop],
        1 => vec![Step::AwaitTexts(1), liq("BTC", "long", 2.0), Step::Close],
        _ => vec![Step::AwaitTexts(1), liq("BTC", "long", 4.0)],
    })
    .await;
    let (handle, book) = start(&server, Keepalive::AnswerPings, None);
    assert!(eventually(Duration::from_secs(2), || book.counted() == 3).await);
    let conns = server.connections();
    assert_eq!(conns.len(), 3);
    for (i, conn) in conns.iter().enumerate() {
        assert_eq!(subs(&conn.texts()), 1, "connection {i}: {:?}", conn.texts());
    }
    // Each reconnect waited at least half the base delay (equal jitter).
    for pair in conns.windows(2) {
        let gap = pair[1].accepted - pair[0].ended.unwrap().0;
        assert!(gap >= BASE / 2, "{gap:?}");
    }
    let btc = book.totals("BTC", &[VENUE], Utc::now()).unwrap();
    assert_eq!(btc.long_1h_usd, Some(7.0));
    assert!(is_up(&handle.state()));
}

#[tokio::test]
async fn reconnects_with_growing_backoff_while_refused_and_says_why() {
    let server = WsServer::start(|conn| match conn {
        0..4 => vec![Step::Reject],
        _ => vec![Step::AwaitTexts(1), liq("BTC", "short", 3.0)],
    })
    .await;
    let (handle, book) = start(&server, Keepalive::AnswerPings, None);
    let states = record_states(&handle);
    assert!(
        server
            .wait_until(Duration::from_secs(2), |c| c.len() >= 2)
            .await
    );
    assert_eq!(
        book.totals("BTC", &[VENUE], Utc::now()),
        None,
        "never up: nothing known"
    );
    assert!(eventually(Duration::from_secs(2), || book.counted() == 1).await);

    let accepted: Vec<Instant> = server.connections().iter().map(|c| c.accepted).collect();
    assert_eq!(accepted.len(), 5);
    let gaps: Vec<Duration> = accepted.windows(2).map(|w| w[1] - w[0]).collect();
    for (k, gap) in gaps.iter().enumerate() {
        // Attempt k waits between half and all of BASE × 2^k.
        let full = BASE * (1 << k);
        assert!(*gap >= full / 2, "gap {k}: {gap:?} < {:?}", full / 2);
    }
    assert!(gaps[3] > gaps[0] * 2, "{gaps:?}");

    // Down the whole time since the start (one `since`), the reason the last failure.
    let states = states.lock().unwrap().clone();
    let downs: Vec<&StreamState> = states.iter().filter(|s| !is_up(s)).skip(1).collect();
    assert!(!downs.is_empty(), "{states:?}");
    let StreamState::Down { since, why } = downs[0] else {
        panic!("{states:?}")
    };
    assert!(why.starts_with("connect failed"), "{why}");
    assert!(!why.contains("127.0.0.1"), "no URL in the reason: {why}");
    assert!(downs
        .iter()
        .all(|s| matches!(s, StreamState::Down { since: s2, .. } if s2 == since)));
    assert!(is_up(states.last().unwrap()));
}

#[test]
fn backoff_doubles_to_the_cap_with_jitter_and_resets() {
    let mut backoff = Backoff::new(&Timing::default());
    let delays: Vec<Duration> = (0..9).map(|_| backoff.next_delay()).collect();
    for (k, d) in delays.iter().enumerate() {
        let full = Duration::from_secs(1 << k).min(Duration::from_secs(60));
        assert!(*d >= full / 2 && *d <= full, "attempt {k}: {d:?}");
    }
    backoff.reset();
    assert!(backoff.next_delay() <= Duration::from_secs(1));
}

#[tokio::test]
async fn a_silent_connection_is_dropped_and_replaced() {
    let server = WsServer::start(|conn| match conn {
        // One frame, then nothing at all (no pings either).
        0 => vec![Step::AwaitTexts(1), liq("BTC", "long", 1.0)],
        _ => vec![Step::AwaitTexts(1), liq("BTC", "long", 1.0)],
    })
    .await;
    let (handle, book) = start(&server, Keepalive::AnswerPings, None);
    let states = record_states(&handle);
    assert!(
        server
            .wait_until(Duration::from_secs(2), |c| c.len() == 2)
            .await
    );
    let conns = server.connections();
    let (ended, by) = conns[0]
        .ended
        .expect("the client left the silent connection");
    assert_eq!(by, EndedBy::Client);
    // Silence of 300 ms (the test's value) after the last frame.
    assert!(ended - conns[0].accepted >= Duration::from_millis(300));
    assert!(eventually(Duration::from_secs(1), || book.counted() == 2).await);
    assert_eq!(subs(&server.connections()[1].texts()), 1);
    let states = states.lock().unwrap().clone();
    assert!(
        states
            .iter()
            .any(|s| matches!(s, StreamState::Down { why, .. } if why.starts_with("no frame for"))),
        "{states:?}"
    );
}

#[tokio::test]
async fn sends_text_pings_on_its_timer_and_answers_pings() {
    // The server says something every 100 ms (so the silence watchdog stays quiet) and pings.
    let server = WsServer::start(|_| {
        vec![
            Step::AwaitTexts(1),
            Step::Ping,
            Step::Paced {
                count: 10,
                per_second: 10,
                make: Arc::new(|_| "pong".to_string()),
            },
        ]
    })
    .await;
    let every = Duration::from_millis(100);
    let keepalive = Keepalive::SendText {
        text: "ping".into(),
        every,
    };
    let (handle, _book) = start(&server, keepalive, None);
    assert!(
        server
            .wait_until(Duration::from_secs(2), |c| c.first().is_some_and(|c| c
                .texts()
                .iter()
                .filter(|t| **t == "ping")
                .count()
                >= 4))
            .await
    );
    let conn = &server.connections()[0];
    let ping_times: Vec<Instant> = conn
        .received
        .iter()
        .filter(|(_, r)| *r == Received::Text("ping".into()))
        .map(|(t, _)| *t)
        .collect();
    for pair in ping_times.windows(2) {
        assert!(
            pair[1] - pair[0] >= every * 8 / 10,
            "{:?}",
            pair[1] - pair[0]
        );
    }
    assert!(ping_times[0] - conn.accepted >= every * 8 / 10);
    assert!(
        conn.received.iter().any(|(_, r)| *r == Received::Pong),
        "the server's ping answered"
    );
    assert_eq!(server.connections().len(), 1, "no reconnect");
    assert!(is_up(&handle.state()));
    assert_eq!(handle.malformed(), 0, "pong frames are control frames");
}

#[tokio::test]
async fn a_disconnect_inside_the_hour_leaves_the_sums_incomplete_and_says_so() {
    let server = WsServer::start(|conn| match conn {
        0 => vec![Step::AwaitTexts(1), liq("BTC", "long", 5.0), Step::Drop],
        _ => vec![Step::AwaitTexts(1), liq("BTC", "short", 6.0)],
    })
    .await;
    let (handle, book) = start(&server, Keepalive::AnswerPings, None);
    let states = record_states(&handle);
    assert!(eventually(Duration::from_secs(2), || book.counted() == 2).await);
    let states = states.lock().unwrap().clone();
    let ups: Vec<DateTime<Utc>> = states
        .iter()
        .filter_map(|s| match s {
            StreamState::Up { since } => Some(*since),
            _ => None,
        })
        .collect();
    assert_eq!(ups.len(), 2, "{states:?}");
    assert!(
        states.iter().any(|s| matches!(s, StreamState::Down { why, .. } if why.contains("closed") || why.contains("read failed"))),
        "{states:?}"
    );
    // The hour from the first connection on: everything but the gap was covered.
    let hour_end = ups[0] + TimeDelta::seconds(3600);
    let totals = book.totals("BTC", &[VENUE], hour_end).unwrap();
    let gap_s = (ups[1] - ups[0]).num_milliseconds() as f64 / 1000.0;
    assert!(
        totals
            .uncovered_s
            .is_some_and(|s| s >= 1 && f64::from(s) <= gap_s + 1.0),
        "{totals:?}"
    );
    assert_eq!(book.uncovered_s(VENUE, hour_end), totals.uncovered_s);
}

#[tokio::test]
async fn malformed_frames_are_counted_never_as_liquidations_and_refusals_reconnect() {
    let server = WsServer::start(|conn| match conn {
        0 => vec![
            Step::AwaitTexts(1),
            Step::Text("garbage".into()),
            liq("BTC", "long", 10.0),
            Step::Text("liq:BTC:sideways:5".into()),
            Step::Text(r#"{"unexpected":"shape"}"#.into()),
            Step::Text("error:unknown topic allLiquidation.NOPEUSDT".into()),
        ],
        _ => vec![Step::AwaitTexts(1), liq("BTC", "long", 1.0)],
    })
    .await;
    let (handle, book) = start(&server, Keepalive::AnswerPings, None);
    let states = record_states(&handle);
    assert!(eventually(Duration::from_secs(2), || book.counted() == 2).await);
    assert_eq!(handle.malformed(), 3);
    let btc = book.totals("BTC", &[VENUE], Utc::now()).unwrap();
    assert_eq!((btc.long_1h_usd, btc.short_1h_usd), (Some(11.0), Some(0.0)));
    let states = states.lock().unwrap().clone();
    assert!(
        states
            .iter()
            .any(|s| matches!(s, StreamState::Down { why, .. }
            if why == "subscription refused: unknown topic allLiquidation.NOPEUSDT")),
        "{states:?}"
    );
    assert_eq!(server.connections()[0].ended.unwrap().1, EndedBy::Client);
    assert_eq!(subs(&server.connections()[1].texts()), 1);
}

#[tokio::test]
async fn the_age_limit_is_met_by_a_fresh_connection_without_a_gap() {
    // Like Binance at 24 h: each connection is closed by the server at its age limit; until
    // then it keeps talking (every 50 ms, within the silence limit).
    // The client opens the next one a tenth of the age (60 ms) before.
    let max_age = Duration::from_millis(600);
    let server = WsServer::start(move |conn| {
        vec![
            Step::AwaitTexts(1),
            liq("BTC", "long", 10f64.powi(conn as i32)),
            Step::Paced {
                count: 13,
                per_second: 20,
                make: Arc::new(|_| "ack".to_string()),
            },
            Step::Close,
        ]
    })
    .await;
    let (handle, book) = start(&server, Keepalive::AnswerPings, Some(max_age));
    let states = record_states(&handle);
    assert!(
        server
            .wait_until(Duration::from_secs(2), |c| c.len() >= 3
                && c[2].texts().len() == 1)
            .await
    );
    assert!(eventually(Duration::from_secs(1), || book.counted() == 3).await);

    let conns = server.connections();
    for (i, pair) in conns.windows(2).take(2).enumerate() {
        let (old, new) = (&pair[0], &pair[1]);
        let (ended, by) = old.ended.expect("the old connection was closed");
        assert_eq!(
            by,
            EndedBy::Client,
            "connection {i} closed by the client, before its age"
        );
        assert!(ended - old.accepted < max_age, "connection {i}");
        assert!(
            new.accepted < ended,
            "connection {} opened before {i} closed",
            i + 1
        );
        assert_eq!(subs(&new.texts()), 1);
    }
    // Each connection's liquidation counted once: 1 + 10 + 100.
    let btc = book.totals("BTC", &[VENUE], Utc::now()).unwrap();
    assert_eq!(btc.long_1h_usd, Some(111.0));

    let states = states.lock().unwrap().clone();
    assert!(
        states
            .iter()
            .all(|s| !matches!(s, StreamState::Down { .. })),
        "{states:?}"
    );
    let StreamState::Up { since } = handle.state() else {
        panic!("{:?}", handle.state())
    };
    assert_eq!(
        book.uncovered_s(VENUE, since + TimeDelta::seconds(3600)),
        None,
        "no gap"
    );
}
