//! The campaign's analysis: from the state (what every step found) and each
//! scenario's `report.json`, the one report `jetstress.campaign/1` — the
//! executive summary with PASS/FAIL and production readiness, the technical
//! figures across scenarios, the failure analysis and recommendations
//! computed from the numbers. Pure.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::outcome::{
    BaselineOutcome, DeathRecord, RecoveryOutcome, ScenarioOutcome, StepOutcome, ToolTiming,
};
use super::state::{CampaignState, Interruption, StepKind, StepStatus};
use crate::report::{Outcome, Report, Verdict};
use crate::session::BoardState;

pub const CAMPAIGN_SCHEMA: &str = "jetstress.campaign/1";

/// A tool whose mean under load is at least this is slow enough for its
/// degradation to be a recommendation.
pub const SLOW_MEAN_MS: f64 = 100.0;

/// How bad a finding is: a critical one makes the board NOT READY.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub severity: Severity,
    /// The step it comes from; `None`: the campaign as a whole.
    pub scenario: Option<String>,
    pub text: String,
}

/// One scenario in `campaign.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioEntryReport {
    pub name: String,
    /// `PASS`, `FAIL`, `NOT STARTED`, or `NOT RUN` (the campaign stopped before it).
    pub result: String,
    pub duration_s: f64,
    pub scaled: bool,
    pub resumed: bool,
    pub criteria: Vec<Verdict>,
    /// Its `report.json`, relative to the campaign directory.
    pub report: Option<String>,
    /// Its charts, relative to the campaign directory.
    pub charts: Vec<String>,
    pub board_start: Option<BoardState>,
    pub board_end: Option<BoardState>,
    pub board_notes: Vec<String>,
}

/// A tool's latency in one scenario (over every phase and stage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ToolRow {
    pub scenario: String,
    pub tool: String,
    pub count: u64,
    pub errors: u64,
    pub min_ms: f64,
    pub mean_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    /// The baseline's single idle call, for comparison.
    pub baseline_ms: Option<f64>,
}

/// Errors of one kind in one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorRow {
    pub scenario: String,
    pub kind: String,
    pub count: u64,
}

/// One stage of a closed (users) phase: concurrency against cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UsersPoint {
    pub scenario: String,
    pub users: u32,
    pub p95_ms: f64,
    pub achieved_rps: f64,
    pub server_rss_mb: Option<f64>,
}

/// A throttle onset, with how early it was foreseen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ThrottleRow {
    pub scenario: String,
    pub at_s: f64,
    pub reasons: Vec<String>,
    pub predicted_lead_s: Option<f64>,
}

/// Prediction figures of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PredictionRow {
    pub scenario: String,
    pub onsets: usize,
    /// Onsets foreseen at all (a throttle ETA stood before them).
    pub foreseen: usize,
    /// Onsets foreseen at least 5 minutes ahead.
    pub foreseen_5min: usize,
    pub mean_lead_s: Option<f64>,
    /// Mean over onsets of the median ETA error 30–300 s before each, %.
    pub eta_error_pct: Option<f64>,
    /// Alerts (forecasts under 5 min) that the trip followed within their range, %.
    pub alert_precision_pct: Option<f64>,
    pub alert_recall_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CrashRow {
    pub scenario: String,
    #[serde(flatten)]
    pub death: DeathRecord,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecoveryRow {
    pub after: String,
    #[serde(flatten)]
    pub outcome: RecoveryOutcome,
    pub cooling_c_per_min: Option<f64>,
}

/// The executive summary's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutiveSummary {
    pub scenarios_completed: usize,
    pub scenarios_total: usize,
    /// Median over tools of (worst scenario mean / idle baseline call − 1), %.
    pub degradation_pct: Option<f64>,
    /// Throttle onsets foreseen at least 5 minutes ahead, % of onsets.
    pub prediction_accuracy_pct: Option<f64>,
    /// Scenarios whose memory-leak criterion failed, plus watched processes
    /// whose RSS or GPU memory the leak detector flagged.
    pub leaks_found: usize,
    /// The servers' lowest uptime over the scenarios (time their sessions
    /// were up, % of session time).
    pub uptime_pct: Option<f64>,
    /// Answered calls over all scenarios, % of calls.
    pub success_pct: Option<f64>,
    pub critical_issues: usize,
}

