//! The run summary (`jetstress.run/1`) and the pieces it is made of: per
//! phase, per stage and per target figures, the stress breaking point, the
//! spike's recovery and the soak's drift verdict.

use serde::{Deserialize, Serialize};

use super::events::{wire_str, GeneratorKind, GeneratorState, GuardEvent};
use super::invalid::InvalidSummary;
use crate::load::schedule::PhaseKind;
use crate::load::stats::ToolSummary;

/// Schema tag of the run summary (`jetstress run --json`).
pub const RUN_SCHEMA: &str = "jetstress.run/1";

/// `jetstress.run/1`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    pub schema: String,
    pub started_unix_ms: u64,
    pub elapsed_s: f64,
    pub in_flight: usize,
    pub phases: Vec<PhaseSummary>,
    pub targets: Vec<TargetSummary>,
    pub generators: Vec<GeneratorStatus>,
    pub guard_events: Vec<GuardEvent>,
    /// The console's own footprint when the summary was made.
    #[serde(default)]
    pub console: ConsoleUsage,
}

/// What the console itself costs: its RSS, peak RSS and CPU time, and the
/// heap its load statistics hold (bounded by the plan — tools × stages ×
/// phases — never by the run's length or its request count).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ConsoleUsage {
    pub stats_bytes: u64,
    pub rss_mb: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    pub cpu_s: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TargetSummary {
    pub name: String,
    pub kind: String,
    pub sessions: usize,
    pub tools: Vec<String>,
    pub failures: u64,
    pub restarts: u64,
    /// Each session's initialize time (spawn or connect → initialize reply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initialize_ms: Option<Spread>,
    /// Stdio targets: RSS of one session's server process over the load
    /// windows: `mean` over sessions and windows, `max` the largest single
    /// session seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_mb_per_session: Option<MeanMax>,
    /// Why the target never connected (the run went on without it: no tools,
    /// no load, one failure per session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_error: Option<String>,
    /// Seconds the target's sessions were down, summed over sessions: from a
    /// death or failed connect to the next successful connect (a session
    /// still down counts until the summary). 0 in summaries from before it
    /// was measured.
    #[serde(default)]
    pub down_s: f64,
    /// Uptime in % of the session·seconds the sessions existed:
    /// `100 × (1 − down_s / (sessions × elapsed))` while the session count
    /// did not change; 0 for a target that never connected. Absent in
    /// summaries from before it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_pct: Option<f64>,
}

/// p50 / p95 / max of a small sample, in ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

/// Mean and maximum of a sampled value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MeanMax {
    pub mean: f64,
    pub max: f64,
}

/// Only a mean (think time: its spread is the configured range).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Mean {
    pub mean: f64,
}

/// p50 / p95 in ms (a user's iteration: send → next send).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct P50P95 {
    pub p50: f64,
    pub p95: f64,
}

/// How the phase offered its load: `open` (arrivals on a schedule, latency
/// from the scheduled send) or `closed` (a population of users, each waiting
/// for its reply and thinking; latency from the actual send, so queueing
/// that an open model exposes stays hidden).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadModel {
    #[default]
    Open,
    Closed,
}

wire_str!(LoadModel);

impl LoadModel {
    pub fn as_str(self) -> &'static str {
        match self {
            LoadModel::Open => "open",
            LoadModel::Closed => "closed",
        }
    }
}

/// Little's law over a closed stage: users ≈ throughput × (mean latency +
/// mean planned think). A ratio off by more than 10 % means the generator
/// did not keep its users cycling (it lagged) or the population changed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LittleCheck {
    /// throughput × (mean latency + mean planned think).
    pub expected_users: f64,
    /// Mean users active over the stage.
    pub users: f64,
    /// `expected_users` / `users`.
    pub ratio: f64,
    /// |ratio − 1| ≤ 0.10.
    pub holds: bool,
}

/// How a closed phase's cost grows with its users, fitted by least squares
/// over its stages (one point per stage: users, the target's RSS at the
/// stage's end, the stage's p95).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Scalability {
    /// Slope of the targets' summed RSS over users.
    pub rss_mb_per_user: Option<f64>,
    /// R² of that line; ≥ 0.9 reads as "memory scales linearly with users".
    pub rss_r2: Option<f64>,
    /// Slope of the stage p95 over users.
    pub p95_ms_per_user: Option<f64>,
    /// Stages that gave a point.
    pub points: usize,
}

