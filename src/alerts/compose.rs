//! Alert messages: what one symbol's new signals (or a health change) say, as rich text that
//! renders to Telegram HTML (every dynamic value escaped) or to plain text (the fallback when
//! Telegram cannot parse the HTML, and the webhook's `text`), split on line boundaries.

use crate::format::{liq_usd, share_pct_or_na, signed_pct_or_na, usd};
use crate::model::{Level, Snapshot, SourceKind};
use crate::report::SymbolReport;
use crate::signals::Signal;
use crate::source::SourceLabel;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Telegram's hard limit on a message's text, in UTF-16 code units after entity parsing.
pub const TELEGRAM_LIMIT: usize = 4096;
/// Where perpwatch splits: well below the limit, leaving room for the "part i/n" line.
pub const SPLIT_AT: usize = 3500;
const _: () = assert!(SPLIT_AT < TELEGRAM_LIMIT);

/// Inline style of a piece of text. Tags never span lines, so any line boundary is a safe split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Bold,
    Italic,
    Code,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seg {
    pub style: Style,
    pub text: String,
}

/// A line of rich text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Line(pub Vec<Seg>);

impl Line {
    pub fn new() -> Line {
        Line(Vec::new())
    }
    pub fn plain(mut self, t: impl Into<String>) -> Line {
        self.0.push(Seg {
            style: Style::Plain,
            text: t.into(),
        });
        self
    }
    pub fn bold(mut self, t: impl Into<String>) -> Line {
        self.0.push(Seg {
            style: Style::Bold,
            text: t.into(),
        });
        self
    }
    pub fn italic(mut self, t: impl Into<String>) -> Line {
        self.0.push(Seg {
            style: Style::Italic,
            text: t.into(),
        });
        self
    }
    pub fn code(mut self, t: impl Into<String>) -> Line {
        self.0.push(Seg {
            style: Style::Code,
            text: t.into(),
        });
        self
    }

    pub fn html(&self) -> String {
        let mut out = String::new();
        for seg in &self.0 {
            let text = escape_html(&seg.text);
            match seg.style {
                Style::Plain => out.push_str(&text),
                Style::Bold => out.push_str(&format!("<b>{text}</b>")),
                Style::Italic => out.push_str(&format!("<i>{text}</i>")),
                Style::Code => out.push_str(&format!("<code>{text}</code>")),
            }
        }
        out
    }

    pub fn plain_text(&self) -> String {
        self.0.iter().map(|s| s.text.as_str()).collect()
    }
}

/// Rich text: lines rendered to HTML or plain text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RichText {
    pub lines: Vec<Line>,
}

/// One message as sent: the HTML and its plain-text twin carry the same words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub html: String,
    pub plain: String,
}

/// Escapes `<`, `>` and `&` (and `"` for attribute safety) for Telegram's HTML parse mode.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Length as Telegram counts it (UTF-16 code units). Counting the HTML source over-estimates
/// the parsed text, which keeps the split on the safe side.
pub fn tg_len(s: &str) -> usize {
    s.encode_utf16().count()
}

impl RichText {
    pub fn push(&mut self, line: Line) {
        self.lines.push(line);
    }