/// `jetstress.campaign/1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CampaignReport {
    pub schema: String,
    pub campaign: String,
    /// `READY` or `NOT READY`.
    pub readiness: String,
    /// `PASS` or `FAIL`.
    pub result: String,
    /// Every duration was multiplied by this; `scaled`: it was not 1.
    pub time_scale: f64,
    pub scaled: bool,
    pub started_unix_ms: u64,
    pub finished_unix_ms: Option<u64>,
    /// Time spent in steps (resumed steps count their last attempt).
    pub duration_s: f64,
    pub summary: ExecutiveSummary,
    pub baseline: Option<BaselineOutcome>,
    pub scenarios: Vec<ScenarioEntryReport>,
    pub tools: Vec<ToolRow>,
    pub errors: Vec<ErrorRow>,
    pub scalability: Vec<UsersPoint>,
    pub throttling: Vec<ThrottleRow>,
    pub predictions: Vec<PredictionRow>,
    pub crashes: Vec<CrashRow>,
    pub recoveries: Vec<RecoveryRow>,
    pub interruptions: Vec<Interruption>,
    pub findings: Vec<Finding>,
    pub recommendations: Vec<String>,
}

impl CampaignReport {
    /// The JSON Schema of `campaign.json` (`schemas/jetstress.campaign-1.schema.json`
    /// is this, kept in step by a test).
    pub fn json_schema() -> serde_json::Value {
        let mut v = serde_json::to_value(schemars::schema_for!(CampaignReport)).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("title".into(), CAMPAIGN_SCHEMA.into());
        }
        v
    }

    /// Writes `campaign.json` and `campaign.md` into `dir`.
    pub fn write(&self, dir: &std::path::Path) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)? + "\n";
        std::fs::write(dir.join("campaign.json"), json)?;
        std::fs::write(dir.join("campaign.md"), super::markdown::render(self))
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        f64::midpoint(v[n / 2 - 1], v[n / 2])
    })
}

/// The baseline's timing of `tool`, matched on the name after the target
/// (`built-in:echo` in a scenario against `echo` or `built-in:echo`).
fn baseline_ms(tools: &[ToolTiming], tool: &str) -> Option<f64> {
    let short = |t: &str| t.rsplit(':').next().unwrap_or(t).to_string();
    tools
        .iter()
        .find(|t| t.tool == tool)
        .or_else(|| tools.iter().find(|t| short(&t.tool) == short(tool)))
        .and_then(|t| t.latency_ms)
}

/// Per tool of one scenario, over every phase (the phase's `whole` rows;
/// several phases fold into one row by count-weighted mean, min, max and the
/// worst p95).
fn tool_rows(name: &str, r: &Report, base: &[ToolTiming], out: &mut Vec<ToolRow>) {
    let first = out.len();
    for p in &r.run.phases {
        let rows: Vec<_> = if p.whole.is_empty() {
            p.stages.iter().flat_map(|s| s.tools.iter()).collect()
        } else {
            p.whole.iter().collect()
        };
        for t in rows {
            if t.count == 0 {
                continue;
            }
            let l = &t.latency_ms;
            match out[first..].iter_mut().find(|x| x.tool == t.tool) {
                Some(x) => {
                    let n = (x.count + t.count) as f64;
                    x.mean_ms = (x.mean_ms * x.count as f64 + l.mean * t.count as f64) / n;
                    x.count += t.count;
                    x.errors += t.errors;
                    x.min_ms = x.min_ms.min(l.min);
                    x.max_ms = x.max_ms.max(l.max);
                    x.p95_ms = x.p95_ms.max(l.p95);
                }
                None => out.push(ToolRow {
                    scenario: name.into(),
                    tool: t.tool.clone(),
                    count: t.count,
                    errors: t.errors,
                    min_ms: l.min,
                    mean_ms: l.mean,
                    p95_ms: l.p95,
                    max_ms: l.max,
                    baseline_ms: baseline_ms(base, &t.tool),
                }),
            }
        }
    }
}

