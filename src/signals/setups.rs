//! Combination setups and the OI × price positioning reads (signals.md "Combination setups",
//! "Positioning read"). Every condition needs its inputs: one missing input and the setup stays
//! silent.

use super::text::{push, Part::*};
use super::{known, Signal, SignalId, Thresholds, GE_EPS};
use crate::model::{Bias, Level, SignalInputs};

pub(super) fn evaluate_into(inputs: &SignalInputs, th: &Thresholds, out: &mut Vec<Signal>) {
    let funding = known(inputs.funding_8h_pct);
    let oi = known(inputs.oi_change_1h_pct);
    let retail_long = known(inputs.retail_long_pct);
    let retail_short = known(inputs.retail_short_pct);
    let top_long = known(inputs.top_long_pct);
    let top_short = known(inputs.top_short_pct);
    let price = known(inputs.price_change_1h_pct);

    if let (Some(f), Some(o)) = (funding, oi) {
        leverage_setups(f, o, retail_long, retail_short, th, out);
    }
    if let Some(o) = oi {
        fading_setups(o, retail_long, retail_short, top_long, top_short, th, out);
        if let Some(p) = price {
            flow(o, p, th, out);
        }
    }
}

/// Classic top, short squeeze, deleveraging: funding × OI change × retail positioning.
fn leverage_setups(
    f: f64,
    o: f64,
    retail_long: Option<f64>,
    retail_short: Option<f64>,
    th: &Thresholds,
    out: &mut Vec<Signal>,
) {
    if let Some(rl) = retail_long {
        if f > th.funding_extreme_long_pct
            && o > th.setup_oi_change_pct
            && rl > th.retail_extreme_long_pct
        {
            push(
                out,
                SignalId::SetupClassicTop,
                Level::High,
                Bias::Bearish,
                "Classic top setup",
                &[
                    T("Funding "),
                    Sgn(f, 4),
                    T("% per 8h (> "),
                    SThr(th.funding_extreme_long_pct, 2),
                    T("%), open interest "),
                    Sgn(o, 2),
                    T("% in 1h (> "),
                    SThr(th.setup_oi_change_pct, 0),
                    T("%), retail "),
                    Num(rl, 1),
                    T("% long (> "),
                    Thr(th.retail_extreme_long_pct, 0),
                    T("%): crowded leveraged longs; avoid new longs."),
                ],
            );
        }
        let (low, high) = (
            th.deleveraging_retail_low_pct,
            th.deleveraging_retail_high_pct,
        );
        if f.abs() > th.funding_elevated_pct
            && o < -th.setup_oi_change_pct
            && (low..=high).contains(&rl)
        {
            push(
                out,
                SignalId::SetupDeleveraging,
                Level::Medium,
                Bias::Neutral,
                "Deleveraging",
                &[
                    T("Funding "),
                    Sgn(f, 4),
                    T("% per 8h (beyond ±"),
                    Thr(th.funding_elevated_pct, 2),
                    T("%), open interest "),
                    Sgn(o, 2),
                    T("% in 1h (< "),
                    SThr(-th.setup_oi_change_pct, 0),
                    T("%), retail "),
                    Num(rl, 1),
                    T("% long (within "),
                    Thr(low, 0),
                    T("–"),
                    Thr(high, 0),
                    T("%): leverage is leaving; wait for the dust to settle."),
                ],
            );
        }
    }
    if let Some(rs) = retail_short {
        if f < th.funding_extreme_short_pct
            && o > th.setup_oi_change_pct
            && rs > th.retail_heavy_short_pct
        {
            push(
                out,
                SignalId::SetupShortSqueeze,
                Level::High,
                Bias::Bullish,
                "Short squeeze setup",
                &[
                    T("Funding "),
                    Sgn(f, 4),
                    T("% per 8h (< "),
                    SThr(th.funding_extreme_short_pct, 2),
                    T("%), open interest "),
                    Sgn(o, 2),
                    T("% in 1h (> "),
                    SThr(th.setup_oi_change_pct, 0),
                    T("%), retail "),
                    Num(rs, 1),
                    T("% short (> "),
                    Thr(th.retail_heavy_short_pct, 0),
                    T("%): shorts are paying to stay in; watch for a catalyst."),
                ],
            );
        }
    }
}

