//! `perpwatch check`: the configuration in force and how the source stands (CoinGlass's plan,
//! limit and cost per cycle, or each venue's state, budget and unlisted coins).

use super::{exchanges_label, key_refused, thresholds_text, StartError};
use crate::config::{Config, SourceChoice};
use crate::exit;
use crate::monitor;
use crate::source::coinglass::{
    plan_schedule, ClientOptions, CoinGlassClient, Plan, ScheduleInput,
};
use std::process::ExitCode;

/// What `check` learnt from CoinGlass.
struct ApiFindings {
    /// `  plan:            …` lines for stdout.
    lines: Vec<String>,
    /// Things the user must know (an assumed plan), for stderr.
    warnings: Vec<String>,
}

/// Reads the key's subscription (one request) and plans the schedule the monitor would run.
async fn probe_api(config: &Config, key: secrecy::SecretString) -> Result<ApiFindings, StartError> {
    let client = CoinGlassClient::new(config.base_url.clone(), key, ClientOptions::default())
        .map_err(|e| StartError {
            code: exit::FAILURE,
            msg: format!("cannot start the CoinGlass client: {e}"),
        })?;
    let sub = match client.subscription().await {
        Ok(sub) => sub,
        Err(e) if e.is_fatal() => return Err(key_refused(&e)),
        Err(e) => {
            return Err(StartError {
                code: exit::NO_DATA,
                msg: format!("cannot reach CoinGlass at {}: {e}", config.base_url),
            })
        }
    };
    if sub.expired == Some(true) {
        let when = sub
            .expire_time
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| format!(" on {}", t.format("%Y-%m-%d")))
            .unwrap_or_default();
        return Err(StartError {
            code: exit::KEY_REFUSED,
            msg: format!(
                "the CoinGlass subscription of this key expired{when}. Check COINGLASS_API_KEY."
            ),
        });
    }
    let mut warnings = Vec::new();
    let reported = sub.level.as_deref().map(Plan::parse);
    let (plan, how) = match (config.plan, reported) {
        (Some(p), Some(Ok(r))) if r != p => (
            p,
            format!("the configured plan; the subscription reports {r}"),
        ),
        (Some(p), _) => (p, "the configured plan".to_string()),
        (None, Some(Ok(p))) => (p, "as the subscription reports".to_string()),
        (None, Some(Err(e))) => {
            warnings.push(format!(
                "{e}: assuming HOBBYIST, the most conservative limits (set `plan` to override)"
            ));
            (
                Plan::Hobbyist,
                "ASSUMED: the level is not understood".to_string(),
            )
        }
        (None, None) => {
            warnings.push(
                "the subscription reports no plan level: assuming HOBBYIST, the most \
                 conservative limits (set `plan` to override)"
                    .to_string(),
            );
            (Plan::Hobbyist, "ASSUMED: no level reported".to_string())
        }
    };
    client.limiter().set_plan_limit(plan.requests_per_minute());
    let mut coins: Vec<String> = Vec::new();
    for s in &config.symbols {
        let coin = s.trim().to_ascii_uppercase();
        if !coin.is_empty() && !coins.contains(&coin) {
            coins.push(coin);
        }
    }
    let limit = client.limiter().limit();
    let mut input = ScheduleInput::for_plan(plan, coins.len(), config.poll_interval);
    input.limit_per_minute = limit;
    let s = plan_schedule(input);
    let mut lines = vec![
        format!("  API key:         accepted by {}", config.base_url),
        format!("  plan:            {plan} ({how})"),
        format!("  limit:           {limit} requests/minute"),
        format!(
            "  one cycle costs: {:.1} requests per symbol on average, {:.1} requests/minute in all",
            s.est_requests_per_symbol_per_cycle, s.est_requests_per_minute
        ),
        format!("  schedule:        {}", s.explanation),
    ];
    if let Some(requested) = s.stretched_from {
        lines.push(format!(
            "  note:            the interval was stretched from {}s to {}s to fit the plan",
            requested.as_secs(),
            s.poll_interval.as_secs()
        ));
    }
    Ok(ApiFindings { lines, warnings })
}

