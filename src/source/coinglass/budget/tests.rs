use super::*;

const MIN: Duration = Duration::from_secs(60);

fn plan(p: Plan, symbols: usize, poll_s: u64) -> Schedule {
    plan_schedule(ScheduleInput::for_plan(
        p,
        symbols,
        Duration::from_secs(poll_s),
    ))
}

/// Requests of `cycles` consecutive cycles counted the way LiveSource issues them
/// (cycle k fetches taker when k % taker_every == 0, etc.; L/S once per new bar).
fn simulate(s: &Schedule, symbols: usize, cycles: u64) -> f64 {
    let mut total = 0u64;
    let poll = s.poll_interval.as_secs();
    let ls = s.ls_interval.as_secs();
    for k in 0..cycles {
        let n = symbols as u64;
        let due = |every: u32| k % u64::from(every) == 0;
        total += 1; // funding
        match s.mode {
            MarketsMode::PerSymbol => {
                total += 2 * n;
                if due(s.price_every_cycles) {
                    total += n;
                }
            }
            MarketsMode::CoinsMarkets => {
                total += 1;
                if due(s.weights_every_cycles) {
                    total += n;
                }
            }
        }
        if due(s.taker_every_cycles) {
            total += n;
        }
        // A new L/S bar starts when the cycle crosses a bar boundary (or on the first cycle).
        let t = k * poll;
        if k == 0 || t / ls != (t - poll) / ls {
            total += 2 * n;
        }
    }
    total as f64 / (cycles as f64 * symbols as f64)
}

#[test]
fn plans_parse_case_insensitively_and_list_the_choices() {
    assert_eq!(Plan::parse("HOBBYIST"), Ok(Plan::Hobbyist));
    assert_eq!(Plan::parse("hobbyist"), Ok(Plan::Hobbyist));
    assert_eq!(Plan::parse(" Standard "), Ok(Plan::Standard));
    assert_eq!("Professional".parse::<Plan>(), Ok(Plan::Professional));
    let err = Plan::parse("gold").unwrap_err().to_string();
    for name in [
        "hobbyist",
        "startup",
        "standard",
        "professional",
        "enterprise",
        "gold",
    ] {
        assert!(err.contains(name), "{err}");
    }
}

#[test]
fn plan_limits_and_intervals() {
    assert_eq!(Plan::Hobbyist.requests_per_minute(), 30);
    assert_eq!(Plan::Startup.requests_per_minute(), 80);
    assert_eq!(Plan::Standard.requests_per_minute(), 300);
    assert_eq!(Plan::Professional.requests_per_minute(), 1200);
    assert_eq!(Plan::Hobbyist.min_interval(), 240 * MIN);
    assert_eq!(Plan::Startup.min_interval(), 30 * MIN);
    assert_eq!(Plan::Standard.min_interval(), MIN);
}

#[test]
fn headroom_is_ten_percent_but_at_least_two() {
    assert_eq!(allowed_per_window(30), 27);
    assert_eq!(allowed_per_window(300), 270);
    assert_eq!(allowed_per_window(10), 8);
    assert_eq!(allowed_per_window(2), 1);
}

#[test]
fn forty_symbols_every_five_minutes_fit_hobbyist_without_stretching() {
    let s = plan(Plan::Hobbyist, 40, 300);
    assert_eq!(s.stretched_from, None, "{}", s.explanation);
    assert_eq!(s.poll_interval, 5 * MIN);
    assert!(s.est_requests_per_minute <= 0.8 * 30.0, "{}", s.explanation);
    assert!(
        s.est_requests_per_minute <= f64::from(allowed_per_window(30)),
        "{}",
        s.explanation
    );
    assert_eq!(s.ls_interval, 240 * MIN);
    assert_eq!(s.mode, MarketsMode::PerSymbol);
    // 1 + 40 × (2 + 1/2 + 1/5 + 2 × 300/14400) = 110.67 per cycle = 22.1/min.
    assert!(
        (s.est_requests_per_minute - 22.13).abs() < 0.01,
        "{}",
        s.explanation
    );
    assert!(s.explanation.contains("40 symbols"), "{}", s.explanation);
    assert!(s.explanation.contains("limit 30/min"), "{}", s.explanation);
    // The measured hour agrees with the estimate.
    let measured = simulate(&s, 40, 12) * 40.0 * 12.0 / 60.0;
    assert!(measured <= 0.8 * 30.0, "measured {measured}/min");
}

