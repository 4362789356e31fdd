//! The `forceOrder` frame parser of Binance's all-market liquidation stream
//! (`/market/ws/!forceOrder@arr`). Binance pushes at most one liquidation per symbol per second
//! (the latest), so sums from it are a lower bound.

use super::super::num::Num;
use super::super::venue::{Instrument, LiqEvent, LiqSide, Parsed};
use serde_json::Value;
use std::collections::HashMap;

/// Watched venue ids (`1000PEPEUSDT`) → coin (`PEPE`).
pub(crate) type Watched = HashMap<String, String>;

pub(crate) fn watched(instruments: &[Instrument]) -> Watched {
    instruments
        .iter()
        .map(|i| (i.id.clone(), i.coin.clone()))
        .collect()
}

/// One text frame: a `forceOrder` event, the same wrapped as a combined stream
/// (`{"stream":…,"data":{…}}`), or an array of events.
pub(crate) fn parse_frame(watched: &Watched, text: &str) -> Parsed {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return Parsed::Malformed(format!("not JSON: {e}")),
    };
    let v = match v.get("data") {
        Some(inner) if v.get("stream").is_some() => inner,
        _ => &v,
    };
    match v {
        Value::Array(events) => {
            let mut out = Vec::new();
            for e in events {
                match event(watched, e) {
                    Parsed::Events(mut got) => out.append(&mut got),
                    other => return other,
                }
            }
            Parsed::Events(out)
        }
        Value::Object(_) => event(watched, v),
        _ => Parsed::Malformed(format!("unexpected frame {}", short(text))),
    }
}

fn event(watched: &Watched, v: &Value) -> Parsed {
    if let Some(err) = v.get("error") {
        return Parsed::Refused(format!("Binance refused: {err}"));
    }
    // The answer to a (un)subscribe request: `{"result":null,"id":1}`.
    if v.get("id").is_some() && v.get("e").is_none() {
        return Parsed::Control;
    }
    if v.get("e").and_then(Value::as_str) != Some("forceOrder") {
        return Parsed::Malformed(format!("not a forceOrder event: {}", short(&v.to_string())));
    }
    let Some(o) = v.get("o") else {
        return Parsed::Malformed("forceOrder without its order (\"o\")".into());
    };
    let Some(symbol) = o.get("s").and_then(Value::as_str) else {
        return Parsed::Malformed("forceOrder without a symbol (o.s)".into());
    };
    let Some(coin) = watched.get(symbol) else {
        return Parsed::Events(Vec::new());
    };
    // The liquidation engine sells a long position and buys back a short one.
    let side = match o.get("S").and_then(Value::as_str) {
        Some("SELL") => LiqSide::Long,
        Some("BUY") => LiqSide::Short,
        other => return Parsed::Malformed(format!("forceOrder {symbol}: side o.S = {other:?}")),
    };
    let num = |k: &str| o.get(k).map_or(Num::Absent, Num::from_json).get();
    // Filled quantity × average price; the order's quantity × price when nothing says filled.
    let usd = match (num("z"), num("ap")) {
        (Some(z), Some(ap)) if z > 0.0 && ap > 0.0 => z * ap,
        _ => match (num("q"), num("p")) {
            (Some(q), Some(p)) if q > 0.0 && p > 0.0 => q * p,
            _ => {
                return Parsed::Malformed(format!(
                    "forceOrder {symbol}: no size (z×ap or q×p) in {}",
                    short(&o.to_string())
                ))
            }
        },
    };
    let at = o
        .get("T")
        .or_else(|| v.get("E"))
        .map_or(Num::Absent, Num::from_json)
        .time_ms();
    let Some(at) = at else {
        return Parsed::Malformed(format!("forceOrder {symbol}: no trade time (o.T)"));
    };
    Parsed::Events(vec![LiqEvent {
        coin: coin.clone(),
        side,
        usd,
        at,
    }])
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}
