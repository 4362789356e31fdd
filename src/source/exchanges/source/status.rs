//! How a venue stands, in the words of the status bar, `check` and the JSON `venues` array; and
//! why a coin has no liquidation sums.

use super::VenueOutcome;
use crate::model::GapReason;
use crate::source::exchanges::http::{hhmm, FetchError, Standing};
use crate::source::exchanges::stream::StreamState;
use crate::source::exchanges::venue::{CoinReading, Venue};
use crate::source::VenueStatus;
use chrono::{DateTime, Utc};

/// How a venue's REST side went last.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum RestHealth {
    /// Listed, not polled yet.
    NotYet,
    /// Answered with at least one value.
    Fine,
    /// Its instrument list could not be fetched: the error.
    ListMissing(String),
    /// It did not answer by the cycle's deadline.
    TimedOut,
    /// It answered, but every metric of every coin failed: the first failure.
    Failing(String),
}

impl RestHealth {
    /// From a cycle's outcome (`list_failure`: why its list is still missing, if it is).
    pub(super) fn after(outcome: &VenueOutcome, list_failure: Option<&FetchError>) -> RestHealth {
        match outcome {
            VenueOutcome::Unreached(reason) => RestHealth::ListMissing(
                list_failure.map_or_else(|| reason.to_string(), ToString::to_string),
            ),
            VenueOutcome::TimedOut => RestHealth::TimedOut,
            VenueOutcome::Answered { cycle, .. } => {
                let mut first_failure = None;
                for gap in cycle.values().flat_map(gaps) {
                    match gap {
                        None => return RestHealth::Fine,
                        Some(GapReason::FetchFailed(text)) => {
                            first_failure.get_or_insert_with(|| text.clone());
                        }
                        Some(_) => {}
                    }
                }
                first_failure.map_or(RestHealth::Fine, RestHealth::Failing)
            }
        }
    }
}

/// Each metric's gap (`None`: it has a value).
fn gaps(r: &CoinReading) -> [Option<&GapReason>; 6] {
    [
        r.funding.as_ref().err(),
        r.open_interest.as_ref().err(),
        r.price.as_ref().err(),
        r.retail.as_ref().err(),
        r.top.as_ref().err(),
        r.taker.as_ref().err(),
    ]
}

/// Everything a venue's status is made of.
pub(super) struct VenueFacts<'a> {
    pub(super) venue: Venue,
    pub(super) standing: Standing,
    pub(super) rest: &'a RestHealth,
    /// `None`: no stream (not started, or `check`).
    pub(super) stream: Option<StreamState>,
    /// Seconds of the last hour the stream was not up (`None`: up all hour, or no stream).
    pub(super) missed_s: Option<u32>,
    /// Stream frames since start the parser did not understand (a changed format).
    pub(super) malformed: u64,
    /// Watched coins the venue does not list.
    pub(super) unlisted: &'a [String],
    pub(super) now: DateTime<Utc>,
}

/// The venue's state, the most pressing first: refusals of the REST API (region, ban, pause),
/// then REST failures, then the liquidation stream.
pub(super) fn venue_status(f: VenueFacts<'_>) -> VenueStatus {
    let name = f.venue.name();
    let (state, detail) = match (&f.standing, f.rest, &f.stream) {
        (Standing::Restricted { status }, _, _) => (
            format!("restricted region (HTTP {status})"),
            Some(format!(
                "{name} refuses this region; the other venues carry on (asked again hourly)"
            )),
        ),
        (Standing::Banned { until }, _, _) => (
            format!("banned until {}", hhmm(*until)),
            Some(format!("{name} banned this IP; nothing is sent until then")),
        ),
        (Standing::Paused { until }, _, _) => (
            "rate limited".to_string(),
            Some(format!("paused until {}", until.format("%H:%M:%SZ"))),
        ),
        (Standing::Ok, RestHealth::ListMissing(error), _) => {
            ("unreachable".to_string(), Some(error.clone()))
        }
        (Standing::Ok, RestHealth::TimedOut, _) => (
            "unreachable".to_string(),
            Some(format!("{name} did not answer within the cycle")),
        ),
        (Standing::Ok, RestHealth::Failing(error), _) => {
            ("failing".to_string(), Some(error.clone()))
        }
        (Standing::Ok, _, Some(StreamState::Down { since, why })) => (
            format!(
                "stream down {}",
                span(u64::try_from((f.now - *since).num_seconds()).unwrap_or(0))
            ),
            Some(why.clone()),
        ),
        (Standing::Ok, _, Some(StreamState::Connecting)) => {
            ("stream connecting".to_string(), skipped(f.unlisted))
        }
        (Standing::Ok, _, Some(StreamState::Up { .. }) | None) => {
            let missed = f
                .missed_s
                .map(|s| format!("liquidations miss {} of the last hour", span(u64::from(s))));
            // A venue that changed its frame format must not read as a quiet market.
            let garbled = (f.malformed > 0).then(|| {
                format!(
                    "{} liquidation frames not understood: the sums may be short",
                    f.malformed
                )
            });
            let detail = [garbled, missed, skipped(f.unlisted)].into_iter().flatten();
            let detail: Vec<String> = detail.collect();
            (
                "ok".to_string(),
                (!detail.is_empty()).then(|| detail.join("; ")),
            )
        }
    };
    VenueStatus {
        venue: f.venue.id().to_string(),
        state,
        detail,
    }
}

