//! The source settings: `source` (auto, coinglass, exchanges, demo; `--demo` is `--source
//! demo`), the exchanges source's venues (`exchanges`), its reference venue
//! (`reference_exchange`) and the venues' base URLs.

use super::error::{quoted, ConfigError, Origin};
use super::keys::{
    Key, API_KEY, BINANCE_FAPI_URL, BINANCE_WS_URL, BYBIT_API_URL, BYBIT_WS_URL, EXCHANGES,
    OKX_API_URL, OKX_WS_URL, REFERENCE_EXCHANGE, SOURCE,
};
use super::layers::{Layers, Raw};
use super::model::SourceChoice;
use crate::source::exchanges::{Venue, VenueUrls};
use toml::Value;

/// What `source` accepts.
const SOURCE_EXPECTED: &str = "auto, coinglass, exchanges or demo";

/// The resolved source settings.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SourceSettings {
    pub(super) source: SourceChoice,
    /// `source` was `auto` (or unset).
    pub(super) auto: bool,
    pub(super) venues: Vec<Venue>,
    pub(super) reference: Venue,
    pub(super) urls: VenueUrls,
}

/// What the command line says about the source: `--source` and whether `--demo` was given.
#[derive(Debug, Clone, Copy)]
pub(super) struct SourceFlags<'a> {
    pub(super) source: Option<&'a str>,
    pub(super) exchanges: Option<&'a str>,
    pub(super) demo: bool,
}

/// `auto` → `None`; the others → the choice.
fn parse_source(raw: &Raw) -> Result<Option<SourceChoice>, String> {
    let text = raw.text().map(str::trim).unwrap_or_default();
    match text.to_ascii_lowercase().as_str() {
        "auto" => Ok(None),
        "coinglass" => Ok(Some(SourceChoice::CoinGlass)),
        "exchanges" => Ok(Some(SourceChoice::Exchanges)),
        "demo" => Ok(Some(SourceChoice::Demo)),
        _ => Err(SOURCE_EXPECTED.to_string()),
    }
}

/// A list of venues: `"binance,okx"` (environment, flag, file) or `["binance", "okx"]` (file).
fn parse_venues(raw: &Raw) -> Result<Vec<Venue>, String> {
    let expected = |why: String| format!("a list of venues like \"binance,okx\": {why}");
    let text = match raw {
        Raw::Toml(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| expected(format!("choose from {}", Venue::choices())))?
            .join(","),
        _ => raw
            .text()
            .ok_or_else(|| expected(format!("choose from {}", Venue::choices())))?
            .to_string(),
    };
    Venue::parse_list(&text).map_err(expected)
}

/// A websocket URL (`ws://` or `wss://` with a host), without a trailing slash.
fn parse_ws_url(raw: &Raw, example: &str) -> Result<String, String> {
    let expected = || format!("a ws:// or wss:// URL like {example}");
    let text = raw.text().map(str::trim).ok_or_else(expected)?;
    let url = reqwest::Url::parse(text).map_err(|_| expected())?;
    let ok = matches!(url.scheme(), "ws" | "wss") && url.host_str().is_some_and(|h| !h.is_empty());
    if ok {
        Ok(text.trim_end_matches('/').to_string())
    } else {
        Err(expected())
    }
}

/// The default reference venue among `venues`: Binance if chosen, else OKX, else Bybit (the
/// venues that offer the most reference metrics first).
fn default_reference(venues: &[Venue]) -> Venue {
    [Venue::Binance, Venue::Okx, Venue::Bybit]
        .into_iter()
        .find(|v| venues.contains(v))
        .unwrap_or(Venue::Binance)
}

fn ids(venues: &[Venue]) -> String {
    venues.iter().map(|v| v.id()).collect::<Vec<_>>().join(", ")
}

