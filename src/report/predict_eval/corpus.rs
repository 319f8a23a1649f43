//! `predict-eval --corpus DIR`: scores every trace of a [`manifest`] with one
//! protocol and pools them.
//!
//! Protocol (issue 15): a prediction made at sample time t scores when the
//! true remaining time r (truth time less t) is 30–300 s and t is at least
//! 20 s past the heat-up start. Its error is |ETA − r| / r, capped at 100 %;
//! no ETA counts as 100 %. Per trace: median and mean. Pooled: every trace
//! weighs the same (each prediction 1/n of its trace), and, for reference,
//! every prediction the same. Beside jetstress, the plain 120-s
//! least-squares line: ETA = (threshold − fitted T now) / slope when the
//! slope is positive.
//!
//! Anything chosen on the corpus is chosen leave-one-trace-out: every
//! setting of [`tuning_grid`] is scored on every trace, and each trace is
//! reported under the setting that did best (lowest mean error, traces
//! weighed the same) on the *other* traces.
//!
//! [`manifest`]: super::manifest

use super::manifest::{read_manifest, Entry, ManifestError, Truth};
use crate::predict::regression::{Point, Window};
use crate::predict::{PredictConfig, ThermalPredictor, ZonePrediction};
use crate::recording::traces::{onset, read_trace, InputColumn, Trace, TraceError};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

/// Predictions count from this long before the truth…
pub const MAX_LEAD_S: f64 = 300.0;
/// …up to this long before it.
pub const MIN_LEAD_S: f64 = 30.0;
/// Predictions count only this long after the heat-up start.
pub const AFTER_HEAT_START_S: f64 = 20.0;
/// Errors are capped here (a miss scores this too).
pub const ERROR_CAP_PCT: f64 = 100.0;
/// The plain line's window, seconds.
pub const LINE_WINDOW_S: f64 = 120.0;
/// Where between the first reading and the peak a derived threshold sits.
pub const DERIVED_FRACTION: f64 = 0.9;

/// How `predict-eval --corpus` runs.
#[derive(Debug, Clone)]
pub struct CorpusConfig {
    /// Folder with `manifest.json`.
    pub dir: PathBuf,
    /// Feed this column as the board's load (`--load-column`), for entries
    /// whose manifest names none.
    pub load_column: Option<InputColumn>,
    /// jetstress's ETA is the one under the trace's own future load.
    pub planned_load: bool,
    /// Leave-one-trace-out over [`tuning_grid`]; off = the defaults only.
    pub cross_validate: bool,
    /// Print JSON instead of the table.
    pub json: bool,
}

impl CorpusConfig {
    pub fn for_dir(dir: impl Into<PathBuf>) -> CorpusConfig {
        CorpusConfig {
            dir: dir.into(),
            load_column: None,
            planned_load: false,
            cross_validate: true,
            json: false,
        }
    }
}

/// Why a corpus cannot be scored.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Trace(#[from] TraceError),
    #[error("{file}: {what}")]
    Target {
        file: String,
        #[source]
        what: TargetError,
    },
    #[error("--load-column {0}: a label, not a load (use load_pct, gpu_load_pct or power_w)")]
    NotALoad(&'static str),
    #[error("--planned-load needs --load-column")]
    PlanWithoutLoad,
}

/// The models scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Forecaster {
    /// What jetstress shows: the chosen model, or with `--planned-load` the
    /// load-aware model under the planned load.
    Jetstress,
    /// The plain 120-s least-squares line.
    Line,
    /// The predictor's line, Newton and load-aware (current load) models.
    Linear,
    Newton,
    Load,
    /// The load-aware model under the trace's future load.
    Planned,
    /// Not a model: the trace's own next reading at or over the threshold,
    /// what a perfect temperature forecast would say. Where the truth is a
    /// throttle onset later than that crossing, this is the floor any
    /// temperature model scores.
    Oracle,
}

const SCORED: [Forecaster; 7] = [
    Forecaster::Jetstress,
    Forecaster::Line,
    Forecaster::Linear,
    Forecaster::Newton,
    Forecaster::Load,
    Forecaster::Planned,
    Forecaster::Oracle,
];