/// What a closed phase ran with, for the summary and the phase bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsersInfo {
    /// `2–5 s`, `500 ms`, `pacing 3 s`.
    pub think: String,
    /// Users started (or stopped) per second; `None`: all at once.
    pub spawn_rate: Option<f64>,
    /// Sessions per MCP target are capped here; above it users share them round robin.
    pub max_sessions: usize,
    /// Most users active at once.
    pub peak_users: u32,
    /// `true` when more users than `max_sessions` shared sessions.
    pub shared_sessions: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GeneratorStatus {
    pub generator: GeneratorKind,
    pub state: GeneratorState,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseSummary {
    pub name: String,
    pub kind: PhaseKind,
    pub started_s: f64,
    pub duration_s: f64,
    /// `running`, `completed`, `replaced`, `stopped`, `breaking point`, or a guard's reason.
    pub status: String,
    /// `open` or `closed` (absent in summaries written before users phases: open).
    #[serde(default)]
    pub model: LoadModel,
    /// Open phases: the arrival process (`uniform`, `poisson`, `gamma 0.5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrivals: Option<String>,
    /// Closed phases: think time, spawn rate, session sharing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<UsersInfo>,
    /// Closed phases with two or more stages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalability: Option<Scalability>,
    pub stages: Vec<StageSummary>,
    /// Per-tool statistics over every stage of the phase so far.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub whole: Vec<ToolSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaking_point: Option<BreakingPoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spike: Option<SpikeReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soak: Option<SoakReport>,
    /// Invalid inputs (`invalid_pct`) sent in this phase, counted apart from the valid calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid: Option<InvalidSummary>,
    /// A sweep's rates phase: the measured rates, each rate's figures, the best good rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepReport>,
}

/// What a capacity sweep found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    /// Successful requests/s one at a time (the `synchronous` stage).
    pub synchronous_rps: f64,
    /// Successful requests/s at `max_concurrency` users (the `throughput` stage).
    pub throughput_rps: f64,
    /// A rate is good when its goodput (LLM SLOs) or else its success is at least this, %.
    pub min_good_pct: f64,
    pub points: Vec<SweepPoint>,
    /// The highest offered rate that was good (absent: none was); a users
    /// sweep: the rate its best users count achieved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_rate_rps: Option<f64>,
    /// A users sweep: the most users that were good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_users: Option<u32>,
}

/// One rate of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// The stage's offered rate (a users sweep: the rate it achieved).
    pub rate_rps: f64,
    /// A users sweep: the stage's users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
    pub achieved_rps: f64,
    /// Goodput % where LLM SLOs judge the requests, else success %.
    pub good_pct: f64,
    /// `goodput` or `success`: what `good_pct` is.
    pub good_by: String,
    pub good: bool,
    pub p95_ms: f64,
    /// LLM tools: output tokens/s summed, and the worst p95 TTFT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_per_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_p95_ms: Option<f64>,
}

/// How good a sweep stage was, % and by what: its LLM tools' worst goodput
/// capped by its success, or its success alone without LLM SLOs. `count`
/// requests, `errors` failed or dropped; nothing completed is 0 %.
pub(super) fn good_pct(
    count: u64,
    errors: u64,
    goodputs: impl Iterator<Item = f64>,
) -> (f64, &'static str) {
    if count == 0 {
        return (0.0, "success");
    }
    let success = 100.0 - errors as f64 * 100.0 / count as f64;
    match goodputs.min_by(f64::total_cmp) {
        Some(g) => (g.min(success), "goodput"),
        None => (success, "success"),
    }
}

