//! Telegram Bot API sink: `sendMessage` in HTML parse mode, answers classified as
//! `docs/telegram.md` describes. The token is part of the URL: it lives in a `SecretString`, the URL is
//! built per request and never kept, and transport errors are stripped of it.

use super::delivery::{post_json, snippet, HttpAnswer, Outcome, Sink, TransportError};
use super::outbox::Payload;
use super::SinkKind;
use crate::config::TelegramConfig;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;

/// The Bot API's answer (`{"ok":false,"error_code":…,"description":…,"parameters":{…}}`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApiReply {
    #[serde(default)]
    pub ok: bool,
    pub error_code: Option<i64>,
    pub description: Option<String>,
    pub parameters: Option<ApiParameters>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApiParameters {
    pub retry_after: Option<u64>,
    pub migrate_to_chat_id: Option<i64>,
}

pub struct TelegramSink {
    client: reqwest::Client,
    api_url: String,
    token: SecretString,
    chat_id: String,
    timeout: Duration,
}

impl std::fmt::Debug for TelegramSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramSink")
            .field("api_url", &self.api_url)
            .field("chat_id", &self.chat_id)
            .finish_non_exhaustive()
    }
}

impl TelegramSink {
    pub fn new(cfg: &TelegramConfig, timeout: Duration) -> Result<TelegramSink, String> {
        Ok(TelegramSink {
            client: super::delivery::http_client(timeout)?,
            api_url: cfg.api_url.trim_end_matches('/').to_string(),
            token: cfg.bot_token.clone(),
            chat_id: cfg.chat_id.clone(),
            timeout,
        })
    }

    pub fn chat_id(&self) -> &str {
        &self.chat_id
    }

    /// One `sendMessage` call. `html` selects the HTML parse mode; without it the text is sent as
    /// is (plain text, nothing is parsed).
    pub async fn send_message(&self, text: &str, html: bool) -> Result<HttpAnswer, TransportError> {
        // A numeric chat id goes as a number, a @channel name as a string.
        let chat_id = match self.chat_id.parse::<i64>() {
            Ok(n) => serde_json::json!(n),
            Err(_) => serde_json::json!(self.chat_id),
        };
        let mut body = serde_json::json!({
            "chat_id": chat_id,
            "text": text,
            "disable_web_page_preview": true,
        });
        if html {
            body["parse_mode"] = serde_json::json!("HTML");
        }
        let url = format!(
            "{}/bot{}/sendMessage",
            self.api_url,
            self.token.expose_secret()
        );
        post_json(&self.client, &url, &body, self.timeout)
            .await
            .map_err(|e| self.scrub(e))
    }

    /// Belt and braces: whatever a transport error says, the token is not in it.
    fn scrub(&self, mut e: TransportError) -> TransportError {
        let token = self.token.expose_secret();
        if !token.is_empty() {
            e.detail = e.detail.replace(token, "<bot token>");
        }
        e
    }

    /// Classifies an answer. A 400 naming a new chat id switches to it (and says so).
    pub fn classify(&mut self, answer: &HttpAnswer) -> Outcome {
        let reply: Option<ApiReply> = serde_json::from_str(&answer.body).ok();
        let status = answer.status;
        let Some(reply) = reply else {
            return match status {
                429 => Outcome::RetryAfter {
                    after: Duration::from_secs(answer.retry_after.unwrap_or(5)),
                    reason: "rate limited (429)".into(),
                },
                401 => Outcome::Disable {
                    reason: "bot token refused (401)".into(),
                },
                400..=499 => Outcome::Drop {
                    reason: format!("refused (HTTP {status}: {})", snippet(&answer.body)),
                },
                500..=599 => Outcome::Retry {
                    reason: format!("HTTP {status}"),
                    unreachable: false,
                },
                _ => Outcome::Retry {
                    reason: format!("HTTP {status}, not a Bot API answer"),
                    unreachable: false,
                },
            };
        };
        if (200..300).contains(&status) && reply.ok {
            return Outcome::Sent;
        }
        // error_code "may change": trust the HTTP status, fall back to error_code.
        let code = if status >= 400 {
            i64::from(status)
        } else {
            reply.error_code.unwrap_or(i64::from(status))
        };
        let desc = reply
            .description
            .clone()
            .unwrap_or_else(|| "no description".into());
        let params = reply.parameters.clone().unwrap_or_default();
        match code {
            429 => {
                let secs = params.retry_after.or(answer.retry_after).unwrap_or(5);
                Outcome::RetryAfter {
                    after: Duration::from_secs(secs),
                    reason: format!("rate limited (429), retry after {secs}s"),
                }
            }
            500..=599 => Outcome::Retry {
                reason: format!("HTTP {code}"),
                unreachable: false,
            },
            401 => Outcome::Disable {
                reason: "bot token refused (401)".into(),
            },
            400 if params.migrate_to_chat_id.is_some() => {
                let new = params.migrate_to_chat_id.unwrap_or_default().to_string();
                tracing::warn!(
                    "Telegram: chat {} became a supergroup with the new id {new}. Set TELEGRAM_CHAT_ID={new} \
                     (or [telegram] chat_id = {new}); perpwatch uses it until it restarts",
                    self.chat_id
                );
                self.chat_id = new;
                Outcome::RetryNow {
                    reason: "chat migrated".into(),
                }
            }
            400 if desc.to_ascii_lowercase().contains("can't parse entities") => {
                Outcome::ResendPlain {
                    reason: format!("400: {desc}"),
                }
            }
            400 if desc.to_ascii_lowercase().contains("chat not found") => Outcome::Drop {
                reason: format!("chat not found (400: {desc})"),
            },
            403 => Outcome::Drop {
                reason: format!("forbidden (403: {desc})"),
            },
            400..=499 => Outcome::Drop {
                reason: format!("refused ({code}: {desc})"),
            },
            _ => Outcome::Retry {
                reason: format!("unexpected answer (HTTP {status}: {desc})"),
                unreachable: false,
            },
        }
    }
}

impl Sink for TelegramSink {
    fn kind(&self) -> SinkKind {
        SinkKind::Telegram
    }

    async fn send(&mut self, payload: &Payload, plain: bool) -> Outcome {
        let Payload::Telegram { html, plain: text } = payload else {
            return Outcome::Drop {
                reason: "not a Telegram message".into(),
            };
        };
        let result = if plain {
            self.send_message(text, false).await
        } else {
            self.send_message(html, true).await
        };
        match result {
            Ok(answer) => self.classify(&answer),
            Err(e) => Outcome::Retry {
                reason: format!("unreachable: {e}"),
                unreachable: true,
            },
        }
    }
}
