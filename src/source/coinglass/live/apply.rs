//! Applying a cycle's answers: each result lands in its symbol's metric groups (fresh, or
//! stale/absent with the reason), the pair lookup's findings are kept, and the cycle's failures
//! are summarised once per distinct problem.

use super::*;
use crate::model::Field;

impl LiveSource {
    /// Every symbol's snapshot as it stands, with this cycle's funding list applied: what the
    /// frontends can show while the rest of a long cycle is still coming. Changes nothing.
    pub(super) fn with_funding(&self, coins: &[FundingCoin], now: DateTime<Utc>) -> Vec<Snapshot> {
        self.symbols
            .iter()
            .map(|st| {
                let mut snap = st.snapshot(now);
                let value = coins
                    .iter()
                    .find(|c| c.symbol.trim().eq_ignore_ascii_case(&st.coin))
                    .and_then(|c| funding_of(c, &st.weights).0);
                if let Some(funding) = value {
                    snap.funding = Field::fresh(funding, now);
                }
                snap
            })
            .collect()
    }

    /// Says `text` once per session (the `key` tells repeats apart).
    pub(super) fn say_once(&mut self, key: String, text: impl FnOnce() -> String) {
        if self.told.insert(key) {
            tracing::warn!("{}", text());
        }
    }

    /// Records what the pair lookup found (or why it found nothing) and when to look again.
    pub(super) fn apply_pair_lookup(&mut self, outcome: &Outcome, now: DateTime<Utc>) {
        if let Ok(Answer::PairList(Some(PairLookup {
            exchange: Some(name),
            ..
        }))) = outcome
        {
            // From now on in the API's own spelling.
            self.reference_exchange = name.clone();
        }
        let exchange = self.reference_exchange.clone();
        let quote = self.reference_quote.clone();
        let guess = format!("<COIN>{quote}");
        match outcome {
            Ok(Answer::PairList(Some(lookup))) => {
                let mut any_missing = false;
                for (st, id) in self.symbols.iter_mut().zip(&lookup.ids) {
                    match id {
                        Some(id) => {
                            if st.pair_state != PairState::Resolved || &st.pair != id {
                                // A pair found again (or for the first time): due at once.
                                if matches!(st.pair_state, PairState::Missing(_)) {
                                    st.ls = Default::default();
                                }
                                st.pair = id.clone();
                                st.pair_state = PairState::Resolved;
                            }
                        }
                        None => {
                            any_missing = true;
                            let why = format!("no {}/{quote} pair on {exchange}", st.coin);
                            st.retail =
                                crate::model::Field::absent(GapReason::Unavailable(why.clone()));
                            st.top =
                                crate::model::Field::absent(GapReason::Unavailable(why.clone()));
                            st.pair_state = PairState::Missing(why);
                        }
                    }
                }
                let missing: Vec<String> = self
                    .symbols
                    .iter()
                    .filter_map(|s| match &s.pair_state {
                        PairState::Missing(why) => Some(why.clone()),
                        _ => None,
                    })
                    .collect();
                if !missing.is_empty() {
                    self.say_once(format!("pairs-missing {}", missing.join(",")), || {
                        format!(
                            "{}: retail and top-trader long/short are not requested for {} \
                             (set reference_exchange / reference_quote to a venue that lists them)",
                            missing.join("; "),
                            if missing.len() == 1 { "it" } else { "them" }
                        )
                    });
                }
                self.pairs_due = any_missing.then(|| now + MISSING_PAIR_RECHECK);
            }
            Ok(Answer::PairList(None)) => {
                self.say_once("pairs-empty".into(), || {
                    format!(
                        "supported-exchange-pairs listed no pairs for {exchange}; long/short is \
                         requested on unverified {guess} pair ids meanwhile"
                    )
                });
                self.pairs_due = Some(now + self.retry_after());
            }
            Ok(_) => {}
            Err(Failure::TimedOut) => self.pairs_due = Some(now),
            Err(Failure::Api(e)) if e.is_retryable() => {
                self.pairs_due = Some(now + self.retry_after());
            }
            Err(Failure::Api(e)) => {
                // Not in the plan, a wrong path or an answer of unknown shape: asking again
                // will not help.
                self.pairs_due = None;
                self.say_once("pairs-failed".into(), || {
                    format!(
                        "cannot look up the {exchange} pair ids ({e}); long/short is requested \
                         on unverified {guess} pair ids"
                    )
                });
            }
        }
    }

