//! Serde shapes of the CoinGlass V4 answers perpwatch reads (see `docs/coinglass-v4.md`).
//!
//! Rules applied everywhere:
//! * every numeric field goes through [`de::opt_num`]: a JSON number or a numeric string; missing,
//!   `null`, `""` or anything unparseable is `None`, never `0`;
//! * `time` fields are epoch milliseconds, number or string ([`de::opt_ms`]);
//! * unknown keys are ignored (serde's default), lists that are `null` read as empty;
//! * exchange names are kept as sent; compare them with [`same_exchange`].

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Lenient deserializers shared by every wire type.
pub(crate) mod de {
    use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde::Deserialize;
    use std::fmt;

    /// What a lenient scalar turned out to be.
    enum Scalar {
        Num(f64),
        Text(String),
        Bool(bool),
        Nothing,
    }

    struct ScalarVisitor;

    impl<'de> Visitor<'de> for ScalarVisitor {
        type Value = Scalar;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number, a string, a boolean or null")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
            Ok(Scalar::Bool(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
            Ok(Scalar::Num(v as f64))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
            Ok(Scalar::Num(v as f64))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
            Ok(Scalar::Num(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
            Ok(Scalar::Text(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
            Ok(Scalar::Text(v))
        }
        fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
            Ok(Scalar::Nothing)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
            Ok(Scalar::Nothing)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
            d.deserialize_any(ScalarVisitor)
        }
        // An object or array where a scalar belongs is "unparseable": drain it, report nothing.
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Scalar::Nothing)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Scalar::Nothing)
        }
    }

    fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }

    /// Parses a numeric string; `None` for empty, non-numeric or non-finite text.
    pub(crate) fn parse_num(s: &str) -> Option<f64> {
        let t = s.trim();
        if t.is_empty() {
            return None;
        }
        t.parse::<f64>().ok().filter(|v| v.is_finite())
    }

    /// `Option<f64>` from a number or a numeric string; absent/null/""/garbage → `None`.
    pub(crate) fn opt_num<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(match scalar(d)? {
            Scalar::Num(v) if v.is_finite() => Some(v),
            Scalar::Text(s) => parse_num(&s),
            _ => None,
        })
    }

    /// Epoch milliseconds from a number or a numeric string.
    pub(crate) fn opt_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(opt_num(d)?
            .filter(|v| v.abs() < 9.0e15)
            .map(|v| v.round() as i64))
    }

    /// `Option<bool>` from `true`, `"true"`, `1`, `"1"` (and the false forms).
    pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(match scalar(d)? {
            Scalar::Bool(b) => Some(b),
            Scalar::Num(v) => Some(v != 0.0),
            Scalar::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            Scalar::Nothing => None,
        })
    }

    /// `Option<String>` from a string or a number (a `code` of `0` reads as `"0"`).
    pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match scalar(d)? {
            Scalar::Text(s) => Some(s),
            Scalar::Num(v) if v.fract() == 0.0 && v.abs() < 1e15 => Some(format!("{}", v as i64)),
            Scalar::Num(v) => Some(v.to_string()),
            Scalar::Bool(b) => Some(b.to_string()),
            Scalar::Nothing => None,
        })
    }

    /// A name field: string (or number) → `String`; missing/null → `""`.
    pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(opt_text(d)?.unwrap_or_default())
    }

    /// A list that may be `null`.
    pub(crate) fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
    }
}

/// Other spellings of one venue across endpoints (and across the years): each pair is
/// (spelling, canonical key), both as [`exchange_key`] reduces them (lower case, letters and
/// digits only). The one place where such names are matched.
const EXCHANGE_ALIASES: &[(&str, &str)] = &[
    ("gateio", "gate"),
    ("okex", "okx"),
    ("huobi", "htx"),
    ("huobiglobal", "htx"),
    ("huobipro", "htx"),
    ("bybitperpetual", "bybit"),
    ("kucoinfutures", "kucoin"),
    ("krakenfutures", "kraken"),
    ("mxc", "mexc"),
    ("binancefutures", "binance"),
    ("bitgetfutures", "bitget"),
];

