//! What each step of a campaign found, as kept in its state file: the
//! baseline's per-tool timings and idle temperatures, a scenario's verdicts,
//! board stamps and deaths, a recovery's cooling. Small and fixed per step
//! (a scenario's full figures stay in its own `report.json`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::report::Verdict;
use crate::session::BoardState;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepOutcome {
    Baseline(BaselineOutcome),
    Scenario(Box<ScenarioOutcome>),
    Recovery(RecoveryOutcome),
}

/// One tool called once, idle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ToolTiming {
    pub tool: String,
    /// `None`: it was not called (the baseline ran out of time) or failed.
    pub latency_ms: Option<f64>,
    pub ok: bool,
}

/// A zone over a step: mean and highest, °C.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ZoneTemp {
    pub zone: String,
    pub mean_c: f64,
    pub max_c: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BaselineOutcome {
    pub duration_s: f64,
    pub tools: Vec<ToolTiming>,
    pub zones: Vec<ZoneTemp>,
    pub mem_available_mb: Option<f64>,
    /// `report.json` of the baseline, relative to the campaign directory.
    pub report: Option<String>,
}

/// A server session that died during a scenario, with its context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeathRecord {
    /// Seconds into the scenario.
    pub at_s: f64,
    pub target: String,
    pub session: usize,
    pub reason: String,
    /// The server's last stderr lines.
    pub stderr_tail: String,
    pub hottest_c: Option<f64>,
    pub mem_available_mb: Option<f64>,
    pub throttled: bool,
}

/// A watched process (or container) whose memory the leak detector flagged
/// at the end of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchedLeak {
    pub name: String,
    pub pid: u32,
    /// `rss` or `gpu`.
    pub memory: String,
    pub slope_mb_per_h: f64,
    pub mb: f64,
    pub span_s: f64,
}

/// How a scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScenarioResult {
    Pass,
    Fail,
    /// Its targets never came up: nothing was loaded (counts as a FAIL).
    NotStarted,
}

impl ScenarioResult {
    pub fn word(self) -> &'static str {
        match self {
            ScenarioResult::Pass => "PASS",
            ScenarioResult::Fail => "FAIL",
            ScenarioResult::NotStarted => "NOT STARTED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioOutcome {
    pub result: ScenarioResult,
    pub duration_s: f64,
    /// The planned duration (after scaling).
    pub planned_s: f64,
    pub scaled: bool,
    /// It ran again after an interruption.
    pub resumed: bool,
    pub criteria: Vec<Verdict>,
    /// `report.json`, relative to the campaign directory.
    pub report: Option<String>,
    pub board_start: BoardState,
    pub board_end: BoardState,
    /// What the `[board]` requirement found (unavailable, applied, restored).
    pub board_notes: Vec<String>,
    pub deaths: Vec<DeathRecord>,
    pub zones: Vec<ZoneTemp>,
    /// Why it did not start.
    pub not_started: Option<String>,
    /// Watched processes whose RSS or GPU memory kept growing.
    #[serde(default)]
    pub leaks: Vec<WatchedLeak>,
}

/// Why a recovery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryEnd {
    /// Every zone back within `within_c` of its baseline.
    Cooled,
    /// The recovery time ran out first.
    TimeUp,
    /// No zone could be read: the whole time was waited.
    NoZones,
}

/// A zone from the recovery's start to its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ZoneCooling {
    pub zone: String,
    pub start_c: f64,
    pub end_c: f64,
    pub baseline_c: Option<f64>,
    /// (start − end) / minutes: how fast the cooling brought it down.
    pub c_per_min: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecoveryOutcome {
    pub duration_s: f64,
    pub ended: RecoveryEnd,
    pub zones: Vec<ZoneCooling>,
}

impl RecoveryOutcome {
    /// The hottest zone's cooling rate, °C/min (the one that matters).
    pub fn cooling_c_per_min(&self) -> Option<f64> {
        self.zones
            .iter()
            .max_by(|a, b| a.start_c.total_cmp(&b.start_c))
            .map(|z| z.c_per_min)
    }
}