/// How a trace's truth was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TruthSource {
    /// The manifest's threshold.
    Threshold,
    /// The manifest's real onset.
    Onset,
    /// The trace's `throttled` flag or clock drop.
    TraceOnset,
    /// 90 % of the way from the first reading to the peak.
    Derived,
}

/// What a trace is scored against.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    pub threshold_c: f64,
    pub t_true_s: f64,
    pub t_heat_start_s: f64,
    pub source: TruthSource,
    /// Where the trace's own onset disagrees with the manifest's.
    pub note: Option<String>,
}

/// One model's figures on a set of predictions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Score {
    pub n: usize,
    pub median_pct: f64,
    pub mean_pct: f64,
    /// Share of the predictions with a range that contains the truth.
    pub coverage: Option<f64>,
}

/// One trace's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceResult {
    pub file: String,
    pub zone: String,
    pub target: Target,
    /// The setting it was scored under (chosen on the other traces).
    pub setting: String,
    pub scores: Vec<(Forecaster, Score)>,
}

/// The whole corpus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorpusReport {
    pub dir: String,
    pub load_column: Option<InputColumn>,
    pub planned_load: bool,
    pub cross_validated: bool,
    pub settings: Vec<String>,
    pub traces: Vec<TraceResult>,
    /// Every trace weighs the same.
    pub pooled: Vec<(Forecaster, Score)>,
    /// Every prediction weighs the same.
    pub pooled_by_prediction: Vec<(Forecaster, Score)>,
}

impl CorpusReport {
    /// A model's pooled score (traces weighed the same).
    pub fn pooled(&self, m: Forecaster) -> Option<Score> {
        self.pooled.iter().find(|(k, _)| *k == m).map(|p| p.1)
    }
}

impl TraceResult {
    pub fn score(&self, m: Forecaster) -> Option<Score> {
        self.scores.iter().find(|(k, _)| *k == m).map(|p| p.1)
    }
}

/// One named predictor setting.
#[derive(Debug, Clone)]
pub struct Setting {
    pub name: String,
    pub config: PredictConfig,
}

/// The settings leave-one-trace-out chooses from: the load model's prior
/// time constant and full-load rise (the priors weigh only until the data
/// see the load move).
pub fn tuning_grid() -> Vec<Setting> {
    let mut v = Vec::new();
    for tau in [120.0, 600.0] {
        for gain in [40.0, 80.0] {
            for jump in [5.0, 20.0] {
                for sd in [0.5, 1.0] {
                    v.push(Setting {
                        name: format!("tau {tau:.0} s, gain {gain:.0}, jump {jump:.0} °C, sd {sd}"),
                        config: PredictConfig {
                            load_tau_prior_s: tau,
                            load_gain_prior_c: gain,
                            load_jump_prior_c: jump,
                            load_prior_sd: sd,
                            ..PredictConfig::default()
                        },
                    });
                }
            }
        }
    }
    v
}

/// The defaults as the only setting (`cross_validate` off).
fn default_setting() -> Setting {
    let c = PredictConfig::default();
    Setting {
        name: format!(
            "defaults (tau {:.0} s, gain {:.0} °C)",
            c.load_tau_prior_s, c.load_gain_prior_c
        ),
        config: c,
    }
}

/// Why an entry's truth cannot be found in its trace.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("zone {zone:?}: no reading")]
    NoReading { zone: String },
    #[error("zone {zone:?} never reaches threshold_c {threshold_c}")]
    NeverReachesThreshold { zone: String, threshold_c: f64 },
    #[error("zone {zone:?} does not heat up")]
    NoHeatUp { zone: String },
    #[error("zone {zone:?} never reaches {threshold_c:.2} °C")]
    NeverReaches { zone: String, threshold_c: f64 },
    #[error("load_column: a label, not a load")]
    LabelAsLoad,
}

