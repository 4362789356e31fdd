//! Where perpwatch reads and writes on this machine: the config file, the data dir and the log
//! dir. The end of `--help` says them as the platform's defaults (and `PERPWATCH_DATA_DIR`)
//! resolve them, before any configuration is read; `perpwatch check` as the configuration in
//! force resolves them. Both print the same [`Paths::rows`].

use super::keys::DATA_DIR;
use super::{default_config_path, Config, Defaults, Origin};
use std::path::PathBuf;

/// The config file as perpwatch finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigFile {
    /// There, and read (the one `--config` names, or the default one).
    Found(PathBuf),
    /// Looked for at the default place, not there: no settings come from a file.
    NotThere(PathBuf),
    /// No `--config`, and the platform has no config directory to look in.
    NoPlatformDir,
}

/// The config file, the data dir and where the data dir was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config_file: ConfigFile,
    pub data_dir: PathBuf,
    /// [`Origin::Default`] when it is the platform's default.
    pub data_dir_origin: Origin,
}

impl Paths {
    /// The paths before any configuration is read: the platform's defaults, and the data dir of
    /// `PERPWATCH_DATA_DIR` when it is set.
    pub fn on_this_machine() -> Paths {
        let defaults = Defaults::system();
        let config_file = match defaults.config_file {
            Some(p) if p.is_file() => ConfigFile::Found(p),
            Some(p) => ConfigFile::NotThere(p),
            None => ConfigFile::NoPlatformDir,
        };
        let var = DATA_DIR.env.unwrap_or_default();
        let (data_dir, data_dir_origin) =
            match std::env::var(var).ok().filter(|v| !v.trim().is_empty()) {
                Some(v) => (PathBuf::from(v), Origin::Env(var.to_string())),
                None => (defaults.data_dir, Origin::Default),
            };
        Paths {
            config_file,
            data_dir,
            data_dir_origin,
        }
    }

    /// `(label, value)` rows: the config file, the data dir (and where it was set, unless by
    /// default) and the log dir.
    pub fn rows(&self) -> [(&'static str, String); 3] {
        let config = match &self.config_file {
            ConfigFile::Found(p) => format!("{} (found)", p.display()),
            ConfigFile::NotThere(p) => format!("{} (not there: defaults apply)", p.display()),
            ConfigFile::NoPlatformDir => "none (this platform has no config directory)".into(),
        };
        let from = match &self.data_dir_origin {
            Origin::Default => String::new(),
            origin => format!(" (from {origin})"),
        };
        [
            ("config file", config),
            ("data dir", format!("{}{from}", self.data_dir.display())),
            (
                "log dir",
                crate::logging::log_dir(&self.data_dir)
                    .display()
                    .to_string(),
            ),
        ]
    }
}

impl Config {
    /// The paths this configuration uses.
    pub fn paths(&self) -> Paths {
        let config_file = match (&self.config_path, default_config_path()) {
            (Some(p), _) => ConfigFile::Found(p.clone()),
            (None, Some(p)) => ConfigFile::NotThere(p),
            (None, None) => ConfigFile::NoPlatformDir,
        };
        Paths {
            config_file,
            data_dir: self.data_dir.clone(),
            data_dir_origin: self.data_dir_origin.clone(),
        }
    }
}

/// The part of `--help` that depends on this machine: the config file, data and log directories
/// as resolved here ([`Paths::on_this_machine`]).
pub fn machine_help() -> String {
    let rows: Vec<String> = Paths::on_this_machine()
        .rows()
        .iter()
        .map(|(label, value)| format!("  {label:<12} {value}"))
        .collect();
    format!(
        "On this machine (--config and --data-dir override):\n{}",
        rows.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ok, TEST_PATH};
    use super::*;

    fn data_row(paths: &Paths) -> String {
        paths.rows()[1].1.clone()
    }

    #[test]
    fn the_data_dir_says_where_it_was_set() {
        let file = Some(r#"data_dir = "/file/data""#);
        let c = ok(&[], &[], None);
        assert_eq!(c.paths().data_dir_origin, Origin::Default);
        assert_eq!(data_row(&c.paths()), "/default/data");
        let c = ok(&[], &[], file);
        assert_eq!(
            data_row(&c.paths()),
            format!("/file/data (from {TEST_PATH})")
        );
        let c = ok(&[], &[("PERPWATCH_DATA_DIR", "/env/data")], file);
        assert_eq!(
            data_row(&c.paths()),
            "/env/data (from environment variable PERPWATCH_DATA_DIR)"
        );
        let c = ok(
            &["check", "--data-dir", "/flag/data"],
            &[("PERPWATCH_DATA_DIR", "/env/data")],
            file,
        );
        assert_eq!(data_row(&c.paths()), "/flag/data (from flag --data-dir)");
        assert_eq!(c.paths().rows()[2].1, "/flag/data/logs");
    }

    #[test]
    fn each_config_file_state_reads_plainly() {
        let paths = |config_file| Paths {
            config_file,
            data_dir: PathBuf::from("/d"),
            data_dir_origin: Origin::Default,
        };
        let rows = |p: Paths| p.rows().map(|(label, value)| format!("{label}: {value}"));
        assert_eq!(
            rows(paths(ConfigFile::Found(PathBuf::from("/c.toml")))),
            [
                "config file: /c.toml (found)",
                "data dir: /d",
                "log dir: /d/logs"
            ]
        );
        assert_eq!(
            rows(paths(ConfigFile::NotThere(PathBuf::from("/c.toml"))))[0],
            "config file: /c.toml (not there: defaults apply)"
        );
        assert_eq!(
            rows(paths(ConfigFile::NoPlatformDir))[0],
            "config file: none (this platform has no config directory)"
        );
        // The file a configuration read is found.
        let c = ok(&[], &[], Some(""));
        assert_eq!(
            c.paths().config_file,
            ConfigFile::Found(PathBuf::from(TEST_PATH))
        );
    }
}
