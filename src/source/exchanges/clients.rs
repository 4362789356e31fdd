//! The venue clients behind [`VenueApi`], one per configured venue.

use super::venue::{Venue, VenueApi};
use super::VenueUrls;

/// The client of `venue`, reaching it at `urls`.
pub(crate) fn venue_client(venue: Venue, urls: &VenueUrls) -> Box<dyn VenueApi> {
    match venue {
        Venue::Binance => Box::new(super::binance::Binance::new(
            &urls.binance_fapi,
            &urls.binance_ws,
        )),
        Venue::Bybit => Box::new(super::bybit::Bybit::new(&urls.bybit_api, &urls.bybit_ws)),
        Venue::Okx => Box::new(super::okx::Okx::new(&urls.okx_api, &urls.okx_ws)),
    }
}
