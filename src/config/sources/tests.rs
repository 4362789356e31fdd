use crate::config::test_support::{err, ok};
use crate::config::SourceChoice;
use crate::source::exchanges::{Venue, VenueUrls};

const KEY: (&str, &str) = ("COINGLASS_API_KEY", "cg-test-key");

#[test]
fn config_source_auto_is_coinglass_with_a_key_and_the_exchanges_without() {
    let c = ok(&[], &[], None);
    assert_eq!(c.source, SourceChoice::Exchanges);
    assert!(c.source_auto && !c.is_demo() && !c.mode.demo);
    let c = ok(&[], &[KEY], None);
    assert_eq!(c.source, SourceChoice::CoinGlass);
    assert!(c.source_auto);
    let c = ok(&["--source", "auto"], &[KEY], None);
    assert_eq!(c.source, SourceChoice::CoinGlass);
    assert!(c.source_auto);
}

#[test]
fn config_source_from_each_layer_flag_beats_env_beats_file() {
    let file = "source = \"demo\"";
    let env = [("PERPWATCH_SOURCE", "coinglass"), KEY];
    let c = ok(&[], &[], Some(file));
    assert_eq!(c.source, SourceChoice::Demo);
    assert!(c.is_demo() && c.mode.demo && !c.source_auto);
    assert_eq!(ok(&[], &env, Some(file)).source, SourceChoice::CoinGlass);
    let c = ok(&["--source", "Exchanges"], &env, Some(file));
    assert_eq!(c.source, SourceChoice::Exchanges, "case does not matter");
    assert!(!c.source_auto);
    // The subcommands that take it: before or after their name.
    assert_eq!(
        ok(&["check", "--source", "demo"], &[], None).source,
        SourceChoice::Demo
    );
    assert_eq!(
        ok(&["backtest", "--source", "exchanges"], &[KEY], None).source,
        SourceChoice::Exchanges
    );
}

#[test]
fn config_demo_flag_means_source_demo() {
    for args in [
        &["--demo"][..],
        &["check", "--demo"],
        &["backtest", "--demo"],
    ] {
        let c = ok(args, &[KEY], None);
        assert_eq!(c.source, SourceChoice::Demo, "{args:?}");
        assert!(c.is_demo() && c.mode.demo, "{args:?}");
    }
    // It is the flag layer: it beats the environment and the file.
    let c = ok(
        &["--demo"],
        &[("PERPWATCH_SOURCE", "exchanges")],
        Some("source = \"coinglass\""),
    );
    assert_eq!(c.source, SourceChoice::Demo);
    assert_eq!(
        ok(&["--demo", "--source", "demo"], &[], None).source,
        SourceChoice::Demo
    );
    let e = err(&["--demo", "--source", "exchanges"], &[], None);
    assert!(
        e.contains("source = \"exchanges\" in flag --source") && e.contains("--demo"),
        "{e}"
    );
}

#[test]
fn config_bad_source_names_the_value_and_the_choices() {
    let e = err(&["--source", "kraken"], &[], None);
    assert!(
        e.contains("source = \"kraken\" in flag --source")
            && e.contains("auto, coinglass, exchanges or demo"),
        "{e}"
    );
    let e = err(&[], &[("PERPWATCH_SOURCE", "binance")], None);
    assert!(e.contains("environment variable PERPWATCH_SOURCE"), "{e}");
    let e = err(&[], &[], Some("source = 3"));
    assert!(e.contains("source = 3") && e.contains("exchanges"), "{e}");
}

#[test]
fn config_coinglass_without_a_key_says_to_set_it_or_use_the_exchanges() {
    for (args, env, file) in [
        (&["--source", "coinglass"][..], &[][..], None),
        (&[], &[("PERPWATCH_SOURCE", "coinglass")], None),
        (&[], &[], Some("source = \"coinglass\"")),
    ] {
        let e = err(args, env, file);
        assert!(
            e.contains("COINGLASS_API_KEY")
                && e.contains("--source exchanges")
                && e.contains("source = coinglass"),
            "{e}"
        );
    }
    let e = err(&["--source", "coinglass"], &[], None);
    assert!(e.contains("flag --source"), "{e}");
    assert_eq!(
        ok(&["--source", "coinglass"], &[KEY], None).source,
        SourceChoice::CoinGlass
    );
}

#[test]
fn config_exchanges_default_to_all_three_and_come_from_each_layer() {
    assert_eq!(ok(&[], &[], None).venues, Venue::ALL.to_vec());
    let file = "exchanges = [\"okx\", \"bybit\"]";
    assert_eq!(ok(&[], &[], Some(file)).venues, [Venue::Okx, Venue::Bybit]);
    assert_eq!(
        ok(&[], &[], Some("exchanges = \"bybit\"")).venues,
        [Venue::Bybit]
    );
    let env = [("PERPWATCH_EXCHANGES", "binance, OKX")];
    assert_eq!(
        ok(&[], &env, Some(file)).venues,
        [Venue::Binance, Venue::Okx]
    );
    assert_eq!(
        ok(&["--exchanges", "bybit"], &env, Some(file)).venues,
        [Venue::Bybit]
    );
    assert_eq!(
        ok(&["check", "--exchanges", "okx"], &[], None).venues,
        [Venue::Okx]
    );
}

