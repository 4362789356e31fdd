//! What a non-success answer means: a refused key, a plan gate, a rate limit, a transient
//! failure or a bad request, decided from the server's message before its status number.

use super::ApiError;

/// A server message split into lower-case words, for classification.
struct Message {
    lower: String,
    words: Vec<String>,
}

impl Message {
    fn new(msg: &str) -> Message {
        let lower = msg.to_lowercase();
        let words = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        Message { lower, words }
    }

    fn has(&self, any: &[&str]) -> bool {
        self.words.iter().any(|w| any.contains(&w.as_str()))
    }

    /// Names the API key: "API key", "apikey", "CG-API-KEY", "invalid key", "secret".
    fn names_key(&self) -> bool {
        self.has(&["key", "keys", "apikey", "apikeys", "secret"])
    }

    /// Plainly refuses the caller: the key is invalid / missing / expired …, the request is not
    /// authenticated, or the subscription has expired.
    fn refuses_key(&self) -> bool {
        let auth = self.has(&[
            "unauthorized",
            "unauthorised",
            "unauthenticated",
            "authentication",
            "authenticate",
        ]);
        let refused = self.has(&[
            "invalid",
            "missing",
            "expired",
            "wrong",
            "incorrect",
            "revoked",
            "disabled",
            "banned",
            "illegal",
            "unknown",
            "required",
            "empty",
        ]) || [
            "not exist",
            "does not exist",
            "doesn't exist",
            "not found",
            "not valid",
            "not present",
            "not provided",
            "not set",
        ]
        .iter()
        .any(|p| self.lower.contains(p));
        let expired_plan = self.has(&["expired", "expire"])
            && self.has(&["subscription", "plan", "account", "membership"]);
        auth || (self.names_key() && refused) || expired_plan
    }

    /// "Upgrade plan"-like: the endpoint, interval or range is not in the key's plan.
    fn gates_plan(&self) -> bool {
        self.has(&[
            "upgrade",
            "plan",
            "plans",
            "subscription",
            "subscribe",
            "subscribed",
            "level",
            "tier",
            "permission",
            "permissions",
            "vip",
        ])
    }
}

/// Classifies a non-success by HTTP status or envelope code (`origin` says which, for the text;
/// `code` is `None` for a non-numeric envelope code). The message decides before the number:
///
/// - 429 is always a rate limit;
/// - a message that refuses the key (invalid, missing or expired key, not authenticated) is a
///   refused key in any client-error code (CoinGlass's quickstart lists 400 for "invalid
///   parameters or API key"); a server error (5xx, 408) is never read as a refusal;
/// - an "Upgrade plan"-like message is a plan gate in any code;
/// - then 401 is a refused key, and a 4xx whose message names the key (400/403 "API key …") too;
/// - 403 is a plan gate, 408 and 5xx are transient, everything else is a bad request.
pub(super) fn classify(endpoint: &str, origin: &str, code: Option<u16>, msg: &str) -> ApiError {
    let endpoint = endpoint.to_owned();
    let detail = if msg.is_empty() {
        origin.to_owned()
    } else {
        format!("{origin}: {msg}")
    };
    let m = Message::new(msg);
    let server_side = matches!(code, Some(408 | 500..=599));
    match code {
        Some(429) => ApiError::RateLimited { endpoint, detail },
        _ if !server_side && m.refuses_key() => ApiError::Unauthorized { endpoint, detail },
        _ if m.gates_plan() => ApiError::PlanGated { endpoint, detail },
        Some(401) => ApiError::Unauthorized { endpoint, detail },
        Some(400..=499) if m.names_key() => ApiError::Unauthorized { endpoint, detail },
        Some(403) => ApiError::PlanGated { endpoint, detail },
        Some(408 | 500..=599) => ApiError::Transient { endpoint, detail },
        _ => ApiError::BadRequest { endpoint, detail },
    }
}
