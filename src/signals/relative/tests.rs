use super::*;
use crate::signals::test_support::NONE;
use crate::signals::{evaluate, SignalId};

fn settings() -> RelativeSettings {
    RelativeSettings::default()
}

/// A baseline with `hours` hourly samples of funding cycling through `values`.
fn funding_history(values: &[f64], hours: usize) -> Baseline {
    let mut b = Baseline::default();
    for h in 0..hours {
        let inputs = SignalInputs {
            funding_8h_pct: Some(values[h % values.len()]),
            ..NONE
        };
        b.push(
            h as i64 * HOUR_MS,
            &Sample::of(&inputs, None),
            DEFAULT_WINDOW_MS,
        );
    }
    b
}

#[test]
fn the_field_table_is_in_field_order() {
    for (i, d) in DERIVATIONS.iter().enumerate() {
        assert_eq!(d.field as usize, i, "{:?}", d.field);
    }
}

#[test]
fn static_mode_is_the_configured_numbers_exactly() {
    let b = funding_history(&[0.001, 0.002, 0.003], 24 * 40);
    let th = Thresholds::default();
    let s = RelativeSettings {
        mode: ThresholdMode::Static,
        ..settings()
    };
    let d = b.derive(&th, &s, Some(1e9));
    assert_eq!(d.thresholds, th);
    let info = d.info(SignalId::FundingExtremeLong);
    assert_eq!(info.mode, ThresholdMode::Static);
    assert_eq!(info.value, 0.10);
    assert_eq!(info.note, None);
}

#[test]
fn a_short_history_keeps_the_static_threshold_and_says_warming_up() {
    let b = funding_history(&[0.02, 0.03], 24 * 6);
    let d = b.derive(&Thresholds::default(), &settings(), None);
    assert_eq!(d.thresholds.funding_extreme_long_pct, 0.10);
    let info = d.info(SignalId::FundingExtremeLong);
    assert_eq!(info.mode, ThresholdMode::Static);
    assert_eq!(info.note, Some("warming up: static threshold"));
    assert!(d.warming());
}

#[test]
fn a_warm_window_gives_its_own_percentile() {
    // 100 distinct values 0.011 … 0.110, repeated: p99 = 0.10901 (type 7 on 0..99 steps).
    let values: Vec<f64> = (1..=100).map(|i| 0.010 + i as f64 * 0.001).collect();
    let b = funding_history(&values, 24 * 29);
    let d = b.derive(&Thresholds::default(), &settings(), None);
    let th = d.thresholds.funding_extreme_long_pct;
    let w = &b.windows[Metric::Funding.index()];
    assert_eq!(Some(th), w.percentile(99.0));
    let info = d.info(SignalId::FundingExtremeLong);
    assert_eq!(info.mode, ThresholdMode::Relative);
    assert_eq!(info.percentile, Some(99.0));
    assert_eq!(info.window.as_deref(), Some("30d"));
    // The lower tail uses the 1st percentile, floored at −0.01: every value is positive, so the
    // floor binds.
    let short = d.info(SignalId::FundingExtremeShort);
    assert_eq!(short.value, -0.01);
    assert_eq!(short.percentile, Some(1.0));
    assert!(short.note.is_some());
}

#[test]
fn a_calm_market_is_held_to_the_absolute_floor() {
    // Funding wobbling inside ±0.005 %: its p99 is tiny, the floor (0.01) binds.
    let b = funding_history(&[-0.005, 0.0, 0.003, 0.005], 24 * 30);
    let d = b.derive(&Thresholds::default(), &settings(), None);
    assert_eq!(d.thresholds.funding_extreme_long_pct, floors::FUNDING_PCT);
    let calm = SignalInputs {
        funding_8h_pct: Some(0.0099),
        ..NONE
    };
    assert!(evaluate(&calm, &d.thresholds).is_empty());
    let hot = SignalInputs {
        funding_8h_pct: Some(0.012),
        ..NONE
    };
    let ids: Vec<SignalId> = evaluate(&hot, &d.thresholds).iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![SignalId::FundingExtremeLong]);
}