fn skipped(unlisted: &[String]) -> Option<String> {
    (!unlisted.is_empty()).then(|| format!("not listed here: {}", unlisted.join(", ")))
}

/// `45s`, `2m`, `3h`.
pub(super) fn span(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}

/// Why `coin` has no liquidation sums: the streams of the venues that list it are down (which,
/// and why), still connecting, or there are none because the venues could not be reached.
pub(super) fn liquidations_gap(
    coin: &str,
    streams: &[(Venue, StreamState)],
    unreached: &[(Venue, String)],
) -> GapReason {
    let down: Vec<String> = streams
        .iter()
        .filter_map(|(venue, state)| match state {
            StreamState::Down { why, .. } => Some(format!("{} ({why})", venue.name())),
            _ => None,
        })
        .collect();
    if !down.is_empty() {
        let plural = if down.len() > 1 { "s" } else { "" };
        return GapReason::FetchFailed(format!(
            "liquidation stream{plural} down: {}",
            down.join(", ")
        ));
    }
    if !streams.is_empty() {
        // Connecting, or up with nothing counted yet.
        return GapReason::Pending;
    }
    if !unreached.is_empty() {
        let why: Vec<&str> = unreached.iter().map(|(_, e)| e.as_str()).collect();
        return GapReason::FetchFailed(format!("no liquidation stream: {}", why.join("; ")));
    }
    GapReason::Unavailable(format!("no liquidation stream lists {coin}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ok_venue_says_what_its_liquidations_lack() {
        let now = Utc::now();
        let unlisted = vec!["PEPE".to_string()];
        let s = venue_status(VenueFacts {
            venue: Venue::Okx,
            standing: Standing::Ok,
            rest: &RestHealth::Fine,
            stream: Some(StreamState::Up { since: now }),
            missed_s: Some(125),
            malformed: 7,
            unlisted: &unlisted,
            now,
        });
        assert_eq!(s.state, "ok");
        assert_eq!(
            s.detail.as_deref(),
            Some(
                "7 liquidation frames not understood: the sums may be short; \
                 liquidations miss 2m of the last hour; not listed here: PEPE"
            )
        );
    }

    #[test]
    fn venue_states_say_the_most_pressing_thing_first() {
        use crate::source::exchanges::http::Standing;
        use chrono::TimeZone;
        let now = Utc.with_ymd_and_hms(2025, 3, 1, 14, 0, 0).unwrap();
        let down = Some(StreamState::Down {
            since: now - chrono::Duration::seconds(150),
            why: "connection reset".into(),
        });
        let unlisted = vec!["PEPE".to_string()];
        let of = |standing: Standing, rest: &RestHealth, stream: Option<StreamState>| {
            let s = venue_status(VenueFacts {
                venue: Venue::Binance,
                standing,
                rest,
                stream,
                missed_s: None,
                malformed: 0,
                unlisted: &unlisted,
                now,
            });
            assert_eq!(s.venue, "binance");
            (s.state, s.detail)
        };
        let fine = RestHealth::Fine;
        let until = now + chrono::Duration::minutes(5);
        assert_eq!(
            of(Standing::Restricted { status: 451 }, &fine, down.clone()).0,
            "restricted region (HTTP 451)"
        );
        assert_eq!(
            of(Standing::Banned { until }, &fine, None).0,
            "banned until 14:05Z"
        );
        assert_eq!(
            of(Standing::Paused { until }, &fine, None),
            ("rate limited".into(), Some("paused until 14:05:00Z".into()))
        );
        assert_eq!(
            of(
                Standing::Ok,
                &RestHealth::ListMissing("Binance unreachable: timed out".into()),
                down.clone()
            ),
            (
                "unreachable".into(),
                Some("Binance unreachable: timed out".into())
            )
        );
        assert_eq!(
            of(Standing::Ok, &fine, down),
            ("stream down 2m".into(), Some("connection reset".into()))
        );
        assert_eq!(
            of(Standing::Ok, &fine, Some(StreamState::Connecting)).0,
            "stream connecting"
        );
        let up = Some(StreamState::Up { since: now });
        assert_eq!(
            of(Standing::Ok, &RestHealth::NotYet, up),
            ("ok".into(), Some("not listed here: PEPE".into()))
        );
    }

    #[test]
    fn a_coin_without_liquidation_sums_says_which_streams_and_why() {
        let down = |why: &str| StreamState::Down {
            since: Utc::now(),
            why: why.into(),
        };
        assert_eq!(
            liquidations_gap(
                "BTC",
                &[
                    (Venue::Binance, StreamState::Connecting),
                    (Venue::Bybit, down("connection reset")),
                    (Venue::Okx, down("no data for 30 s")),
                ],
                &[],
            )
            .to_string(),
            "fetch failed: liquidation streams down: Bybit (connection reset), OKX (no data for 30 s)"
        );
        assert_eq!(
            liquidations_gap("BTC", &[(Venue::Okx, StreamState::Connecting)], &[]),
            GapReason::Pending
        );
        assert_eq!(
            liquidations_gap("BTC", &[], &[]),
            GapReason::Unavailable("no liquidation stream lists BTC".into())
        );
    }
}
