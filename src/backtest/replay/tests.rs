use super::*;
use crate::backtest::HOUR_MS;
use crate::signals::relative::{RelativeSettings, ThresholdMode};
use crate::signals::SignalId;
use std::time::Duration;

const T0: i64 = 1_700_000_000_000 - 1_700_000_000_000 % HOUR_MS;

fn setup(interval_ms: i64, horizon_h: u64, move_pct: f64) -> Setup {
    Setup::new(
        interval_ms,
        Duration::from_secs(horizon_h * 3600),
        move_pct,
        Thresholds::default(),
    )
    .expect("valid setup")
}

/// (open, high, low, close, funding_8h_pct, oi_usd) per hourly bar.
fn series(rows: &[(f64, f64, f64, f64, f64, f64)]) -> Vec<Bar> {
    rows.iter()
        .enumerate()
        .map(|(i, &(o, h, l, c, f, oi))| Bar {
            open: Some(o),
            high: Some(h),
            low: Some(l),
            close: Some(c),
            funding_8h_pct: Some(f),
            oi_usd: Some(oi),
            ..Bar::at(T0 + i as i64 * HOUR_MS)
        })
        .collect()
}

/// Ten hourly bars. funding 0.20 at t=1,2 and t=9 (funding_extreme_long, bearish; onsets at 1
/// and 9), funding −0.10 at t=4 (funding_extreme_short, bullish), OI 100 → 106 at t=6
/// (oi_surge, neutral; price flat that hour, so no flow read).
fn hand_built() -> Vec<Bar> {
    series(&[
        (100.0, 100.0, 100.0, 100.0, 0.01, 100.0), // 0
        (100.0, 101.0, 99.0, 100.0, 0.20, 100.0),  // 1
        (100.0, 102.0, 94.0, 96.0, 0.20, 100.0),   // 2
        (96.0, 97.0, 95.0, 97.0, 0.01, 100.0),     // 3
        (97.0, 98.0, 96.0, 97.0, -0.10, 100.0),    // 4
        (97.0, 100.0, 95.0, 100.0, 0.01, 100.0),   // 5
        (100.0, 101.0, 98.0, 100.0, 0.01, 106.0),  // 6
        (100.0, 100.0, 90.0, 92.0, 0.01, 106.0),   // 7
        (92.0, 93.0, 91.0, 93.0, 0.01, 106.0),     // 8
        (93.0, 97.0, 92.0, 93.0, 0.20, 106.0),     // 9
    ])
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn scores_and_base_rates_match_a_hand_computation() {
    // Horizon 2h = 2 bars, move 5 %. Entry is the next bar's open.
    let r = replay(&hand_built(), &setup(HOUR_MS, 2, 5.0));
    assert_eq!(r.bars, 10);
    // Scored bars: t = 0..=7 (t = 8, 9 run past the data).
    // up hits (max high ≥ +5 %): only t=7 (entry 92, high 97: +5.43 %)            → 1/8
    // down hits (min low ≤ −5 %): t=0,1 (entry 100, low 94), t=5,6 (entry 100, low 90) → 4/8
    // either: 5/8
    assert_eq!(r.base.scored_bars, 8);
    assert!(close(r.base.up, 1.0 / 8.0), "{:?}", r.base);
    assert!(close(r.base.down, 4.0 / 8.0));
    assert!(close(r.base.either, 5.0 / 8.0));

    let ids: Vec<SignalId> = r.signals.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        vec![
            SignalId::FundingExtremeLong,
            SignalId::FundingExtremeShort,
            SignalId::OiSurge
        ]
    );
    let get = |id| r.signals.iter().find(|s| s.id == id).expect("fired");

    // Bearish, onset t=1: entry open[2]=100, window bars 2,3: high 102 (+2 %), low 94 (−6 %):
    // a hit; return close[3]=97 → −3 %; adverse −2 %. Onset t=9 has no horizon: fired, unscored.
    let long = get(SignalId::FundingExtremeLong);
    assert_eq!((long.fired, long.scored, long.hits), (2, 1, 1));
    assert_eq!(long.bias, "bearish");
    assert!(close(long.hit_rate_pct, 100.0));
    assert!(close(long.base_rate_pct, 50.0));
    assert!(close(long.median_return_pct, -3.0));
    assert!(close(long.worst_adverse_pct, -2.0));

    // Bullish, t=4: entry open[5]=97, window 5,6: high 101 (+4.12 %) misses 5 %; low 95 →
    // adverse (95/97 − 1) = −2.0619 %; return 100/97 − 1 = +3.0928 %.
    let short = get(SignalId::FundingExtremeShort);
    assert_eq!((short.fired, short.scored, short.hits), (1, 1, 0));
    assert!(close(short.hit_rate_pct, 0.0));
    assert!(close(short.base_rate_pct, 12.5));
    assert!(close(short.median_return_pct, (100.0 / 97.0 - 1.0) * 100.0));
    assert!(close(short.worst_adverse_pct, (95.0 / 97.0 - 1.0) * 100.0));

    // Neutral, t=6: entry open[7]=100, window 7,8: low 90 (−10 %) is a hit either way;
    // return 93/100 − 1 = −7 %; no adverse side.
    let surge = get(SignalId::OiSurge);
    assert_eq!((surge.fired, surge.scored, surge.hits), (1, 1, 1));
    assert_eq!(surge.bias, "neutral");
    assert!(close(surge.base_rate_pct, 62.5));
    assert!(close(surge.median_return_pct, -7.0));
    assert_eq!(surge.worst_adverse_pct, None);
}

