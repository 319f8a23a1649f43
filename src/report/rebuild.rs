//! A run's report rebuilt from its recording (`jetstress report RECORDING
//! --out DIR`). Snapshots go through the same [`Observer`] and [`Timeline`] the
//! live run fed, load windows into both, in the recording's line order (the
//! order the run saw them), and the `summary` line (the
//! run's last line) gives the phases, targets and acceptance limits. A
//! recording without that line (the run was killed, or the dashboard never ran
//! load) still yields a report: board observations and charts, plus a
//! `run_finished` verdict saying what is missing. With the summary, the
//! rebuilt report matches the one the run wrote. [`rebuild`] is pure (a parsed
//! [`Recording`] in); `commands/report.rs` is the command around it.

use super::charts::Timeline;
use super::criteria::{self, Criteria, Observer, Outcome, Planned, Verdict};
use super::{Report, RunRecord};
use crate::load::engine::{LoadWindow, RunSummary, RUN_SCHEMA};
use crate::predict::Predictors;
use crate::recording::reader::Recording;

/// A rebuilt report with the timeline its charts are drawn from.
#[derive(Debug, Clone)]
pub struct Rebuilt {
    pub report: Report,
    pub timeline: Timeline,
}

/// The verdict added when the recording has no run summary: not applicable
/// when no load ran, FAIL when load ran but the run never finished.
fn run_finished(windows: usize) -> Verdict {
    let (verdict, measured, detail) = match windows {
        0 => (
            Outcome::NotApplicable,
            "no summary line",
            "no load ran while this was recorded (monitoring only)".to_string(),
        ),
        n => (
            Outcome::Fail,
            "no summary line",
            format!(
                "load ran ({n} load windows recorded) but the recording ends without the run \
                 summary: the run was killed or crashed; its load figures are in the charts only"
            ),
        ),
    };
    Verdict {
        name: "run_finished".into(),
        verdict,
        measured: Some(measured.into()),
        threshold: "the run's summary recorded".into(),
        detail,
    }
}

/// A recording a report cannot be rebuilt from; the message names the file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RebuildError(String);

