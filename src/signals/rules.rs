//! Single-metric rules (signals.md "Single-metric rules"). Each family reads one metric group; a
//! missing (or non-finite) input means the family stays silent.

use super::text::{push, Part::*};
use super::{known, SignalId, Thresholds, GE_EPS};
use crate::model::{Bias, Level, SignalInputs};
use crate::signals::Signal;

pub(super) fn evaluate_into(inputs: &SignalInputs, th: &Thresholds, out: &mut Vec<Signal>) {
    funding(known(inputs.funding_8h_pct), th, out);
    open_interest(known(inputs.oi_change_1h_pct), th, out);
    liquidations(
        known(inputs.liq_long_1h_usd),
        known(inputs.liq_short_1h_usd),
        th,
        out,
    );
    retail(
        known(inputs.retail_long_pct),
        known(inputs.retail_short_pct),
        th,
        out,
    );
    divergence(
        known(inputs.top_long_pct),
        known(inputs.retail_long_pct),
        th,
        out,
    );
    taker(known(inputs.taker_buy_pct), th, out);
}

fn funding(f: Option<f64>, th: &Thresholds, out: &mut Vec<Signal>) {
    let Some(f) = f else { return };
    if f > th.funding_extreme_long_pct {
        push(
            out,
            SignalId::FundingExtremeLong,
            Level::High,
            Bias::Bearish,
            "Extreme positive funding",
            &[
                T("Funding is "),
                Sgn(f, 4),
                T("% per 8h (OI-weighted), above the "),
                SThr(th.funding_extreme_long_pct, 2),
                T("% extreme: longs are overpaying to stay in; crowded longs unwind fast."),
            ],
        );
    } else if f < th.funding_extreme_short_pct {
        push(
            out,
            SignalId::FundingExtremeShort,
            Level::High,
            Bias::Bullish,
            "Extreme negative funding",
            &[
                T("Funding is "),
                Sgn(f, 4),
                T("% per 8h (OI-weighted), below the "),
                SThr(th.funding_extreme_short_pct, 2),
                T("% extreme: shorts are paying to stay in; that is fuel for a squeeze."),
            ],
        );
    } else if f.abs() > th.funding_elevated_pct {
        // Contrarian, like the extremes it grades into: longs paying (positive funding) is a
        // bearish warning, shorts paying a bullish one, so a rate never flips bias when it
        // crosses from elevated to extreme.
        let (bias, title, tail) = if f > 0.0 {
            (
                Bias::Bearish,
                "Elevated positive funding",
                "% band: longs are crowded and paying a premium; leverage is building on the long \
                 side (contrarian bearish).",
            )
        } else {
            (
                Bias::Bullish,
                "Elevated negative funding",
                "% band: shorts are crowded and paying a premium; leverage is building on the \
                 short side (contrarian bullish).",
            )
        };
        push(
            out,
            SignalId::FundingElevated,
            Level::Medium,
            bias,
            title,
            &[
                T("Funding is "),
                Sgn(f, 4),
                T("% per 8h (OI-weighted), beyond the ±"),
                Thr(th.funding_elevated_pct, 2),
                T(tail),
            ],
        );
    }
}

fn open_interest(c: Option<f64>, th: &Thresholds, out: &mut Vec<Signal>) {
    let Some(c) = c else { return };
    if c > th.oi_surge_pct {
        push(
            out,
            SignalId::OiSurge,
            Level::High,
            Bias::Neutral,
            "Open interest surge",
            &[
                T("Open interest rose "),
                Sgn(c, 2),
                T("% in 1h, above the "),
                SThr(th.oi_surge_pct, 0),
                T("% surge threshold: new leverage is piling in; moves from here get amplified."),
            ],
        );
    } else if c < -th.oi_surge_pct {
        push(
            out,
            SignalId::OiFlush,
            Level::High,
            Bias::Neutral,
            "Open interest flush",
            &[
                T("Open interest fell "),
                Sgn(c, 2),
                T("% in 1h, beyond the "),
                SThr(-th.oi_surge_pct, 0),
                T("% flush threshold: positions are being closed or liquidated; leverage is leaving."),
            ],
        );
    } else if c.abs() > th.oi_moving_pct {
        push(
            out,
            SignalId::OiMoving,
            Level::Medium,
            Bias::Neutral,
            "Open interest moving",
            &[
                T("Open interest changed "),
                Sgn(c, 2),
                T("% in 1h, beyond ±"),
                Thr(th.oi_moving_pct, 0),
                T("% (a surge or flush is beyond ±"),
                Thr(th.oi_surge_pct, 0),
                T("%): positioning is shifting."),
            ],
        );
    }
}