    pub fn plain(&self) -> String {
        self.lines
            .iter()
            .map(Line::plain_text)
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn html(&self) -> String {
        self.lines
            .iter()
            .map(Line::html)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Splits into messages whose HTML (and so plain text) stays within `limit` UTF-16 units,
    /// on line boundaries; a single line longer than that is cut into plain-text pieces. Parts
    /// after the first start with "(part i/n)".
    pub fn parts(&self, limit: usize) -> Vec<Part> {
        // Room for "<i>(part 99/99)</i>\n".
        let budget = limit.saturating_sub(24).max(64);
        let mut lines: Vec<Line> = Vec::new();
        for line in &self.lines {
            if tg_len(&line.html()) <= budget {
                lines.push(line.clone());
            } else {
                lines.extend(cut_long_line(&line.plain_text(), budget));
            }
        }
        let mut groups: Vec<Vec<Line>> = Vec::new();
        let mut current: Vec<Line> = Vec::new();
        let mut len = 0usize;
        for line in lines {
            let l = tg_len(&line.html());
            let extra = if current.is_empty() { l } else { l + 1 };
            if !current.is_empty() && len + extra > budget {
                groups.push(std::mem::take(&mut current));
                len = 0;
                // A part never starts with blank lines.
                if line.plain_text().trim().is_empty() {
                    continue;
                }
                current.push(line);
                len = l;
            } else {
                current.push(line);
                len += extra;
            }
        }
        if !current.is_empty() || groups.is_empty() {
            groups.push(current);
        }
        let n = groups.len();
        groups
            .into_iter()
            .enumerate()
            .map(|(i, mut lines)| {
                if n > 1 && i > 0 {
                    lines.insert(0, Line::new().italic(format!("(part {}/{n})", i + 1)));
                }
                let text = RichText { lines };
                Part {
                    html: text.html(),
                    plain: text.plain(),
                }
            })
            .collect()
    }
}

/// Cuts an over-long line into plain pieces whose escaped form fits `budget`.
fn cut_long_line(text: &str, budget: usize) -> Vec<Line> {
    let mut out = Vec::new();
    let mut piece = String::new();
    let mut len = 0;
    for c in text.chars() {
        let l = tg_len(&escape_html(c.encode_utf8(&mut [0u8; 4])));
        if len + l > budget && !piece.is_empty() {
            out.push(Line::new().plain(std::mem::take(&mut piece)));
            len = 0;
        }
        piece.push(c);
        len += l;
    }
    if !piece.is_empty() {
        out.push(Line::new().plain(piece));
    }
    out
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// New signals of one symbol.
    Signals,
    /// The data source started failing.
    SourceFailing,
    /// The data source recovered.
    SourceRecovered,
    /// `perpwatch alert-test`.
    Test,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Signals => "signals",
            AlertKind::SourceFailing => "source_failing",
            AlertKind::SourceRecovered => "source_recovered",
            AlertKind::Test => "test",
        }
    }
}

/// A composed alert, sink-neutral: each sink turns it into its own outbox rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub kind: AlertKind,
    pub symbol: Option<String>,
    pub level: Option<Level>,
    pub source: SourceKind,
    /// The cycle's time (also the start of the alert's usefulness window).
    pub time: DateTime<Utc>,
    /// The new signals it carries.
    pub signals: Vec<Signal>,
    pub text: RichText,
    /// The symbol's metrics, same names as the headless JSON (`--no-ui --json`).
    pub metrics: Option<serde_json::Value>,
}

fn level_mark(level: Level) -> &'static str {
    match level {
        Level::High => "🔴",
        Level::Medium => "🟠",
        Level::Low => "🔵",
        Level::None => "⚪",
    }
}

fn demo_line() -> Line {
    Line::new()
        .bold("DEMO")
        .plain(": simulated market, not real data")
}

fn time_utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The liquidations line: total, each side, and which side dominates. Absent stays n/a.
fn liquidations_text(s: &Snapshot) -> String {
    let Some(l) = s.liquidations.get() else {
        return "n/a".to_string();
    };
    let dominant = match (l.long_1h_usd, l.short_1h_usd) {
        (Some(a), Some(b)) if a > b => "longs dominant",
        (Some(a), Some(b)) if b > a => "shorts dominant",
        (Some(a), Some(_)) if a > 0.0 => "balanced",
        (Some(_), Some(_)) => "none",
        _ => "dominant side n/a",
    };
    let mut text = format!(
        "{} (longs {} / shorts {}, {dominant})",
        liq_usd(l.total_1h_usd(), l.lower_bound),
        liq_usd(l.long_1h_usd, l.lower_bound),
        liq_usd(l.short_1h_usd, l.lower_bound)
    );
    if l.lower_bound {
        text.push_str("; ≥: lower bound, the venues sample their liquidation streams");
    }
    if let Some(incomplete) = crate::format::liq_incomplete(l.uncovered_s) {
        text.push_str(&format!("; {incomplete} of the hour not covered"));
    }
    text
}

