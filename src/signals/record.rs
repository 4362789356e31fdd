//! Track records: how each (symbol, signal) did on the symbol's own history, shared between the
//! background job that computes them (`crate::record`) and the monitor that attaches them to
//! every signal it reports ([`RecordBook::annotate`]); and the one wording of a record that the
//! feed, the Telegram/webhook messages and the docs use ([`record_line`]).
//!
//! A record is the backtest engine's result for the signal on that history: onsets, how many
//! were followed by a move of `move_pct` in the signal's direction within the horizon, against
//! the same move after any bar (the base rate), and a move either way. Where there is not
//! enough history, or the history cannot show what the signal reads, the signal carries no
//! record and says why ([`NoRecord`]) instead of a number.

use super::{Record, Signal, SignalId};
use crate::model::Bias;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

/// Days of history a record needs: fewer, and the signal says "no track record yet".
pub const MIN_DAYS: u32 = 30;
/// Below this many scored onsets a record says it is a small sample.
pub const SMALL_SAMPLE: usize = 10;

/// Why a signal carries no track record.
#[derive(Debug, Clone, PartialEq)]
pub enum NoRecord {
    /// The background job has not finished this symbol yet (right after start).
    Computing,
    /// Too little history so far: `days` of bars, `needs_days` needed.
    ShortHistory { days: f64, needs_days: u32 },
    /// The history's bars cannot show what the signal reads (1h changes on 4h bars, a series
    /// the plan does not serve): `inputs` are never present at `interval`.
    NotObservable {
        interval: String,
        inputs: Vec<&'static str>,
    },
    /// The history could not be read or downloaded (the reason, for the log and the feed).
    Unavailable(String),
}

impl fmt::Display for NoRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoRecord::Computing => {
                f.write_str("Track record: being computed from the symbol's history")
            }
            NoRecord::ShortHistory { days, needs_days } => write!(
                f,
                "No track record yet: {} days of history (needs {needs_days})",
                days.max(0.0).floor()
            ),
            NoRecord::NotObservable { interval, inputs } => write!(
                f,
                "No track record: the {interval} history has no {} (what this signal reads)",
                inputs.join(", ")
            ),
            NoRecord::Unavailable(why) => write!(f, "No track record: history unavailable ({why})"),
        }
    }
}

/// One symbol's records as the background job left them.
#[derive(Debug, Clone, PartialEq)]
pub enum SymbolRecords {
    /// Every signal's record, or why it has none.
    Computed(HashMap<SignalId, Result<Record, NoRecord>>),
    /// No signal of the symbol has one (too little history, history unavailable).
    None(NoRecord),
}

/// The shared, read-mostly book of track records: written by the background job a few times a
/// day, read by the monitor once per cycle. A clone shares the book.
///
/// [`RecordBook::default`] is *off*: nothing is computed in this run, and signals are left as
/// the rules made them (no record, no reason). [`RecordBook::new`] is on: a symbol the job has
/// not finished yet reads as [`NoRecord::Computing`].
#[derive(Debug, Clone, Default)]
pub struct RecordBook(Option<Arc<RwLock<HashMap<String, SymbolRecords>>>>);

impl RecordBook {
    /// An empty book that the record job fills.
    pub fn new() -> RecordBook {
        RecordBook(Some(Arc::default()))
    }

    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Replaces one symbol's records.
    pub fn set(&self, symbol: &str, records: SymbolRecords) {
        if let Some(book) = &self.0 {
            // A poisoned lock only means a writer panicked mid-insert; the map is still whole.
            let mut map = book.write().unwrap_or_else(|p| p.into_inner());
            map.insert(symbol.to_string(), records);
        }
    }

    /// The record of (`symbol`, `id`), or why there is none; `None` when the book is off.
    pub fn get(&self, symbol: &str, id: SignalId) -> Option<Result<Record, NoRecord>> {
        let book = self.0.as_ref()?;
        let map = book.read().unwrap_or_else(|p| p.into_inner());
        Some(lookup(&map, symbol, id))
    }

    /// Sets `record` (or `no_record`) on each of `symbol`'s signals. Does nothing when off.
    pub fn annotate(&self, symbol: &str, signals: &mut [Signal]) {
        let Some(book) = &self.0 else {
            return;
        };
        let map = book.read().unwrap_or_else(|p| p.into_inner());
        for s in signals {
            let (record, why) = match lookup(&map, symbol, s.id) {
                Ok(r) => (Some(r), None),
                Err(why) => (None, Some(why)),
            };
            s.record = record;
            s.no_record = why;
        }
    }
}

