//! The keyless live source: Binance USDⓈ-M, Bybit linear and OKX SWAP public data, aggregated
//! across venues.
//!
//! * [`venue`]: the venue names, how a coin is listed on one, and what one venue reports for one
//!   coin in one cycle (the seam between the venue clients and the aggregation);
//! * [`num`]: numbers as the venues send them (numbers, numeric strings, empty strings);
//! * [`http`]: one venue's REST transport: budget per pool fed by the usage headers, 429 pause,
//!   418/403 ban, 451 region block;
//! * [`stream`]: the reconnecting websocket runner of a venue's liquidation stream;
//! * [`liq`]: rolling-hour liquidation sums per coin and side, with each stream's coverage;
//! * [`source`]: the combined source (`ExchangesSource`) and `check`.

pub(crate) mod http;
pub(crate) mod liq;
pub(crate) mod num;
pub(crate) mod source;
pub(crate) mod stream;
pub mod venue;

pub use source::{check, ExchangesSource, ExchangesStartError, VenueCheck};
pub use venue::Venue;

use std::time::Duration;

/// Where each venue is reached: scheme and host, no path (the clients add the documented paths).
/// Overridden by `BINANCE_FAPI_URL`, `BINANCE_WS_URL`, `BYBIT_API_URL`, `BYBIT_WS_URL`,
/// `OKX_API_URL`, `OKX_WS_URL` (tests and mirrors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueUrls {
    pub binance_fapi: String,
    pub binance_ws: String,
    pub bybit_api: String,
    pub bybit_ws: String,
    pub okx_api: String,
    pub okx_ws: String,
}

impl Default for VenueUrls {
    fn default() -> Self {
        VenueUrls {
            binance_fapi: "https://fapi.binance.com".into(),
            binance_ws: "wss://fstream.binance.com".into(),
            bybit_api: "https://api.bybit.com".into(),
            bybit_ws: "wss://stream.bybit.com".into(),
            okx_api: "https://www.okx.com".into(),
            okx_ws: "wss://ws.okx.com:8443".into(),
        }
    }
}

/// What the exchanges source is asked to watch.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangesConfig {
    /// Coins as configured (`BTC`, `PEPE`).
    pub symbols: Vec<String>,
    /// Venues to read, in display order.
    pub venues: Vec<Venue>,
    /// The venue the retail / top-trader long/short and taker flow come from.
    pub reference: Venue,
    pub urls: VenueUrls,
    pub poll_interval: Duration,
}
