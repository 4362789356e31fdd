//! perpwatch: watches crypto perpetual futures through the CoinGlass API V4 and warns before
//! leverage unwinds. Data flows one way: config → source (live CoinGlass | demo) → monitor →
//! signals → frontends (TUI | headless) and alerts. See `../shared/design.md`.

pub mod alerts;
pub mod app;
pub mod backtest;
pub mod coinglass;
pub mod config;
pub mod demo;
pub mod format;
pub mod headless;
pub mod import;
pub mod logging;
pub mod model;
pub mod monitor;
pub mod signals;
pub mod sources;
pub mod store;
pub mod ui;