    /// How long a failed long/short series or pair lookup waits before it is asked again: soon,
    /// but not every cycle (a series can fail for hours).
    pub(super) fn retry_after(&self) -> chrono::Duration {
        let ls_interval = chrono::Duration::from_std(self.schedule.ls_interval)
            .unwrap_or(chrono::Duration::hours(4));
        let poll = chrono::Duration::from_std(self.schedule.poll_interval)
            .unwrap_or(chrono::Duration::minutes(5));
        (ls_interval / 16).max(poll)
    }

    pub(super) fn apply(&mut self, results: Vec<(Job, Outcome)>, now: DateTime<Utc>) {
        // The pair lookup first: it says which pair the long/short answers belong to.
        for (job, outcome) in &results {
            if *job == Job::PairList {
                self.apply_pair_lookup(outcome, now);
            }
        }
        let per_symbol = self.schedule.mode == MarketsMode::PerSymbol;
        let ls_interval = chrono::Duration::from_std(self.schedule.ls_interval)
            .unwrap_or(chrono::Duration::hours(4));
        let poll = chrono::Duration::from_std(self.schedule.poll_interval)
            .unwrap_or(chrono::Duration::minutes(5));
        let retry = self.retry_after();
        let ls_label = interval_str(self.schedule.ls_interval);

        let mut funding: Option<Result<Vec<FundingCoin>, Failure>> = None;
        let mut markets: HashMap<String, CoinMarket> = HashMap::new();
        let mut markets_error: Option<Failure> = None;
        let mut markets_fetched = false;

        for (job, result) in results {
            let answer = match result {
                Ok(a) => a,
                Err(e) => {
                    if let Failure::Api(err @ ApiError::PlanGated { .. }) = &e {
                        if self.gated.insert(job.group()) {
                            tracing::warn!(endpoint = job.group().name(), error = %err, "endpoint not in plan; not requesting it again this session");
                        }
                    }
                    match job {
                        Job::Funding => funding = Some(Err(e)),
                        Job::PairList => {}
                        Job::Markets(_) => {
                            markets_fetched = true;
                            markets_error.get_or_insert(e);
                        }
                        Job::Oi(i) if per_symbol => fail(&mut self.symbols[i].oi, &e),
                        // Weights only (coins-markets mode): the last known weights stay.
                        Job::Oi(_) => {}
                        Job::Liq(i) => fail(&mut self.symbols[i].liq, &e),
                        Job::Taker(i) => fail(&mut self.symbols[i].taker, &e),
                        Job::Pairs(i) => fail(&mut self.symbols[i].price, &e),
                        Job::LongShort(side, i) => {
                            let st = &mut self.symbols[i];
                            st.ls[side.index()].next_due = match e {
                                // Cut short by the deadline: ask again next cycle.
                                Failure::TimedOut => None,
                                Failure::Api(_) => Some(now + retry),
                            };
                            fail(st.ls_field(side), &e);
                        }
                    }
                    continue;
                }
            };
            match answer {
                Answer::Funding(coins) => funding = Some(Ok(coins)),
                Answer::PairList(_) => {}
                Answer::Markets(_, rows) => {
                    markets_fetched = true;
                    for row in rows {
                        markets.insert(row.symbol.trim().to_ascii_uppercase(), row);
                    }
                }
                Answer::Oi(i, rows) => {
                    let st = &mut self.symbols[i];
                    let weights = funding_weights(&rows);
                    if !weights.is_empty() {
                        st.weights = weights;
                    }
                    if per_symbol {
                        match open_interest_of(&rows) {
                            Some(oi) if oi.oi_usd.is_some() => settle(&mut st.oi, Some(oi), now),
                            // No `All` row, or its `oi_usd` is null: the reason is given.
                            _ => unreported(&mut st.oi),
                        }
                    }
                }
                Answer::Liq(i, rows) => {
                    settle(&mut self.symbols[i].liq, liquidations_of(&rows), now)
                }
                Answer::Taker(i, t) => settle(&mut self.symbols[i].taker, taker_of(&t), now),
                Answer::Pairs(i, rows) => {
                    let st = &mut self.symbols[i];
                    let price =
                        reference_pair(&rows, &self.reference_exchange, &st.pair).and_then(|r| {
                            let p = r.current_price?;
                            Some(st.ring.observe(
                                now,
                                p,
                                r.price_change_percent_1h,
                                r.price_change_percent_24h,
                            ))
                        });
                    settle(&mut st.price, price, now);
                }
                Answer::LongShort(side, i, bars) => {
                    let exchange = self.reference_exchange.clone();
                    let st = &mut self.symbols[i];
                    let latest = bars
                        .iter()
                        .filter(|b| b.long_percent.is_some() || b.short_percent.is_some())
                        .filter_map(|b| Some((ms_to_time(b.time?)?, b)))
                        .max_by_key(|(t, _)| *t);
                    let state = &mut st.ls[side.index()];
                    let value = match latest {
                        Some((bar_time, bar)) => {
                            let advanced = state.last_bar.is_none_or(|t| bar_time > t);
                            state.last_bar = Some(bar_time);
                            state.next_due =
                                Some(next_ls_due(bar_time, ls_interval, now, advanced, poll));
                            Some(LongShort {
                                long_pct: bar.long_percent,
                                short_pct: bar.short_percent,
                                bar_time,
                                source: format!("{exchange} {} {ls_label}", st.pair),
                            })
                        }
                        None => {
                            // Nothing for this pair: ask again after one bar, not every cycle.
                            state.next_due = Some(now + ls_interval);
                            None
                        }
                    };
                    settle(st.ls_field(side), value, now);
                }
            }
        }

        if markets_fetched {
            for st in &mut self.symbols {
                match markets.get(&st.coin) {
                    Some(m) => {
                        let oi = OpenInterest {
                            oi_usd: m.open_interest_usd,
                            change_5m_pct: m.open_interest_change_percent_5m,
                            change_15m_pct: m.open_interest_change_percent_15m,
                            change_30m_pct: m.open_interest_change_percent_30m,
                            change_1h_pct: m.open_interest_change_percent_1h,
                            change_4h_pct: m.open_interest_change_percent_4h,
                            change_24h_pct: m.open_interest_change_percent_24h,
                        };
                        if oi.oi_usd.is_some() {
                            settle(&mut st.oi, Some(oi), now);
                        } else {
                            unreported(&mut st.oi);
                        }
                        let liq = Liquidations {
                            long_1h_usd: m.long_liquidation_usd_1h,
                            short_1h_usd: m.short_liquidation_usd_1h,
                            ..Default::default()
                        };
                        settle(
                            &mut st.liq,
                            (liq != Liquidations::default()).then_some(liq),
                            now,
                        );
                        let price = m.current_price.map(|p| {
                            st.ring.observe(
                                now,
                                p,
                                m.price_change_percent_1h,
                                m.price_change_percent_24h,
                            )
                        });
                        settle(&mut st.price, price, now);
                    }
                    None => match &markets_error {
                        Some(e) => {
                            fail(&mut st.oi, e);
                            fail(&mut st.liq, e);
                            fail(&mut st.price, e);
                        }
                        None => {
                            settle(&mut st.oi, None, now);
                            settle(&mut st.liq, None, now);
                            settle(&mut st.price, None, now);
                        }
                    },
                }
            }
        }

        match funding {
            Some(Ok(coins)) => {
                let mut notes = Vec::new();
                for st in &mut self.symbols {
                    let row = coins
                        .iter()
                        .find(|c| c.symbol.trim().eq_ignore_ascii_case(&st.coin));
                    let value = match row {
                        Some(c) => {
                            let (value, said) = funding_of(c, &st.weights);
                            notes.extend(said);
                            value
                        }
                        None => None,
                    };
                    settle(&mut st.funding, value, now);
                }
                for note in notes {
                    self.say_once(note.key, || note.text);
                }
            }
            Some(Err(e)) => {
                for st in &mut self.symbols {
                    fail(&mut st.funding, &e);
                }
            }
            None => {}
        }
    }
}

/// The cycle's failures, one line per distinct problem: the first request it hit, and how many
/// more it hit (a dead network is one line, not one per metric per symbol).
pub(super) fn summarize_failures(results: &[(Job, Outcome)]) -> Vec<String> {
    let mut lines: Vec<(String, String, usize)> = Vec::new();
    for (job, r) in results {
        let Err(failure) = r else {
            continue;
        };
        let reason = failure.gap_text();
        match lines.iter_mut().find(|(r, _, _)| *r == reason) {
            Some((_, _, n)) => *n += 1,
            None => {
                let first = match failure {
                    Failure::Api(e) => e.endpoint().to_owned(),
                    Failure::TimedOut => job.group().name().to_owned(),
                };
                lines.push((reason, first, 1));
            }
        }
    }
    lines
        .into_iter()
        .map(|(reason, first, n)| match n {
            1 => format!("{first}: {reason}"),
            n => format!("{first}: {reason} (and {} more requests)", n - 1),
        })
        .collect()
}
