//! Thermal zone predictions: ETA until each zone reaches its trip.
//!
//! Two models share one sliding window per zone ([`crate::predict::regression::Window`]):
//! - **Linear**: OLS of temperature on time; ETA = (aim − T̂)/slope.
//! - **Newton** (first-order RC): dT/dt = a + b·T, i.e. T → T∞ = −a/b with time
//!   constant τ = −1/b. It is fitted in integral form, T = c + a·t + b·∫T dt, which
//!   is still one linear regression (running sums) but does not differentiate
//!   quantised temperatures. ETA = τ·ln((T∞ − T̂)/(T∞ − aim)).
//!
//! The aim is the trip less two margins, because a trip fires on the first raw
//! reading over it: half a sensor step on quantised zones (rounding sensors read
//! the trip early) and, opt-in, k sensor-noise σ. On zones with sensor noise the
//! ETA is the median first-passage time of the raw readings over the aim
//! ([`crate::predict::passage`]), not the fitted curve's own crossing.
//!
//! The chosen model is the one that has been forecasting better out of sample
//! (prequential): at every sample each model forecasts the temperature
//! `forecast_horizon_s` ahead, and when that time comes the forecast is scored
//! into an exponentially weighted mean squared error. Until `min_forecasts` are
//! scored, Newton is chosen when its curvature term `b` is significantly negative
//! (the curve visibly bends towards an asymptote), the line otherwise.
//! A third model, the load-aware one ([`crate::predict::load_model`], fed by
//! [`ThermalPredictor::observe_load`]), keeps its own record of forecasts
//! twice the horizon ahead beside the line's, and replaces the chosen model
//! only when its error there is under a quarter of the line's. It also
//! answers [`ThermalPredictor::predict_load`]: the ETA at this load or under
//! a planned load.
//! Every answer carries a range from the regression's uncertainty (delta method),
//! or a status saying why there is no number.

use super::load_model::LoadState;
use super::passage::{first_passage, Passage};
use super::regression::{LinearFit, PlaneFit, Point, Window};
use super::{human_duration, human_eta, PredictConfig};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Which model produced a prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    Linear,
    Newton,
    /// The load-aware model ([`crate::predict::load_model`]).
    Load,
}

impl Model {
    pub fn as_str(self) -> &'static str {
        match self {
            Model::Linear => "linear",
            Model::Newton => "newton",
            Model::Load => "load",
        }
    }
}

/// Why a prediction has (or lacks) an ETA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// An ETA with a range.
    Ok,
    /// Not enough samples (or time) in the window yet.
    TooFewSamples,
    /// No meaningful trend.
    Flat,
    /// Temperature is going down.
    Falling,
    /// A trend, but not distinguishable from the noise.
    Noisy,
    /// Heading for an asymptote below the trip: no throttle expected.
    LevellingOff,
    /// Already at or over the trip.
    AlreadyOver,
}

/// One zone's prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZonePrediction {
    pub zone: String,
    /// Seconds from `now` until the trip is reached; `None` when no crossing is predicted.
    pub eta_s: Option<f64>,
    /// Lower end of the range, seconds.
    pub lo_s: Option<f64>,
    /// Upper end of the range; `None` with an ETA means "possibly never".
    pub hi_s: Option<f64>,
    pub model: Model,
    /// Newton asymptote, °C.
    pub t_inf_c: Option<f64>,
    pub status: Status,
    pub trip_c: f64,
    /// Latest measured temperature, °C.
    pub temp_c: f64,
    pub slope_c_per_min: f64,
    /// For humans: "gpu-thermal reaches 99 °C trip in 6 min ± 1", or why not.
    pub message: String,
}

/// The three answers for one zone: each model on its own, and the chosen one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSet {
    pub linear: ZonePrediction,
    pub newton: ZonePrediction,
    pub chosen: ZonePrediction,
}

#[derive(Debug, Clone)]
struct ZoneState {
    win: Window,
    /// Running ∫T dt (trapezoids) since the window was (re)started.
    integral: f64,
    /// Forecasts awaiting their target time: `(t_target, linear, newton)`, °C.
    /// At most `max_samples` (one per sample within one forecast horizon).
    pending: VecDeque<(f64, f64, f64)>,
    /// Recent mean squared forecast error, °C²: `[linear, newton]`.
    forecast_mse: [f64; 2],
    /// Forecasts scored since the window was (re)started.
    forecasts_scored: u64,
    /// EWMA of the sensor noise variance, °C²: each reading's distance from
    /// the chord of its two neighbours, e = y₁ − (w₀y₀ + w₂y₂), has variance
    /// σ²(1 + w₀² + w₂²) under white noise and is exactly 0 on any straight
    /// line, whatever the spacing, so a trend does not count as noise.
    noise_var: f64,
    chords: u64,
    /// The reading before `last`, for the chord.
    prev: Option<(f64, f64)>,
    diffs: u64,
    /// Smallest non-zero step between successive readings, °C.
    step_c: f64,
    /// EWMA of "the reading did not change" (1) or did (0): a staircase.
    repeat_rate: f64,
    last: Option<(f64, f64)>,
    trip_c: Option<f64>,
    offline_now: bool,
    offline_total: u64,
    note: Option<String>,
    /// The load-aware model's window.
    load: LoadState,
    /// Forecasts twice the horizon ahead awaiting their time, `(t_target,
    /// line, load model)` °C, and their record `[line, load model]`: the load
    /// model is chosen only on this longer record.
    pending_load: VecDeque<(f64, f64, f64)>,
    load_mse: [f64; 2],
    load_scored: u64,
}

/// Forecasts are scored with this weight on the newest error (≈ the last 60).
const FORECAST_EWMA_MIN_WEIGHT: f64 = 1.0 / 60.0;

/// The load model's forecast record looks this many forecast horizons ahead…
const LOAD_RECORD_HORIZONS: f64 = 2.0;
/// …and it takes over from the line or Newton only below this share of the
/// line's mean squared error there (at 0.5 it took over on noisy Orin CSV
/// zones whose load it tracks but whose crossings are noise: 14 → 27 % at
/// 120 s in the horizon table; the corpus figures are the same at both).
const LOAD_SWITCH_RATIO: f64 = 0.25;

/// Each error in that record counts at most this much (°C): one wild forecast
/// (a model that cannot yet explain a load step it was not told about) would
/// otherwise outweigh ten minutes of good ones.
const LOAD_RECORD_ERR_CAP_C: f64 = 5.0;

/// Share of unchanged successive readings from which a zone counts as quantised.
const QUANTISED_REPEAT_RATE: f64 = 0.25;

/// Weight of the newest squared change in the noise estimate (≈ the last 120).
const NOISE_EWMA_MIN_WEIGHT: f64 = 1.0 / 120.0;

impl ZoneState {
    /// How far below the trip a quantised sensor first reads the trip:
    /// `quantum_margin_steps` × the sensor's step, when the readings look
    /// quantised (at least [`QUANTISED_REPEAT_RATE`] of them repeat exactly).
    fn quantum_margin(&self, cfg: &PredictConfig) -> f64 {
        if self.repeat_rate >= QUANTISED_REPEAT_RATE && self.step_c.is_finite() {
            cfg.quantum_margin_steps.max(0.0) * self.step_c
        } else {
            0.0
        }
    }

    /// Sensor noise σ, °C (see `noise_var`); below 1e-6 °C it is rounding.
    fn noise_sigma(&self) -> f64 {
        let sd = self.noise_var.max(0.0).sqrt();
        if sd < 1e-6 {
            0.0
        } else {
            sd
        }
    }

    /// The σ of the first-passage ETA: the sensor noise, on zones that are
    /// not quantised; 0 (the fitted curve's own crossing) otherwise. On a
    /// quantised zone the changes are mostly the staircase of the trend, not
    /// noise, and the half-step margin already accounts for the rounding.
    fn passage_sigma(&self, cfg: &PredictConfig) -> f64 {
        let quantised = self.repeat_rate >= QUANTISED_REPEAT_RATE && self.step_c.is_finite();
        if cfg.first_passage && !quantised {
            self.noise_sigma()
        } else {
            0.0
        }
    }

