//! Liquidations panel: the last hour's long and short liquidations as two bars (share of the
//! total), the dominant side and the imbalance ratio. With the exchanges source the title names
//! the venues, sums from sampled streams are marked `≥` (a lower bound) and an hour the streams
//! did not wholly cover says so.

use super::state::UiState;
use super::widgets::{self, read};
use crate::format;
use crate::model::Liquidations;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::Frame;

const LABEL_W: usize = 7;
const VALUE_W: usize = 8;

pub(super) fn render(frame: &mut Frame, area: Rect, state: &UiState) {
    let theme = state.theme;
    let reading = read(
        state.selected_snapshot().map(|s| &s.liquidations),
        state.now,
    );
    let with_venues = state
        .data_venues()
        .map(|venues| format!("Liquidations 1h · {venues}"));
    let titles: Vec<&str> = with_venues
        .iter()
        .map(String::as_str)
        .chain(["Liquidations · last 1h", "Liquidations 1h", "Liq. 1h"])
        .collect();
    widgets::field_panel(
        frame,
        area,
        &titles,
        reading,
        theme,
        |liq, width, height| {
            let bar_w = (width as usize)
                .saturating_sub(LABEL_W + VALUE_W + 1)
                .min(widgets::MAX_BAR);
            let total = liq.total_1h_usd().filter(|t| *t > 0.0);
            let side = |label, usd, fill| Side {
                label,
                usd,
                lower_bound: liq.lower_bound,
                fill,
            };
            let mut lines = vec![
                side("longs", liq.long_1h_usd, theme.short()).line(total, bar_w, state),
                side("shorts", liq.short_1h_usd, theme.long()).line(total, bar_w, state),
            ];
            // Under the bars: the verdict, then what the `≥` and an incomplete hour mean. Short of
            // lines, the legend goes first (the bars and values say who dominates), in one line.
            let legend = legend(liq, state);
            let room = usize::from(height).saturating_sub(2);
            let width = width as usize;
            if room > legend.len() {
                lines.push(verdict(liq, width, state));
            }
            if room >= legend.len() {
                lines.extend(
                    legend
                        .iter()
                        .map(|l| Line::styled(widgets::ellipsize(l, width), theme.dim())),
                );
            } else if room > 0 {
                let one = one_line_legend(liq, &legend, state, width);
                lines.push(Line::styled(widgets::ellipsize(&one, width), theme.dim()));
            }
            lines
        },
    );
}

/// What the marks mean, one line each: `≥ lower bound: Binance and OKX sample their streams`,
/// `incomplete: 2m of the hour not covered`.
fn legend(liq: &Liquidations, state: &UiState) -> Vec<String> {
    let mut out = Vec::new();
    if liq.lower_bound {
        out.push(format!("≥ lower bound: {}", sampling_venues(state)));
    }
    if let Some(s) = liq.uncovered_s.filter(|s| *s > 0) {
        out.push(format!(
            "incomplete: {} of the hour not covered",
            format::age(i64::from(s))
        ));
    }
    out
}

/// The legend on one line of `width` columns, for a panel without room for [`legend`]'s
/// lines: the whole legend if it fits, else shorter words (`≥ sampled by Binance and OKX ·
/// 2m not covered`, then `≥ lower bound · incomplete 2m`).
fn one_line_legend(liq: &Liquidations, full: &[String], state: &UiState, width: usize) -> String {
    let uncovered = liq
        .uncovered_s
        .filter(|s| *s > 0)
        .map(|s| format::age(i64::from(s)));
    let medium: Vec<String> = liq
        .lower_bound
        .then(|| format!("≥ sampled by {}", sampling_names(state)))
        .into_iter()
        .chain(uncovered.as_ref().map(|age| format!("{age} not covered")))
        .collect();
    let short: Vec<String> = liq
        .lower_bound
        .then(|| "≥ lower bound".to_string())
        .into_iter()
        .chain(format::liq_incomplete(liq.uncovered_s))
        .collect();
    [full.join(" · "), medium.join(" · "), short.join(" · ")]
        .into_iter()
        .find(|t| t.chars().count() <= width)
        .unwrap_or_else(|| short.join(" · "))
}

/// `Binance and OKX sample their streams`: the venues of this run whose liquidation streams
/// sample (the venues that do, when the run's venues are not known).
fn sampling_venues(state: &UiState) -> String {
    match sampled_venues(state).as_slice() {
        [] => "the venues sample their streams".to_string(),
        [one] => format!("{one} samples its stream"),
        _ => format!("{} sample their streams", sampling_names(state)),
    }
}

/// `Binance and OKX`, `OKX`: the venues of [`sampled_venues`] in words.
fn sampling_names(state: &UiState) -> String {
    match sampled_venues(state).as_slice() {
        [] => "the venues".to_string(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The names of the venues of this run whose liquidation streams sample (those that do, when
/// the run's venues are not known).
fn sampled_venues(state: &UiState) -> Vec<&'static str> {
    use crate::source::exchanges::Venue;
    let known: Vec<Venue> = state
        .venues
        .iter()
        .filter_map(|v| Venue::parse(&v.venue))
        .collect();
    let pool = if known.is_empty() {
        Venue::ALL.to_vec()
    } else {
        known
    };
    pool.into_iter()
        .filter(|v| v.liquidations_sampled())
        .map(Venue::name)
        .collect()
}

/// One side's bar.
struct Side {
    label: &'static str,
    usd: Option<f64>,
    /// The sum is a lower bound (`≥`).
    lower_bound: bool,
    fill: Style,
}

impl Side {
    /// `longs  ██████░░░░  $42.1M` (`≥$42.1M` for a lower bound); the bar is the side's share
    /// of the total.
    fn line(&self, total: Option<f64>, bar_w: usize, state: &UiState) -> Line<'static> {
        let mut spans = vec![Span::raw(format!("{:<LABEL_W$}", self.label))];
        let share = match (self.usd, total) {
            (Some(v), Some(t)) => v / t,
            _ => 0.0,
        };
        spans.extend(widgets::bar_spans(share, bar_w, self.fill, state.theme));
        let value = format::liq_usd(self.usd, self.lower_bound);
        spans.push(Span::raw(format!(" {value:>VALUE_W$}")));
        Line::from(spans)
    }
}

/// `dominant: longs · imbalance 5.1×`, shorter on a narrow panel (never a number cut).
fn verdict(liq: &Liquidations, width: usize, state: &UiState) -> Line<'static> {
    let dim = state.theme.dim();
    let (Some(long), Some(short)) = (liq.long_1h_usd, liq.short_1h_usd) else {
        return Line::styled(
            widgets::ellipsize("dominant: n/a (one side not reported)", width),
            dim,
        );
    };
    let (side, big, small) = if long >= short {
        ("longs", long, short)
    } else {
        ("shorts", short, long)
    };
    if big <= 0.0 {
        return Line::styled(
            widgets::ellipsize("no liquidations in the last hour", width),
            dim,
        );
    }
    let ratio = if small > 0.0 {
        format!("{:.1}×", big / small)
    } else {
        "one-sided".to_string()
    };
    let line = |lead: &'static str, between: &'static str| {
        Line::from(vec![
            Span::styled(lead, dim),
            Span::styled(side.to_string(), state.theme.bold()),
            Span::styled(between, dim),
            Span::raw(ratio.clone()),
        ])
    };
    let wide = line("dominant: ", " · imbalance ");
    if wide.width() <= width {
        wide
    } else {
        line("dominant: ", " · ")
    }
}
