//! The live CoinGlass API V4 source.
//!
//! * [`wire`]: serde shapes of the V4 answers (numbers or numeric strings, absent ≠ 0);
//! * [`client`]: transport, envelope, typed [`ApiError`], retries, request counting;
//! * [`history`]: history bars for the backtest, one page of one series at a time;
//! * [`budget`]: the key's [`Plan`], the client-side [`Limiter`] and the schedule planner;
//! * [`live`]: [`LiveSource`], which turns one cycle of calls into one `Snapshot` per symbol.

pub(crate) mod budget;
pub(crate) mod client;
pub(crate) mod history;
pub(crate) mod live;
pub(crate) mod pairs;
pub(crate) mod wire;

pub use budget::{
    allowed_per_window, headroom, plan_schedule, window_margin, Limiter, MarketsMode, Permit, Plan,
    RateLimitHint, Schedule, ScheduleInput, UnknownPlan,
};
pub use client::{
    paths, ApiError, ClientOptions, CoinGlassClient, HistoryQuery, LongShortKind, DEFAULT_BASE_URL,
};
pub use live::{LiveConfig, LiveSource};
pub use pairs::PairVerdict;
