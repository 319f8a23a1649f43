//! `report.md`: a [`Report`] rendered as Markdown. Pure: report in, string
//! out. Executive summary first (result, duration, phases, key findings with
//! numbers), then the criteria, the targets, prediction accuracy (each
//! throttle onset, the alerts' precision and recall), per-phase per-tool
//! latency tables, the stress breaking point, the soak rows, and
//! recommendations derived from the numbers.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::criteria::{
    judged_stages, load_level, Criteria, Observations, Outcome, ThrottleObs, ALERT_ETA_S,
    ETA_ERROR_FROM_S, ETA_ERROR_TO_S,
};
use super::Report;
use crate::load::engine::{
    InvalidSummary, LoadModel, PhaseSummary, RunSummary, StageSummary, SweepReport,
};
use crate::load::llm_stats::LlmSummary;
use crate::load::stats::{Percentiles, ToolSummary};
use crate::predict::human_duration;

/// Requests and errors per target (`target:tool` → `target`), all stages.
pub fn errors_by_target(run: &RunSummary) -> BTreeMap<String, (u64, u64, BTreeMap<String, u64>)> {
    let mut m: BTreeMap<String, (u64, u64, BTreeMap<String, u64>)> = BTreeMap::new();
    for st in run.phases.iter().flat_map(|p| &p.stages) {
        for t in &st.tools {
            let target = t.tool.split(':').next().unwrap_or(&t.tool).to_string();
            let e = m.entry(target).or_default();
            e.0 += t.count;
            e.1 += t.errors;
            for (k, n) in &t.error_kinds {
                *e.2.entry(k.clone()).or_default() += n;
            }
        }
    }
    m
}

fn pct(n: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        n as f64 * 100.0 / of as f64
    }
}

fn kinds(k: &BTreeMap<String, u64>) -> String {
    if k.is_empty() {
        "-".into()
    } else {
        k.iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The tool of `target` with the most errors of `kind`, with that count.
fn worst_tool(run: &RunSummary, target: &str, kind: &str) -> Option<(String, u64)> {
    let mut m: BTreeMap<&str, u64> = BTreeMap::new();
    for t in run
        .phases
        .iter()
        .flat_map(|p| &p.stages)
        .flat_map(|s| &s.tools)
    {
        if t.tool.split(':').next() == Some(target) {
            *m.entry(&t.tool).or_default() += t.error_kinds.get(kind).copied().unwrap_or(0);
        }
    }
    m.into_iter()
        .filter(|(_, n)| *n > 0)
        .max_by_key(|(_, n)| *n)
        .map(|(t, n)| (t.to_string(), n))
}

/// The most frequent error kind, if any.
fn top_kind(k: &BTreeMap<String, u64>) -> Option<(&str, u64)> {
    k.iter()
        .max_by_key(|(_, n)| **n)
        .map(|(k, n)| (k.as_str(), *n))
}

/// Latency degradation: the spike report where there is one, else first vs
/// worst judged stage.
fn degradation(run: &RunSummary) -> Vec<String> {
    let mut out = Vec::new();
    for p in &run.phases {
        if let Some(sp) = &p.spike {
            out.push(format!(
                "spike `{}`: p95 {:.1} ms at baseline → {:.1} ms under the spike ({:+.0} %), {:.1} ms in recovery; {}",
                p.name,
                sp.baseline_p95_ms,
                sp.spike_p95_ms,
                sp.latency_increase_pct,
                sp.recovery_p95_ms,
                match sp.time_to_recover_s {
                    Some(t) => format!("recovered in {t:.0} s"),
                    None => "did not recover within the recovery stage".into(),
                }
            ));
        }
    }
    if out.is_empty() {
        let stages: Vec<_> = judged_stages(run).collect();
        if let (Some(first), Some(worst)) = (
            stages.first(),
            stages
                .iter()
                .max_by(|a, b| a.1.all.latency_ms.p95.total_cmp(&b.1.all.latency_ms.p95)),
        ) {
            let (a, b) = (first.1.all.latency_ms.p95, worst.1.all.latency_ms.p95);
            if stages.len() > 1 && a > 0.0 {
                out.push(format!(
                    "p95 {:.1} ms at {} ({}/{}) → worst {:.1} ms at {} ({}/{}): {:+.0} %",
                    a,
                    load_level(first.1),
                    first.0.name,
                    first.1.name,
                    b,
                    load_level(worst.1),
                    worst.0.name,
                    worst.1.name,
                    (b - a) / a * 100.0
                ));
            } else {
                out.push(format!(
                    "one load level only: p95 {:.1} ms at {}",
                    b,
                    load_level(worst.1)
                ));
            }
        }
    }
    out
}

/// The p95 limit the run is judged against (the scenario's `max_p95_ms`, or
/// the default).
pub(crate) fn p95_limit(r: &Report) -> f64 {
    Criteria::from_acceptance(r.acceptance.as_ref()).max_p95_ms
}

/// Where a closed phase's population stopped meeting the p95 limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PopulationLimit {
    pub limit_ms: f64,
    /// Users of the first stage whose p95 reached the limit (as the
    /// `p95_latency` criterion judges: within means below it).
    pub first_bad: Option<(u32, f64)>,
    /// Users of the stage before it; `None` when the first stage was bad.
    pub last_good: Option<u32>,
    /// Most users of a stage that carried traffic.
    pub top: u32,
}

impl PopulationLimit {
    /// `None` when no stage of `p` held users and completed requests.
    pub fn of(p: &PhaseSummary, limit_ms: f64) -> Option<PopulationLimit> {
        let stages: Vec<(u32, f64)> = p
            .stages
            .iter()
            .filter(|s| s.all.count > 0)
            .filter_map(|s| s.users.map(|u| (u, s.all.latency_ms.p95)))
            .collect();
        let top = stages.iter().map(|s| s.0).max()?;
        let bad = stages.iter().position(|s| s.1 >= limit_ms);
        Some(PopulationLimit {
            limit_ms,
            first_bad: bad.map(|i| stages[i]),
            last_good: bad.and_then(|i| i.checked_sub(1)).map(|i| stages[i].0),
            top,
        })
    }

    pub fn sentence(&self) -> String {
        let limit = self.limit_ms;
        match self.first_bad {
            Some((users, p95)) => format!(
                "p95 first exceeds {limit} ms at {users} users (last good: {}), reaching {p95:.1} ms",
                self.last_good
                    .map_or_else(|| "none".into(), |g| format!("{g} users"))
            ),
            None => format!("p95 stays within {limit} ms up to {} users", self.top),
        }
    }
}

/// "memory scales linearly with users (R² 0.97, 8.1 MB per user)", or why not.
fn memory_scaling(p: &PhaseSummary) -> Option<String> {
    let sc = p.scalability.as_ref()?;
    Some(match (sc.rss_mb_per_user, sc.rss_r2) {
        (Some(m), Some(r2)) if r2 >= 0.9 => {
            format!("memory scales linearly with users (R² {r2:.2}, {m:.1} MB per user)")
        }
        (Some(m), Some(r2)) => format!(
            "memory does not scale linearly with users (R² {r2:.2}; the best line is {m:.1} MB per user)"
        ),
        _ => "memory per user: not measured (no target RSS was read at the stages' ends)".into(),
    })
}

/// Closed stages whose Little's law check failed.
fn lagging(p: &PhaseSummary) -> usize {
    p.stages
        .iter()
        .filter(|s| s.little.is_some_and(|l| !l.holds))
        .count()
}

#[expect(
    clippy::too_many_lines,
    reason = "one finding per paragraph of the summary"
)]
fn findings(r: &Report) -> Vec<String> {
    let run = &r.run;
    let mut f = Vec::new();
    for d in degradation(run) {
        f.push(format!("Latency under load: {d}."));
    }
    let o = &r.observations;
    f.push(match o.throttle_events.first() {
        None => format!(
            "Throttling: none in {} snapshot(s){}.",
            o.snapshots,
            o.max_temp_c
                .map(|t| format!(
                    "; hottest {t:.1} °C ({})",
                    o.max_temp_zone.as_deref().unwrap_or("?")
                ))
                .unwrap_or_default()
        ),
        Some(t) => format!(
            "Throttling: {} onset(s), {} of {} snapshots throttled; first at {:.0} s{} ({}).",
            o.throttle_events.len(),
            o.throttled_snapshots,
            o.snapshots,
            t.at_s,
            if t.at_start {
                " (already at the start)"
            } else {
                ""
            },
            t.reasons.join("; ")
        ),
    });
    // Prediction accuracy: how early each onset had been predicted.
    let onsets: Vec<&ThrottleObs> = o.throttle_events.iter().filter(|t| !t.at_start).collect();
    if !onsets.is_empty() {
        let leads: Vec<String> = onsets
            .iter()
            .map(|t| match t.predicted_lead_s {
                Some(l) => format!("at {:.0} s: predicted {l:.0} s ahead", t.at_s),
                None => format!("at {:.0} s: not predicted", t.at_s),
            })
            .collect();
        f.push(format!(
            "Throttle predictions: {} of {} onset(s) predicted ahead ({}).",
            onsets
                .iter()
                .filter(|t| t.predicted_lead_s.is_some())
                .count(),
            onsets.len(),
            leads.join("; ")
        ));
    }
    let soaks: Vec<&PhaseSummary> = run.phases.iter().filter(|p| p.soak.is_some()).collect();
    if soaks.is_empty() {
        f.push("Leaks: not measured (no soak phase ran).".into());
    }
    for p in soaks {
        let k = p.soak.as_ref().expect("filtered");
        f.push(format!(
            "Leaks (`{}`): {} — RSS slope {}, latency slope {}.",
            p.name,
            k.verdict,
            k.rss_slope_mb_per_h
                .map_or_else(|| "not measured".into(), |v| format!("{v:.1} MB/h")),
            k.latency_slope_ms_per_h
                .map_or_else(|| "not measured".into(), |v| format!("{v:.1} ms/h"))
        ));
    }
    for (target, (count, errors, k)) in errors_by_target(run) {
        // Uptime: whether the target's sessions stayed up, from its deaths and restarts.
        let up = match run.targets.iter().find(|t| t.name == target) {
            Some(t) if t.failures + t.restarts == 0 => {
                format!("; uptime: all {} session(s) stayed up", t.sessions)
            }
            // Deaths and restarts get their own finding below.
            _ => String::new(),
        };
        f.push(format!(
            "Errors `{target}`: {:.2} % ({errors} of {count}; {}){up}.",
            pct(errors, count),
            kinds(&k)
        ));
    }
    for p in &run.phases {
        if let Some(bp) = &p.breaking_point {
            f.push(format!(
                "Breaking point (`{}`): {}.",
                p.name,
                if bp.found {
                    format!(
                        "last good {} rps, first bad {} rps — {}",
                        bp.last_good_rps
                            .map_or_else(|| "none".into(), |v| format!("{v:.1}")),
                        bp.first_bad_rps
                            .map_or_else(|| "?".into(), |v| format!("{v:.1}")),
                        bp.reason
                    )
                } else {
                    format!("none found — {}", bp.reason)
                }
            ));
        }
    }
    for p in run.phases.iter().filter(|p| p.model == LoadModel::Closed) {
        let parts: Vec<String> = PopulationLimit::of(p, p95_limit(r))
            .map(|l| l.sentence())
            .into_iter()
            .chain(memory_scaling(p))
            .chain(match lagging(p) {
                0 => None,
                n => Some(format!(
                    "⚠ Little's law off in {n} stage(s) (generator lagging)"
                )),
            })
            .collect();
        if !parts.is_empty() {
            f.push(format!("Users (`{}`): {}.", p.name, parts.join("; ")));
        }
    }
    if run.guard_events.is_empty() {
        f.push("Guards: no action.".into());
    } else {
        for g in &run.guard_events {
            f.push(format!(
                "Guard `{}` → `{}` at {:.0} s: {}.",
                g.guard,
                g.action,
                (g.time_unix_ms.saturating_sub(run.started_unix_ms)) as f64 / 1000.0,
                g.message
            ));
        }
    }
    for t in run.targets.iter().filter(|t| t.failures + t.restarts > 0) {
        if let Some(why) = &t.connect_error {
            f.push(format!(
                "Target `{}` never connected and got no load: {why}.",
                t.name
            ));
            continue;
        }
        f.push(format!(
            "Target `{}` uptime: {} session death(s), {} restart(s) over {} session(s).",
            t.name, t.failures, t.restarts, t.sessions
        ));
    }
    f
}

