//! History bars from the V4 history endpoints: one page of one [`HistorySeries`] at a time, as
//! [`Bar`]s with only that series' columns set. The backtest asks for pages through
//! [`CoinGlassClient::history_page`] and never sees a path or a wire shape.
//!
//! **Funding normalisation (assumption).** The OI-weighted funding history is a percentage per
//! funding interval. It is a blend across exchanges, and the answer does not say which interval
//! it is quoted on; the big venues' BTC/ETH perpetuals settle every 8 h, so perpwatch takes it as
//! an 8 h rate (factor 8/8). For a coin traded mostly on 4 h or 1 h venues this understates the
//! 8 h equivalent by 2× or 8×.

use super::client::{ApiError, CoinGlassClient, HistoryQuery, LongShortKind};
use super::wire::{LiquidationBar, LongShortBar, OhlcBar, TakerBar};
use crate::model::{funding_to_8h, Bar, HistorySeries};

/// The interval the OI-weighted funding history is taken to be quoted on (see module docs).
pub(crate) const FUNDING_HISTORY_INTERVAL_H: f64 = 8.0;

/// Whose history: the coin (aggregated series) and its reference pair on one exchange
/// (price, long/short, taker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryTarget {
    pub coin: String,
    pub exchange: String,
    /// The exchange's pair id, e.g. `BTCUSDT`.
    pub pair: String,
}

impl CoinGlassClient {
    /// One page of `series` as bars (only this series' values set). `exchanges` is the list the
    /// aggregated liquidation history sums over (the API has no "all" value).
    pub async fn history_page(
        &self,
        series: HistorySeries,
        target: &HistoryTarget,
        exchanges: &[String],
        q: &HistoryQuery,
    ) -> Result<Vec<Bar>, ApiError> {
        let ohlc = |rows: Vec<OhlcBar>, f: fn(&OhlcBar, &mut Bar)| bars_of(rows, |r| r.time, f);
        let ls =
            |rows: Vec<LongShortBar>, f: fn(&LongShortBar, &mut Bar)| bars_of(rows, |r| r.time, f);
        let (coin, exchange, pair) = (&target.coin, &target.exchange, &target.pair);
        Ok(match series {
            HistorySeries::Price => ohlc(self.price_history(exchange, pair, q).await?, |r, b| {
                (b.open, b.high, b.low, b.close) = (r.open, r.high, r.low, r.close);
            }),
            HistorySeries::OpenInterest => {
                ohlc(self.oi_aggregated_history(coin, q).await?, |r, b| {
                    b.oi_usd = r.close;
                })
            }
            HistorySeries::Funding => {
                ohlc(self.funding_oi_weight_history(coin, q).await?, |r, b| {
                    b.funding_8h_pct = r
                        .close
                        .map(|c| funding_to_8h(c, Some(FUNDING_HISTORY_INTERVAL_H)));
                })
            }
            HistorySeries::Liquidations => bars_of(
                self.liquidation_aggregated_history(coin, exchanges, q)
                    .await?,
                |r: &LiquidationBar| r.time,
                |r, b| {
                    (b.liq_long_usd, b.liq_short_usd) =
                        (r.long_liquidation_usd, r.short_liquidation_usd);
                },
            ),
            HistorySeries::Retail => ls(
                self.long_short_history(LongShortKind::GlobalAccount, exchange, pair, q)
                    .await?,
                |r, b| b.retail_long_pct = r.long_percent,
            ),
            HistorySeries::Top => ls(
                self.long_short_history(LongShortKind::TopAccount, exchange, pair, q)
                    .await?,
                |r, b| b.top_long_pct = r.long_percent,
            ),
            HistorySeries::Taker => bars_of(
                self.taker_pair_history(exchange, pair, q).await?,
                |r: &TakerBar| r.time,
                |r, b| {
                    b.taker_buy_pct = match (r.buy_volume_usd, r.sell_volume_usd) {
                        (Some(buy), Some(sell)) if buy + sell > 0.0 => {
                            Some(buy / (buy + sell) * 100.0)
                        }
                        _ => None,
                    };
                },
            ),
        })
    }
}

/// Rows with a time become bars; `fill` sets this series' values.
fn bars_of<R>(rows: Vec<R>, time: fn(&R) -> Option<i64>, fill: fn(&R, &mut Bar)) -> Vec<Bar> {
    rows.iter()
        .filter_map(|r| {
            let mut bar = Bar::at(time(r)?);
            fill(r, &mut bar);
            Some(bar)
        })
        .collect()
}