#[test]
fn median_of_odd_and_even_and_empty() {
    assert_eq!(median(&mut [3.0, -1.0, 2.0]), Some(2.0));
    assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    assert_eq!(median(&mut []), None);
}

/// A deterministic, busy series: every input present and moving.
fn wavy(n: usize) -> Vec<Bar> {
    (0..n)
        .map(|i| {
            let x = i as f64;
            let p = 100.0 + 8.0 * (x / 7.0).sin();
            Bar {
                open: Some(p - 0.3),
                high: Some(p + 1.0),
                low: Some(p - 1.0),
                close: Some(p),
                oi_usd: Some(1e9 * (1.0 + 0.06 * (x / 3.0).sin())),
                funding_8h_pct: Some(0.12 * (x / 11.0).sin()),
                liq_long_usd: Some(3e7 * (1.0 + (x / 5.0).sin())),
                liq_short_usd: Some(2e7),
                retail_long_pct: Some(55.0 + 15.0 * (x / 13.0).sin()),
                top_long_pct: Some(50.0 + 10.0 * (x / 9.0).cos()),
                taker_buy_pct: Some(50.0 + 20.0 * (x / 4.0).sin()),
                ..Bar::at(T0 + i as i64 * HOUR_MS)
            }
        })
        .collect()
}

#[test]
fn a_spike_after_t_changes_nothing_at_or_before_t() {
    let s = setup(HOUR_MS, 4, 3.0);
    let bars = wavy(200);
    let t = 120;
    let mut spiked = bars.clone();
    let b = &mut spiked[t + 1];
    b.close = Some(500.0);
    b.high = Some(500.0);
    b.oi_usd = Some(9e9);
    b.funding_8h_pct = Some(2.0);
    b.liq_long_usd = Some(9e9);
    b.retail_long_pct = Some(99.0);
    b.taker_buy_pct = Some(99.0);

    for i in 0..=t {
        assert_eq!(
            inputs_at(&bars[..=i], HOUR_MS),
            inputs_at(&spiked[..=i], HOUR_MS),
            "inputs at bar {i}"
        );
    }
    let before = active_per_bar(&bars, &s);
    let after = active_per_bar(&spiked, &s);
    assert_eq!(before[..=t], after[..=t]);
    // The spike is visible from t+1 on, so the comparison above is not vacuous.
    assert_ne!(before[t + 1], after[t + 1]);
    assert!(before[..=t].iter().any(|v| !v.is_empty()), "signals fire");
}

#[test]
fn forward_return_starts_at_the_next_open_not_the_signal_close() {
    let s = setup(HOUR_MS, 1, 5.0);
    let bars = series(&[
        (100.0, 100.0, 100.0, 100.0, 0.0, 1.0),
        // The signal bar closes at 100; the next bar gaps up and opens at 110.
        (110.0, 112.0, 108.0, 111.0, 0.0, 1.0),
    ]);
    let o = outcome(&bars, 0, &s).expect("complete horizon");
    assert!((o.return_pct - (111.0 / 110.0 - 1.0) * 100.0).abs() < 1e-9);
    assert!((o.max_up_pct - (112.0 / 110.0 - 1.0) * 100.0).abs() < 1e-9);
    assert_eq!(outcome(&bars, 1, &s), None, "no bar after the last");
}