#[test]
fn hobbyist_two_symbols_every_minute_cost_at_most_3_5_per_symbol_per_cycle() {
    let s = plan(Plan::Hobbyist, 2, 60);
    assert_eq!(s.stretched_from, None);
    assert_eq!(s.taker_every_cycles, 3);
    assert_eq!(s.price_every_cycles, 5);
    let measured = simulate(&s, 2, 60);
    assert!(measured <= 3.5, "measured {measured}");
    assert!(s.est_requests_per_symbol_per_cycle <= 3.5);
    assert!((measured - s.est_requests_per_symbol_per_cycle).abs() < 0.05);
}

#[test]
fn standard_costs_at_most_1_5_per_symbol_per_cycle_with_two_or_more_symbols() {
    for n in [2usize, 3, 5, 10, 40, 100] {
        let s = plan(Plan::Standard, n, 60);
        assert_eq!(s.mode, MarketsMode::CoinsMarkets);
        assert_eq!(s.ls_interval, 60 * MIN);
        assert_eq!(s.stretched_from, None);
        let measured = simulate(&s, n, 60);
        assert!(measured <= 1.5, "{n} symbols: measured {measured}");
        assert!(
            s.est_requests_per_symbol_per_cycle <= 1.5,
            "{}",
            s.explanation
        );
        assert!((measured - s.est_requests_per_symbol_per_cycle).abs() < 0.05);
    }
}

#[test]
fn ls_interval_never_below_the_plans_minimum() {
    assert_eq!(plan(Plan::Hobbyist, 1, 60).ls_interval, 240 * MIN);
    assert!(plan(Plan::Startup, 1, 60).ls_interval >= 30 * MIN);
    assert_eq!(plan(Plan::Standard, 1, 60).ls_interval_str(), "1h");
    assert_eq!(plan(Plan::Hobbyist, 1, 60).ls_interval_str(), "4h");
}

#[test]
fn over_budget_stretches_taker_then_price_then_the_interval() {
    // 60 symbols every 5 min on Hobbyist: defaults cost 1 + 60 × 2.74 = 165.5/cycle = 33/min.
    let s = plan(Plan::Hobbyist, 60, 300);
    assert!(s.est_requests_per_minute <= 24.0, "{}", s.explanation);
    assert!(s.taker_every_cycles > DEFAULT_TAKER_EVERY);
    // Price is capped at 30 min (6 cycles of 5 min).
    assert!(s.price_every_cycles <= 6);
    assert!(s.stretched_from.is_some());
    assert!(s.poll_interval > 5 * MIN);
    assert!(s.explanation.contains("stretched"), "{}", s.explanation);

    // 12 symbols every minute on Hobbyist: even at taker every 10 and price every 30
    // cycles a cycle costs 1 + 12 × 2.14 = 26.7/min, so the interval stretches.
    let s = plan(Plan::Hobbyist, 12, 60);
    assert!(s.est_requests_per_minute <= 24.0, "{}", s.explanation);
    assert_eq!(s.stretched_from, Some(MIN));
    assert!(s.poll_interval.as_secs() % 15 == 0);
}

#[test]
fn stretching_uses_cadences_before_the_interval() {
    // 48 symbols at 5 min: defaults cost 1 + 48 × 2.74 = 132.6/cycle = 26.5/min; at the
    // slowest taker (10) and price (6) cadences 1 + 48 × 2.31 = 111.8/cycle = 22.4/min.
    let s = plan(Plan::Hobbyist, 48, 300);
    assert_eq!(s.stretched_from, None, "{}", s.explanation);
    assert!(s.taker_every_cycles > DEFAULT_TAKER_EVERY || s.price_every_cycles > 5);
    assert!(s.est_requests_per_minute <= 24.0);
}

#[test]
fn a_header_limit_overrides_the_plan_figure() {
    let mut input = ScheduleInput::for_plan(Plan::Hobbyist, 40, 5 * MIN);
    input.limit_per_minute = 10;
    let s = plan_schedule(input);
    assert!(s.est_requests_per_minute <= 8.0, "{}", s.explanation);
    assert!(s.stretched_from.is_some());
}

