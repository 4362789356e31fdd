//! Local Binance, Bybit and OKX mocks (REST and liquidation streams) served until killed, for
//! soak runs and benchmarks of the exchanges source without touching the real venues:
//!
//! ```text
//! cargo run --release --example mock_venues -- 20 5 > /tmp/venues.env   # 20 coins, 5 liq/s per stream
//! env $(cat /tmp/venues.env) perpwatch --no-ui --source exchanges --symbols BTC,ETH,…
//! ```
//!
//! It prints the six base-URL variables, one `NAME=value` per line, then the coins.

#[path = "../tests/common/venues.rs"]
mod venues;

use std::io::Write;
use std::time::Duration;

/// Twenty coins every venue lists.
const COINS: [&str; 20] = [
    "BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "AVAX", "LINK", "DOT", "LTC", "BCH", "TRX", "NEAR",
    "APT", "ARB", "OP", "SUI", "TON", "ATOM", "FIL",
];

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let per_second: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let coins = &COINS[..count.clamp(1, COINS.len())];
    let venues = venues::Venues::streaming(coins, Duration::ZERO, per_second).await;
    let mut out = std::io::stdout();
    for (name, value) in venues.env() {
        let _ = writeln!(out, "{name}={value}");
    }
    let _ = writeln!(out, "# symbols: {}", coins.join(","));
    let _ = out.flush();
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}