    /// The noise σ for the load model's first passage: the sensor noise
    /// with, on a quantised zone, the part a clean staircase alone puts in
    /// the chord residuals taken out (a step every m readings gives
    /// q²/(3m), m = 1/(1 − repeat rate)); under a quarter step it is the
    /// staircase and the half-step margin covers it (0). Rounding on top of
    /// real noise adds q²/12 instead, when that is the smaller.
    fn load_passage_sigma(&self, cfg: &PredictConfig) -> f64 {
        if !cfg.first_passage {
            return 0.0;
        }
        let quantised = self.repeat_rate >= QUANTISED_REPEAT_RATE && self.step_c.is_finite();
        if !quantised {
            return self.noise_sigma();
        }
        let q = self.step_c;
        // A clean staircase adds q²(1 − rr)/3; rounding on top of real noise
        // adds q²/12: take out the smaller.
        let stair = q * q * (1.0 - self.repeat_rate).clamp(0.0, 1.0) / 3.0;
        let s = (self.noise_var - stair.min(q * q / 12.0)).max(0.0).sqrt();
        if s < 0.25 * q {
            0.0
        } else {
            s
        }
    }

    /// Noise floor of the load model's fit, °C.
    fn load_sigma_floor(&self) -> f64 {
        let q = if self.step_c.is_finite() {
            self.step_c / 12f64.sqrt()
        } else {
            0.0
        };
        self.noise_sigma().max(q).max(0.05)
    }

    /// Enough history for an ETA: `min_samples` over `min_span_s`, or, on a
    /// sparse log (one sample every 10–50 s), three samples over half the window.
    fn enough_samples(&self, cfg: &PredictConfig) -> bool {
        let (n, span) = (self.win.len(), self.win.span());
        span >= cfg.min_span_s && (n >= cfg.min_samples || (n >= 3 && span >= 0.5 * cfg.window_s))
    }

    /// Scores every pending forecast whose target time has come against `temp`.
    fn score_forecasts(&mut self, t_s: f64, temp: f64) {
        while let Some(&(t_target, lin, newton)) = self.pending.front() {
            if t_target > t_s {
                break;
            }
            self.pending.pop_front();
            self.forecasts_scored += 1;
            let w = (1.0 / self.forecasts_scored as f64).max(FORECAST_EWMA_MIN_WEIGHT);
            for (mse, f) in self.forecast_mse.iter_mut().zip([lin, newton]) {
                let e = temp - f;
                *mse += w * (e * e - *mse);
            }
        }
        while let Some(&(t_target, lin, load)) = self.pending_load.front() {
            if t_target > t_s {
                break;
            }
            self.pending_load.pop_front();
            self.load_scored += 1;
            let w = (1.0 / self.load_scored as f64).max(FORECAST_EWMA_MIN_WEIGHT);
            for (mse, f) in self.load_mse.iter_mut().zip([lin, load]) {
                let e = (temp - f).clamp(-LOAD_RECORD_ERR_CAP_C, LOAD_RECORD_ERR_CAP_C);
                *mse += w * (e * e - *mse);
            }
        }
    }

    /// Both models' forecasts of T at `t_s + forecast_horizon_s` (O(1): two fits
    /// from the running sums). Newton's is T∞ + (T̂ − T∞)·e^(b·h), valid for
    /// either sign of `b`; with no usable curve fit nothing is recorded.
    fn forecast(&mut self, t_s: f64, cfg: &PredictConfig) {
        if self.win.len() < cfg.min_samples {
            return;
        }
        let (Some(lf), Some(pf)) = (self.win.linear(), self.win.plane()) else {
            return;
        };
        if pf.b == 0.0 {
            return;
        }
        let h = cfg.forecast_horizon_s;
        let t_inf = -pf.a / pf.b;
        let newton = t_inf + (pf.at(t_s, self.integral) - t_inf) * (pf.b * h).exp();
        let lin = lf.at(t_s + h);
        if newton.is_finite() && lin.is_finite() {
            self.pending.push_back((t_s + h, lin, newton));
            if self.pending.len() > cfg.max_samples {
                self.pending.pop_front();
            }
            // The load model's forecast at the current load, recorded beside them.
            if let Some(f) = self.load.fit(cfg, self.load_sigma_floor()) {
                let h2 = LOAD_RECORD_HORIZONS * h;
                let v = f.temp_after(f.u_now, h2);
                if v.is_finite() {
                    self.pending_load.push_back((t_s + h2, lf.at(t_s + h2), v));
                    if self.pending_load.len() > cfg.max_samples {
                        self.pending_load.pop_front();
                    }
                }
            }
        }
    }

    /// `true` when the load model has been forecasting [`LOAD_RECORD_HORIZONS`]
    /// horizons ahead with at most [`LOAD_SWITCH_RATIO`] of the line's squared
    /// error, over enough forecasts: it has to earn the switch.
    fn load_forecasts_better(&self, cfg: &PredictConfig) -> bool {
        self.load_scored >= cfg.min_forecasts.max(1)
            && self.load_mse[1] < LOAD_SWITCH_RATIO * self.load_mse[0]
    }

    /// `Some(true)` when Newton has been forecasting better than the line,
    /// `None` until enough forecasts are scored.
    fn newton_forecasts_better(&self, cfg: &PredictConfig) -> Option<bool> {
        (self.forecasts_scored >= cfg.min_forecasts.max(1))
            .then(|| self.forecast_mse[1] < self.forecast_mse[0])
    }
}

/// Per-zone thermal predictor; one `observe` per sample per zone, O(1) each.
#[derive(Debug, Clone)]
pub struct ThermalPredictor {
    cfg: PredictConfig,
    zones: BTreeMap<String, ZoneState>,
    /// The board's load (0–1) as last reported by [`Self::observe_load`].
    load: Option<f64>,
}

impl ThermalPredictor {
    pub fn new(cfg: PredictConfig) -> Self {
        ThermalPredictor {
            cfg,
            zones: BTreeMap::new(),
            load: None,
        }
    }

    /// The board's load from now on, 0–1 (CPU busy fraction, or power over
    /// its usual peak); held until the next call. `None` or non-finite keeps
    /// the previous value. Zones read it at their next [`Self::observe`].
    pub fn observe_load(&mut self, load: Option<f64>) {
        if let Some(u) = load.filter(|u| u.is_finite()) {
            self.load = Some(u.clamp(0.0, 2.0));
        }
    }

    /// The load the zones see now (0 before any was reported).
    pub fn load(&self) -> f64 {
        self.load.unwrap_or(0.0)
    }

    pub fn config(&self) -> &PredictConfig {
        &self.cfg
    }

    /// Feeds one sample. `temp_c = None` (or non-finite) is an offline reading:
    /// skipped, but noted. `trip_c` is the zone's own passive/hot trip if known.
    /// Samples whose time does not advance are ignored; a hole longer than
    /// `max_gap_s` restarts the zone's window.
    pub fn observe(&mut self, t_s: f64, zone_id: &str, temp_c: Option<f64>, trip_c: Option<f64>) {
        let cfg = &self.cfg;
        let st = self
            .zones
            .entry(zone_id.to_string())
            .or_insert_with(|| ZoneState {
                win: Window::new(cfg.window_s, cfg.max_samples),
                integral: 0.0,
                pending: VecDeque::new(),
                forecast_mse: [0.0; 2],
                forecasts_scored: 0,
                noise_var: 0.0,
                chords: 0,
                prev: None,
                diffs: 0,
                step_c: f64::INFINITY,
                repeat_rate: 0.0,
                last: None,
                trip_c: None,
                offline_now: false,
                offline_total: 0,
                note: None,
                load: LoadState::new(cfg),
                pending_load: VecDeque::new(),
                load_mse: [0.0; 2],
                load_scored: 0,
            });
        if let Some(trip) = trip_c.filter(|v| v.is_finite()) {
            st.trip_c = Some(trip);
        }
        if !t_s.is_finite() {
            return;
        }
        let Some(temp) = temp_c.filter(|v| v.is_finite()) else {
            st.offline_now = true;
            st.offline_total += 1;
            return;
        };
        st.offline_now = false;
        if let Some((t_prev, temp_prev)) = st.last {
            if t_s <= t_prev {
                return;
            }
            let dt = t_s - t_prev;
            if dt > cfg.max_gap_s {
                st.win.clear();
                st.integral = 0.0;
                st.pending.clear();
                st.forecast_mse = [0.0; 2];
                st.forecasts_scored = 0;
                st.noise_var = 0.0;
                st.chords = 0;
                st.prev = None;
                st.diffs = 0;
                st.repeat_rate = 0.0;
                st.load.clear();
                st.pending_load.clear();
                st.load_mse = [0.0; 2];
                st.load_scored = 0;
                st.note = Some(format!(
                    "window restarted after a {} gap",
                    human_duration(dt)
                ));
            } else {
                st.integral += 0.5 * (temp + temp_prev) * dt;
                st.diffs += 1;
                let w = (1.0 / st.diffs as f64).max(NOISE_EWMA_MIN_WEIGHT);
                let d = temp - temp_prev;
                if let Some((t0, y0)) = st.prev {
                    let w2 = (t_prev - t0) / (t_s - t0);
                    let w0 = 1.0 - w2;
                    let e = temp_prev - (w0 * y0 + w2 * temp);
                    st.chords += 1;
                    let wc = (1.0 / st.chords as f64).max(NOISE_EWMA_MIN_WEIGHT);
                    st.noise_var += wc * (e * e / (1.0 + w0 * w0 + w2 * w2) - st.noise_var);
                }
                st.prev = Some((t_prev, temp_prev));
                if d != 0.0 {
                    st.step_c = st.step_c.min(d.abs());
                }
                let same = if d == 0.0 { 1.0 } else { 0.0 };
                st.repeat_rate += w * (same - st.repeat_rate);
            }
        }
        st.last = Some((t_s, temp));
        st.load
            .push(t_s, temp, st.integral, self.load.unwrap_or(0.0));
        st.win.push(Point {
            t: t_s,
            i: st.integral,
            y: temp,
        });
        st.score_forecasts(t_s, temp);
        st.forecast(t_s, cfg);
        if st.note.is_some() && st.win.len() >= cfg.min_samples && st.win.span() >= cfg.min_span_s {
            st.note = None;
        }
    }