/// A sweep's report from its rates phase's stages.
pub fn sweep_report(
    stages: &[StageSummary],
    (synchronous_rps, throughput_rps): (f64, f64),
    min_good_pct: f64,
) -> SweepReport {
    let points: Vec<SweepPoint> = stages
        .iter()
        .filter(|s| s.all.count > 0)
        .map(|s| {
            let llm: Vec<_> = s.tools.iter().filter_map(|t| t.llm.as_ref()).collect();
            let (good_pct, good_by) = good_pct(
                s.all.count,
                s.all.errors,
                llm.iter().filter_map(|l| l.goodput_pct),
            );
            SweepPoint {
                rate_rps: s.users.map_or(s.target_rate, |_| s.achieved_rate),
                users: s.users,
                achieved_rps: s.achieved_rate,
                good_pct,
                good_by: good_by.into(),
                good: good_pct >= min_good_pct,
                p95_ms: s.all.latency_ms.p95,
                output_tokens_per_s: (!llm.is_empty())
                    .then(|| llm.iter().map(|l| l.output_tokens_per_s).sum()),
                ttft_p95_ms: llm
                    .iter()
                    .filter(|l| !l.ttft_ms.is_empty())
                    .map(|l| l.ttft_ms.p95)
                    .max_by(f64::total_cmp),
            }
        })
        .collect();
    let best = |key: fn(&SweepPoint) -> f64| {
        points
            .iter()
            .filter(|p| p.good)
            .max_by(|a, b| key(a).total_cmp(&key(b)))
    };
    let (best_rate_rps, best_users) = if points.iter().any(|p| p.users.is_some()) {
        let b = best(|p| f64::from(p.users.unwrap_or(0)));
        (b.map(|p| p.rate_rps), b.and_then(|p| p.users))
    } else {
        (best(|p| p.rate_rps).map(|p| p.rate_rps), None)
    };
    SweepReport {
        synchronous_rps,
        throughput_rps,
        min_good_pct,
        points,
        best_rate_rps,
        best_users,
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StageSummary {
    pub name: String,
    pub target_rate: f64,
    pub achieved_rate: f64,
    pub duration_s: f64,
    pub scheduled: u64,
    pub dropped: u64,
    pub all: ToolSummary,
    pub tools: Vec<ToolSummary>,
    /// Closed stages: the users this stage holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
    /// Closed stages: the stage ends after this many requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// Closed stages: the think time actually waited (reply → next send).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_ms: Option<Mean>,
    /// Closed stages: one user's iteration (send → its next send).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration_ms: Option<P50P95>,
    /// Closed stages: Little's law over the stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub little: Option<LittleCheck>,
    /// Summed RSS of the targets' server processes at the stage's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_rss_mb: Option<f64>,
    /// Live target sessions at that moment, and RSS per session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_mb_per_session: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BreakingPoint {
    /// `true` when a stage broke; `false` when the ceiling was reached intact.
    pub found: bool,
    pub last_good_rps: Option<f64>,
    pub first_bad_rps: Option<f64>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpikeReport {
    pub baseline_p95_ms: f64,
    pub spike_p95_ms: f64,
    pub recovery_p95_ms: f64,
    /// (spike p95 − baseline p95) / baseline p95 × 100.
    pub latency_increase_pct: f64,
    pub errors: [u64; 3],
    /// Seconds into recovery until a window's p95 was back within 10 % (+1 ms) of the baseline p95.
    pub time_to_recover_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SoakRow {
    pub index: usize,
    pub t_s: f64,
    pub count: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub success_pct: f64,
    /// Summed RSS of the stdio targets' processes.
    pub rss_mb: Option<f64>,
    pub available_mb: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SoakReport {
    pub rows: Vec<SoakRow>,
    pub latency_slope_ms_per_h: Option<f64>,
    pub rss_slope_mb_per_h: Option<f64>,
    pub verdict: SoakVerdict,
}

/// Least-squares slope of y over x.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    crate::predict::regression::ols_slope(points.iter().copied())
}

/// Least-squares line through `points`: slope and R² (`None` below two
/// distinct x values; R² is 1 for a flat line through flat data).
pub fn line_fit(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let r2 = if syy <= 0.0 {
        1.0
    } else {
        (sxy * sxy / (sxx * syy)).clamp(0.0, 1.0)
    };
    Some((slope, r2))
}

/// How RSS and p95 grow with users over a closed phase's stages (two or
/// more stages with users; RSS only where the collector saw the targets).
pub fn scalability(stages: &[StageSummary]) -> Option<Scalability> {
    let with_users: Vec<&StageSummary> = stages
        .iter()
        .filter(|s| s.users.is_some() && s.all.count > 0)
        .collect();
    if with_users.len() < 2 {
        return None;
    }
    let u = |s: &StageSummary| f64::from(s.users.unwrap_or(0));
    let rss: Vec<(f64, f64)> = with_users
        .iter()
        .filter_map(|s| s.target_rss_mb.map(|m| (u(s), m)))
        .collect();
    let p95: Vec<(f64, f64)> = with_users
        .iter()
        .map(|s| (u(s), s.all.latency_ms.p95))
        .collect();
    let rss_fit = line_fit(&rss);
    Some(Scalability {
        rss_mb_per_user: rss_fit.map(|f| f.0),
        rss_r2: rss_fit.map(|f| f.1),
        p95_ms_per_user: line_fit(&p95).map(|f| f.0),
        points: with_users.len(),
    })
}

/// Drift verdict from soak rows.
pub fn soak_report(all_rows: &[SoakRow]) -> SoakReport {
    // The first row holds the server's warm-up; leave it out of the slopes once there are enough rows.
    let rows = if all_rows.len() >= 5 {
        &all_rows[1..]
    } else {
        all_rows
    };
    let lat: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| r.count > 0)
        .map(|r| (r.t_s / 3600.0, r.p95_ms))
        .collect();
    let rss: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|r| r.rss_mb.map(|m| (r.t_s / 3600.0, m)))
        .collect();
    let ls = slope(&lat);
    let rs = slope(&rss);
    let mean_p95 = if lat.is_empty() {
        0.0
    } else {
        lat.iter().map(|p| p.1).sum::<f64>() / lat.len() as f64
    };
    let verdict = if all_rows.len() < 3 {
        SoakVerdict::TooShort
    } else if rs.is_some_and(|s| s > 10.0) {
        SoakVerdict::RssGrowing
    } else if ls.is_some_and(|s| s > 0.5 * mean_p95.max(1.0)) {
        SoakVerdict::LatencyDrifting
    } else {
        SoakVerdict::Stable
    };
    SoakReport {
        rows: all_rows.to_vec(),
        latency_slope_ms_per_h: ls,
        rss_slope_mb_per_h: rs,
        verdict,
    }
}

/// A soak's drift verdict (its wire strings are those of `jetstress.run/1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SoakVerdict {
    #[serde(rename = "stable")]
    Stable,
    #[serde(rename = "rss growing (leak suspected)")]
    RssGrowing,
    #[serde(rename = "latency drifting")]
    LatencyDrifting,
    #[serde(rename = "too short to judge")]
    TooShort,
}

impl SoakVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            SoakVerdict::Stable => "stable",
            SoakVerdict::RssGrowing => "rss growing (leak suspected)",
            SoakVerdict::LatencyDrifting => "latency drifting",
            SoakVerdict::TooShort => "too short to judge",
        }
    }
}