fn liquidations(long: Option<f64>, short: Option<f64>, th: &Thresholds, out: &mut Vec<Signal>) {
    let long_cascade = long.is_some_and(|l| l > th.liq_cascade_usd);
    // The short cascade needs only its own side: a known $60M short wipe-out is worth saying even
    // when the long side was not reported. It yields to a long cascade (signals.md).
    let short_cascade = !long_cascade && short.is_some_and(|s| s > th.liq_cascade_usd);
    if let (true, Some(l)) = (long_cascade, long) {
        push(
            out,
            SignalId::LongLiquidationCascade,
            Level::High,
            Bias::Bearish,
            "Long liquidation cascade",
            &[
                Usd(l),
                T(" of longs liquidated in the last hour (shorts: "),
                OptUsd(short),
                T("), above the "),
                Usd(th.liq_cascade_usd),
                T(" cascade threshold: forced selling feeds on itself until leverage is flushed."),
            ],
        );
    } else if let (true, Some(s)) = (short_cascade, short) {
        push(
            out,
            SignalId::ShortLiquidationCascade,
            Level::High,
            Bias::Bullish,
            "Short liquidation cascade",
            &[
                Usd(s),
                T(" of shorts liquidated in the last hour (longs: "),
                OptUsd(long),
                T("), above the "),
                Usd(th.liq_cascade_usd),
                T(" cascade threshold: forced buying is squeezing price up."),
            ],
        );
    } else if let (Some(l), Some(s)) = (long, short) {
        let total = l + s;
        if total > th.liq_elevated_usd {
            push(
                out,
                SignalId::LiquidationsElevated,
                Level::Medium,
                Bias::Neutral,
                "Elevated liquidations",
                &[
                    Usd(total),
                    T(" liquidated in the last hour (longs "),
                    Usd(l),
                    T(", shorts "),
                    Usd(s),
                    T("), above the "),
                    Usd(th.liq_elevated_usd),
                    T(" elevated level: forced orders are moving price."),
                ],
            );
        }
    }
}

fn retail(long: Option<f64>, short: Option<f64>, th: &Thresholds, out: &mut Vec<Signal>) {
    if let Some(l) = long.filter(|l| *l > th.retail_extreme_long_pct) {
        push(
            out,
            SignalId::RetailExtremeLong,
            Level::High,
            Bias::Bearish,
            "Retail extremely long",
            &[
                Num(l, 1),
                T("% of retail accounts are long, above the "),
                Thr(th.retail_extreme_long_pct, 0),
                T("% extreme: the crowd is one-sided (contrarian bearish)."),
            ],
        );
    }
    if let Some(s) = short.filter(|s| *s > th.retail_heavy_short_pct) {
        push(
            out,
            SignalId::RetailHeavyShort,
            Level::Medium,
            Bias::Bullish,
            "Retail heavily short",
            &[
                Num(s, 1),
                T("% of retail accounts are short, above "),
                Thr(th.retail_heavy_short_pct, 0),
                T("%: crowded shorts are squeeze fuel (contrarian bullish)."),
            ],
        );
    }
}

