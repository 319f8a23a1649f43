//! [`Sinks`]: the one place a stream of snapshots and engine events is fanned
//! out to its readers — the recording, `/metrics`, the report observer
//! (snapshots with their predictions, and load windows) —
//! and where the lines an operator reads are made: throttling start and end,
//! new probe failures, and every engine event's [`EngineEvent::log_line`].
//! The dashboard (live or replay) and `jetstress run` feed the same methods,
//! so their recordings describe the same run in the same words.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::export::metrics::Metrics;
use crate::load::engine::{EngineEvent, Level};
use crate::recording::writer::{
    prediction_record, Header, PredictionGate, Record, Recorder, RecorderConfig, RecorderStats,
    RunRecord,
};
use crate::report::charts::Timeline;
use crate::report::criteria::{Observations, Observer, Planned};
use crate::session::Forecasts;
use crate::snapshot::Snapshot;

/// A line for the operator: its level and text.
pub type LogLine = (Level, String);

/// What a run's report is built from, gathered while it runs.
#[derive(Default)]
pub struct RunObservation {
    pub observer: Observer,
    pub timeline: Timeline,
    /// The last snapshot (the report's board section).
    pub last: Option<Arc<Snapshot>>,
}

impl RunObservation {
    pub fn observations(&self) -> &Observations {
        self.observer.observations()
    }
}

#[derive(Default)]
pub struct Sinks {
    recorder: Option<Recorder>,
    metrics: Option<Arc<Metrics>>,
    gate: PredictionGate,
    report: Option<RunObservation>,
    last: Option<Arc<Snapshot>>,
}

impl Sinks {
    pub fn new(metrics: Option<Arc<Metrics>>) -> Sinks {
        Sinks {
            metrics,
            ..Sinks::default()
        }
    }

    /// Gather what a report needs from now on; chart times count from
    /// `origin_unix_ms` (the engine's start).
    pub fn observe_for_report(&mut self, origin_unix_ms: Option<u64>) {
        self.report = Some(RunObservation {
            timeline: origin_unix_ms
                .map(Timeline::with_origin)
                .unwrap_or_default(),
            ..RunObservation::default()
        });
    }

    /// What was gathered for the report (see [`Sinks::observe_for_report`]),
    /// with the last snapshot seen.
    pub fn take_report(&mut self) -> Option<RunObservation> {
        let mut o = self.report.take()?;
        o.last.clone_from(&self.last);
        Some(o)
    }

    /// Start recording (the header names `board` and the run's `config`);
    /// returns the file actually written.
    pub fn start_recording(
        &mut self,
        cfg: RecorderConfig,
        board: Option<String>,
        config: serde_json::Value,
    ) -> std::io::Result<PathBuf> {
        let r = Recorder::start(cfg, Header::new(board, config))?;
        let path = r.path().to_path_buf();
        self.recorder = Some(r);
        Ok(path)
    }

    pub fn recording(&self) -> Option<&Path> {
        self.recorder.as_ref().map(Recorder::path)
    }

    /// End the recording, with the run's summary as its last line when load
    /// ran (so `jetstress report` can rebuild the report). `None` when none
    /// was running.
    pub fn finish_recording(
        &mut self,
        run: Option<RunRecord>,
    ) -> Option<(PathBuf, std::io::Result<RecorderStats>)> {
        let r = self.recorder.take()?;
        if let Some(run) = run {
            r.record(Record::Summary(Box::new(run)));
        }
        let path = r.path().to_path_buf();
        Some((path, r.finish()))
    }

    /// An event line of the front end's own (theme change, recording
    /// notices): into the recording.
    pub fn record_event(&self, level: Level, text: &str) {
        if let Some(r) = &self.recorder {
            r.record(Record::Event {
                level,
                text: text.into(),
            });
        }
    }

    /// A new snapshot, with the front end's [`Forecasts`] made after it: the
    /// named zones' predictions and one zone's [`super::BothEtas`] (its planned ETA
    /// goes into the recording's prediction line; the report and `/metrics`
    /// read the zones' predictions alone, as a rebuild from the recording
    /// does). `t_run_s` is seconds since the run began (the report's clock).
    /// Returns the lines it produced (throttling start or end, new probe
    /// failures), already recorded: the front end shows them and logs
    /// neither itself.
    pub fn on_snapshot(
        &mut self,
        t_run_s: f64,
        s: &Arc<Snapshot>,
        forecasts: &Forecasts,
    ) -> Vec<LogLine> {
        let (preds, etas) = (forecasts.named(), forecasts.etas());
        let mut lines = Vec::new();
        let was = self.last.as_ref().map(|l| l.throttle.throttled);
        match (was, s.throttle.throttled) {
            (Some(false) | None, true) => lines.push((
                Level::Alert,
                format!("throttling: {}", s.throttle.reasons.join(", ")),
            )),
            (Some(true), false) => lines.push((Level::Info, "throttling ended".to_string())),
            _ => {}
        }
        for e in &s.probe_errors {
            let seen = self
                .last
                .as_ref()
                .is_some_and(|l| l.probe_errors.iter().any(|x| x.probe == e.probe));
            if !seen {
                lines.push((
                    Level::Warn,
                    format!("probe {} failed: {}", e.probe, e.message),
                ));
            }
        }
        let planned = etas.and_then(|e| e.planned.as_ref()).map(|p| &p.prediction);
        if let Some(r) = &self.recorder {
            r.record(Record::Snapshot(s.clone()));
            if let Some(p) = prediction_record(&mut self.gate, preds, planned) {
                r.record(p);
            }
        }
        if let Some(m) = &self.metrics {
            m.update(s);
            m.update_predictions(preds);
            m.update_planned(planned);
        }
        if let Some(o) = &mut self.report {
            let planned = planned.map_or(Planned::Idle, Planned::Zone);
            o.observer.observe(t_run_s, s, preds, planned);
            o.timeline.observe_snapshot(s);
        }
        for (level, text) in &lines {
            self.record_event(*level, text);
        }
        self.last = Some(s.clone());
        lines
    }

    /// An engine event: load windows into the recording, `/metrics` and the
    /// report's charts; every other event as its one line, recorded and returned.
    pub fn on_engine_event(&mut self, ev: &EngineEvent) -> Option<LogLine> {
        if let EngineEvent::LoadWindow(w) = ev {
            if let Some(o) = &mut self.report {
                o.observer.observe_window(w);
                o.timeline.observe_window(w);
            }
            if let Some(m) = &self.metrics {
                w.tools.iter().for_each(|t| m.add_window(t));
                m.set_phase(w.phase.as_deref(), w.phase.as_ref().map(|_| w.target_rate));
                m.set_users(w.users.map(|u| (u.active, u.target)));
                if let Some(c) = &w.invalid {
                    m.add_invalid(c);
                }
            }
            if let Some(r) = &self.recorder {
                r.record(Record::LoadWindow(w.clone()));
            }
        }
        let line = ev.log_line()?;
        self.record_event(line.0, &line.1);
        Some(line)
    }
}
