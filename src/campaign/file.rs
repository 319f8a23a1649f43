//! `campaign.toml`: the baseline, the scenarios in order, the recovery
//! between them. Pure: [`parse`] checks text (errors name the file and
//! line); [`load`] reads the file. Scenario paths are relative to the
//! campaign file; the scenarios themselves are ordinary scenario files,
//! loaded by the command that runs them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{de_opt_duration, line_col};

/// Why a campaign file cannot be used; every message starts with the file.
#[derive(Debug, thiserror::Error)]
pub enum CampaignFileError {
    #[error("{}: {err}", path.display())]
    Read { path: PathBuf, err: std::io::Error },
    /// Not TOML, an unknown field, a wrong type, a bad value.
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: Option<String>,
    #[expect(
        dead_code,
        reason = "for the people reading the file; nothing reads it"
    )]
    description: Option<String>,
    baseline: Spanned<RawBaseline>,
    #[serde(default)]
    recovery: Option<Spanned<RawRecovery>>,
    #[serde(default)]
    scenarios: Vec<Spanned<RawScenario>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    scenario: String,
    #[serde(default, deserialize_with = "de_opt_duration")]
    duration: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecovery {
    #[serde(default, deserialize_with = "de_opt_duration")]
    duration: Option<Duration>,
    within_c: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    file: String,
    name: Option<String>,
}

/// The idle look at the board before any load: every tool called once and
/// timed, then the board watched until `duration` is over.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// A scenario file whose targets (and their tools) the baseline calls.
    pub scenario: PathBuf,
    pub duration: Duration,
}

/// Between two scenarios: load off; wait `duration`, or less once every
/// zone is back within `within_c` of its baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recovery {
    pub duration: Duration,
    pub within_c: f64,
}

/// One scenario of the campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioEntry {
    pub file: PathBuf,
    /// The step's name (the scenario file's stem unless given).
    pub name: String,
}

/// A checked campaign file.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    pub name: String,
    /// The file it was read from.
    pub file: PathBuf,
    pub baseline: Baseline,
    pub recovery: Recovery,
    pub scenarios: Vec<ScenarioEntry>,
}

/// The assignment's defaults: a 30-minute baseline, one hour of recovery
/// ending early within 2 °C.
pub const DEFAULT_BASELINE: Duration = Duration::from_secs(30 * 60);
pub const DEFAULT_RECOVERY: Duration = Duration::from_secs(3600);
pub const DEFAULT_WITHIN_C: f64 = 2.0;

/// Read and check a campaign file.
pub fn load(path: &Path) -> Result<Campaign, CampaignFileError> {
    let text = std::fs::read_to_string(path).map_err(|err| CampaignFileError::Read {
        path: path.to_path_buf(),
        err,
    })?;
    parse(&text, path)
}

