//! From the venues' outcomes to the snapshots: each venue's standing per coin, what can be shown
//! early, and how a cycle's values land on the kept ones.

use super::VenueOutcome;
use crate::model::{Field, GapReason, Snapshot};
use crate::source::exchanges::aggregate::{self, Listed};
use crate::source::exchanges::venue::{CoinReading, Venue};
use chrono::{DateTime, Utc};

/// Each venue's standing for `coin` this cycle, in display order.
pub(super) fn readings_of(
    coin: &str,
    outcomes: &[VenueOutcome],
    listed_before: &[Option<Vec<String>>],
    venues: &[Venue],
) -> Vec<(Venue, Listed)> {
    venues
        .iter()
        .zip(outcomes)
        .zip(listed_before)
        .map(|((&venue, outcome), before)| {
            let listed = match outcome {
                VenueOutcome::Unreached(reason) => {
                    Listed::Reading(Box::new(CoinReading::absent(reason.clone())))
                }
                VenueOutcome::Answered { listed, cycle } => {
                    if !listed.iter().any(|c| c == coin) {
                        Listed::No
                    } else {
                        Listed::Reading(Box::new(cycle.get(coin).cloned().unwrap_or_else(|| {
                            CoinReading::absent(GapReason::FetchFailed(format!(
                                "{venue} gave no reading for {coin}"
                            )))
                        })))
                    }
                }
                VenueOutcome::TimedOut => match before {
                    Some(list) if !list.iter().any(|c| c == coin) => Listed::No,
                    _ => Listed::Reading(Box::new(CoinReading::absent(GapReason::FetchFailed(
                        format!("{venue} did not answer within the cycle"),
                    )))),
                },
            };
            (venue, listed)
        })
        .collect()
}

/// What the frontends can show while other venues are still answering: the reference
/// venue's metrics once it answered, the cross-venue sums only for coins every venue that
/// lists them has answered (a partial sum would jump). Changes nothing.
pub(super) struct Early<'a> {
    pub(super) coins: &'a [String],
    pub(super) kept: &'a [Snapshot],
    pub(super) reference: Venue,
    pub(super) venues: &'a [Venue],
    pub(super) listed_before: &'a [Option<Vec<String>>],
}

impl Early<'_> {
    pub(super) fn snapshots(
        &self,
        outcomes: &[Option<VenueOutcome>],
        now: DateTime<Utc>,
    ) -> Vec<Snapshot> {
        let reference_done = self
            .venues
            .iter()
            .zip(outcomes)
            .any(|(v, o)| *v == self.reference && o.is_some());
        let waiting_on = |coin: &str| {
            outcomes.iter().zip(self.listed_before).any(|(o, listed)| {
                o.is_none() && listed.as_ref().is_none_or(|l| l.iter().any(|c| c == coin))
            })
        };
        let so_far: Vec<VenueOutcome> = outcomes
            .iter()
            .map(|o| {
                o.clone()
                    .unwrap_or(VenueOutcome::Unreached(GapReason::Pending))
            })
            .collect();
        self.coins
            .iter()
            .zip(self.kept)
            .map(|(coin, kept)| {
                let mut snap = kept.clone();
                snap.time = now;
                let readings = readings_of(coin, &so_far, self.listed_before, self.venues);
                let liq = Err(GapReason::Pending);
                let fresh = aggregate::snapshot(coin, now, &readings, self.reference, liq);
                let complete = !waiting_on(coin);
                if complete {
                    keep(&mut snap.funding, fresh.funding);
                    keep(&mut snap.open_interest, fresh.open_interest);
                }
                if complete || reference_done {
                    keep(&mut snap.price, fresh.price);
                }
                if reference_done {
                    keep(&mut snap.retail, fresh.retail);
                    keep(&mut snap.top, fresh.top);
                    keep(&mut snap.taker, fresh.taker);
                }
                snap
            })
            .collect()
    }
}

/// Takes this cycle's value of every metric group (see [`keep`]).
pub(super) fn keep_all(kept: &mut Snapshot, fresh: Snapshot) {
    keep(&mut kept.funding, fresh.funding);
    keep(&mut kept.open_interest, fresh.open_interest);
    keep(&mut kept.liquidations, fresh.liquidations);
    keep(&mut kept.retail, fresh.retail);
    keep(&mut kept.top, fresh.top);
    keep(&mut kept.taker, fresh.taker);
    keep(&mut kept.price, fresh.price);
}

/// A new value replaces the kept one (also a partial one, which carries why it is partial); a
/// failure keeps the last value, stale, with the new reason; "unavailable" (not listed, not
/// offered, region blocked) leaves nothing to keep.
pub(super) fn keep<T>(kept: &mut Field<T>, fresh: Field<T>) {
    match &fresh.gap {
        _ if fresh.value.is_some() => *kept = fresh,
        None | Some(GapReason::Unavailable(_)) => *kept = fresh,
        Some(reason) => kept.mark_failed(reason.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn a_new_value_replaces_the_kept_one_even_when_partial_and_a_failure_keeps_it_stale() {
        let (t0, t1) = (Utc::now() - chrono::Duration::minutes(1), Utc::now());
        let mut kept = Field::fresh(8.0, t0);
        let mut partial = Field::fresh(3.0, t1);
        partial.gap = Some(GapReason::FetchFailed(
            "partial sum, Binance: HTTP 500".into(),
        ));
        keep(&mut kept, partial.clone());
        assert_eq!(kept, partial);
        keep(&mut kept, Field::absent(GapReason::RateLimited));
        assert_eq!(kept.get(), Some(&3.0));
        assert_eq!(kept.gap, Some(GapReason::RateLimited));
        keep(
            &mut kept,
            Field::absent(GapReason::Unavailable("not listed".into())),
        );
        assert_eq!(kept.get(), None);
    }
}
