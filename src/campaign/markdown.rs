//! `campaign.md`: the campaign report for people — the executive summary
//! first, then the technical report across scenarios, the failure analysis
//! and the recommendations. Pure: a [`CampaignReport`] in, Markdown out.

use std::fmt::Write;

use super::analysis::{CampaignReport, Severity};
use super::outcome::RecoveryEnd;
use crate::report::Outcome;

fn opt(v: Option<f64>, digits: usize, unit: &str) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.digits$}{unit}"))
}

fn hms(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// Table cells never break the table.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[expect(
    clippy::too_many_lines,
    reason = "the report's sections in their order"
)]
pub fn render(r: &CampaignReport) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "# Campaign {}\n", r.campaign);
    if r.scaled {
        let _ = writeln!(
            m,
            "> **Time-scaled ×{}**: every duration was multiplied by {}. This is a rehearsal; verdicts that need hours are not a result.\n",
            r.time_scale, r.time_scale
        );
    }
    let _ = writeln!(m, "## Executive summary\n");
    let s = &r.summary;
    let _ = writeln!(m, "**Production readiness: {}**\n", r.readiness);
    let _ = writeln!(m, "| | |\n|---|---|");
    let _ = writeln!(m, "| Overall | **{}** |", r.result);
    let _ = writeln!(m, "| Duration | {} |", hms(r.duration_s));
    let _ = writeln!(
        m,
        "| Scenarios completed | {} of {} |",
        s.scenarios_completed, s.scenarios_total
    );
    let _ = writeln!(
        m,
        "| Degradation under load | {} (median over tools: mean latency in the worst scenario against one idle call) |",
        opt(s.degradation_pct, 0, " %")
    );
    let _ = writeln!(
        m,
        "| Prediction accuracy | {} |",
        s.prediction_accuracy_pct.map_or_else(
            || "n/a (no throttle onset to foresee)".into(),
            |a| format!("{a:.0} % of throttle onsets foreseen ≥ 5 min ahead")
        )
    );
    let _ = writeln!(m, "| Leaks found | {} |", s.leaks_found);
    let _ = writeln!(
        m,
        "| Uptime | {} (the servers' lowest, over the scenarios) |",
        opt(s.uptime_pct, 2, " %")
    );
    let _ = writeln!(m, "| Calls answered | {} |", opt(s.success_pct, 2, " %"));
    let _ = writeln!(m, "| Critical issues | {} |", s.critical_issues);
    if !r.interruptions.is_empty() {
        let _ = writeln!(m, "| Interruptions | {} (resumed) |", r.interruptions.len());
    }
    let _ = writeln!(
        m,
        "\n| Scenario | Result | Duration | Resumed | Failed criteria |"
    );
    let _ = writeln!(m, "|---|---|---|---|---|");
    for sc in &r.scenarios {
        let failed: Vec<_> = sc
            .criteria
            .iter()
            .filter(|c| c.verdict == Outcome::Fail)
            .map(|c| c.name.as_str())
            .collect();
        let _ = writeln!(
            m,
            "| {} | **{}** | {} | {} | {} |",
            cell(&sc.name),
            sc.result,
            hms(sc.duration_s),
            if sc.resumed { "yes" } else { "no" },
            if failed.is_empty() {
                "-".into()
            } else {
                failed.join(", ")
            }
        );
    }
    let critical: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Critical)
        .collect();
    if !critical.is_empty() {
        let _ = writeln!(m, "\nCritical issues:\n");
        for f in critical {
            let _ = writeln!(
                m,
                "- {}: {}",
                f.scenario.as_deref().unwrap_or("campaign"),
                f.text
            );
        }
    }

    let _ = writeln!(m, "\n## Technical report\n");
    if let Some(b) = &r.baseline {
        let _ = writeln!(m, "### Baseline (idle, every tool once)\n");
        let _ = writeln!(m, "| Tool | Latency | OK |\n|---|---|---|");
        for t in &b.tools {
            let _ = writeln!(
                m,
                "| {} | {} | {} |",
                cell(&t.tool),
                opt(t.latency_ms, 1, " ms"),
                if t.ok { "yes" } else { "no" }
            );
        }
        if !b.zones.is_empty() {
            let zones: Vec<_> = b
                .zones
                .iter()
                .map(|z| format!("{} {:.1} °C", z.zone, z.mean_c))
                .collect();
            let _ = writeln!(m, "\nIdle temperatures: {}.", zones.join(", "));
        }
    }
    let _ = writeln!(m, "\n### Per tool, per scenario\n");
    if r.tools.is_empty() {
        let _ = writeln!(m, "No calls were made.");
    } else {
        let _ = writeln!(
            m,
            "| Scenario | Tool | Calls | Errors | Min | Avg | p95 | Max | Idle |\n|---|---|---|---|---|---|---|---|---|"
        );
        for t in &r.tools {
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
                cell(&t.scenario),
                cell(&t.tool),
                t.count,
                t.errors,
                t.min_ms,
                t.mean_ms,
                t.p95_ms,
                t.max_ms,
                opt(t.baseline_ms, 1, "")
            );
        }
        let _ = writeln!(m, "\nLatencies in ms.");
    }
    let _ = writeln!(m, "\n### Resource trends\n");
    for sc in r.scenarios.iter().filter(|s| !s.charts.is_empty()) {
        let _ = writeln!(m, "**{}**\n", sc.name);
        for c in sc.charts.iter().filter(|c| {
            std::path::Path::new(c)
                .extension()
                .is_some_and(|e| e == "svg")
        }) {
            let _ = writeln!(m, "![{c}]({c})");
        }
        let _ = writeln!(m);
    }
    let _ = writeln!(m, "### Prediction accuracy\n");
    if r.predictions.is_empty() {
        let _ = writeln!(
            m,
            "No throttle onset happened, so no forecast could be scored."
        );
    } else {
        let _ = writeln!(
            m,
            "| Scenario | Onsets | Foreseen | ≥ 5 min ahead | Mean lead | ETA error | Alert precision | Alert recall |\n|---|---|---|---|---|---|---|---|"
        );
        for p in &r.predictions {
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                cell(&p.scenario),
                p.onsets,
                p.foreseen,
                p.foreseen_5min,
                opt(p.mean_lead_s, 0, " s"),
                opt(p.eta_error_pct, 0, " %"),
                opt(p.alert_precision_pct, 0, " %"),
                opt(p.alert_recall_pct, 0, " %")
            );
        }
    }
    let _ = writeln!(m, "\n### Errors by kind\n");
    if r.errors.is_empty() {
        let _ = writeln!(m, "No errors.");
    } else {
        let _ = writeln!(m, "| Scenario | Kind | Count |\n|---|---|---|");
        for e in &r.errors {
            let _ = writeln!(m, "| {} | {} | {} |", cell(&e.scenario), e.kind, e.count);
        }
    }
    let _ = writeln!(m, "\n### Scalability (concurrent users)\n");
    if r.scalability.is_empty() {
        let _ = writeln!(m, "No users phase ran.");
    } else {
        let _ = writeln!(
            m,
            "| Scenario | Users | p95 | Achieved | Server RSS |\n|---|---|---|---|---|"
        );
        for u in &r.scalability {
            let _ = writeln!(
                m,
                "| {} | {} | {:.1} ms | {:.2} req/s | {} |",
                cell(&u.scenario),
                u.users,
                u.p95_ms,
                u.achieved_rps,
                opt(u.server_rss_mb, 1, " MB")
            );
        }
    }

    let _ = writeln!(m, "\n## Failure analysis\n");
    let _ = writeln!(m, "### Crashes\n");
    if r.crashes.is_empty() {
        let _ = writeln!(m, "The server never died.");
    }
    for c in &r.crashes {
        let d = &c.death;
        let _ =
            writeln!(
            m,
            "- **{}** at {:.1} s: {} session {} — {} (hottest zone {}, available memory {}, {})",
            c.scenario,
            d.at_s,
            d.target,
            d.session,
            d.reason,
            opt(d.hottest_c, 1, " °C"),
            opt(d.mem_available_mb, 0, " MB"),
            if d.throttled { "throttled" } else { "not throttled" }
        );
        if !d.stderr_tail.trim().is_empty() {
            let _ = writeln!(m, "\n  ```text");
            for l in d
                .stderr_tail
                .lines()
                .rev()
                .take(12)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                let _ = writeln!(m, "  {l}");
            }
            let _ = writeln!(m, "  ```");
        }
    }
    let _ = writeln!(m, "\n### Throttling events\n");
    if r.throttling.is_empty() {
        let _ = writeln!(m, "The board never throttled.");
    } else {
        let _ = writeln!(
            m,
            "| Scenario | At | Reasons | Predicted lead |\n|---|---|---|---|"
        );
        for t in &r.throttling {
            let _ = writeln!(
                m,
                "| {} | {:.0} s | {} | {} |",
                cell(&t.scenario),
                t.at_s,
                cell(&t.reasons.join(", ")),
                t.predicted_lead_s
                    .map_or_else(|| "not foreseen".into(), |l| format!("{l:.0} s"))
            );
        }
    }
    let _ = writeln!(m, "\n### Cooling effectiveness\n");
    if r.recoveries.is_empty() {
        let _ = writeln!(m, "No recovery ran.");
    } else {
        let _ = writeln!(
            m,
            "| After | Waited | Ended | Hottest zone cooling |\n|---|---|---|---|"
        );
        for x in &r.recoveries {
            let ended = match x.outcome.ended {
                RecoveryEnd::Cooled => "back within range of the baseline",
                RecoveryEnd::TimeUp => "time up (still warm)",
                RecoveryEnd::NoZones => "time up (no zone to read)",
            };
            let _ = writeln!(
                m,
                "| {} | {} | {ended} | {} |",
                cell(&x.after),
                hms(x.outcome.duration_s),
                opt(x.cooling_c_per_min, 2, " °C/min")
            );
        }
    }
    if !r.interruptions.is_empty() {
        let _ = writeln!(m, "\n### Interruptions\n");
        for i in &r.interruptions {
            let _ = writeln!(
                m,
                "- {}: {}{}; run again on resume",
                i.step,
                i.cause,
                i.kept_in
                    .as_ref()
                    .map(|k| format!(" (its files kept in {k})"))
                    .unwrap_or_default()
            );
        }
    }
    let _ = writeln!(m, "\n### Board state\n");
    for sc in &r.scenarios {
        if let (Some(a), Some(b)) = (&sc.board_start, &sc.board_end) {
            let _ = writeln!(m, "- {}: start {a}; end {b}", sc.name);
        }
    }
    let others: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Critical)
        .collect();
    if !others.is_empty() {
        let _ = writeln!(m, "\n### Other findings\n");
        for f in others {
            let _ = writeln!(
                m,
                "- {:?} · {}: {}",
                f.severity,
                f.scenario.as_deref().unwrap_or("campaign"),
                f.text
            );
        }
    }
    let _ = writeln!(m, "\n## Recommendations\n");
    for x in &r.recommendations {
        let _ = writeln!(m, "- {x}");
    }
    let _ = writeln!(m, "\n## Scenario reports\n");
    for sc in &r.scenarios {
        if let Some(p) = &sc.report {
            let md = p.replace("report.json", "report.md");
            let _ = writeln!(m, "- [{}]({md})", sc.name);
        }
    }
    m
}
