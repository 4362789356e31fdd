//! Bybit's `allLiquidation.<SYMBOL>` frames (docs v5 "All Liquidation"): every liquidation,
//! pushed every 500 ms; `data` is an array (one docs table says object: both are accepted).
//! `S = "Buy"` means a LONG position was liquidated; USD = `v` (size) × `p` (bankruptcy price).

use super::short_frame as short;
use super::wire::LiqItem;
use crate::source::exchanges::venue::{LiqEvent, LiqSide, Parsed};
use serde_json::Value;
use std::collections::HashMap;

/// One text frame of the linear public stream. `coins` maps a watched symbol to its coin;
/// liquidations of other symbols are dropped.
pub(super) fn parse_frame(frame: &str, coins: &HashMap<String, String>) -> Parsed {
    let value: Value = match serde_json::from_str(frame) {
        Ok(v) => v,
        Err(e) => return Parsed::Malformed(format!("Bybit frame is not JSON: {e}")),
    };
    let Some(obj) = value.as_object() else {
        return Parsed::Malformed(format!("Bybit frame is not an object: {}", short(frame)));
    };
    if let Some(topic) = obj.get("topic").and_then(Value::as_str) {
        if !topic.starts_with("allLiquidation.") {
            // Not a topic we subscribe to: nothing of ours in it.
            return Parsed::Control;
        }
        let items: Vec<&Value> = match obj.get("data") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(item @ Value::Object(_)) => vec![item],
            _ => return Parsed::Malformed(format!("Bybit {topic} without data")),
        };
        let topic_symbol = topic.trim_start_matches("allLiquidation.");
        let mut events = Vec::with_capacity(items.len());
        for item in items {
            match event(item, topic_symbol, coins) {
                Ok(Some(e)) => events.push(e),
                Ok(None) => {}
                Err(why) => return Parsed::Malformed(why),
            }
        }
        return Parsed::Events(events);
    }
    // Answers to our own requests: subscribe acks and pongs carry `success`/`op`.
    if obj.get("success") == Some(&Value::Bool(false)) {
        let msg = obj.get("ret_msg").and_then(Value::as_str).unwrap_or("");
        return Parsed::Refused(format!("Bybit refused the subscription: {msg}"));
    }
    if obj.contains_key("success") || obj.contains_key("op") {
        return Parsed::Control;
    }
    Parsed::Malformed(format!("unknown Bybit frame: {}", short(frame)))
}

fn event(
    item: &Value,
    topic_symbol: &str,
    coins: &HashMap<String, String>,
) -> Result<Option<LiqEvent>, String> {
    let item: LiqItem =
        serde_json::from_value(item.clone()).map_err(|e| format!("Bybit liquidation item: {e}"))?;
    let symbol = if item.s.is_empty() {
        topic_symbol
    } else {
        &item.s
    };
    let Some(coin) = coins.get(symbol) else {
        return Ok(None);
    };
    let side = match item.side.as_str() {
        "Buy" => LiqSide::Long,
        "Sell" => LiqSide::Short,
        other => return Err(format!("Bybit {symbol} liquidation side {other:?}")),
    };
    let size = item
        .v
        .need(&format!("Bybit {symbol} liquidation v"))
        .map_err(|e| e.to_string())?;
    let price = item
        .p
        .need(&format!("Bybit {symbol} liquidation p"))
        .map_err(|e| e.to_string())?;
    let at = item
        .time
        .time_ms()
        .ok_or_else(|| format!("Bybit {symbol} liquidation without time T"))?;
    Ok(Some(LiqEvent {
        coin: coin.clone(),
        side,
        usd: size * price,
        at,
    }))
}