fn error_rows(name: &str, r: &Report, out: &mut Vec<ErrorRow>) {
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for p in &r.run.phases {
        for s in &p.stages {
            for (k, n) in &s.all.error_kinds {
                *kinds.entry(k.clone()).or_default() += n;
            }
        }
    }
    out.extend(kinds.into_iter().map(|(kind, count)| ErrorRow {
        scenario: name.into(),
        kind,
        count,
    }));
}

fn users_points(name: &str, r: &Report, out: &mut Vec<UsersPoint>) {
    for p in &r.run.phases {
        for s in &p.stages {
            if let Some(users) = s.users {
                if s.all.count > 0 {
                    out.push(UsersPoint {
                        scenario: name.into(),
                        users,
                        p95_ms: s.all.latency_ms.p95,
                        achieved_rps: s.achieved_rate,
                        server_rss_mb: s.target_rss_mb,
                    });
                }
            }
        }
    }
}

/// Calls and failed calls over every stage.
fn calls(r: &Report) -> (u64, u64) {
    r.run
        .phases
        .iter()
        .flat_map(|p| p.stages.iter())
        .fold((0, 0), |(n, e), s| (n + s.all.count, e + s.all.errors))
}

/// The analysis of a campaign: its state and each scenario step's report
/// (by step directory; a scenario without one is reported from its state).
#[expect(
    clippy::too_many_lines,
    reason = "one pass over the steps, each section of the report in turn"
)]
pub fn analyse(st: &CampaignState, reports: &BTreeMap<String, Report>) -> CampaignReport {
    let mut out = CampaignReport {
        schema: CAMPAIGN_SCHEMA.into(),
        campaign: st.campaign.clone(),
        readiness: String::new(),
        result: String::new(),
        time_scale: st.time_scale,
        scaled: st.scaled(),
        started_unix_ms: st.started_unix_ms,
        finished_unix_ms: st.finished_unix_ms,
        duration_s: 0.0,
        summary: ExecutiveSummary {
            scenarios_completed: 0,
            scenarios_total: 0,
            degradation_pct: None,
            prediction_accuracy_pct: None,
            leaks_found: 0,
            uptime_pct: None,
            success_pct: None,
            critical_issues: 0,
        },
        baseline: None,
        scenarios: Vec::new(),
        tools: Vec::new(),
        errors: Vec::new(),
        scalability: Vec::new(),
        throttling: Vec::new(),
        predictions: Vec::new(),
        crashes: Vec::new(),
        recoveries: Vec::new(),
        interruptions: st.interruptions.clone(),
        findings: Vec::new(),
        recommendations: Vec::new(),
    };
    let mut findings = Vec::new();
    let mut last_scenario = String::new();
    let (mut all_calls, mut all_errors) = (0u64, 0u64);
    let mut uptime: Option<f64> = None;
    for step in &st.steps {
        match (&step.outcome, step.kind) {
            (Some(StepOutcome::Baseline(b)), _) => {
                out.duration_s += b.duration_s;
                for t in b.tools.iter().filter(|t| !t.ok) {
                    findings.push(Finding {
                        severity: Severity::Warning,
                        scenario: Some("baseline".into()),
                        text: format!("{} failed when called once on the idle board", t.tool),
                    });
                }
                out.baseline = Some(b.clone());
            }
            (Some(StepOutcome::Recovery(r)), _) => {
                out.duration_s += r.duration_s;
                out.recoveries.push(RecoveryRow {
                    after: last_scenario.clone(),
                    cooling_c_per_min: r.cooling_c_per_min(),
                    outcome: r.clone(),
                });
            }
            (Some(StepOutcome::Scenario(s)), _) => {
                out.summary.scenarios_total += 1;
                out.summary.scenarios_completed += 1;
                out.duration_s += s.duration_s;
                last_scenario.clone_from(&step.name);
                let report = reports.get(&step.dir);
                scenario_findings(&step.name, s, &mut findings);
                if let Some(r) = report {
                    let base = out.baseline.as_ref().map_or(&[][..], |b| &b.tools[..]);
                    tool_rows(&step.name, r, base, &mut out.tools);
                    error_rows(&step.name, r, &mut out.errors);
                    users_points(&step.name, r, &mut out.scalability);
                    let (n, e) = calls(r);
                    all_calls += n;
                    all_errors += e;
                    let onsets: Vec<_> = r
                        .observations
                        .throttle_events
                        .iter()
                        .filter(|t| !t.at_start)
                        .collect();
                    for t in &onsets {
                        out.throttling.push(ThrottleRow {
                            scenario: step.name.clone(),
                            at_s: t.at_s,
                            reasons: t.reasons.clone(),
                            predicted_lead_s: t.predicted_lead_s,
                        });
                    }
                    let alerts = &r.observations.alerts;
                    if !onsets.is_empty() || alerts.episodes > 0 {
                        let leads: Vec<f64> =
                            onsets.iter().filter_map(|t| t.predicted_lead_s).collect();
                        let errs: Vec<f64> =
                            onsets.iter().filter_map(|t| t.eta_error_pct).collect();
                        out.predictions.push(PredictionRow {
                            scenario: step.name.clone(),
                            onsets: onsets.len(),
                            foreseen: leads.len(),
                            foreseen_5min: leads.iter().filter(|l| **l >= 300.0).count(),
                            mean_lead_s: mean(&leads),
                            eta_error_pct: mean(&errs),
                            alert_precision_pct: alerts.precision_pct,
                            alert_recall_pct: alerts.recall_pct,
                        });
                    }
                    for t in &r.run.targets {
                        if let Some(u) = t.uptime_pct {
                            uptime = Some(uptime.map_or(u, |m: f64| m.min(u)));
                        }
                    }
                }
                out.crashes.extend(s.deaths.iter().map(|d| CrashRow {
                    scenario: step.name.clone(),
                    death: d.clone(),
                }));
                let charts = report
                    .map(|r| {
                        r.charts
                            .iter()
                            .map(|c| format!("{}/{c}", step.dir))
                            .collect()
                    })
                    .unwrap_or_default();
                out.scenarios.push(entry(&step.name, Some(s), charts));
            }
            (None, StepKind::Scenario) => {
                out.summary.scenarios_total += 1;
                out.scenarios.push(entry(&step.name, None, vec![]));
                let why = match step.status {
                    StepStatus::Done | StepStatus::Pending => "the campaign has not reached it",
                    StepStatus::Running | StepStatus::Interrupted => "it was interrupted",
                };
                findings.push(Finding {
                    severity: Severity::Critical,
                    scenario: Some(step.name.clone()),
                    text: format!("not run: {why}"),
                });
            }
            (None, _) => {}
        }
    }
    // Degradation: each tool's worst mean under load against its idle call
    // (the mean, not a tail: the idle figure is one call).
    let mut worst: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for t in &out.tools {
        if let Some(b) = t.baseline_ms.filter(|b| *b > 0.0) {
            let e = worst.entry(&t.tool).or_insert((b, 0.0));
            e.1 = e.1.max(t.mean_ms);
        }
    }
    out.summary.degradation_pct =
        median(worst.values().map(|(b, p)| (p / b - 1.0) * 100.0).collect());
    let onsets: usize = out.predictions.iter().map(|p| p.onsets).sum();
    let early: usize = out.predictions.iter().map(|p| p.foreseen_5min).sum();
    out.summary.prediction_accuracy_pct =
        (onsets > 0).then(|| early as f64 / onsets as f64 * 100.0);
    let watched_leaks: usize = st
        .steps
        .iter()
        .filter_map(|s| match &s.outcome {
            Some(StepOutcome::Scenario(o)) => Some(o.leaks.len()),
            _ => None,
        })
        .sum();
    out.summary.leaks_found = out
        .scenarios
        .iter()
        .filter(|s| {
            s.criteria
                .iter()
                .any(|c| c.name == "memory_leak" && c.verdict == Outcome::Fail)
        })
        .count()
        + watched_leaks;
    out.summary.uptime_pct = uptime;
    out.summary.success_pct = (all_calls > 0)
        .then(|| (all_calls - all_errors.min(all_calls)) as f64 / all_calls as f64 * 100.0);
    if !st.interruptions.is_empty() {
        findings.push(Finding {
            severity: Severity::Info,
            scenario: None,
            text: format!(
                "the campaign was interrupted {} time(s) and resumed; every interrupted step ran again",
                st.interruptions.len()
            ),
        });
    }
    if out.scaled {
        findings.push(Finding {
            severity: Severity::Info,
            scenario: None,
            text: format!(
                "time-scaled ×{}: every duration was shortened; verdicts that need hours (leak slopes, uptime over a day, throttling) are a rehearsal, not a result",
                st.time_scale
            ),
        });
    }
    findings.sort_by_key(|f| f.severity);
    out.summary.critical_issues = findings
        .iter()
        .filter(|f| f.severity == Severity::Critical)
        .count();
    let all_pass = out.summary.scenarios_completed == out.summary.scenarios_total
        && out.scenarios.iter().all(|s| s.result == "PASS");
    out.result = if all_pass { "PASS" } else { "FAIL" }.into();
    out.readiness = if all_pass && out.summary.critical_issues == 0 {
        "READY"
    } else {
        "NOT READY"
    }
    .into();
    out.recommendations = recommendations(&out);
    out.findings = findings;
    out
}