/// Advice that follows from the numbers; empty lines are never canned.
#[expect(
    clippy::too_many_lines,
    reason = "one recommendation rule after another"
)]
pub fn recommendations(r: &Report) -> Vec<String> {
    let run = &r.run;
    let mut out = Vec::new();
    let worst_p99 = judged_stages(run)
        .map(|(_, s)| s.all.latency_ms.p99)
        .fold(0.0, f64::max);
    for (target, (count, errors, k)) in errors_by_target(run) {
        let share = pct(errors, count);
        if share < 1.0 {
            continue;
        }
        let Some((kind, n)) = top_kind(&k) else {
            continue;
        };
        let culprit = worst_tool(run, &target, kind)
            .map(|(t, k)| format!(" Most came from `{t}` ({k})."))
            .unwrap_or_default();
        out.push(match kind {
            "timeout" => format!(
                "`{target}`: {n} timeouts ({share:.1} % errors).{culprit} The slowest judged p99 was {worst_p99:.0} ms; if replies that slow are acceptable raise `timeout`, else find what the tool blocks on (see its stderr log)."
            ),
            "dropped" => format!(
                "`{target}`: {n} requests dropped at the in-flight cap: the target could not keep up with the offered rate. Lower the rate or scale the server before raising `max_in_flight`."
            ),
            "transport" => format!(
                "`{target}`: {n} transport errors (pipe/connection down). Read its stderr log for the crash; restarts: {}.",
                run.targets.iter().find(|t| t.name == target).map_or(0, |t| t.restarts)
            ),
            _ => format!(
                "`{target}`: {n} `{kind}` errors ({share:.1} %):{culprit} the server answered with errors — check the `[[mix]]` arguments against the tool schemas."
            ),
        });
    }
    for p in &run.phases {
        if let Some(bp) = p.breaking_point.as_ref().filter(|b| b.found) {
            match bp.last_good_rps {
                Some(good) => out.push(format!(
                    "Keep sustained load at or below {:.1} rps (70 % of the last good stage, {good:.1} rps); it broke at {} rps ({}).",
                    good * 0.7,
                    bp.first_bad_rps.map_or_else(|| "?".into(), |v| format!("{v:.1}")),
                    bp.reason
                )),
                None => out.push(format!(
                    "Even the first stress stage broke ({}): start `stress` lower.",
                    bp.reason
                )),
            }
        }
        if let Some(l) =
            PopulationLimit::of(p, p95_limit(r)).filter(|_| p.model == LoadModel::Closed)
        {
            match (l.first_bad, l.last_good) {
                (Some((bad, p95)), Some(good)) => out.push(format!(
                    "Plan for at most {good} concurrent users per box (the last stage of `{}` within {} ms p95); at {bad} users p95 was {p95:.0} ms.",
                    p.name, l.limit_ms
                )),
                (Some((bad, p95)), None) => out.push(format!(
                    "Even the first stage of `{}` ({bad} users) had p95 {p95:.0} ms, over {} ms: start the users phase lower.",
                    p.name, l.limit_ms
                )),
                _ => {}
            }
        }
        if lagging(p) > 0 {
            out.push(format!(
                "In `{}` the generator lagged in {} stage(s) (Little's law off by more than 10 %): its users did not cycle as planned, so the stage offered less load than its users say. Give jetstress more CPU or run fewer users per process.",
                p.name,
                lagging(p)
            ));
        }
        if let Some(sp) = &p.spike {
            if sp.latency_increase_pct > 100.0 {
                out.push(format!(
                    "The spike multiplied p95 by {:.1}×{}: add concurrency or queueing headroom for bursts.",
                    sp.spike_p95_ms / sp.baseline_p95_ms.max(1e-9),
                    match sp.time_to_recover_s {
                        Some(t) => format!(" and took {t:.0} s to recover"),
                        None => " and it did not recover".into(),
                    }
                ));
            }
        }
    }
    for v in &r.criteria {
        if v.verdict != Outcome::Fail {
            continue;
        }
        match v.name.as_str() {
            "memory_leak" => out.push(format!(
                "Memory grows {} in the soak: {} — profile the target's allocations before a long deployment.",
                v.measured.as_deref().unwrap_or("?"),
                v.detail
            )),
            "no_throttling" => out.push(format!(
                "The board throttled ({}): improve cooling, or lower the power mode / load before trusting these latencies.",
                v.detail
            )),
            "throttle_predicted" => out.push(format!(
                "A throttle was predicted only {} ahead (needs {}): {}.",
                v.measured.as_deref().unwrap_or("?"),
                v.threshold,
                v.detail
            )),
            "no_guard_stop" => out.push(format!(
                "A guard stopped the load after {:.0} s ({}); results cover the run up to then.",
                run.elapsed_s, v.detail
            )),
            "p95_latency" | "p99_latency" => out.push(format!(
                "{} {} exceeds {} ({}): lower the load there (rate or users) or speed up the slowest tool.",
                v.name,
                v.measured.as_deref().unwrap_or("?"),
                v.threshold,
                v.detail
            )),
            _ => {}
        }
    }
    if r.criteria
        .iter()
        .any(|v| v.name == "memory_leak" && v.verdict == Outcome::NotMeasured)
    {
        out.push(format!(
            "Leaks were not measured: {}. Run a `soak` phase (10 min or more) with a stdio target.",
            r.criteria
                .iter()
                .find(|v| v.name == "memory_leak")
                .map_or("", |v| v.detail.as_str())
        ));
    }
    if out.is_empty() {
        if let Some(v) = r.criteria.iter().find(|v| v.name == "p95_latency") {
            out.push(format!(
                "Every limit held: worst p95 {} against {}; nothing to change at this load.",
                v.measured.as_deref().unwrap_or("?"),
                v.threshold
            ));
        }
    }
    out
}

