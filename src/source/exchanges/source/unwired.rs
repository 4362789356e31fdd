//! Stand-in for `clients::venue_client` while this branch is built without the venue clients
//! (they are merged separately). Every venue reports that it has no client in this build.
//! MERGE: delete this file and use `super::clients::venue_client` in `source/mod.rs`.

use crate::model::GapReason;
use crate::source::exchanges::http::{FetchError, HttpSetup, VenueHttp};
use crate::source::exchanges::venue::{
    BoxFuture, CoinReading, Instrument, Keepalive, Parsed, StreamSpec, Venue, VenueApi, VenueCycle,
};
use crate::source::exchanges::VenueUrls;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

struct Unwired {
    http: VenueHttp,
    ws_base: String,
}

pub(super) fn venue_client(venue: Venue, urls: &VenueUrls) -> Box<dyn VenueApi> {
    let (rest, ws) = match venue {
        Venue::Binance => (&urls.binance_fapi, &urls.binance_ws),
        Venue::Bybit => (&urls.bybit_api, &urls.bybit_ws),
        Venue::Okx => (&urls.okx_api, &urls.okx_ws),
    };
    Box::new(Unwired {
        http: VenueHttp::new(HttpSetup {
            venue,
            base_url: rest.clone(),
            pools: Vec::new(),
            usage_header: None,
            timeout: Duration::from_secs(10),
        }),
        ws_base: ws.clone(),
    })
}

impl Unwired {
    fn missing(&self) -> FetchError {
        FetchError::Api {
            venue: self.venue(),
            message: "this build has no client for it".into(),
        }
    }
}

impl VenueApi for Unwired {
    fn venue(&self) -> Venue {
        self.http.venue()
    }

    fn http(&self) -> &VenueHttp {
        &self.http
    }

    fn instruments<'a>(
        &'a mut self,
        _coins: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Instrument>, FetchError>> {
        let e = self.missing();
        Box::pin(async move { Err(e) })
    }

    fn poll<'a>(
        &'a mut self,
        instruments: &'a [Instrument],
        _reference: bool,
        _now: DateTime<Utc>,
    ) -> BoxFuture<'a, VenueCycle> {
        let reason = GapReason::FetchFailed(self.missing().to_string());
        Box::pin(async move {
            instruments
                .iter()
                .map(|i| (i.coin.clone(), CoinReading::absent(reason.clone())))
                .collect()
        })
    }

    fn liq_stream(&self, _instruments: &[Instrument]) -> StreamSpec {
        StreamSpec {
            venue: self.venue(),
            url: self.ws_base.clone(),
            subscribe: Vec::new(),
            keepalive: Keepalive::AnswerPings,
            max_age: None,
            parse: Arc::new(|_| Parsed::Malformed("this build has no client for it".into())),
        }
    }
}