#[tokio::test(start_paused = true)]
async fn concurrent_acquires_never_exceed_the_allowance_in_any_window() {
    use std::sync::Arc;
    let limiter = Arc::new(Limiter::new(30, MIN));
    let start = Instant::now();
    let times = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (l, t) = (limiter.clone(), times.clone());
        tasks.push(tokio::spawn(async move {
            l.acquire().await;
            t.lock().unwrap().push(Instant::now());
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut times = times.lock().unwrap().clone();
    times.sort();
    assert_eq!(times.len(), 100);
    for (i, t) in times.iter().enumerate() {
        let in_window = times[i..].iter().filter(|u| **u - *t < MIN).count();
        assert!(in_window <= 27, "{in_window} requests within 60 s of #{i}");
    }
    // 100 requests at 27 per minute need three full windows.
    assert!(times[99] - start >= 3 * MIN);
    assert!(times[99] - start < 4 * MIN);
}

#[tokio::test(start_paused = true)]
async fn server_usage_and_429_hold_requests_back() {
    let limiter = Limiter::new(30, MIN);
    limiter.acquire().await;
    // Another client used 26 of the key's requests this minute: one more fits (27 allowed).
    limiter.observe_headers(Some(30), Some(26));
    assert_eq!(limiter.used_this_minute(), 26);
    let t0 = Instant::now();
    limiter.acquire().await;
    assert_eq!(Instant::now(), t0);
    limiter.acquire().await;
    assert!(Instant::now() - t0 >= MIN - Duration::from_millis(1));

    limiter.on_rate_limited();
    let t1 = Instant::now();
    limiter.acquire().await;
    assert!(Instant::now() - t1 >= MIN);

    limiter.observe_headers(Some(1200), None);
    assert_eq!(limiter.limit(), 1200);
}

#[test]
fn enterprise_is_a_plan_of_its_own() {
    assert_eq!(Plan::parse("ENTERPRISE"), Ok(Plan::Enterprise));
    assert_eq!(Plan::parse(" enterprise "), Ok(Plan::Enterprise));
    assert_eq!(Plan::Enterprise.to_string(), "ENTERPRISE");
    assert_eq!(Plan::Enterprise.requests_per_minute(), 6000);
    assert_eq!(Plan::Enterprise.min_interval(), MIN);
    assert!(Plan::Enterprise.has_coins_markets());
    assert_eq!(Plan::ALL.len(), 5);
    let s = plan(Plan::Enterprise, 40, 60);
    assert_eq!(s.mode, MarketsMode::CoinsMarkets);
    assert_eq!(s.stretched_from, None);
    assert_eq!(s.ls_interval_str(), "1h");
    // An unknown or empty level is an error naming it and the choices, never a Hobbyist.
    let err = Plan::parse("VIP9").unwrap_err();
    assert_eq!(err.given, "VIP9");
    assert!(err.to_string().contains("enterprise"), "{err}");
    assert!(Plan::parse("").is_err());
    assert!(Plan::parse("PRO").is_err());
}

#[tokio::test(start_paused = true)]
async fn a_request_that_never_left_gives_its_slot_back() {
    let limiter = Limiter::new(30, MIN);
    for _ in 0..100 {
        limiter.acquire().await.not_sent();
    }
    assert_eq!(limiter.used_this_minute(), 0);
    let t0 = Instant::now();
    for _ in 0..27 {
        limiter.acquire().await.answered();
    }
    assert_eq!(Instant::now(), t0, "refunded slots never made anyone wait");
    assert_eq!(limiter.used_this_minute(), 27);
    // Sent without an answer (a timeout): it stays counted.
    let limiter = Limiter::new(30, MIN);
    limiter.acquire().await.no_answer();
    assert_eq!(limiter.used_this_minute(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_window_keeps_a_margin_at_its_edge() {
    assert_eq!(window_margin(MIN), Duration::from_secs(3));
    let limiter = Limiter::new(30, MIN);
    let t0 = Instant::now();
    for _ in 0..27 {
        limiter.acquire().await.answered();
    }
    // The 28th request does not go at +60 s (where a burst drew 429s) but a margin later.
    limiter.acquire().await.answered();
    assert_eq!(Instant::now() - t0, MIN + window_margin(MIN));
    assert_eq!(limiter.used_this_minute(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_429_pauses_every_request_for_the_rest_of_the_window_then_one_probe_goes_first() {
    let limiter = Limiter::new(80, MIN);
    let t0 = Instant::now();
    limiter.acquire().await.answered();
    tokio::time::advance(Duration::from_secs(20)).await;
    let pause = limiter
        .acquire()
        .await
        .rate_limited(RateLimitHint::default())
        .expect("a 429 with no headers pauses everyone");
    // The rest of the window that opened at t0 (60 s + 3 s margin), not a fresh minute.
    assert_eq!(pause, Duration::from_secs(43));
    assert_eq!(limiter.pause_remaining(), Some(pause));
    assert!(limiter.is_throttled());

    let probe = limiter.acquire().await;
    assert_eq!(Instant::now() - t0, Duration::from_secs(63));
    assert!(probe.is_probe());
    // While the probe is out nobody else goes (and giving up the wait takes nothing).
    let used = limiter.used_this_minute();
    let waited = tokio::time::timeout(Duration::from_secs(10), limiter.acquire()).await;
    assert!(
        waited.is_err(),
        "a second request went while the probe was unanswered"
    );
    assert_eq!(limiter.used_this_minute(), used);

    // The probe hits 429 again: the pause follows the window (the request of t0 + 20 s
    // leaves it at t0 + 83 s), it does not restart a full minute per attempt.
    let pause = probe.rate_limited(RateLimitHint::default()).unwrap();
    assert_eq!(Instant::now() - t0 + pause, Duration::from_secs(83));

    let probe = limiter.acquire().await;
    assert_eq!(Instant::now() - t0, Duration::from_secs(83));
    assert!(probe.is_probe());
    probe.answered();
    assert!(!limiter.is_throttled());
    let t1 = Instant::now();
    let next = limiter.acquire().await;
    assert_eq!(Instant::now(), t1, "answered probe: everyone goes again");
    assert!(!next.is_probe());
}

#[tokio::test(start_paused = true)]
async fn a_dropped_probe_hands_the_role_on() {
    let limiter = Limiter::new(30, MIN);
    limiter.on_rate_limited();
    let probe = limiter.acquire().await;
    assert!(probe.is_probe());
    // The probe's request is abandoned at a deadline: it stays counted, and the next
    // request takes over the probe role at once instead of waiting for a window.
    drop(probe);
    let t = Instant::now();
    let next = limiter.acquire().await;
    assert_eq!(Instant::now(), t);
    assert!(next.is_probe());
    assert_eq!(limiter.used_this_minute(), 2);
    // A probe that never left gives back both its slot and the role.
    next.not_sent();
    assert_eq!(limiter.used_this_minute(), 1);
    assert!(limiter.acquire().await.is_probe());
}

#[tokio::test(start_paused = true)]
async fn a_429_whose_headers_show_room_holds_no_one_back() {
    let limiter = Limiter::new(30, MIN);
    let hint = RateLimitHint {
        retry_after: None,
        max_limit: Some(30),
        used: Some(5),
    };
    assert_eq!(limiter.acquire().await.rate_limited(hint), None);
    assert!(!limiter.is_throttled());
    assert_eq!(limiter.pause_remaining(), None);
    let t = Instant::now();
    let next = limiter.acquire().await;
    assert_eq!(Instant::now(), t);
    assert!(!next.is_probe());
    // Full by the headers: everyone waits.
    let full = RateLimitHint {
        used: Some(30),
        ..hint
    };
    assert!(next.rate_limited(full).is_some());
    assert!(limiter.is_throttled());
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_and_capped() {
    let limiter = Limiter::new(30, MIN);
    let hint = |s| RateLimitHint {
        retry_after: Some(Duration::from_secs(s)),
        ..RateLimitHint::default()
    };
    let pause = limiter.acquire().await.rate_limited(hint(7));
    assert_eq!(pause, Some(Duration::from_secs(7)));
    let t = Instant::now();
    limiter.acquire().await.answered();
    assert_eq!(Instant::now() - t, Duration::from_secs(7));
    let pause = limiter.acquire().await.rate_limited(hint(3600));
    assert_eq!(pause, Some(5 * MIN));
}
