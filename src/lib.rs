//! perpwatch watches crypto perpetual futures (funding, open interest, liquidations, long/short
//! positioning, taker flow) and warns before leverage unwinds.
//!
//! Data flows one way (`docs/architecture.md` has the picture and the rules):
//!
//! ```text
//! config ─► source ─► monitor ─► signals ─► report ─┬─► frontend: ui (dashboard) | headless
//!                                                    ├─► alerts (cooldown ─► outbox ─► sinks)
//!                                                    └─► store (SQLite history) ─► backtest
//! ```
//!
//! Module map, in the order data passes through:
//! - [`config`]: flags, environment, `.env` and the TOML file, validated into one `Config`;
//!   `config::cli` holds the command-line definitions.
//! - [`source`]: the [`source::Source`] trait and its implementations ([`source::coinglass`],
//!   [`source::demo`]). Only a source knows HTTP, JSON or the simulation.
//! - [`model`]: the domain values a source yields (`Snapshot`, metric groups that are fresh,
//!   stale or absent with a reason, history bars).
//! - [`signals`]: pure rules over a snapshot's inputs.
//! - [`monitor`]: the poll loop; the only producer of `Update`s and cycle reports.
//! - [`record`]: each signal's track record on the symbol's history, computed in the
//!   background (history downloads, bars from stored cycles) into the book the monitor reads.
//! - [`report`]: what a cycle produced, as every consumer sees it, and its JSON shape.
//! - Consumers of reports, which never import one another: `ui` and `headless` (frontends),
//!   [`alerts`], [`store`]. [`backtest`] and [`import`] work on the store's history.
//! - `service`: `/metrics`, `/healthz` and systemd notifications, fed by a report tap.
//! - [`app`]: the composition root that wires all of the above; [`exit`]: the exit codes.

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
pub mod record;
pub mod report;
pub(crate) mod service;
pub mod signals;
pub mod source;
pub mod store;
pub mod ui;