/// Reads the source settings. `has_key`: a CoinGlass API key is set (any layer);
/// `reference_exchange`: the `reference_exchange` setting and where it came from, if set.
pub(super) fn resolve_sources(
    layers: &Layers<'_>,
    flags: SourceFlags<'_>,
    has_key: bool,
    reference_exchange: Option<&(String, Origin)>,
) -> Result<SourceSettings, ConfigError> {
    let flag = |v: Option<&str>| v.map(|s| Raw::Text(s.to_string()));
    let set = layers.get(SOURCE, flag(flags.source), parse_source)?;
    let source_flag = set
        .as_ref()
        .filter(|(_, origin)| matches!(origin, Origin::Flag(_)));
    // `--demo` is `--source demo`: the flag layer, so it beats the environment and the file;
    // with a `--source` that says otherwise the two disagree.
    let chosen = match (flags.demo, source_flag) {
        (true, Some((choice, origin))) if *choice != Some(SourceChoice::Demo) => {
            return Err(ConfigError::Invalid {
                key: SOURCE.name.to_string(),
                value: quoted(flags.source.unwrap_or_default()),
                origin: origin.clone(),
                expected: "demo with --demo (--demo means --source demo): give one of them"
                    .to_string(),
            });
        }
        (true, _) => (Some(SourceChoice::Demo), None),
        (false, Some((choice, origin))) => (*choice, Some(origin.clone())),
        (false, None) => set.map_or((None, None), |(choice, origin)| (choice, Some(origin))),
    };
    let auto = chosen.0.is_none();
    let source = match chosen {
        (Some(SourceChoice::CoinGlass), origin) if !has_key => {
            let from = origin.map(|o| format!(" (from {o})")).unwrap_or_default();
            return Err(ConfigError::Missing {
                key: API_KEY.name.to_string(),
                reason: format!(
                    "source = coinglass{from} needs a CoinGlass API key: set {}, or use \
                     --source exchanges (Binance, Bybit and OKX public data, no key) or --demo",
                    API_KEY.env.unwrap_or(API_KEY.name)
                ),
            });
        }
        (Some(choice), _) => choice,
        (None, _) if has_key => SourceChoice::CoinGlass,
        (None, _) => SourceChoice::Exchanges,
    };

    let venues = layers.get_or(EXCHANGES, flag(flags.exchanges), parse_venues, || {
        Venue::ALL.to_vec()
    })?;
    let reference = reference_venue(reference_exchange, source, &venues)?;

    let d = VenueUrls::default();
    let rest = |key: Key, default: &str| layers.http_url_or(key, default);
    let ws = |key: Key, default: &str| {
        layers.get_or(
            key,
            None,
            |raw| parse_ws_url(raw, default),
            || default.to_string(),
        )
    };
    let urls = VenueUrls {
        binance_fapi: rest(BINANCE_FAPI_URL, &d.binance_fapi)?,
        binance_ws: ws(BINANCE_WS_URL, &d.binance_ws)?,
        bybit_api: rest(BYBIT_API_URL, &d.bybit_api)?,
        bybit_ws: ws(BYBIT_WS_URL, &d.bybit_ws)?,
        okx_api: rest(OKX_API_URL, &d.okx_api)?,
        okx_ws: ws(OKX_WS_URL, &d.okx_ws)?,
    };
    Ok(SourceSettings {
        source,
        auto,
        venues,
        reference,
        urls,
    })
}

/// The exchanges source's reference venue: `reference_exchange` when it names a chosen venue.
/// With the exchanges source running, any other value is an error naming the chosen venues;
/// for the other sources `reference_exchange` is an exchange name CoinGlass knows, and the
/// exchanges source's default is kept.
fn reference_venue(
    set: Option<&(String, Origin)>,
    source: SourceChoice,
    venues: &[Venue],
) -> Result<Venue, ConfigError> {
    let default = default_reference(venues);
    let Some((name, origin)) = set else {
        return Ok(default);
    };
    match Venue::parse(name).filter(|v| venues.contains(v)) {
        Some(v) => Ok(v),
        None if source != SourceChoice::Exchanges => Ok(default),
        None => Err(ConfigError::Invalid {
            key: REFERENCE_EXCHANGE.name.to_string(),
            value: quoted(name),
            origin: origin.clone(),
            expected: format!(
                "one of the venues the exchanges source reads (exchanges): {}",
                ids(venues)
            ),
        }),
    }
}

#[cfg(test)]
mod tests;