/// Finds the threshold, the true time and the heat-up start of an entry.
pub fn target(trace: &Trace, e: &Entry) -> Result<Target, TargetError> {
    let zone = || e.zone.clone();
    let series: Vec<(f64, f64)> = trace
        .samples
        .iter()
        .filter_map(|s| s.temp(&e.zone).map(|t| (s.t_s, t)))
        .collect();
    let Some(&(_, start)) = series.first() else {
        return Err(TargetError::NoReading { zone: zone() });
    };
    let first_cross = |th: f64| series.iter().find(|p| p.1 >= th).map(|p| p.0);
    let own = onset(&trace.samples);
    let temp_at = |t: f64| {
        series
            .iter()
            .rev()
            .find(|p| p.0 <= t)
            .map_or(start, |p| p.1)
    };
    let (threshold_c, t_true_s, source, note) = match e.truth {
        Truth::Threshold {
            threshold_c,
            t_cross_s,
        } => {
            let t = t_cross_s
                .or_else(|| first_cross(threshold_c))
                .ok_or_else(|| TargetError::NeverReachesThreshold {
                    zone: zone(),
                    threshold_c,
                })?;
            (threshold_c, t, TruthSource::Threshold, None)
        }
        Truth::Onset {
            t_throttle_s,
            trip_c,
        } => {
            let note = own.filter(|o| (o.t_s - t_throttle_s).abs() > 1e-6).map(|o| {
                format!(
                    "the trace's own onset ({:?}) is at {:.0} s, the manifest's at {t_throttle_s:.0} s",
                    o.source, o.t_s
                )
            });
            (trip_c, t_throttle_s, TruthSource::Onset, note)
        }
        Truth::HeatUp => {
            if let Some(o) = own {
                (temp_at(o.t_s), o.t_s, TruthSource::TraceOnset, None)
            } else {
                let peak = series.iter().map(|p| p.1).fold(f64::MIN, f64::max);
                let th = start + DERIVED_FRACTION * (peak - start);
                if peak <= start {
                    return Err(TargetError::NoHeatUp { zone: zone() });
                }
                let t = first_cross(th).unwrap_or(f64::NAN);
                (th, t, TruthSource::Derived, None)
            }
        }
    };
    Ok(Target {
        threshold_c,
        t_true_s,
        t_heat_start_s: e.t_heat_start_s,
        source,
        note,
    })
}

/// One scored prediction per model: error % (capped) and whether a range
/// contained the truth (`None` without a range).
type Row = [(f64, Option<bool>); 7];

fn err_of(eta: Option<f64>, r: f64) -> f64 {
    eta.map_or(ERROR_CAP_PCT, |e| {
        ((e - r).abs() / r * 100.0).min(ERROR_CAP_PCT)
    })
}

fn scored(p: Option<&ZonePrediction>, r: f64) -> (f64, Option<bool>) {
    let eta = p.and_then(|p| p.eta_s);
    let covered = p.filter(|p| p.eta_s.is_some()).map(|p| {
        let lo = p.lo_s.unwrap_or(0.0);
        let hi = p.hi_s.unwrap_or(f64::INFINITY);
        lo <= r && r <= hi
    });
    (err_of(eta, r), covered)
}

/// The load column scaled to about 0–1: % / 100, and power in W / 100 (so
/// the load model's gain reads as °C per 100 W, a thermal resistance).
pub(crate) struct LoadSeries {
    t: Vec<f64>,
    u: Vec<f64>,
}

impl LoadSeries {
    pub(crate) fn new(trace: &Trace, col: InputColumn) -> LoadSeries {
        let mut t = Vec::new();
        let mut u = Vec::new();
        for s in &trace.samples {
            if let Some(v) = s.input(col) {
                t.push(s.t_s);
                u.push(v / 100.0);
            }
        }
        LoadSeries { t, u }
    }

    /// The load held at trace time `t` (the latest value at or before it).
    pub(crate) fn at(&self, t: f64) -> Option<f64> {
        let i = self.t.partition_point(|&x| x <= t);
        (i > 0).then(|| self.u[i - 1])
    }
}