#[test]
fn one_hour_inputs_are_exact_or_absent() {
    // 15-minute bars: the 1h change compares with the close 4 bars back, liquidations sum the
    // last 4 bars, taker is their mean.
    let q = HOUR_MS / 4;
    let bars: Vec<Bar> = (0..5)
        .map(|i| Bar {
            close: Some(100.0 + i as f64),
            oi_usd: Some(1000.0 + 10.0 * i as f64),
            liq_long_usd: Some(1.0 + i as f64),
            liq_short_usd: Some(2.0),
            taker_buy_pct: Some(40.0 + 4.0 * i as f64),
            ..Bar::at(T0 + i as i64 * q)
        })
        .collect();
    let i = inputs_at(&bars, q);
    assert!(close(i.price_change_1h_pct, 4.0)); // 104 vs 100
    assert!(close(i.oi_change_1h_pct, 4.0)); // 1040 vs 1000
    assert!(close(i.liq_long_1h_usd, 2.0 + 3.0 + 4.0 + 5.0));
    assert!(close(i.liq_short_1h_usd, 8.0));
    assert!(close(i.taker_buy_pct, (44.0 + 48.0 + 52.0 + 56.0) / 4.0));
    assert_eq!(i.funding_8h_pct, None, "absent stays absent");

    // One bar short of an hour: no 1h change.
    assert_eq!(inputs_at(&bars[..4], q).price_change_1h_pct, None);
    // A missing bar inside the hour: absent, not a shorter window.
    let gappy: Vec<Bar> = bars
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != 2)
        .map(|(_, b)| *b)
        .collect();
    let g = inputs_at(&gappy, q);
    assert_eq!((g.price_change_1h_pct, g.liq_long_1h_usd), (None, None));
    // An empty liquidation cell inside the hour: the sum is absent, not smaller.
    let mut holed = bars.clone();
    holed[3].liq_long_usd = None;
    assert_eq!(inputs_at(&holed, q).liq_long_1h_usd, None);

    // 4h bars: no "1h" input is observable.
    let four = 4 * HOUR_MS;
    let coarse: Vec<Bar> = bars
        .iter()
        .enumerate()
        .map(|(k, b)| Bar {
            time_ms: T0 + k as i64 * four,
            retail_long_pct: Some(70.0),
            ..*b
        })
        .collect();
    let c = inputs_at(&coarse, four);
    assert_eq!(
        (
            c.oi_change_1h_pct,
            c.price_change_1h_pct,
            c.liq_long_1h_usd,
            c.taker_buy_pct
        ),
        (None, None, None, None)
    );
    assert!(close(c.retail_short_pct, 30.0));
    let r = replay(&coarse, &setup(four, 4, 5.0));
    assert!(r.never_observed.contains(&"oi_change_1h_pct"));
    assert!(!r.never_observed.contains(&"retail_long_pct"));
}

#[test]
fn imported_bars_without_ohlc_use_the_previous_close_as_open() {
    let bars: Vec<Bar> = [100.0, 104.0, 98.0]
        .iter()
        .enumerate()
        .map(|(i, &p)| Bar {
            close: Some(p),
            ..Bar::at(T0 + i as i64 * HOUR_MS)
        })
        .collect();
    let o = outcome(&bars, 0, &setup(HOUR_MS, 2, 5.0)).expect("scored");
    // Entry = close of bar 0 (100); bar 1 spans 100..104, bar 2 spans 98..104.
    assert!((o.max_up_pct - 4.0).abs() < 1e-9);
    assert!((o.max_down_pct + 2.0).abs() < 1e-9);
    assert!((o.return_pct + 2.0).abs() < 1e-9);
}

#[test]
fn horizon_shorter_than_a_bar_is_refused() {
    let e = Setup::new(
        4 * HOUR_MS,
        Duration::from_secs(3600),
        5.0,
        Thresholds::default(),
    )
    .expect_err("1h < 4h");
    assert!(e.contains("--horizon 1h") && e.contains("4h bar"), "{e}");
    assert_eq!(setup(4 * HOUR_MS, 26, 5.0).horizon_bars, 6, "rounded down");
}