/// The key two exchange names compare by: lower case, letters and digits only, then the alias
/// table (`Gate.io` → `gate`, `OKEx` → `okx`, `Huobi` → `htx`).
pub(crate) fn exchange_key(name: &str) -> String {
    let key: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    EXCHANGE_ALIASES
        .iter()
        .find(|(alias, _)| *alias == key)
        .map(|(_, canonical)| (*canonical).to_owned())
        .unwrap_or(key)
}

/// Exchange-name comparison across endpoints: case, punctuation and the known other
/// spellings do not matter (`BINANCE` == `Binance`, `Gate.io` == `Gate`, `OKEx` == `OKX`).
pub(crate) fn same_exchange(a: &str, b: &str) -> bool {
    exchange_key(a) == exchange_key(b)
}

/// Epoch milliseconds → UTC time (`None` when out of range).
pub(crate) fn ms_to_time(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

// ---------------------------------------------------------------------------------------------
// Envelope
// ---------------------------------------------------------------------------------------------

/// `{"code":"0","msg":"success","data":...}`; `data` is decoded separately so that an envelope
/// error and a data-shape error can be told apart.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Envelope {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub code: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub msg: Option<String>,
    #[serde(default)]
    pub data: Option<serde_json::Value>,
}

// ---------------------------------------------------------------------------------------------
// Snapshot endpoints
// ---------------------------------------------------------------------------------------------

/// `/api/futures/funding-rate/exchange-list`: one row per coin.
#[derive(Debug, Clone, Deserialize)]
pub struct FundingCoin {
    #[serde(default, deserialize_with = "de::text")]
    pub symbol: String,
    #[serde(default, deserialize_with = "de::list")]
    pub stablecoin_margin_list: Vec<FundingRow>,
    // Kept apart rather than as a serde alias: an answer carrying both keys must not fail.
    #[serde(default, deserialize_with = "de::list")]
    pub token_margin_list: Vec<FundingRow>,
    #[serde(default, deserialize_with = "de::list")]
    pub coin_margin_list: Vec<FundingRow>,
}

impl FundingCoin {
    /// Token-margined rows, whichever of `token_margin_list` / `coin_margin_list` was sent.
    pub fn token_rows(&self) -> &[FundingRow] {
        if self.token_margin_list.is_empty() {
            &self.coin_margin_list
        } else {
            &self.token_margin_list
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct FundingRow {
    #[serde(default, deserialize_with = "de::text")]
    pub exchange: String,
    /// Percent per funding interval.
    #[serde(default, deserialize_with = "de::opt_num")]
    pub funding_rate: Option<f64>,
    /// Hours.
    #[serde(default, deserialize_with = "de::opt_num")]
    pub funding_rate_interval: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_ms")]
    pub next_funding_time: Option<i64>,
}

/// `/api/futures/open-interest/exchange-list`: first row `exchange: "All"`.
#[derive(Debug, Clone, Deserialize)]
pub struct OiExchangeRow {
    #[serde(default, deserialize_with = "de::text")]
    pub exchange: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub symbol: Option<String>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open_interest_usd: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open_interest_quantity: Option<f64>,
    /// USD open interest of the stablecoin-margined (USDT/USD-settled) contracts only: the
    /// weight of the stablecoin-margined funding rows.
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open_interest_by_stable_coin_margin: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open_interest_change_percent_5m: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open_interest_change_percent_15m: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open_interest_change_percent_30m: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open_interest_change_percent_1h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open_interest_change_percent_4h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open_interest_change_percent_24h: Option<f64>,
}

/// `/api/futures/liquidation/exchange-list`: first row `exchange: "All"`.
///
/// The V4 docs spell the sides `long_liquidation_usd` / `short_liquidation_usd`; answers
/// recorded from the V4 host by public clients spell them `longLiquidation_usd` /
/// `shortLiquidation_usd`. Both are read, as separate fields rather than a serde alias (an
/// object carrying both must not fail); [`LiquidationExchangeRow::long_usd`] and
/// [`LiquidationExchangeRow::short_usd`] prefer the documented one.
#[derive(Debug, Clone, Deserialize)]
pub struct LiquidationExchangeRow {
    #[serde(default, deserialize_with = "de::text")]
    pub exchange: String,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub liquidation_usd: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub long_liquidation_usd: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub short_liquidation_usd: Option<f64>,
    /// The recorded spelling of `long_liquidation_usd`.
    #[serde(
        default,
        rename = "longLiquidation_usd",
        deserialize_with = "de::opt_num"
    )]
    pub long_liquidation_usd_recorded: Option<f64>,
    /// The recorded spelling of `short_liquidation_usd`.
    #[serde(
        default,
        rename = "shortLiquidation_usd",
        deserialize_with = "de::opt_num"
    )]
    pub short_liquidation_usd_recorded: Option<f64>,
}

