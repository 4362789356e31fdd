//! `--no-ui` output: one line per symbol per cycle on stdout, human text or JSON lines.
//! Absent values print as `n/a` (text) or `null` (JSON), never as zero.

use crate::format::{share_pct_or_na, signed_pct_or_na, usd};
use crate::model::SourceKind;
use crate::monitor::Update;
use crate::report::json::JsonLine;
use crate::report::{CycleReport, SymbolReport};
use std::io::Write;

/// One human line: time, source, symbol, level, signal count, funding 8h, OI change 1h,
/// liquidations 1h, retail/top long %. Stale or absent metric groups are listed at the end.
pub(crate) fn text_line(report: &SymbolReport) -> String {
    let s = &report.snapshot;
    let i = s.inputs();
    let liq = s.liquidations.get().copied().unwrap_or_default();
    let mut line = format!(
        "{} {} {:<8} {:<6} signals={} funding_8h={} oi_1h={} liq_1h=long {} / short {} retail_long={} top_long={}",
        s.time.format("%Y-%m-%dT%H:%M:%SZ"),
        match s.source {
            SourceKind::Demo => "DEMO",
            SourceKind::Live => "LIVE",
        },
        s.symbol,
        report.level.as_str(),
        report.signals.len(),
        signed_pct_or_na(i.funding_8h_pct, 4),
        signed_pct_or_na(i.oi_change_1h_pct, 2),
        usd(liq.long_1h_usd),
        usd(liq.short_1h_usd),
        share_pct_or_na(i.retail_long_pct),
        share_pct_or_na(i.top_long_pct),
    );
    let gaps = s.gaps();
    if !gaps.is_empty() {
        let list: Vec<String> = gaps
            .iter()
            .map(|g| match g.age_s {
                Some(age) => format!("{} stale {}s ({})", g.metric, age, g.reason),
                None => format!("{} n/a ({})", g.metric, g.reason),
            })
            .collect();
        line.push_str(" | ");
        line.push_str(&list.join("; "));
    }
    line
}

/// Writes one cycle: a line per symbol, plus (text mode) one line per signal fired.
pub(crate) fn write_cycle(
    out: &mut impl Write,
    report: &CycleReport,
    json: bool,
) -> std::io::Result<()> {
    for sym in &report.symbols {
        if json {
            serde_json::to_writer(&mut *out, &JsonLine::new(sym))?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}", text_line(sym))?;
            for sig in &sym.signals {
                writeln!(
                    out,
                    "    {} {:<6} {:<7} {}: {}",
                    sym.snapshot.symbol,
                    sig.level.as_str(),
                    sig.bias.as_str(),
                    sig.id,
                    sig.message
                )?;
            }
        }
    }
    out.flush()
}

/// How the headless frontend ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeadlessExit {
    /// The monitor finished (`--once`) or a shutdown signal arrived.
    Done,
    /// The source refused to go on (API key refused).
    Fatal(String),
}

/// Consumes updates until the monitor ends, a fatal error, or `shutdown` resolves.
pub(crate) async fn run(
    mut updates: tokio::sync::mpsc::Receiver<Update>,
    json: bool,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<HeadlessExit> {
    tokio::pin!(shutdown);
    let stdout = std::io::stdout();
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(HeadlessExit::Done),
            update = updates.recv() => match update {
                None => return Ok(HeadlessExit::Done),
                Some(Update::Cycle(report)) => {
                    let mut lock = stdout.lock();
                    match write_cycle(&mut lock, &report, json) {
                        // A closed pipe (e.g. `| head`) ends the run quietly.
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                            return Ok(HeadlessExit::Done)
                        }
                        other => other?,
                    }
                }
                Some(Update::Fatal(msg)) => return Ok(HeadlessExit::Fatal(msg)),
                Some(Update::CycleStarted { .. })
                | Some(Update::Paused(_))
                | Some(Update::History(_)) => {}
            },
        }
    }
}