#[test]
fn a_value_at_the_windows_cap_can_fire() {
    // Funding sat at exactly 0.0300 on 3 % of hours, lower otherwise: the p99 is the cap
    // itself. A strict `>` could never fire; equal-to-the-window's-maximum counts as beyond.
    let mut values = vec![0.02; 97];
    values.extend([0.03; 3]);
    let b = funding_history(&values, 24 * 30);
    let d = b.derive(&Thresholds::default(), &settings(), None);
    assert_eq!(d.info(SignalId::FundingExtremeLong).value, 0.03);
    let at_cap = SignalInputs {
        funding_8h_pct: Some(0.03),
        ..NONE
    };
    let ids: Vec<SignalId> = evaluate(&at_cap, &d.thresholds)
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec![SignalId::FundingExtremeLong]);
    // The common value does not.
    let usual = SignalInputs {
        funding_8h_pct: Some(0.02),
        ..NONE
    };
    assert!(!evaluate(&usual, &d.thresholds)
        .iter()
        .any(|s| s.id == SignalId::FundingExtremeLong));
}

#[test]
fn a_resting_rate_at_the_floor_is_never_extreme() {
    // Weeks at exactly the resting 0.0100 %: the window's max, but inside the floor.
    let b = funding_history(&[0.01], 24 * 30);
    let d = b.derive(&Thresholds::default(), &settings(), None);
    let resting = SignalInputs {
        funding_8h_pct: Some(0.01),
        ..NONE
    };
    assert!(evaluate(&resting, &d.thresholds).is_empty());
}

#[test]
fn liquidation_thresholds_are_a_share_of_open_interest_in_dollars() {
    let mut b = Baseline::default();
    for h in 0..24 * 30 {
        // 0.01 % … 0.10 % of a $1B OI per side per hour.
        let usd = 1e9 * (0.0001 + (h % 10) as f64 * 0.0001);
        let inputs = SignalInputs {
            liq_long_1h_usd: Some(usd),
            liq_short_1h_usd: Some(usd / 2.0),
            ..NONE
        };
        b.push(
            h * HOUR_MS,
            &Sample::of(&inputs, Some(1e9)),
            DEFAULT_WINDOW_MS,
        );
    }
    let small = b.derive(&Thresholds::default(), &settings(), Some(1e9));
    let big = b.derive(&Thresholds::default(), &settings(), Some(10e9));
    let cascade = small.info(SignalId::LongLiquidationCascade);
    assert_eq!(cascade.mode, ThresholdMode::Relative);
    // The share threshold is the same; the dollars scale with today's OI.
    let ratio = big.info(SignalId::LongLiquidationCascade).value / cascade.value;
    assert!((ratio - 10.0).abs() < 1e-9, "{ratio}");
    // Without a current OI the static dollars stay, and say why.
    let blind = b.derive(&Thresholds::default(), &settings(), None);
    assert_eq!(blind.thresholds.liq_cascade_usd, 50_000_000.0);
    assert_eq!(
        blind.info(SignalId::LongLiquidationCascade).note,
        Some("open interest unknown: static threshold")
    );
}

#[test]
fn live_observations_enter_the_window_only_when_their_hour_is_over() {
    let s = settings();
    let mut b = Baseline::default();
    let sample = |f: f64| {
        Sample::of(
            &SignalInputs {
                funding_8h_pct: Some(f),
                ..NONE
            },
            None,
        )
    };
    b.observe(0, sample(1.0), &s);
    b.observe(30 * 60_000, sample(2.0), &s);
    assert_eq!(
        b.samples(Field::FundingExtremeLong),
        0,
        "the hour is not over"
    );
    b.observe(HOUR_MS + 1, sample(3.0), &s);
    assert_eq!(b.samples(Field::FundingExtremeLong), 1);
    assert_eq!(
        b.windows[Metric::Funding.index()].max(),
        Some(2.0),
        "the hour's last value"
    );
}

#[test]
fn samples_older_than_the_window_leave_it() {
    let s = RelativeSettings {
        window_ms: 10 * DAY_MS,
        ..settings()
    };
    let mut b = Baseline::default();
    for h in 0..24 * 20 {
        let inputs = SignalInputs {
            funding_8h_pct: Some(h as f64),
            ..NONE
        };
        b.push(h * HOUR_MS, &Sample::of(&inputs, None), s.window_ms);
    }
    assert_eq!(b.samples(Field::FundingExtremeLong), 24 * 10 + 1);
}
