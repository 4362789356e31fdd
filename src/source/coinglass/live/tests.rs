use super::answers::pair_key;
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
