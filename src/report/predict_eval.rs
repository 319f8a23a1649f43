//! `predict-eval`: replays a recorded trace through [`ThermalPredictor`] exactly as
//! live samples would arrive and scores the ETAs against the time the trace
//! actually crosses a threshold.
//!
//! Scoring, per zone and model (linear, Newton, chosen): every prediction made
//! before the crossing has a true remaining time `r`; its error is
//! `|eta − r| / r` in %, and "no ETA" counts as a miss (infinite error). Horizon
//! `h` pools the predictions with `r` in `[0.8·h, 1.2·h]`; the table shows the
//! median and 90th percentile (nearest rank). The first correct alert is the
//! earliest prediction with `eta < 5 min` and within ±20 % of `r`; its lead is `r`.
//!
//! With `--load-column` the trace's load drives the load-aware model too, and
//! `--emit` lines carry its ETA under the trace's own future load
//! (`eta_planned_s`, `lo_planned_s`, `hi_planned_s`). Whole corpora with a
//! manifest are scored by [`corpus`] (`--corpus DIR`).

pub mod corpus;
pub mod manifest;

pub use corpus::{run_corpus, CorpusConfig, CorpusReport, Forecaster};

use crate::predict::thermal::{ModelSet, Status, ZonePrediction};
use crate::predict::{PredictConfig, ThermalPredictor};
use crate::recording::traces::{read_trace, InputColumn, Trace, TraceFormat};
use anyhow::Context;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

/// Horizons (seconds before the crossing) the table reports.
pub const HORIZONS_S: [f64; 4] = [30.0, 60.0, 120.0, 300.0];
/// A horizon pools predictions whose true remaining time is within ±this fraction.
pub const HORIZON_BAND: f64 = 0.2;
/// An alert is an ETA under this many seconds…
pub const ALERT_ETA_S: f64 = 300.0;
/// …and it is correct within this fraction of the true remaining time.
pub const ALERT_TOLERANCE: f64 = 0.2;

/// How `predict-eval` scores a trace (the command line's `predict-eval` flags).
#[derive(Debug, Clone)]
pub struct EvalConfig {
    /// Trace file: tegrastats log (any generation), the AGX Orin stats CSV, or a
    /// `time_s,<zone>,…` CSV in °C.
    pub trace: PathBuf,
    /// Score only this zone (default: every zone that heats up enough).
    pub zone: Option<String>,
    /// Threshold in °C. Default: the zone's trip if the trace crosses it, else
    /// `trip_fraction` of the way from the start to the peak temperature.
    pub threshold: Option<f64>,
    /// Where between start and peak temperature the default threshold sits.
    pub trip_fraction: f64,
    /// Zones rising less than this (°C, start to peak) are not scored.
    pub min_rise: f64,
    /// Sliding window of the predictor, seconds.
    pub window: f64,
    /// Aim the ETA this many sensor-noise σ below the threshold.
    pub noise_margin: f64,
    /// ETA to when the fitted curve reaches the threshold, not to the first
    /// raw reading over it.
    pub no_first_passage: bool,
    /// Write one JSON line per chosen-model prediction here.
    pub emit: Option<PathBuf>,
    /// Feed this column to the predictor as the board's load (0–100 % or W).
    pub load_column: Option<InputColumn>,
    /// Print the report as JSON instead of the table.
    pub json: bool,
}

impl EvalConfig {
    /// Defaults for a trace path (what the command line gives with no flags).
    pub fn for_trace(trace: impl Into<PathBuf>) -> Self {
        EvalConfig {
            trace: trace.into(),
            zone: None,
            threshold: None,
            trip_fraction: 0.9,
            min_rise: 2.0,
            window: 120.0,
            noise_margin: 0.0,
            no_first_passage: false,
            emit: None,
            load_column: None,
            json: false,
        }
    }
}

