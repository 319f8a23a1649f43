//! `DIR/campaign-state.json`: which steps of a campaign are done, with what
//! each found, written after every step by an atomic rename so a crash,
//! `kill -9`, SIGHUP or a reboot leaves either the old state or the new one.
//! [`CampaignState::resume`] turns a step found running into an
//! [`Interruption`] and runs it again; finished steps are never re-run.

use std::io::Write;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::file::Campaign;
use super::outcome::StepOutcome;

pub const STATE_SCHEMA: &str = "jetstress.campaign-state/1";
pub const STATE_FILE: &str = "campaign-state.json";

/// What a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Baseline,
    Scenario,
    Recovery,
}

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    /// Started and not finished: on resume, an interruption.
    Running,
    /// Stopped by a signal (the state says which); run again on resume.
    Interrupted,
    Done,
}

/// One step of the campaign and what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub kind: StepKind,
    pub name: String,
    /// Its directory under the campaign's, e.g. `2-thermal-stress`.
    pub dir: String,
    pub status: StepStatus,
    /// Times it was started (above 1: it was resumed).
    pub attempts: u32,
    pub started_unix_ms: Option<u64>,
    pub finished_unix_ms: Option<u64>,
    /// Set when done.
    pub outcome: Option<StepOutcome>,
}

/// A step that did not finish in one go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Interruption {
    pub step: String,
    /// When the interrupted attempt had started.
    pub started_unix_ms: Option<u64>,
    /// When the resume found it.
    pub found_unix_ms: u64,
    /// `SIGHUP`, or "the campaign process ended during the step (a crash,
    /// kill -9 or a reboot)" when nothing was written on the way out.
    pub cause: String,
    /// Where the interrupted attempt's files were moved (kept, never lost).
    pub kept_in: Option<String>,
}

/// `jetstress.campaign-state/1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignState {
    pub schema: String,
    pub campaign: String,
    /// The campaign file (as given when the campaign started).
    pub file: PathBuf,
    /// Every duration was multiplied by this (1: the real campaign).
    pub time_scale: f64,
    pub started_unix_ms: u64,
    pub steps: Vec<Step>,
    #[serde(default)]
    pub interruptions: Vec<Interruption>,
    /// The signal of the last stop, until a resume records it.
    #[serde(default)]
    pub stopped_by: Option<String>,
    pub finished_unix_ms: Option<u64>,
}

/// Why a state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{}: {err}", path.display())]
    Io { path: PathBuf, err: std::io::Error },
    #[error("{}: not a campaign state: {err}", path.display())]
    Parse {
        path: PathBuf,
        err: serde_json::Error,
    },
    #[error("{}: schema '{found}', this jetstress reads {STATE_SCHEMA}", path.display())]
    Schema { path: PathBuf, found: String },
    #[error("{}: the campaign file changed since this campaign started ({why}); start a new one with --out", path.display())]
    Changed { path: PathBuf, why: String },
}

/// The steps of a campaign in order: the baseline, then each scenario with
/// a recovery after every one but the last.
pub fn plan_steps(c: &Campaign) -> Vec<Step> {
    let step = |kind, name: &str, dir: String| Step {
        kind,
        name: name.into(),
        dir,
        status: StepStatus::Pending,
        attempts: 0,
        started_unix_ms: None,
        finished_unix_ms: None,
        outcome: None,
    };
    let mut steps = vec![step(StepKind::Baseline, "baseline", "0-baseline".into())];
    let n = c.scenarios.len();
    for (i, s) in c.scenarios.iter().enumerate() {
        steps.push(step(
            StepKind::Scenario,
            &s.name,
            format!("{}-{}", i + 1, s.name),
        ));
        if i + 1 < n {
            steps.push(step(
                StepKind::Recovery,
                &format!("recovery after {}", s.name),
                format!("{}-recovery", i + 1),
            ));
        }
    }
    steps
}

impl CampaignState {
    pub fn new(c: &Campaign, time_scale: f64, now_unix_ms: u64) -> CampaignState {
        CampaignState {
            schema: STATE_SCHEMA.into(),
            campaign: c.name.clone(),
            file: c.file.clone(),
            time_scale,
            started_unix_ms: now_unix_ms,
            steps: plan_steps(c),
            interruptions: Vec::new(),
            stopped_by: None,
            finished_unix_ms: None,
        }
    }