fn tool_row(out: &mut String, t: &ToolSummary) {
    let l = &t.latency_ms;
    let _ = writeln!(
        out,
        "| {} | {} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} |",
        t.tool,
        t.count,
        t.rps,
        l.min,
        l.mean,
        l.p50,
        l.p95,
        l.p99,
        l.max,
        t.errors,
        kinds(&t.error_kinds)
    );
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"))
}

/// One row per target: sessions, deaths, restarts, and, where measured, the
/// initialize time and the RSS of one session.
fn targets_table(s: &mut String, run: &RunSummary) {
    if run.targets.is_empty() {
        return;
    }
    let init = run.targets.iter().any(|t| t.initialize_ms.is_some());
    let rss = run.targets.iter().any(|t| t.rss_mb_per_session.is_some());
    let _ = writeln!(s, "\n## Targets\n");
    let mut head = String::from("| target | kind | sessions | tools | deaths | restarts |");
    if init {
        head += " initialize p50 ms | initialize p95 ms | initialize max ms |";
    }
    if rss {
        head += " RSS MB / session (mean) | RSS MB / session (max) |";
    }
    let cols = head.matches('|').count() - 1;
    let _ = writeln!(s, "{head}\n|{}", "---|".repeat(cols));
    for t in &run.targets {
        let _ = write!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            t.name,
            t.kind,
            t.sessions,
            t.tools.len(),
            t.failures,
            t.restarts
        );
        if init {
            let i = t.initialize_ms;
            let _ = write!(
                s,
                " {} | {} | {} |",
                opt(i.map(|i| i.p50), 1),
                opt(i.map(|i| i.p95), 1),
                opt(i.map(|i| i.max), 1)
            );
        }
        if rss {
            let m = t.rss_mb_per_session;
            let _ = write!(
                s,
                " {} | {} |",
                opt(m.map(|m| m.mean), 1),
                opt(m.map(|m| m.max), 1)
            );
        }
        s.push('\n');
    }
}

/// How well the thermal predictor did: one row per throttle onset (when,
/// why, how early it was foreseen, the ETA error 30–300 s before), then the
/// alerts' precision and recall. Nothing when no snapshot was seen.
fn prediction_section(s: &mut String, o: &Observations) {
    if o.snapshots == 0 {
        return;
    }
    let _ = writeln!(s, "\n## Prediction accuracy\n");
    let pct =
        |v: Option<f64>, none: &str| v.map_or_else(|| none.to_string(), |v| format!("{v:.1} %"));
    if o.throttle_events.is_empty() {
        let _ = writeln!(s, "No throttle onset during the run.\n");
    } else {
        // A live run scored the onsets under its plan too (a rebuilt report cannot).
        let plan = o
            .throttle_events
            .iter()
            .any(|t| t.predicted_lead_planned_s.is_some() || t.eta_error_planned_pct.is_some());
        let _ = if plan {
            writeln!(
                s,
                "| onset at | reasons | foreseen | ETA error | foreseen under the plan | ETA error under the plan |\n|---|---|---|---|---|---|"
            )
        } else {
            writeln!(
                s,
                "| onset at | reasons | foreseen | ETA error |\n|---|---|---|---|"
            )
        };
        let foreseen = |at_start: bool, lead: Option<f64>| match (at_start, lead) {
            (true, _) => "throttled from the start".to_string(),
            (false, Some(l)) => format!("{l:.0} s ahead"),
            (false, None) => "not foreseen".to_string(),
        };
        for t in &o.throttle_events {
            let reasons = if t.reasons.is_empty() {
                "-".to_string()
            } else {
                t.reasons.join(", ")
            };
            let mut row = format!(
                "| {:.0} s | {reasons} | {} | {} |",
                t.at_s,
                foreseen(t.at_start, t.predicted_lead_s),
                pct(t.eta_error_pct, "-")
            );
            if plan {
                let _ = write!(
                    row,
                    " {} | {} |",
                    foreseen(t.at_start, t.predicted_lead_planned_s),
                    pct(t.eta_error_planned_pct, "-")
                );
            }
            let _ = writeln!(s, "{row}");
        }
        let _ = writeln!(
            s,
            "\nForeseen: how long before the onset a throttle ETA had been shown without a break. \
             ETA error: the median |ETA − true| / true of the predictions made \
             {ETA_ERROR_FROM_S:.0}–{ETA_ERROR_TO_S:.0} s before the onset (capped at 100 %, no ETA \
             counts 100 %; `-` when none was made then).{}\n",
            if plan {
                " Under the plan: the same for the load model's ETA under the \
                 plan's load ahead (the running phase's remaining stages), which is \
                 this load's ETA while no phase ran."
            } else {
                ""
            }
        );
    }
    let a = &o.alerts;
    if a.episodes == 0 {
        let _ = writeln!(
            s,
            "Alerts: none (no throttle forecast under {ALERT_ETA_S:.0} s); recall {}.",
            pct(a.recall_pct, "- (no onset)")
        );
    } else {
        let _ = writeln!(
            s,
            "Alerts (a throttle forecast under {ALERT_ETA_S:.0} s): {} — {} followed by an onset \
             in time, {} false alarm(s): precision {}, recall {} of onsets.",
            a.episodes,
            a.hits,
            a.false_alarms,
            pct(a.precision_pct, "-"),
            pct(a.recall_pct, "- (no onset)")
        );
    }
}

