//! Styles. With `NO_COLOR` every style keeps its modifiers (bold, reversed, dim) but drops its
//! colours, and every coloured thing also carries text, so levels stay distinguishable.

use crate::model::{FundingBand, Level};
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colours unless `NO_COLOR` is set to a non-empty value (no-color.org).
    pub fn from_env() -> Theme {
        Theme::from_no_color(std::env::var_os("NO_COLOR").as_deref())
    }

    pub fn from_no_color(no_color: Option<&std::ffi::OsStr>) -> Theme {
        Theme {
            color: no_color.is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn level(self, level: Level) -> Style {
        match level {
            Level::High => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Level::Medium => self.fg(Color::Yellow),
            Level::Low => self.fg(Color::Green),
            Level::None => self.dim(),
        }
    }

    /// Green above zero, red below, plain at zero.
    pub fn sign(self, v: f64) -> Style {
        if v > 0.0 {
            self.fg(Color::Green)
        } else if v < 0.0 {
            self.fg(Color::Red)
        } else {
            Style::new()
        }
    }

    pub fn band(self, band: FundingBand) -> Style {
        match band {
            FundingBand::ExtremeGreed | FundingBand::ExtremeFear => {
                self.fg(Color::Red).add_modifier(Modifier::BOLD)
            }
            FundingBand::ElevatedLongs | FundingBand::ElevatedShorts => self.fg(Color::Yellow),
            FundingBand::Neutral => Style::new(),
        }
    }

    pub fn long(self) -> Style {
        self.fg(Color::Green)
    }

    pub fn short(self) -> Style {
        self.fg(Color::Red)
    }

    /// Stale values, n/a reasons, machinery.
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn error(self) -> Style {
        self.fg(Color::Red)
    }

    pub fn dim(self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    pub fn bold(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// A key on the key bar: bold, and cyan in colour.
    pub fn key(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn border(self) -> Style {
        self.fg(Color::DarkGray)
    }

    /// A dead source: the `no data` banner and the tabs of symbols nothing was fetched for.
    /// Reversed, so it reads as an alarm without colour too.
    pub fn no_data(self) -> Style {
        self.fg(Color::Magenta)
            .add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    /// The tab of a symbol nothing was fetched for (`✕ n/a`): not the calm-market grey.
    pub fn no_data_tab(self) -> Style {
        self.fg(Color::Magenta).add_modifier(Modifier::BOLD)
    }

    /// The DEMO label: reversed so it reads as a banner in any colour mode.
    pub fn demo(self) -> Style {
        self.fg(Color::Yellow)
            .add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn no_color_needs_a_non_empty_value() {
        assert!(Theme::from_no_color(None).color);
        assert!(Theme::from_no_color(Some(OsStr::new(""))).color);
        assert!(!Theme::from_no_color(Some(OsStr::new("1"))).color);
    }

    #[test]
    fn no_color_keeps_modifiers_only() {
        let t = Theme { color: false };
        for l in [Level::High, Level::Medium, Level::Low, Level::None] {
            assert_eq!(t.level(l).fg, None);
        }
        assert_eq!(t.demo().fg, None);
        assert!(t.demo().add_modifier.contains(Modifier::REVERSED));
    }
}
