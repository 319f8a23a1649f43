//! The load-aware thermal model (owned by the predict work): a first-order
//! RC zone driven by the board's load u (0–1),
//!
//! dT/dt = a + b·T + c·u, i.e. T → T∞(u) = −(a + c·u)/b with τ = −1/b,
//!
//! identified online in integral form, T = T₀ + a·t + b·∫T dt + c·∫u dt: one
//! ridge regression on running sums ([`MultiWindow`]), O(1) per sample and
//! fixed memory per zone. While the load is steady `c` cannot be told from
//! `a` and a short window hardly sees `b`, so both carry a Gaussian prior
//! (`load_tau_prior_s`, `load_gain_prior_c`: how far a full load lifts the
//! asymptote) whose weight the data outgrow as the window sees the load move.
//!
//! From one fit come two answers: the ETA at the current load (closed form),
//! and the ETA under a planned load profile `u(s)`, s = seconds from now
//! ([`LoadFit::eta_under`]): the ODE stepped exactly over short constant-load
//! steps. The range is the ETA with T∞ moved by ±z standard deviations.

use super::regression::{MultiFit, MultiWindow};
use super::PredictConfig;

/// A planned load: piecewise constant, `(duration_s, load 0–1)` steps from
/// now; the last load holds after the last step. What the live session hands
/// over from the plan's remaining stages.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadPlan {
    pub steps: Vec<(f64, f64)>,
}

impl LoadPlan {
    /// One load from now on.
    pub fn constant(u: f64) -> LoadPlan {
        LoadPlan {
            steps: vec![(f64::INFINITY, u)],
        }
    }

    /// The planned load `s` seconds from now (0 with an empty plan).
    pub fn at(&self, s: f64) -> f64 {
        let mut end = 0.0;
        for &(d, u) in &self.steps {
            end += d.max(0.0);
            if s < end {
                return u;
            }
        }
        self.steps.last().map_or(0.0, |s| s.1)
    }
}

/// Per-zone state of the load model: the window of `(t, ∫T, ∫u) → T`.
#[derive(Debug, Clone)]
pub struct LoadState {
    win: MultiWindow<3>,
    int_u: f64,
    /// Latest `(t, ∫T, ∫u, u)`.
    last: Option<(f64, f64, f64, f64)>,
}

impl LoadState {
    pub fn new(cfg: &PredictConfig) -> LoadState {
        LoadState {
            win: MultiWindow::new(cfg.load_window_s, cfg.max_samples),
            int_u: 0.0,
            last: None,
        }
    }

    pub fn clear(&mut self) {
        self.win.clear();
        self.int_u = 0.0;
        self.last = None;
    }

    pub fn len(&self) -> usize {
        self.win.len()
    }

    /// Time the window covers, seconds.
    pub fn span(&self) -> f64 {
        self.win.span()
    }

    /// One reading at `t` with the zone's running ∫T (same origin as the
    /// caller's) and the load held since the previous reading.
    pub fn push(&mut self, t: f64, temp: f64, int_t: f64, u: f64) {
        if let Some((t0, _, _, u0)) = self.last {
            self.int_u += 0.5 * (u + u0) * (t - t0);
        }
        self.last = Some((t, int_t, self.int_u, u));
        self.win.push([t, int_t, self.int_u], temp);
    }

    /// The fit with its priors; `None` until the window holds enough points.
    pub fn fit(&self, cfg: &PredictConfig, sigma_floor: f64) -> Option<LoadFit> {
        let (t, it, iu, u) = self.last?;
        let tau0 = cfg.load_tau_prior_s.max(1.0);
        let b0 = -1.0 / tau0;
        let c0 = cfg.load_gain_prior_c / tau0;
        let sd = cfg.load_prior_sd.max(1e-6);
        let prior = [
            None,
            Some((b0, sd * b0.abs())),
            Some((c0, sd * c0.abs().max(1e-6))),
        ];
        let f = self.win.ridge(&prior, sigma_floor)?;
        // A zone heating away from its own asymptote is not first order:
        // hold τ at a hundred prior time constants (a straight line, in practice).
        let b = f.beta[1].min(-1.0 / (100.0 * tau0));
        Some(LoadFit {
            a: f.beta[0],
            b,
            c: f.beta[2],
            cov: f.cov,
            now_c: f.at(&[t, it, iu]),
            u_now: u,
            fit: f,
        })
    }
}

/// One identified model at the latest sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadFit {
    pub a: f64,
    /// Always negative: −1/τ.
    pub b: f64,
    pub c: f64,
    /// Covariance of (a, b, c).
    pub cov: [[f64; 3]; 3],
    /// Fitted temperature at the latest sample, °C.
    pub now_c: f64,
    /// Load at the latest sample (0–1).
    pub u_now: f64,
    pub fit: MultiFit<3>,
}

/// ODE steps of a planned-load ETA: at most this many.
const MAX_STEPS: usize = 2000;

impl LoadFit {
    pub fn tau_s(&self) -> f64 {
        -1.0 / self.b
    }

    /// Asymptote at load `u`, °C.
    pub fn t_inf(&self, u: f64) -> f64 {
        -(self.a + self.c * u) / self.b
    }