fn entry(name: &str, s: Option<&ScenarioOutcome>, charts: Vec<String>) -> ScenarioEntryReport {
    match s {
        Some(s) => ScenarioEntryReport {
            name: name.into(),
            result: s.result.word().into(),
            duration_s: s.duration_s,
            scaled: s.scaled,
            resumed: s.resumed,
            criteria: s.criteria.clone(),
            report: s.report.clone(),
            charts,
            board_start: Some(s.board_start.clone()),
            board_end: Some(s.board_end.clone()),
            board_notes: s.board_notes.clone(),
        },
        None => ScenarioEntryReport {
            name: name.into(),
            result: "NOT RUN".into(),
            duration_s: 0.0,
            scaled: false,
            resumed: false,
            criteria: vec![],
            report: None,
            charts,
            board_start: None,
            board_end: None,
            board_notes: vec![],
        },
    }
}

fn scenario_findings(name: &str, s: &ScenarioOutcome, out: &mut Vec<Finding>) {
    let at = Some(name.to_string());
    if let Some(why) = &s.not_started {
        out.push(Finding {
            severity: Severity::Critical,
            scenario: at.clone(),
            text: format!("did not start: {why}"),
        });
    }
    for c in s.criteria.iter().filter(|c| c.verdict == Outcome::Fail) {
        out.push(Finding {
            severity: Severity::Critical,
            scenario: at.clone(),
            text: format!(
                "{} failed: {} (limit {})",
                c.name,
                c.measured.as_deref().unwrap_or("-"),
                c.threshold
            ),
        });
    }
    if !s.deaths.is_empty() {
        out.push(Finding {
            severity: Severity::Critical,
            scenario: at.clone(),
            text: format!(
                "the server died {} time(s); first: {}",
                s.deaths.len(),
                s.deaths[0].reason
            ),
        });
    }
    for l in &s.leaks {
        out.push(Finding {
            severity: Severity::Warning,
            scenario: at.clone(),
            text: format!(
                "watched {} ({}): {} memory grows {:+.1} MB/h over {:.0} s (now {:.0} MB)",
                l.name, l.pid, l.memory, l.slope_mb_per_h, l.span_s, l.mb
            ),
        });
    }
    for n in &s.board_notes {
        out.push(Finding {
            severity: Severity::Warning,
            scenario: at.clone(),
            text: n.clone(),
        });
    }
}

