use super::*;
use crate::model::{LongShort, TakerFlow};
use crate::source::exchanges::venue::{
    not_offered, FundingQuote, OiReading, PriceReading, OI_LAGS_MIN,
};
use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
}

/// A venue that answered everything: `rate` % per `hours`, `oi` USD (10 % lower at every lag).
fn answered(rate: f64, hours: f64, oi: f64, price: f64) -> CoinReading {
    CoinReading {
        funding: Ok(FundingQuote {
            rate_pct: rate,
            interval_hours: Some(hours),
            next_funding_time: Some(now() + chrono::Duration::hours(1)),
        }),
        open_interest: Ok(OiReading {
            usd: oi,
            past_usd: [Some(oi / 1.1); 6],
        }),
        price: Ok(PriceReading {
            price,
            change_1h_pct: Some(0.5),
            change_24h_pct: Some(-2.0),
        }),
        retail: Ok(LongShort {
            long_pct: Some(60.0),
            short_pct: Some(40.0),
            bar_time: now(),
            source: "Binance BTCUSDT 5m".into(),
        }),
        top: Ok(LongShort {
            long_pct: Some(55.0),
            short_pct: Some(45.0),
            bar_time: now(),
            source: "Binance BTCUSDT 5m".into(),
        }),
        taker: Ok(TakerFlow {
            buy_pct: Some(52.0),
            buy_usd: Some(52.0),
            sell_usd: Some(48.0),
        }),
    }
}

fn failed(text: &str) -> CoinReading {
    CoinReading::absent(GapReason::FetchFailed(text.into()))
}

fn reading(r: CoinReading) -> Listed {
    Listed::Reading(Box::new(r))
}

fn no_liq() -> Reading<Liquidations> {
    Err(GapReason::Pending)
}

#[test]
fn funding_of_1h_and_4h_venues_is_normalised_to_8h_and_oi_weighted() {
    let readings = [
        (Venue::Binance, reading(answered(0.01, 8.0, 300.0, 1.0))),
        (Venue::Bybit, reading(answered(0.0125, 1.0, 100.0, 1.0))),
        (Venue::Okx, reading(answered(0.02, 4.0, 100.0, 1.0))),
    ];
    let s = snapshot("BTC", now(), &readings, Venue::Binance, no_liq());
    let f = s.funding.get().expect("funding");
    assert!(s.funding.gap.is_none());
    // (venue, rate as quoted, interval, rate per 8 h, OI weight)
    type Row<'a> = (&'a str, f64, Option<f64>, f64, Option<f64>);
    let rows: Vec<Row> = f
        .by_exchange
        .iter()
        .map(|r| {
            (
                r.exchange.as_str(),
                r.rate_pct,
                r.interval_hours,
                r.rate_8h_pct,
                r.oi_usd,
            )
        })
        .collect();
    // Largest OI first; Bybit and OKX tie and keep the venue order.
    assert_eq!(
        rows,
        vec![
            ("Binance", 0.01, Some(8.0), 0.01, Some(300.0)),
            ("Bybit", 0.0125, Some(1.0), 0.1, Some(100.0)),
            ("OKX", 0.02, Some(4.0), 0.04, Some(100.0)),
        ]
    );
    assert!(f.by_exchange.iter().all(|r| r.margin == Margin::Stablecoin));
    assert_eq!(
        f.by_exchange[0].next_funding_time,
        Some(now() + chrono::Duration::hours(1))
    );
    let weighted = (0.01 * 300.0 + 0.1 * 100.0 + 0.04 * 100.0) / 500.0;
    assert!((f.rate_8h_pct.unwrap() - weighted).abs() < 1e-12, "{f:?}");
}

#[test]
fn open_interest_is_summed_and_each_change_uses_the_venues_that_know_that_lag() {
    let mut bybit = answered(0.01, 8.0, 400.0, 1.0);
    if let Ok(oi) = &mut bybit.open_interest {
        // Bybit knows the short lags only.
        oi.past_usd = [
            Some(400.0),
            Some(400.0),
            Some(400.0),
            Some(400.0),
            None,
            None,
        ];
    }
    let mut binance = answered(0.01, 8.0, 600.0, 1.0);
    if let Ok(oi) = &mut binance.open_interest {
        oi.past_usd = [Some(500.0); 6];
    }
    let okx_down = failed("OKX unreachable: connection failed");
    let readings = [
        (Venue::Binance, reading(binance)),
        (Venue::Bybit, reading(bybit)),
        (Venue::Okx, reading(okx_down)),
    ];
    let s = snapshot("BTC", now(), &readings, Venue::Binance, no_liq());
    let oi = s.open_interest.get().expect("oi");
    assert_eq!(oi.oi_usd, Some(1000.0));
    let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);
    // 5m…1h: (600 + 400) / (500 + 400) − 1.
    let short = (1000.0 / 900.0 - 1.0) * 100.0;
    for change in [
        oi.change_5m_pct,
        oi.change_15m_pct,
        oi.change_30m_pct,
        oi.change_1h_pct,
    ] {
        assert!(close(change, short), "{oi:?}");
    }
    // 4h and 24h: Binance alone, 600 / 500 − 1.
    assert!(close(oi.change_4h_pct, 20.0), "{oi:?}");
    assert!(close(oi.change_24h_pct, 20.0), "{oi:?}");
    assert_eq!(OI_LAGS_MIN[4], 240);
}

