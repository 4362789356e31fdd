//! perpwatch: watches crypto perpetual futures through the CoinGlass API V4 and warns before
//! leverage unwinds. Data flows one way: config → source (live CoinGlass | demo) → monitor →
//! signals → frontends (TUI | headless) and alerts. See `../shared/design.md`.

pub mod alerts;
pub mod app;
pub mod backtest;
pub mod config;
pub mod exit;
#[cfg(any(test, feature = "test-support"))]
pub mod fixtures;
pub(crate) mod format;
pub(crate) mod headless;
pub mod import;
pub mod logging;
pub mod model;
pub mod monitor;
pub mod report;
pub mod signals;
pub mod source;
pub mod store;
pub mod ui;