/// Little's law cell: the ratio, flagged when it does not hold.
fn little_cell(st: &StageSummary) -> String {
    match st.little {
        None => "-".into(),
        Some(l) if l.holds => format!("{:.2}", l.ratio),
        Some(l) => format!("⚠ {:.2} (generator lagging)", l.ratio),
    }
}

/// A closed phase: what its model means, a row per stage, and how cost grows
/// with the population (scalability and where p95 crosses the limit).
fn closed_phase(s: &mut String, p: &PhaseSummary, limit_ms: f64) {
    let info = p.users.as_ref();
    let users = info
        .map(|i| i.peak_users)
        .or_else(|| p.stages.iter().filter_map(|st| st.users).max())
        .unwrap_or(0);
    let _ = writeln!(
        s,
        "This phase ran a closed model: {users} users, think {}, latency measured from the actual send — a closed model hides the queueing an open one exposes.\n",
        info.map_or("unknown", |i| i.think.as_str())
    );
    if let Some(i) = info {
        match i.spawn_rate {
            Some(r) => {
                let _ = writeln!(
                    s,
                    "Users were started (and stopped) at {r:.1} per second.\n"
                );
            }
            None => {
                let _ = writeln!(s, "Users were started all at once.\n");
            }
        }
        if i.shared_sessions {
            let _ = writeln!(
                s,
                "Users shared {m} sessions per target (max_sessions) above {m} users.\n",
                m = i.max_sessions
            );
        }
    }
    let _ = writeln!(s, "### Users per stage\n");
    let _ = writeln!(
        s,
        "| stage | users | achieved req/s | think mean ms | iteration p50 ms | iteration p95 ms | p95 ms | errors | Little's law ratio | target RSS MB | RSS MB / session |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|");
    for st in &p.stages {
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} | {} | {} | {} | {:.1} | {} ({:.2} %) | {} | {} | {} |",
            st.name,
            st.users.map_or_else(|| "-".into(), |u| u.to_string()),
            st.achieved_rate,
            opt(st.think_ms.map(|t| t.mean), 1),
            opt(st.iteration_ms.map(|i| i.p50), 1),
            opt(st.iteration_ms.map(|i| i.p95), 1),
            st.all.latency_ms.p95,
            st.all.errors,
            pct(st.all.errors, st.all.count),
            little_cell(st),
            opt(st.target_rss_mb, 1),
            opt(st.rss_mb_per_session, 1)
        );
    }
    let _ = writeln!(
        s,
        "\nLittle's law: users ≈ throughput × (mean latency + mean think). A ratio more than 10 % off 1 means the generator did not keep its users cycling (it lagged) or the population changed mid-stage.\n"
    );
    let limit = PopulationLimit::of(p, limit_ms);
    let memory = memory_scaling(p);
    if limit.is_none() && memory.is_none() {
        return;
    }
    let _ = writeln!(s, "### Scalability\n");
    if let Some(m) = memory {
        let _ = writeln!(s, "- {m}");
    }
    if let Some(sc) = &p.scalability {
        if let Some(v) = sc.p95_ms_per_user {
            let _ = writeln!(s, "- p95 latency: {v:+.2} ms per user");
        }
        let _ = writeln!(s, "- fitted over {} stage(s)", sc.points);
    }
    if let Some(l) = limit {
        let _ = writeln!(s, "- population limit: {}", l.sentence());
    }
    s.push('\n');
}

/// One figure of `p` with one decimal, `-` when `p` recorded nothing.
fn pct_ms(p: &Percentiles, v: f64) -> String {
    if p.is_empty() {
        "-".into()
    } else {
        format!("{v:.1}")
    }
}

/// A stage's LLM tools: token latency, throughput, goodput, energy.
fn llm_table(s: &mut String, tools: &[ToolSummary]) {
    let rows: Vec<(&str, &LlmSummary)> = tools
        .iter()
        .filter_map(|t| t.llm.as_ref().map(|l| (t.tool.as_str(), l)))
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "LLM: TTFT from the send to the first content chunk, ITL between content chunks, TPOT = (E2E − TTFT) / (tokens − 1), in ms.\n"
    );
    let _ = writeln!(
        s,
        "| tool | requests | TTFT p50 | TTFT p95 | ITL p50 | ITL p95 | TPOT p50 | E2E p95 | tok/s | tokens (source) | goodput % | tok/J | mismatches |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (tool, l) in rows {
        let _ = writeln!(
            s,
            "| {tool}{} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {} ({}) | {} | {} | {} |",
            if l.streamed {
                ""
            } else {
                " (not streamed: TTFT = E2E)"
            },
            l.requests,
            pct_ms(&l.ttft_ms, l.ttft_ms.p50),
            pct_ms(&l.ttft_ms, l.ttft_ms.p95),
            pct_ms(&l.itl_ms, l.itl_ms.p50),
            pct_ms(&l.itl_ms, l.itl_ms.p95),
            pct_ms(&l.tpot_ms, l.tpot_ms.p50),
            pct_ms(&l.e2e_ms, l.e2e_ms.p95),
            l.output_tokens_per_s,
            l.output_tokens,
            l.token_source.as_deref().unwrap_or("-"),
            opt(l.goodput_pct, 1),
            opt(l.tokens_per_joule, 2),
            l.token_mismatches
        );
    }
    s.push('\n');
}