#[test]
fn a_lag_no_venue_knows_is_absent_not_zero() {
    let mut r = answered(0.01, 8.0, 100.0, 1.0);
    if let Ok(oi) = &mut r.open_interest {
        oi.past_usd = [None, Some(0.0), None, None, None, None];
    }
    let s = snapshot(
        "BTC",
        now(),
        &[(Venue::Binance, reading(r))],
        Venue::Binance,
        no_liq(),
    );
    let oi = s.open_interest.get().unwrap();
    assert_eq!(oi.change_5m_pct, None);
    assert_eq!(oi.change_15m_pct, None);
    assert_eq!(oi.oi_usd, Some(100.0));
}

#[test]
fn a_venue_down_leaves_its_rows_out_and_the_others_carry_the_aggregates() {
    let readings = [
        (Venue::Binance, reading(answered(0.01, 8.0, 300.0, 100.0))),
        (
            Venue::Bybit,
            reading(failed("Bybit unreachable: connection failed")),
        ),
        (Venue::Okx, reading(answered(0.03, 8.0, 100.0, 101.0))),
    ];
    let s = snapshot("BTC", now(), &readings, Venue::Binance, no_liq());
    let f = s.funding.get().unwrap();
    let venues: Vec<&str> = f.by_exchange.iter().map(|r| r.exchange.as_str()).collect();
    assert_eq!(venues, ["Binance", "OKX"]);
    assert!((f.rate_8h_pct.unwrap() - 0.015).abs() < 1e-12);
    assert_eq!(s.open_interest.get().unwrap().oi_usd, Some(400.0));
    // The OI sum lacks Bybit's share: shown, and marked with which venue is missing and why.
    assert_eq!(
        s.open_interest.gap,
        Some(GapReason::Partial(
            "Bybit unreachable: connection failed".into()
        ))
    );
    assert!(
        s.funding.gap.is_none(),
        "a mean over the venues that quoted"
    );
    assert_eq!(s.price.get().unwrap().price, Some(100.0));
    assert_eq!(s.retail.get().unwrap().long_pct, Some(60.0));
}

#[test]
fn a_coin_listed_on_one_venue_only_comes_from_that_venue() {
    let mut bybit = answered(0.02, 4.0, 50.0, 0.00001);
    bybit.retail = Err(GapReason::Pending); // not the reference: not asked
    bybit.top = Err(GapReason::Pending);
    bybit.taker = Err(GapReason::Pending);
    if let Ok(p) = &mut bybit.price {
        p.change_1h_pct = None;
    }
    let readings = [
        (Venue::Binance, Listed::No),
        (Venue::Bybit, reading(bybit)),
        (Venue::Okx, Listed::No),
    ];
    let s = snapshot("PEPE", now(), &readings, Venue::Binance, no_liq());
    let f = s.funding.get().unwrap();
    assert_eq!(f.by_exchange.len(), 1);
    assert_eq!(f.by_exchange[0].exchange, "Bybit");
    assert_eq!(f.rate_8h_pct, Some(0.04));
    assert_eq!(s.open_interest.get().unwrap().oi_usd, Some(50.0));
    let p = s.price.get().unwrap();
    assert_eq!((p.price, p.change_1h_pct), (Some(0.00001), None));
    let why = GapReason::Unavailable("PEPE not listed on Binance (reference_exchange)".into());
    for gap in [&s.retail.gap, &s.top.gap, &s.taker.gap] {
        assert_eq!(gap.as_ref(), Some(&why));
    }
    assert!(s.retail.get().is_none());
}

#[test]
fn price_comes_from_the_reference_venue_first() {
    let readings = [
        (Venue::Binance, reading(answered(0.01, 8.0, 1.0, 100.0))),
        (Venue::Okx, reading(answered(0.01, 8.0, 1.0, 99.0))),
    ];
    let s = snapshot("BTC", now(), &readings, Venue::Okx, no_liq());
    assert_eq!(s.price.get().unwrap().price, Some(99.0));
    // Without a reference price, the first venue in order that has one.
    let mut okx = answered(0.01, 8.0, 1.0, 99.0);
    okx.price = Err(GapReason::RateLimited);
    let readings = [
        (Venue::Binance, reading(answered(0.01, 8.0, 1.0, 100.0))),
        (Venue::Okx, reading(okx)),
    ];
    let s = snapshot("BTC", now(), &readings, Venue::Okx, no_liq());
    assert_eq!(s.price.get().unwrap().price, Some(100.0));
}