#[test]
fn track_record_is_the_replay_for_every_rule() {
    let bars = hand_built();
    let s = setup(HOUR_MS, 2, 5.0);
    let records = track_record(&bars, &s);
    let ids: Vec<SignalId> = records.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, SignalId::ALL, "every rule, fired or not");
    let get = |id| {
        records
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, r)| r.clone())
            .expect("listed")
    };
    // Same numbers as the hand computation above.
    let long = get(SignalId::FundingExtremeLong);
    assert_eq!((long.fired, long.scored, long.hits), (2, 1, 1));
    assert!(close(long.hit_rate_pct, 100.0));
    assert!(close(long.base_rate_pct, 50.0));
    // The one scored onset (t=1) fell 6 %: a move either way too.
    assert!(close(long.either_hit_pct, 100.0));
    assert_eq!(long.interval, "1h");
    assert_eq!(long.horizon, "2h");
    assert_eq!(long.move_pct, 5.0);
    assert!((long.days - 10.0 / 24.0).abs() < 1e-12, "{}", long.days);
    // Bullish t=4 missed up (+4.12 %) and down (−2.06 %) alike.
    let short = get(SignalId::FundingExtremeShort);
    assert!(close(short.either_hit_pct, 0.0));
    // A rule that never fired: 0 onsets, no rate invented.
    let quiet = get(SignalId::TakerBuyPressure);
    assert_eq!((quiet.fired, quiet.scored, quiet.hits), (0, 0, 0));
    assert_eq!(
        (
            quiet.hit_rate_pct,
            quiet.base_rate_pct,
            quiet.either_hit_pct
        ),
        (None, None, None)
    );
    assert!(track_record(&[], &s)
        .iter()
        .all(|(_, r)| r.fired == 0 && r.days == 0.0));
}

fn relative(s: Setup) -> Setup {
    s.with_relative(RelativeSettings::default())
}

/// `hours` hourly bars of a calm market: funding between 0 and 0.02 % (never near the static
/// 0.10 % extreme), OI and price flat, with funding spikes to 0.045 % at `spikes`.
fn calm(hours: usize, spikes: &[usize]) -> Vec<Bar> {
    (0..hours)
        .map(|i| {
            let x = i as f64;
            let funding = if spikes.contains(&i) {
                0.045
            } else {
                0.01 + 0.01 * (x / 7.0).sin()
            };
            Bar {
                open: Some(100.0),
                high: Some(100.0 + (x / 5.0).sin().abs() * 6.0),
                low: Some(99.0),
                close: Some(100.0),
                oi_usd: Some(1e9),
                funding_8h_pct: Some(funding),
                ..Bar::at(T0 + i as i64 * HOUR_MS)
            }
        })
        .collect()
}

#[test]
fn relative_thresholds_never_see_bar_t_or_later() {
    let s = relative(setup(HOUR_MS, 4, 3.0));
    let t = 300;
    let base = wavy(400);
    let spike = |at: usize| {
        let mut bars = base.clone();
        let b = &mut bars[at];
        b.oi_usd = Some(9e9);
        b.funding_8h_pct = Some(2.0);
        b.liq_long_usd = Some(9e9);
        b.retail_long_pct = Some(99.0);
        b.taker_buy_pct = Some(99.0);
        bars
    };
    // The spike right after t, and the same spike moved 50 bars later.
    let soon = spike(t + 1);
    let later = spike(t + 50);
    let (th_soon, th_later) = (
        thresholds_per_bar(&soon, &s),
        thresholds_per_bar(&later, &s),
    );
    assert!(th_soon[..=t] == th_later[..=t], "thresholds up to t");
    assert_eq!(
        active_per_bar(&soon, &s)[..=t],
        active_per_bar(&later, &s)[..=t],
        "signals up to t"
    );
    // Not vacuous: the thresholds are the window's own (not the static ones) by t, and the
    // spike enters the window of the bars after it.
    assert_ne!(th_soon[t], Thresholds::default());
    assert_ne!(th_soon[t + 2], th_later[t + 2]);

    // Strictly before: a spike at t itself changes the signals at t, not the percentiles at t.
    // Only the liquidation thresholds move, being a share of OI turned into dollars with bar t's
    // own open interest (9e9 in the spike).
    let at_t = spike(t);
    let (th_at, th_base) = (thresholds_per_bar(&at_t, &s), thresholds_per_bar(&base, &s));
    assert!(th_at[..t] == th_base[..t], "thresholds before t");
    let ratio = 9e9 / base[t].oi_usd.expect("oi");
    let same_share = |a: f64, b: f64| ((a / (b * ratio)) - 1.0).abs() < 1e-12;
    assert!(same_share(
        th_at[t].liq_cascade_usd,
        th_base[t].liq_cascade_usd
    ));
    assert!(same_share(
        th_at[t].liq_elevated_usd,
        th_base[t].liq_elevated_usd
    ));
    let without_liq = |th: &Thresholds| Thresholds {
        liq_cascade_usd: 0.0,
        liq_elevated_usd: 0.0,
        ..*th
    };
    assert_eq!(without_liq(&th_at[t]), without_liq(&th_base[t]));
    assert_ne!(th_at[t + 1], th_base[t + 1]);
    assert_ne!(active_per_bar(&at_t, &s)[t], active_per_bar(&base, &s)[t]);
}