/// The snapshot lines every signal alert carries.
pub fn snapshot_lines(s: &Snapshot) -> Vec<Line> {
    let i = s.inputs();
    let oi = s.open_interest.get();
    vec![
        Line::new().italic("Snapshot ").italic(time_utc(s.time)),
        Line::new()
            .plain("Funding 8h: ")
            .plain(signed_pct_or_na(i.funding_8h_pct, 4)),
        Line::new().plain("Open interest: ").plain(format!(
            "{} (1h {})",
            usd(oi.and_then(|o| o.oi_usd)),
            signed_pct_or_na(i.oi_change_1h_pct, 2)
        )),
        Line::new()
            .plain("Liquidations 1h: ")
            .plain(liquidations_text(s)),
        Line::new().plain("Retail long/short: ").plain(format!(
            "{} / {}",
            share_pct_or_na(i.retail_long_pct),
            share_pct_or_na(i.retail_short_pct)
        )),
        Line::new().plain("Top traders long/short: ").plain(format!(
            "{} / {}",
            share_pct_or_na(i.top_long_pct),
            share_pct_or_na(i.top_short_pct)
        )),
    ]
}

/// One symbol's alert carrying its `new` signals; `also_active` are ids still firing but in
/// cooldown (named so the reader sees the whole picture).
/// `source` is the cycle's: the exchanges source's message says which venues the data came
/// from.
pub fn signals_alert(
    report: &SymbolReport,
    source: &SourceLabel,
    new: Vec<Signal>,
    also_active: &[&Signal],
) -> Alert {
    let s = &report.snapshot;
    let level = crate::signals::level_of(&new);
    let mut text = RichText::default();
    let count = match new.len() {
        1 => "1 new signal".to_string(),
        n => format!("{n} new signals"),
    };
    text.push(
        Line::new()
            .plain(format!("{} ", level_mark(level)))
            .bold(format!("{} · {}", level.as_str(), s.symbol))
            .plain(format!(" · {count}")),
    );
    if s.source == SourceKind::Demo {
        text.push(demo_line());
    }
    if let (SourceKind::Exchanges, Some(venues)) = (source.kind, &source.plan) {
        text.push(
            Line::new()
                .italic("Data: ")
                .italic(format!("{venues} public data")),
        );
    }
    for sig in &new {
        text.push(Line::new());
        text.push(
            Line::new()
                .bold(sig.title.clone())
                .plain(format!(
                    " · {} · {} · ",
                    sig.level.as_str(),
                    sig.bias.as_str()
                ))
                .code(sig.id.as_str()),
        );
        // One Line per text line, so that a long message splits between its lines.
        for l in sig.message.lines() {
            text.push(Line::new().plain(l));
        }
        if let Some(t) = &sig.threshold {
            text.push(Line::new().italic(capitalized(&t.describe(sig.id))));
        }
        if let Some(record) = crate::signals::record::record_line(sig) {
            text.push(Line::new().italic(record));
        }
    }
    if !also_active.is_empty() {
        let ids: Vec<&str> = also_active.iter().map(|s| s.id.as_str()).collect();
        text.push(Line::new());
        text.push(
            Line::new()
                .italic("Still active (already alerted): ")
                .italic(ids.join(", ")),
        );
    }
    text.push(Line::new());
    for line in snapshot_lines(s) {
        text.push(line);
    }
    let metrics =
        serde_json::to_value(crate::report::json::JsonLine::new(report, &[]).metrics).ok();
    Alert {
        kind: AlertKind::Signals,
        symbol: Some(s.symbol.clone()),
        level: Some(level),
        source: s.source,
        time: s.time,
        signals: new,
        text,
        metrics,
    }
}