    pub fn path(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    /// Read `DIR/campaign-state.json`; `Ok(None)` when there is none.
    pub fn read(dir: &Path) -> Result<Option<CampaignState>, StateError> {
        let path = Self::path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(StateError::Io { path, err }),
        };
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|err| StateError::Parse {
                path: path.clone(),
                err,
            })?;
        let found = v.get("schema").and_then(|s| s.as_str()).unwrap_or("");
        if found != STATE_SCHEMA {
            return Err(StateError::Schema {
                found: found.into(),
                path,
            });
        }
        serde_json::from_value(v)
            .map(Some)
            .map_err(|err| StateError::Parse { path, err })
    }

    /// Write it atomically: a temporary file beside it, synced, renamed over.
    pub fn write(&self, dir: &Path) -> Result<(), StateError> {
        let path = Self::path(dir);
        let tmp = dir.join(format!("{STATE_FILE}.tmp"));
        let io = |err| StateError::Io {
            path: path.clone(),
            err,
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.write_all(b"\n").map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(io)?;
        // The rename itself is durable once the directory is synced.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Check that `c` is still the campaign this state was made from (the
    /// same steps in the same order).
    pub fn matches(&self, c: &Campaign, dir: &Path) -> Result<(), StateError> {
        let want: Vec<_> = plan_steps(c).into_iter().map(|s| s.dir).collect();
        let have: Vec<_> = self.steps.iter().map(|s| s.dir.clone()).collect();
        if want == have {
            Ok(())
        } else {
            Err(StateError::Changed {
                path: Self::path(dir),
                why: format!("steps now {}, were {}", want.join(", "), have.join(", ")),
            })
        }
    }

    /// Before a resume: every step that was running or stopped by a signal
    /// becomes an [`Interruption`] and pending again; `keep` moves the
    /// attempt's files aside and says where (`None`: there were none).
    pub fn resume(&mut self, now_unix_ms: u64, mut keep: impl FnMut(&Step) -> Option<String>) {
        let signal = self.stopped_by.take();
        for step in &mut self.steps {
            let cause = match step.status {
                StepStatus::Running => {
                    "the campaign process ended during the step (a crash, kill -9 or a reboot)"
                        .to_string()
                }
                StepStatus::Interrupted => signal.clone().unwrap_or_else(|| "a signal".into()),
                StepStatus::Pending | StepStatus::Done => continue,
            };
            self.interruptions.push(Interruption {
                step: step.name.clone(),
                started_unix_ms: step.started_unix_ms,
                found_unix_ms: now_unix_ms,
                cause,
                kept_in: keep(step),
            });
            step.status = StepStatus::Pending;
        }
    }

    /// The first step still to run.
    pub fn next_pending(&self) -> Option<usize> {
        self.steps.iter().position(|s| s.status != StepStatus::Done)
    }

    pub fn scaled(&self) -> bool {
        (self.time_scale - 1.0).abs() > f64::EPSILON
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::file::parse;

    fn campaign() -> Campaign {
        parse(
            "[baseline]\nscenario = \"b.toml\"\n[[scenarios]]\nfile = \"a.toml\"\n[[scenarios]]\nfile = \"c.toml\"\n",
            Path::new("/x/campaign.toml"),
        )
        .unwrap()
    }

    #[test]
    fn steps_put_a_recovery_between_scenarios_only() {
        let dirs: Vec<_> = plan_steps(&campaign()).into_iter().map(|s| s.dir).collect();
        assert_eq!(dirs, ["0-baseline", "1-a", "1-recovery", "2-c"]);
    }

    #[test]
    fn the_state_survives_a_round_trip_and_a_resume_reruns_only_the_unfinished() {
        let dir = std::env::temp_dir().join(format!("jetstress-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let c = campaign();
        let mut st = CampaignState::new(&c, 0.001, 1000);
        st.steps[0].status = StepStatus::Done;
        st.steps[1].status = StepStatus::Running;
        st.steps[1].attempts = 1;
        st.steps[1].started_unix_ms = Some(2000);
        st.write(&dir).unwrap();
        assert!(!dir.join(format!("{STATE_FILE}.tmp")).exists());
        let mut back = CampaignState::read(&dir).unwrap().unwrap();
        assert_eq!(back, st);
        back.matches(&c, &dir).unwrap();
        back.resume(5000, |s| Some(format!("{}.attempt-{}", s.dir, s.attempts)));
        assert_eq!(back.next_pending(), Some(1));
        assert_eq!(back.steps[0].status, StepStatus::Done);
        assert_eq!(back.interruptions.len(), 1);
        let i = &back.interruptions[0];
        assert_eq!(
            (i.step.as_str(), i.started_unix_ms, i.found_unix_ms),
            ("a", Some(2000), 5000)
        );
        assert!(i.cause.contains("kill -9"), "{}", i.cause);
        assert_eq!(i.kept_in.as_deref(), Some("1-a.attempt-1"));
        // A signal's name is the cause when it was written on the way out.
        back.steps[1].status = StepStatus::Interrupted;
        back.stopped_by = Some("SIGHUP".into());
        back.resume(6000, |_| None);
        assert_eq!(back.interruptions[1].cause, "SIGHUP");
        assert!(back.stopped_by.is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_changed_campaign_or_another_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("jetstress-state2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let st = CampaignState::new(&campaign(), 1.0, 0);
        let fewer = parse(
            "[baseline]\nscenario = \"b.toml\"\n[[scenarios]]\nfile = \"a.toml\"\n",
            Path::new("/x/campaign.toml"),
        )
        .unwrap();
        let e = st.matches(&fewer, &dir).unwrap_err().to_string();
        assert!(
            e.contains("steps now 0-baseline, 1-a, were 0-baseline, 1-a, 1-recovery, 2-c"),
            "{e}"
        );
        std::fs::write(
            CampaignState::path(&dir),
            "{\"schema\":\"jetstress.run/1\"}",
        )
        .unwrap();
        let e = CampaignState::read(&dir).unwrap_err().to_string();
        assert!(e.contains("schema 'jetstress.run/1'"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
