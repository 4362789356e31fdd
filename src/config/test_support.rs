//! Helpers shared by the config unit tests.

use super::cli::{self, Cli};
use super::layers::{Env, FileLayer};
use super::{Config, ConfigError, Defaults};
use std::collections::HashMap;
use std::path::PathBuf;

pub(super) const TEST_PATH: &str = "/etc/perpwatch/test.toml";

pub(super) fn cli(args: &[&str]) -> Cli {
    match cli::try_parse_from(std::iter::once("perpwatch").chain(args.iter().copied())) {
        Ok(cli) => cli,
        Err(e) => panic!("bad test arguments {args:?}: {e}"),
    }
}

pub(super) fn env_map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) fn test_defaults() -> Defaults {
    Defaults {
        config_file: None,
        data_dir: PathBuf::from("/default/data"),
    }
}

/// Builds a config from flags, an injected environment and config-file text (never the
/// developer's real files or environment).
pub(super) fn build(
    args: &[&str],
    env: &[(&str, &str)],
    file: Option<&str>,
) -> Result<Config, ConfigError> {
    let vars = env_map(env);
    let real = move |name: &str| vars.get(name).cloned();
    let file = file
        .map(|text| FileLayer::parse(text, PathBuf::from(TEST_PATH)))
        .transpose()?;
    let env = Env {
        real: &real,
        dotenv: None,
    };
    Config::build(&cli(args), &env, file, &test_defaults())
}

pub(super) fn ok(args: &[&str], env: &[(&str, &str)], file: Option<&str>) -> Config {
    match build(args, env, file) {
        Ok(config) => config,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

pub(super) fn err(args: &[&str], env: &[(&str, &str)], file: Option<&str>) -> String {
    match build(args, env, file) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(e) => e.to_string(),
    }
}

/// A temporary directory; failing to make one is an I/O error like any other in these tests.
pub(super) fn temp_dir() -> Result<tempfile::TempDir, ConfigError> {
    tempfile::tempdir().map_err(|source| ConfigError::Io {
        path: PathBuf::from("tempdir"),
        source,
    })
}
