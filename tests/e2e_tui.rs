//! End-to-end run of the dashboard in a real terminal: `perpwatch --demo` inside a detached tmux
//! session, driven with `send-keys` and read with `capture-pane`, asserting on what a person sees.
//! Skips (passes, with a message) when tmux is not installed; CI installs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A private tmux server (its own socket, no user config), killed on drop even when a test fails.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new() -> Tmux {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Tmux {
            socket: format!("perpwatch-e2e-{}-{nanos}", std::process::id()),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("tmux {args:?}: {e}"))
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "ui"]).stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        let out = self.run(&["send-keys", "-t", "ui", keys]);
        assert!(out.status.success(), "send-keys {keys}: {out:?}");
    }

    /// Polls the screen until `ok` holds; panics with the last screen after `timeout`.
    fn wait_for(&self, what: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            if start.elapsed() > timeout {
                panic!("timed out waiting for {what}; the screen shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `'…'` for sh, with embedded single quotes escaped.
fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// A signed percent with four decimals, as the funding panel prints it (`+0.0123%`).
fn has_funding_number(screen: &str) -> bool {
    screen.match_indices('%').any(|(i, _)| {
        let head = &screen.as_bytes()[..i];
        let n = head.len();
        n >= 7
            && head[n - 4..].iter().all(u8::is_ascii_digit)
            && head[n - 5] == b'.'
            && head[n - 6].is_ascii_digit()
            && matches!(head[n - 7], b'+' | b'-')
    })
}

/// The shell line that runs perpwatch with a HOME, config and data dirs of its own under `home`
/// and writes its exit code to `exit_file`. `env_words` go right after `env` (`-u NAME` or
/// `NAME=value`), `args` after the binary.
fn command_line(home: &Path, exit_file: &Path, env_words: &str, args: &str) -> String {
    format!(
        "cd {home} && env {env_words} HOME={home} XDG_CONFIG_HOME={config} \
         XDG_DATA_HOME={xdg_data} PERPWATCH_DATA_DIR={data} {bin} {args}; echo EXIT=$? > {exit}",
        home = quote(home),
        config = quote(&home.join("config")),
        xdg_data = quote(&home.join("xdg-data")),
        data = quote(&home.join("data")),
        bin = quote(Path::new(env!("CARGO_BIN_EXE_perpwatch"))),
        exit = quote(exit_file),
    )
}

/// Starts perpwatch in a detached 120×36 tmux session (see [`command_line`]). Returns the temp
/// dir (bind it first, so the session is dropped before it), the session and the file the exit
/// code is written to.
fn start_dashboard(env_words: &str, args: &str) -> (tempfile::TempDir, Tmux, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path();
    let exit_file: PathBuf = home.join("exit-code");
    let script = command_line(home, &exit_file, env_words, args);
    let tmux = Tmux::new();
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "ui",
        "-x",
        "120",
        "-y",
        "36",
        "sh",
        "-c",
        &script,
    ]);
    assert!(started.status.success(), "tmux new-session: {started:?}");
    (dir, tmux, exit_file)
}

#[test]
fn dashboard_in_tmux_navigates_helps_and_quits() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not on PATH (CI installs it); the dashboard was not exercised");
        return;
    }
    let (_dir, tmux, exit_file) =
        start_dashboard("-u COINGLASS_API_KEY", "--demo --symbols BTC,ETH,SOL");

    let screen = tmux.wait_for("the dashboard with data", Duration::from_secs(10), |s| {
        s.contains("DEMO") && s.contains("BTC · Funding") && has_funding_number(s)
    });
    for tab in ["BTC", "ETH", "SOL"] {
        assert!(
            screen.lines().next().is_some_and(|top| top.contains(tab)),
            "{tab}:\n{screen}"
        );
    }
    for title in [
        "Open interest",
        "Liquidations",
        "Positioning",
        "Taker flow",
        "Signals",
    ] {
        assert!(screen.contains(title), "no {title} panel:\n{screen}");
    }

    tmux.keys("l");
    tmux.wait_for("ETH selected", Duration::from_secs(5), |s| {
        s.contains("ETH · Funding")
    });
    tmux.keys("Right");
    tmux.wait_for("SOL selected", Duration::from_secs(5), |s| {
        s.contains("SOL · Funding")
    });

    tmux.keys("?");
    tmux.wait_for("the help popup", Duration::from_secs(5), |s| {
        s.contains("Keys")
            && s.contains("refresh now")
            && s.contains("Esc, q or ? closes this help")
    });
    tmux.keys("Escape");
    tmux.wait_for("the help to close", Duration::from_secs(5), |s| {
        !s.contains("closes this help") && s.contains("SOL · Funding")
    });
    // Esc on a symbol's detail goes back to the overview and never quits (given time to, it
    // has not); `o` returns to the same symbol. In the help, q closes it and does not quit
    // either. (The pauses also keep Esc and the next key apart: together they read as Alt-key.)
    tmux.keys("Escape");
    tmux.wait_for(
        "Esc to go back to the overview",
        Duration::from_secs(5),
        |s| s.contains("Overview"),
    );
    tmux.keys("Escape");
    std::thread::sleep(Duration::from_millis(500));
    assert!(!exit_file.exists(), "Esc quit:\n{}", tmux.screen());
    assert!(tmux.screen().contains("Overview"));
    tmux.keys("o");
    tmux.wait_for("o back to SOL", Duration::from_secs(5), |s| {
        s.contains("SOL · Funding")
    });
    tmux.keys("?");
    tmux.wait_for("the help again", Duration::from_secs(5), |s| {
        s.contains("closes this help")
    });
    tmux.keys("q");
    let screen = tmux.wait_for("q to close the help", Duration::from_secs(5), |s| {
        !s.contains("closes this help") && s.contains("SOL · Funding")
    });
    assert!(
        screen
            .lines()
            .last()
            .is_some_and(|bar| bar.contains("? help  q quit")),
        "the key bar is the last row:\n{screen}"
    );
    assert!(!exit_file.exists(), "still running");

    tmux.keys("q");
    let start = Instant::now();
    let code = loop {
        if let Ok(text) = std::fs::read_to_string(&exit_file) {
            if !text.trim().is_empty() {
                break text;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "perpwatch did not exit after q; the screen shows:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(code.trim(), "EXIT=0");
}

/// Waits for `exit_file` to hold the exit line (`EXIT=<code>`), at most 5 s after `q`.
fn exit_line(tmux: &Tmux, exit_file: &Path) -> String {
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(exit_file) {
            if !text.trim().is_empty() {
                return text.trim().to_string();
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "perpwatch did not exit after q; the screen shows:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_dead_source_is_unmistakable_on_the_dashboard() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not on PATH (CI installs it); the dashboard was not exercised");
        return;
    }
    // Nothing listens on this port: every request is refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let (_dir, tmux, exit_file) = start_dashboard(
        &format!("COINGLASS_API_KEY=cg-tui-test-key COINGLASS_BASE_URL=http://127.0.0.1:{port}"),
        "--symbols BTC,ETH,SOL --poll-interval 10s",
    );

    // At once: the dashboard, connecting, and no claim that all is well.
    let first = tmux.wait_for(
        "the dashboard while connecting",
        Duration::from_secs(10),
        |s| s.contains("connecting…"),
    );
    assert!(!first.contains("last error: none"), "{first}");

    // The first cycle fetches nothing (by its deadline: the poll interval, 10 s asked for,
    // stretched by the plan's budget): both bars say so.
    // The status bar is the row above the key bar.
    let screen = tmux.wait_for("no data on the screen", Duration::from_secs(60), |s| {
        s.lines().next().is_some_and(|top| top.contains("no data:"))
            && s.lines()
                .nth_back(1)
                .is_some_and(|st| st.contains("no data:"))
    });
    let top = screen.lines().next().unwrap_or_default();
    for tab in ["BTC", "ETH", "SOL"] {
        assert!(top.contains(&format!("{tab} ✕ n/a")), "{tab}: {top}");
    }
    assert!(!screen.contains("last error: none"), "{screen}");
    assert!(!screen.contains("cg-tui-test-key"), "{screen}");

    // One key away: every error in full.
    tmux.keys("e");
    tmux.wait_for("the errors popup", Duration::from_secs(5), |s| {
        s.contains("Errors of the last cycle") && s.contains("(all symbols)")
    });
    tmux.keys("Escape");
    tmux.wait_for("the popup to close", Duration::from_secs(5), |s| {
        !s.contains("Errors of the last cycle")
    });
    tmux.keys("q");
    assert_eq!(exit_line(&tmux, &exit_file), "EXIT=0");
}

/// A session running an interactive `sh` at `w`×`h` whose prompt is `PROMPT`, with a temp dir.
fn start_shell(w: u16, h: u16) -> (tempfile::TempDir, Tmux, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let exit_file = dir.path().join("exit-code");
    let tmux = Tmux::new();
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "ui",
        "-x",
        &w.to_string(),
        "-y",
        &h.to_string(),
        "env",
        &format!("PS1={PROMPT} "),
        "sh",
    ]);
    assert!(started.status.success(), "tmux new-session: {started:?}");
    tmux.wait_for("the shell prompt", Duration::from_secs(5), |s| {
        s.contains(PROMPT)
    });
    (dir, tmux, exit_file)
}