impl LiquidationExchangeRow {
    /// Longs liquidated (USD), whichever spelling carried a number (the documented one first).
    pub fn long_usd(&self) -> Option<f64> {
        self.long_liquidation_usd
            .or(self.long_liquidation_usd_recorded)
    }

    /// Shorts liquidated (USD), whichever spelling carried a number (the documented one first).
    pub fn short_usd(&self) -> Option<f64> {
        self.short_liquidation_usd
            .or(self.short_liquidation_usd_recorded)
    }
}

/// `/api/futures/taker-buy-sell-volume/exchange-list`: an OBJECT, not a list.
#[derive(Debug, Clone, Deserialize)]
pub struct TakerExchangeList {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub symbol: Option<String>,
    /// Percent.
    #[serde(default, deserialize_with = "de::opt_num")]
    pub buy_ratio: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub sell_ratio: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub buy_vol_usd: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub sell_vol_usd: Option<f64>,
    #[serde(default, deserialize_with = "de::list")]
    pub exchange_list: Vec<TakerExchangeRow>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TakerExchangeRow {
    #[serde(default, deserialize_with = "de::text")]
    pub exchange: String,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub buy_ratio: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub sell_ratio: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub buy_vol_usd: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub sell_vol_usd: Option<f64>,
}

/// `/api/futures/pairs-markets`: one row per exchange pair of a coin.
#[derive(Debug, Clone, Deserialize)]
pub struct PairMarket {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub instrument_id: Option<String>,
    #[serde(default, deserialize_with = "de::text")]
    pub exchange_name: String,
    /// e.g. `BTC/USDT` where sent.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub symbol: Option<String>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub current_price: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub price_change_percent_1h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub price_change_percent_24h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open_interest_usd: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub funding_rate: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_ms")]
    pub next_funding_time: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub long_liquidation_usd_24h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub short_liquidation_usd_24h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub long_volume_usd: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub short_volume_usd: Option<f64>,
}

/// `/api/futures/coins-markets` (Standard+): one row per coin.
#[derive(Debug, Clone, Deserialize)]
pub struct CoinMarket {
    #[serde(default, deserialize_with = "de::text")]
    pub symbol: String,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub current_price: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub avg_funding_rate_by_oi: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub avg_funding_rate_by_vol: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open_interest_usd: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open_interest_change_percent_5m: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open_interest_change_percent_15m: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open_interest_change_percent_30m: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open_interest_change_percent_1h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open_interest_change_percent_4h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open_interest_change_percent_24h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub price_change_percent_5m: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub price_change_percent_15m: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub price_change_percent_30m: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub price_change_percent_1h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub price_change_percent_4h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub price_change_percent_24h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub long_short_ratio_1h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub long_short_ratio_4h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub long_short_ratio_24h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub liquidation_usd_1h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub long_liquidation_usd_1h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub short_liquidation_usd_1h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub liquidation_usd_4h: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub liquidation_usd_24h: Option<f64>,
}

/// `/api/user/account/subscription`.
#[derive(Debug, Clone, Deserialize)]
pub struct Subscription {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub level: Option<String>,
    #[serde(default, deserialize_with = "de::opt_ms")]
    pub expire_time: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub expired: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// History endpoints (rows ascend; `time` is the bar's period start)
// ---------------------------------------------------------------------------------------------

/// One bar of the global / top-account / top-position long/short history. The three endpoints
/// differ only in their field prefix, so one shape reads all of them.
#[derive(Debug, Clone, Deserialize)]
pub struct LongShortBar {
    #[serde(default, deserialize_with = "de::opt_ms")]
    pub time: Option<i64>,
    #[serde(
        default,
        deserialize_with = "de::opt_num",
        alias = "global_account_long_percent",
        alias = "top_account_long_percent",
        alias = "top_position_long_percent"
    )]
    pub long_percent: Option<f64>,
    #[serde(
        default,
        deserialize_with = "de::opt_num",
        alias = "global_account_short_percent",
        alias = "top_account_short_percent",
        alias = "top_position_short_percent"
    )]
    pub short_percent: Option<f64>,
    #[serde(
        default,
        deserialize_with = "de::opt_num",
        alias = "global_account_long_short_ratio",
        alias = "top_account_long_short_ratio",
        alias = "top_position_long_short_ratio"
    )]
    pub long_short_ratio: Option<f64>,
}

