//! History bars: one coin's metrics per interval, as the store keeps them, the backtest replays
//! them and the sources download them. `None` is unknown, never zero.

/// One history bar of one coin. `time_ms` is the period start (CoinGlass convention); every
/// value describes the bar as it stood at its end. `None` is unknown, never zero.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bar {
    pub time_ms: i64,
    /// Reference-pair price OHLC. Imported files carry only `close` (see `replay::prices`).
    pub open: Option<f64>,
    pub high: Option<f64>,
    pub low: Option<f64>,
    pub close: Option<f64>,
    /// Aggregated open interest at the bar's close, USD.
    pub oi_usd: Option<f64>,
    /// OI-weighted funding, normalised to 8 h, percent.
    pub funding_8h_pct: Option<f64>,
    /// USD liquidated during the bar (all exchanges).
    pub liq_long_usd: Option<f64>,
    pub liq_short_usd: Option<f64>,
    /// Global-account long percent on the reference pair (short = 100 − long).
    pub retail_long_pct: Option<f64>,
    /// Top-trader-account long percent on the reference pair.
    pub top_long_pct: Option<f64>,
    /// Taker buy share of the bar's volume on the reference pair, percent.
    pub taker_buy_pct: Option<f64>,
}

/// Value columns of a bar, in [`Bar::values`] order (also the store's column names).
pub const BAR_COLUMNS: [&str; 11] = [
    "open",
    "high",
    "low",
    "close",
    "oi_usd",
    "funding_8h_pct",
    "liq_long_usd",
    "liq_short_usd",
    "retail_long_pct",
    "top_long_pct",
    "taker_buy_pct",
];

impl Bar {
    /// An empty bar (every value unknown) starting at `time_ms`.
    pub fn at(time_ms: i64) -> Bar {
        Bar {
            time_ms,
            ..Bar::default()
        }
    }

    pub fn values(&self) -> [Option<f64>; 11] {
        [
            self.open,
            self.high,
            self.low,
            self.close,
            self.oi_usd,
            self.funding_8h_pct,
            self.liq_long_usd,
            self.liq_short_usd,
            self.retail_long_pct,
            self.top_long_pct,
            self.taker_buy_pct,
        ]
    }

    pub fn from_values(time_ms: i64, v: [Option<f64>; 11]) -> Bar {
        Bar {
            time_ms,
            open: v[0],
            high: v[1],
            low: v[2],
            close: v[3],
            oi_usd: v[4],
            funding_8h_pct: v[5],
            liq_long_usd: v[6],
            liq_short_usd: v[7],
            retail_long_pct: v[8],
            top_long_pct: v[9],
            taker_buy_pct: v[10],
        }
    }
}

/// The history series a bar is assembled from; each fills some of [`BAR_COLUMNS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistorySeries {
    Price,
    OpenInterest,
    Funding,
    Liquidations,
    Retail,
    Top,
    Taker,
}

impl HistorySeries {
    pub const ALL: [HistorySeries; 7] = [
        HistorySeries::Price,
        HistorySeries::OpenInterest,
        HistorySeries::Funding,
        HistorySeries::Liquidations,
        HistorySeries::Retail,
        HistorySeries::Top,
        HistorySeries::Taker,
    ];

    /// Key in `history_coverage`.
    pub fn name(self) -> &'static str {
        match self {
            HistorySeries::Price => "price",
            HistorySeries::OpenInterest => "open_interest",
            HistorySeries::Funding => "funding",
            HistorySeries::Liquidations => "liquidations",
            HistorySeries::Retail => "retail_long_short",
            HistorySeries::Top => "top_long_short",
            HistorySeries::Taker => "taker",
        }
    }

    /// Indexes into [`BAR_COLUMNS`] this series fills.
    pub fn columns(self) -> &'static [usize] {
        match self {
            HistorySeries::Price => &[0, 1, 2, 3],
            HistorySeries::OpenInterest => &[4],
            HistorySeries::Funding => &[5],
            HistorySeries::Liquidations => &[6, 7],
            HistorySeries::Retail => &[8],
            HistorySeries::Top => &[9],
            HistorySeries::Taker => &[10],
        }
    }
}