/// `perpwatch check`: validates the configuration (already done by loading it) and, with a key,
/// asks CoinGlass (one request) and prints what it found: the plan, the per-minute limit and the
/// requests one cycle costs. It vouches only for what it saw: if CoinGlass cannot be reached it
/// says so and exits 6; a refused key exits 3.
pub async fn check(config: Config) -> ExitCode {
    // The config file, data dir and log dir, as `--help` says them.
    let [config_file, data_dir, log_dir] = config
        .paths()
        .rows()
        .map(|(label, value)| format!("  {:<17}{value}", format!("{label}:")));
    let mut lines = vec![config_file];
    lines.push(format!("  symbols:         {}", config.symbols.join(", ")));
    lines.push(format!(
        "  poll interval:   {}s",
        config.poll_interval.as_secs()
    ));
    lines.push(format!("  source:          {}", source_text(&config)));
    if config.source == SourceChoice::Exchanges {
        lines.push(format!(
            "  reference:       {} ({})",
            config.reference_venue.name(),
            reference_offer(config.reference_venue)
        ));
    } else {
        lines.push(format!(
            "  reference pair:  <COIN>/{} perpetual on {} (its id is looked up at start)",
            config.reference_quote, config.reference_exchange
        ));
    }
    lines.push(format!("  thresholds:      {}", thresholds_text(&config)));
    lines.push(data_dir);
    lines.push(log_dir);
    if config.source == SourceChoice::Exchanges {
        return check_exchanges(&config, lines).await;
    }
    let Some(key) = config.api_key.clone() else {
        lines.push(
            "  API key:         not set: nothing to check against CoinGlass; perpwatch runs the \
             DEMO market (simulated, offline)"
                .into(),
        );
        print_check("configuration ok", &lines);
        return ExitCode::from(exit::OK);
    };
    if config.mode.demo {
        lines.push(
            "  demo:            --demo asks for the DEMO market; the key is checked anyway".into(),
        );
    }
    let probe = tokio::time::timeout(monitor::ONCE_DEADLINE, probe_api(&config, key))
        .await
        .unwrap_or_else(|_| {
            Err(StartError {
                code: exit::NO_DATA,
                msg: format!(
                    "cannot reach CoinGlass at {}: no answer within {} s",
                    config.base_url,
                    monitor::ONCE_DEADLINE.as_secs()
                ),
            })
        });
    match probe {
        Ok(found) => {
            lines.extend(found.lines);
            print_check("configuration ok", &lines);
            for w in &found.warnings {
                tracing::warn!("{w}");
                eprintln!("perpwatch: {w}");
            }
            ExitCode::from(exit::OK)
        }
        Err(e) => {
            let head = match e.code {
                exit::KEY_REFUSED => "configuration valid, but CoinGlass REFUSED the API key",
                exit::NO_DATA => {
                    "configuration valid, but CoinGlass could NOT be reached: the key, the plan \
                     and the limit are unchecked"
                }
                _ => "configuration valid, but the CoinGlass client could not start",
            };
            lines.push(format!(
                "  API key:         set, not confirmed ({})",
                match e.code {
                    exit::KEY_REFUSED => "refused",
                    exit::NO_DATA => "unreachable",
                    _ => "client error",
                }
            ));
            print_check(head, &lines);
            tracing::error!("{}", e.msg);
            let prefix = if e.code == exit::NO_DATA {
                "no data: "
            } else {
                ""
            };
            eprintln!("perpwatch: {prefix}{}", e.msg);
            ExitCode::from(e.code)
        }
    }
}

/// `check`'s output: the head line, then the rows.
fn print_check(head: &str, lines: &[String]) {
    println!("{head}");
    for l in lines {
        println!("{l}");
    }
}

/// The source in force and why, for `check`.
fn source_text(config: &Config) -> String {
    let why = match (config.source, config.source_auto) {
        (SourceChoice::CoinGlass, true) => " (auto: COINGLASS_API_KEY is set)",
        (SourceChoice::Exchanges, true) => " (auto: no COINGLASS_API_KEY set)",
        _ => "",
    };
    let what = match config.source {
        SourceChoice::CoinGlass => "the CoinGlass API".to_string(),
        SourceChoice::Exchanges => format!(
            "{} public data, no key",
            exchanges_label(config).plan.unwrap_or_default()
        ),
        SourceChoice::Demo => "the simulated DEMO market, offline".to_string(),
    };
    format!("{}{why}: {what}", config.source)
}