wire_str!(SoakVerdict);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_fits_and_scalability() {
        assert_eq!(line_fit(&[(1.0, 2.0)]), None);
        assert_eq!(line_fit(&[(1.0, 2.0), (1.0, 3.0)]), None);
        let (m, r2) = line_fit(&[(2.0, 30.0), (4.0, 50.0), (8.0, 90.0)]).unwrap();
        assert!(
            (m - 10.0).abs() < 1e-9 && (r2 - 1.0).abs() < 1e-9,
            "{m} {r2}"
        );
        let (_, r2) = line_fit(&[(1.0, 0.0), (2.0, 10.0), (3.0, 0.0), (4.0, 10.0)]).unwrap();
        assert!(r2 < 0.5, "{r2}");
        let stage = |users: u32, rss: f64, p95: f64| StageSummary {
            users: Some(users),
            target_rss_mb: Some(rss),
            all: ToolSummary {
                count: 10,
                latency_ms: crate::load::stats::Percentiles {
                    p95,
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        };
        let sc = scalability(&[
            stage(2, 20.0, 5.0),
            stage(4, 40.0, 9.0),
            stage(8, 80.0, 17.0),
        ])
        .unwrap();
        assert_eq!(sc.points, 3);
        assert!((sc.rss_mb_per_user.unwrap() - 10.0).abs() < 1e-9);
        assert!((sc.p95_ms_per_user.unwrap() - 2.0).abs() < 1e-9);
        assert!(scalability(&[stage(2, 20.0, 5.0)]).is_none());
    }

    #[test]
    fn slopes_and_verdicts() {
        assert_eq!(slope(&[(0.0, 1.0)]), None);
        assert!((slope(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]).unwrap() - 2.0).abs() < 1e-9);
        let row = |i: usize, rss: f64| SoakRow {
            index: i,
            t_s: i as f64 * 60.0,
            count: 300,
            p50_ms: 5.0,
            p95_ms: 9.0,
            success_pct: 100.0,
            rss_mb: Some(rss),
            available_mb: Some(1000.0),
        };
        let stable: Vec<SoakRow> = (1..=10).map(|i| row(i, 50.0)).collect();
        assert_eq!(soak_report(&stable).verdict, "stable");
        // +1 MB a minute = 60 MB/h.
        let leak: Vec<SoakRow> = (1..=10).map(|i| row(i, 50.0 + i as f64)).collect();
        let r = soak_report(&leak);
        assert_eq!(r.verdict, "rss growing (leak suspected)");
        assert!((r.rss_slope_mb_per_h.unwrap() - 60.0).abs() < 1e-6);
        assert_eq!(soak_report(&stable[..2]).verdict, "too short to judge");
    }
}
