//! Layers: file, environment (+ `.env`), flags, and the one resolver that reads them.

use super::error::{cut, quoted, ConfigError, Origin};
use super::keys::{section_keys, top_level_keys, Key, KEYS, SYMBOL, THRESHOLDS};
use super::parse::parse_http_url;
use super::thresholds::number_keys;
use super::HIDDEN;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// A value as found in one layer.
#[derive(Debug, Clone)]
pub(super) enum Raw {
    Text(String),
    Path(PathBuf),
    Toml(Value),
}

impl Raw {
    pub(super) fn text(&self) -> Option<&str> {
        match self {
            Raw::Text(s) | Raw::Toml(Value::String(s)) => Some(s),
            Raw::Path(p) => p.to_str(),
            Raw::Toml(_) => None,
        }
    }

    /// Empty strings count as unset, in every layer.
    pub(super) fn is_empty(&self) -> bool {
        match self {
            Raw::Text(s) | Raw::Toml(Value::String(s)) => s.trim().is_empty(),
            Raw::Path(p) => p.as_os_str().is_empty(),
            Raw::Toml(_) => false,
        }
    }

    pub(super) fn render(&self, secret: bool) -> String {
        if secret {
            return HIDDEN.to_string();
        }
        match self {
            Raw::Text(s) | Raw::Toml(Value::String(s)) => quoted(s),
            Raw::Path(p) => quoted(&p.display().to_string()),
            Raw::Toml(v) => cut(&v.to_string()),
        }
    }
}

/// Variables read from a `.env` file.
#[derive(Debug, Clone)]
pub(super) struct DotEnv {
    path: PathBuf,
    vars: BTreeMap<String, String>,
}

impl DotEnv {
    /// Reads `path` without touching the process environment. A missing file is `None`. A parse
    /// error names the line but never echoes it (it may hold a secret).
    pub(super) fn read(path: &Path) -> Result<Option<DotEnv>, ConfigError> {
        let io_error = |source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        };
        let iter = match dotenvy::from_path_iter(path) {
            Ok(iter) => iter,
            Err(e) if e.not_found() => return Ok(None),
            Err(dotenvy::Error::Io(source)) => return Err(io_error(source)),
            Err(_) => {
                return Err(ConfigError::DotEnv {
                    path: path.to_path_buf(),
                    line: None,
                })
            }
        };
        let mut vars = BTreeMap::new();
        for item in iter {
            match item {
                Ok((name, value)) => {
                    vars.insert(name, value);
                }
                Err(dotenvy::Error::Io(source)) => return Err(io_error(source)),
                Err(dotenvy::Error::LineParse(bad, _)) => {
                    return Err(ConfigError::DotEnv {
                        path: path.to_path_buf(),
                        line: line_number_of(path, &bad),
                    })
                }
                Err(_) => {
                    return Err(ConfigError::DotEnv {
                        path: path.to_path_buf(),
                        line: None,
                    })
                }
            }
        }
        Ok(Some(DotEnv {
            path: path.to_path_buf(),
            vars,
        }))
    }
}

/// 1-based number of the first line of `path` equal to the first line of `bad`.
fn line_number_of(path: &Path, bad: &str) -> Option<usize> {
    let text = std::fs::read_to_string(path).ok()?;
    let first = bad.lines().next()?.trim_end();
    text.lines()
        .position(|l| l.trim_end() == first)
        .map(|i| i + 1)
}

/// The environment: the real one (injected for tests) first, then `.env`.
pub(super) struct Env<'a> {
    pub(super) real: &'a dyn Fn(&str) -> Option<String>,
    pub(super) dotenv: Option<DotEnv>,
}

impl Env<'_> {
    fn get(&self, var: &str) -> Option<(String, Origin)> {
        if let Some(v) = (self.real)(var).filter(|v| !v.trim().is_empty()) {
            return Some((v, Origin::Env(var.to_string())));
        }
        let dotenv = self.dotenv.as_ref()?;
        let v = dotenv.vars.get(var).filter(|v| !v.trim().is_empty())?;
        Some((
            v.clone(),
            Origin::DotEnv {
                var: var.to_string(),
                path: dotenv.path.clone(),
            },
        ))
    }
}

