//! The config file (`$XDG_CONFIG_HOME/jetstress/config.toml`, or `--config`):
//! theme, key bindings, interval, retention, watched processes, marker style.
//! Command line > file > defaults. Unknown fields are errors; every error names
//! the file, line and column.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod duration;
pub use duration::{clock, de_opt_duration, parse_duration, DurationError};

/// Where the config file lives unless `--config` says otherwise.
pub fn default_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("jetstress"))
}

/// A key binding value: one key or several (`quit = ["q", "ctrl-c"]`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl KeyList {
    pub fn keys(&self) -> Vec<&str> {
        match self {
            KeyList::One(k) => vec![k.as_str()],
            KeyList::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Theme name (a file in `themes/` or the user theme dir).
    pub theme: Option<String>,
    /// Sampling interval, e.g. "1s".
    pub interval: Option<String>,
    /// Chart window, e.g. "10m" (`+`/`-` change it live).
    pub window: Option<String>,
    /// Braille charts need a font with braille; `true` draws dots instead.
    pub dot_marker: Option<bool>,
    /// Processes to watch by name (their RSS is charted and leak-checked).
    #[serde(default)]
    pub watch_names: Vec<String>,
    /// Action name → key(s); overrides the defaults for those actions.
    #[serde(default)]
    pub bindings: BTreeMap<String, KeyList>,
    /// Throttle predictor tuning (window, trips, overrides).
    pub predict: Option<crate::predict::PredictConfig>,
}

/// Why the config file could not be used. Every message starts with the
/// file, and with `:line:col` where the TOML error has a position.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: {err}", path.display())]
    Read { path: PathBuf, err: io::Error },
    /// The text is not valid TOML or does not fit the schema (unknown field,
    /// wrong type); `at` is the 1-based `(line, column)` when known.
    #[error("{}{}: {message}", path.display(), position(*at))]
    Invalid {
        path: PathBuf,
        at: Option<(usize, usize)>,
        message: String,
    },
}

fn position(at: Option<(usize, usize)>) -> String {
    at.map(|(line, col)| format!(":{line}:{col}"))
        .unwrap_or_default()
}

impl ConfigError {
    /// A TOML error in `text` (read from `path`), located by line and column.
    pub fn from_toml(path: &Path, text: &str, err: &toml::de::Error) -> Self {
        ConfigError::Invalid {
            path: path.to_path_buf(),
            at: err.span().map(|span| line_col(text, span.start)),
            message: err.message().trim().to_string(),
        }
    }
}

/// Turn a TOML error into `file:line:col: message`.
pub fn describe_toml_error(path: &Path, text: &str, err: &toml::de::Error) -> String {
    ConfigError::from_toml(path, text, err).to_string()
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let upto = &text[..offset.min(text.len())];
    let line = upto.matches('\n').count() + 1;
    let col = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

impl Config {
    /// Parse config text (pure); `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::from_toml(path, text, &e))
    }

    /// Load `explicit` (must exist) or the default file (may be absent).
    pub fn load(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>), ConfigError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => match default_config_path() {
                Some(dir) => {
                    let p = dir.join("config.toml");
                    if !p.exists() {
                        return Ok((Config::default(), None));
                    }
                    p
                }
                None => return Ok((Config::default(), None)),
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(err) => return Err(ConfigError::Read { path, err }),
        };
        Ok((Config::parse(&path, &text)?, Some(path)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_file() {
        let c = Config::parse(
            Path::new("c.toml"),
            "theme = \"light\"\ninterval = \"500ms\"\nwatch_names = [\"node\"]\n[bindings]\nquit = [\"q\", \"ctrl-c\"]\nspike = \"F1\"\n",
        )
        .unwrap();
        assert_eq!(c.theme.as_deref(), Some("light"));
        assert_eq!(c.bindings["quit"].keys(), ["q", "ctrl-c"]);
        assert_eq!(c.bindings["spike"].keys(), ["F1"]);
    }

    #[test]
    fn unknown_field_names_file_line_and_field() {
        let e = Config::parse(Path::new("/etc/j.toml"), "theme = \"dark\"\n\ncolour = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/etc/j.toml:3:1:"), "{e}");
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn wrong_type_is_an_error_with_position() {
        let e = Config::parse(Path::new("c.toml"), "dot_marker = \"yes\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:1:"), "{e}");
    }

    #[test]
    fn unreadable_file_is_a_read_error_naming_it() {
        let e = Config::load(Some(Path::new("/nonexistent/j.toml"))).unwrap_err();
        assert!(matches!(e, ConfigError::Read { .. }), "{e:?}");
        assert!(e.to_string().starts_with("/nonexistent/j.toml: "), "{e}");
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("", 0), (1, 1));
    }
}