/// `text` with its first letter upper-cased.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// "Data source failing": sent once when `cycles` consecutive cycles failed.
pub fn failing_alert(
    source: SourceKind,
    label: &str,
    time: DateTime<Utc>,
    since: DateTime<Utc>,
    cycles: u32,
    errors: &[String],
) -> Alert {
    let mut text = RichText::default();
    text.push(
        Line::new()
            .plain("⚠️ ")
            .bold("perpwatch: data source failing"),
    );
    if source == SourceKind::Demo {
        text.push(demo_line());
    }
    text.push(Line::new().plain(format!(
        "{label}: the last {cycles} cycles refreshed nothing (failing since {}). Signals cannot fire until it recovers; you will get one message when it does.",
        time_utc(since)
    )));
    const SHOWN: usize = 5;
    for e in errors.iter().take(SHOWN) {
        text.push(Line::new().plain("• ").plain(e.clone()));
    }
    if errors.len() > SHOWN {
        text.push(Line::new().plain(format!("… and {} more", errors.len() - SHOWN)));
    }
    Alert {
        kind: AlertKind::SourceFailing,
        symbol: None,
        level: None,
        source,
        time,
        signals: Vec::new(),
        text,
        metrics: None,
    }
}

/// "Recovered": sent once when a cycle succeeds again after a "failing" message.
pub fn recovered_alert(
    source: SourceKind,
    label: &str,
    time: DateTime<Utc>,
    since: DateTime<Utc>,
) -> Alert {
    let mut text = RichText::default();
    text.push(
        Line::new()
            .plain("✅ ")
            .bold("perpwatch: data source recovered"),
    );
    if source == SourceKind::Demo {
        text.push(demo_line());
    }
    let minutes = (time - since).num_minutes().max(0);
    text.push(Line::new().plain(format!(
        "{label}: data is flowing again at {} after about {minutes} min of failures.",
        time_utc(time)
    )));
    Alert {
        kind: AlertKind::SourceRecovered,
        symbol: None,
        level: None,
        source,
        time,
        signals: Vec::new(),
        text,
        metrics: None,
    }
}

/// The `perpwatch alert-test` message.
pub fn test_alert(time: DateTime<Utc>) -> Alert {
    let mut text = RichText::default();
    text.push(Line::new().plain("✅ ").bold("perpwatch test alert"));
    text.push(Line::new().plain(format!(
        "If you can read this, alerts reach this chat. Sent {}.",
        time_utc(time)
    )));
    Alert {
        kind: AlertKind::Test,
        symbol: None,
        level: None,
        source: SourceKind::Live,
        time,
        signals: Vec::new(),
        text,
        metrics: None,
    }
}

/// Discord rejects a `content` longer than this.
const WEBHOOK_CONTENT_MAX: usize = 2000;

/// The webhook's JSON body (documented in the README):
/// `{"text", "content", "kind", "symbol", "level", "source", "time", "signals": [{id, level, bias,
/// title, message, threshold}], "metrics"}`. `text` is the whole plain-text message; `content`
/// the same cut to 2000 characters (Discord's limit), so Slack and Discord show something
/// without a mapping.
pub fn webhook_body(alert: &Alert) -> serde_json::Value {
    let text = alert.text.plain();
    let content = if text.chars().count() > WEBHOOK_CONTENT_MAX {
        let mut c: String = text.chars().take(WEBHOOK_CONTENT_MAX - 1).collect();
        c.push('…');
        c
    } else {
        text.clone()
    };
    serde_json::json!({
        "text": text,
        "content": content,
        "kind": alert.kind.as_str(),
        "symbol": alert.symbol,
        "level": alert.level,
        "source": alert.source,
        "time": alert.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "signals": alert.signals.iter().map(|s| serde_json::json!({
            "id": s.id.as_str(),
            "level": s.level,
            "bias": s.bias.as_str(),
            "title": s.title,
            "message": s.message,
            "threshold": s.threshold,
            "record": s.record,
        })).collect::<Vec<_>>(),
        "metrics": alert.metrics,
    })
}

