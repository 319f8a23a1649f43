//! Predictions: time to throttle, time to memory exhaustion, leak rate (owned by the predict work).
//!
//! - [`regression`]: sliding-window least squares on running sums (O(1) per sample).
//! - [`thermal`]: per-zone ETA to the trip, linear trend and Newton-cooling models.
//! - [`load_model`]: the load-aware model dT/dt = a + b·T + c·u, and the ETA
//!   under a planned load ([`LoadPlan`]).
//! - [`passage`]: when a noisy reading first crosses a level (first-passage time).
//! - [`memory`]: ETA until `MemAvailable` reaches the guard floor, per-process leak rate
//!   of RSS and of GPU memory.
//!
//! Everything here is pure: callers feed samples with their own timestamps, so the
//! live dashboard and the trace replay of `report::predict_eval` drive exactly
//! the same code.

mod bundle;
pub(crate) mod load_model;
pub(crate) mod memory;
pub(crate) mod passage;
pub(crate) mod regression;
pub(crate) mod thermal;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use bundle::{name_zone, zone_id_of, zone_label, Predictors};
pub use load_model::{LoadFit, LoadPlan};
pub use memory::{
    LeakConfig, LeakDetector, LeakEstimate, LeakMemory, MemoryConfig, MemoryPrediction,
    MemoryPredictor,
};
pub use thermal::{Model, ModelSet, Status, ThermalPredictor, ZonePrediction};

/// Tuning of the thermal predictor (`[predict]` in the config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PredictConfig {
    /// Sliding window, seconds.
    pub window_s: f64,
    /// Hard cap on samples kept per zone (bounds memory at fast sampling rates).
    pub max_samples: usize,
    /// Fewer samples than this in the window: no ETA.
    pub min_samples: usize,
    /// A window shorter than this (seconds) gives no ETA.
    pub min_span_s: f64,
    /// A hole in time longer than this restarts the zone's window (60 s: the
    /// sbc-bench logs sample every 10–50 s and are not full of holes).
    pub max_gap_s: f64,
    /// |slope| below this (°C/min) counts as flat.
    pub min_slope_c_per_min: f64,
    /// The slope must be this many standard errors above zero to give an ETA.
    pub min_slope_t: f64,
    /// Residual spread (°C) above which a non-significant trend is called noisy
    /// rather than flat.
    pub noisy_sigma_c: f64,
    /// The Newton model is chosen when its curvature term is this many standard
    /// errors below zero.
    pub min_curvature_t: f64,
    /// …and its time constant is at most this many windows long. This test
    /// decides only until the forecast record below has enough entries.
    pub max_tau_windows: f64,
    /// Prequential choice: at every sample both models forecast the temperature
    /// this many seconds ahead; when that time comes the forecast is scored.
    pub forecast_horizon_s: f64,
    /// Once this many forecasts are scored, the model with the lower recent
    /// mean squared forecast error is chosen (instead of the curvature test).
    pub min_forecasts: u64,
    /// A trip fires on the first raw reading over it. With a margin k > 0 the
    /// ETA is to when the fitted curve comes within k sensor-noise σ of the
    /// trip (σ from successive differences). 0 = the curve itself.
    pub noise_margin_sigmas: f64,
    /// On zones with sensor noise (not quantised), the ETA is the median time
    /// until the first raw reading reaches the aim, with that noise σ, rather
    /// than when the fitted curve does ([`passage`]). A noisy zone whose trend
    /// is not significant then gets the ETA of its noise alone on a flat mean.
    pub first_passage: bool,
    /// A quantised sensor that rounds first reads the trip when the true value
    /// is half a step below it: the ETA aims this many sensor steps below the
    /// trip (0.5 = rounding, 0 = truncation). Applies only to zones whose
    /// readings look quantised (a quarter or more repeat exactly); the step is
    /// the smallest non-zero change seen.
    pub quantum_margin_steps: f64,
    /// Half-width of the reported range in standard deviations (1.645 ≈ 90 %).
    pub confidence_z: f64,
    /// ETAs beyond this many seconds are reported as "no crossing expected".
    pub max_eta_s: f64,
    /// Trip used for zones that report none.
    pub default_trip_c: Option<f64>,
    /// Per-zone trip overrides (°C), winning over the zone's own trip.
    pub trip_overrides: BTreeMap<String, f64>,
    /// Window of the load-aware model, seconds ([`load_model`]).
    pub load_window_s: f64,
    /// Prior time constant of the load-aware model, seconds.
    pub load_tau_prior_s: f64,
    /// Prior rise of the asymptote from no load to full load, °C.
    pub load_gain_prior_c: f64,
    /// Prior fast part of that rise (the die's jump at a load step), °C.
    pub load_jump_prior_c: f64,
    /// Prior standard deviations, as a fraction of the prior means.
    pub load_prior_sd: f64,
    /// The floor the memory ETA aims at, % of total: the run's guard
    /// (`[guards] memory_floor_pct`, where memory pressure stops), set by
    /// the front end from its plan; `None`: 15 % (the guard's default).
    #[serde(skip)]
    pub memory_floor_pct: Option<f64>,
}

impl Default for PredictConfig {
    fn default() -> Self {
        PredictConfig {
            window_s: 120.0,
            max_samples: 4096,
            min_samples: 10,
            min_span_s: 10.0,
            max_gap_s: 60.0,
            min_slope_c_per_min: 0.05,
            min_slope_t: 2.0,
            noisy_sigma_c: 1.0,
            min_curvature_t: 3.0,
            max_tau_windows: 20.0,
            forecast_horizon_s: 60.0,
            min_forecasts: 20,
            confidence_z: 1.645,
            noise_margin_sigmas: 0.0,
            first_passage: true,
            quantum_margin_steps: 0.5,
            max_eta_s: 6.0 * 3600.0,
            default_trip_c: None,
            trip_overrides: BTreeMap::new(),
            load_window_s: 600.0,
            load_tau_prior_s: 300.0,
            load_gain_prior_c: 40.0,
            load_jump_prior_c: 10.0,
            load_prior_sd: 1.0,
            memory_floor_pct: None,
        }
    }
}

/// "45 s", "6 min", "2.5 h": a duration for humans.
pub fn human_duration(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 2.0 * 3600.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// "6 min ± 1", "45 s ± 8 s": an ETA with its half range in the ETA's unit.
pub fn human_eta(eta_s: f64, lo_s: Option<f64>, hi_s: Option<f64>) -> String {
    let base = human_duration(eta_s);
    match (lo_s, hi_s) {
        (Some(lo), Some(hi)) => {
            let half = ((hi - lo) / 2.0).max(0.0);
            if eta_s < 120.0 {
                format!("{base} ± {half:.0} s")
            } else if eta_s < 2.0 * 3600.0 {
                format!("{base} ± {:.0}", (half / 60.0).max(1.0))
            } else {
                format!("{base} ± {:.1}", half / 3600.0)
            }
        }
        (Some(lo), None) => format!("{base} (at least {}, maybe never)", human_duration(lo)),
        _ => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_eta_formats() {
        assert_eq!(human_eta(360.0, Some(300.0), Some(420.0)), "6 min ± 1");
        assert_eq!(human_eta(45.0, Some(37.0), Some(53.0)), "45 s ± 8 s");
        assert!(human_eta(360.0, Some(300.0), None).contains("maybe never"));
    }
}
