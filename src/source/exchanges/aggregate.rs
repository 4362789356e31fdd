//! One coin's snapshot from what every venue reported this cycle: funding per venue with the
//! OI-weighted 8 h aggregate, open interest summed in USD, price and the reference-venue metrics
//! (retail / top-trader long/short, taker flow), and the liquidation sums from the streams.
//!
//! A metric no venue could give is absent with the most telling reason (a failure before "not
//! reported"), never zero.

use super::venue::{CoinReading, Reading, Venue};
use crate::model::{
    funding_to_8h, oi_weighted_funding_8h, ExchangeFunding, Field, Funding, GapReason,
    Liquidations, Margin, OpenInterest, Price, Snapshot, SourceKind,
};
use chrono::{DateTime, Utc};

/// How one venue stands for one coin this cycle.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Listed {
    /// The venue's instrument list does not have the coin.
    No,
    /// What the venue reported (each metric a value or why not).
    Reading(Box<CoinReading>),
}

/// The snapshot of `coin` at `now` from `readings` (one per configured venue, in display
/// order); `reference` gives price first and the retail / top / taker metrics alone; `liq` is
/// the streams' rolling hour, or why there is none.
pub(crate) fn snapshot(
    coin: &str,
    now: DateTime<Utc>,
    readings: &[(Venue, Listed)],
    reference: Venue,
    liq: Reading<Liquidations>,
) -> Snapshot {
    let answered: Vec<(Venue, &CoinReading)> = readings
        .iter()
        .filter_map(|(v, l)| match l {
            Listed::Reading(r) => Some((*v, &**r)),
            Listed::No => None,
        })
        .collect();
    let mut snap = Snapshot::new(coin, SourceKind::Exchanges, now);
    snap.funding = settle(funding(&answered), now);
    let (oi, oi_missing) = open_interest(&answered);
    snap.open_interest = settle(oi, now);
    if snap.open_interest.value.is_some() && !oi_missing.is_empty() {
        // A sum without a venue that lists the coin is not the whole market's: it stays
        // shown, marked with which venue is missing and why (its changes are consistent: each
        // is taken over the venues that gave both figures).
        snap.open_interest.gap = Some(partial(most_telling(oi_missing)));
    }
    snap.price = settle(price(&answered, reference), now);
    let reference_reading = reference_reading(coin, readings, reference);
    snap.retail = settle(
        reference_reading.clone().and_then(|r| r.retail.clone()),
        now,
    );
    snap.top = settle(reference_reading.clone().and_then(|r| r.top.clone()), now);
    snap.taker = settle(reference_reading.and_then(|r| r.taker.clone()), now);
    snap.liquidations = settle(liq, now);
    if answered.is_empty() {
        // Only reachable if no configured venue lists the coin (start refuses such a coin
        // while any list was fetched): say that rather than "not fetched yet".
        let names: Vec<&str> = readings.iter().map(|(v, _)| v.name()).collect();
        let why = GapReason::Unavailable(format!("{coin} not listed on {}", names.join(", ")));
        snap.mark_all_failed(&why);
    }
    snap
}

fn settle<T>(reading: Reading<T>, now: DateTime<Utc>) -> Field<T> {
    match reading {
        Ok(v) => Field::fresh(v, now),
        Err(reason) => Field::absent(reason),
    }
}

/// The reference venue's reading, or why it has none for this coin.
fn reference_reading<'a>(
    coin: &str,
    readings: &'a [(Venue, Listed)],
    reference: Venue,
) -> Result<&'a CoinReading, GapReason> {
    match readings.iter().find(|(v, _)| *v == reference) {
        Some((_, Listed::Reading(r))) => Ok(r),
        Some((_, Listed::No)) => Err(GapReason::Unavailable(format!(
            "{coin} not listed on {} (reference_exchange)",
            reference.name()
        ))),
        None => Err(GapReason::Unavailable(format!(
            "{} (reference_exchange) is not among the venues read",
            reference.name()
        ))),
    }
}

/// One row per venue that quoted funding, its OI as the weight; sorted by OI, largest first
/// (the model's order; rows without OI last, in venue order).
fn funding(answered: &[(Venue, &CoinReading)]) -> Reading<Funding> {
    let mut rows: Vec<ExchangeFunding> = Vec::new();
    let mut why = Vec::new();
    for (venue, r) in answered {
        match &r.funding {
            Ok(q) => rows.push(ExchangeFunding {
                exchange: venue.name().to_string(),
                margin: Margin::Stablecoin,
                rate_pct: q.rate_pct,
                interval_hours: q.interval_hours,
                rate_8h_pct: funding_to_8h(q.rate_pct, q.interval_hours),
                next_funding_time: q.next_funding_time,
                oi_usd: r.open_interest.as_ref().ok().map(|oi| oi.usd),
            }),
            Err(reason) => why.push((*venue, reason.clone())),
        }
    }
    if rows.is_empty() {
        return Err(most_telling(why));
    }
    rows.sort_by(|a, b| {
        let oi = |r: &ExchangeFunding| r.oi_usd.unwrap_or(f64::NEG_INFINITY);
        oi(b).total_cmp(&oi(a))
    });
    Ok(Funding {
        rate_8h_pct: oi_weighted_funding_8h(&rows),
        by_exchange: rows,
    })
}