/// The screen's last non-blank line, without its trailing blanks.
fn last_line(screen: &str) -> Option<&str> {
    screen
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .map(str::trim_end)
}

/// The shell's prompt (followed by a space, which `capture-pane` trims at a line's end).
const PROMPT: &str = "shell-is-back$";

/// What only the dashboard draws: its brand, panel frames, the key bar.
fn dashboard_lines(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .filter(|l| {
            l.contains("perpwatch │")
                || l.contains(['┌', '┐', '└', '┘', '│', '─'])
                || l.contains("q quit")
        })
        .collect()
}

impl Tmux {
    fn resize(&self, w: u16, h: u16) {
        let out = self.run(&[
            "resize-window",
            "-t",
            "ui",
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
        ]);
        assert!(out.status.success(), "resize-window: {out:?}");
        // Redrawn at the new size: the key bar on the new last row.
        self.wait_for(
            &format!("the dashboard at {w}×{h}"),
            Duration::from_secs(5),
            |s| {
                let rows: Vec<&str> = s.lines().collect();
                rows.len() == usize::from(h)
                    && rows[0].contains("perpwatch │")
                    && rows[usize::from(h) - 1].contains("q quit")
            },
        );
    }

    fn option(&self, format: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", "ui", format]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

#[test]
fn quitting_after_resizes_leaves_the_shell_clean() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not on PATH (CI installs it); the dashboard was not exercised");
        return;
    }
    let (dir, tmux, exit_file) = start_shell(80, 24);
    let line = command_line(
        dir.path(),
        &exit_file,
        "-u COINGLASS_API_KEY",
        "--demo --symbols BTC,ETH,SOL",
    );
    tmux.keys(&line);
    tmux.keys("Enter");
    tmux.wait_for("the dashboard", Duration::from_secs(10), |s| {
        s.contains("DEMO") && has_funding_number(s)
    });
    // The reported case (80×24 → 120×36, then q), and one more size on the way.
    tmux.resize(140, 40);
    tmux.resize(120, 36);
    tmux.keys("q");
    assert_eq!(exit_line(&tmux, &exit_file), "EXIT=0");
    let screen = tmux.wait_for("the prompt back", Duration::from_secs(5), |s| {
        last_line(s) == Some(PROMPT)
    });
    assert!(
        dashboard_lines(&screen).is_empty(),
        "dashboard lines left in the shell:\n{screen}"
    );
    // Nor above it, in the pane's scrollback.
    let history = String::from_utf8_lossy(
        &tmux
            .run(&["capture-pane", "-p", "-S", "-", "-t", "ui"])
            .stdout,
    )
    .into_owned();
    assert!(
        dashboard_lines(&history).is_empty(),
        "dashboard lines in the scrollback:\n{history}"
    );
}