/// OHLC bar: OI aggregated history, funding OI/vol-weighted history, price history.
#[derive(Debug, Clone, Deserialize)]
pub struct OhlcBar {
    #[serde(default, deserialize_with = "de::opt_ms")]
    pub time: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub open: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub high: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub low: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_num")]
    pub close: Option<f64>,
    /// Price history only.
    #[serde(default, deserialize_with = "de::opt_num")]
    pub volume_usd: Option<f64>,
}

/// Liquidation history bar (aggregated or one pair), per-bar totals in USD.
#[derive(Debug, Clone, Deserialize)]
pub struct LiquidationBar {
    #[serde(default, deserialize_with = "de::opt_ms")]
    pub time: Option<i64>,
    #[serde(
        default,
        deserialize_with = "de::opt_num",
        alias = "aggregated_long_liquidation_usd"
    )]
    pub long_liquidation_usd: Option<f64>,
    #[serde(
        default,
        deserialize_with = "de::opt_num",
        alias = "aggregated_short_liquidation_usd"
    )]
    pub short_liquidation_usd: Option<f64>,
}

/// Taker buy/sell history bar (aggregated or one pair), USD.
#[derive(Debug, Clone, Deserialize)]
pub struct TakerBar {
    #[serde(default, deserialize_with = "de::opt_ms")]
    pub time: Option<i64>,
    #[serde(
        default,
        deserialize_with = "de::opt_num",
        alias = "aggregated_buy_volume_usd",
        alias = "taker_buy_volume_usd"
    )]
    pub buy_volume_usd: Option<f64>,
    #[serde(
        default,
        deserialize_with = "de::opt_num",
        alias = "aggregated_sell_volume_usd",
        alias = "taker_sell_volume_usd"
    )]
    pub sell_volume_usd: Option<f64>,
}

/// `/api/futures/supported-exchanges`: sources disagree on plain names vs objects, so both read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeName(pub String);

