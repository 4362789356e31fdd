//! Numbers as the venues send them: JSON numbers, numeric strings (`"0.00010000"`), empty strings
//! and nulls for "no value". An empty value is absent, never zero; anything else that is not a
//! number is kept as garbage so the metric that needed it can say what arrived.

use crate::model::GapReason;
use serde::{Deserialize, Deserializer};

/// One numeric field of a venue answer. Use with `#[serde(default)]` so a missing field is
/// [`Num::Absent`].
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Num {
    /// Missing, `null` or `""`.
    #[default]
    Absent,
    Value(f64),
    /// Something that is not a number (kept, shortened, for the reason text).
    Garbage(String),
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(Num::from_json(&v))
    }
}

impl Num {
    pub(crate) fn from_json(v: &serde_json::Value) -> Num {
        use serde_json::Value;
        match v {
            Value::Null => Num::Absent,
            Value::Number(n) => n
                .as_f64()
                .map_or_else(|| garbage(&n.to_string()), Num::Value),
            Value::String(s) if s.trim().is_empty() => Num::Absent,
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => Num::Value(x),
                _ => garbage(s),
            },
            other => garbage(&other.to_string()),
        }
    }

    /// The value, if there is one.
    pub(crate) fn get(&self) -> Option<f64> {
        match self {
            Num::Value(x) => Some(*x),
            _ => None,
        }
    }

    /// The value, or why there is none: `what` names the field and venue for the reason
    /// ("Bybit fundingRate").
    pub(crate) fn need(&self, what: &str) -> Result<f64, GapReason> {
        match self {
            Num::Value(x) => Ok(*x),
            Num::Absent => Err(GapReason::NotReported),
            Num::Garbage(raw) => Err(GapReason::FetchFailed(format!(
                "{what} is not a number: {raw:?}"
            ))),
        }
    }

    /// A millisecond timestamp as a time.
    pub(crate) fn time_ms(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.get()
            .and_then(|ms| chrono::DateTime::from_timestamp_millis(ms as i64))
    }
}

fn garbage(raw: &str) -> Num {
    Num::Garbage(raw.chars().take(40).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Row {
        #[serde(default)]
        a: Num,
    }

    fn parse(json: &str) -> Num {
        serde_json::from_str::<Row>(json).unwrap().a
    }

    #[test]
    fn numbers_strings_empties_and_garbage() {
        assert_eq!(parse(r#"{"a": 0.0001}"#), Num::Value(0.0001));
        assert_eq!(parse(r#"{"a": "0.00010000"}"#), Num::Value(0.0001));
        assert_eq!(parse(r#"{"a": 1700000000000}"#).get(), Some(1.7e12));
        assert_eq!(parse(r#"{"a": ""}"#), Num::Absent);
        assert_eq!(parse(r#"{"a": null}"#), Num::Absent);
        assert_eq!(parse(r#"{}"#), Num::Absent);
        assert_eq!(parse(r#"{"a": "abc"}"#), Num::Garbage("abc".into()));
        assert_eq!(parse(r#"{"a": "NaN"}"#), Num::Garbage("NaN".into()));
        assert!(matches!(parse(r#"{"a": [1]}"#), Num::Garbage(_)));
    }

    #[test]
    fn absent_is_not_reported_and_garbage_says_what_arrived() {
        assert_eq!(Num::Absent.need("x"), Err(GapReason::NotReported));
        let e = Num::Garbage("abc".into())
            .need("Bybit fundingRate")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "fetch failed: Bybit fundingRate is not a number: \"abc\""
        );
        assert_eq!(
            Num::Value(1_700_000_000_000.0)
                .time_ms()
                .unwrap()
                .timestamp(),
            1_700_000_000
        );
    }
}
