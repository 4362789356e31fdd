//! Generic JSON webhook sink (Discord, Slack, ntfy and the like): POST the alert's JSON body
//! (see [`super::compose::webhook_body`]). 2xx = sent; 429, 5xx and network errors are retried;
//! any other 4xx drops the message with a log line. The URL often embeds a token: it is only ever
//! shown as `scheme://host/…`.

use super::delivery::{post_json, snippet, HttpAnswer, Outcome, Sink};
use super::outbox::Payload;
use super::SinkKind;
use crate::config::WebhookConfig;
use std::time::Duration;

pub(crate) struct WebhookSink {
    client: reqwest::Client,
    url: String,
    timeout: Duration,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("url", &redact_url(&self.url))
            .finish_non_exhaustive()
    }
}

/// `https://discord.com/…`: scheme and host only.
pub(crate) fn redact_url(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{}://{h}:{p}/…", u.scheme()),
                None => format!("{}://{h}/…", u.scheme()),
            })
        })
        .unwrap_or_else(|| "<hidden>".into())
}

impl WebhookSink {
    pub(crate) fn new(cfg: &WebhookConfig, timeout: Duration) -> Result<WebhookSink, String> {
        Ok(WebhookSink {
            client: super::delivery::http_client(timeout)?,
            url: cfg.url.clone(),
            timeout,
        })
    }

    /// Where it posts, for messages: `scheme://host/…`.
    pub(crate) fn shown_url(&self) -> String {
        redact_url(&self.url)
    }

    pub(crate) fn classify(answer: &HttpAnswer) -> Outcome {
        match answer.status {
            200..=299 => Outcome::Sent,
            429 => {
                let secs = answer.retry_after.unwrap_or(5);
                Outcome::RetryAfter {
                    after: Duration::from_secs(secs),
                    reason: format!("rate limited (429), retry after {secs}s"),
                }
            }
            s @ 500..=599 => Outcome::Retry {
                reason: format!("HTTP {s}"),
                unreachable: false,
            },
            s @ 400..=499 => Outcome::Drop {
                reason: format!("refused (HTTP {s}: {})", snippet(&answer.body)),
            },
            s => Outcome::Retry {
                reason: format!("unexpected answer (HTTP {s})"),
                unreachable: false,
            },
        }
    }
}

impl Sink for WebhookSink {
    fn kind(&self) -> SinkKind {
        SinkKind::Webhook
    }

    async fn send(&mut self, payload: &Payload, _plain: bool) -> Outcome {
        let Payload::Webhook { body } = payload else {
            return Outcome::Drop {
                reason: "not a webhook message".into(),
            };
        };
        match post_json(&self.client, &self.url, body, self.timeout).await {
            Ok(answer) => WebhookSink::classify(&answer),
            Err(e) => {
                // The transport error has no URL; make sure no part of the URL's path either.
                let mut reason = format!("unreachable: {e}");
                if let Ok(u) = reqwest::Url::parse(&self.url) {
                    if u.path().len() > 1 {
                        reason = reason.replace(u.path(), "/…");
                    }
                }
                Outcome::Retry {
                    reason,
                    unreachable: true,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_to_scheme_and_host() {
        assert_eq!(
            redact_url("https://discord.com/api/webhooks/123/SECRET"),
            "https://discord.com/…"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:8080/hook/SECRET"),
            "http://127.0.0.1:8080/…"
        );
        assert_eq!(redact_url("not a url SECRET"), "<hidden>");
    }

    #[test]
    fn classifies_answers() {
        let a = |status, retry_after| HttpAnswer {
            status,
            retry_after,
            body: "nope".into(),
        };
        assert_eq!(WebhookSink::classify(&a(204, None)), Outcome::Sent);
        assert!(matches!(
            WebhookSink::classify(&a(429, Some(3))),
            Outcome::RetryAfter { after, .. } if after == Duration::from_secs(3)
        ));
        assert!(matches!(
            WebhookSink::classify(&a(502, None)),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            WebhookSink::classify(&a(404, None)),
            Outcome::Drop { reason } if reason.contains("HTTP 404") && reason.contains("nope")
        ));
    }
}