/// Scores at one horizon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HorizonScore {
    pub horizon_s: f64,
    /// Predictions pooled at this horizon.
    pub n: usize,
    /// Of which without an ETA (counted as misses).
    pub no_eta: usize,
    /// Of the misses, those made while the predictor was still warming up
    /// (fewer than `min_samples` over `min_span_s` since the start or a restart):
    /// no model could answer then. Still counted as misses.
    pub warm_up: usize,
    /// Median absolute error, % of the true remaining time; `None` = no data or a miss.
    pub median_pct: Option<f64>,
    pub p90_pct: Option<f64>,
}

/// One model's scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelScore {
    pub model: String,
    pub horizons: Vec<HorizonScore>,
    /// Lead (s before the crossing) of the first correct alert; per zone only.
    pub first_correct_alert_lead_s: Option<f64>,
}

/// One scored zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneEval {
    pub zone: String,
    pub threshold_c: f64,
    /// How the threshold was chosen.
    pub threshold_source: String,
    pub start_c: f64,
    pub peak_c: f64,
    pub t_cross_s: f64,
    pub scores: Vec<ModelScore>,
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub trace: String,
    pub format: TraceFormat,
    pub samples: usize,
    pub duration_s: f64,
    pub skipped: Vec<(usize, String)>,
    pub notes: Vec<String>,
    pub window_s: f64,
    pub zones: Vec<ZoneEval>,
    /// Zones not scored, with the reason.
    pub unscored: Vec<(String, String)>,
    /// All scored zones pooled.
    pub pooled: Vec<ModelScore>,
}

#[derive(Serialize)]
struct EmitLine<'a> {
    t_s: f64,
    zone: &'a str,
    eta_s: Option<f64>,
    lo_s: Option<f64>,
    hi_s: Option<f64>,
    model: crate::predict::Model,
    /// The load-aware model under the trace's own future load (with a load column).
    #[serde(flatten)]
    planned: Option<PlannedLine>,
}

/// `--emit` fields of the ETA under the planned load.
#[derive(Serialize)]
struct PlannedLine {
    #[serde(rename = "eta_planned_s")]
    eta: Option<f64>,
    #[serde(rename = "lo_planned_s")]
    lo: Option<f64>,
    #[serde(rename = "hi_planned_s")]
    hi: Option<f64>,
}

/// The zone threshold and its ground-truth crossing.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub zone: String,
    pub threshold_c: f64,
    pub source: String,
    pub start_c: f64,
    pub peak_c: f64,
    pub t_cross_s: f64,
}

/// Why a zone of a trace is not scored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unscored {
    #[error("no valid reading (always offline)")]
    AlwaysOffline,
    #[error("rises only {rise:.2} °C ({start:.1} → {peak:.1}), less than --min-rise {min_rise}")]
    RisesTooLittle {
        rise: f64,
        start: f64,
        peak: f64,
        min_rise: f64,
    },
    #[error("starts at {start:.1} °C, already at/over {threshold:.1} °C")]
    StartsOver { start: f64, threshold: f64 },
    #[error("never reaches {threshold:.1} °C (peak {peak:.1})")]
    NeverReaches { threshold: f64, peak: f64 },
}

/// Picks the threshold for a zone and finds when the trace first reaches it.
pub fn target_for(trace: &Trace, zone: &str, args: &EvalConfig) -> Result<Target, Unscored> {
    let series: Vec<(f64, f64)> = trace
        .samples
        .iter()
        .filter_map(|s| s.temp(zone).map(|t| (s.t_s, t)))
        .collect();
    let Some(&(_, start)) = series.first() else {
        return Err(Unscored::AlwaysOffline);
    };
    let peak = series.iter().map(|p| p.1).fold(f64::MIN, f64::max);
    let first_cross = |th: f64| series.iter().find(|p| p.1 >= th).map(|p| p.0);
    let trip = trace.samples.iter().find_map(|s| s.trip(zone));
    let (threshold, source) = if let Some(th) = args.threshold {
        (th, "--threshold".to_string())
    } else if let Some(trip) = trip.filter(|&t| first_cross(t).is_some() && start < t) {
        (trip, "zone trip".to_string())
    } else {
        if peak - start < args.min_rise {
            return Err(Unscored::RisesTooLittle {
                rise: peak - start,
                start,
                peak,
                min_rise: args.min_rise,
            });
        }
        let f = args.trip_fraction;
        (
            start + f * (peak - start),
            format!("{:.0} % of {start:.1} → {peak:.1} °C", f * 100.0),
        )
    };
    if start >= threshold {
        return Err(Unscored::StartsOver { start, threshold });
    }
    let t_cross = first_cross(threshold).ok_or(Unscored::NeverReaches { threshold, peak })?;
    Ok(Target {
        zone: zone.to_string(),
        threshold_c: threshold,
        source,
        start_c: start,
        peak_c: peak,
        t_cross_s: t_cross,
    })
}