/// Distribution and accumulation: top traders on the other side of retail while OI is flat.
/// "The other side" means top traders are net short (distribution: top long share below 50 %)
/// or net long (accumulation: above 50 %), not merely less long than retail.
fn fading_setups(
    o: f64,
    retail_long: Option<f64>,
    retail_short: Option<f64>,
    top_long: Option<f64>,
    top_short: Option<f64>,
    th: &Thresholds,
    out: &mut Vec<Signal>,
) {
    if o.abs() >= th.setup_oi_change_pct {
        return;
    }
    // `≥ divergence_pts` is inclusive; the epsilon keeps a gap computed from two-decimal data
    // (62.35 − 52.35) from landing a hair under the threshold.
    let min_gap = th.divergence_pts - GE_EPS;
    if let (Some(ts), Some(rs), Some(rl)) = (top_short, retail_short, retail_long) {
        // Net short; the long share is 100 − short when only the short share is reported.
        let net_short = top_long.unwrap_or(100.0 - ts) < 50.0;
        if net_short && ts - rs >= min_gap && rl > th.distribution_retail_long_pct {
            push(
                out,
                SignalId::SetupDistribution,
                Level::High,
                Bias::Bearish,
                "Distribution",
                &[
                    T("Top traders are "),
                    Num(ts, 1),
                    T("% short (net short) vs retail "),
                    Num(rs, 1),
                    T("% ("),
                    Num(ts - rs, 1),
                    T(" points, threshold "),
                    Thr(th.divergence_pts, 0),
                    T(") while retail is "),
                    Num(rl, 1),
                    T("% long (> "),
                    Thr(th.distribution_retail_long_pct, 0),
                    T("%) and open interest is flat ("),
                    Sgn(o, 2),
                    T("% in 1h, within ±"),
                    Thr(th.setup_oi_change_pct, 0),
                    T("%): large accounts are fading retail."),
                ],
            );
        }
    }
    if let (Some(tl), Some(rl), Some(rs)) = (top_long, retail_long, retail_short) {
        if tl > 50.0 && tl - rl >= min_gap && rs > th.accumulation_retail_short_pct {
            push(
                out,
                SignalId::SetupAccumulation,
                Level::High,
                Bias::Bullish,
                "Accumulation",
                &[
                    T("Top traders are "),
                    Num(tl, 1),
                    T("% long (net long) vs retail "),
                    Num(rl, 1),
                    T("% ("),
                    Num(tl - rl, 1),
                    T(" points, threshold "),
                    Thr(th.divergence_pts, 0),
                    T(") while retail is "),
                    Num(rs, 1),
                    T("% short (> "),
                    Thr(th.accumulation_retail_short_pct, 0),
                    T("%) and open interest is flat ("),
                    Sgn(o, 2),
                    T("% in 1h, within ±"),
                    Thr(th.setup_oi_change_pct, 0),
                    T("%): large accounts are buying fear."),
                ],
            );
        }
    }
}