    /// The trip used for a zone: config override, then the zone's own, then the default.
    pub fn trip_for(&self, zone_id: &str) -> Option<f64> {
        self.cfg
            .trip_overrides
            .get(zone_id)
            .copied()
            .or_else(|| self.zones.get(zone_id).and_then(|z| z.trip_c))
            .or(self.cfg.default_trip_c)
    }

    /// The chosen model's prediction; `None` for an unknown zone, a zone that never
    /// gave a temperature, or one without any trip (own, override or default).
    pub fn predict(&self, zone_id: &str, now_s: f64) -> Option<ZonePrediction> {
        self.predict_models(zone_id, now_s).map(|m| m.chosen)
    }

    /// The zones seen so far, in id order.
    pub fn zone_ids(&self) -> impl Iterator<Item = &str> {
        self.zones.keys().map(String::as_str)
    }

    /// Chosen predictions for every zone that has a trip, in zone-name order.
    pub fn predictions(&self, now_s: f64) -> Vec<ZonePrediction> {
        self.zones
            .keys()
            .filter_map(|z| self.predict(z, now_s))
            .collect()
    }

    /// Linear, Newton and chosen predictions for a zone (used by `predict-eval`).
    #[expect(
        clippy::too_many_lines,
        reason = "the model choice, one rule after another"
    )]
    pub fn predict_models(&self, zone_id: &str, now_s: f64) -> Option<ModelSet> {
        let st = self.zones.get(zone_id)?;
        let trip = self.trip_for(zone_id)?;
        let (_, temp) = st.last?;
        let cfg = &self.cfg;
        let lin_fit = st.win.linear();
        let slope_per_min = lin_fit.map_or(0.0, |f| f.slope * 60.0);
        let base = ZonePrediction {
            zone: zone_id.to_string(),
            eta_s: None,
            lo_s: None,
            hi_s: None,
            model: Model::Linear,
            t_inf_c: None,
            status: Status::TooFewSamples,
            trip_c: trip,
            temp_c: temp,
            slope_c_per_min: slope_per_min,
            message: String::new(),
        };
        let dt = if st.win.len() > 1 {
            st.win.span() / (st.win.len() - 1) as f64
        } else {
            0.0
        };
        let ctx = Ctx {
            sigma: st.passage_sigma(cfg),
            dt,
            ..Ctx::at(cfg, st, zone_id, trip, now_s)
        };

        // Gates shared by every model.
        let gate = if temp >= trip {
            Some(ctx.finish(
                ZonePrediction {
                    eta_s: Some(0.0),
                    lo_s: Some(0.0),
                    hi_s: Some(0.0),
                    status: Status::AlreadyOver,
                    ..base.clone()
                },
                format!("{zone_id} is at {temp:.1} °C, at or over its {trip:.1} °C trip"),
            ))
        } else if !st.enough_samples(cfg) || lin_fit.is_none() {
            Some(ctx.finish(
                base.clone(),
                format!(
                    "{zone_id}: {} samples over {:.0} s, need {} over {:.0} s",
                    st.win.len(),
                    st.win.span(),
                    cfg.min_samples,
                    cfg.min_span_s
                ),
            ))
        } else {
            None
        };
        let mut set = if let Some(g) = gate {
            ModelSet {
                linear: g.clone(),
                newton: ZonePrediction {
                    model: Model::Newton,
                    ..g.clone()
                },
                chosen: g,
            }
        } else {
            let lin_fit = lin_fit?;
            let linear = ctx.linear(&base, &lin_fit);
            let plane = st.win.plane();
            let last_i = st.win.last().map_or(0.0, |p| p.i);
            let newton = ctx.newton(&base, plane.as_ref(), last_i);
            // Newton only when the bend is both significant and real: a time
            // constant far beyond the window is a straight line in practice.
            let curved = plane.is_some_and(|p| {
                p.b < 0.0
                    && -p.b / p.cov[1][1].sqrt().max(1e-300) >= cfg.min_curvature_t
                    && -1.0 / p.b <= cfg.max_tau_windows * cfg.window_s
            });
            // Out-of-sample record first; the significance test only until
            // there is one.
            let newton_wins = st.newton_forecasts_better(cfg).unwrap_or(curved);
            let chosen = if linear.status == Status::Falling || !newton_wins {
                linear.clone()
            } else {
                newton.clone()
            };
            // The load model takes over only on its own out-of-sample record.
            let chosen = if linear.status != Status::Falling && st.load_forecasts_better(cfg) {
                self.predict_load(zone_id, now_s, None)
                    .filter(|p| p.status != Status::TooFewSamples)
                    .unwrap_or(chosen)
            } else {
                chosen
            };
            ModelSet {
                linear,
                newton,
                chosen,
            }
        };
        let mut extra = Vec::new();
        if st.offline_now {
            extra.push("latest reading offline".to_string());
        }
        if let Some(n) = &st.note {
            extra.push(n.clone());
        }
        if !extra.is_empty() {
            let tail = format!(" ({})", extra.join("; "));
            for p in [&mut set.linear, &mut set.newton, &mut set.chosen] {
                p.message.push_str(&tail);
            }
        }
        Some(set)
    }

    /// The load-aware model's prediction for a zone: at the current load
    /// (`plan = None`) or under a planned load `plan(s)` (0–1, s = seconds
    /// from `now_s`). `None` like [`Self::predict`]. The message says which:
    /// "… in 6 min ± 1 at this load" / "… under the planned load".
    #[expect(
        clippy::too_many_lines,
        reason = "gates, fit, curve or first passage, range: one derivation"
    )]
    pub fn predict_load(
        &self,
        zone_id: &str,
        now_s: f64,
        plan: Option<&dyn Fn(f64) -> f64>,
    ) -> Option<ZonePrediction> {
        let st = self.zones.get(zone_id)?;
        let trip = self.trip_for(zone_id)?;
        let (t_last, temp) = st.last?;
        let cfg = &self.cfg;
        let base = ZonePrediction {
            zone: zone_id.to_string(),
            eta_s: None,
            lo_s: None,
            hi_s: None,
            model: Model::Load,
            t_inf_c: None,
            status: Status::TooFewSamples,
            trip_c: trip,
            temp_c: temp,
            slope_c_per_min: st.win.linear().map_or(0.0, |f| f.slope * 60.0),
            message: String::new(),
        };
        let ctx = Ctx::at(cfg, st, zone_id, trip, now_s);
        if temp >= trip {
            return Some(ctx.finish(
                ZonePrediction {
                    eta_s: Some(0.0),
                    lo_s: Some(0.0),
                    hi_s: Some(0.0),
                    status: Status::AlreadyOver,
                    ..base
                },
                format!("{zone_id} is at {temp:.1} °C, at or over its {trip:.1} °C trip"),
            ));
        }
        let floor = st.load_sigma_floor();
        let fit = (st.enough_samples(cfg) && st.load.len() >= 6)
            .then(|| st.load.fit(cfg, floor))
            .flatten();
        let Some(fit) = fit else {
            let m = format!(
                "{zone_id}: {} samples, too few for the load model",
                st.load.len()
            );
            return Some(ctx.finish(base, m));
        };
        let shift = (now_s - t_last).max(0.0);
        let u_now = fit.u_now;
        let constant = move |_: f64| u_now;
        let (planned, plan): (bool, &dyn Fn(f64) -> f64) = match plan {
            Some(p) => (true, p),
            None => (false, &constant),
        };
        // The plan counts from now; the model's clock from the last sample.
        let from_last = |s: f64| plan((s - shift).max(0.0));
        let horizon = cfg.max_eta_s + shift;
        // One trajectory under the plan serves the ETA, its range (T∞ moved)
        // and the first passage.
        let traj = planned.then(|| fit.trajectory(&from_last, 0.0, horizon));
        let eta_with = |d: f64| match &traj {
            Some(tr) => fit.eta_on(tr, ctx.aim, d, horizon),
            None => fit.eta_constant(u_now, ctx.aim, d),
        };
        let eta = eta_with(0.0);
        let u_ref = plan(eta.unwrap_or(600.0).min(cfg.max_eta_s));
        let t_inf = fit.t_inf(u_ref);
        let sd = fit.sd_t_inf(u_ref);
        let z = cfg.confidence_z;
        let when = if planned {
            "under the planned load"
        } else {
            "at this load"
        };
        let p = ZonePrediction {
            t_inf_c: Some(t_inf),
            ..base
        };
        // On a noisy zone the trip fires on the first raw reading over the
        // aim: the median first passage over the model's curve, its range the
        // 5–95 % passage quantiles widened by the curve's own (T∞ ± z·sd).
        let sigma = st.load_passage_sigma(cfg);
        let dt = if st.load.len() > 1 {
            st.load.span() / (st.load.len() - 1) as f64
        } else {
            0.0
        };
        // A curve that never comes within 8 σ of the aim has no first
        // passage (the sum would skip every step): do not walk it.
        let top = traj.as_ref().map_or_else(
            || fit.now_c.max(fit.t_inf(u_now)) + fit.k.max(0.0) * (u_now - fit.u_last).max(0.0),
            |tr| fit.top_on(tr, 0.0),
        );
        let pass = (sigma > 0.0 && dt > 0.0 && top + 8.0 * sigma >= ctx.aim).then(|| {
            if let Some(tr) = &traj {
                let hint = std::cell::Cell::new(0);
                first_passage(
                    |u| fit.on_trajectory(tr, u, &hint),
                    sigma,
                    ctx.aim,
                    dt,
                    horizon,
                )
            } else {
                first_passage(|x| fit.temp_after(u_now, x), sigma, ctx.aim, dt, horizon)
            }
        });
        let eta_curve = eta;
        let eta = pass.as_ref().map_or(eta_curve, |q| q.median.or(eta_curve));
        let Some(e) = eta else {
            let m = format!(
                "{zone_id} heading for {t_inf:.1} °C (τ {}) {when}: {trip:.0} °C trip not expected",
                human_duration(fit.tau_s())
            );
            return Some(ctx.finish(
                ZonePrediction {
                    status: Status::LevellingOff,
                    lo_s: eta_with(z * sd).map(|l| (l - shift).max(0.0)),
                    ..p
                },
                m,
            ));
        };
        let (lo, hi) = match (&pass, eta_curve) {
            (Some(q), curve) if q.median.is_some() => {
                let c = curve.unwrap_or(e);
                let earlier = eta_with(z * sd).map_or(0.0, |l| (c - l).max(0.0));
                let later = eta_with(-z * sd).map(|h| (h - c).max(0.0));
                (
                    (q.q05.unwrap_or(e) - earlier).min(e),
                    later.and_then(|d| q.q95.map(|h| (h + d).max(e))),
                )
            }
            _ => (
                eta_with(z * sd).unwrap_or(e).min(e),
                eta_with(-z * sd).map(|h| h.max(e)),
            ),
        };
        let mut q = ctx.with_range(p, e, lo, hi);
        if q.status == Status::Ok {
            q.message = format!("{} {when}", q.message);
        }
        Some(q)
    }

    /// Offline samples seen for a zone so far.
    pub fn offline_count(&self, zone_id: &str) -> u64 {
        self.zones.get(zone_id).map_or(0, |z| z.offline_total)
    }
}