/// One scored prediction: |error| in %, or why there is none.
#[derive(Debug, Clone, Copy)]
enum Scored {
    Err(f64),
    Miss,
    WarmUp,
}

impl Scored {
    fn pct(self) -> f64 {
        match self {
            Scored::Err(e) => e,
            _ => f64::INFINITY,
        }
    }
}

/// Raw per-model errors for one zone: `errors[model][horizon]`.
#[derive(Debug, Default, Clone)]
struct Errors {
    by_model: [[Vec<Scored>; 4]; 3],
    alert: [Option<f64>; 3],
}

const MODEL_NAMES: [&str; 3] = ["linear", "newton", "chosen"];

fn pick(set: &ModelSet, m: usize) -> &ZonePrediction {
    match m {
        0 => &set.linear,
        1 => &set.newton,
        _ => &set.chosen,
    }
}

/// Nearest-rank percentile with misses as +∞ (`None`).
pub(crate) fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    let v = sorted[rank - 1];
    v.is_finite().then_some(v)
}

fn score(model: usize, cols: &[Vec<Scored>; 4], alert: Option<f64>) -> ModelScore {
    let horizons = HORIZONS_S
        .iter()
        .zip(cols)
        .map(|(&h, errs)| {
            let mut v: Vec<f64> = errs.iter().map(|e| e.pct()).collect();
            v.sort_by(f64::total_cmp);
            HorizonScore {
                horizon_s: h,
                n: v.len(),
                no_eta: errs.iter().filter(|e| !matches!(e, Scored::Err(_))).count(),
                warm_up: errs.iter().filter(|e| matches!(e, Scored::WarmUp)).count(),
                median_pct: percentile(&v, 0.5),
                p90_pct: percentile(&v, 0.9),
            }
        })
        .collect();
    ModelScore {
        model: MODEL_NAMES[model].to_string(),
        horizons,
        first_correct_alert_lead_s: alert,
    }
}