/// OI × price over 1h, beyond both dead bands. Biases: new longs bullish and new shorts bearish
/// (fresh money sets the direction); short covering and long capitulation neutral (a covering
/// rally may lack follow-through, capitulation may be exhaustion: neither is a trend call).
fn flow(o: f64, p: f64, th: &Thresholds, out: &mut Vec<Signal>) {
    if o.abs() <= th.flow_oi_deadband_pct || p.abs() <= th.flow_price_deadband_pct {
        return;
    }
    let (id, bias, title, joiner, tail) = match (o > 0.0, p > 0.0) {
        (true, true) => (
            SignalId::FlowNewLongs,
            Bias::Bullish,
            "New longs",
            "% and price ",
            "% in 1h: new money is entering long.",
        ),
        (true, false) => (
            SignalId::FlowNewShorts,
            Bias::Bearish,
            "New shorts",
            "% while price ",
            "% in 1h: new money is entering short.",
        ),
        (false, true) => (
            SignalId::FlowShortCovering,
            Bias::Neutral,
            "Short covering",
            "% while price ",
            "% in 1h: the rally runs on shorts covering and may lack follow-through.",
        ),
        (false, false) => (
            SignalId::FlowLongCapitulation,
            Bias::Neutral,
            "Long capitulation",
            "% and price ",
            "% in 1h: longs are exiting; selling may be exhausting.",
        ),
    };
    push(
        out,
        id,
        Level::Low,
        bias,
        title,
        &[
            T("Open interest "),
            Sgn(o, 2),
            T(joiner),
            Sgn(p, 2),
            T(tail),
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::test_support::{ids, NONE};
    use SignalId::*;

    fn fired(i: &SignalInputs) -> Vec<SignalId> {
        ids(i, &Thresholds::default(), evaluate_into)
    }

    /// Names a change to the inputs that breaks one condition.
    type Breaker = (&'static str, fn(&mut SignalInputs));

    /// A setup's firing inputs and, per condition, a change that breaks only that condition.
    struct SetupCase {
        id: SignalId,
        base: SignalInputs,
        breaks: &'static [Breaker],
    }

    fn cases() -> Vec<SetupCase> {
        vec![
            SetupCase {
                id: SetupClassicTop,
                base: SignalInputs {
                    funding_8h_pct: Some(0.12),
                    oi_change_1h_pct: Some(3.0),
                    retail_long_pct: Some(68.0),
                    retail_short_pct: Some(32.0),
                    ..NONE
                },
                breaks: &[
                    ("funding at +0.10", |i| i.funding_8h_pct = Some(0.10)),
                    ("oi at +2.5", |i| i.oi_change_1h_pct = Some(2.5)),
                    ("oi falling", |i| i.oi_change_1h_pct = Some(-3.0)),
                    ("retail at 65", |i| i.retail_long_pct = Some(65.0)),
                    ("funding missing", |i| i.funding_8h_pct = None),
                    ("oi missing", |i| i.oi_change_1h_pct = None),
                    ("retail missing", |i| i.retail_long_pct = None),
                ],
            },
            SetupCase {
                id: SetupShortSqueeze,
                base: SignalInputs {
                    funding_8h_pct: Some(-0.07),
                    oi_change_1h_pct: Some(3.0),
                    retail_long_pct: Some(37.0),
                    retail_short_pct: Some(63.0),
                    ..NONE
                },
                breaks: &[
                    ("funding at -0.05", |i| i.funding_8h_pct = Some(-0.05)),
                    ("oi at +2.5", |i| i.oi_change_1h_pct = Some(2.5)),
                    ("retail short at 60", |i| i.retail_short_pct = Some(60.0)),
                    ("retail short missing", |i| i.retail_short_pct = None),
                    ("funding missing", |i| i.funding_8h_pct = None),
                ],
            },
            SetupCase {
                id: SetupDeleveraging,
                base: SignalInputs {
                    funding_8h_pct: Some(0.06),
                    oi_change_1h_pct: Some(-3.0),
                    retail_long_pct: Some(55.0),
                    retail_short_pct: Some(45.0),
                    ..NONE
                },
                breaks: &[
                    ("funding at +0.05", |i| i.funding_8h_pct = Some(0.05)),
                    ("oi at -2.5", |i| i.oi_change_1h_pct = Some(-2.5)),
                    ("oi rising", |i| i.oi_change_1h_pct = Some(3.0)),
                    ("retail long 60.01", |i| i.retail_long_pct = Some(60.01)),
                    ("retail long 39.99", |i| i.retail_long_pct = Some(39.99)),
                    ("retail missing", |i| i.retail_long_pct = None),
                ],
            },
            SetupCase {
                id: SetupDistribution,
                base: SignalInputs {
                    oi_change_1h_pct: Some(0.8),
                    retail_long_pct: Some(66.0),
                    retail_short_pct: Some(34.0),
                    top_long_pct: Some(48.0),
                    top_short_pct: Some(52.0),
                    ..NONE
                },
                breaks: &[
                    ("gap 9.9", |i| i.top_short_pct = Some(43.9)),
                    ("top traders net long", |i| {
                        i.top_long_pct = Some(51.0);
                        i.top_short_pct = Some(49.0);
                    }),
                    ("top traders at 50/50", |i| {
                        i.top_long_pct = Some(50.0);
                        i.top_short_pct = Some(50.0);
                    }),
                    ("top short alone says net long", |i| {
                        i.top_long_pct = None;
                        i.top_short_pct = Some(49.0);
                    }),
                    ("retail long at 60", |i| i.retail_long_pct = Some(60.0)),
                    ("oi at +2.5", |i| i.oi_change_1h_pct = Some(2.5)),
                    ("oi at -2.5", |i| i.oi_change_1h_pct = Some(-2.5)),
                    ("top short missing", |i| i.top_short_pct = None),
                    ("oi missing", |i| i.oi_change_1h_pct = None),
                ],
            },
            SetupCase {
                id: SetupAccumulation,
                base: SignalInputs {
                    oi_change_1h_pct: Some(-1.0),
                    retail_long_pct: Some(42.0),
                    retail_short_pct: Some(58.0),
                    top_long_pct: Some(56.0),
                    top_short_pct: Some(44.0),
                    ..NONE
                },
                breaks: &[
                    ("gap 9.9", |i| i.top_long_pct = Some(51.9)),
                    ("top traders net short", |i| {
                        i.top_long_pct = Some(49.0);
                        i.top_short_pct = Some(51.0);
                        i.retail_long_pct = Some(39.0);
                        i.retail_short_pct = Some(61.0);
                    }),
                    ("top traders at 50/50", |i| {
                        i.top_long_pct = Some(50.0);
                        i.top_short_pct = Some(50.0);
                        i.retail_long_pct = Some(40.0);
                        i.retail_short_pct = Some(60.0);
                    }),
                    ("retail short at 55", |i| i.retail_short_pct = Some(55.0)),
                    ("oi at +2.5", |i| i.oi_change_1h_pct = Some(2.5)),
                    ("top long missing", |i| i.top_long_pct = None),
                    ("retail short missing", |i| i.retail_short_pct = None),
                ],
            },
        ]
    }

    #[test]
    fn every_setup_fires_and_each_condition_is_needed() {
        for case in cases() {
            assert!(fired(&case.base).contains(&case.id), "{} base", case.id);
            for (name, breaker) in case.breaks {
                let mut i = case.base;
                breaker(&mut i);
                assert!(!fired(&i).contains(&case.id), "{}: {name}", case.id);
            }
        }
    }

    #[test]
    fn fading_gap_is_inclusive_at_the_threshold() {
        // Exactly 10 points (and 10 computed from two-decimal data) counts. Top traders net
        // long (52 %) against retail short (58 %): accumulation.
        for (top_long, retail_long) in [(52.0, 42.0), (52.35, 42.35)] {
            let i = SignalInputs {
                oi_change_1h_pct: Some(0.0),
                retail_long_pct: Some(retail_long),
                retail_short_pct: Some(100.0 - retail_long),
                top_long_pct: Some(top_long),
                ..NONE
            };
            assert_eq!(fired(&i), &[SetupAccumulation], "{top_long}");
        }
        // Distribution: top traders net short (55 %) against retail long (55 %; the default
        // 60 % would leave no room for a net-short 10-point gap).
        let th = Thresholds {
            distribution_retail_long_pct: 50.0,
            ..Thresholds::default()
        };
        for (top_short, retail_short) in [(55.0, 45.0), (55.35, 45.35)] {
            let i = SignalInputs {
                oi_change_1h_pct: Some(0.0),
                retail_long_pct: Some(100.0 - retail_short),
                retail_short_pct: Some(retail_short),
                top_short_pct: Some(top_short),
                ..NONE
            };
            assert_eq!(
                ids(&i, &th, evaluate_into),
                &[SetupDistribution],
                "{top_short}"
            );
        }
    }

    #[test]
    fn deleveraging_band_is_inclusive() {
        for rl in [40.0, 60.0] {
            let i = SignalInputs {
                funding_8h_pct: Some(-0.06),
                oi_change_1h_pct: Some(-2.6),
                retail_long_pct: Some(rl),
                ..NONE
            };
            assert!(fired(&i).contains(&SetupDeleveraging), "{rl}");
        }
    }

    #[test]
    fn flow_reads_need_both_moves_beyond_their_dead_bands() {
        let cases: &[(f64, f64, &[SignalId])] = &[
            (1.01, 0.51, &[FlowNewLongs]),
            (1.01, -0.51, &[FlowNewShorts]),
            (-1.01, 0.51, &[FlowShortCovering]),
            (-1.01, -0.51, &[FlowLongCapitulation]),
            (1.0, 2.0, &[]),
            (-1.0, 2.0, &[]),
            (3.0, 0.5, &[]),
            (3.0, -0.5, &[]),
            (0.2, 0.1, &[]),
        ];
        for (oi, price, want) in cases {
            let i = SignalInputs {
                oi_change_1h_pct: Some(*oi),
                price_change_1h_pct: Some(*price),
                ..NONE
            };
            assert_eq!(fired(&i), *want, "oi {oi} price {price}");
        }
        let no_price = SignalInputs {
            oi_change_1h_pct: Some(4.0),
            ..NONE
        };
        assert!(fired(&no_price).is_empty());
    }

    #[test]
    fn flow_biases_and_levels() {
        let cases = [
            (2.0, 1.0, Bias::Bullish),
            (2.0, -1.0, Bias::Bearish),
            (-2.0, 1.0, Bias::Neutral),
            (-2.0, -1.0, Bias::Neutral),
        ];
        for (oi, price, want) in cases {
            let mut out = Vec::new();
            let i = SignalInputs {
                oi_change_1h_pct: Some(oi),
                price_change_1h_pct: Some(price),
                ..NONE
            };
            evaluate_into(&i, &Thresholds::default(), &mut out);
            assert_eq!(out.len(), 1);
            assert_eq!((out[0].level, out[0].bias), (Level::Low, want));
        }
    }

    #[test]
    fn custom_thresholds_change_setups() {
        let base = SignalInputs {
            funding_8h_pct: Some(0.08),
            oi_change_1h_pct: Some(3.0),
            retail_long_pct: Some(63.0),
            retail_short_pct: Some(37.0),
            ..NONE
        };
        assert!(!fired(&base).contains(&SetupClassicTop));
        let touchy = Thresholds {
            funding_extreme_long_pct: 0.07,
            retail_extreme_long_pct: 62.0,
            ..Thresholds::default()
        };
        assert!(ids(&base, &touchy, evaluate_into).contains(&SetupClassicTop));
        let wide_flow = Thresholds {
            flow_oi_deadband_pct: 5.0,
            ..Thresholds::default()
        };
        let flow_in = SignalInputs {
            price_change_1h_pct: Some(1.0),
            ..base
        };
        assert!(fired(&flow_in).contains(&FlowNewLongs));
        assert!(!ids(&flow_in, &wide_flow, evaluate_into).contains(&FlowNewLongs));
    }

    #[test]
    fn setup_messages_quote_inputs_and_thresholds() {
        let mut out = Vec::new();
        let i = SignalInputs {
            funding_8h_pct: Some(0.14),
            oi_change_1h_pct: Some(6.4),
            retail_long_pct: Some(69.0),
            retail_short_pct: Some(31.0),
            ..NONE
        };
        evaluate_into(&i, &Thresholds::default(), &mut out);
        let top = out
            .iter()
            .find(|s| s.id == SetupClassicTop)
            .map(|s| s.message.as_str());
        assert_eq!(
            top,
            Some(
                "Funding +0.1400% per 8h (> +0.10%), open interest +6.40% in 1h (> +2.5%), \
                 retail 69.0% long (> 65%): crowded leveraged longs; avoid new longs."
            )
        );
    }

    #[test]
    fn fading_messages_say_top_traders_are_net_short_or_long() {
        let msg = |i: SignalInputs, id: SignalId| {
            let mut out = Vec::new();
            evaluate_into(&i, &Thresholds::default(), &mut out);
            out.into_iter().find(|s| s.id == id).map(|s| s.message)
        };
        let dist = SignalInputs {
            oi_change_1h_pct: Some(0.8),
            retail_long_pct: Some(66.0),
            retail_short_pct: Some(34.0),
            top_long_pct: Some(48.0),
            top_short_pct: Some(52.0),
            ..NONE
        };
        assert_eq!(
            msg(dist, SetupDistribution).as_deref(),
            Some(
                "Top traders are 52.0% short (net short) vs retail 34.0% (18.0 points, threshold \
                 10) while retail is 66.0% long (> 60%) and open interest is flat (+0.80% in 1h, \
                 within ±2.5%): large accounts are fading retail."
            )
        );
        let acc = SignalInputs {
            oi_change_1h_pct: Some(-1.0),
            retail_long_pct: Some(42.0),
            retail_short_pct: Some(58.0),
            top_long_pct: Some(56.0),
            top_short_pct: Some(44.0),
            ..NONE
        };
        assert!(msg(acc, SetupAccumulation).is_some_and(
            |m| m.starts_with("Top traders are 56.0% long (net long) vs retail 42.0%")
        ));
    }
}