/// A step's name as a directory name: letters, digits, `-` and `_`.
fn step_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Parse and check campaign text read from `path` (relative scenario paths
/// resolve against its directory).
pub fn parse(text: &str, path: &Path) -> Result<Campaign, CampaignFileError> {
    let invalid = |offset: usize, message: String| CampaignFileError::Invalid {
        path: path.to_path_buf(),
        line: line_col(text, offset).0,
        message,
    };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        invalid(
            e.span().map_or(0, |s| s.start),
            e.message().trim().to_string(),
        )
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let resolve = |p: &str| {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            dir.join(p)
        }
    };
    let b = raw.baseline.get_ref();
    let baseline = Baseline {
        scenario: resolve(&b.scenario),
        duration: b.duration.unwrap_or(DEFAULT_BASELINE),
    };
    let recovery = match &raw.recovery {
        None => Recovery {
            duration: DEFAULT_RECOVERY,
            within_c: DEFAULT_WITHIN_C,
        },
        Some(r) => {
            let within_c = r.get_ref().within_c.unwrap_or(DEFAULT_WITHIN_C);
            if !(within_c.is_finite() && within_c > 0.0) {
                return Err(invalid(
                    r.span().start,
                    format!("recovery.within_c: {within_c} is not a positive number of °C"),
                ));
            }
            Recovery {
                duration: r.get_ref().duration.unwrap_or(DEFAULT_RECOVERY),
                within_c,
            }
        }
    };
    if raw.scenarios.is_empty() {
        return Err(invalid(
            0,
            "the campaign has no [[scenarios]]; add one (file = \"scenario.toml\")".into(),
        ));
    }
    let mut scenarios: Vec<ScenarioEntry> = Vec::new();
    for (i, s) in raw.scenarios.iter().enumerate() {
        let r = s.get_ref();
        let file = resolve(&r.file);
        let stem = Path::new(&r.file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = step_name(r.name.as_deref().unwrap_or(&stem));
        if name.is_empty() {
            return Err(invalid(
                s.span().start,
                format!("scenarios[{i}]: no name (give name = \"…\")"),
            ));
        }
        if scenarios.iter().any(|x| x.name == name) {
            return Err(invalid(
                s.span().start,
                format!("scenarios[{i}]: a second scenario named '{name}' (give name = \"…\")"),
            ));
        }
        scenarios.push(ScenarioEntry { file, name });
    }
    let name = raw.name.unwrap_or_else(|| {
        path.file_stem()
            .map_or_else(|| "campaign".into(), |s| s.to_string_lossy().into_owned())
    });
    Ok(Campaign {
        name,
        file: path.to_path_buf(),
        baseline,
        recovery,
        scenarios,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
name = "assignment"
[baseline]
scenario = "00-baseline.toml"
duration = "30m"
[recovery]
duration = "1h"
within_c = 2
[[scenarios]]
file = "01-inference.toml"
[[scenarios]]
file = "/abs/02-thermal.toml"
name = "thermal stress"
"#;

    #[test]
    fn a_campaign_resolves_its_scenarios_beside_itself() {
        let c = parse(FILE, Path::new("scenarios/seed-000/campaign.toml")).unwrap();
        assert_eq!(c.name, "assignment");
        assert_eq!(
            c.baseline,
            Baseline {
                scenario: "scenarios/seed-000/00-baseline.toml".into(),
                duration: Duration::from_secs(1800),
            }
        );
        assert_eq!(c.recovery.duration, Duration::from_secs(3600));
        let names: Vec<_> = c.scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["01-inference", "thermal-stress"]);
        assert_eq!(
            c.scenarios[0].file,
            Path::new("scenarios/seed-000/01-inference.toml")
        );
        assert_eq!(c.scenarios[1].file, Path::new("/abs/02-thermal.toml"));
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let bad = FILE.replace("within_c = 2", "within_c = -1");
        let e = parse(&bad, Path::new("c.toml")).unwrap_err().to_string();
        assert!(e.starts_with("c.toml:6: recovery.within_c"), "{e}");
        let bad = FILE.replace("duration = \"30m\"", "duraton = \"30m\"");
        let e = parse(&bad, Path::new("c.toml")).unwrap_err().to_string();
        assert!(e.starts_with("c.toml:5: unknown field `duraton`"), "{e}");
        let bad = FILE.replace("\"1h\"", "\"an hour\"");
        let e = parse(&bad, Path::new("c.toml")).unwrap_err().to_string();
        assert!(e.starts_with("c.toml:7:"), "{e}");
        let twice = format!("{FILE}[[scenarios]]\nfile = \"x/01-inference.toml\"\n");
        let e = parse(&twice, Path::new("c.toml")).unwrap_err().to_string();
        assert!(e.contains("a second scenario named '01-inference'"), "{e}");
        let none = "[baseline]\nscenario = \"b.toml\"\n";
        let e = parse(none, Path::new("c.toml")).unwrap_err().to_string();
        assert!(e.contains("no [[scenarios]]"), "{e}");
    }
}