#[test]
fn reference_metrics_pass_through_including_not_offered() {
    let mut bybit = answered(0.01, 8.0, 1.0, 1.0);
    bybit.top = Err(not_offered(Venue::Bybit));
    bybit.taker = Err(not_offered(Venue::Bybit));
    let readings = [
        (Venue::Binance, reading(answered(0.01, 8.0, 1.0, 1.0))),
        (Venue::Bybit, reading(bybit)),
    ];
    let s = snapshot("BTC", now(), &readings, Venue::Bybit, no_liq());
    assert_eq!(s.top.gap, Some(not_offered(Venue::Bybit)));
    assert_eq!(s.taker.gap, Some(not_offered(Venue::Bybit)));
    assert_eq!(s.retail.get().unwrap().long_pct, Some(60.0));
    // A reference venue that is not configured at all.
    let s = snapshot("BTC", now(), &readings[..1], Venue::Okx, no_liq());
    assert_eq!(
        s.retail.gap.unwrap().to_string(),
        "OKX (reference_exchange) is not among the venues read"
    );
}

#[test]
fn a_metric_no_venue_gave_is_absent_with_every_failure_named() {
    let mut binance = answered(0.01, 8.0, 1.0, 1.0);
    binance.funding = Err(GapReason::NotReported);
    let readings = [
        (Venue::Binance, reading(binance)),
        (
            Venue::Bybit,
            reading(failed("Bybit unreachable: connection failed")),
        ),
        (
            Venue::Okx,
            reading(CoinReading::absent(GapReason::RateLimited)),
        ),
    ];
    let s = snapshot("BTC", now(), &readings, Venue::Binance, no_liq());
    assert!(s.funding.get().is_none());
    assert_eq!(
        s.funding.gap,
        Some(GapReason::FetchFailed(
            "Bybit unreachable: connection failed; OKX rate limited".into()
        ))
    );
    assert_eq!(s.inputs().funding_8h_pct, None);
}

#[test]
fn the_most_telling_reason_ranks_failures_over_blocks_over_not_reported() {
    use GapReason::*;
    assert_eq!(
        most_telling(vec![
            (Venue::Binance, NotReported),
            (Venue::Okx, RateLimited)
        ]),
        RateLimited
    );
    assert_eq!(
        most_telling(vec![
            (
                Venue::Binance,
                Unavailable("Binance is not available in this region (HTTP 451)".into())
            ),
            (Venue::Okx, NotReported),
        ]),
        Unavailable("Binance is not available in this region (HTTP 451)".into())
    );
    // A failure text that does not name its venue gets the name.
    assert_eq!(
        most_telling(vec![(Venue::Okx, FetchFailed("timed out".into()))]),
        FetchFailed("OKX: timed out".into())
    );
    assert_eq!(most_telling(vec![(Venue::Okx, NotReported)]), NotReported);
    assert_eq!(most_telling(vec![]), Pending);
}

#[test]
fn liquidations_are_fresh_from_the_streams_or_absent_with_their_reason() {
    let readings = [(Venue::Binance, reading(answered(0.01, 8.0, 1.0, 1.0)))];
    let totals = Liquidations {
        long_1h_usd: Some(1000.0),
        short_1h_usd: Some(0.0),
        lower_bound: true,
        uncovered_s: Some(3590),
    };
    let s = snapshot("BTC", now(), &readings, Venue::Binance, Ok(totals));
    assert_eq!(s.liquidations.get(), Some(&totals));
    assert_eq!(s.liquidations.observed_at, Some(now()));
    let why = GapReason::FetchFailed("liquidation stream down: Binance (connection reset)".into());
    let s = snapshot("BTC", now(), &readings, Venue::Binance, Err(why.clone()));
    assert_eq!(s.liquidations.gap, Some(why));
    assert!(s.liquidations.get().is_none());
    assert_eq!(s.source, SourceKind::Exchanges);
    assert_eq!(s.symbol, "BTC");
}

#[test]
fn a_coin_no_venue_lists_says_so_on_every_metric() {
    let readings = [(Venue::Binance, Listed::No), (Venue::Okx, Listed::No)];
    let s = snapshot("XYZ", now(), &readings, Venue::Binance, no_liq());
    let why = GapReason::Unavailable("XYZ not listed on Binance, OKX".into());
    assert_eq!(s.funding.gap, Some(why.clone()));
    assert_eq!(s.open_interest.gap, Some(why.clone()));
    assert_eq!(s.liquidations.gap, Some(why));
    assert!(s.gaps().iter().all(|g| g.age_s.is_none()));
}