impl<'a> Ctx<'a> {
    /// A zone's context at `now_s` with the curve's own crossing (σ = 0):
    /// its last reading, and the trip less the noise and quantisation margins.
    fn at(cfg: &'a PredictConfig, st: &ZoneState, zone: &'a str, trip: f64, now_s: f64) -> Self {
        let (t_last, temp) = st.last.unwrap_or((now_s, trip));
        Ctx {
            sigma: 0.0,
            dt: 0.0,
            aim: trip
                - cfg.noise_margin_sigmas.max(0.0) * st.noise_sigma()
                - st.quantum_margin(cfg),
            cfg,
            zone,
            trip,
            temp,
            t_last,
            now_s,
        }
    }
}

struct Ctx<'a> {
    /// Noise σ for the first-passage ETA, °C; 0 = the curve's own crossing.
    sigma: f64,
    /// Mean sample interval in the window, seconds.
    dt: f64,
    /// Level the ETA aims at: the trip, less the quantisation and noise margins
    /// (a trip fires on the first raw reading over it, not when the mean curve
    /// gets there).
    aim: f64,
    cfg: &'a PredictConfig,
    zone: &'a str,
    trip: f64,
    temp: f64,
    t_last: f64,
    now_s: f64,
}

impl Ctx<'_> {
    #[expect(
        clippy::unused_self,
        reason = "one step of the zone context, called like its neighbours"
    )]
    fn finish(&self, mut p: ZonePrediction, message: String) -> ZonePrediction {
        p.message = message;
        p
    }

    /// Turns an ETA measured from the last sample (with its sd) into one from `now`.
    fn with_eta(&self, p: ZonePrediction, eta_last: f64, sd: f64, hi_open: bool) -> ZonePrediction {
        let z = self.cfg.confidence_z;
        let sd = if sd.is_finite() { sd } else { f64::INFINITY };
        let hi = (!hi_open && sd.is_finite()).then_some(eta_last + z * sd);
        self.with_range(p, eta_last, eta_last - z * sd, hi)
    }

    /// First-passage quantiles of the raw readings over the aim for a mean curve
    /// (`mean(u)`, u = seconds after the last sample); `None` on zones without
    /// a noise σ to use (quantised, or `first_passage` off).
    fn passage(&self, mean: impl Fn(f64) -> f64) -> Option<Passage> {
        let horizon = self.cfg.max_eta_s + (self.now_s - self.t_last).max(0.0);
        (self.sigma > 0.0 && self.dt > 0.0)
            .then(|| first_passage(mean, self.sigma, self.aim, self.dt, horizon))
    }

    /// The first-passage median as the ETA. Its range is the 5–95 % quantiles
    /// of the first passage, widened by the fit's own uncertainty (`sd`,
    /// centred on the median); `hi_open` leaves the upper end open.
    fn with_passage(
        &self,
        p: ZonePrediction,
        pass: &Passage,
        sd: f64,
        hi_open: bool,
    ) -> Option<ZonePrediction> {
        let eta_last = pass.median?;
        let z = self.cfg.confidence_z;
        let sd = if sd.is_finite() { sd } else { f64::INFINITY };
        let lo = pass.q05.unwrap_or(eta_last).min(eta_last - z * sd);
        let hi = pass
            .q95
            .filter(|_| !hi_open && sd.is_finite())
            .map(|q| q.max(eta_last + z * sd));
        Some(self.with_range(p, eta_last, lo, hi))
    }

    /// An ETA and its range, measured from the last sample, as seen from `now`.
    fn with_range(
        &self,
        mut p: ZonePrediction,
        eta_last: f64,
        lo_last: f64,
        hi_last: Option<f64>,
    ) -> ZonePrediction {
        let shift = (self.now_s - self.t_last).max(0.0);
        let eta = (eta_last - shift).max(0.0);
        if eta > self.cfg.max_eta_s {
            p.status = Status::Flat;
            p.message = format!(
                "{} rising slowly ({:+.2} °C/min): {:.0} °C trip not within {}",
                self.zone,
                p.slope_c_per_min,
                self.trip,
                human_duration(self.cfg.max_eta_s)
            );
            return p;
        }
        p.status = Status::Ok;
        p.eta_s = Some(eta);
        p.lo_s = Some((lo_last - shift).max(0.0).min(eta));
        p.hi_s = hi_last.map(|h| (h - shift).max(eta));
        p.message = format!(
            "{} reaches {:.0} °C trip in {}",
            self.zone,
            self.trip,
            human_eta(eta, p.lo_s, p.hi_s)
        );
        p
    }

    fn linear(&self, base: &ZonePrediction, f: &LinearFit) -> ZonePrediction {
        let cfg = self.cfg;
        let p = ZonePrediction {
            model: Model::Linear,
            ..base.clone()
        };
        let per_min = f.slope * 60.0;
        let t_stat = if f.se_slope > 0.0 {
            f.slope / f.se_slope
        } else if f.slope > 0.0 {
            f64::INFINITY
        } else {
            f64::NEG_INFINITY
        };
        if per_min <= -cfg.min_slope_c_per_min && t_stat <= -cfg.min_slope_t {
            let m = format!("{} falling ({per_min:+.2} °C/min)", self.zone);
            return self.finish(
                ZonePrediction {
                    status: Status::Falling,
                    ..p
                },
                m,
            );
        }
        let now_fit = f.at(self.t_last);
        let significant = per_min.abs() >= cfg.min_slope_c_per_min && t_stat >= cfg.min_slope_t;
        if !significant {
            // No trend to speak of, but a noisy zone close enough to its trip
            // will read over it anyway: the noise alone on a flat mean.
            if let Some(q) = self.passage(|_| now_fit).and_then(|pass| {
                self.with_passage(p.clone(), &pass, 0.0, false)
                    .filter(|q| q.status == Status::Ok)
            }) {
                let m = format!(
                    "{}: no significant trend ({per_min:+.2} °C/min), but its noise (σ {:.2} °C) \
                     reads the {:.0} °C trip in {}",
                    self.zone,
                    self.sigma,
                    self.trip,
                    human_eta(q.eta_s.unwrap_or(0.0), q.lo_s, q.hi_s)
                );
                return self.finish(q, m);
            }
        }
        if per_min.abs() < cfg.min_slope_c_per_min {
            let m = format!(
                "{} steady at {:.1} °C ({per_min:+.2} °C/min): no trend towards {:.0} °C",
                self.zone, self.temp, self.trip
            );
            return self.finish(
                ZonePrediction {
                    status: Status::Flat,
                    ..p
                },
                m,
            );
        }
        if t_stat < cfg.min_slope_t {
            let status = if f.sigma > cfg.noisy_sigma_c || per_min > 0.0 {
                Status::Noisy
            } else {
                Status::Flat
            };
            let m = format!(
                "{}: trend {per_min:+.2} °C/min is within the noise (±{:.2} °C)",
                self.zone, f.sigma
            );
            return self.finish(ZonePrediction { status, ..p }, m);
        }
        let eta_last = ((self.aim - now_fit) / f.slope).max(0.0);
        let sd = f.sd_of_crossing_time(self.t_last + eta_last);
        let slope = f.slope;
        self.passage(|u| now_fit + slope * u)
            .and_then(|pass| self.with_passage(p.clone(), &pass, sd, false))
            .unwrap_or_else(|| self.with_eta(p, eta_last, sd, false))
    }

    #[expect(
        clippy::too_many_lines,
        reason = "the Newton fit and its guards read as one derivation"
    )]
    fn newton(
        &self,
        base: &ZonePrediction,
        plane: Option<&PlaneFit>,
        last_i: f64,
    ) -> ZonePrediction {
        let p = ZonePrediction {
            model: Model::Newton,
            ..base.clone()
        };
        let Some(f) = plane else {
            let m = format!("{}: not enough spread for a curve fit", self.zone);
            return self.finish(
                ZonePrediction {
                    status: Status::TooFewSamples,
                    ..p
                },
                m,
            );
        };
        if f.b >= 0.0 {
            let m = format!("{}: curve not bending towards an asymptote", self.zone);
            return self.finish(
                ZonePrediction {
                    status: Status::Noisy,
                    ..p
                },
                m,
            );
        }
        let (a, b) = (f.a, f.b);
        let tau = -1.0 / b;
        let t_inf = -a / b;
        // sd of T∞ from cov(a, b): ∂T∞/∂a = −1/b, ∂T∞/∂b = a/b².
        let g_inf = [-1.0 / b, a / (b * b)];
        let var_inf = quad(&f.cov, g_inf);
        let sd_inf = var_inf.max(0.0).sqrt();
        let p = ZonePrediction {
            t_inf_c: Some(t_inf),
            ..p
        };
        let now_fit = f.at(self.t_last, last_i);
        let curve = |u: f64| t_inf + (now_fit - t_inf) * (b * u).exp();
        if t_inf <= self.aim {
            // Levelling off below the aim, but close enough that the noise
            // reads over it: the first passage on the levelling curve.
            if let Some(q) = self.passage(curve).and_then(|pass| {
                self.with_passage(p.clone(), &pass, 0.0, true)
                    .filter(|q| q.status == Status::Ok)
            }) {
                let m = format!(
                    "{} levelling off at {:.1} °C (τ {}), within its noise (σ {:.2} °C) of the \
                     {:.0} °C trip: reads it in {}",
                    self.zone,
                    t_inf,
                    human_duration(tau),
                    self.sigma,
                    self.trip,
                    human_eta(q.eta_s.unwrap_or(0.0), q.lo_s, q.hi_s)
                );
                return self.finish(q, m);
            }
            // "No throttle expected" only when T∞ is confidently below the trip.
            // Otherwise say so, with the earliest plausible crossing (T∞ at the
            // top of its range) as the lower end and no ETA.
            let t_inf_hi = t_inf + self.cfg.confidence_z * sd_inf;
            let earliest = (t_inf_hi > self.aim && now_fit < self.aim)
                .then(|| tau * ((t_inf_hi - now_fit) / (t_inf_hi - self.aim)).ln())
                .filter(|e| e.is_finite())
                .map(|e| (e - (self.now_s - self.t_last).max(0.0)).max(0.0));
            let m = match earliest {
                Some(e) => format!(
                    "{} probably levelling off at {:.1} °C (τ {}), but T∞ may be up to {:.1} °C: \
                     {:.0} °C trip not ruled out, at the earliest in {}",
                    self.zone,
                    t_inf,
                    human_duration(tau),
                    t_inf_hi,
                    self.trip,
                    human_duration(e)
                ),
                None => format!(
                    "{} levelling off at {:.1} °C (τ {}): no throttle expected at {:.0} °C",
                    self.zone,
                    t_inf,
                    human_duration(tau),
                    self.trip
                ),
            };
            return self.finish(
                ZonePrediction {
                    status: Status::LevellingOff,
                    lo_s: earliest,
                    ..p
                },
                m,
            );
        }
        if now_fit >= self.aim {
            return self.with_eta(p, 0.0, 0.0, false);
        }
        let d1 = t_inf - now_fit;
        let d2 = t_inf - self.aim;
        let ln = (d1 / d2).ln();
        let eta_last = tau * ln;
        // Gradient of the ETA with respect to T̂, T∞ and τ, then to (ȳ, a, b).
        let e_t = -tau / d1;
        let e_inf = tau * (1.0 / d1 - 1.0 / d2);
        let e_tau = ln;
        let dt_db = 1.0 / (b * b);
        let e_a_direct = e_inf * g_inf[0];
        let e_b_direct = e_inf * g_inf[1] + e_tau * dt_db;
        let g1 = self.t_last - f.t_mean;
        let g2 = last_i - f.i_mean;
        let grad = [e_t * g1 + e_a_direct, e_t * g2 + e_b_direct];
        let n = f.n as f64;
        let var = e_t * e_t * f.sigma * f.sigma / n + quad(&f.cov, grad);
        let hi_open = t_inf - self.cfg.confidence_z * sd_inf <= self.aim;
        let sd = var.max(0.0).sqrt();
        self.passage(curve)
            .and_then(|pass| self.with_passage(p.clone(), &pass, sd, hi_open))
            .unwrap_or_else(|| self.with_eta(p, eta_last, sd, hi_open))
    }
}

