//! `perpwatch check`: each configured venue reached once, with its state and request budget.

use super::slot::fetch_list;
use super::status::{self, venue_status, RestHealth, VenueFacts};
use super::{normalise, venue_client};
use crate::source::exchanges::http::BUDGET_SHARE;
use crate::source::exchanges::venue::VenueApi;
use crate::source::exchanges::ExchangesConfig;
use crate::source::VenueStatus;
use chrono::Utc;

/// What `perpwatch check` says about one venue.
#[derive(Debug, Clone, PartialEq)]
pub struct VenueCheck {
    pub status: VenueStatus,
    /// The budget as lines: "weight 12 of 2400 per 1m (ours: half)".
    pub budget: Vec<String>,
    /// Watched coins this venue does not list.
    pub unlisted: Vec<String>,
}

/// `perpwatch check`: reaches each configured venue once and says how it stands.
pub async fn check(config: &ExchangesConfig) -> Vec<VenueCheck> {
    let clients = config
        .venues
        .iter()
        .map(|&v| venue_client(v, &config.urls))
        .collect();
    check_with(&normalise(&config.symbols), clients).await
}

/// [`check`] with the given venue clients.
pub(super) async fn check_with(
    coins: &[String],
    clients: Vec<Box<dyn VenueApi>>,
) -> Vec<VenueCheck> {
    futures::future::join_all(clients.into_iter().map(|mut client| async move {
        let list = fetch_list(client.as_mut(), coins).await;
        let (rest, unlisted) = match &list {
            Ok(list) => (
                RestHealth::Fine,
                coins
                    .iter()
                    .filter(|c| !list.iter().any(|i| &i.coin == *c))
                    .cloned()
                    .collect(),
            ),
            Err(e) => (RestHealth::ListMissing(e.to_string()), Vec::new()),
        };
        let http = client.http();
        let status = venue_status(VenueFacts {
            venue: client.venue(),
            standing: http.standing(),
            rest: &rest,
            stream: None,
            missed_s: None,
            malformed: 0,
            // Said on their own line by `check`.
            unlisted: &[],
            now: Utc::now(),
        });
        let budget = http
            .usage()
            .iter()
            .map(|u| {
                format!(
                    "{} {} of {} per {} (ours: {})",
                    u.name,
                    u.used,
                    u.limit,
                    status::span(u.window.as_secs()),
                    share_text(BUDGET_SHARE)
                )
            })
            .collect();
        VenueCheck {
            status,
            budget,
            unlisted,
        }
    }))
    .await
}

/// "half", or a percentage.
fn share_text(share: f64) -> String {
    if (share - 0.5).abs() < f64::EPSILON {
        "half".to_string()
    } else {
        format!("{:.0} %", share * 100.0)
    }
}