#[test]
fn relative_and_static_differ_where_the_market_is_calm() {
    let bars = calm(24 * 40, &[24 * 25, 24 * 33]);
    let s = setup(HOUR_MS, 6, 3.0);
    let fired = |r: &ReplayResult, id| r.signals.iter().find(|x| x.id == id).map(|x| x.fired);
    // Static: funding never reaches 0.10 %, so nothing fires all period.
    let stat = replay(&bars, &s);
    assert!(stat.signals.is_empty(), "{:?}", stat.signals);
    // Relative: the two spikes are far beyond this market's own 99th percentile.
    let rel = replay(&bars, &relative(s.clone()));
    assert_eq!(
        fired(&rel, SignalId::FundingExtremeLong),
        Some(2),
        "{rel:?}"
    );
    let th = thresholds_per_bar(&bars, &relative(s.clone()));
    // Warm-up: static thresholds for the first 7 days of bars, the window's own after.
    assert_eq!(th[167], Thresholds::default());
    let p99 = th[24 * 25].funding_extreme_long_pct;
    assert!(p99 > 0.019 && p99 < 0.021, "{p99}");
}

#[test]
fn static_mode_is_todays_replay_and_warm_up_is_static() {
    // `with_relative(static)` is what `Setup::new` gives; relative mode with less history
    // than the warm-up uses the static thresholds, so the same numbers.
    let s = setup(HOUR_MS, 2, 5.0);
    let want = replay(&hand_built(), &s);
    let stat = s.clone().with_relative(RelativeSettings {
        mode: ThresholdMode::Static,
        ..RelativeSettings::default()
    });
    assert_eq!(stat, s);
    assert_eq!(replay(&hand_built(), &stat), want);
    assert_eq!(replay(&hand_built(), &relative(s)), want);
}

#[test]
fn no_onset_without_the_bar_before() {
    let s = setup(HOUR_MS, 1, 5.0);
    let f = |funding: &[f64]| {
        series(
            &funding
                .iter()
                .map(|&f| (100.0, 100.0, 100.0, 100.0, f, 1.0))
                .collect::<Vec<_>>(),
        )
    };
    // Active at the first bar of the window: already running, not an onset.
    let r = replay(&f(&[0.2, 0.2, 0.01, 0.01]), &s);
    assert!(r.signals.is_empty(), "{:?}", r.signals);
    // Active again later: an onset.
    let r = replay(&f(&[0.2, 0.2, 0.01, 0.2]), &s);
    assert_eq!(r.signals[0].fired, 1);
    // The first bar after a gap is like the first bar: unknown before it.
    let mut gappy = f(&[0.01, 0.01, 0.2, 0.2, 0.01, 0.2]);
    for b in &mut gappy[2..] {
        b.time_ms += 3 * HOUR_MS;
    }
    let r = replay(&gappy, &s);
    assert_eq!(r.signals[0].fired, 1, "only the onset at the last bar");
}

#[test]
fn a_horizon_between_bars_says_what_it_was_rounded_to() {
    let four = 4 * HOUR_MS;
    assert_eq!(
        setup(four, 26, 5.0).horizon_note().as_deref(),
        Some("--horizon 26h is not a whole number of 4h bars: rounded down to 1d (6 bars)")
    );
    assert_eq!(setup(four, 24, 5.0).horizon_note(), None);
}
