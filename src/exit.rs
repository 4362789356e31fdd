//! Process exit codes, one place for every command (documented in the README's "Exit codes").

/// Ran (even if some metrics failed: they are reported as absent or stale), or stopped by
/// SIGINT/SIGTERM.
pub const OK: u8 = 0;
/// Bad configuration or usage.
pub const USAGE: u8 = 2;
/// The API key was refused (invalid or expired).
pub const KEY_REFUSED: u8 = 3;
/// Anything else that stopped perpwatch (I/O, a crashed task, an unusable alert database).
pub const FAILURE: u8 = 1;
/// `alert-test`: a sink refused the test message (bad token, chat not found, 4xx): fix the
/// configuration.
pub const ALERT_REFUSED: u8 = 4;
/// `alert-test`: a sink could not be reached, failed on its side (5xx) or rate limited:
/// try again later.
pub const ALERT_UNREACHABLE: u8 = 5;
/// `--once`: no metric of any symbol was fetched (every value absent, or stale from before a
/// failure); `check`: CoinGlass could not be reached. The cause is said on stderr ("no data: …").
pub const NO_DATA: u8 = 6;