/// A partial sum's reason: "partial: Binance unreachable: …".
fn partial(missing: GapReason) -> GapReason {
    match missing {
        GapReason::FetchFailed(why) | GapReason::Unavailable(why) => GapReason::Partial(why),
        other => GapReason::Partial(format!("a venue's figure is missing ({other})")),
    }
}

/// USD summed over the venues that answered; each change (lags of
/// [`OI_LAGS_MIN`](super::venue::OI_LAGS_MIN)) over the venues that know both the current and
/// the past figure at that lag (a venue missing a lag would skew the ratio). Also the venues
/// whose figure is missing, with why.
fn open_interest(
    answered: &[(Venue, &CoinReading)],
) -> (Reading<OpenInterest>, Vec<(Venue, GapReason)>) {
    let mut ok = Vec::new();
    let mut why = Vec::new();
    for (venue, r) in answered {
        match &r.open_interest {
            Ok(oi) if oi.usd.is_finite() && oi.usd >= 0.0 => ok.push(*oi),
            Ok(oi) => why.push((
                *venue,
                GapReason::FetchFailed(format!("{venue} open interest is {}", oi.usd)),
            )),
            Err(reason) => why.push((*venue, reason.clone())),
        }
    }
    if ok.is_empty() {
        return (Err(most_telling(why)), Vec::new());
    }
    let change = |lag: usize| {
        let (now, past) = ok
            .iter()
            .filter_map(|oi| oi.past_usd[lag].map(|p| (oi.usd, p)))
            .filter(|(_, p)| p.is_finite())
            .fold((0.0, 0.0), |(n, p), (ni, pi)| (n + ni, p + pi));
        (past > 0.0).then(|| (now / past - 1.0) * 100.0)
    };
    let sum = OpenInterest {
        oi_usd: Some(ok.iter().map(|oi| oi.usd).sum()),
        change_5m_pct: change(0),
        change_15m_pct: change(1),
        change_30m_pct: change(2),
        change_1h_pct: change(3),
        change_4h_pct: change(4),
        change_24h_pct: change(5),
    };
    (Ok(sum), why)
}

/// The reference venue's price, else the first venue's in display order that has one.
fn price(answered: &[(Venue, &CoinReading)], reference: Venue) -> Reading<Price> {
    let first_ok = answered
        .iter()
        .filter(|(v, _)| *v == reference)
        .chain(answered.iter().filter(|(v, _)| *v != reference))
        .find_map(|(_, r)| r.price.as_ref().ok());
    match first_ok {
        Some(p) => Ok(Price {
            price: Some(p.price),
            change_1h_pct: p.change_1h_pct,
            change_24h_pct: p.change_24h_pct,
        }),
        None => Err(most_telling(
            answered
                .iter()
                .filter_map(|(v, r)| r.price.as_ref().err().map(|e| (*v, e.clone())))
                .collect(),
        )),
    }
}

/// The reason that says most about why no venue gave a metric: failures (all of them, each
/// naming its venue) before a region block, before "not reported", before "not fetched yet".
pub(crate) fn most_telling(reasons: Vec<(Venue, GapReason)>) -> GapReason {
    let named = |venue: Venue, text: &str| {
        if text.contains(venue.name()) {
            text.to_string()
        } else {
            format!("{}: {text}", venue.name())
        }
    };
    let mut failures: Vec<String> = Vec::new();
    let mut rate_limited = Vec::new();
    let mut unavailable: Vec<String> = Vec::new();
    let mut not_reported = false;
    for (venue, reason) in &reasons {
        match reason {
            GapReason::FetchFailed(text) => failures.push(named(*venue, text)),
            GapReason::RateLimited => rate_limited.push(*venue),
            GapReason::Unavailable(text) => unavailable.push(named(*venue, text)),
            GapReason::NotReported => not_reported = true,
            GapReason::NotInPlan | GapReason::Pending | GapReason::Partial(_) => {}
        }
    }
    let join = |mut texts: Vec<String>| {
        texts.dedup();
        texts.join("; ")
    };
    if !failures.is_empty() {
        failures.extend(
            rate_limited
                .iter()
                .map(|v| format!("{} rate limited", v.name())),
        );
        GapReason::FetchFailed(join(failures))
    } else if !rate_limited.is_empty() {
        GapReason::RateLimited
    } else if !unavailable.is_empty() {
        GapReason::Unavailable(join(unavailable))
    } else if not_reported {
        GapReason::NotReported
    } else {
        reasons
            .into_iter()
            .map(|(_, r)| r)
            .find(|r| *r == GapReason::NotInPlan)
            .unwrap_or(GapReason::Pending)
    }
}

#[cfg(test)]
mod tests;
