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

#[test]
fn within_an_hour_each_metric_keeps_its_newest_known_value() {
    let s = settings();
    let mut b = Baseline::default();
    let both = SignalInputs {
        funding_8h_pct: Some(0.02),
        taker_buy_pct: Some(60.0),
        ..NONE
    };
    let funding_only = SignalInputs {
        funding_8h_pct: Some(0.03),
        ..NONE
    };
    b.observe(0, Sample::of(&both, None), &s);
    // The hour's last cycle lost taker flow: the earlier value stands for the hour.
    b.observe(50 * 60_000, Sample::of(&funding_only, None), &s);
    b.observe(HOUR_MS, Sample::of(&funding_only, None), &s);
    assert_eq!(b.windows[Metric::Funding.index()].max(), Some(0.03));
    assert_eq!(b.windows[Metric::TakerBuy.index()].max(), Some(60.0));
}

#[test]
fn seeding_merges_history_in_any_order_and_leaves_the_live_hour_alone() {
    let s = settings();
    let sample = |f: f64| {
        Sample::of(
            &SignalInputs {
                funding_8h_pct: Some(f),
                ..NONE
            },
            None,
        )
    };
    let mut b = Baseline::default();
    // Live: hours 100 and 101 observed, 101 still going.
    b.observe(100 * HOUR_MS, sample(1.0), &s);
    b.observe(101 * HOUR_MS + 5, sample(2.0), &s);
    // Stored cycles (newer) arrive first, downloaded bars (older, overlapping) later.
    let stored: Vec<(i64, Sample)> = (90..100).map(|h| (h * HOUR_MS + 1, sample(3.0))).collect();
    b.seed(&stored, &s);
    let bars: Vec<(i64, Sample)> = (80..102).map(|h| (h * HOUR_MS, sample(4.0))).collect();
    b.seed(&bars, &s);
    let w = &b.windows[Metric::Funding.index()];
    // Hours 80..=100: 10 from the bars (80-89), 10 stored (90-99, kept over the bars), hour
    // 100 live; 101 is the live hour in progress, so its bar stays out.
    assert_eq!(w.len(), 21);
    assert_eq!(w.span(), Some((80 * HOUR_MS, 100 * HOUR_MS)));
    assert_eq!(w.percentile(50.0), Some(3.0));
    // The live hour goes on as usual.
    b.observe(102 * HOUR_MS, sample(5.0), &s);
    let w = &b.windows[Metric::Funding.index()];
    assert_eq!(w.len(), 22);
    assert_eq!(w.span(), Some((80 * HOUR_MS, 101 * HOUR_MS + 5)));
}

#[test]
fn a_threshold_describes_itself_with_its_unit_and_origin() {
    let info = |mode, value, percentile: Option<f64>, note| ThresholdInfo {
        mode,
        value,
        percentile,
        window: percentile.map(|_| "30d".to_string()),
        note,
    };
    use ThresholdMode::{Relative, Static};
    let cases = [
        (
            info(Relative, 0.021_34, Some(99.0), None),
            SignalId::SetupClassicTop,
            "threshold 0.0213 %/8h = p99 of 30d",
        ),
        (
            info(Relative, -0.0137, Some(1.0), None),
            SignalId::FundingExtremeShort,
            "threshold -0.0137 %/8h = p1 of 30d",
        ),
        (
            info(Relative, 0.01, Some(99.0), Some(FLOOR_NOTE)),
            SignalId::FundingElevated,
            "threshold ±0.01 %/8h = floor (p99 of 30d is lower)",
        ),
        (
            info(Relative, -0.01, Some(1.0), Some(FLOOR_NOTE)),
            SignalId::SetupShortSqueeze,
            "threshold -0.01 %/8h = floor (p1 of 30d is higher)",
        ),
        (
            info(Relative, 1.234_56, Some(97.5), None),
            SignalId::OiFlush,
            "threshold ±1.23 % OI in 1h = p97.5 of 30d",
        ),
        (
            info(Relative, 12_345_678.0, Some(99.0), None),
            SignalId::ShortLiquidationCascade,
            "threshold $12.3M in 1h = p99 of 30d",
        ),
        (
            info(Relative, 57.345_6, Some(98.0), None),
            SignalId::RetailExtremeLong,
            "threshold 57.35 % long = p98 of 30d",
        ),
        (
            info(Relative, 43.1, Some(2.0), None),
            SignalId::TakerSellPressure,
            "threshold 43.1 % taker buy = p2 of 30d",
        ),
        (
            info(Static, 0.10, None, Some("warming up: static threshold")),
            SignalId::FundingExtremeLong,
            "warming up: static threshold 0.10 %/8h",
        ),
        (
            info(
                Static,
                50e6,
                None,
                Some("open interest unknown: static threshold"),
            ),
            SignalId::LiquidationsElevated,
            "open interest unknown: static threshold $50.0M in 1h",
        ),
        (
            info(Static, 10.0, None, None),
            SignalId::SetupDistribution,
            "threshold 10 pts (static)",
        ),
        (
            info(Static, 1.0, None, None),
            SignalId::FlowNewShorts,
            "threshold ±1 % OI in 1h (static)",
        ),
    ];
    for (i, id, want) in cases {
        assert_eq!(i.describe(id), want, "{id}");
    }
}