    /// Standard deviation of [`Self::t_inf`] (delta method on cov(a, b, c)).
    pub fn sd_t_inf(&self, u: f64) -> f64 {
        let b = self.b;
        let g = [-1.0 / b, (self.a + self.c * u) / (b * b), -u / b];
        let mut v = 0.0;
        for j in 0..3 {
            for k in 0..3 {
                v += g[j] * self.cov[j][k] * g[k];
            }
        }
        v.max(0.0).sqrt()
    }

    /// Seconds from the latest sample until the model reaches `aim` at a
    /// constant load `u`, with T∞ moved by `shift` °C; `None` = never.
    pub fn eta_constant(&self, u: f64, aim: f64, shift: f64) -> Option<f64> {
        let t_inf = self.t_inf(u) + shift;
        if self.now_c >= aim {
            return Some(0.0);
        }
        (t_inf > aim).then(|| self.tau_s() * ((t_inf - self.now_c) / (t_inf - aim)).ln())
    }

    /// Seconds from the latest sample until the model reaches `aim` under
    /// the load `plan(s)`, T∞ moved by `shift` °C, searched up to `max_s`;
    /// `None` = not within it. Each step holds the load of its midpoint
    /// and is solved exactly; steps are 1 s, growing to 1 % of `s`.
    pub fn eta_under(
        &self,
        plan: &dyn Fn(f64) -> f64,
        aim: f64,
        shift: f64,
        max_s: f64,
    ) -> Option<f64> {
        let mut temp = self.now_c;
        if temp >= aim {
            return Some(0.0);
        }
        let mut s = 0.0;
        for _ in 0..MAX_STEPS {
            if s >= max_s {
                return None;
            }
            let h = (0.01 * s).max(1.0).min(max_s - s);
            let t_inf = self.t_inf(plan(s + 0.5 * h)) + shift;
            let next = t_inf + (temp - t_inf) * (self.b * h).exp();
            if next >= aim && t_inf > aim {
                return Some(s + ((t_inf - aim) / (t_inf - temp)).ln() / self.b);
            }
            temp = next;
            s += h;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> PredictConfig {
        PredictConfig {
            load_window_s: 600.0,
            load_tau_prior_s: 200.0,
            load_gain_prior_c: 40.0,
            ..PredictConfig::default()
        }
    }

    /// Known answer: a zone with τ = 200 s, T∞ = 30 + 40·u, 1 Hz, whose
    /// load steps 0.25 → 0.9 at t = 300 s and back to 0.25 at 420 s: the fit
    /// recovers τ and both asymptotes, and the planned-load ETA (load steps
    /// to 0.9 again in 60 s) matches the exact solution.
    #[test]
    fn identifies_tau_and_gain_from_a_load_step_and_forecasts_a_planned_step() {
        let (tau, amb, gain) = (200.0_f64, 30.0_f64, 40.0_f64);
        let load = |t: f64| {
            if (300.0..420.0).contains(&t) {
                0.9
            } else {
                0.25
            }
        };
        let mut st = LoadState::new(&cfg());
        let (mut temp, mut int_t) = (amb + gain * 0.25, 0.0);
        for k in 0..=600 {
            let t = f64::from(k);
            if k > 0 {
                let u = load(t - 1.0);
                let inf = amb + gain * u;
                let next = inf + (temp - inf) * (-1.0_f64 / tau).exp();
                int_t += 0.5 * (temp + next);
                temp = next;
            }
            st.push(t, temp, int_t, load(t));
        }
        let f = st.fit(&cfg(), 0.01).unwrap();
        assert!((f.tau_s() - tau).abs() < 10.0, "τ {}", f.tau_s());
        assert!((f.t_inf(0.25) - 40.0).abs() < 0.5, "{}", f.t_inf(0.25));
        assert!((f.t_inf(0.9) - 66.0).abs() < 1.0, "{}", f.t_inf(0.9));
        // From T(600) ≈ 41.6: 60 s at 0.25, then 0.9; aim 60 °C.
        let plan = LoadPlan {
            steps: vec![(60.0, 0.25), (f64::INFINITY, 0.9)],
        };
        let eta = f.eta_under(&|s| plan.at(s), 60.0, 0.0, 21600.0).unwrap();
        let t60 = 40.0 + (f.now_c - 40.0) * (-60.0 / tau).exp();
        let exact = 60.0 + tau * ((66.0 - t60) / (66.0 - 60.0)).ln();
        assert!((eta - exact).abs() < 0.05 * exact, "{eta} vs {exact}");
        // At the current (low) load it never gets there.
        assert_eq!(f.eta_constant(0.25, 60.0, 0.0), None);
        assert_eq!(f.eta_under(&|_| 0.25, 60.0, 0.0, 21600.0), None);
    }

    #[test]
    fn plans_hold_their_last_load() {
        let p = LoadPlan {
            steps: vec![(10.0, 0.2), (5.0, 1.0)],
        };
        assert_eq!(p.at(0.0), 0.2);
        assert_eq!(p.at(12.0), 1.0);
        assert_eq!(p.at(1e6), 1.0);
        assert_eq!(LoadPlan::default().at(3.0), 0.0);
        assert_eq!(LoadPlan::constant(0.7).at(1e9), 0.7);
    }
}