/// A sweep's rates: what each delivered, and the highest good one.
fn sweep_section(s: &mut String, k: &SweepReport) {
    let _ = writeln!(s, "### Sweep\n");
    let _ = writeln!(
        s,
        "One request at a time the server gave {:.2} req/s, at full concurrency {:.2} req/s; the rates between were each held as long.\n",
        k.synchronous_rps, k.throughput_rps
    );
    let _ = writeln!(
        s,
        "| rate (req/s) | achieved | good % | by | p95 ms | tok/s | TTFT p95 ms | |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    for p in &k.points {
        let _ = writeln!(
            s,
            "| {:.2} | {:.2} | {:.1} | {} | {:.1} | {} | {} | {} |",
            p.rate_rps,
            p.achieved_rps,
            p.good_pct,
            p.good_by,
            p.p95_ms,
            opt(p.output_tokens_per_s, 1),
            opt(p.ttft_p95_ms, 1),
            if p.good { "good" } else { "**not good**" }
        );
    }
    let _ = writeln!(
        s,
        "\n{}\n",
        match k.best_rate_rps {
            Some(b) => format!(
                "Highest rate with at least {} % good: **{b:.2} req/s**.",
                k.min_good_pct
            ),
            None => format!("No rate had at least {} % good.", k.min_good_pct),
        }
    );
}

/// A phase's invalid-input calls: what the server did with each tool's.
fn invalid_section(s: &mut String, inv: &InvalidSummary) {
    let c = &inv.counts;
    let _ = writeln!(s, "### Invalid inputs\n");
    let _ = writeln!(
        s,
        "{} calls carried arguments the tool's own schema forbids ({} probes to draw from); they are counted here, not in the tables above. Error replies took p50 {:.1} ms, p95 {:.1} ms.\n",
        c.sent, inv.probes, inv.error_reply_ms.p50, inv.error_reply_ms.p95
    );
    let _ = writeln!(s, "| tool | sent | graceful | accepted | hang | crash |");
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for t in inv
        .tools
        .iter()
        .map(|t| (t.tool.as_str(), &t.counts))
        .chain([("all", c)])
    {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            t.0, t.1.sent, t.1.graceful, t.1.accepted, t.1.hang, t.1.crash
        );
    }
    s.push('\n');
    if c.accepted > 0 {
        let _ = writeln!(
            s,
            "{} invalid calls got a normal result: the server does not check its input against its schema (`jetstress check` lists the exact arguments).\n",
            c.accepted
        );
    }
}