fn lookup(
    map: &HashMap<String, SymbolRecords>,
    symbol: &str,
    id: SignalId,
) -> Result<Record, NoRecord> {
    match map.get(symbol) {
        None => Err(NoRecord::Computing),
        Some(SymbolRecords::None(why)) => Err(why.clone()),
        Some(SymbolRecords::Computed(per)) => {
            per.get(&id).cloned().unwrap_or(Err(NoRecord::Computing))
        }
    }
}

/// `3`, `2.5`, `0.75`: a number with the decimals it needs (at most two).
fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// A duration label (`24h`, `1d`, `90m`, `3d`) as the record line says it: hours up to two
/// days (`24 h`), days beyond (`3 d`), anything else with a space before its unit.
fn spaced(label: &str) -> String {
    let Some(i) = label.find(|c: char| !c.is_ascii_digit()).filter(|i| *i > 0) else {
        return label.to_string();
    };
    let (n, unit) = label.split_at(i);
    let hours = n.parse::<u64>().ok().and_then(|n| match unit {
        "h" => Some(n),
        "d" => n.checked_mul(24),
        "w" => n.checked_mul(24 * 7),
        _ => None,
    });
    match hours {
        Some(h) if h <= 48 => format!("{h} h"),
        Some(h) if h % 24 == 0 => format!("{} d", h / 24),
        _ => format!("{n} {unit}"),
    }
}

/// The record in one line, e.g. `fired 14× in 180 d; ≥ 3 % move down within 24 h after 9 of
/// them (64 %) vs 31 % on any bar; either direction: 79 %`. A neutral signal's hit already counts a
/// move either way, so it has no separate either-direction figure. Fewer than
/// [`SMALL_SAMPLE`] scored onsets say so.
pub fn record_text(r: &Record, bias: Bias) -> String {
    let days = r.days.max(0.0).round();
    if r.fired == 0 {
        return format!("never fired in {days} d of {} bars", r.interval);
    }
    let mut out = format!("fired {}× in {days} d", r.fired);
    let horizon = spaced(&r.horizon);
    if r.scored == 0 {
        out.push_str(&format!(
            "; none scored yet (the {horizon} after each onset has not passed)"
        ));
        return out;
    }
    let direction = match bias {
        Bias::Bullish => "up",
        Bias::Bearish => "down",
        Bias::Neutral => "either way",
    };
    let of = if r.scored == r.fired {
        "of them".to_string()
    } else {
        format!("of the {} scored", r.scored)
    };
    out.push_str(&format!(
        "; ≥ {} % move {direction} within {horizon} after {} {of}",
        trim(r.move_pct),
        r.hits
    ));
    if let Some(rate) = r.hit_rate_pct {
        out.push_str(&format!(" ({} %)", rate.round()));
    }
    if let Some(base) = r.base_rate_pct {
        out.push_str(&format!(" vs {} % on any bar", base.round()));
    }
    if bias != Bias::Neutral {
        if let Some(either) = r.either_hit_pct {
            out.push_str(&format!("; either direction: {} %", either.round()));
        }
    }
    if r.scored < SMALL_SAMPLE {
        out.push_str("; a small sample");
    }
    out
}

