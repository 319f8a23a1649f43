//! Run reports (`jetstress run --report DIR`, `jetstress report RECORDING`):
//! the [`Report`] value (`jetstress.report/1`: run summary, acceptance
//! verdicts, overall result, board), its files (`report.json`, `report.md`,
//! charts), acceptance verdicts ([`criteria`]), the Markdown rendering
//! ([`markdown`]), SVG and PNG charts ([`charts`]) and the rebuild of a report
//! from a recording ([`rebuild`]).

pub(crate) mod charts;
pub(crate) mod criteria;
pub(crate) mod markdown;
pub(crate) mod predict_eval;
pub(crate) mod rebuild;

pub use criteria::{
    evaluate, overall, Alerts, Criteria, Observations, Observer, Outcome, ThrottleObs,
    ThrottledLoad, Verdict,
};
pub use predict_eval::{corpus, manifest, run_corpus, CorpusConfig, CorpusReport, Forecaster};
pub use predict_eval::{run_eval, EvalConfig, EvalReport, ModelScore, HORIZONS_S};
pub use rebuild::{rebuild, RebuildError, Rebuilt};

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::load::engine::RunSummary;
use crate::load::scenario::Acceptance;
use crate::snapshot::{Board, Snapshot};

pub use crate::recording::writer::RunRecord;

pub const SCHEMA: &str = "jetstress.report/1";

/// A zone's last reading, for the board section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneReading {
    pub zone: String,
    pub temp_c: Option<f64>,
    pub trip_c: Option<f64>,
}

/// The board as the last snapshot of the run saw it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BoardInfo {
    pub board: Board,
    pub memory_total_mb: Option<f64>,
    pub throttled: bool,
    pub throttle_reasons: Vec<String>,
    pub zones: Vec<ZoneReading>,
}

impl BoardInfo {
    pub fn from_snapshot(s: &Snapshot) -> BoardInfo {
        BoardInfo {
            board: s.board.clone(),
            memory_total_mb: s.memory.total_mb,
            throttled: s.throttle.throttled,
            throttle_reasons: s.throttle.reasons.clone(),
            zones: s
                .thermal
                .iter()
                .filter(|z| z.online)
                .map(|z| ZoneReading {
                    zone: z.name.clone(),
                    temp_c: z.temp_c,
                    trip_c: z.throttle_trip_c(),
                })
                .collect(),
        }
    }
}

/// `jetstress.report/1`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub scenario: String,
    /// `PASS` or `FAIL`.
    pub result: String,
    pub interrupted: bool,
    pub criteria: Vec<Verdict>,
    pub acceptance: Option<Acceptance>,
    pub observations: Observations,
    /// `null` when no snapshot was taken.
    pub board: Option<BoardInfo>,
    pub run: RunSummary,
    /// Chart files written beside the report (`latency.svg`, …).
    #[serde(default)]
    pub charts: Vec<String>,
}

impl Report {
    pub fn new(
        scenario: &str,
        run: RunSummary,
        criteria: Vec<Verdict>,
        acceptance: Option<Acceptance>,
        observations: Observations,
        last: Option<&Snapshot>,
        interrupted: bool,
    ) -> Report {
        Report {
            schema: SCHEMA.into(),
            scenario: scenario.into(),
            result: if overall(&criteria) { "PASS" } else { "FAIL" }.into(),
            interrupted,
            criteria,
            acceptance,
            observations,
            board: last.map(BoardInfo::from_snapshot),
            run,
            charts: vec![],
        }
    }

    pub fn passed(&self) -> bool {
        self.result == "PASS"
    }

    /// Writes the charts (listing them in `charts`; a chart that fails is
    /// reported on stderr and left out), then `report.json` and `report.md`.
    pub fn write_with_charts(
        &mut self,
        dir: &Path,
        timeline: &charts::Timeline,
    ) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        let data = charts::ChartData {
            timeline,
            run: Some(&self.run),
            max_p95_ms: Some(markdown::p95_limit(self)),
        };
        let files = charts::write(dir, &data).unwrap_or_else(|e| {
            eprintln!("charts: {e:#}");
            vec![]
        });
        self.charts = files
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        self.write(dir)
    }

    /// Writes `report.json` and `report.md` into `dir` (created if missing).
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        let json = dir.join("report.json");
        std::fs::write(&json, serde_json::to_string_pretty(self)? + "\n")
            .map_err(|e| anyhow::anyhow!("{}: {e}", json.display()))?;
        let md = dir.join("report.md");
        std::fs::write(&md, markdown::render(self))
            .map_err(|e| anyhow::anyhow!("{}: {e}", md.display()))?;
        Ok(())
    }
}

/// `jetstress run --json`: the `jetstress.run/1` summary with the run's
/// scenario, limits and verdicts beside it.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutput<'a> {
    #[serde(flatten)]
    pub summary: &'a RunSummary,
    pub scenario: &'a str,
    pub acceptance: &'a Option<Acceptance>,
    pub interrupted: bool,
    pub criteria: &'a [Verdict],
    /// `PASS` or `FAIL`.
    pub result: &'static str,
}
