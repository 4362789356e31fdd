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

/// Starts perpwatch in a detached 120×36 tmux session with a HOME, config and data dirs of its
/// own. `env_words` go right after `env` (`-u NAME` or `NAME=value`), `args` after the binary.
/// Returns the temp dir (bind it first, so the session is dropped before it), the session and
/// the file the exit code is written to.
fn start_dashboard(env_words: &str, args: &str) -> (tempfile::TempDir, Tmux, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path();
    let exit_file: PathBuf = home.join("exit-code");
    let script = format!(
        "cd {home} && env {env_words} HOME={home} XDG_CONFIG_HOME={config} \
         XDG_DATA_HOME={xdg_data} PERPWATCH_DATA_DIR={data} {bin} {args}; echo EXIT=$? > {exit}",
        home = quote(home),
        config = quote(&home.join("config")),
        xdg_data = quote(&home.join("xdg-data")),
        data = quote(&home.join("data")),
        bin = quote(Path::new(env!("CARGO_BIN_EXE_perpwatch"))),
        exit = quote(&exit_file),
    );
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
        s.contains("Keys") && s.contains("refresh now") && s.contains("Esc or ? closes this help")
    });
    tmux.keys("Escape");
    tmux.wait_for("the help to close", Duration::from_secs(5), |s| {
        !s.contains("Esc or ? closes this help") && s.contains("SOL · Funding")
    });

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
    let screen = tmux.wait_for("no data on the screen", Duration::from_secs(60), |s| {
        s.lines().next().is_some_and(|top| top.contains("no data:"))
            && s.lines().last().is_some_and(|st| st.contains("no data:"))
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