fn divergence(
    top_long: Option<f64>,
    retail_long: Option<f64>,
    th: &Thresholds,
    out: &mut Vec<Signal>,
) {
    let (Some(top), Some(retail)) = (top_long, retail_long) else {
        return;
    };
    let gap = top - retail;
    if gap.abs() < th.divergence_pts - GE_EPS {
        return;
    }
    let (bias, tail) = if gap > 0.0 {
        (
            Bias::Bullish,
            " points): large accounts lean long against the crowd.",
        )
    } else if gap < 0.0 {
        (
            Bias::Bearish,
            " points): large accounts lean short against the crowd.",
        )
    } else {
        // Only reachable with a divergence threshold of 0.
        (Bias::Neutral, " points): top traders and retail agree.")
    };
    push(
        out,
        SignalId::SmartMoneyDivergence,
        Level::High,
        bias,
        "Top traders vs retail",
        &[
            T("Top traders are "),
            Num(top, 1),
            T("% long vs retail "),
            Num(retail, 1),
            T("%: a "),
            Num(gap.abs(), 1),
            T("-point gap (threshold "),
            Thr(th.divergence_pts, 0),
            T(tail),
        ],
    );
}

fn taker(buy: Option<f64>, th: &Thresholds, out: &mut Vec<Signal>) {
    let Some(b) = buy else { return };
    if b > th.taker_buy_pressure_pct {
        push(
            out,
            SignalId::TakerBuyPressure,
            Level::Medium,
            Bias::Bullish,
            "Taker buy pressure",
            &[
                T("Takers bought "),
                Num(b, 1),
                T("% of volume in the last hour, above "),
                Thr(th.taker_buy_pressure_pct, 0),
                T("%: aggressive buyers are lifting offers."),
            ],
        );
    } else if b < th.taker_sell_pressure_pct {
        push(
            out,
            SignalId::TakerSellPressure,
            Level::Medium,
            Bias::Bearish,
            "Taker sell pressure",
            &[
                T("Takers bought only "),
                Num(b, 1),
                T("% of volume in the last hour, below "),
                Thr(th.taker_sell_pressure_pct, 0),
                T("%: aggressive sellers are hitting bids."),
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::test_support::{ids, NONE};
    use SignalId::*;

    fn fired(i: SignalInputs) -> Vec<SignalId> {
        ids(&i, &Thresholds::default(), evaluate_into)
    }

    /// Every rule just below, at, and just above its threshold (defaults), plus precedence.
    #[test]
    fn thresholds_and_precedence_follow_signals_md() {
        let cases: &[(&str, SignalInputs, &[SignalId])] = &[
            // funding: > 0.10 extreme, > 0.05 elevated (strict), < -0.05 extreme short
            (
                "funding 0.0999",
                SignalInputs {
                    funding_8h_pct: Some(0.0999),
                    ..NONE
                },
                &[FundingElevated],
            ),
            (
                "funding at +0.10",
                SignalInputs {
                    funding_8h_pct: Some(0.10),
                    ..NONE
                },
                &[FundingElevated],
            ),
            (
                "funding 0.1001",
                SignalInputs {
                    funding_8h_pct: Some(0.1001),
                    ..NONE
                },
                &[FundingExtremeLong],
            ),
            (
                "funding 0.0499",
                SignalInputs {
                    funding_8h_pct: Some(0.0499),
                    ..NONE
                },
                &[],
            ),
            (
                "funding at +0.05",
                SignalInputs {
                    funding_8h_pct: Some(0.05),
                    ..NONE
                },
                &[],
            ),
            (
                "funding 0.0501",
                SignalInputs {
                    funding_8h_pct: Some(0.0501),
                    ..NONE
                },
                &[FundingElevated],
            ),
            (
                "funding -0.0499",
                SignalInputs {
                    funding_8h_pct: Some(-0.0499),
                    ..NONE
                },
                &[],
            ),
            (
                "funding at -0.05",
                SignalInputs {
                    funding_8h_pct: Some(-0.05),
                    ..NONE
                },
                &[],
            ),
            (
                "funding -0.0501",
                SignalInputs {
                    funding_8h_pct: Some(-0.0501),
                    ..NONE
                },
                &[FundingExtremeShort],
            ),
            (
                "funding 0",
                SignalInputs {
                    funding_8h_pct: Some(0.0),
                    ..NONE
                },
                &[],
            ),
            // OI: > 5 surge, < -5 flush, |x| > 2.5 moving
            (
                "oi +2.49",
                SignalInputs {
                    oi_change_1h_pct: Some(2.49),
                    ..NONE
                },
                &[],
            ),
            (
                "oi at +2.5",
                SignalInputs {
                    oi_change_1h_pct: Some(2.5),
                    ..NONE
                },
                &[],
            ),
            (
                "oi +2.51",
                SignalInputs {
                    oi_change_1h_pct: Some(2.51),
                    ..NONE
                },
                &[OiMoving],
            ),
            (
                "oi at +5",
                SignalInputs {
                    oi_change_1h_pct: Some(5.0),
                    ..NONE
                },
                &[OiMoving],
            ),
            (
                "oi +5.01",
                SignalInputs {
                    oi_change_1h_pct: Some(5.01),
                    ..NONE
                },
                &[OiSurge],
            ),
            (
                "oi at -2.5",
                SignalInputs {
                    oi_change_1h_pct: Some(-2.5),
                    ..NONE
                },
                &[],
            ),
            (
                "oi -2.51",
                SignalInputs {
                    oi_change_1h_pct: Some(-2.51),
                    ..NONE
                },
                &[OiMoving],
            ),
            (
                "oi at -5",
                SignalInputs {
                    oi_change_1h_pct: Some(-5.0),
                    ..NONE
                },
                &[OiMoving],
            ),
            (
                "oi -5.01",
                SignalInputs {
                    oi_change_1h_pct: Some(-5.01),
                    ..NONE
                },
                &[OiFlush],
            ),
            // liquidations: side > $50M cascade, total > $25M elevated when no cascade
            ("liq long at 50M", liq(50e6, 0.0), &[LiquidationsElevated]),
            (
                "liq long 50.01M",
                liq(50.01e6, 0.0),
                &[LongLiquidationCascade],
            ),
            ("liq short at 50M", liq(0.0, 50e6), &[LiquidationsElevated]),
            (
                "liq short 50.01M",
                liq(0.0, 50.01e6),
                &[ShortLiquidationCascade],
            ),
            (
                "both cascade: long wins",
                liq(60e6, 70e6),
                &[LongLiquidationCascade],
            ),
            ("total at 25M", liq(20e6, 5e6), &[]),
            ("total 25.01M", liq(20e6, 5.01e6), &[LiquidationsElevated]),
            ("total 24.99M", liq(20e6, 4.99e6), &[]),
            (
                "short cascade without long side",
                SignalInputs {
                    liq_short_1h_usd: Some(60e6),
                    ..NONE
                },
                &[ShortLiquidationCascade],
            ),
            (
                "long side alone: no total, no elevated",
                SignalInputs {
                    liq_long_1h_usd: Some(40e6),
                    ..NONE
                },
                &[],
            ),
            // retail: long > 65 (HIGH), short > 60 (MEDIUM)
            ("retail long at 65", retail(65.0, 35.0), &[]),
            (
                "retail long 65.01",
                retail(65.01, 34.99),
                &[RetailExtremeLong],
            ),
            ("retail short at 60", retail(40.0, 60.0), &[]),
            (
                "retail short 60.01",
                retail(39.99, 60.01),
                &[RetailHeavyShort],
            ),
            // divergence: |top_long - retail_long| >= 10 (inclusive)
            ("gap 9.99", tops(59.99, 50.0), &[]),
            (
                "gap at 10 (top longer)",
                tops(60.0, 50.0),
                &[SmartMoneyDivergence],
            ),
            (
                "gap at 10 (retail longer)",
                tops(40.0, 50.0),
                &[SmartMoneyDivergence],
            ),
            (
                "gap 10 from rounded data",
                tops(62.35, 52.35),
                &[SmartMoneyDivergence],
            ),
            // taker: > 65 buy, < 35 sell
            ("taker at 65", taker(65.0), &[]),
            ("taker 65.01", taker(65.01), &[TakerBuyPressure]),
            ("taker at 35", taker(35.0), &[]),
            ("taker 34.99", taker(34.99), &[TakerSellPressure]),
        ];
        for (name, inputs, want) in cases {
            assert_eq!(fired(*inputs), *want, "{name}");
        }
    }

    fn liq(long: f64, short: f64) -> SignalInputs {
        SignalInputs {
            liq_long_1h_usd: Some(long),
            liq_short_1h_usd: Some(short),
            ..NONE
        }
    }
    fn retail(long: f64, short: f64) -> SignalInputs {
        SignalInputs {
            retail_long_pct: Some(long),
            retail_short_pct: Some(short),
            ..NONE
        }
    }
    fn tops(top_long: f64, retail_long: f64) -> SignalInputs {
        SignalInputs {
            top_long_pct: Some(top_long),
            retail_long_pct: Some(retail_long),
            ..NONE
        }
    }
    fn taker(buy: f64) -> SignalInputs {
        SignalInputs {
            taker_buy_pct: Some(buy),
            ..NONE
        }
    }

    #[test]
    fn missing_or_non_finite_inputs_never_fire() {
        assert!(fired(NONE).is_empty());
        // Divergence needs both sides; a lone extreme top-trader reading says nothing.
        let lone_top = SignalInputs {
            top_long_pct: Some(90.0),
            ..NONE
        };
        assert!(fired(lone_top).is_empty());
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let i = SignalInputs {
                funding_8h_pct: Some(bad),
                oi_change_1h_pct: Some(bad),
                liq_long_1h_usd: Some(bad),
                liq_short_1h_usd: Some(bad),
                retail_long_pct: Some(bad),
                retail_short_pct: Some(bad),
                top_long_pct: Some(bad),
                top_short_pct: Some(bad),
                taker_buy_pct: Some(bad),
                price_change_1h_pct: Some(bad),
            };
            assert!(fired(i).is_empty(), "{bad}");
        }
    }

    #[test]
    fn biases_follow_the_side_that_is_crowded() {
        let bias = |i: SignalInputs, id: SignalId| {
            let mut out = Vec::new();
            evaluate_into(&i, &Thresholds::default(), &mut out);
            out.into_iter().find(|s| s.id == id).map(|s| s.bias)
        };
        let cases: &[(SignalInputs, SignalId, Bias)] = &[
            (tops(62.0, 48.0), SmartMoneyDivergence, Bias::Bullish),
            (tops(38.0, 66.0), SmartMoneyDivergence, Bias::Bearish),
            (
                SignalInputs {
                    funding_8h_pct: Some(0.07),
                    ..NONE
                },
                FundingElevated,
                Bias::Bearish,
            ),
            (
                SignalInputs {
                    funding_8h_pct: Some(0.2),
                    ..NONE
                },
                FundingExtremeLong,
                Bias::Bearish,
            ),
            (
                SignalInputs {
                    funding_8h_pct: Some(-0.2),
                    ..NONE
                },
                FundingExtremeShort,
                Bias::Bullish,
            ),
            (liq(60e6, 1e6), LongLiquidationCascade, Bias::Bearish),
            (liq(1e6, 60e6), ShortLiquidationCascade, Bias::Bullish),
            (retail(70.0, 30.0), RetailExtremeLong, Bias::Bearish),
            (retail(30.0, 70.0), RetailHeavyShort, Bias::Bullish),
            (taker(70.0), TakerBuyPressure, Bias::Bullish),
            (taker(30.0), TakerSellPressure, Bias::Bearish),
        ];
        for (i, id, want) in cases {
            assert_eq!(bias(*i, *id), Some(*want), "{id}");
        }
    }

    #[test]
    fn negative_elevated_funding_is_bullish_when_thresholds_allow_it() {
        // With the defaults the negative extreme (-0.05) shadows negative "elevated"; a user who
        // widens the extreme sees the elevated read with the bullish lean.
        let th = Thresholds {
            funding_extreme_short_pct: -0.10,
            ..Thresholds::default()
        };
        let mut out = Vec::new();
        let i = SignalInputs {
            funding_8h_pct: Some(-0.07),
            ..NONE
        };
        evaluate_into(&i, &th, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].id, FundingElevated);
        assert_eq!(out[0].bias, Bias::Bullish);
        assert_eq!(out[0].title, "Elevated negative funding");
    }

    #[test]
    fn per_symbol_thresholds_change_the_outcome() {
        // A small coin: $6M of longs is a cascade for it, nothing at BTC-sized defaults.
        let small = Thresholds {
            liq_cascade_usd: 5e6,
            liq_elevated_usd: 2e6,
            ..Thresholds::default()
        };
        let i = liq(6e6, 0.5e6);
        assert_eq!(fired(i), &[] as &[SignalId]);
        assert_eq!(ids(&i, &small, evaluate_into), &[LongLiquidationCascade]);
        let calm_funding = Thresholds {
            funding_extreme_long_pct: 0.03,
            ..Thresholds::default()
        };
        let f = SignalInputs {
            funding_8h_pct: Some(0.04),
            ..NONE
        };
        assert_eq!(fired(f), &[] as &[SignalId]);
        assert_eq!(ids(&f, &calm_funding, evaluate_into), &[FundingExtremeLong]);
    }

    #[test]
    fn messages_quote_the_numbers_and_the_threshold() {
        let mut out = Vec::new();
        let i = SignalInputs {
            funding_8h_pct: Some(0.1375),
            oi_change_1h_pct: Some(-7.1),
            liq_long_1h_usd: Some(85.2e6),
            liq_short_1h_usd: Some(6.1e6),
            top_long_pct: Some(48.0),
            retail_long_pct: Some(66.0),
            ..NONE
        };
        evaluate_into(&i, &Thresholds::default(), &mut out);
        let msg = |id: SignalId| {
            out.iter()
                .find(|s| s.id == id)
                .map(|s| s.message.as_str())
                .unwrap_or_default()
        };
        assert_eq!(
            msg(FundingExtremeLong),
            "Funding is +0.1375% per 8h (OI-weighted), above the +0.10% extreme: longs are \
             overpaying to stay in; crowded longs unwind fast."
        );
        assert!(msg(OiFlush).starts_with("Open interest fell -7.10% in 1h, beyond the -5% flush"));
        let mut elevated = Vec::new();
        let relative = Thresholds {
            funding_extreme_long_pct: 0.0213,
            funding_elevated_pct: 0.0137,
            ..Thresholds::default()
        };
        let f = SignalInputs {
            funding_8h_pct: Some(0.0150),
            ..NONE
        };
        evaluate_into(&f, &relative, &mut elevated);
        assert_eq!(
            elevated.first().map(|s| (s.bias, s.message.as_str())),
            Some((
                Bias::Bearish,
                "Funding is +0.0150% per 8h (OI-weighted), beyond the ±0.0137% band: longs are \
                 crowded and paying a premium; leverage is building on the long side (contrarian \
                 bearish)."
            ))
        );
        assert!(msg(LongLiquidationCascade).starts_with(
            "$85.2M of longs liquidated in the last hour (shorts: $6.1M), above the $50M"
        ));
        assert!(msg(SmartMoneyDivergence).starts_with(
            "Top traders are 48.0% long vs retail 66.0%: a 18.0-point gap (threshold 10"
        ));
        assert!(out.iter().all(|s| !s.title.is_empty()));
    }
}