fn quad(m: &[[f64; 2]; 2], g: [f64; 2]) -> f64 {
    g[0] * g[0] * m[0][0] + 2.0 * g[0] * g[1] * m[0][1] + g[1] * g[1] * m[1][1]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-noise in [-1, 1] (no rand crate).
    fn noise(k: u64) -> f64 {
        let mut x = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 32;
        (x as f64 / u64::MAX as f64) * 2.0 - 1.0
    }

    fn cfg_with_trip(trip: f64) -> PredictConfig {
        PredictConfig {
            default_trip_c: Some(trip),
            ..PredictConfig::default()
        }
    }

    /// Standard normal pseudo-noise (Box–Muller on [`noise`]).
    fn gauss(k: u64) -> f64 {
        let u1 = f64::midpoint(noise(2 * k), 1.0).clamp(1e-12, 1.0);
        let u2 = f64::midpoint(noise(2 * k + 1), 1.0);
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A rising line with Gaussian sensor noise (σ 0.3 °C, 1 s samples): the
    /// trip fires on the first raw reading over it, well before the line gets
    /// there. The ETA must match the median first crossing of simulated
    /// futures (known answer by Monte Carlo), not the line's own crossing.
    #[test]
    fn noisy_line_eta_is_the_first_raw_reading_over_the_trip() {
        let (slope, sigma, trip, now) = (0.01_f64, 0.3_f64, 63.0_f64, 120u64);
        let mean = |t: f64| 60.0 + slope * t;
        let mut p = ThermalPredictor::new(cfg_with_trip(trip));
        for k in 0..=now {
            p.observe(
                k as f64,
                "soc",
                Some(mean(k as f64) + sigma * gauss(k)),
                None,
            );
        }
        let m = p.predict_models("soc", now as f64).unwrap();
        let eta = m.linear.eta_s.expect("an ETA");
        // Monte Carlo: first raw reading ≥ trip after `now`, 401 futures.
        let mut firsts: Vec<f64> = (0..401u64)
            .map(|run| {
                (now + 1..now + 2000)
                    .find(|&k| mean(k as f64) + sigma * gauss(1_000_000 * (run + 1) + k) >= trip)
                    .map(|k| (k - now) as f64)
                    .unwrap()
            })
            .collect();
        firsts.sort_by(f64::total_cmp);
        let truth = firsts[200];
        let curve_eta = (trip - mean(now as f64)) / slope; // 180 s
        assert!(
            truth < 0.8 * curve_eta,
            "truth {truth} vs curve {curve_eta}"
        );
        assert!(
            (eta - truth).abs() <= 0.10 * truth,
            "eta {eta} vs median first crossing {truth}"
        );
        let (lo, hi) = (m.linear.lo_s.unwrap(), m.linear.hi_s.unwrap());
        assert!(lo <= firsts[20] && firsts[380] <= hi, "{lo}..{hi}");
        // Without first passage: the line's own crossing, as before.
        let mut q = ThermalPredictor::new(PredictConfig {
            first_passage: false,
            ..cfg_with_trip(trip)
        });
        for k in 0..=now {
            q.observe(
                k as f64,
                "soc",
                Some(mean(k as f64) + sigma * gauss(k)),
                None,
            );
        }
        let old = q
            .predict_models("soc", now as f64)
            .unwrap()
            .linear
            .eta_s
            .unwrap();
        assert!((old - curve_eta).abs() < 0.1 * curve_eta, "{old}");
    }

    /// No trend at all, but the mean sits 2σ below the trip: the noise alone
    /// reads over it after ln 2 / −ln(1 − Q(2)) ≈ 30 samples (median). Far
    /// below the trip the same zone is just steady.
    #[test]
    fn flat_noisy_zone_near_its_trip_gets_the_noise_eta() {
        let sigma = 0.5;
        let mut p = ThermalPredictor::new(cfg_with_trip(51.0));
        for k in 0..=120u64 {
            p.observe(k as f64, "gpu", Some(50.0 + sigma * gauss(k)), None);
        }
        let c = p.predict("gpu", 120.0).unwrap();
        assert_eq!(c.status, Status::Ok, "{}", c.message);
        let eta = c.eta_s.unwrap();
        // σ and the mean are estimated from 120 samples (whose own sd happens
        // to be 1.13 σ here): the right order, not the exact 30.
        assert!((8.0..60.0).contains(&eta), "eta {eta}: {}", c.message);
        assert!(c.message.contains("noise"), "{}", c.message);
        let mut far = ThermalPredictor::new(cfg_with_trip(60.0));
        for k in 0..=120u64 {
            far.observe(k as f64, "gpu", Some(50.0 + sigma * gauss(k)), None);
        }
        let c = far.predict("gpu", 120.0).unwrap();
        assert_eq!(c.eta_s, None, "{}", c.message);
    }

    #[test]
    fn exact_line_gives_exact_eta() {
        // T = 40 + 0.1 t; trip 70 → crossing at t = 300.
        let mut p = ThermalPredictor::new(cfg_with_trip(70.0));
        for k in 0..=60 {
            let t = f64::from(k);
            p.observe(t, "gpu", Some(40.0 + 0.1 * t), None);
        }
        let m = p.predict_models("gpu", 60.0).unwrap();
        assert_eq!(m.linear.status, Status::Ok);
        let eta = m.linear.eta_s.unwrap();
        assert!((eta - 240.0).abs() < 1e-6, "eta {eta}");
        // A perfect line has no curvature: the chosen model is the line.
        assert_eq!(m.chosen.model, Model::Linear);
        assert!(
            m.chosen.message.contains("reaches 70 °C trip in 4 min"),
            "{}",
            m.chosen.message
        );
    }

    #[test]
    fn eta_counts_from_now_not_from_last_sample() {
        let mut p = ThermalPredictor::new(cfg_with_trip(70.0));
        for k in 0..=60 {
            let t = f64::from(k);
            p.observe(t, "gpu", Some(40.0 + 0.1 * t), None);
        }
        let eta = p.predict("gpu", 70.0).unwrap().eta_s.unwrap();
        assert!((eta - 230.0).abs() < 1e-6);
    }

    /// T(t) = T∞ − (T∞ − T0)·e^(−t/τ) with ±0.05 °C noise: the Newton model must
    /// be chosen and land near the analytic crossing time, and beat the line.
    #[test]
    fn noisy_exponential_newton_beats_line() {
        let (t0, t_inf, tau, trip) = (40.0_f64, 80.0_f64, 200.0_f64, 75.0_f64);
        let truth = |t: f64| t_inf - (t_inf - t0) * (-t / tau).exp();
        let t_cross = -tau * ((t_inf - trip) / (t_inf - t0)).ln();
        let mut p = ThermalPredictor::new(cfg_with_trip(trip));
        let now = 150.0;
        for k in 0..=150u64 {
            let t = k as f64;
            p.observe(t, "cpu", Some(truth(t) + 0.05 * noise(k)), None);
        }
        let m = p.predict_models("cpu", now).unwrap();
        let true_eta = t_cross - now;
        let n_eta = m.newton.eta_s.expect("newton eta");
        let l_eta = m.linear.eta_s.expect("linear eta");
        // Both first-order models beat the line; the load model (Newton with
        // priors, no load here) forecasts at least as well and may take over.
        assert!(
            matches!(m.chosen.model, Model::Newton | Model::Load),
            "{:?}",
            m.chosen.model
        );
        let c_eta = m.chosen.eta_s.expect("chosen eta");
        assert!(
            (c_eta - true_eta).abs() < 0.10 * true_eta,
            "chosen {c_eta} vs {true_eta}"
        );
        let n_err = (n_eta - true_eta).abs() / true_eta;
        let l_err = (l_eta - true_eta).abs() / true_eta;
        assert!(n_err < 0.10, "newton {n_eta} vs {true_eta}");
        assert!(n_err * 2.0 < l_err, "newton {n_err} linear {l_err}");
        let t_inf_fit = m.newton.t_inf_c.unwrap();
        assert!((t_inf_fit - t_inf).abs() < 2.0, "T∞ {t_inf_fit}");
    }

    /// The reported range is a 90 % interval (z = 1.645): over many noise draws
    /// it should contain the analytic ETA about 90 % of the time.
    #[test]
    fn newton_range_is_calibrated() {
        let (t0, t_inf, tau, trip) = (40.0_f64, 80.0_f64, 200.0_f64, 75.0_f64);
        let truth = |t: f64| t_inf - (t_inf - t0) * (-t / tau).exp();
        let true_eta = -tau * ((t_inf - trip) / (t_inf - t0)).ln() - 150.0;
        let runs = 300u64;
        let mut covered = 0;
        for seed in 0..runs {
            let mut p = ThermalPredictor::new(cfg_with_trip(trip));
            for k in 0..=150u64 {
                let t = k as f64;
                p.observe(
                    t,
                    "cpu",
                    Some(truth(t) + 0.05 * noise(seed * 1000 + k)),
                    None,
                );
            }
            let m = p.predict_models("cpu", 150.0).unwrap().newton;
            let (lo, hi) = (m.lo_s.unwrap(), m.hi_s.unwrap_or(f64::INFINITY));
            if lo <= true_eta && true_eta <= hi {
                covered += 1;
            }
        }
        let rate = f64::from(covered) / runs as f64;
        assert!((0.8..=0.97).contains(&rate), "coverage {rate}");
    }

    #[test]
    fn asymptote_below_trip_is_levelling_off() {
        let truth = |t: f64| 60.0 - 20.0 * (-t / 60.0).exp();
        let mut p = ThermalPredictor::new(cfg_with_trip(99.0));
        for k in 0..=120u64 {
            let t = k as f64;
            p.observe(t, "soc", Some(truth(t) + 0.02 * noise(k)), None);
        }
        let c = p.predict("soc", 120.0).unwrap();
        assert_eq!(c.status, Status::LevellingOff);
        assert_eq!(c.eta_s, None);
        assert!((c.t_inf_c.unwrap() - 60.0).abs() < 1.0);
        assert!(c.message.contains("no throttle expected"), "{}", c.message);
        assert_eq!(c.lo_s, None);
    }

    /// T∞ just under the trip but not confidently: the curve itself gives no
    /// ETA (a miss is better than a made-up number), but the trip is "not
    /// ruled out" and the earliest plausible crossing is given as the lower
    /// end. With the first passage on, ±0.3 °C of noise 0.05 °C under the trip
    /// will read over it: that is an ETA, said to come from the noise.
    #[test]
    fn uncertain_asymptote_does_not_rule_the_trip_out() {
        let truth = |t: f64| 60.0 - 20.0 * (-t / 60.0).exp();
        let feed_with = |trip: f64, first_passage: bool| {
            let mut p = ThermalPredictor::new(PredictConfig {
                first_passage,
                ..cfg_with_trip(trip)
            });
            for k in 0..=120u64 {
                let t = k as f64;
                p.observe(t, "soc", Some(truth(t) + 0.3 * noise(k)), None);
            }
            p.predict_models("soc", 120.0).unwrap().newton
        };
        let feed = |trip: f64| feed_with(trip, false);
        // The fit does not depend on the trip: put the trip just above T∞.
        let t_inf = feed(99.0).t_inf_c.unwrap();
        assert!((t_inf - 60.0).abs() < 1.0, "T∞ {t_inf}");
        let n = feed(t_inf + 0.05);
        assert_eq!(n.status, Status::LevellingOff);
        assert_eq!(n.eta_s, None);
        let lo = n.lo_s.expect("earliest crossing");
        assert!(lo > 0.0 && lo.is_finite(), "{lo}");
        assert!(n.message.contains("not ruled out"), "{}", n.message);
        let noisy = feed_with(t_inf + 0.05, true);
        assert_eq!(noisy.status, Status::Ok, "{}", noisy.message);
        assert!(noisy.eta_s.unwrap() < 600.0, "{}", noisy.message);
        assert!(
            noisy.message.contains("within its noise"),
            "{}",
            noisy.message
        );
    }

    #[test]
    fn flat_falling_and_noisy_give_no_eta() {
        let mut p = ThermalPredictor::new(cfg_with_trip(99.0));
        for k in 0..100u64 {
            let t = k as f64;
            p.observe(t, "flat", Some(50.0), None);
            p.observe(t, "down", Some(70.0 - 0.05 * t + 0.01 * noise(k)), None);
            p.observe(t, "noisy", Some(50.0 + 3.0 * noise(k) + 0.002 * t), None);
        }
        let flat = p.predict("flat", 99.0).unwrap();
        assert_eq!(flat.status, Status::Flat);
        assert_eq!(flat.eta_s, None);
        let down = p.predict("down", 99.0).unwrap();
        assert_eq!(down.status, Status::Falling);
        assert_eq!(down.eta_s, None);
        let noisy = p.predict("noisy", 99.0).unwrap();
        assert!(
            matches!(noisy.status, Status::Noisy | Status::Flat),
            "{:?}",
            noisy.status
        );
        assert_eq!(noisy.eta_s, None);
    }

    #[test]
    fn too_few_samples_then_enough() {
        let mut p = ThermalPredictor::new(cfg_with_trip(99.0));
        for k in 0..5 {
            p.observe(f64::from(k), "gpu", Some(40.0 + f64::from(k)), None);
        }
        let early = p.predict("gpu", 4.0).unwrap();
        assert_eq!(early.status, Status::TooFewSamples);
        assert_eq!(early.eta_s, None);
        for k in 5..20 {
            p.observe(f64::from(k), "gpu", Some(40.0 + f64::from(k)), None);
        }
        assert_eq!(p.predict("gpu", 19.0).unwrap().status, Status::Ok);
    }

    #[test]
    fn gap_restarts_window_and_is_reported() {
        let mut p = ThermalPredictor::new(cfg_with_trip(99.0));
        for k in 0..30 {
            p.observe(f64::from(k), "gpu", Some(40.0 + 0.1 * f64::from(k)), None);
        }
        // 100 s hole: longer than max_gap_s (60 s).
        p.observe(130.0, "gpu", Some(45.0), None);
        let after = p.predict("gpu", 130.0).unwrap();
        assert_eq!(after.status, Status::TooFewSamples);
        assert!(after.message.contains("gap"), "{}", after.message);
    }

    #[test]
    fn offline_samples_are_skipped_and_noted() {
        let mut p = ThermalPredictor::new(cfg_with_trip(70.0));
        for k in 0..=60 {
            let t = f64::from(k);
            let temp = if k % 7 == 3 {
                None
            } else {
                Some(40.0 + 0.1 * t)
            };
            p.observe(t, "gpu", temp, None);
        }
        p.observe(61.0, "gpu", None, None);
        let pr = p.predict("gpu", 60.0).unwrap();
        assert_eq!(pr.status, Status::Ok);
        assert!((pr.eta_s.unwrap() - 240.0).abs() < 1e-6);
        assert!(pr.message.contains("offline"), "{}", pr.message);
        assert_eq!(p.offline_count("gpu"), 10);
    }

    #[test]
    fn trip_already_crossed() {
        let mut p = ThermalPredictor::new(PredictConfig::default());
        for k in 0..20 {
            p.observe(
                f64::from(k),
                "cpu",
                Some(100.0 + f64::from(k) * 0.1),
                Some(99.0),
            );
        }
        let pr = p.predict("cpu", 19.0).unwrap();
        assert_eq!(pr.status, Status::AlreadyOver);
        assert_eq!(pr.eta_s, Some(0.0));
        assert_eq!(pr.trip_c, 99.0);
    }

    #[test]
    fn trip_precedence_and_missing_trip() {
        let mut cfg = PredictConfig::default();
        cfg.trip_overrides.insert("gpu".into(), 80.0);
        let mut p = ThermalPredictor::new(cfg);
        p.observe(0.0, "gpu", Some(40.0), Some(99.0));
        p.observe(0.0, "cpu", Some(40.0), Some(95.0));
        p.observe(0.0, "aux", Some(40.0), None);
        assert_eq!(p.trip_for("gpu"), Some(80.0));
        assert_eq!(p.trip_for("cpu"), Some(95.0));
        assert_eq!(p.trip_for("aux"), None);
        assert!(p.predict("aux", 0.0).is_none());
        assert_eq!(p.predictions(0.0).len(), 2);
    }

    /// Prequential choice, known answers: on a noisy exponential Newton's
    /// 60-s-ahead forecasts beat the line's and Newton is chosen by that record;
    /// on a noisy straight line the line forecasts at least as well and is chosen.
    #[test]
    fn forecast_record_picks_the_model_that_forecasts_better() {
        let exp = |t: f64| 80.0 - 40.0 * (-t / 200.0).exp();
        let line = |t: f64| 40.0 + 0.05 * t;
        let mut p = ThermalPredictor::new(cfg_with_trip(95.0));
        for k in 0..=300u64 {
            let t = k as f64;
            p.observe(t, "exp", Some(exp(t) + 0.05 * noise(k)), None);
            p.observe(t, "line", Some(line(t) + 0.05 * noise(k + 7)), None);
        }
        let e = &p.zones["exp"];
        // Forecasts from t = 9 s (10 samples) on, scored 60 s later.
        assert!(e.forecasts_scored >= 200, "{}", e.forecasts_scored);
        assert!(
            e.forecast_mse[1] * 4.0 < e.forecast_mse[0],
            "{:?}",
            e.forecast_mse
        );
        assert_eq!(e.newton_forecasts_better(p.config()), Some(true));
        // The load model, 120 s ahead, does better still on a clean curve.
        assert!(e.load_forecasts_better(p.config()), "{:?}", e.load_mse);
        assert_eq!(p.predict("exp", 300.0).unwrap().model, Model::Load);
        let l = &p.zones["line"];
        assert_eq!(l.newton_forecasts_better(p.config()), Some(false));
        assert!(!l.load_forecasts_better(p.config()), "{:?}", l.load_mse);
        let chosen = p.predict("line", 300.0).unwrap();
        assert_eq!(chosen.model, Model::Linear);
        assert_eq!(chosen.status, Status::Ok);
    }

    #[test]
    fn forecast_record_waits_for_enough_scores_and_restarts_after_a_gap() {
        let mut p = ThermalPredictor::new(cfg_with_trip(95.0));
        for k in 0..=80u64 {
            let t = k as f64;
            p.observe(t, "gpu", Some(40.0 + 0.1 * t + 0.05 * noise(k)), None);
        }
        // Forecasts start at t = 9 s (10 samples) and come due 60 s later:
        // those made at 9..=20 s are scored by t = 80 s, 12 < 20.
        let z = &p.zones["gpu"];
        assert_eq!(z.forecasts_scored, 12);
        assert_eq!(z.newton_forecasts_better(p.config()), None);
        p.observe(200.0, "gpu", Some(50.0), None);
        let z = &p.zones["gpu"];
        assert_eq!(z.forecasts_scored, 0);
        assert!(z.pending.is_empty());
    }

    /// Known answer: ±0.5 °C alternating noise puts every reading 1 °C off
    /// the chord of its neighbours (weights ½, ½), so σ = 1/√1.5; a margin of
    /// 1 σ brings the line's ETA forward by σ / slope = 8.16 s (first passage
    /// off, to see the margin alone). The message still names the real trip.
    #[test]
    fn noise_margin_aims_below_the_trip_by_k_sigma() {
        let eta = |k: f64| {
            let mut p = ThermalPredictor::new(PredictConfig {
                noise_margin_sigmas: k,
                first_passage: false,
                ..cfg_with_trip(70.0)
            });
            for i in 0..=120u64 {
                let t = i as f64;
                let wobble = if i % 2 == 0 { 0.5 } else { -0.5 };
                p.observe(t, "gpu", Some(40.0 + 0.1 * t + wobble), None);
            }
            let pr = p.predict("gpu", 120.0).unwrap();
            assert!(pr.message.contains("70 °C"), "{}", pr.message);
            pr.eta_s.unwrap()
        };
        let (plain, early) = (eta(0.0), eta(1.0));
        let shift = (1.0 / 1.5_f64).sqrt() / 0.1;
        assert!((plain - early - shift).abs() < 0.5, "{plain} vs {early}");
    }

    /// Known answer: a 0.05 °C/s ramp read by a sensor that rounds to 0.25 °C
    /// first reads the 50 °C trip when the true value is 49.875 °C, at
    /// t = 197.5 s. Aiming half a step low lands on it; aiming at the trip
    /// itself is 2.5 s late. A smooth (unquantised) ramp gets no margin.
    #[test]
    fn quantised_sensor_first_reads_the_trip_half_a_step_early() {
        let eta = |steps: f64, quantised: bool| {
            let mut p = ThermalPredictor::new(PredictConfig {
                quantum_margin_steps: steps,
                ..cfg_with_trip(50.0)
            });
            for k in 0..=120u64 {
                let t = k as f64;
                let v = 40.0 + 0.05 * t;
                let v = if quantised {
                    (v * 4.0).round() / 4.0
                } else {
                    v
                };
                p.observe(t, "gpu", Some(v), None);
            }
            p.predict("gpu", 120.0).unwrap().eta_s.unwrap()
        };
        let truth = 197.5 - 120.0;
        assert!((eta(0.5, true) - truth).abs() < 0.5, "{}", eta(0.5, true));
        assert!(
            (eta(0.0, true) - (truth + 2.5)).abs() < 0.5,
            "{}",
            eta(0.0, true)
        );
        assert!((eta(0.5, false) - 80.0).abs() < 1e-6, "{}", eta(0.5, false));
    }

    /// Known answer through the predictor: a first-order zone (τ 200 s,
    /// T∞ = 30 + 40·u) at load 0.3 after a 0.9 stretch, trip 60 °C. At this
    /// load it levels off below the trip; with the plan "0.9 from 60 s on"
    /// the ETA is the exact solution's, and the messages say which is which.
    #[test]
    fn planned_load_gives_the_trip_the_current_load_does_not() {
        let (tau, amb, gain) = (200.0_f64, 30.0_f64, 40.0_f64);
        let load = |t: f64| {
            if (200.0..400.0).contains(&t) {
                0.9
            } else {
                0.3
            }
        };
        let mut p = ThermalPredictor::new(cfg_with_trip(60.0));
        let mut temp = amb + gain * 0.3;
        for k in 0..=700u64 {
            let t = k as f64;
            if k > 0 {
                let inf = amb + gain * load(t - 1.0);
                temp = inf + (temp - inf) * (-1.0 / tau).exp();
            }
            p.observe_load(Some(load(t)));
            p.observe(t, "soc", Some(temp), None);
        }
        let now = p.predict_load("soc", 700.0, None).unwrap();
        assert_eq!(now.status, Status::LevellingOff, "{}", now.message);
        assert!(now.message.contains("at this load"), "{}", now.message);
        let plan = crate::predict::LoadPlan {
            steps: vec![(60.0, 0.3), (f64::INFINITY, 0.9)],
        };
        let f = |s: f64| plan.at(s);
        let planned = p.predict_load("soc", 700.0, Some(&f)).unwrap();
        assert_eq!(planned.model, Model::Load);
        let t60 = 42.0 + (temp - 42.0) * (-60.0 / tau).exp();
        let exact = 60.0 + tau * ((66.0 - t60) / (66.0 - 60.0)).ln();
        let eta = planned.eta_s.expect("an ETA under the plan");
        assert!(
            (eta - exact).abs() < 0.05 * exact,
            "{eta} vs {exact}: {}",
            planned.message
        );
        assert!(
            planned.message.contains("under the planned load"),
            "{}",
            planned.message
        );
        let (lo, hi) = (planned.lo_s.unwrap(), planned.hi_s.unwrap_or(f64::INFINITY));
        assert!(lo <= eta && eta <= hi);
    }

    #[test]
    fn window_is_bounded() {
        let mut p = ThermalPredictor::new(PredictConfig {
            window_s: 10.0,
            min_span_s: 5.0,
            min_samples: 5,
            ..cfg_with_trip(99.0)
        });
        for k in 0..10_000 {
            p.observe(
                f64::from(k) * 0.1,
                "gpu",
                Some(40.0 + 0.001 * f64::from(k)),
                None,
            );
        }
        assert!(p.zones["gpu"].win.len() <= 101);
        // One forecast per sample, each due 60 s later: ≤ 600 pending at 10 Hz.
        assert!(p.zones["gpu"].pending.len() <= 601);
    }
}
