//! OKX v5 answers as documented (okx.com/docs-v5): all numbers are strings, `""` is absent,
//! unknown fields are ignored; the trading-statistics (rubik) endpoints answer rows of arrays.

use crate::source::exchanges::num::Num;
use serde::Deserialize;

/// `{code: "0", msg, data}`.
#[derive(Debug, Deserialize)]
pub(super) struct Envelope {
    #[serde(default)]
    pub(super) code: Num,
    #[serde(default)]
    pub(super) msg: serde_json::Value,
    #[serde(default)]
    pub(super) data: serde_json::Value,
}

/// `/api/v5/public/instruments?instType=SWAP` row.
#[derive(Debug, Deserialize)]
pub(super) struct InstrumentRow {
    #[serde(rename = "instId", default)]
    pub(super) inst_id: String,
    #[serde(rename = "instFamily", default)]
    pub(super) inst_family: String,
    #[serde(default)]
    pub(super) uly: String,
    #[serde(rename = "settleCcy", default)]
    pub(super) settle_ccy: String,
    #[serde(rename = "ctType", default)]
    pub(super) ct_type: String,
    #[serde(default)]
    pub(super) state: String,
    /// Contract value: coins (`ctValCcy`) per contract.
    #[serde(rename = "ctVal", default)]
    pub(super) ct_val: Num,
    /// Contract multiplier (1 on linear swaps; applied when present).
    #[serde(rename = "ctMult", default)]
    pub(super) ct_mult: Num,
}

/// `/api/v5/public/funding-rate?instId=ANY` row.
#[derive(Debug, Deserialize)]
pub(super) struct FundingRow {
    #[serde(rename = "instId", default)]
    pub(super) inst_id: String,
    /// Fraction for the period settling at `fundingTime`.
    #[serde(rename = "fundingRate", default)]
    pub(super) funding_rate: Num,
    /// The coming settlement.
    #[serde(rename = "fundingTime", default)]
    pub(super) funding_time: Num,
    /// The settlement after it: the interval is `nextFundingTime − fundingTime`.
    #[serde(rename = "nextFundingTime", default)]
    pub(super) next_funding_time: Num,
}

/// `/api/v5/public/open-interest?instType=SWAP` row.
#[derive(Debug, Deserialize)]
pub(super) struct OiRow {
    #[serde(rename = "instId", default)]
    pub(super) inst_id: String,
    #[serde(rename = "oiCcy", default)]
    pub(super) oi_ccy: Num,
    #[serde(rename = "oiUsd", default)]
    pub(super) oi_usd: Num,
}

/// `/api/v5/market/tickers?instType=SWAP` row.
#[derive(Debug, Deserialize)]
pub(super) struct TickerRow {
    #[serde(rename = "instId", default)]
    pub(super) inst_id: String,
    #[serde(default)]
    pub(super) last: Num,
    /// Open price 24 hours ago (rolling, like Binance's and Bybit's 24 h change; `sodUtc0` is
    /// the UTC day's open and would be a different figure).
    #[serde(rename = "open24h", default)]
    pub(super) open_24h: Num,
}

/// A `liquidation-orders` push item.
#[derive(Debug, Deserialize)]
pub(super) struct LiqOrder {
    #[serde(rename = "instId", default)]
    pub(super) inst_id: String,
    #[serde(default)]
    pub(super) details: Vec<LiqDetail>,
}

#[derive(Debug, Deserialize)]
pub(super) struct LiqDetail {
    /// `sell`: a long position (posSide `long`, or `net`) was liquidated.
    #[serde(default)]
    pub(super) side: String,
    #[serde(rename = "posSide", default)]
    pub(super) pos_side: String,
    /// Contracts.
    #[serde(default)]
    pub(super) sz: Num,
    /// Bankruptcy price.
    #[serde(rename = "bkPx", default)]
    pub(super) bk_px: Num,
    #[serde(default)]
    pub(super) ts: Num,
}
