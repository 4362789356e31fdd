//! Bybit v5 answers as documented (bybit-exchange.github.io/docs/v5): every number may come as
//! a number or a numeric string, `""` is absent, unknown fields are ignored.

use crate::source::exchanges::num::Num;
use serde::Deserialize;

/// `{retCode, retMsg, result, time}`; `result` is decoded per endpoint once `retCode` is 0.
#[derive(Debug, Deserialize)]
pub(super) struct Envelope {
    #[serde(rename = "retCode", default)]
    pub(super) ret_code: Num,
    #[serde(rename = "retMsg", default)]
    pub(super) ret_msg: serde_json::Value,
    #[serde(default)]
    pub(super) result: serde_json::Value,
}

/// `result` of a list endpoint, with the paging cursor where there is one.
#[derive(Debug, Deserialize)]
pub(super) struct ListResult<T> {
    #[serde(default = "Vec::new")]
    pub(super) list: Vec<T>,
    #[serde(rename = "nextPageCursor", default)]
    pub(super) next_page_cursor: Option<String>,
}

/// `/v5/market/instruments-info?category=linear` row.
#[derive(Debug, Deserialize)]
pub(super) struct InstrumentRow {
    #[serde(default)]
    pub(super) symbol: String,
    #[serde(rename = "contractType", default)]
    pub(super) contract_type: String,
    #[serde(default)]
    pub(super) status: String,
    #[serde(rename = "baseCoin", default)]
    pub(super) base_coin: String,
    #[serde(rename = "quoteCoin", default)]
    pub(super) quote_coin: String,
    /// Minutes (a JSON integer in the docs' example; a string is accepted too).
    #[serde(rename = "fundingInterval", default)]
    pub(super) funding_interval: Num,
}

/// `/v5/market/tickers?category=linear` row.
#[derive(Debug, Deserialize)]
pub(super) struct TickerRow {
    #[serde(default)]
    pub(super) symbol: String,
    #[serde(rename = "lastPrice", default)]
    pub(super) last_price: Num,
    /// A fraction: 0.14 = 14 %.
    #[serde(rename = "price24hPcnt", default)]
    pub(super) price_24h_pcnt: Num,
    #[serde(rename = "prevPrice1h", default)]
    pub(super) prev_price_1h: Num,
    /// Fraction per funding interval.
    #[serde(rename = "fundingRate", default)]
    pub(super) funding_rate: Num,
    #[serde(rename = "nextFundingTime", default)]
    pub(super) next_funding_time: Num,
    /// One side (long = short), USD: the figure comparable with Binance and OKX (Bybit
    /// announcement "Update to the Open Interest (OI) calculation method", 2026-06-11).
    #[serde(rename = "singleOpenInterestValue", default)]
    pub(super) single_open_interest_value: Num,
    /// The sum of both sides (long + short), USD.
    #[serde(rename = "openInterestValue", default)]
    pub(super) open_interest_value: Num,
}

/// `/v5/market/open-interest` row: quantities in coins (of the quoted unit).
#[derive(Debug, Deserialize)]
pub(super) struct OiRow {
    /// Documented as "the sum of both sides".
    #[serde(rename = "openInterest", default)]
    pub(super) open_interest: Num,
    #[serde(rename = "singleOpenInterest", default)]
    pub(super) single_open_interest: Num,
    #[serde(default)]
    pub(super) timestamp: Num,
}

/// `/v5/market/account-ratio` row: fractions of accounts net long / net short.
#[derive(Debug, Deserialize)]
pub(super) struct RatioRow {
    #[serde(rename = "buyRatio", default)]
    pub(super) buy_ratio: Num,
    #[serde(rename = "sellRatio", default)]
    pub(super) sell_ratio: Num,
    #[serde(default)]
    pub(super) timestamp: Num,
}

/// An `allLiquidation.<SYMBOL>` item.
#[derive(Debug, Deserialize)]
pub(super) struct LiqItem {
    #[serde(rename = "T", default)]
    pub(super) time: Num,
    #[serde(default)]
    pub(super) s: String,
    /// `Buy`: a long position was liquidated.
    #[serde(rename = "S", default)]
    pub(super) side: String,
    #[serde(default)]
    pub(super) v: Num,
    #[serde(default)]
    pub(super) p: Num,
}