/// `check` for the exchanges source: reaches each venue once (within 30 s) and prints its
/// state, its request budget and the watched coins it does not list. Exit 6 when no venue
/// could be reached (it vouches only for what it saw).
async fn check_exchanges(config: &Config, mut lines: Vec<String>) -> ExitCode {
    let found = tokio::time::timeout(
        monitor::ONCE_DEADLINE,
        crate::source::exchanges::check(&config.exchanges_config()),
    )
    .await;
    let Ok(venues) = found else {
        lines.push(format!(
            "  venues:          no answer within {} s",
            monitor::ONCE_DEADLINE.as_secs()
        ));
        print_check("configuration valid, but NO venue answered", &lines);
        let msg = format!(
            "no data: no venue answered within {} s; try --demo for the simulated market",
            monitor::ONCE_DEADLINE.as_secs()
        );
        tracing::error!("{msg}");
        eprintln!("perpwatch: {msg}");
        return ExitCode::from(exit::NO_DATA);
    };
    if venues.is_empty() {
        lines.push("  venues:          nothing to report (not checked)".to_string());
    }
    for v in &venues {
        let name = crate::source::exchanges::Venue::parse(&v.status.venue)
            .map_or(v.status.venue.clone(), |venue| venue.name().to_string());
        // "Bybit unreachable: …" after the "Bybit:" column reads as "unreachable: …".
        let said = crate::report::venue_text(&v.status);
        let state = said
            .strip_prefix(&format!("{name} "))
            .unwrap_or(&said)
            .to_string();
        lines.push(format!("  {:<17}{state}", format!("{name}:")));
        for b in &v.budget {
            lines.push(format!("  {:<17}{b}", ""));
        }
        if !v.unlisted.is_empty() {
            lines.push(format!(
                "  {:<17}not listed there: {}",
                "",
                v.unlisted.join(", ")
            ));
        }
    }
    let down: Vec<String> = venues
        .iter()
        .filter(|v| !v.status.is_ok())
        .map(|v| crate::report::venue_text(&v.status))
        .collect();
    if !venues.is_empty() && down.len() == venues.len() {
        print_check("configuration valid, but NO venue could be reached", &lines);
        let msg = format!(
            "no data: {}; try --demo for the simulated market",
            down.join("; ")
        );
        tracing::error!("{msg}");
        eprintln!("perpwatch: {msg}");
        return ExitCode::from(exit::NO_DATA);
    }
    // As at start: a coin that every venue which answered does not list is a bad symbol.
    let answered: Vec<&crate::source::exchanges::VenueCheck> =
        venues.iter().filter(|v| v.status.is_ok()).collect();
    let nowhere: Vec<&String> = config
        .symbols
        .iter()
        .filter(|c| !answered.is_empty() && answered.iter().all(|v| v.unlisted.contains(c)))
        .collect();
    if let Some(coin) = nowhere.first() {
        print_check("configuration INVALID", &lines);
        let ids: Vec<&str> = answered.iter().map(|v| v.status.venue.as_str()).collect();
        let msg = crate::source::exchanges::ExchangesStartError::NotListed {
            coin: coin.to_string(),
            venues: ids.join(", "),
        }
        .to_string();
        tracing::error!("{msg}");
        eprintln!("perpwatch: {msg}");
        return ExitCode::from(exit::USAGE);
    }
    print_check("configuration ok", &lines);
    for d in &down {
        tracing::warn!("{d}");
        eprintln!("perpwatch: {d}");
    }
    ExitCode::from(exit::OK)
}

/// What the reference venue gives: Bybit publishes no top-trader or taker data.
fn reference_offer(venue: crate::source::exchanges::Venue) -> String {
    use crate::source::exchanges::venue::ReferenceMetric;
    if venue.offers(ReferenceMetric::Top) && venue.offers(ReferenceMetric::Taker) {
        "retail and top-trader long/short, taker flow".to_string()
    } else {
        format!(
            "retail long/short; top-trader long/short and taker flow not offered by {}",
            venue.name()
        )
    }
}
