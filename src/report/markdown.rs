//! `report.md`: a [`Report`] rendered as Markdown. Pure: report in, string
//! out. Executive summary first (result, duration, phases, key findings with
//! numbers), then the criteria, per-phase per-tool latency tables, the stress
//! breaking point, the soak rows, and recommendations derived from the numbers.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::criteria::{judged_stages, Outcome, ThrottleObs};
use super::Report;
use crate::load::engine::{PhaseSummary, RunSummary};
use crate::load::stats::ToolSummary;
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
                    "p95 {:.1} ms at {:.1} rps ({}/{}) → worst {:.1} ms at {:.1} rps ({}/{}): {:+.0} %",
                    a,
                    first.1.target_rate,
                    first.0.name,
                    first.1.name,
                    b,
                    worst.1.target_rate,
                    worst.0.name,
                    worst.1.name,
                    (b - a) / a * 100.0
                ));
            } else {
                out.push(format!(
                    "one load level only: p95 {:.1} ms at {:.1} rps",
                    b, worst.1.target_rate
                ));
            }
        }
    }
    out
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
                "{} {} exceeds {} ({}): lower the rate there or speed up the slowest tool.",
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

    for p in &run.phases {
        let _ = writeln!(
            s,
            "\n## Phase `{}` ({}, {}, {:.0} s)\n",
            p.name, p.kind, p.status, p.duration_s
        );
        for st in &p.stages {
            let _ = writeln!(
                s,
                "### Stage `{}`: target {:.1} rps, achieved {:.1} rps, {} scheduled, {} dropped\n",
                st.name, st.target_rate, st.achieved_rate, st.scheduled, st.dropped
            );
            let _ = writeln!(s, "Latency in ms from the scheduled send time.\n");
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
              {"name": "soak", "kind": "soak", "started_s": 150.0, "duration_s": 150.0, "status": "completed",
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