/// The text Telegram displays for HTML made here: our tags dropped and the four entities
/// decoded; `None` when an unescaped `<` or `>` is left (Telegram would reject the message).
/// Undoes [`Line::html`]; the sink tests use it to check that text survives escaping.
#[doc(hidden)]
pub fn displayed_text(html: &str) -> Option<String> {
    let mut s = html.to_string();
    for tag in ["<b>", "</b>", "<i>", "</i>", "<code>", "</code>"] {
        s = s.replace(tag, "");
    }
    if s.contains('<') || s.contains('>') {
        return None;
    }
    Some(
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Bias, Field, Liquidations, LongShort};
    use crate::signals::SignalId;

    const RESERVED: &str = "< > & _ * [ ] ( ) ~ ` # + - = | { } . ! \\ \"";

    fn decode(html: &str) -> String {
        displayed_text(html).unwrap_or_else(|| panic!("unescaped angle bracket: {html}"))
    }

    /// The label of the source `r` came from.
    fn label(r: &SymbolReport) -> SourceLabel {
        match r.snapshot.source {
            SourceKind::Live => crate::fixtures::live_label(Some("STARTUP")),
            SourceKind::Exchanges => crate::fixtures::exchanges_label(),
            SourceKind::Demo => crate::fixtures::demo_label(),
        }
    }

    #[test]
    fn exchanges_alerts_name_the_venues_and_mark_lower_bound_liquidations() {
        let mut r = report("BTC", SourceKind::Exchanges);
        let t = r.snapshot.time;
        r.snapshot.liquidations = Field::fresh(
            Liquidations {
                long_1h_usd: Some(55e6),
                short_1h_usd: Some(7e6),
                lower_bound: true,
                uncovered_s: Some(120),
            },
            t,
        );
        let alert = signals_alert(
            &r,
            &label(&r),
            vec![signal(SignalId::OiSurge, Level::High, "m")],
            &[],
        );
        let plain = alert.text.plain();
        assert!(
            plain.contains("Data: Binance+Bybit+OKX public data"),
            "{plain}"
        );
        assert!(
            plain.contains(
                "Liquidations 1h: ≥$62.0M (longs ≥$55.0M / shorts ≥$7.0M, longs dominant); \
                 ≥: lower bound, the venues sample their liquidation streams; \
                 incomplete 2m of the hour not covered"
            ),
            "{plain}"
        );
        assert_eq!(alert.source, SourceKind::Exchanges);
        let metrics = alert.metrics.unwrap_or_default();
        assert_eq!(metrics["liq_lower_bound"], true);
        assert_eq!(metrics["liq_uncovered_s"], 120);
        // CoinGlass messages carry no venue line.
        let r = report("BTC", SourceKind::Live);
        let plain = signals_alert(
            &r,
            &label(&r),
            vec![signal(SignalId::OiSurge, Level::High, "m")],
            &[],
        )
        .text
        .plain();
        assert!(!plain.contains("Data: ") && !plain.contains('≥'), "{plain}");
    }

    fn signal(id: SignalId, level: Level, msg: &str) -> Signal {
        Signal {
            id,
            level,
            bias: Bias::Bearish,
            title: format!("Title {msg}"),
            message: msg.to_string(),
            threshold: None,
            record: None,
            no_record: None,
        }
    }

    fn report(symbol: &str, source: SourceKind) -> SymbolReport {
        let t = Utc::now();
        let mut s = Snapshot::new(symbol, source, t);
        s.liquidations = Field::fresh(
            Liquidations {
                long_1h_usd: Some(55e6),
                short_1h_usd: Some(7e6),
                ..Default::default()
            },
            t,
        );
        s.retail = Field::fresh(
            LongShort {
                long_pct: Some(70.0),
                short_pct: Some(30.0),
                bar_time: t,
                source: "Binance".into(),
            },
            t,
        );
        SymbolReport {
            snapshot: s,
            signals: vec![],
            level: Level::None,
        }
    }

    #[test]
    fn escapes_every_dynamic_value_and_decodes_back() {
        let symbol = format!("1000PEPE_USDT{RESERVED}");
        let msg = format!("funding *hot* [x](y) a_b {RESERVED} 1 < 2 && 3 > 2");
        let r = report(&symbol, SourceKind::Live);
        let alert = signals_alert(
            &r,
            &label(&r),
            vec![signal(SignalId::FundingExtremeLong, Level::High, &msg)],
            &[],
        );
        let html = alert.text.html();
        let decoded = decode(&html);
        assert_eq!(decoded, alert.text.plain());
        assert!(decoded.contains(&symbol), "{decoded}");
        assert!(decoded.contains(&msg), "{decoded}");
        assert!(html.contains("&lt; &gt; &amp;"), "{html}");
    }

    #[test]
    fn absent_values_say_na_never_zero() {
        let r = SymbolReport {
            snapshot: Snapshot::new("BTC", SourceKind::Live, Utc::now()),
            signals: vec![],
            level: Level::None,
        };
        let alert = signals_alert(
            &r,
            &label(&r),
            vec![signal(SignalId::OiSurge, Level::High, "m")],
            &[],
        );
        let plain = alert.text.plain();
        for line in [
            "Funding 8h: n/a",
            "Open interest: n/a (1h n/a)",
            "Liquidations 1h: n/a",
            "Retail long/short: n/a / n/a",
            "Top traders long/short: n/a / n/a",
        ] {
            assert!(plain.contains(line), "{line} missing in:\n{plain}");
        }
        assert!(!plain.contains("$0"), "{plain}");
    }

    #[test]
    fn snapshot_lines_carry_values_and_dominant_side() {
        let r = report("BTC", SourceKind::Demo);
        let alert = signals_alert(
            &r,
            &label(&r),
            vec![signal(SignalId::OiSurge, Level::High, "m")],
            &[],
        );
        let plain = alert.text.plain();
        assert!(
            plain.contains("Liquidations 1h: $62.0M (longs $55.0M / shorts $7.0M, longs dominant)"),
            "{plain}"
        );
        assert!(
            plain.contains("Retail long/short: 70.0% / 30.0%"),
            "{plain}"
        );
        assert!(plain.contains("DEMO: simulated market"), "{plain}");
        assert!(plain.starts_with("🔴 HIGH · BTC · 1 new signal"), "{plain}");
    }

    #[test]
    fn long_messages_split_on_line_boundaries_under_the_limit() {
        let mut text = RichText::default();
        for i in 0..400 {
            text.push(
                Line::new()
                    .bold(format!("line {i}"))
                    .plain(" & <stuff> ".repeat(3)),
            );
        }
        // One line longer than the limit on its own.
        text.push(Line::new().plain("&".repeat(5000)));
        let parts = text.parts(SPLIT_AT);
        assert!(parts.len() > 3, "{}", parts.len());
        for p in &parts {
            assert!(tg_len(&p.html) <= SPLIT_AT, "{}", tg_len(&p.html));
            // Tags balanced in every part: each line closes what it opens.
            assert_eq!(
                p.html.matches("<b>").count(),
                p.html.matches("</b>").count()
            );
        }
        // Nothing lost, nothing reordered: the parts' lines (minus "part i/n") are the input's.
        let mut joined: Vec<String> = Vec::new();
        for p in &parts {
            for l in p.plain.lines() {
                if !(l.starts_with("(part ") && l.ends_with(')')) {
                    joined.push(l.to_string());
                }
            }
        }
        let expected_head: Vec<String> = text.plain().lines().take(400).map(String::from).collect();
        assert_eq!(&joined[..400], &expected_head[..]);
        assert_eq!(joined[400..].concat(), "&".repeat(5000));
        assert!(parts[1].plain.starts_with("(part 2/"));
    }

    #[test]
    fn short_message_is_one_part() {
        let mut text = RichText::default();
        text.push(Line::new().plain("hello"));
        let parts = text.parts(SPLIT_AT);
        assert_eq!(
            parts,
            vec![Part {
                html: "hello".into(),
                plain: "hello".into()
            }]
        );
    }

    #[test]
    fn webhook_body_shape() {
        let r = report("BTC", SourceKind::Demo);
        let alert = signals_alert(
            &r,
            &label(&r),
            vec![signal(SignalId::OiSurge, Level::High, "m")],
            &[],
        );
        let b = webhook_body(&alert);
        assert_eq!(b["symbol"], "BTC");
        assert_eq!(b["level"], "HIGH");
        assert_eq!(b["source"], "demo");
        assert_eq!(b["kind"], "signals");
        assert_eq!(b["signals"][0]["id"], "oi_surge");
        assert_eq!(b["signals"][0]["bias"], "bearish");
        assert_eq!(b["text"], b["content"]);
        assert!(b["metrics"]["liq_long_1h_usd"].as_f64() == Some(55e6));
        assert!(b["metrics"]["funding_8h_pct"].is_null());
        assert!(b["time"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert!(b["signals"][0]["threshold"].is_null(), "not said: null");
        assert!(b["signals"][0]["record"].is_null());
    }

    #[test]
    fn each_signal_says_its_threshold_in_one_short_line() {
        use crate::signals::relative::{ThresholdInfo, ThresholdMode};
        let r = report("BTC", SourceKind::Live);
        let mut relative = signal(SignalId::FundingExtremeLong, Level::High, "Funding is hot.");
        relative.threshold = Some(ThresholdInfo {
            mode: ThresholdMode::Relative,
            value: 0.0137,
            percentile: Some(99.0),
            window: Some("30d".into()),
            note: None,
        });
        let mut warming = signal(SignalId::OiSurge, Level::High, "OI surged.");
        warming.threshold = Some(ThresholdInfo {
            mode: ThresholdMode::Static,
            value: 5.0,
            percentile: None,
            window: None,
            note: Some("warming up: static threshold"),
        });
        let alert = signals_alert(&r, &label(&r), vec![relative, warming], &[]);
        let plain = alert.text.plain();
        for (message, threshold) in [
            ("Funding is hot.", "Threshold 0.0137 %/8h = p99 of 30d"),
            ("OI surged.", "Warming up: static threshold ±5 % OI in 1h"),
        ] {
            assert!(
                plain.contains(&format!("{message}\n{threshold}\n")),
                "{threshold:?} right after {message:?} in:\n{plain}"
            );
        }
        assert!(alert
            .text
            .html()
            .contains("<i>Threshold 0.0137 %/8h = p99 of 30d</i>"));
        let b = webhook_body(&alert);
        assert_eq!(
            b["signals"][0]["threshold"],
            serde_json::json!({"mode": "relative", "value": 0.0137, "percentile": 99.0,
                               "window": "30d"})
        );
        assert_eq!(
            b["signals"][1]["threshold"]["note"],
            "warming up: static threshold"
        );
    }

    /// Every signal's paragraph ends with its track record, or with why it has none; the
    /// webhook body carries the record's numbers as the JSON line does.
    #[test]
    fn each_signal_carries_its_track_record_or_says_why_not() {
        use crate::signals::record::{NoRecord, MIN_DAYS};
        let r = report("BTC", SourceKind::Live);
        let mut with = signal(SignalId::FundingExtremeLong, Level::High, "funding is hot");
        with.record = Some(crate::fixtures::record_9_hits_of_14());
        let mut without = signal(SignalId::OiSurge, Level::High, "oi jumps");
        without.no_record = Some(NoRecord::ShortHistory {
            days: 12.0,
            needs_days: MIN_DAYS,
        });
        let alert = signals_alert(&r, &label(&r), vec![with, without], &[]);
        let plain = alert.text.plain();
        assert!(
            plain.contains(
                "funding is hot\nTrack record: fired 14× in 180 d; ≥ 3 % move down within 24 h \
                 after 9 of them (64 %) vs 31 % on any bar; either direction: 79 %\n"
            ),
            "{plain}"
        );
        assert!(
            plain.contains("oi jumps\nNo track record yet: 12 days of history (needs 30)\n"),
            "{plain}"
        );
        assert!(alert.text.html().contains("<i>Track record: fired 14×"));
        let b = webhook_body(&alert);
        assert_eq!(b["signals"][0]["record"]["fired"], 14);
        assert_eq!(b["signals"][0]["record"]["horizon"], "24h");
        assert!(b["signals"][1]["record"].is_null());
    }
}
