//! Pair ids: which instrument an exchange calls `<COIN>/<QUOTE>` perpetual. The ids differ by
//! venue (`BTCUSDT` on Binance, `BTC-USDT-SWAP` on OKX, `BTC_USDT` on Gate, `BTCUSDT_UMCBL` on
//! Bitget) and a wrong one returns zero rows with no error, so both the live source and the
//! backtest look them up in `supported-exchange-pairs` instead of guessing.

use super::client::{ApiError, CoinGlassClient};
use super::wire::{same_exchange, ExchangePair, ExchangePairs};

/// Perpetual suffixes of pair ids: OKX `-SWAP`, Binance coin-margined `_PERP`, Bitget's
/// `_UMCBL` (USDT-margined), `_DMCBL` (coin-margined) and `_CMCBL` (USDC-margined).
const PERP_SUFFIXES: [&str; 5] = ["SWAP", "PERP", "UMCBL", "DMCBL", "CMCBL"];

/// Strips separators and a perpetual suffix so `BTC-USDT-SWAP`, `BTC_USDT`, `BTCUSDT_UMCBL`,
/// `BTC/USDT` and `BTCUSDT` compare.
pub(crate) fn pair_key(id: &str) -> String {
    let up: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase();
    PERP_SUFFIXES
        .iter()
        .find_map(|s| up.strip_suffix(s).filter(|rest| !rest.is_empty()))
        .map(str::to_owned)
        .unwrap_or(up)
}

/// A delivery contract (`BTCUSD_250627`, `BTC-USDT-250328`): its last part is a date.
fn is_dated(id: &str) -> bool {
    id.rsplit(['_', '-'])
        .next()
        .is_some_and(|last| last.len() >= 4 && last.chars().all(|c| c.is_ascii_digit()))
}

/// What `supported-exchange-pairs` says about the reference pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PairLookup {
    /// The exchange as the answer spells it (the spelling later requests must use), or `None`
    /// when the answer does not list the exchange at all.
    pub(crate) exchange: Option<String>,
    /// Per watched coin (in order): its pair id, or `None` when the exchange has no such pair.
    pub(crate) ids: Vec<Option<String>>,
}

/// Finds each coin's `<COIN>/<QUOTE>` perpetual among the exchange's pairs. `None` when the
/// answer lists nothing at all (no verdict: the caller keeps its guess and asks again later).
pub(crate) fn resolve_pairs(
    answer: &ExchangePairs,
    exchange: &str,
    coins: &[String],
    quote: &str,
) -> Option<PairLookup> {
    if answer.values().all(Vec::is_empty) {
        return None;
    }
    let listed = answer
        .iter()
        .find(|(name, _)| same_exchange(name, exchange));
    let Some((name, pairs)) = listed else {
        return Some(PairLookup {
            exchange: None,
            ids: vec![None; coins.len()],
        });
    };
    Some(PairLookup {
        exchange: Some(name.clone()),
        ids: coins.iter().map(|c| find_pair(pairs, c, quote)).collect(),
    })
}

/// The perpetual `coin`/`quote` pair: an id that reads `<COIN><QUOTE>` once separators and a
/// perpetual suffix are gone (`BTC-USDT-SWAP`, `BTC_USDT`, `BTCUSDT_UMCBL`), else the shortest
/// undated id whose base and quote assets match.
fn find_pair(pairs: &[ExchangePair], coin: &str, quote: &str) -> Option<String> {
    let want = format!("{coin}{quote}").to_ascii_uppercase();
    let same = |a: &Option<String>, b: &str| {
        a.as_deref()
            .is_some_and(|a| a.trim().eq_ignore_ascii_case(b))
    };
    let usable = pairs.iter().filter(|p| !p.instrument_id.trim().is_empty());
    usable
        .clone()
        .find(|p| pair_key(&p.instrument_id) == want)
        .or_else(|| {
            usable
                .filter(|p| same(&p.base_asset, coin) && same(&p.quote_asset, quote))
                .filter(|p| !is_dated(&p.instrument_id))
                .min_by_key(|p| p.instrument_id.len())
        })
        .map(|p| p.instrument_id.trim().to_owned())
}

/// What the pair lookup says about one coin's reference pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairVerdict {
    /// The pair, with the exchange spelled as the answer spells it (later requests must use it).
    Found { exchange: String, pair: String },
    /// The exchange does not list such a pair (or is not listed at all): why, in words.
    Missing(String),
    /// The answer listed nothing: no verdict, keep the guessed id.
    Unknown,
}

impl CoinGlassClient {
    /// Looks up `coin`'s `<COIN>/<QUOTE>` perpetual on `exchange` (one request).
    pub async fn reference_pair(
        &self,
        exchange: &str,
        coin: &str,
        quote: &str,
    ) -> Result<PairVerdict, ApiError> {
        let answer = self.supported_exchange_pairs(None).await?;
        let coins = [coin.to_ascii_uppercase()];
        let quote = quote.to_ascii_uppercase();
        Ok(match resolve_pairs(&answer, exchange, &coins, &quote) {
            None => PairVerdict::Unknown,
            Some(PairLookup { exchange: None, .. }) => PairVerdict::Missing(format!(
                "{exchange} is not among the exchanges CoinGlass lists pairs for"
            )),
            Some(PairLookup {
                exchange: Some(name),
                ids,
            }) => match ids.into_iter().next().flatten() {
                Some(pair) => PairVerdict::Found {
                    exchange: name,
                    pair,
                },
                None => PairVerdict::Missing(format!("no {}/{quote} pair on {name}", coins[0])),
            },
        })
    }
}
