//! FAKE venue clients: each sends its requests through a real `VenueHttp` to its own wiremock
//! server (so 451s, failures and request counts are real) and answers with scripted readings.

use super::super::*;
use crate::model::{LongShort, TakerFlow};
use crate::source::exchanges::http::{Cost, FetchError, HttpSetup, Pool, VenueHttp};
use crate::source::exchanges::venue::{
    BoxFuture, CoinReading, FundingQuote, Instrument, Keepalive, OiReading, Parsed, PriceReading,
    StreamSpec,
};
use crate::source::exchanges::VenueUrls;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const COST: Cost = Cost {
    pool: "weight",
    weight: 1,
};

/// What a fake venue lists and answers; the test may change it between polls.
#[derive(Default)]
pub(super) struct Script {
    pub(super) lists: Vec<String>,
    pub(super) readings: BTreeMap<String, CoinReading>,
    /// Waits this long before answering a poll.
    pub(super) delay: Duration,
    /// Per poll: whether it was asked as the reference, and for which coins.
    pub(super) polls: Vec<(bool, Vec<String>)>,
}

pub(super) struct Fake {
    http: VenueHttp,
    pub(super) script: Arc<Mutex<Script>>,
}

impl VenueApi for Fake {
    fn venue(&self) -> Venue {
        self.http.venue()
    }

    fn http(&self) -> &VenueHttp {
        &self.http
    }

    fn instruments<'a>(
        &'a mut self,
        coins: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Instrument>, FetchError>> {
        Box::pin(async move {
            self.http.get_text("/instruments", &[], COST).await?;
            let script = self.script.lock().unwrap();
            Ok(coins
                .iter()
                .filter(|c| script.lists.contains(c))
                .map(|c| instrument(c))
                .collect())
        })
    }

    fn poll<'a>(
        &'a mut self,
        instruments: &'a [Instrument],
        reference: bool,
        _now: DateTime<Utc>,
    ) -> BoxFuture<'a, VenueCycle> {
        Box::pin(async move {
            let coins: Vec<String> = instruments.iter().map(|i| i.coin.clone()).collect();
            let delay = {
                let mut script = self.script.lock().unwrap();
                script.polls.push((reference, coins.clone()));
                script.delay
            };
            let answer = self.http.get_text("/cycle", &[], COST).await;
            tokio::time::sleep(delay).await;
            let script = self.script.lock().unwrap();
            coins
                .into_iter()
                .filter_map(|c| {
                    let mut r = match &answer {
                        Ok(_) => script.readings.get(&c)?.clone(),
                        Err(e) => CoinReading::absent(e.gap()),
                    };
                    if !reference {
                        r.retail = Err(GapReason::Pending);
                        r.top = Err(GapReason::Pending);
                        r.taker = Err(GapReason::Pending);
                    }
                    Some((c, r))
                })
                .collect()
        })
    }

    fn liq_stream(&self, _instruments: &[Instrument]) -> StreamSpec {
        StreamSpec {
            venue: self.venue(),
            // Nothing listens there: a real runner keeps reconnecting, and never gets data.
            url: "ws://127.0.0.1:1/liq".into(),
            subscribe: Vec::new(),
            keepalive: Keepalive::AnswerPings,
            max_age: None,
            parse: Arc::new(|_| Parsed::Control),
        }
    }
}

pub(super) fn instrument(coin: &str) -> Instrument {
    Instrument {
        coin: coin.into(),
        id: format!("{coin}USDT"),
        price_multiplier: 1.0,
        contract_size: 1.0,
    }
}

/// A venue that answered everything: `rate` % per `hours`, `oi` USD, price `price`.
pub(super) fn reading(rate: f64, hours: f64, oi: f64, price: f64) -> CoinReading {
    let ls = LongShort {
        long_pct: Some(60.0),
        short_pct: Some(40.0),
        bar_time: Utc::now(),
        source: "fake 5m".into(),
    };
    CoinReading {
        funding: Ok(FundingQuote {
            rate_pct: rate,
            interval_hours: Some(hours),
            next_funding_time: None,
        }),
        open_interest: Ok(OiReading {
            usd: oi,
            past_usd: [Some(oi); 6],
        }),
        price: Ok(PriceReading {
            price,
            change_1h_pct: Some(1.0),
            change_24h_pct: Some(2.0),
        }),
        retail: Ok(ls.clone()),
        top: Ok(ls),
        taker: Ok(TakerFlow {
            buy_pct: Some(50.0),
            buy_usd: Some(1.0),
            sell_usd: Some(1.0),
        }),
    }
}

