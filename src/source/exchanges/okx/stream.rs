//! OKX's `liquidation-orders` channel (instType SWAP) on `/ws/v5/public`. Sizes are contracts:
//! USD = `sz` × coins per contract × `bkPx`. `side = "sell"` (posSide `long`, or `net` in
//! one-way mode) means a LONG position was liquidated; `buy` a short one. The channel does not
//! carry every liquidation (a lower bound).

use super::wire::LiqOrder;
use crate::source::exchanges::bybit::short_frame;
use crate::source::exchanges::venue::{LiqEvent, LiqSide, Parsed};
use serde_json::Value;
use std::collections::HashMap;

/// A watched instrument: its coin and coins per contract.
#[derive(Debug, Clone)]
pub(super) struct Watched {
    pub(super) coin: String,
    pub(super) contract_size: f64,
}

/// One text frame. Liquidations of instruments not in `watched` are dropped.
pub(super) fn parse_frame(frame: &str, watched: &HashMap<String, Watched>) -> Parsed {
    if frame.trim() == "pong" {
        return Parsed::Control;
    }
    let value: Value = match serde_json::from_str(frame) {
        Ok(v) => v,
        Err(e) => return Parsed::Malformed(format!("OKX frame is not JSON: {e}")),
    };
    let Some(obj) = value.as_object() else {
        return Parsed::Malformed(format!(
            "OKX frame is not an object: {}",
            short_frame(frame)
        ));
    };
    if let Some(event) = obj.get("event").and_then(Value::as_str) {
        if event == "error" {
            let text = |k: &str| match obj.get(k) {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            return Parsed::Refused(format!(
                "OKX refused: {} (code {})",
                text("msg"),
                text("code")
            ));
        }
        // subscribe / unsubscribe acks, notices.
        return Parsed::Control;
    }
    let channel = obj
        .get("arg")
        .and_then(|a| a.get("channel"))
        .and_then(Value::as_str);
    if channel != Some("liquidation-orders") {
        return Parsed::Malformed(format!("unknown OKX frame: {}", short_frame(frame)));
    }
    let orders: Vec<&Value> = match obj.get("data") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => return Parsed::Malformed("OKX liquidation-orders without data".into()),
    };
    let mut events = Vec::new();
    for order in orders {
        let order: LiqOrder = match serde_json::from_value(order.clone()) {
            Ok(o) => o,
            Err(e) => return Parsed::Malformed(format!("OKX liquidation order: {e}")),
        };
        let Some(w) = watched.get(&order.inst_id) else {
            continue;
        };
        for d in &order.details {
            match event(&order.inst_id, w, d) {
                Ok(e) => events.push(e),
                Err(why) => return Parsed::Malformed(why),
            }
        }
    }
    Parsed::Events(events)
}

fn event(inst_id: &str, w: &Watched, d: &super::wire::LiqDetail) -> Result<LiqEvent, String> {
    let side = match d.side.as_str() {
        "sell" => LiqSide::Long,
        "buy" => LiqSide::Short,
        other => {
            return Err(format!(
                "OKX {inst_id} liquidation side {other:?} (posSide {:?})",
                d.pos_side
            ))
        }
    };
    let field = |n: &crate::source::exchanges::num::Num, name: &str| {
        n.need(&format!("OKX {inst_id} liquidation {name}"))
            .map_err(|e| e.to_string())
    };
    let contracts = field(&d.sz, "sz")?;
    let price = field(&d.bk_px, "bkPx")?;
    let at =
        d.ts.time_ms()
            .ok_or_else(|| format!("OKX {inst_id} liquidation without ts"))?;
    Ok(LiqEvent {
        coin: w.coin.clone(),
        side,
        usd: contracts * w.contract_size * price,
        at,
    })
}
