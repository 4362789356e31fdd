//! Binance USDⓈ-M answer shapes. Every numeric field is a [`Num`] (numbers, numeric strings,
//! `""`), every field is optional, unknown fields are ignored: a changed field makes only the
//! metric that needs it absent.

use super::super::num::Num;
use serde::Deserialize;

/// `GET /fapi/v1/exchangeInfo`.
#[derive(Debug, Deserialize)]
pub(crate) struct ExchangeInfo {
    #[serde(default)]
    pub symbols: Vec<SymbolInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SymbolInfo {
    pub symbol: Option<String>,
    pub contract_type: Option<String>,
    pub quote_asset: Option<String>,
    pub status: Option<String>,
}

/// One row of `GET /fapi/v1/premiumIndex` (no symbol: every symbol).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PremiumIndex {
    pub symbol: Option<String>,
    #[serde(default)]
    pub mark_price: Num,
    /// Fraction per funding interval.
    #[serde(default)]
    pub last_funding_rate: Num,
    #[serde(default)]
    pub next_funding_time: Num,
}

/// One row of `GET /fapi/v1/ticker/24hr` (no symbol: every symbol).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Ticker24h {
    pub symbol: Option<String>,
    #[serde(default)]
    pub last_price: Num,
    /// Already percent.
    #[serde(default)]
    pub price_change_percent: Num,
}

/// One row of `GET /fapi/v1/fundingInfo`: only symbols whose funding was adjusted are listed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FundingInfo {
    pub symbol: Option<String>,
    #[serde(default)]
    pub funding_interval_hours: Num,
}

/// `GET /fapi/v1/openInterest?symbol=`: contracts (coins of the quoted unit).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OpenInterest {
    #[serde(default)]
    pub open_interest: Num,
}

/// One row of `GET /futures/data/openInterestHist`. Timestamps come as numbers or strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OiHistRow {
    #[serde(default)]
    pub timestamp: Num,
    /// USD.
    #[serde(default)]
    pub sum_open_interest_value: Num,
}

/// One row of `GET /futures/data/globalLongShortAccountRatio` or `topLongShortAccountRatio`:
/// `longAccount` / `shortAccount` are fractions of accounts.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccountRatioRow {
    #[serde(default)]
    pub timestamp: Num,
    #[serde(default)]
    pub long_account: Num,
    #[serde(default)]
    pub short_account: Num,
}

/// One row of `GET /futures/data/takerlongshortRatio`: volumes in the contract's base unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TakerRow {
    #[serde(default)]
    pub timestamp: Num,
    #[serde(default)]
    pub buy_vol: Num,
    #[serde(default)]
    pub sell_vol: Num,
}

/// One row of `GET /fapi/v1/fundingRate` (history).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FundingRateRow {
    #[serde(default)]
    pub funding_rate: Num,
    #[serde(default)]
    pub funding_time: Num,
}

/// One `GET /fapi/v1/klines` row: a positional array
/// `[openTime, open, high, low, close, volume, closeTime, quoteVolume, trades, takerBuyBase, …]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Kline {
    pub open_time: Num,
    pub open: Num,
    pub high: Num,
    pub low: Num,
    pub close: Num,
    /// Base-asset volume.
    pub volume: Num,
    /// Taker-buy base-asset volume.
    pub taker_buy_base: Num,
}

impl<'de> Deserialize<'de> for Kline {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let row = Vec::<serde_json::Value>::deserialize(d)?;
        let at = |i: usize| row.get(i).map_or(Num::Absent, Num::from_json);
        Ok(Kline {
            open_time: at(0),
            open: at(1),
            high: at(2),
            low: at(3),
            close: at(4),
            volume: at(5),
            taker_buy_base: at(9),
        })
    }
}