/// The parsed config file.
#[derive(Debug, Clone)]
pub(super) struct FileLayer {
    pub(super) path: PathBuf,
    pub(super) table: Table,
    /// Group or others may read it (unix).
    pub(super) shared: bool,
}

impl FileLayer {
    /// Reads `explicit` (must exist) or else `default` (may be missing).
    pub(super) fn load(
        explicit: Option<&Path>,
        default: Option<&Path>,
    ) -> Result<Option<FileLayer>, ConfigError> {
        let (path, required) = match (explicit, default) {
            (Some(path), _) => (path, true),
            (None, Some(path)) => (path, false),
            (None, None) => return Ok(None),
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let mut layer = FileLayer::parse(&text, path.to_path_buf())?;
                layer.shared = readable_by_others(path);
                Ok(Some(layer))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if required {
                    Err(ConfigError::FileNotFound {
                        path: path.to_path_buf(),
                    })
                } else {
                    Ok(None)
                }
            }
            Err(source) => Err(ConfigError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parses TOML text and rejects unknown keys. `path` is only used in messages.
    pub(super) fn parse(text: &str, path: PathBuf) -> Result<FileLayer, ConfigError> {
        let table: Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Syntax {
                line: e.span().and_then(|span| line_col(text, span.start)),
                message: e.message().trim().replace('\n', "; "),
                path: path.clone(),
            })?;
        check_keys(&table, &path)?;
        Ok(FileLayer {
            path,
            table,
            shared: false,
        })
    }

    /// The value at a dotted key, e.g. `alerts.min_level`.
    pub(super) fn get(&self, dotted: &str) -> Option<&Value> {
        let mut parts = dotted.split('.');
        let mut value = self.table.get(parts.next()?)?;
        for part in parts {
            value = value.as_table()?.get(part)?;
        }
        Some(value)
    }

    pub(super) fn origin(&self) -> Origin {
        Origin::File(self.path.clone())
    }
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o044 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path) -> bool {
    false
}

fn line_col(text: &str, offset: usize) -> Option<(usize, usize)> {
    let before = text.get(..offset)?;
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, column))
}

/// Rejects unknown keys (naming the full dotted key and the allowed ones) and sections that are
/// not tables.
fn check_keys(table: &Table, path: &Path) -> Result<(), ConfigError> {
    let origin = || Origin::File(path.to_path_buf());
    let unknown = |key: String, allowed: &[String]| ConfigError::UnknownKey {
        key,
        origin: origin(),
        allowed: allowed.join(", "),
    };
    let as_table = |key: &str, value: &'_ Value, expected: &str| -> Result<Table, ConfigError> {
        value
            .as_table()
            .cloned()
            .ok_or_else(|| ConfigError::Invalid {
                key: key.to_string(),
                value: Raw::Toml(value.clone()).render(false),
                origin: origin(),
                expected: expected.to_string(),
            })
    };
    let numbers = number_keys();
    // `mode` and `window`: global only.
    let global_only = section_keys(THRESHOLDS);
    let mut global_keys = numbers.clone();
    global_keys.extend(global_only.iter().cloned());
    let check_thresholds =
        |prefix: &str, value: &Value, allowed: &[String]| -> Result<(), ConfigError> {
            let section = as_table(prefix, value, &format!("a [{prefix}] table of numbers"))?;
            let Some(k) = section.keys().find(|k| !allowed.contains(k)) else {
                return Ok(());
            };
            if global_only.contains(k) {
                return Err(ConfigError::Invalid {
                    key: format!("{prefix}.{k}"),
                    value: Raw::Toml(section[k].clone()).render(false),
                    origin: origin(),
                    expected: format!(
                        "it in [{THRESHOLDS}] only: the threshold mode and window apply to every \
                         symbol (a symbol's section may set numbers and percentiles)"
                    ),
                });
            }
            Err(unknown(format!("{prefix}.{k}"), allowed))
        };

    for (name, value) in table {
        if name == THRESHOLDS {
            check_thresholds(THRESHOLDS, value, &global_keys)?;
        } else if name == SYMBOL {
            let coins = as_table(
                SYMBOL,
                value,
                "per-coin sections like [symbol.DOGE.thresholds]",
            )?;
            for (coin, section) in &coins {
                let prefix = format!("{SYMBOL}.{}", cut(coin));
                let section = as_table(
                    &prefix,
                    section,
                    &format!("a section like [{prefix}.thresholds]"),
                )?;
                for (key, value) in &section {
                    if key == THRESHOLDS {
                        check_thresholds(&format!("{prefix}.{THRESHOLDS}"), value, &numbers)?;
                    } else {
                        return Err(unknown(
                            format!("{prefix}.{key}"),
                            &[THRESHOLDS.to_string()],
                        ));
                    }
                }
            }
        } else {
            let allowed = section_keys(name);
            if !allowed.is_empty() {
                let section = as_table(name, value, &format!("a [{name}] table"))?;
                if let Some(k) = section.keys().find(|k| !allowed.contains(k)) {
                    return Err(unknown(format!("{name}.{k}"), &allowed));
                }
            } else if !KEYS.iter().any(|k| k.name == name) {
                return Err(unknown(name.clone(), &top_level_keys()));
            }
        }
    }
    Ok(())
}