#[expect(clippy::too_many_lines, reason = "report.md top to bottom")]
pub fn render(r: &Report) -> String {
    let run = &r.run;
    let mut s = String::new();
    let _ = writeln!(s, "# jetstress report: {}\n", r.scenario);
    let _ = writeln!(s, "## Executive summary\n");
    let _ = writeln!(
        s,
        "- **Result: {}**{}",
        r.result,
        if r.interrupted { " (interrupted)" } else { "" }
    );
    let _ = writeln!(s, "- Duration: {}", human_duration(run.elapsed_s));
    let _ = writeln!(
        s,
        "- Phases: {}",
        run.phases
            .iter()
            .map(|p| format!("{} ({}, {})", p.name, p.kind, p.status))
            .collect::<Vec<_>>()
            .join("; ")
    );
    if let Some(b) = &r.board {
        let _ = writeln!(
            s,
            "- Board: {}{}{}",
            b.board.model.as_deref().unwrap_or("unknown model"),
            b.board
                .l4t
                .as_deref()
                .map(|v| format!(", L4T {v}"))
                .unwrap_or_default(),
            b.board
                .hostname
                .as_deref()
                .map(|v| format!(", host {v}"))
                .unwrap_or_default()
        );
    }
    let failed: Vec<&str> = r
        .criteria
        .iter()
        .filter(|v| v.verdict == Outcome::Fail)
        .map(|v| v.name.as_str())
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(s, "- Failed: {}", failed.join(", "));
    }
    let _ = writeln!(s, "\n### Key findings\n");
    for f in findings(r) {
        let _ = writeln!(s, "- {f}");
    }

    if !r.charts.is_empty() {
        let _ = writeln!(s, "\n### Charts\n");
        // PNG inline (every Markdown viewer shows it), SVG linked beside it.
        for kind in super::charts::ChartKind::ALL {
            let (png, svg) = (
                format!("{}.png", kind.stem()),
                format!("{}.svg", kind.stem()),
            );
            let has = |f: &String| r.charts.contains(f);
            match (has(&png), has(&svg)) {
                (true, true) => {
                    let _ = writeln!(s, "![{}]({png})  \n[{svg}]({svg})\n", kind.title());
                }
                (true, false) => {
                    let _ = writeln!(s, "![{}]({png})\n", kind.title());
                }
                (false, true) => {
                    let _ = writeln!(s, "![{}]({svg})\n", kind.title());
                }
                (false, false) => {}
            }
        }
    }
    let _ = writeln!(s, "\n## Acceptance criteria\n");
    let _ = writeln!(s, "| criterion | verdict | measured | threshold | detail |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    for v in &r.criteria {
        let verdict = match v.verdict {
            Outcome::Pass => "pass",
            Outcome::Fail => "**FAIL**",
            Outcome::NotMeasured => "not measured",
            Outcome::NotApplicable => "not applicable",
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            v.name,
            verdict,
            v.measured.as_deref().unwrap_or("-"),
            v.threshold,
            v.detail
        );
    }

    targets_table(&mut s, run);
    prediction_section(&mut s, &r.observations);

    for p in &run.phases {
        let _ = writeln!(
            s,
            "\n## Phase `{}` ({}, {}, {:.0} s)\n",
            p.name, p.kind, p.status, p.duration_s
        );
        if p.model == LoadModel::Closed {
            closed_phase(&mut s, p, p95_limit(r));
        } else if let Some(a) = p.arrivals.as_deref().filter(|a| *a != "uniform") {
            let _ = writeln!(
                s,
                "Arrivals: {a} around the target rate (open model: requests are sent on schedule whether or not replies came back).\n"
            );
        }
        for st in &p.stages {
            if let Some(users) = st.users {
                let _ = writeln!(
                    s,
                    "### Stage `{}`: {users} users, achieved {:.1} rps, {} sent, {} dropped\n",
                    st.name, st.achieved_rate, st.scheduled, st.dropped
                );
                let _ = writeln!(s, "Latency in ms from the actual send (closed model).\n");
            } else {
                let _ = writeln!(
                    s,
                    "### Stage `{}`: target {:.1} rps, achieved {:.1} rps, {} scheduled, {} dropped\n",
                    st.name, st.target_rate, st.achieved_rate, st.scheduled, st.dropped
                );
                let _ = writeln!(s, "Latency in ms from the scheduled send time.\n");
            }
            let _ = writeln!(
                s,
                "| tool | count | rps | min | avg | p50 | p95 | p99 | max | errors | by kind |"
            );
            let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|");
            for t in &st.tools {
                tool_row(&mut s, t);
            }
            tool_row(&mut s, &st.all);
            s.push('\n');
            llm_table(&mut s, &st.tools);
        }
        if let Some(inv) = &p.invalid {
            invalid_section(&mut s, inv);
        }
        if let Some(k) = &p.sweep {
            sweep_section(&mut s, k);
        }
        if p.breaking_point.is_some() {
            let _ = writeln!(s, "### Breaking point\n");
            let _ = writeln!(
                s,
                "| stage | target rps | achieved rps | success % | p95 ms | dropped % | |"
            );
            let _ = writeln!(s, "|---|---|---|---|---|---|---|");
            let n = p.stages.len();
            let found = p.breaking_point.as_ref().is_some_and(|b| b.found);
            for (i, st) in p.stages.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
                    st.name,
                    st.target_rate,
                    st.achieved_rate,
                    100.0 - pct(st.all.errors, st.all.count),
                    st.all.latency_ms.p95,
                    pct(st.dropped, st.all.count),
                    if found && i + 1 == n {
                        "**broke**"
                    } else {
                        "ok"
                    }
                );
            }
            if let Some(bp) = &p.breaking_point {
                let _ = writeln!(s, "\n{}\n", bp.reason);
            }
        }
        if let Some(k) = &p.soak {
            let _ = writeln!(s, "### Soak, per minute\n");
            let _ = writeln!(
                s,
                "| minute | t (s) | requests | p50 ms | p95 ms | success % | target RSS MB | available MB |"
            );
            let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
            let opt = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.1}"));
            for row in &k.rows {
                let _ = writeln!(
                    s,
                    "| {} | {:.0} | {} | {:.1} | {:.1} | {:.2} | {} | {} |",
                    row.index,
                    row.t_s,
                    row.count,
                    row.p50_ms,
                    row.p95_ms,
                    row.success_pct,
                    opt(row.rss_mb),
                    opt(row.available_mb)
                );
            }
            let _ = writeln!(
                s,
                "\nVerdict: {} (RSS slope {}, latency slope {}).\n",
                k.verdict,
                k.rss_slope_mb_per_h
                    .map_or_else(|| "-".into(), |v| format!("{v:.1} MB/h")),
                k.latency_slope_ms_per_h
                    .map_or_else(|| "-".into(), |v| format!("{v:.1} ms/h"))
            );
        }
    }

    let _ = writeln!(s, "## Recommendations\n");
    for rec in recommendations(r) {
        let _ = writeln!(s, "- {rec}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::criteria::{evaluate, Criteria, Observations, ThrottleObs};

    fn tool(name: &str, count: u64, errors: u64, kind: &str, p95: f64) -> serde_json::Value {
        let kinds = if errors > 0 {
            serde_json::json!({ kind: errors })
        } else {
            serde_json::json!({})
        };
        let p = serde_json::json!({"min": 1.0, "p50": p95 / 2.0, "p90": p95 * 0.9, "p95": p95,
            "p99": p95 * 1.5, "max": p95 * 2.0, "mean": p95 / 2.0});
        serde_json::json!({"tool": name, "count": count, "errors": errors, "error_kinds": kinds,
            "latency_ms": p, "service_ms": p, "rps": count as f64 / 10.0})
    }

    fn stage(
        name: &str,
        rate: f64,
        count: u64,
        errors: u64,
        kind: &str,
        p95: f64,
    ) -> serde_json::Value {
        serde_json::json!({"name": name, "target_rate": rate, "achieved_rate": rate, "duration_s": 10.0,
            "scheduled": count, "dropped": if kind == "dropped" { errors } else { 0 },
            "all": tool("all", count, errors, kind, p95),
            "tools": [tool("fs:read_file", count, errors, kind, p95)]})
    }

    fn summary() -> RunSummary {
        serde_json::from_value(serde_json::json!({
            "schema": "jetstress.run/1", "started_unix_ms": 1000, "elapsed_s": 300.0, "in_flight": 0,
            "phases": [
              {"name": "spike", "kind": "spike", "started_s": 0.0, "duration_s": 30.0, "status": "completed",
               "stages": [stage("baseline", 2.0, 20, 0, "", 10.0), stage("spike", 15.0, 150, 0, "", 40.0),
                          stage("recovery", 2.0, 20, 0, "", 11.0)],
               "spike": {"baseline_p95_ms": 10.0, "spike_p95_ms": 40.0, "recovery_p95_ms": 11.0,
                         "latency_increase_pct": 300.0, "errors": [0, 0, 0], "time_to_recover_s": 4.0}},
              {"name": "stress", "kind": "stress", "started_s": 30.0, "duration_s": 120.0, "status": "breaking point",
               "stages": [stage("1 rps", 1.0, 60, 0, "", 9.0), stage("4 rps", 4.0, 240, 120, "timeout", 9000.0)],
               "breaking_point": {"found": true, "last_good_rps": 1.0, "first_bad_rps": 4.0,
                                  "reason": "success 50.0 % < 95 %"}},
              {"name": "soak", "kind": "soak", "started_s": 150.0, "duration_s": 3600.0, "status": "completed",
               "stages": [stage("hold", 5.0, 750, 0, "", 12.0)],
               "soak": {"rows": [
                  {"index": 0, "t_s": 60.0, "count": 300, "p50_ms": 5.0, "p95_ms": 12.0, "success_pct": 100.0, "rss_mb": 50.0, "available_mb": 3000.0},
                  {"index": 1, "t_s": 120.0, "count": 300, "p50_ms": 5.1, "p95_ms": 12.5, "success_pct": 100.0, "rss_mb": 51.0, "available_mb": 2990.0}],
                 "latency_slope_ms_per_h": 30.0, "rss_slope_mb_per_h": 60.0, "verdict": "rss growing (leak suspected)"}}
            ],
            "targets": [{"name": "fs", "kind": "stdio", "sessions": 2, "tools": ["read_file"], "failures": 0, "restarts": 0}],
            "generators": [], "guard_events": []
        }))
        .unwrap()
    }

    fn report(s: RunSummary, o: Observations) -> Report {
        let v = evaluate(&s, &o, &Criteria::default());
        Report::new("demo", s, v, None, o, None, false)
    }

    #[test]
    fn the_summary_comes_first_and_carries_the_numbers() {
        let r = report(
            summary(),
            Observations {
                snapshots: 300,
                max_temp_c: Some(61.5),
                max_temp_zone: Some("cpu-thermal".into()),
                ..Default::default()
            },
        );
        assert_eq!(r.result, "FAIL"); // 60 MB/h leak
        let md = render(&r);
        let exec = md.find("## Executive summary").unwrap();
        assert!(exec < md.find("## Acceptance criteria").unwrap());
        assert!(md.find("## Acceptance criteria").unwrap() < md.find("## Phase `spike`").unwrap());
        assert!(md.contains("**Result: FAIL**"), "{md}");
        assert!(md.contains("Failed: memory_leak"), "{md}");
        assert!(md.contains("(+300 %)"), "{md}");
        assert!(md.contains("recovered in 4 s"), "{md}");
        assert!(
            md.contains("none in 300 snapshot(s); hottest 61.5 °C (cpu-thermal)"),
            "{md}"
        );
        assert!(
            md.contains("rss growing (leak suspected) — RSS slope 60.0 MB/h"),
            "{md}"
        );
        // 120 timeouts of 1240 requests over all stages.
        assert!(
            md.contains("Errors `fs`: 9.68 % (120 of 1240; timeout 120); uptime: all 2 session(s) stayed up."),
            "{md}"
        );
        assert!(md.contains("last good 1.0 rps, first bad 4.0 rps"), "{md}");
        assert!(md.contains("| fs:read_file | 240 | 24.00 | 1.0 | 4500.0 | 4500.0 | 9000.0 | 13500.0 | 18000.0 | 120 | timeout 120 |"), "{md}");
        assert!(
            md.contains("| 4 rps | 4.0 | 4.0 | 50.0 | 9000.0 | 0.0 | **broke** |"),
            "{md}"
        );
        assert!(
            md.contains("| 1 | 120 | 300 | 5.1 | 12.5 | 100.00 | 51.0 | 2990.0 |"),
            "{md}"
        );
        let rec = &md[md.find("## Recommendations").unwrap()..];
        assert!(rec.contains("at or below 0.7 rps"), "{rec}");
        assert!(rec.contains("multiplied p95 by 4.0×"), "{rec}");
        assert!(rec.contains("Memory grows 60.0 MB/h"), "{rec}");
        assert!(
            rec.contains("10 timeouts") || rec.contains("120 timeouts"),
            "{rec}"
        );
    }

    /// A closed stage: `users` users, p95 `p95`, Little's ratio `ratio`, the
    /// targets' RSS `rss` over `sessions` sessions.
    fn users_stage(users: u32, p95: f64, ratio: f64, rss: f64, sessions: u32) -> serde_json::Value {
        let mut st = stage(&format!("{users} users"), 0.0, 100, 0, "", p95);
        let o = st.as_object_mut().unwrap();
        o.insert("achieved_rate".into(), (f64::from(users) * 2.0).into());
        o.insert("users".into(), users.into());
        o.insert("think_ms".into(), serde_json::json!({"mean": 250.0}));
        o.insert(
            "iteration_ms".into(),
            serde_json::json!({"p50": 300.0 + p95, "p95": 400.0 + p95}),
        );
        o.insert(
            "little".into(),
            serde_json::json!({"expected_users": f64::from(users) * ratio,
            "users": f64::from(users), "ratio": ratio, "holds": (ratio - 1.0).abs() <= 0.10}),
        );
        o.insert("target_rss_mb".into(), rss.into());
        o.insert("sessions".into(), sessions.into());
        o.insert(
            "rss_mb_per_session".into(),
            (rss / f64::from(sessions)).into(),
        );
        st
    }

    /// An open phase with poisson arrivals, then a users phase of 2, 4 and 8
    /// users (p95 20, 45, 150 ms; the last stage's generator lagged) sharing
    /// 4 sessions; one target with initialize times and RSS per session.
    fn users_summary(r2: f64) -> RunSummary {
        serde_json::from_value(serde_json::json!({
            "schema": "jetstress.run/1", "started_unix_ms": 1000, "elapsed_s": 60.0, "in_flight": 0,
            "phases": [
              {"name": "warm", "kind": "custom", "started_s": 0.0, "duration_s": 10.0, "status": "completed",
               "model": "open", "arrivals": "poisson", "stages": [stage("hold", 5.0, 50, 0, "", 12.0)]},
              {"name": "population", "kind": "users", "started_s": 10.0, "duration_s": 50.0, "status": "completed",
               "model": "closed",
               "users": {"think": "200–300 ms", "spawn_rate": 2.0, "max_sessions": 4, "peak_users": 8,
                         "shared_sessions": true},
               "scalability": {"rss_mb_per_user": 8.1, "rss_r2": r2, "p95_ms_per_user": 21.25, "points": 3},
               "stages": [users_stage(2, 20.0, 1.02, 60.0, 2), users_stage(4, 45.0, 0.97, 75.0, 4),
                          users_stage(8, 150.0, 0.8, 110.0, 4)]}
            ],
            "targets": [{"name": "fs", "kind": "stdio", "sessions": 4, "tools": ["read_file"], "failures": 0,
                         "restarts": 0, "initialize_ms": {"p50": 40.0, "p95": 80.0, "max": 95.0},
                         "rss_mb_per_session": {"mean": 25.0, "max": 27.5}}],
            "generators": [], "guard_events": []
        }))
        .unwrap()
    }

    fn report_with(s: RunSummary, max_p95_ms: Option<f64>) -> Report {
        let a = max_p95_ms.map(|m| crate::load::scenario::Acceptance {
            max_p95_ms: Some(m),
            ..Default::default()
        });
        let o = Observations::default();
        let v = evaluate(&s, &o, &Criteria::from_acceptance(a.as_ref()));
        Report::new("users", s, v, a, o, None, false)
    }

    /// The text of the phase section `name`, up to the next phase or the recommendations.
    fn section<'a>(md: &'a str, name: &str) -> &'a str {
        let start = md
            .find(&format!("## Phase `{name}`"))
            .unwrap_or_else(|| panic!("no phase {name}:\n{md}"));
        let rest = &md[start + 3..];
        let end = ["\n## Phase", "\n## Recommendations"]
            .iter()
            .filter_map(|h| rest.find(h))
            .min()
            .unwrap_or(rest.len());
        &md[start..start + 3 + end]
    }

    #[test]
    fn a_users_phase_says_its_model_stages_scalability_and_population_limit() {
        let s = users_summary(0.97);
        let r = report_with(s.clone(), Some(100.0));
        let md = render(&r);
        let users = section(&md, "population");
        let heading_end = users.find('\n').unwrap();
        let model = users.find(
            "closed model: 8 users, think 200–300 ms, latency measured from the actual send — a closed model hides the queueing an open one exposes",
        );
        // Right under the heading, before the stage tables.
        assert!(model.is_some_and(|i| i < heading_end + 30), "{users}");
        assert!(
            users.contains("started (and stopped) at 2.0 per second"),
            "{users}"
        );
        assert!(
            users.contains("shared 4 sessions per target (max_sessions) above 4 users"),
            "{users}"
        );
        // One row per stage, from its own numbers.
        for st in &s.phases[1].stages {
            let l = st.little.unwrap();
            let it = st.iteration_ms.unwrap();
            let row = format!(
                "| {} | {} | {:.1} | 250.0 | {:.1} | {:.1} | {:.1} | 0 (0.00 %) | {} | {:.1} | {:.1} |",
                st.name,
                st.users.unwrap(),
                st.achieved_rate,
                it.p50,
                it.p95,
                st.all.latency_ms.p95,
                if l.holds {
                    format!("{:.2}", l.ratio)
                } else {
                    format!("⚠ {:.2} (generator lagging)", l.ratio)
                },
                st.target_rss_mb.unwrap(),
                st.rss_mb_per_session.unwrap(),
            );
            assert!(users.contains(&row), "{row} not in\n{users}");
        }
        assert_eq!(users.matches("generator lagging").count(), 1, "{users}");
        assert!(
            users.contains("- memory scales linearly with users (R² 0.97, 8.1 MB per user)"),
            "{users}"
        );
        assert!(
            users.contains("- p95 latency: +21.25 ms per user"),
            "{users}"
        );
        // 150 ms at 8 users is the first stage over 100 ms; 4 users was the last under it.
        assert!(
            users.contains(
                "population limit: p95 first exceeds 100 ms at 8 users (last good: 4 users), reaching 150.0 ms"
            ),
            "{users}"
        );
        // Closed stage tables measure from the actual send.
        assert!(
            users.contains("### Stage `2 users`: 2 users, achieved 4.0 rps"),
            "{users}"
        );
        assert!(
            users.contains("from the actual send (closed model)"),
            "{users}"
        );
        assert!(!users.contains("scheduled send"), "{users}");
        // The summary and the advice carry it too.
        let exec = &md[..md.find("## Acceptance criteria").unwrap()];
        assert!(
            exec.contains("Users (`population`): p95 first exceeds 100 ms at 8 users"),
            "{exec}"
        );
        assert!(exec.contains("Little's law off in 1 stage(s)"), "{exec}");
        assert!(exec.contains("at 8 users (population/8 users)"), "{exec}");
        let rec = &md[md.find("## Recommendations").unwrap()..];
        assert!(rec.contains("at most 4 concurrent users"), "{rec}");
        assert!(rec.contains("generator lagged in 1 stage(s)"), "{rec}");

        // The open phase names its arrivals, in the open layout.
        let warm = section(&md, "warm");
        assert!(warm.contains("Arrivals: poisson"), "{warm}");
        assert!(
            warm.contains("Latency in ms from the scheduled send time."),
            "{warm}"
        );
        assert!(!warm.contains("closed model"), "{warm}");

        // Targets: initialize and RSS per session columns.
        let t = s.targets[0].initialize_ms.unwrap();
        let m = s.targets[0].rss_mb_per_session.unwrap();
        assert!(md.contains("initialize p95 ms"), "{md}");
        assert!(
            md.contains(&format!(
                "| fs | stdio | 4 | 1 | 0 | 0 | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
                t.p50, t.p95, t.max, m.mean, m.max
            )),
            "{md}"
        );
    }

    #[test]
    fn the_population_limit_follows_the_acceptance_limit_and_r2() {
        // The default 5000 ms holds at every stage.
        let md = render(&report_with(users_summary(0.97), None));
        assert!(
            md.contains("p95 stays within 5000 ms up to 8 users"),
            "{md}"
        );
        // Below even the first stage's p95.
        let md = render(&report_with(users_summary(0.97), Some(10.0)));
        assert!(
            md.contains("p95 first exceeds 10 ms at 2 users (last good: none)"),
            "{md}"
        );
        assert!(md.contains("start the users phase lower"), "{md}");
        // The users charts are linked like the others once written.
        let mut r = report_with(users_summary(0.97), None);
        let kinds = [
            crate::report::charts::ChartKind::UsersLatency,
            crate::report::charts::ChartKind::UsersRss,
        ];
        r.charts = kinds
            .iter()
            .flat_map(|k| [format!("{}.png", k.stem()), format!("{}.svg", k.stem())])
            .collect();
        let md = render(&r);
        for k in kinds {
            let link = format!(
                "![{}]({}.png)  \n[{s}.svg]({s}.svg)",
                k.title(),
                k.stem(),
                s = k.stem()
            );
            assert!(md.contains(&link), "{link} not in\n{md}");
        }
        let md = render(&report_with(users_summary(0.5), None));
        assert!(
            md.contains("memory does not scale linearly with users (R² 0.50"),
            "{md}"
        );
        // Uniform arrivals are the default and go unsaid; with no one measuring
        // initialize or RSS the targets table keeps its plain columns.
        let mut s = users_summary(0.97);
        s.phases[0].arrivals = Some("uniform".into());
        s.targets[0].initialize_ms = None;
        s.targets[0].rss_mb_per_session = None;
        let md = render(&report_with(s, None));
        assert!(!md.contains("Arrivals:"), "{md}");
        assert!(!md.contains("initialize p50"), "{md}");
        assert!(md.contains("| fs | stdio | 4 | 1 | 0 | 0 |\n"), "{md}");
    }

    #[test]
    fn prediction_accuracy_lists_every_onset_and_the_alerts() {
        use crate::report::criteria::Alerts;
        let onset = |at_s: f64, lead: Option<f64>, at_start: bool, err: Option<f64>| ThrottleObs {
            at_s,
            reasons: vec!["sw-throttle".into(), "CPU capped".into()],
            predicted_lead_s: lead,
            at_start,
            eta_error_pct: err,
            ..Default::default()
        };
        let o = Observations {
            snapshots: 900,
            throttled_snapshots: 30,
            throttle_events: vec![
                onset(0.0, None, true, None),
                onset(420.0, Some(310.0), false, Some(12.3)),
                onset(800.0, None, false, Some(100.0)),
            ],
            alerts: Alerts {
                episodes: 3,
                hits: 1,
                false_alarms: 2,
                precision_pct: Some(100.0 / 3.0),
                recall_pct: Some(50.0),
            },
            ..Default::default()
        };
        let md = render(&report(summary(), o.clone()));
        let sec = &md[md.find("## Prediction accuracy").expect("the section")..];
        let sec = &sec[..sec.find("\n## Phase").unwrap()];
        assert!(md.find("## Targets").unwrap() < md.find("## Prediction accuracy").unwrap());
        let rows: Vec<&str> = sec.lines().filter(|l| l.starts_with("| ")).collect();
        assert_eq!(
            rows,
            [
                "| onset at | reasons | foreseen | ETA error |",
                "| 0 s | sw-throttle, CPU capped | throttled from the start | - |",
                "| 420 s | sw-throttle, CPU capped | 310 s ahead | 12.3 % |",
                "| 800 s | sw-throttle, CPU capped | not foreseen | 100.0 % |",
            ],
            "{sec}"
        );
        assert!(
            sec.contains("3 — 1 followed by an onset in time, 2 false alarm(s): precision 33.3 %, recall 50.0 % of onsets."),
            "{sec}"
        );

        // A live run scored the onsets under its plan too: two more columns.
        let mut planned = o.clone();
        planned.throttle_events[2].predicted_lead_planned_s = Some(95.0);
        planned.throttle_events[2].eta_error_planned_pct = Some(8.5);
        let md = render(&report(summary(), planned));
        let sec = &md[md.find("## Prediction accuracy").expect("the section")..];
        let rows: Vec<&str> = sec.lines().filter(|l| l.starts_with("| ")).collect();
        assert_eq!(rows[0], "| onset at | reasons | foreseen | ETA error | foreseen under the plan | ETA error under the plan |");
        assert_eq!(
            rows[3],
            "| 800 s | sw-throttle, CPU capped | not foreseen | 100.0 % | 95 s ahead | 8.5 % |"
        );
        assert!(sec.contains("Under the plan: "), "{sec}");

        let quiet = render(&report(
            summary(),
            Observations {
                snapshots: 10,
                ..Default::default()
            },
        ));
        assert!(
            quiet.contains("No throttle onset during the run."),
            "{quiet}"
        );
        assert!(
            quiet.contains("Alerts: none (no throttle forecast under 300 s); recall - (no onset)."),
            "{quiet}"
        );
        let none = render(&report(summary(), Observations::default()));
        assert!(!none.contains("## Prediction accuracy"), "{none}");
    }

    #[test]
    fn a_clean_run_recommends_nothing_canned() {
        let mut s = summary();
        s.phases.retain(|p| p.kind == "soak");
        s.phases[0].soak.as_mut().unwrap().rss_slope_mb_per_h = Some(0.5);
        let o = Observations {
            snapshots: 10,
            throttled_snapshots: 2,
            throttle_events: vec![ThrottleObs {
                at_s: 42.0,
                reasons: vec!["GPU capped".into()],
                predicted_lead_s: None,
                at_start: false,
                eta_error_pct: None,
                ..Default::default()
            }],
            ..Default::default()
        };
        let r = report(s.clone(), o);
        let md = render(&r);
        assert!(
            md.contains("1 onset(s), 2 of 10 snapshots throttled; first at 42 s (GPU capped)"),
            "{md}"
        );
        assert!(md.contains("The board throttled"), "{md}");
        assert!(
            md.contains(
                "Throttle predictions: 0 of 1 onset(s) predicted ahead (at 42 s: not predicted)."
            ),
            "{md}"
        );
        assert!(
            md.contains("| 42 s | GPU capped | not foreseen | - |"),
            "{md}"
        );
        let r = report(
            s,
            Observations {
                snapshots: 10,
                ..Default::default()
            },
        );
        assert!(r.passed());
        let recs = recommendations(&r);
        assert_eq!(recs.len(), 1, "{recs:?}");
        assert!(
            recs[0].contains("worst p95 12.0 ms against < 5000 ms"),
            "{recs:?}"
        );
    }
}