/// What to do next, from the numbers.
fn recommendations(r: &CampaignReport) -> Vec<String> {
    let mut out = Vec::new();
    if r.summary.leaks_found > 0 {
        out.push(format!(
            "{} scenario(s) show a memory leak in the server: profile its heap over a soak (heaptrack) before deploying",
            r.summary.leaks_found
        ));
    }
    if !r.crashes.is_empty() {
        out.push(format!(
            "the server died {} time(s): read the stderr tails in the failure analysis and fix the cause; supervise it (systemd Restart=) on the board",
            r.crashes.len()
        ));
    }
    if !r.throttling.is_empty() {
        let cooling = r
            .recoveries
            .iter()
            .filter_map(|x| x.cooling_c_per_min)
            .reduce(f64::max);
        out.push(format!(
            "the board throttled {} time(s): improve cooling (best cooling seen {}) or run a lower nvpmodel mode for sustained load",
            r.throttling.len(),
            cooling.map_or_else(|| "not measured".into(), |c| format!("{c:.2} °C/min"))
        ));
    }
    // Slower under load matters once it is slow: doubling 1 ms is not a finding.
    let slowest = r.tools.iter().map(|t| t.mean_ms).fold(0.0, f64::max);
    if let Some(d) = r
        .summary
        .degradation_pct
        .filter(|d| *d > 100.0 && slowest >= SLOW_MEAN_MS)
    {
        out.push(format!(
            "latency under load is {d:.0} % above the idle call (median over tools; the slowest averages {slowest:.0} ms): size the server's concurrency or cap clients"
        ));
    }
    if let Some(a) = r.summary.prediction_accuracy_pct.filter(|a| *a < 80.0) {
        out.push(format!(
            "only {a:.0} % of throttle onsets were foreseen 5 minutes ahead: do not rely on the forecast alone for alerts"
        ));
    }
    if r.scaled {
        out.push(format!(
            "this campaign was time-scaled ×{}: run it unscaled before judging readiness",
            r.time_scale
        ));
    }
    if out.is_empty() {
        out.push("nothing to fix: every scenario passed with no crash, leak or throttle".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::outcome::ScenarioResult;

    fn state_with(results: &[(ScenarioResult, Vec<Verdict>)]) -> CampaignState {
        use crate::campaign::file::parse;
        use crate::campaign::outcome::ScenarioOutcome;
        let mut text = String::from("[baseline]\nscenario = \"b.toml\"\n");
        for i in 0..results.len() {
            text += &format!("[[scenarios]]\nfile = \"s{i}.toml\"\n");
        }
        let c = parse(&text, std::path::Path::new("c.toml")).unwrap();
        let mut st = CampaignState::new(&c, 1.0, 0);
        let mut it = results.iter();
        for step in &mut st.steps {
            step.status = StepStatus::Done;
            step.outcome = Some(match step.kind {
                StepKind::Baseline => StepOutcome::Baseline(BaselineOutcome {
                    duration_s: 1.0,
                    tools: vec![],
                    zones: vec![],
                    mem_available_mb: None,
                    report: None,
                }),
                StepKind::Recovery => StepOutcome::Recovery(RecoveryOutcome {
                    duration_s: 2.0,
                    ended: crate::campaign::outcome::RecoveryEnd::Cooled,
                    zones: vec![],
                }),
                StepKind::Scenario => {
                    let (result, criteria) = it.next().unwrap().clone();
                    StepOutcome::Scenario(Box::new(ScenarioOutcome {
                        result,
                        duration_s: 10.0,
                        planned_s: 10.0,
                        scaled: false,
                        resumed: false,
                        criteria,
                        report: None,
                        board_start: BoardState::default(),
                        board_end: BoardState::default(),
                        board_notes: vec![],
                        deaths: vec![],
                        zones: vec![],
                        not_started: None,
                        leaks: vec![],
                    }))
                }
            });
        }
        st
    }

    #[test]
    fn readiness_needs_every_scenario_run_and_passed() {
        let pass = Verdict {
            name: "p95_latency".into(),
            verdict: Outcome::Pass,
            measured: Some("12 ms".into()),
            threshold: "< 5000 ms".into(),
            detail: String::new(),
        };
        let leak = Verdict {
            name: "memory_leak".into(),
            verdict: Outcome::Fail,
            measured: Some("25.0 MB/h".into()),
            threshold: "< 10 MB/h".into(),
            detail: String::new(),
        };
        let ok = state_with(&[
            (ScenarioResult::Pass, vec![pass.clone()]),
            (ScenarioResult::Pass, vec![pass.clone()]),
        ]);
        let r = analyse(&ok, &BTreeMap::new());
        assert_eq!((r.result.as_str(), r.readiness.as_str()), ("PASS", "READY"));
        assert_eq!(r.summary.scenarios_completed, 2);
        // Steps' own times add up: baseline 1 s, two scenarios of 10 s, one recovery of 2 s.
        assert!((r.duration_s - 23.0).abs() < 1e-9, "{}", r.duration_s);
        assert!(r.recommendations[0].starts_with("nothing to fix"));

        let leaky = state_with(&[
            (ScenarioResult::Pass, vec![pass.clone()]),
            (ScenarioResult::Fail, vec![pass.clone(), leak]),
        ]);
        let r = analyse(&leaky, &BTreeMap::new());
        assert_eq!(
            (r.result.as_str(), r.readiness.as_str()),
            ("FAIL", "NOT READY")
        );
        assert_eq!(r.summary.leaks_found, 1);
        assert_eq!(r.summary.critical_issues, 1);
        assert_eq!(r.findings[0].severity, Severity::Critical);
        assert!(r.findings[0].text.contains("memory_leak failed: 25.0 MB/h"));
        assert!(r.recommendations.iter().any(|x| x.contains("memory leak")));

        // A watched process whose GPU memory grows is a leak found, and a warning.
        let mut gpu = ok.clone();
        if let Some(StepOutcome::Scenario(o)) = gpu.steps[1].outcome.as_mut() {
            o.leaks.push(crate::campaign::outcome::WatchedLeak {
                name: "llama-server".into(),
                pid: 4242,
                memory: "gpu".into(),
                slope_mb_per_h: 36.0,
                mb: 1200.0,
                span_s: 900.0,
            });
        }
        let r = analyse(&gpu, &BTreeMap::new());
        assert_eq!(r.summary.leaks_found, 1);
        assert!(r.findings.iter().any(|f| f.severity == Severity::Warning
            && f.text == "watched llama-server (4242): gpu memory grows +36.0 MB/h over 900 s (now 1200 MB)"));

        // A scenario not reached yet: not READY, and said so.
        let mut partial = state_with(&[(ScenarioResult::Pass, vec![pass])]);
        let last = partial.steps.len() - 1;
        partial.steps[last].status = StepStatus::Pending;
        partial.steps[last].outcome = None;
        let r = analyse(&partial, &BTreeMap::new());
        assert_eq!(r.readiness, "NOT READY");
        assert_eq!(r.scenarios[0].result, "NOT RUN");
        assert!(r.findings.iter().any(|f| f.text.contains("not run")));
    }

    #[test]
    fn the_median_of_an_even_count_is_the_middle_pair() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn a_scenario_tool_finds_its_baseline_by_short_name() {
        let tools = vec![
            ToolTiming {
                tool: "built-in:echo".into(),
                latency_ms: Some(1.5),
                ok: true,
            },
            ToolTiming {
                tool: "built-in:sleep_ms".into(),
                latency_ms: None,
                ok: false,
            },
        ];
        assert_eq!(baseline_ms(&tools, "built-in:echo"), Some(1.5));
        assert_eq!(baseline_ms(&tools, "echo"), Some(1.5));
        assert_eq!(baseline_ms(&tools, "sleep_ms"), None);
        assert_eq!(baseline_ms(&tools, "other"), None);
    }
}