/// Replays an already-read trace and scores it (pure: no file I/O except `emit`).
#[expect(
    clippy::too_many_lines,
    reason = "replay, pooling and scoring of one trace"
)]
pub fn evaluate(
    trace: &Trace,
    args: &EvalConfig,
    mut emit: Option<&mut dyn Write>,
) -> anyhow::Result<EvalReport> {
    let zones: Vec<String> = match &args.zone {
        Some(z) => {
            let names = trace.zone_names();
            if !names.iter().any(|n| n == z) {
                anyhow::bail!(
                    "{}: no zone {z:?} (zones: {})",
                    trace.source,
                    names.join(", ")
                );
            }
            vec![z.clone()]
        }
        None => trace.zone_names(),
    };
    let mut targets = Vec::new();
    let mut unscored = Vec::new();
    for z in &zones {
        match target_for(trace, z, args) {
            Ok(t) => targets.push(t),
            Err(why) => unscored.push((z.clone(), why.to_string())),
        }
    }
    let mut cfg = PredictConfig {
        window_s: args.window,
        noise_margin_sigmas: args.noise_margin,
        first_passage: !args.no_first_passage,
        ..PredictConfig::default()
    };
    for t in &targets {
        cfg.trip_overrides.insert(t.zone.clone(), t.threshold_c);
    }
    let mut predictor = ThermalPredictor::new(cfg);
    let mut errors: Vec<Errors> = vec![Errors::default(); targets.len()];
    let load = args.load_column.map(|c| corpus::LoadSeries::new(trace, c));
    for s in &trace.samples {
        if let Some(l) = &load {
            predictor.observe_load(l.at(s.t_s));
        }
        for (zone, temp) in &s.zones {
            predictor.observe(s.t_s, zone, *temp, s.trip(zone));
        }
        for (ti, tg) in targets.iter().enumerate() {
            let Some(set) = predictor.predict_models(&tg.zone, s.t_s) else {
                continue;
            };
            if let Some(w) = emit.as_deref_mut() {
                let c = &set.chosen;
                let now = s.t_s;
                let planned = load.as_ref().map(|l| {
                    let plan = |d: f64| l.at(now + d).unwrap_or(0.0);
                    predictor.predict_load(&tg.zone, now, Some(&plan))
                });
                let line = EmitLine {
                    planned: planned.map(|p| PlannedLine {
                        eta: p.as_ref().and_then(|p| p.eta_s),
                        lo: p.as_ref().and_then(|p| p.lo_s),
                        hi: p.as_ref().and_then(|p| p.hi_s),
                    }),
                    t_s: s.t_s,
                    zone: &tg.zone,
                    eta_s: c.eta_s,
                    lo_s: c.lo_s,
                    hi_s: c.hi_s,
                    model: c.model,
                };
                serde_json::to_writer(&mut *w, &line)?;
                w.write_all(b"\n")?;
            }
            let r = tg.t_cross_s - s.t_s;
            if r <= 0.0 {
                continue;
            }
            let e = &mut errors[ti];
            let warming_up = set.linear.status == Status::TooFewSamples;
            for m in 0..3 {
                let p = pick(&set, m);
                // Warm-up is the gate every model shares (the line's
                // TooFewSamples), not Newton's own "no spread for a curve".
                let err = match p.eta_s {
                    Some(eta) => Scored::Err((eta - r).abs() / r * 100.0),
                    None if warming_up => Scored::WarmUp,
                    None => Scored::Miss,
                };
                for (hi, &h) in HORIZONS_S.iter().enumerate() {
                    if (r - h).abs() <= HORIZON_BAND * h {
                        e.by_model[m][hi].push(err);
                    }
                }
                if e.alert[m].is_none()
                    && p.eta_s.is_some_and(|eta| {
                        eta < ALERT_ETA_S && (eta - r).abs() <= ALERT_TOLERANCE * r
                    })
                {
                    e.alert[m] = Some(r);
                }
            }
        }
    }
    let zone_evals: Vec<ZoneEval> = targets
        .iter()
        .zip(&errors)
        .map(|(t, e)| ZoneEval {
            zone: t.zone.clone(),
            threshold_c: t.threshold_c,
            threshold_source: t.source.clone(),
            start_c: t.start_c,
            peak_c: t.peak_c,
            t_cross_s: t.t_cross_s,
            scores: (0..3)
                .map(|m| score(m, &e.by_model[m], e.alert[m]))
                .collect(),
        })
        .collect();
    let pooled = (0..3)
        .map(|m| {
            let mut cols: [Vec<Scored>; 4] = Default::default();
            for e in &errors {
                for (h, col) in cols.iter_mut().enumerate() {
                    col.extend_from_slice(&e.by_model[m][h]);
                }
            }
            score(m, &cols, None)
        })
        .collect();
    Ok(EvalReport {
        trace: trace.source.clone(),
        format: trace.format,
        samples: trace.samples.len(),
        duration_s: trace.samples.last().map_or(0.0, |s| s.t_s),
        skipped: trace.skipped.clone(),
        notes: trace.notes.clone(),
        window_s: args.window,
        zones: zone_evals,
        unscored,
        pooled,
    })
}