#[test]
fn no_mouse_leaves_the_mouse_to_the_terminal() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not on PATH (CI installs it); the dashboard was not exercised");
        return;
    }
    for (args, captured) in [("--demo", "1"), ("--demo --no-mouse", "0")] {
        let (_dir, tmux, exit_file) = start_dashboard("-u COINGLASS_API_KEY", args);
        tmux.wait_for("the dashboard", Duration::from_secs(10), |s| {
            s.contains("DEMO") && has_funding_number(s)
        });
        // tmux knows whether the program in the pane asked for mouse events.
        assert_eq!(tmux.option("#{mouse_any_flag}"), captured, "{args}");
        assert_eq!(tmux.option("#{alternate_on}"), "1", "{args}");
        tmux.keys("?");
        let help = tmux.wait_for("the help", Duration::from_secs(5), |s| {
            s.contains("closes this help")
        });
        let says_off = help.contains("Mouse: off (--no-mouse)");
        assert_eq!(says_off, captured == "0", "{args}:\n{help}");
        tmux.keys("q");
        tmux.keys("q");
        assert_eq!(exit_line(&tmux, &exit_file), "EXIT=0", "{args}");
    }
}

/// The funding of each overview row, top row first: the row's one number with four decimals
/// and a `%` (`+0.0917%`; a stale one starts with `~`); `None` where it is absent (`—`).
fn funding_column(screen: &str) -> Vec<Option<f64>> {
    let is_funding = |t: &str| {
        let t = t.trim_start_matches('~');
        t.ends_with('%')
            && t.starts_with(['+', '-'])
            && t.trim_end_matches('%')
                .split_once('.')
                .is_some_and(|(_, frac)| frac.len() == 4)
    };
    screen
        .lines()
        .skip_while(|l| !l.starts_with("symbol"))
        .skip(1)
        .take_while(|l| l.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
        .map(|l| {
            l.split_whitespace().find(|t| is_funding(t)).and_then(|t| {
                t.trim_start_matches('~')
                    .trim_end_matches('%')
                    .parse::<f64>()
                    .ok()
            })
        })
        .collect()
}

#[test]
fn overview_of_25_symbols_sorts_opens_goes_back_survives_resizes_and_quits_clean() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not on PATH (CI installs it); the dashboard was not exercised");
        return;
    }
    const COINS: &str = "BTC,ETH,SOL,XRP,BNB,DOGE,ADA,AVAX,LINK,DOT,TRX,TON,SUI,LTC,BCH,NEAR,\
                         APT,ARB,OP,PEPE,WIF,HYPE,INJ,SEI,TIA";
    let (dir, tmux, exit_file) = start_shell(80, 24);
    let line = command_line(
        dir.path(),
        &exit_file,
        "-u COINGLASS_API_KEY",
        &format!("--demo --symbols {COINS}"),
    );
    tmux.keys(&line);
    tmux.keys("Enter");
    tmux.wait_for("the dashboard", Duration::from_secs(15), |s| {
        s.contains("DEMO") && has_funding_number(s)
    });
    tmux.keys("o");
    tmux.wait_for("the overview", Duration::from_secs(5), |s| {
        s.contains("Overview") && s.contains("symbol")
    });
    // Step the sort column to funding (`>` moves it right), then check the rows are in
    // descending funding order.
    let mut sorted = String::new();
    for _ in 0..8 {
        let screen = tmux.screen();
        if screen
            .lines()
            .any(|l| l.starts_with("symbol") && l.contains("fund 8h▼"))
        {
            sorted = screen;
            break;
        }
        tmux.keys(">");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !sorted.is_empty(),
        "never sorted by funding:\n{}",
        tmux.screen()
    );
    let funding = funding_column(&sorted);
    assert!(funding.len() >= 15, "rows:\n{sorted}");
    let known: Vec<f64> = funding.iter().flatten().copied().collect();
    assert!(
        known.len() >= 15,
        "funding read off {} rows:\n{sorted}",
        known.len()
    );
    assert!(
        known.windows(2).all(|w| w[0] >= w[1]),
        "not in descending funding order: {funding:?}\n{sorted}"
    );
    // Enter opens the symbol on the cursor's row (the first row: the cursor follows the sort
    // to keep its coin, so go to the top first).
    tmux.keys("g");
    std::thread::sleep(Duration::from_millis(200));
    let top = tmux.screen();
    let first = top
        .lines()
        .skip_while(|l| !l.starts_with("symbol"))
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_default()
        .to_string();
    assert!(!first.is_empty(), "{top}");
    tmux.keys("Enter");
    tmux.wait_for("the first row's detail", Duration::from_secs(5), |s| {
        s.contains(&format!("{first} · Funding"))
    });
    tmux.keys("Escape");
    tmux.wait_for("back to the overview", Duration::from_secs(5), |s| {
        s.contains("Overview") && s.contains("fund 8h▼")
    });
    for (w, h) in [(140, 40), (80, 23)] {
        tmux.resize(w, h);
        let screen = tmux.wait_for(
            &format!("the overview at {w}×{h}"),
            Duration::from_secs(5),
            |s| {
                s.contains("Overview")
                    && last_line(s)
                        .is_some_and(|bar| bar.contains("? help") && bar.contains("q quit"))
            },
        );
        assert!(!screen.contains("too small"), "{w}×{h}:\n{screen}");
    }
    tmux.keys("q");
    assert_eq!(exit_line(&tmux, &exit_file), "EXIT=0");
    let screen = tmux.wait_for("the prompt back", Duration::from_secs(5), |s| {
        last_line(s) == Some(PROMPT)
    });
    assert!(
        dashboard_lines(&screen).is_empty(),
        "dashboard lines left in the shell:\n{screen}"
    );
}
