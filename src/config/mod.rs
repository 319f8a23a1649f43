//! The config file (`$XDG_CONFIG_HOME/jetstress/config.toml`, or `--config`):
//! theme, key bindings, interval, retention, watched processes, marker style.
//! Command line > file > defaults. Unknown fields are errors; every error names
//! the file, line and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod duration;
pub use duration::{parse_duration, DurationError};

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

/// Turn a TOML error into `file:line:col: message`.
pub fn describe_toml_error(path: &Path, text: &str, err: &toml::de::Error) -> String {
    let msg = err.message().trim().to_string();
    match err.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            format!("{}:{line}:{col}: {msg}", path.display())
        }
        None => format!("{}: {msg}", path.display()),
    }
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
    pub fn parse(path: &Path, text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| describe_toml_error(path, text, &e))
    }

    /// Load `explicit` (must exist) or the default file (may be absent).
    pub fn load(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>), String> {
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
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
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
            .unwrap_err();
        assert!(e.starts_with("/etc/j.toml:3:1:"), "{e}");
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn wrong_type_is_an_error_with_position() {
        let e = Config::parse(Path::new("c.toml"), "dot_marker = \"yes\"\n").unwrap_err();
        assert!(e.starts_with("c.toml:1:"), "{e}");
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("", 0), (1, 1));
    }
}