fn cell(h: &HorizonScore) -> String {
    let f = |v: Option<f64>| v.map_or_else(|| "miss".into(), |v| format!("{v:.0}%"));
    if h.n == 0 {
        "—".to_string()
    } else if h.warm_up > 0 {
        format!(
            "{} / {} (n={}, {} w)",
            f(h.median_pct),
            f(h.p90_pct),
            h.n,
            h.warm_up
        )
    } else {
        format!("{} / {} (n={})", f(h.median_pct), f(h.p90_pct), h.n)
    }
}

fn write_scores(
    out: &mut dyn Write,
    scores: &[ModelScore],
    with_alert: bool,
) -> std::io::Result<()> {
    write!(out, "  {:<7}", "model")?;
    for h in HORIZONS_S {
        write!(out, " | {:>26}", format!("{h:.0} s: med / p90"))?;
    }
    if with_alert {
        write!(out, " | first correct alert")?;
    }
    writeln!(out)?;
    for s in scores {
        write!(out, "  {:<7}", s.model)?;
        for h in &s.horizons {
            write!(out, " | {:>26}", cell(h))?;
        }
        if with_alert {
            match s.first_correct_alert_lead_s {
                Some(l) => write!(out, " | {l:.0} s before")?,
                None => write!(out, " | none")?,
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Writes the report as the human table.
pub fn write_table(out: &mut dyn Write, r: &EvalReport) -> std::io::Result<()> {
    writeln!(
        out,
        "{} ({:?}, {} samples over {:.0} s, {} lines skipped), window {:.0} s",
        r.trace,
        r.format,
        r.samples,
        r.duration_s,
        r.skipped.len(),
        r.window_s
    )?;
    for (line, why) in r.skipped.iter().take(5) {
        writeln!(out, "  skipped line {line}: {why}")?;
    }
    if r.skipped.len() > 5 {
        writeln!(out, "  … and {} more", r.skipped.len() - 5)?;
    }
    for n in &r.notes {
        writeln!(out, "  note: {n}")?;
    }
    writeln!(
        out,
        "ETA error, % of the true remaining time (horizon h pools r within ±{:.0} % of h; no ETA = miss;\n\
         \"k w\": k of the misses were made during the predictor's warm-up)",
        HORIZON_BAND * 100.0
    )?;
    for z in &r.zones {
        writeln!(
            out,
            "\nzone {}: threshold {:.2} °C ({}), start {:.1} °C, peak {:.1} °C, crosses at t = {:.0} s",
            z.zone, z.threshold_c, z.threshold_source, z.start_c, z.peak_c, z.t_cross_s
        )?;
        write_scores(out, &z.scores, true)?;
    }
    if r.zones.len() > 1 {
        writeln!(out, "\nall {} scored zones pooled:", r.zones.len())?;
        write_scores(out, &r.pooled, false)?;
    }
    if !r.unscored.is_empty() {
        writeln!(out, "\nnot scored:")?;
        for (z, why) in &r.unscored {
            writeln!(out, "  {z}: {why}")?;
        }
    }
    Ok(())
}

/// `jetstress predict-eval`: reads the trace, replays it, writes the table (or
/// JSON with `--json`) to `out`, and `--emit` lines to their file.
pub fn run_eval(args: &EvalConfig, out: &mut dyn Write) -> anyhow::Result<EvalReport> {
    let trace = read_trace(&args.trace)?;
    let report = match &args.emit {
        Some(path) => {
            let f = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut w = std::io::BufWriter::new(f);
            let r = evaluate(&trace, args, Some(&mut w))?;
            w.flush()
                .with_context(|| format!("writing {}", path.display()))?;
            r
        }
        None => evaluate(&trace, args, None)?,
    };
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        write_table(out, &report)?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::traces::parse_trace;

    fn synthetic_csv() -> String {
        // Exponential heat-up 40 → 80 °C, τ = 150 s, 1 Hz, 600 s.
        let mut s = String::from("time_s,soc\n");
        for k in 0..600 {
            let t = f64::from(k);
            let temp = 80.0 - 40.0 * (-t / 150.0).exp();
            s.push_str(&format!("{t},{temp:.3}\n"));
        }
        s
    }

    #[test]
    fn threshold_defaults_to_fraction_of_rise() {
        let tr = parse_trace("syn.csv", &synthetic_csv()).unwrap();
        let args = EvalConfig::for_trace("syn.csv");
        let t = target_for(&tr, "soc", &args).unwrap();
        let peak = 80.0 - 40.0 * (-599.0_f64 / 150.0).exp();
        assert!((t.peak_c - peak).abs() < 1e-3);
        assert!((t.threshold_c - (40.0 + 0.9 * (peak - 40.0))).abs() < 1e-3);
        // Analytic crossing time of that threshold, to the next 1-s sample.
        let exact = -150.0 * ((80.0 - t.threshold_c) / 40.0).ln();
        assert!(t.t_cross_s >= exact - 1e-6 && t.t_cross_s < exact + 1.0 + 1e-6);
    }

    #[test]
    fn newton_scores_well_on_exact_exponential_and_emits_lines() {
        let tr = parse_trace("syn.csv", &synthetic_csv()).unwrap();
        let args = EvalConfig::for_trace("syn.csv");
        let mut emitted = Vec::new();
        let r = evaluate(&tr, &args, Some(&mut emitted)).unwrap();
        let chosen = &r.zones[0].scores[2];
        let at60 = &chosen.horizons[1];
        assert!(at60.n > 0);
        assert!(at60.median_pct.unwrap() < 5.0, "{at60:?}");
        let linear60 = r.zones[0].scores[0].horizons[1].median_pct.unwrap();
        assert!(linear60 > at60.median_pct.unwrap());
        let text = String::from_utf8(emitted).unwrap();
        assert_eq!(text.lines().count(), tr.samples.len());
        let v: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        for k in ["t_s", "zone", "eta_s", "lo_s", "hi_s", "model"] {
            assert!(v.get(k).is_some(), "missing {k}");
        }
    }

    /// The first 10 s (10 samples, span < 10 s) are warm-up: counted as
    /// misses, and reported as such, in the horizon their r falls into.
    #[test]
    fn warm_up_misses_are_counted_and_labelled() {
        let tr = parse_trace("syn.csv", &synthetic_csv()).unwrap();
        let args = EvalConfig::for_trace("syn.csv");
        let r = evaluate(&tr, &args, None).unwrap();
        let z = &r.zones[0];
        assert!((z.t_cross_s - 323.0).abs() <= 1.0, "{}", z.t_cross_s);
        let linear = &z.scores[0];
        let h300 = &linear.horizons[3];
        assert_eq!(h300.warm_up, 10, "{h300:?}");
        assert!(h300.no_eta >= h300.warm_up);
        assert_eq!(linear.horizons[1].warm_up, 0);
        let mut out = Vec::new();
        write_table(&mut out, &r).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("10 w)"), "{text}");
    }

    #[test]
    fn unknown_zone_is_an_error_and_flat_zone_is_unscored() {
        let text = "time_s,flat\n0,40\n1,40\n2,40\n";
        let tr = parse_trace("f.csv", text).unwrap();
        let mut args = EvalConfig::for_trace("f.csv");
        let r = evaluate(&tr, &args, None).unwrap();
        assert!(r.zones.is_empty());
        assert_eq!(r.unscored.len(), 1);
        args.zone = Some("nope".into());
        assert!(evaluate(&tr, &args, None)
            .unwrap_err()
            .to_string()
            .contains("nope"));
    }

    #[test]
    fn percentile_counts_misses() {
        assert_eq!(percentile(&[1.0, 2.0, 3.0], 0.5), Some(2.0));
        assert_eq!(percentile(&[1.0, f64::INFINITY], 0.9), None);
        assert_eq!(percentile(&[], 0.5), None);
    }
}