/// All layers, in precedence order: flag > environment > `.env` > file.
pub(super) struct Layers<'a> {
    pub(super) env: &'a Env<'a>,
    pub(super) file: Option<&'a FileLayer>,
}

impl Layers<'_> {
    fn lookup(&self, key: Key, flag: Option<Raw>) -> Option<(Raw, Origin)> {
        let from_flag = key
            .flag
            .zip(flag)
            .filter(|(_, raw)| !raw.is_empty())
            .map(|(name, raw)| (raw, Origin::Flag(name)));
        from_flag
            .or_else(|| {
                let (v, origin) = self.env.get(key.env?)?;
                Some((Raw::Text(v), origin))
            })
            .or_else(|| {
                let file = self.file?;
                let raw = Raw::Toml(file.get(key.name)?.clone());
                (!raw.is_empty()).then(|| (raw, file.origin()))
            })
    }

    /// The one reader of "flag or environment or file" for a key: the highest non-empty layer,
    /// validated by `parse` (which returns what is allowed on failure).
    pub(super) fn get<T>(
        &self,
        key: Key,
        flag: Option<Raw>,
        parse: impl FnOnce(&Raw) -> Result<T, String>,
    ) -> Result<Option<(T, Origin)>, ConfigError> {
        let Some((raw, origin)) = self.lookup(key, flag) else {
            return Ok(None);
        };
        match parse(&raw) {
            Ok(value) => Ok(Some((value, origin))),
            Err(expected) => Err(ConfigError::Invalid {
                key: key.name.to_string(),
                value: raw.render(key.secret),
                origin,
                expected,
            }),
        }
    }

    /// [`Layers::get`] without the origin, falling back to `default`.
    pub(super) fn get_or<T>(
        &self,
        key: Key,
        flag: Option<Raw>,
        parse: impl FnOnce(&Raw) -> Result<T, String>,
        default: impl FnOnce() -> T,
    ) -> Result<T, ConfigError> {
        Ok(self
            .get(key, flag, parse)?
            .map_or_else(default, |(value, _)| value))
    }

    /// An http(s) URL setting (no flag), or `default` when unset.
    pub(super) fn http_url_or(&self, key: Key, default: &str) -> Result<String, ConfigError> {
        self.get_or(
            key,
            None,
            |raw| parse_http_url(raw, default),
            || default.to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::{cli, env_map, ok, temp_dir, test_defaults, TEST_PATH};
    use crate::config::{Config, Defaults, Plan};
    use secrecy::ExposeSecret;
    use std::time::Duration;

    #[test]
    fn config_precedence_file_env_flag() {
        let file = r#"
            symbols = ["ada"]
            poll_interval = "2m"
            plan = "hobbyist"
            coinglass_base_url = "http://file.example"
            reference_exchange = "OKX"
            log_level = "warn"
            data_dir = "/file/data"
        "#;
        let env = [
            ("PERPWATCH_SYMBOLS", "xrp,doge"),
            ("PERPWATCH_POLL_INTERVAL", "3m"),
            ("PERPWATCH_PLAN", "startup"),
            ("COINGLASS_BASE_URL", "http://env.example/"),
            ("PERPWATCH_REFERENCE_EXCHANGE", "Bybit"),
            ("PERPWATCH_LOG", "debug"),
            ("PERPWATCH_DATA_DIR", "/env/data"),
            // CoinGlass runs: `reference_exchange` may name an exchange the venues list lacks.
            ("COINGLASS_API_KEY", "cg-key"),
        ];
        let flags = [
            "--symbols",
            "sol",
            "--poll-interval",
            "90",
            "--plan",
            "Professional",
            "--reference-exchange",
            "Gate",
            "--log-level",
            "ERROR",
            "--data-dir",
            "/flag/data",
        ];

        let c = ok(&[], &[], Some(file));
        assert_eq!(c.symbols, ["ADA"]);
        assert_eq!(c.poll_interval, Duration::from_secs(120));
        assert_eq!(c.plan, Some(Plan::Hobbyist));
        assert_eq!(c.base_url, "http://file.example");
        assert_eq!(c.reference_exchange, "OKX");
        assert_eq!(c.log_level, "warn");
        assert_eq!(c.data_dir, PathBuf::from("/file/data"));
        assert_eq!(c.config_path, Some(PathBuf::from(TEST_PATH)));

        let c = ok(&[], &env, Some(file));
        assert_eq!(c.symbols, ["XRP", "DOGE"]);
        assert_eq!(c.poll_interval, Duration::from_secs(180));
        assert_eq!(c.plan, Some(Plan::Startup));
        assert_eq!(c.base_url, "http://env.example", "trailing slash dropped");
        assert_eq!(c.reference_exchange, "Bybit");
        assert_eq!(c.log_level, "debug");
        assert_eq!(c.data_dir, PathBuf::from("/env/data"));

        let c = ok(&flags, &env, Some(file));
        assert_eq!(c.symbols, ["SOL"]);
        assert_eq!(c.poll_interval, Duration::from_secs(90));
        assert_eq!(c.plan, Some(Plan::Professional));
        assert_eq!(c.base_url, "http://env.example", "no flag for the base url");
        assert_eq!(c.reference_exchange, "Gate");
        assert_eq!(c.log_level, "error");
        assert_eq!(c.data_dir, PathBuf::from("/flag/data"));
    }

    #[test]
    fn config_empty_env_var_or_flag_counts_as_unset() {
        let file = "plan = \"standard\"\ncoinglass_api_key = \"file-key\"";
        let c = ok(
            &["--plan", ""],
            &[("PERPWATCH_PLAN", ""), ("COINGLASS_API_KEY", "  ")],
            Some(file),
        );
        assert_eq!(c.plan, Some(Plan::Standard));
        assert_eq!(
            c.api_key.as_ref().map(|k| k.expose_secret().to_string()),
            Some("file-key".to_string())
        );
        let c = ok(
            &[],
            &[("COINGLASS_API_KEY", "")],
            Some("coinglass_api_key = \"\""),
        );
        assert!(c.api_key.is_none() && !c.is_demo());
        assert_eq!(c.source, crate::config::SourceChoice::Exchanges);
    }

    fn write_dotenv(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let path = dir.path().join(".env");
        if let Err(e) = std::fs::write(&path, text) {
            panic!("cannot write {}: {e}", path.display());
        }
        path
    }

    #[test]
    fn config_dotenv_never_overrides_real_env_but_overrides_the_file() -> Result<(), ConfigError> {
        let dir = temp_dir()?;
        let path = write_dotenv(
            &dir,
            "COINGLASS_BASE_URL=http://dotenv.example\nPERPWATCH_PLAN=startup\n\
             # a comment\nPERPWATCH_SYMBOLS=\"avax, link\"\nPERPWATCH_LOG=\n",
        );
        let dotenv = DotEnv::read(&path)?;
        let vars = env_map(&[("COINGLASS_BASE_URL", "http://real.example")]);
        let real = move |name: &str| vars.get(name).cloned();
        let env = Env {
            real: &real,
            dotenv,
        };
        let file = FileLayer::parse(
            "plan = \"standard\"\nlog_level = \"warn\"",
            PathBuf::from(TEST_PATH),
        )?;
        let c = Config::build(&cli(&[]), &env, Some(file), &test_defaults())?;
        assert_eq!(c.base_url, "http://real.example", "real env beats .env");
        assert_eq!(c.plan, Some(Plan::Startup), ".env beats the file");
        assert_eq!(c.symbols, ["AVAX", "LINK"]);
        assert_eq!(c.log_level, "warn", "an empty .env value is unset");

        let c = Config::build(
            &cli(&["--plan", "professional"]),
            &env,
            None,
            &test_defaults(),
        )?;
        assert_eq!(c.plan, Some(Plan::Professional), "a flag beats .env");
        Ok(())
    }

    #[test]
    fn config_dotenv_errors_name_the_file_and_hide_the_line() -> Result<(), ConfigError> {
        let dir = temp_dir()?;
        let path = write_dotenv(&dir, "PERPWATCH_POLL_INTERVAL=5\n");
        let dotenv = DotEnv::read(&path)?;
        let no_env = |_: &str| None;
        let env = Env {
            real: &no_env,
            dotenv,
        };
        let message = match Config::build(&cli(&[]), &env, None, &test_defaults()) {
            Ok(c) => panic!("expected an error, got {c:?}"),
            Err(e) => e.to_string(),
        };
        assert!(message.contains("poll_interval = \"5\""), "{message}");
        assert!(
            message.contains(&format!("PERPWATCH_POLL_INTERVAL in {}", path.display())),
            "{message}"
        );

        let path = write_dotenv(
            &dir,
            "PERPWATCH_PLAN=startup\nCOINGLASS_API_KEY='sup3r-s3cret\n",
        );
        let message = match DotEnv::read(&path) {
            Ok(vars) => panic!("expected a parse error, got {vars:?}"),
            Err(e) => e.to_string(),
        };
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("line 2"), "{message}");
        assert!(!message.contains("sup3r-s3cret"), "{message}");

        assert!(DotEnv::read(&dir.path().join("missing.env"))?.is_none());
        Ok(())
    }

    #[test]
    fn config_explicit_file_must_exist_default_may_not() -> Result<(), ConfigError> {
        let dir = temp_dir()?;
        let missing = dir.path().join("nope.toml");
        let no_env = |_: &str| None;
        let env = Env {
            real: &no_env,
            dotenv: None,
        };
        let arg = missing.display().to_string();
        let message = match Config::resolve(&cli(&["--config", &arg]), &env, &test_defaults()) {
            Ok(c) => panic!("expected an error, got {c:?}"),
            Err(e) => e.to_string(),
        };
        assert!(
            message.contains(&arg) && message.contains("does not exist"),
            "{message}"
        );

        let defaults = Defaults {
            config_file: Some(missing.clone()),
            data_dir: PathBuf::from("/d"),
        };
        assert_eq!(
            Config::resolve(&cli(&[]), &env, &defaults)?.config_path,
            None
        );

        std::fs::write(&missing, "symbols = [\"ltc\"]").map_err(|source| ConfigError::Io {
            path: missing.clone(),
            source,
        })?;
        let c = Config::resolve(&cli(&[]), &env, &defaults)?;
        assert_eq!(c.symbols, ["LTC"]);
        assert_eq!(c.config_path, Some(missing.clone()));

        // The public entry point with an injected environment.
        let vars = env_map(&[
            ("COINGLASS_API_KEY", "cg-injected"),
            ("PERPWATCH_PLAN", "standard"),
        ]);
        let injected = move |name: &str| vars.get(name).cloned();
        let c = Config::load_from(&cli(&["--config", &arg]), &injected)?;
        assert_eq!(c.symbols, ["LTC"]);
        assert_eq!(c.plan, Some(Plan::Standard));
        assert!(!c.is_demo());
        Ok(())
    }
}