/// Replays one trace under one setting: one [`Row`] per scored prediction.
fn replay(
    trace: &Trace,
    load_col: Option<InputColumn>,
    zone: &str,
    tg: &Target,
    cfg: &CorpusConfig,
    setting: &PredictConfig,
) -> Vec<Row> {
    let mut pc = setting.clone();
    pc.trip_overrides.insert(zone.to_string(), tg.threshold_c);
    let mut p = ThermalPredictor::new(pc);
    let mut line = Window::new(LINE_WINDOW_S, 4096);
    let load = load_col.map(|c| LoadSeries::new(trace, c));
    // The next reading at or over the threshold from each sample on.
    let mut next_cross = vec![None; trace.samples.len()];
    let mut next = None;
    for (i, s) in trace.samples.iter().enumerate().rev() {
        if s.temp(zone).is_some_and(|v| v >= tg.threshold_c) {
            next = Some(s.t_s);
        }
        next_cross[i] = next;
    }
    let mut rows = Vec::new();
    for (i, s) in trace.samples.iter().enumerate() {
        if let Some(l) = &load {
            p.observe_load(l.at(s.t_s));
        }
        let temp = s.temp(zone);
        p.observe(s.t_s, zone, temp, None);
        if let Some(v) = temp {
            if line.last().is_none_or(|q| s.t_s > q.t) {
                line.push(Point {
                    t: s.t_s,
                    i: 0.0,
                    y: v,
                });
            }
        }
        let r = tg.t_true_s - s.t_s;
        if !(MIN_LEAD_S..=MAX_LEAD_S).contains(&r) || s.t_s < tg.t_heat_start_s + AFTER_HEAT_START_S
        {
            continue;
        }
        let line_eta = line.linear().and_then(|f| {
            (f.slope > 0.0).then(|| ((tg.threshold_c - f.at(s.t_s)) / f.slope).max(0.0))
        });
        let set = p.predict_models(zone, s.t_s);
        let now = s.t_s;
        let load_now = p.predict_load(zone, now, None);
        let planned = load.as_ref().and_then(|l| {
            let plan = |d: f64| l.at(now + d).unwrap_or(0.0);
            p.predict_load(zone, now, Some(&plan))
        });
        let chosen = if cfg.planned_load {
            planned.as_ref()
        } else {
            set.as_ref().map(|m| &m.chosen)
        };
        rows.push([
            scored(chosen, r),
            (err_of(line_eta, r), None),
            scored(set.as_ref().map(|m| &m.linear), r),
            scored(set.as_ref().map(|m| &m.newton), r),
            scored(load_now.as_ref(), r),
            scored(planned.as_ref(), r),
            (err_of(next_cross[i].map(|c| c - now), r), None),
        ]);
    }
    rows
}

/// Weighted median and mean of `(value, weight)`.
fn weighted(v: &mut [(f64, f64)]) -> (f64, f64) {
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = v.iter().map(|p| p.1).sum();
    if total <= 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = v.iter().map(|p| p.0 * p.1).sum::<f64>() / total;
    let mut acc = 0.0;
    let mut median = f64::NAN;
    for (i, &(x, w)) in v.iter().enumerate() {
        acc += w;
        if acc >= 0.5 * total - 1e-12 {
            // Exactly half: the midpoint with the next value (the usual median).
            median = if (acc - 0.5 * total).abs() < 1e-12 && i + 1 < v.len() {
                f64::midpoint(x, v[i + 1].0)
            } else {
                x
            };
            break;
        }
    }
    (median, mean)
}

/// Scores of `(rows, weight per row)` sets pooled.
fn score_of(sets: &[(&[Row], f64)], m: usize) -> Score {
    let mut v: Vec<(f64, f64)> = Vec::new();
    let (mut cov_n, mut cov_in) = (0.0, 0.0);
    for &(rows, w) in sets {
        for r in rows {
            v.push((r[m].0, w));
            if let Some(c) = r[m].1 {
                cov_n += w;
                if c {
                    cov_in += w;
                }
            }
        }
    }
    let n = v.len();
    let (median_pct, mean_pct) = weighted(&mut v);
    Score {
        n,
        median_pct,
        mean_pct,
        coverage: (cov_n > 0.0).then(|| cov_in / cov_n),
    }
}

fn mean_err(rows: &[Row]) -> f64 {
    if rows.is_empty() {
        return 0.0;
    }
    rows.iter().map(|r| r[0].0).sum::<f64>() / rows.len() as f64
}