impl<'de> Deserialize<'de> for ExchangeName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Obj {
            #[serde(default, deserialize_with = "de::opt_text", alias = "exchange_name")]
            exchange: Option<String>,
            #[serde(default, deserialize_with = "de::opt_text")]
            name: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Plain(String),
            Obj(Obj),
        }
        match Either::deserialize(d)? {
            Either::Plain(s) => Ok(ExchangeName(s)),
            Either::Obj(o) => o
                .exchange
                .or(o.name)
                .map(ExchangeName)
                .ok_or_else(|| serde::de::Error::custom("exchange entry without a name")),
        }
    }
}

/// One pair of `/api/futures/supported-exchange-pairs` (keyed by exchange in the answer).
#[derive(Debug, Clone, Deserialize)]
pub struct ExchangePair {
    #[serde(default, deserialize_with = "de::text")]
    pub instrument_id: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub base_asset: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub quote_asset: Option<String>,
}

/// `/api/futures/supported-exchange-pairs`: exchange name → pairs.
pub(crate) type ExchangePairs = BTreeMap<String, Vec<ExchangePair>>;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct N {
        #[serde(default, deserialize_with = "de::opt_num")]
        v: Option<f64>,
    }

    fn n(j: serde_json::Value) -> Option<f64> {
        serde_json::from_value::<N>(j)
            .map(|n| n.v)
            .unwrap_or(Some(-999.0))
    }

    #[test]
    fn numbers_and_numeric_strings_read_the_same() {
        assert_eq!(n(json!({"v": 1.5})), Some(1.5));
        assert_eq!(n(json!({"v": "1.5"})), Some(1.5));
        assert_eq!(n(json!({"v": " -0.0042 "})), Some(-0.0042));
        assert_eq!(n(json!({"v": 7})), Some(7.0));
        assert_eq!(n(json!({"v": "1e3"})), Some(1000.0));
    }

    #[test]
    fn absent_null_empty_and_garbage_are_none_not_zero() {
        assert_eq!(n(json!({})), None);
        assert_eq!(n(json!({"v": null})), None);
        assert_eq!(n(json!({"v": ""})), None);
        assert_eq!(n(json!({"v": "n/a"})), None);
        assert_eq!(n(json!({"v": "NaN"})), None);
        assert_eq!(n(json!({"v": {"x": 1}})), None);
        assert_eq!(n(json!({"v": [1, 2]})), None);
        assert_eq!(n(json!({"v": true})), None);
    }

    #[test]
    fn funding_accepts_coin_margin_alias_and_null_lists() {
        let rows: Vec<FundingCoin> = serde_json::from_value(json!([
            {"symbol": "BTC", "stablecoin_margin_list": null,
             "coin_margin_list": [{"exchange": "BINANCE", "funding_rate": "0.01",
                                   "funding_rate_interval": 8, "next_funding_time": "1700000000000"}]},
            {"symbol": "ETH", "token_margin_list": [{"exchange": "OKX", "funding_rate": 0.02}],
             "coin_margin_list": []}
        ]))
        .unwrap();
        assert!(rows[0].stablecoin_margin_list.is_empty());
        assert_eq!(rows[0].token_rows().len(), 1);
        assert_eq!(rows[0].token_rows()[0].funding_rate, Some(0.01));
        assert_eq!(
            rows[0].token_rows()[0].next_funding_time,
            Some(1_700_000_000_000)
        );
        assert_eq!(rows[1].token_rows()[0].exchange, "OKX");
        assert_eq!(rows[1].token_rows()[0].funding_rate_interval, None);
    }

    #[test]
    fn long_short_bar_reads_every_prefix() {
        let g: LongShortBar =
            serde_json::from_value(json!({"time": 1, "global_account_long_percent": "61.2",
            "global_account_short_percent": 38.8, "global_account_long_short_ratio": "1.58"}))
            .unwrap();
        let t: LongShortBar = serde_json::from_value(
            json!({"time": "2", "top_account_long_percent": 55, "top_account_short_percent": "45"}),
        )
        .unwrap();
        assert_eq!(
            (g.time, g.long_percent, g.short_percent, g.long_short_ratio),
            (Some(1), Some(61.2), Some(38.8), Some(1.58))
        );
        assert_eq!(
            (t.time, t.long_percent, t.short_percent, t.long_short_ratio),
            (Some(2), Some(55.0), Some(45.0), None)
        );
    }

    #[test]
    fn supported_exchanges_accept_names_or_objects() {
        let a: Vec<ExchangeName> = serde_json::from_value(json!(["Binance", "OKX"])).unwrap();
        let b: Vec<ExchangeName> =
            serde_json::from_value(json!([{"exchange_name": "Binance"}, {"name": "OKX"}])).unwrap();
        assert_eq!(a, b);
        assert!(serde_json::from_value::<Vec<ExchangeName>>(json!([{"x": 1}])).is_err());
    }

    #[test]
    fn exchange_names_compare_case_insensitively() {
        assert!(same_exchange("BINANCE", "Binance"));
        assert!(same_exchange(" okx", "OKX"));
        assert!(!same_exchange("Bybit", "Binance"));
    }

    #[test]
    fn exchange_names_match_across_their_other_spellings() {
        for (a, b) in [
            ("Gate.io", "Gate"),
            ("GATEIO", "gate"),
            ("OKEx", "OKX"),
            ("Huobi", "HTX"),
            ("Huobi Global", "htx"),
            ("Crypto.com", "crypto.com"),
            ("KuCoin Futures", "KuCoin"),
        ] {
            assert!(same_exchange(a, b), "{a} vs {b}");
            assert_eq!(exchange_key(a), exchange_key(b));
        }
        assert_eq!(exchange_key("Gate.io"), "gate");
        assert!(!same_exchange("Gate", "Bitget"));
        assert!(!same_exchange("OKX", "HTX"));
    }

    #[test]
    fn liquidation_rows_read_the_documented_and_the_recorded_spelling() {
        let rows: Vec<LiquidationExchangeRow> = serde_json::from_value(json!([
            // Recorded from the V4 host.
            {"exchange": "All", "liquidation_usd": 3.5e7,
             "longLiquidation_usd": 3e7, "shortLiquidation_usd": "5e6"},
            // As documented.
            {"exchange": "Binance", "long_liquidation_usd": 1e7, "short_liquidation_usd": 2e6},
            // Both: the documented one wins when it is a number, the other fills a null.
            {"exchange": "Bybit", "long_liquidation_usd": 7.0, "longLiquidation_usd": 9.0,
             "short_liquidation_usd": null, "shortLiquidation_usd": 4.0},
            // Neither: absent, not zero.
            {"exchange": "OKX", "liquidation_usd": 1.0}
        ]))
        .unwrap();
        let sides: Vec<_> = rows.iter().map(|r| (r.long_usd(), r.short_usd())).collect();
        assert_eq!(
            sides,
            [
                (Some(3e7), Some(5e6)),
                (Some(1e7), Some(2e6)),
                (Some(7.0), Some(4.0)),
                (None, None)
            ]
        );
    }

    #[test]
    fn oi_rows_read_the_stablecoin_margined_share() {
        let r: OiExchangeRow = serde_json::from_value(json!({"exchange": "Binance",
            "open_interest_usd": 1e10, "open_interest_by_stable_coin_margin": "6e9"}))
        .unwrap();
        assert_eq!(r.open_interest_by_stable_coin_margin, Some(6e9));
        let r: OiExchangeRow =
            serde_json::from_value(json!({"exchange": "OKX", "open_interest_usd": 1e9})).unwrap();
        assert_eq!(r.open_interest_by_stable_coin_margin, None);
    }

    #[test]
    fn envelope_code_may_be_a_number_and_msg_absent() {
        let e: Envelope =
            serde_json::from_value(json!({"code": 0, "data": [], "success": true})).unwrap();
        assert_eq!(e.code.as_deref(), Some("0"));
        assert_eq!(e.msg, None);
    }
}
