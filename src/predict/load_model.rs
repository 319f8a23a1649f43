//! The load-aware thermal model (owned by the predict work): a first-order
//! RC zone driven by the board's load u (0–1),
//!
//! T = S + k·u, dS/dt = a + b·S + (c + b·k)·u, i.e. T → T∞(u) = −(a + c·u)/b
//! with τ = −1/b,
//!
//! a slow first-order part S (heatsink, board) and a fast part k·u that
//! follows the load at once (the die: real boards jump several °C within a
//! sample of a load step, then creep). It is identified online in integral
//! form, T = T₀ + a·t + b·∫T dt + c·∫u dt + k·u: one ridge regression on
//! running sums ([`MultiWindow`]), O(1) per sample and fixed memory per zone.
//! While the load is steady `c` and `k` cannot be told from `a` and the
//! intercept, and a short window hardly sees `b`, so each carries a Gaussian
//! prior (`load_tau_prior_s`; `load_gain_prior_c`, how far a full load lifts
//! the asymptote; `load_jump_prior_c`, its fast part) whose weight the data
//! outgrow as the window sees the load move.
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
    win: MultiWindow<4>,
    int_u: f64,
    /// Latest `(t, ∫T, ∫u, u)`.
    last: Option<(f64, f64, f64, f64)>,
    /// The load averaged over about [`LOAD_SMOOTH_S`]: "this load" (a
    /// single idle sample between two benchmark runs is not a new load).
    u_avg: f64,
}

/// Time constant of the averaged current load, seconds.
pub const LOAD_SMOOTH_S: f64 = 60.0;

impl LoadState {
    pub fn new(cfg: &PredictConfig) -> LoadState {
        LoadState {
            win: MultiWindow::new(cfg.load_window_s, cfg.max_samples),
            int_u: 0.0,
            last: None,
            u_avg: 0.0,
        }
    }