/// Scores a corpus: every entry read and replayed under every setting.
#[expect(
    clippy::too_many_lines,
    reason = "checks, replays, the leave-one-out choice and pooling, in order"
)]
pub fn evaluate_corpus(cfg: &CorpusConfig) -> Result<CorpusReport, CorpusError> {
    if let Some(c @ (InputColumn::ClockMhz | InputColumn::Throttled)) = cfg.load_column {
        return Err(CorpusError::NotALoad(c.as_str()));
    }
    let entries = read_manifest(&cfg.dir)?;
    if let Some(e) = entries.iter().find(|e| {
        matches!(
            e.load_column,
            Some(InputColumn::ClockMhz | InputColumn::Throttled)
        )
    }) {
        return Err(CorpusError::Target {
            file: e.file.clone(),
            what: TargetError::LabelAsLoad,
        });
    }
    if cfg.planned_load && cfg.load_column.is_none() {
        return Err(CorpusError::PlanWithoutLoad);
    }
    let settings = if cfg.cross_validate {
        tuning_grid()
    } else {
        vec![default_setting()]
    };
    let mut cases = Vec::new();
    for e in &entries {
        let trace = read_trace(&e.path)?;
        let tg = target(&trace, e).map_err(|what| CorpusError::Target {
            file: e.file.clone(),
            what,
        })?;
        if !tg.t_true_s.is_finite() {
            return Err(CorpusError::Target {
                file: e.file.clone(),
                what: TargetError::NeverReaches {
                    zone: e.zone.clone(),
                    threshold_c: tg.threshold_c,
                },
            });
        }
        // rows[setting]
        let rows: Vec<Vec<Row>> = settings
            .iter()
            .map(|s| {
                replay(
                    &trace,
                    e.load_column.or(cfg.load_column),
                    &e.zone,
                    &tg,
                    cfg,
                    &s.config,
                )
            })
            .collect();
        cases.push((e, tg, rows));
    }
    // Leave one trace out: the setting with the lowest mean error on the others.
    let k = cases.len();
    let chosen: Vec<usize> = (0..k)
        .map(|i| {
            (0..settings.len())
                .min_by(|&a, &b| {
                    let score = |s: usize| {
                        (0..k)
                            .filter(|&j| j != i || k == 1)
                            .map(|j| mean_err(&cases[j].2[s]))
                            .sum::<f64>()
                    };
                    score(a).total_cmp(&score(b))
                })
                .unwrap_or(0)
        })
        .collect();
    let mut traces = Vec::new();
    for (i, (e, tg, rows)) in cases.iter().enumerate() {
        let r = &rows[chosen[i]];
        traces.push(TraceResult {
            file: e.file.clone(),
            zone: e.zone.clone(),
            target: tg.clone(),
            setting: settings[chosen[i]].name.clone(),
            scores: SCORED
                .iter()
                .enumerate()
                .map(|(m, &s)| (s, score_of(&[(r, 1.0)], m)))
                .collect(),
        });
    }
    let held_out: Vec<&[Row]> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| c.2[chosen[i]].as_slice())
        .collect();
    let equal: Vec<(&[Row], f64)> = held_out
        .iter()
        .map(|r| (*r, 1.0 / r.len().max(1) as f64))
        .collect();
    let each: Vec<(&[Row], f64)> = held_out.iter().map(|r| (*r, 1.0)).collect();
    let pool = |sets: &[(&[Row], f64)]| -> Vec<(Forecaster, Score)> {
        SCORED
            .iter()
            .enumerate()
            .map(|(m, &s)| (s, score_of(sets, m)))
            .collect()
    };
    Ok(CorpusReport {
        dir: cfg.dir.display().to_string(),
        load_column: cfg.load_column,
        planned_load: cfg.planned_load,
        cross_validated: cfg.cross_validate,
        settings: settings.into_iter().map(|s| s.name).collect(),
        pooled: pool(&equal),
        pooled_by_prediction: pool(&each),
        traces,
    })
}

fn cell(s: Option<Score>) -> String {
    match s {
        Some(s) if s.n > 0 => format!("{:.0}/{:.0} %", s.median_pct, s.mean_pct),
        _ => "—".to_string(),
    }
}