/// How a fake venue's server answers.
pub(super) enum Server {
    Answers(u16),
    /// Nothing listens: connection refused.
    Closed,
}

pub(super) struct Venued {
    pub(super) client: Box<dyn VenueApi>,
    pub(super) script: Arc<Mutex<Script>>,
    pub(super) server: Option<MockServer>,
}

pub(super) async fn fake(
    venue: Venue,
    server: Server,
    lists: &[&str],
    readings: CoinReading,
) -> Venued {
    let (base_url, server) = match server {
        Server::Answers(status) => {
            let s = MockServer::start().await;
            Mock::given(method("GET"))
                .respond_with(ResponseTemplate::new(status).set_body_string("{}"))
                .mount(&s)
                .await;
            (s.uri(), Some(s))
        }
        Server::Closed => ("http://127.0.0.1:1".to_string(), None),
    };
    let http = VenueHttp::new(HttpSetup {
        venue,
        base_url,
        pools: vec![Pool {
            name: "weight",
            limit: 2400,
            window: Duration::from_secs(60),
        }],
        usage_header: None,
        timeout: Duration::from_secs(2),
    });
    let script = Arc::new(Mutex::new(Script {
        lists: lists.iter().map(|c| c.to_string()).collect(),
        readings: lists
            .iter()
            .map(|c| (c.to_string(), readings.clone()))
            .collect(),
        ..Script::default()
    }));
    Venued {
        client: Box::new(Fake {
            http,
            script: script.clone(),
        }),
        script,
        server,
    }
}

/// A venue answering HTTP 200 that lists BTC with funding 0 % per 8 h and 1 USD of OI.
pub(super) async fn healthy(venue: Venue) -> Venued {
    fake(
        venue,
        Server::Answers(200),
        &["BTC"],
        reading(0.0, 8.0, 1.0, 1.0),
    )
    .await
}

pub(super) fn config(coins: &[&str], venues: &[Venue]) -> ExchangesConfig {
    ExchangesConfig {
        symbols: coins.iter().map(|c| c.to_string()).collect(),
        venues: venues.to_vec(),
        reference: Venue::Binance,
        urls: VenueUrls::default(),
        poll_interval: Duration::from_secs(60),
    }
}

/// Starts a source on the fakes (keeping their servers and scripts), without the first poll's
/// wait for the streams.
pub(super) async fn start(
    coins: &[&str],
    fakes: Vec<Venued>,
) -> (
    Result<ExchangesSource, ExchangesStartError>,
    Vec<Arc<Mutex<Script>>>,
    Vec<Option<MockServer>>,
) {
    let venues: Vec<Venue> = fakes.iter().map(|f| f.client.venue()).collect();
    let mut clients = Vec::new();
    let mut scripts = Vec::new();
    let mut servers = Vec::new();
    for f in fakes {
        clients.push(f.client);
        scripts.push(f.script);
        servers.push(f.server);
    }
    let src = ExchangesSource::with_clients(config(coins, &venues), clients)
        .await
        .map(|s| s.with_stream_wait(Duration::ZERO));
    (src, scripts, servers)
}

/// Binance, Bybit and OKX all answering HTTP 200 and listing BTC.
pub(super) async fn three_healthy() -> Vec<Venued> {
    let ok = || Server::Answers(200);
    three([&["BTC"], &["BTC"], &["BTC"]], [ok(), ok(), ok()]).await
}

pub(super) async fn three(lists: [&[&str]; 3], servers: [Server; 3]) -> Vec<Venued> {
    let [b, y, o] = servers;
    vec![
        fake(
            Venue::Binance,
            b,
            lists[0],
            reading(0.01, 8.0, 300.0, 100.0),
        )
        .await,
        fake(
            Venue::Bybit,
            y,
            lists[1],
            reading(0.0125, 1.0, 100.0, 101.0),
        )
        .await,
        fake(Venue::Okx, o, lists[2], reading(0.02, 4.0, 100.0, 102.0)).await,
    ]
}