    pub fn clear(&mut self) {
        self.win.clear();
        self.int_u = 0.0;
        self.last = None;
        self.u_avg = 0.0;
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
            let w = 1.0 - (-(t - t0) / LOAD_SMOOTH_S).exp();
            self.u_avg += w * (u - self.u_avg);
        } else {
            self.u_avg = u;
        }
        self.last = Some((t, int_t, self.int_u, u));
        self.win.push([t, int_t, self.int_u, u], temp);
    }

    /// The fit with its priors; `None` until the window holds enough points.
    pub fn fit(&self, cfg: &PredictConfig, sigma_floor: f64) -> Option<LoadFit> {
        let (t, it, iu, u_last) = self.last?;
        let tau0 = cfg.load_tau_prior_s.max(1.0);
        let b0 = -1.0 / tau0;
        let c0 = cfg.load_gain_prior_c / tau0;
        let k0 = cfg.load_jump_prior_c;
        let sd = cfg.load_prior_sd.max(1e-6);
        let prior = [
            None,
            Some((b0, sd * b0.abs())),
            Some((c0, sd * c0.abs().max(1e-6))),
            Some((k0, sd * k0.abs().max(5.0))),
        ];
        let mut f = self.win.ridge(&prior, sigma_floor)?;
        // More load never cools. A negative gain is the noise of an
        // instantaneous load column talking: hold it at the prior. A negative
        // jump is no fast part: hold it at 0 (the constrained optimum).
        let mut held = prior;
        if f.beta[2] < 0.0 {
            held[2] = Some((c0, 1e-6 * c0.abs().max(1e-6)));
        }
        if f.beta[3] < 0.0 {
            held[3] = Some((0.0, 1e-6));
        }
        if held != prior {
            f = self.win.ridge(&held, sigma_floor)?;
        }
        // A zone heating away from its own asymptote is not first order:
        // hold τ at a hundred prior time constants (a straight line, in practice).
        let b = f.beta[1].min(-1.0 / (100.0 * tau0));
        Some(LoadFit {
            a: f.beta[0],
            b,
            c: f.beta[2],
            k: f.beta[3],
            cov: f.cov,
            now_c: f.at(&[t, it, iu, u_last]),
            u_last,
            u_now: self.u_avg,
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
    /// The fast part: °C the zone jumps at once per unit of load.
    pub k: f64,
    /// Covariance of (a, b, c, k).
    pub cov: [[f64; 4]; 4],
    /// Fitted temperature at the latest sample, °C.
    pub now_c: f64,
    /// The load at the latest sample (0–1).
    pub u_last: f64,
    /// The current load (0–1), averaged over about [`LOAD_SMOOTH_S`].
    pub u_now: f64,
    pub fit: MultiFit<4>,
}

/// ODE steps of a planned-load ETA: at most this many.
const MAX_STEPS: usize = 2000;

/// One constant-load step of a trajectory: from `s` seconds, the slow state
/// `slow` relaxes towards `slow_inf` under the load `u`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub s: f64,
    pub slow: f64,
    pub slow_inf: f64,
    pub u: f64,
    /// e^(b·s): how much of a change of T∞ made now is still to come at `s`.
    pub decay: f64,
}

impl LoadFit {
    pub fn tau_s(&self) -> f64 {
        -1.0 / self.b
    }

    /// Asymptote at load `u`, °C.
    pub fn t_inf(&self, u: f64) -> f64 {
        -(self.a + self.c * u) / self.b
    }

    /// Standard deviation of [`Self::t_inf`] (delta method on the covariance).
    pub fn sd_t_inf(&self, u: f64) -> f64 {
        let b = self.b;
        let g = [-1.0 / b, (self.a + self.c * u) / (b * b), -u / b, 0.0];
        let mut v = 0.0;
        for j in 0..4 {
            for k in 0..4 {
                v += g[j] * self.cov[j][k] * g[k];
            }
        }
        v.max(0.0).sqrt()
    }

    /// The slow state now (the temperature less its fast part).
    fn slow_now(&self) -> f64 {
        self.now_c - self.k * self.u_last
    }

    /// The temperature `x` seconds into a step.
    fn temp_in(&self, st: &Step, x: f64) -> f64 {
        st.slow_inf + (st.slow - st.slow_inf) * (self.b * x.max(0.0)).exp() + self.k * st.u
    }

    /// Seconds into a step until it reaches `aim`; `None` = not in this step
    /// (at most `h` long).
    fn cross_in(&self, st: &Step, aim: f64, h: f64) -> Option<f64> {
        if self.temp_in(st, 0.0) >= aim {
            return Some(0.0);
        }
        let t_inf = st.slow_inf + self.k * st.u;
        if t_inf <= aim {
            return None;
        }
        let x = ((t_inf - aim) / (st.slow_inf - st.slow)).ln() / self.b;
        (x <= h).then_some(x)
    }

    /// Seconds from the latest sample until the model reaches `aim` at a
    /// constant load `u`, with T∞ moved by `shift` °C; `None` = never.
    pub fn eta_constant(&self, u: f64, aim: f64, shift: f64) -> Option<f64> {
        let st = Step {
            s: 0.0,
            slow: self.slow_now(),
            slow_inf: self.t_inf(u) + shift - self.k * u,
            u,
            decay: 1.0,
        };
        self.cross_in(&st, aim, f64::INFINITY)
    }

    /// The temperature `h` seconds ahead at a constant load `u`.
    pub fn temp_after(&self, u: f64, h: f64) -> f64 {
        let st = Step {
            s: 0.0,
            slow: self.slow_now(),
            slow_inf: self.t_inf(u) - self.k * u,
            u,
            decay: 1.0,
        };
        self.temp_in(&st, h)
    }

    /// The model under the load `plan(s)` with T∞ moved by `shift`, as
    /// constant-load steps of 1 s growing to 1 % of `s`, up to `max_s`
    /// (at most 2000); each step holds the load of its midpoint.
    pub fn trajectory(&self, plan: &dyn Fn(f64) -> f64, shift: f64, max_s: f64) -> Vec<Step> {
        let mut out = Vec::new();
        let mut slow = self.slow_now();
        let mut s = 0.0;
        let mut decay = 1.0;
        for _ in 0..MAX_STEPS {
            if s >= max_s {
                break;
            }
            let h = (0.01 * s).max(1.0).min(max_s - s);
            let u = plan(s + 0.5 * h);
            let slow_inf = self.t_inf(u) + shift - self.k * u;
            out.push(Step {
                s,
                slow,
                slow_inf,
                u,
                decay,
            });
            let e = (self.b * h).exp();
            slow = slow_inf + (slow - slow_inf) * e;
            decay *= e;
            s += h;
        }
        out
    }

    /// The temperature `x` seconds ahead on a [`Self::trajectory`]. `hint`
    /// is the step found last time: successive calls at growing `x` (the
    /// first-passage sum) walk forward instead of searching.
    pub fn on_trajectory(&self, traj: &[Step], x: f64, hint: &std::cell::Cell<usize>) -> f64 {
        if traj.is_empty() {
            return self.now_c;
        }
        let mut i = hint.get().min(traj.len() - 1);
        if traj[i].s > x {
            i = traj.partition_point(|p| p.s <= x).max(1) - 1;
        }
        while i + 1 < traj.len() && traj[i + 1].s <= x {
            i += 1;
        }
        hint.set(i);
        self.temp_in(&traj[i], x - traj[i].s)
    }

    /// Seconds from the latest sample until the model reaches `aim` under
    /// the load `plan(s)`, T∞ moved by `shift` °C, searched up to `max_s`;
    /// `None` = not within it. Each step is solved exactly.
    pub fn eta_under(
        &self,
        plan: &dyn Fn(f64) -> f64,
        aim: f64,
        shift: f64,
        max_s: f64,
    ) -> Option<f64> {
        self.eta_on(&self.trajectory(plan, 0.0, max_s), aim, shift, max_s)
    }

    /// An upper bound of the temperature along a trajectory with T∞ moved
    /// by `shift` (tight when the fast part is at most the total rise).
    pub fn top_on(&self, traj: &[Step], shift: f64) -> f64 {
        let (slow_top, u_top) = traj
            .iter()
            .fold((self.slow_now(), self.u_last), |(s, u), st| {
                (s.max(st.slow_inf + shift.max(0.0)), u.max(st.u))
            });
        slow_top + self.k.max(0.0) * u_top
    }

    /// [`Self::eta_under`] on a trajectory computed once (with no shift): the
    /// model is linear, so moving every step's T∞ by `shift` moves the slow
    /// state `s` seconds ahead by `shift·(1 − e^(b·s))`.
    pub fn eta_on(&self, traj: &[Step], aim: f64, shift: f64, max_s: f64) -> Option<f64> {
        // Within a step the temperature runs monotonically from its start
        // towards that step's asymptote, and every slow state lies between
        // the first one and the asymptotes before it: when the highest slow
        // level plus the largest jump stays under the aim there is no
        // crossing (the usual "levelling off", answered in one pass).
        if self.top_on(traj, shift) < aim {
            return None;
        }
        for (i, st) in traj.iter().enumerate() {
            let end = traj.get(i + 1).map_or(max_s, |n| n.s);
            let moved = Step {
                slow: st.slow + shift * (1.0 - st.decay),
                slow_inf: st.slow_inf + shift,
                ..*st
            };
            if moved.slow_inf + self.k * moved.u <= aim && moved.slow + self.k * moved.u < aim {
                continue;
            }
            if let Some(x) = self.cross_in(&moved, aim, end - st.s) {
                return Some(st.s + x);
            }
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
        // A shifted asymptote on the one trajectory is the shifted model's own.
        let traj = f.trajectory(&|s| plan.at(s), 0.0, 21600.0);
        let moved = f
            .eta_under(&|s| plan.at(s) + 0.05, 60.0, 0.0, 21600.0)
            .unwrap();
        let shifted = f
            .eta_on(&traj, 60.0, f.t_inf(0.95) - f.t_inf(0.9), 21600.0)
            .unwrap();
        assert!((moved - shifted).abs() < 0.5, "{moved} vs {shifted}");
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