#[test]
fn config_bad_exchanges_name_the_culprit_and_the_choices() {
    let e = err(&["--exchanges", "binance,kraken"], &[], None);
    assert!(
        e.contains("exchanges = \"binance,kraken\" in flag --exchanges")
            && e.contains("\"kraken\"")
            && e.contains("binance, bybit, okx"),
        "{e}"
    );
    let e = err(&[], &[("PERPWATCH_EXCHANGES", "ftx")], None);
    assert!(
        e.contains("PERPWATCH_EXCHANGES") && e.contains("\"ftx\""),
        "{e}"
    );
    let e = err(&[], &[], Some("exchanges = [\"okx\", 3]"));
    assert!(
        e.contains("exchanges = ") && e.contains("binance, bybit, okx"),
        "{e}"
    );
    let e = err(&[], &[], Some("exchanges = \" , \""));
    assert!(e.contains("no venue given"), "{e}");
}

#[test]
fn config_reference_venue_defaults_to_binance_then_okx_then_bybit() {
    assert_eq!(ok(&[], &[], None).reference_venue, Venue::Binance);
    let c = ok(&["--exchanges", "bybit,okx"], &[], None);
    assert_eq!(c.reference_venue, Venue::Okx);
    let c = ok(&["--exchanges", "bybit"], &[], None);
    assert_eq!(c.reference_venue, Venue::Bybit);
    let c = ok(&["--reference-exchange", "OKX"], &[], None);
    assert_eq!(c.reference_venue, Venue::Okx);
    let c = ok(&[], &[("PERPWATCH_REFERENCE_EXCHANGE", "bybit")], None);
    assert_eq!(c.reference_venue, Venue::Bybit);
    let file = "reference_exchange = \"okx\"\nexchanges = \"okx,binance\"";
    assert_eq!(ok(&[], &[], Some(file)).reference_venue, Venue::Okx);
}

#[test]
fn config_reference_venue_must_be_a_chosen_venue_for_the_exchanges_source() {
    let e = err(
        &[
            "--exchanges",
            "binance,okx",
            "--reference-exchange",
            "bybit",
        ],
        &[],
        None,
    );
    assert!(
        e.contains("reference_exchange = \"bybit\" in flag --reference-exchange")
            && e.contains("binance, okx"),
        "{e}"
    );
    let e = err(&[], &[], Some("reference_exchange = \"Gate\""));
    assert!(
        e.contains("reference_exchange = \"Gate\"") && e.contains("binance, bybit, okx"),
        "{e}"
    );
    // CoinGlass knows more exchanges: there it is an exchange name, and the exchanges
    // source's default stays.
    let c = ok(&["--reference-exchange", "Gate"], &[KEY], None);
    assert_eq!(c.reference_exchange, "Gate");
    assert_eq!(c.reference_venue, Venue::Binance);
    let c = ok(&["--demo", "--reference-exchange", "Gate"], &[], None);
    assert_eq!(c.source, SourceChoice::Demo);
}

#[test]
fn config_venue_urls_from_file_and_env_with_trailing_slash_dropped() {
    assert_eq!(ok(&[], &[], None).venue_urls, VenueUrls::default());
    let file =
        "binance_fapi_url = \"http://file.example:8080/\"\nokx_ws_url = \"ws://127.0.0.1:9001\"";
    let env = [
        ("BINANCE_FAPI_URL", "http://127.0.0.1:1234/"),
        ("BINANCE_WS_URL", "ws://127.0.0.1:1235/"),
        ("BYBIT_API_URL", "https://bybit.mirror.example"),
        ("BYBIT_WS_URL", "wss://bybit.mirror.example"),
        ("OKX_API_URL", "http://127.0.0.1:1236"),
    ];
    let c = ok(&[], &[], Some(file));
    assert_eq!(c.venue_urls.binance_fapi, "http://file.example:8080");
    assert_eq!(c.venue_urls.okx_ws, "ws://127.0.0.1:9001");
    assert_eq!(c.venue_urls.bybit_api, VenueUrls::default().bybit_api);
    let c = ok(&[], &env, Some(file));
    assert_eq!(
        c.venue_urls,
        VenueUrls {
            binance_fapi: "http://127.0.0.1:1234".into(),
            binance_ws: "ws://127.0.0.1:1235".into(),
            bybit_api: "https://bybit.mirror.example".into(),
            bybit_ws: "wss://bybit.mirror.example".into(),
            okx_api: "http://127.0.0.1:1236".into(),
            okx_ws: "ws://127.0.0.1:9001".into(),
        }
    );
    let x = c.exchanges_config();
    assert_eq!(x.urls, c.venue_urls);
    assert_eq!(x.venues, Venue::ALL.to_vec());
    assert_eq!(
        (x.reference, x.poll_interval),
        (Venue::Binance, c.poll_interval)
    );
    assert_eq!(x.symbols, ["BTC", "ETH"]);
}

#[test]
fn config_bad_venue_urls_name_the_key_and_the_scheme() {
    let e = err(&[], &[("BINANCE_FAPI_URL", "wss://fapi.example")], None);
    assert!(
        e.contains("binance_fapi_url = \"wss://fapi.example\"")
            && e.contains("BINANCE_FAPI_URL")
            && e.contains("http:// or https://"),
        "{e}"
    );
    let e = err(&[], &[("OKX_WS_URL", "https://ws.okx.example")], None);
    assert!(
        e.contains("okx_ws_url") && e.contains("ws:// or wss://"),
        "{e}"
    );
    let e = err(&[], &[], Some("bybit_ws_url = \"not a url\""));
    assert!(e.contains("bybit_ws_url = \"not a url\""), "{e}");
}