fn cover(s: Option<Score>) -> String {
    s.and_then(|s| s.coverage)
        .map_or_else(|| "—".to_string(), |c| format!("{:.0} %", c * 100.0))
}

/// The human table: per trace and pooled, jetstress beside the line.
pub fn write_corpus_table(out: &mut dyn Write, r: &CorpusReport) -> std::io::Result<()> {
    writeln!(
        out,
        "corpus {}: {} traces; load {}; jetstress = {}; {}",
        r.dir,
        r.traces.len(),
        r.load_column.map_or("none", InputColumn::as_str),
        if r.planned_load {
            "load model under the planned load"
        } else {
            "chosen model"
        },
        if r.cross_validated {
            format!("leave-one-trace-out over {} settings", r.settings.len())
        } else {
            "defaults, not cross-validated".to_string()
        }
    )?;
    writeln!(
        out,
        "error |ETA − r| / r capped at 100 % (no ETA = 100 %), r in 30–300 s, from heat-up start + 20 s; median / mean"
    )?;
    writeln!(
        out,
        "{:<44} {:>4} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6}  setting",
        "trace (zone, truth)",
        "n",
        "jetstress",
        "line",
        "linear",
        "newton",
        "load",
        "planned",
        "oracle",
        "cover"
    )?;
    let row = |out: &mut dyn Write,
               name: &str,
               get: &dyn Fn(Forecaster) -> Option<Score>,
               setting: &str| {
        writeln!(
            out,
            "{:<44} {:>4} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6}  {setting}",
            name,
            get(Forecaster::Jetstress).map_or(0, |s| s.n),
            cell(get(Forecaster::Jetstress)),
            cell(get(Forecaster::Line)),
            cell(get(Forecaster::Linear)),
            cell(get(Forecaster::Newton)),
            cell(get(Forecaster::Load)),
            cell(get(Forecaster::Planned)),
            cell(get(Forecaster::Oracle)),
            cover(get(Forecaster::Jetstress)),
        )
    };
    for t in &r.traces {
        let short: String = t
            .file
            .rsplit('/')
            .next()
            .unwrap_or(&t.file)
            .chars()
            .take(30)
            .collect();
        let name = format!(
            "{short} ({}, {:?} {:.1} °C)",
            t.zone, t.target.source, t.target.threshold_c
        );
        row(out, &name, &|m| t.score(m), &t.setting)?;
        if let Some(n) = &t.target.note {
            writeln!(out, "  note: {n}")?;
        }
    }
    row(
        out,
        "pooled (every trace weighs the same)",
        &|m| r.pooled(m),
        "",
    )?;
    row(
        out,
        "pooled (every prediction weighs the same)",
        &|m| {
            r.pooled_by_prediction
                .iter()
                .find(|(k, _)| *k == m)
                .map(|p| p.1)
        },
        "",
    )?;
    Ok(())
}

/// `jetstress predict-eval --corpus DIR`: scores and prints (table or JSON).
pub fn run_corpus(cfg: &CorpusConfig, out: &mut dyn Write) -> anyhow::Result<CorpusReport> {
    let r = evaluate_corpus(cfg)?;
    if cfg.json {
        serde_json::to_writer_pretty(&mut *out, &r)?;
        writeln!(out)?;
    } else {
        write_corpus_table(out, &r)?;
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_median_and_mean() {
        let mut v = vec![(3.0, 1.0), (1.0, 1.0), (2.0, 1.0)];
        assert_eq!(weighted(&mut v), (2.0, 2.0));
        let mut v = vec![(1.0, 1.0), (2.0, 1.0)];
        assert_eq!(weighted(&mut v), (1.5, 1.5));
        // One trace of two predictions and one of one, weighed the same.
        let mut v = vec![(10.0, 0.5), (10.0, 0.5), (100.0, 1.0)];
        assert_eq!(weighted(&mut v), (55.0, 55.0));
    }

    #[test]
    fn errors_are_capped_and_a_miss_is_the_cap() {
        assert_eq!(err_of(Some(150.0), 100.0), 50.0);
        assert_eq!(err_of(Some(500.0), 100.0), 100.0);
        assert_eq!(err_of(None, 100.0), 100.0);
    }
}