/// Rebuilds the report. A summary or load window line that does not parse is
/// an error naming its file and line.
pub fn rebuild(rec: &Recording) -> Result<Rebuilt, RebuildError> {
    if let Some((n, kind, e)) = rec.invalid.first() {
        let what = if *kind == "summary" {
            "run summary"
        } else {
            "load window"
        };
        return Err(RebuildError(format!("{}: {what}: {e}", rec.locate(*n))));
    }
    let summary: Option<RunRecord> = rec.summary.as_ref().map(|(_, s)| s.clone());
    let windows: Vec<(u64, LoadWindow)> = rec
        .windows
        .iter()
        .map(|w| (w.time_unix_ms, w.window.clone()))
        .collect();
    // Times count from the engine's start, as in the live run: the summary
    // says when; without it, the first window's write time less its age.
    let engine_start = summary.as_ref().map(|s| s.run.started_unix_ms).or_else(|| {
        windows
            .first()
            .filter(|(at, _)| *at > 0)
            .map(|(at, w)| at.saturating_sub((w.elapsed_s * 1000.0) as u64))
    });
    let first_snapshot = rec.snapshots.first().map(|s| s.time_unix_ms);
    let origin = engine_start
        .or(first_snapshot)
        .or(rec.header.as_ref().map(|h| h.start_unix_ms));
    let mut timeline = origin.map(Timeline::with_origin).unwrap_or_default();
    let mut observer = Observer::default();
    let mut predictors = Predictors::default();
    // Each window after the snapshots that came before it in the file.
    let mut next_window = rec.windows.iter().peekable();
    let mut feed_windows = |observer: &mut Observer, timeline: &mut Timeline, seen: usize| {
        while let Some(w) = next_window.next_if(|w| w.after_snapshots <= seen) {
            observer.observe_window(&w.window);
            timeline.observe_window(&w.window);
        }
    };
    for (i, s) in rec.snapshots.iter().enumerate() {
        feed_windows(&mut observer, &mut timeline, i);
        let t = (s.time_unix_ms as f64 - first_snapshot.unwrap_or(0) as f64) / 1000.0;
        predictors.observe(s);
        observer.observe(t, s, &predictors.by_id(), Planned::Unknown);
        timeline.observe_snapshot(s);
    }
    feed_windows(&mut observer, &mut timeline, usize::MAX);

    let header_scenario = rec
        .header
        .as_ref()
        .and_then(|h| h.config.get("scenario"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
    let (scenario, acceptance, interrupted, run) = if let Some(s) = &summary {
        (
            s.scenario.clone(),
            s.acceptance.clone(),
            s.interrupted,
            s.run.clone(),
        )
    } else {
        let (first, last) = (first_snapshot.unwrap_or(0), rec.snapshots.last());
        let run = RunSummary {
            schema: RUN_SCHEMA.into(),
            started_unix_ms: origin.unwrap_or(0),
            elapsed_s: last.map_or(0.0, |l| {
                (l.time_unix_ms.saturating_sub(first)) as f64 / 1000.0
            }),
            in_flight: 0,
            phases: vec![],
            targets: vec![],
            generators: vec![],
            guard_events: vec![],
            console: Default::default(),
        };
        (
            header_scenario.unwrap_or_else(|| "recording".into()),
            None,
            false,
            run,
        )
    };
    let observations = observer.observations().clone();
    let mut verdicts = criteria::evaluate(
        &run,
        &observations,
        &Criteria::from_acceptance(acceptance.as_ref()),
    );
    if summary.is_none() {
        verdicts.push(run_finished(windows.len()));
    }
    let report = Report::new(
        &scenario,
        run,
        verdicts,
        acceptance,
        observations,
        rec.snapshots.last(),
        interrupted,
    );
    Ok(Rebuilt { report, timeline })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::reader::parse_recording;
    use crate::snapshot::Snapshot;

    fn header() -> String {
        r#"{"schema":"jetstress.recording/1","kind":"header","version":"0","host":null,"board":null,"start_unix_ms":1000,"config":{"scenario":"soak-a"}}"#.to_string()
    }

    fn snapshot_line(t_ms: u64, temp: f64) -> String {
        let mut s = Snapshot::empty();
        s.time_unix_ms = t_ms;
        s.memory.used_mb = Some(100.0);
        s.thermal.push(crate::snapshot::ThermalZone {
            id: "thermal_zone0".into(),
            name: "cpu-thermal".into(),
            source: "zone".into(),
            temp_c: Some(temp),
            online: true,
            ..Default::default()
        });
        serde_json::json!({"kind": "snapshot", "snapshot": s}).to_string()
    }

    #[test]
    fn a_recording_without_load_is_monitoring_only() {
        let text = [
            header(),
            snapshot_line(2000, 40.0),
            snapshot_line(3000, 41.0),
        ]
        .join("\n")
            + "\n";
        let rec = parse_recording("t.jsonl", &text).unwrap();
        let r = rebuild(&rec).unwrap();
        assert_eq!(r.report.scenario, "soak-a");
        assert_eq!(r.report.observations.snapshots, 2);
        assert_eq!(r.report.observations.max_temp_c, Some(41.0));
        assert_eq!(r.report.run.elapsed_s, 1.0);
        let fin = r
            .report
            .criteria
            .iter()
            .find(|v| v.name == "run_finished")
            .unwrap();
        assert_eq!(fin.verdict, Outcome::NotApplicable);
        assert!(r.report.passed());
        assert_eq!(
            r.timeline.temps["cpu-thermal"],
            vec![(0.0, 40.0), (1.0, 41.0)]
        );
    }

    #[test]
    fn bad_summary_lines_name_their_line() {
        let text = [
            header(),
            snapshot_line(2000, 40.0),
            r#"{"kind":"summary","time_unix_ms":3000,"summary":{"scenario":"x"}}"#.to_string(),
        ]
        .join("\n")
            + "\n";
        let rec = parse_recording("t.jsonl", &text).unwrap();
        let e = rebuild(&rec).unwrap_err().to_string();
        assert!(e.starts_with("t.jsonl:3: run summary:"), "{e}");
        let text = [
            header(),
            r#"{"kind":"load_window","time_unix_ms":3000,"window":{"elapsed_s":"soon"}}"#
                .to_string(),
        ]
        .join("\n")
            + "\n";
        let rec = parse_recording("t.jsonl", &text).unwrap();
        let e = rebuild(&rec).unwrap_err().to_string();
        assert!(e.starts_with("t.jsonl:2: load window:"), "{e}");
    }
}