/// What the feed and the alert messages say about a signal's track record: `Track record: …`,
/// or why it has none; `None` when no record was computed in this run.
pub fn record_line(s: &Signal) -> Option<String> {
    match (&s.record, &s.no_record) {
        (Some(r), _) => Some(format!("Track record: {}", record_text(r, s.bias))),
        (None, Some(why)) => Some(why.to_string()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;

    fn record(fired: usize, scored: usize, hits: usize) -> Record {
        let pct = |n: usize| (scored > 0).then(|| n as f64 / scored as f64 * 100.0);
        Record {
            days: 180.2,
            interval: "1h".into(),
            fired,
            scored,
            hits,
            hit_rate_pct: pct(hits),
            base_rate_pct: Some(31.2),
            either_hit_pct: pct(11),
            horizon: "24h".into(),
            move_pct: 3.0,
        }
    }

    fn signal(id: SignalId, bias: Bias) -> Signal {
        crate::fixtures::signal(id, Level::High, bias, "t", "m")
    }

    #[test]
    fn a_record_reads_as_one_line_with_the_base_rate_and_either_direction() {
        assert_eq!(
            record_text(&record(14, 14, 9), Bias::Bearish),
            "fired 14× in 180 d; ≥ 3 % move down within 24 h after 9 of them (64 %) vs 31 % on \
             any bar; either direction: 79 %"
        );
        assert_eq!(
            record_text(&record(14, 14, 9), Bias::Bullish),
            "fired 14× in 180 d; ≥ 3 % move up within 24 h after 9 of them (64 %) vs 31 % on \
             any bar; either direction: 79 %"
        );
        // A neutral signal's hit is already a move either way.
        assert_eq!(
            record_text(&record(14, 14, 11), Bias::Neutral),
            "fired 14× in 180 d; ≥ 3 % move either way within 24 h after 11 of them (79 %) vs \
             31 % on any bar"
        );
    }

    #[test]
    fn a_record_says_when_onsets_are_unscored_few_or_none() {
        let mut r = record(14, 13, 9);
        r.move_pct = 2.5;
        assert_eq!(
            record_text(&r, Bias::Bearish),
            "fired 14× in 180 d; ≥ 2.5 % move down within 24 h after 9 of the 13 scored (69 %) \
             vs 31 % on any bar; either direction: 85 %"
        );
        let mut few = record(4, 4, 1);
        few.either_hit_pct = Some(75.0);
        assert_eq!(
            record_text(&few, Bias::Bearish),
            "fired 4× in 180 d; ≥ 3 % move down within 24 h after 1 of them (25 %) vs 31 % on \
             any bar; either direction: 75 %; a small sample"
        );
        // The engine may label a 24 h horizon `1d`: the line still says 24 h.
        let mut day = record(2, 0, 0);
        day.horizon = "1d".into();
        assert_eq!(
            record_text(&day, Bias::Bearish),
            "fired 2× in 180 d; none scored yet (the 24 h after each onset has not passed)"
        );
        day.horizon = "3d".into();
        assert!(record_text(&day, Bias::Bearish).contains("the 3 d after"));
        assert_eq!(
            record_text(&record(2, 0, 0), Bias::Bearish),
            "fired 2× in 180 d; none scored yet (the 24 h after each onset has not passed)"
        );
        assert_eq!(
            record_text(&record(0, 0, 0), Bias::Bearish),
            "never fired in 180 d of 1h bars"
        );
    }

    #[test]
    fn without_a_record_the_line_says_why() {
        let short = NoRecord::ShortHistory {
            days: 12.7,
            needs_days: MIN_DAYS,
        };
        assert_eq!(
            short.to_string(),
            "No track record yet: 12 days of history (needs 30)"
        );
        let unseen = NoRecord::NotObservable {
            interval: "4h".into(),
            inputs: vec!["oi_change_1h_pct"],
        };
        assert_eq!(
            unseen.to_string(),
            "No track record: the 4h history has no oi_change_1h_pct (what this signal reads)"
        );
        let mut s = signal(SignalId::OiSurge, Bias::Neutral);
        assert_eq!(record_line(&s), None, "no record computed: nothing to say");
        s.no_record = Some(short);
        assert_eq!(
            record_line(&s).as_deref(),
            Some("No track record yet: 12 days of history (needs 30)")
        );
        s.record = Some(record(14, 14, 11));
        s.no_record = None;
        assert!(record_line(&s).is_some_and(|l| l.starts_with("Track record: fired 14× in 180 d")));
    }

    #[test]
    fn the_book_annotates_signals_only_when_on() {
        let mut signals = vec![
            signal(SignalId::OiSurge, Bias::Neutral),
            signal(SignalId::FundingExtremeLong, Bias::Bearish),
        ];
        RecordBook::default().annotate("BTC", &mut signals);
        assert!(signals
            .iter()
            .all(|s| s.record.is_none() && s.no_record.is_none()));

        let book = RecordBook::new();
        book.annotate("BTC", &mut signals);
        assert!(signals
            .iter()
            .all(|s| s.record.is_none() && s.no_record == Some(NoRecord::Computing)));

        let mut per = HashMap::new();
        per.insert(SignalId::OiSurge, Ok(record(14, 14, 11)));
        per.insert(
            SignalId::FundingExtremeLong,
            Err(NoRecord::NotObservable {
                interval: "4h".into(),
                inputs: vec!["funding_8h_pct"],
            }),
        );
        book.clone().set("BTC", SymbolRecords::Computed(per));
        book.annotate("BTC", &mut signals);
        assert_eq!(signals[0].record, Some(record(14, 14, 11)));
        assert_eq!(signals[0].no_record, None);
        assert!(matches!(
            signals[1].no_record,
            Some(NoRecord::NotObservable { .. })
        ));
        let short = NoRecord::ShortHistory {
            days: 3.0,
            needs_days: MIN_DAYS,
        };
        book.set("ETH", SymbolRecords::None(short.clone()));
        assert_eq!(book.get("ETH", SignalId::OiSurge), Some(Err(short)));
        assert_eq!(RecordBook::default().get("ETH", SignalId::OiSurge), None);
    }
}
