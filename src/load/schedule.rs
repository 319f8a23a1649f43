//! Open-model schedules: a phase is a list of stages, each a target arrival
//! rate (requests/s) ramped linearly from `from_rate` to `rate` over its
//! duration. [`Arrivals`] turns that into exact scheduled send offsets
//! (∫rate dt = 1 between arrivals), with a live rate factor. Pure: no clock,
//! so tests step it with numbers. The built-in kinds (spike, stress, soak,
//! custom) and their defaults live here too.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What kind of phase this is; decides the report's extra sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    Spike,
    Stress,
    Soak,
    Custom,
}

crate::load::engine::events::wire_str!(PhaseKind);

/// A phase kind that is none of `spike`, `stress`, `soak`, `custom`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a phase kind (spike, stress, soak, custom)")]
pub struct UnknownPhaseKind(pub String);

impl std::str::FromStr for PhaseKind {
    type Err = UnknownPhaseKind;

    fn from_str(s: &str) -> Result<Self, UnknownPhaseKind> {
        [
            PhaseKind::Spike,
            PhaseKind::Stress,
            PhaseKind::Soak,
            PhaseKind::Custom,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| UnknownPhaseKind(s.to_string()))
    }
}

impl PhaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseKind::Spike => "spike",
            PhaseKind::Stress => "stress",
            PhaseKind::Soak => "soak",
            PhaseKind::Custom => "custom",
        }
    }
}

/// One stage: the rate goes linearly from `from_rate` to `rate` over `duration`
/// (equal values: constant rate).
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: String,
    pub from_rate: f64,
    pub rate: f64,
    pub duration: Duration,
}

impl Stage {
    pub fn constant(name: impl Into<String>, rate: f64, duration: Duration) -> Self {
        Stage {
            name: name.into(),
            from_rate: rate,
            rate,
            duration,
        }
    }

    /// Mean target rate over the stage.
    pub fn mean_rate(&self) -> f64 {
        f64::midpoint(self.from_rate, self.rate)
    }
}

/// When a stress phase has found its breaking point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakCriteria {
    /// A stage breaks when fewer than this percentage of started requests succeed.
    #[serde(default = "d_success")]
    pub min_success_pct: f64,
    /// … or its p95 latency exceeds this.
    #[serde(default = "d_p95")]
    pub max_p95_ms: f64,
    /// … or more than this percentage of scheduled requests were dropped.
    #[serde(default = "d_dropped")]
    pub max_dropped_pct: f64,
}

fn d_success() -> f64 {
    95.0
}
fn d_p95() -> f64 {
    10_000.0
}
fn d_dropped() -> f64 {
    5.0
}

impl Default for BreakCriteria {
    fn default() -> Self {
        BreakCriteria {
            min_success_pct: d_success(),
            max_p95_ms: d_p95(),
            max_dropped_pct: d_dropped(),
        }
    }
}

/// Everything the engine needs to run one phase.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseSpec {
    pub name: String,
    pub kind: PhaseKind,
    pub stages: Vec<Stage>,
    /// Stress only: stop at the first stage that breaks these.
    pub break_criteria: Option<BreakCriteria>,
    /// Soak: one row (p50, p95, success, RSS, available memory) per this interval.
    pub row_every: Duration,
}

impl PhaseSpec {
    pub fn total_duration(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// Stretch or cut every stage so the phase lasts `total`.
    #[must_use]
    pub fn scaled_to(mut self, total: Duration) -> Self {
        let cur = self.total_duration().as_secs_f64();
        if cur > 0.0 {
            let f = total.as_secs_f64() / cur;
            for s in &mut self.stages {
                s.duration = Duration::from_secs_f64(s.duration.as_secs_f64() * f);
            }
        }
        self
    }

    /// Spike: baseline → spike → recovery.
    pub fn spike(p: &SpikeParams) -> Self {
        PhaseSpec {
            name: "spike".into(),
            kind: PhaseKind::Spike,
            stages: vec![
                Stage::constant("baseline", p.baseline_rate, p.baseline),
                Stage::constant("spike", p.peak_rate, p.spike),
                Stage::constant("recovery", p.baseline_rate, p.recovery),
            ],
            break_criteria: None,
            row_every: Duration::from_secs(60),
        }
    }

    /// Stress (breakpoint): `start_rate`, + `step_rate` every `step_every`, up to `max_rate`.
    pub fn stress(p: &StressParams) -> Self {
        let mut stages = Vec::new();
        let mut rate = p.start_rate;
        let step = if p.step_rate > 0.0 { p.step_rate } else { 1.0 };
        while rate <= p.max_rate + 1e-9 && stages.len() < 10_000 {
            stages.push(Stage::constant(format!("{rate} rps"), rate, p.step_every));
            rate += step;
        }
        PhaseSpec {
            name: "stress".into(),
            kind: PhaseKind::Stress,
            stages,
            break_criteria: Some(p.criteria),
            row_every: Duration::from_secs(60),
        }
    }

    /// Soak: constant rate, one row per `row_every`.
    pub fn soak(p: &SoakParams) -> Self {
        PhaseSpec {
            name: "soak".into(),
            kind: PhaseKind::Soak,
            stages: vec![Stage::constant("soak", p.rate, p.duration)],
            break_criteria: None,
            row_every: p.row_every,
        }
    }

    /// Custom: `(rate, duration)` steps; with `ramp` each stage ramps linearly
    /// from the previous stage's rate (the first from 0).
    pub fn custom(steps: &[(f64, Duration)], ramp: bool) -> Self {
        let mut prev = 0.0;
        let stages = steps
            .iter()
            .enumerate()
            .map(|(i, &(rate, d))| {
                let from = if ramp { prev } else { rate };
                prev = rate;
                Stage {
                    name: format!("stage {}", i + 1),
                    from_rate: from,
                    rate,
                    duration: d,
                }
            })
            .collect();
        PhaseSpec {
            name: "custom".into(),
            kind: PhaseKind::Custom,
            stages,
            break_criteria: None,
            row_every: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpikeParams {
    pub baseline_rate: f64,
    pub peak_rate: f64,
    pub baseline: Duration,
    pub spike: Duration,
    pub recovery: Duration,
}

impl Default for SpikeParams {
    fn default() -> Self {
        SpikeParams {
            baseline_rate: 2.0,
            peak_rate: 15.0,
            baseline: Duration::from_secs(30),
            spike: Duration::from_secs(30),
            recovery: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StressParams {
    pub start_rate: f64,
    pub step_rate: f64,
    pub step_every: Duration,
    pub max_rate: f64,
    pub criteria: BreakCriteria,
}

impl Default for StressParams {
    fn default() -> Self {
        StressParams {
            start_rate: 1.0,
            step_rate: 3.0,
            step_every: Duration::from_secs(60),
            max_rate: 30.0,
            criteria: BreakCriteria::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SoakParams {
    pub rate: f64,
    pub duration: Duration,
    pub row_every: Duration,
}

impl Default for SoakParams {
    fn default() -> Self {
        SoakParams {
            rate: 5.0,
            duration: Duration::from_secs(600),
            row_every: Duration::from_secs(60),
        }
    }
}

/// Scheduled arrival offsets for one phase. `next()` gives the offset (seconds
/// from phase start) of the next request and its stage, so that the integral of
/// `factor × rate` between consecutive arrivals is exactly one request.
#[derive(Debug, Clone)]
pub struct Arrivals {
    stages: Vec<Stage>,
    /// Start offset of each stage.
    starts: Vec<f64>,
    t: f64,
    factor: f64,
    first: bool,
}

impl Arrivals {
    pub fn new(stages: &[Stage]) -> Self {
        let mut starts = Vec::with_capacity(stages.len());
        let mut acc = 0.0;
        for s in stages {
            starts.push(acc);
            acc += s.duration.as_secs_f64();
        }
        Arrivals {
            stages: stages.to_vec(),
            starts,
            t: 0.0,
            factor: 1.0,
            first: true,
        }
    }

    /// Multiply every rate from the current point on.
    pub fn set_factor(&mut self, f: f64) {
        self.factor = if f.is_finite() { f.max(0.0) } else { 1.0 };
    }

    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// Total length of the phase in seconds.
    pub fn end(&self) -> f64 {
        self.starts.last().copied().unwrap_or(0.0)
            + self.stages.last().map_or(0.0, |s| s.duration.as_secs_f64())
    }

    /// The stage running at offset `t` (`None` after the end).
    pub fn stage_at(&self, t: f64) -> Option<usize> {
        if t >= self.end() {
            return None;
        }
        (0..self.stages.len()).rev().find(|&i| t >= self.starts[i])
    }

    /// Target rate (with factor) at offset `t`.
    pub fn rate_at(&self, t: f64) -> f64 {
        match self.stage_at(t) {
            Some(i) => self.factor * self.local_rate(i, t),
            None => 0.0,
        }
    }

    fn local_rate(&self, i: usize, t: f64) -> f64 {
        let s = &self.stages[i];
        let d = s.duration.as_secs_f64();
        if d <= 0.0 {
            return s.rate;
        }
        let u = ((t - self.starts[i]) / d).clamp(0.0, 1.0);
        s.from_rate + (s.rate - s.from_rate) * u
    }

    /// Next scheduled offset and its stage, or `None` when the phase is over.
    /// The first request of a phase whose first stage has a positive rate is sent at once.
    pub fn next_arrival(&mut self) -> Option<(f64, usize)> {
        if self.first {
            self.first = false;
            if let Some(i) = self.stage_at(0.0) {
                if self.rate_at(0.0) > 0.0 {
                    return Some((0.0, i));
                }
            }
        }
        let mut need = 1.0;
        let mut t = self.t;
        loop {
            let i = self.stage_at(t)?;
            let stage_end = self.starts[i] + self.stages[i].duration.as_secs_f64();
            let d = self.stages[i].duration.as_secs_f64().max(1e-12);
            let a = self.factor * self.local_rate(i, t);
            let b = self.factor * (self.stages[i].rate - self.stages[i].from_rate) / d;
            let rem = stage_end - t;
            // Area under a + b·x over [0, u] = a·u + b·u²/2.
            let area_rem = a * rem + b * rem * rem / 2.0;
            if area_rem - need > 1e-9 {
                let u = if b.abs() < 1e-12 {
                    need / a
                } else {
                    let disc = (a * a + 2.0 * b * need).max(0.0);
                    (-a + disc.sqrt()) / b
                };
                let u = u.clamp(0.0, rem);
                self.t = t + u;
                return Some((self.t, i));
            }
            need -= area_rem.max(0.0);
            t = stage_end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(spec: &PhaseSpec) -> Vec<usize> {
        let mut a = Arrivals::new(&spec.stages);
        let mut per = vec![0; spec.stages.len()];
        while let Some((_, i)) = a.next_arrival() {
            per[i] += 1;
        }
        per
    }

    #[test]
    fn spike_defaults_schedule_exact_counts() {
        let spec = PhaseSpec::spike(&SpikeParams::default());
        assert_eq!(spec.total_duration(), Duration::from_secs(90));
        let per = count(&spec);
        // 2 rps × 30 s, 15 rps × 30 s, 2 rps × 30 s (±1 at stage edges).
        assert!((59..=61).contains(&per[0]), "{per:?}");
        assert!((449..=451).contains(&per[1]), "{per:?}");
        assert!((59..=61).contains(&per[2]), "{per:?}");
    }

    #[test]
    fn arrivals_are_evenly_spaced_at_constant_rate() {
        let mut a = Arrivals::new(&[Stage::constant("s", 4.0, Duration::from_secs(1))]);
        let offs: Vec<f64> = std::iter::from_fn(|| a.next_arrival().map(|x| x.0)).collect();
        assert_eq!(offs.len(), 4);
        for (i, o) in offs.iter().enumerate() {
            assert!((o - i as f64 * 0.25).abs() < 1e-9, "{offs:?}");
        }
    }

    #[test]
    fn linear_ramp_integrates_to_area() {
        // 0 → 100 rps over 10 s: 500 requests, denser at the end.
        let spec = PhaseSpec::custom(&[(100.0, Duration::from_secs(10))], true);
        let mut a = Arrivals::new(&spec.stages);
        let offs: Vec<f64> = std::iter::from_fn(|| a.next_arrival().map(|x| x.0)).collect();
        assert!((499..=500).contains(&offs.len()), "{}", offs.len());
        let first_half = offs.iter().filter(|&&t| t < 5.0).count();
        assert!((124..=126).contains(&first_half), "{first_half}");
        assert!(offs.windows(2).all(|w| w[1] >= w[0]));
    }

    #[test]
    fn rate_factor_applies_from_now_on() {
        let mut a = Arrivals::new(&[Stage::constant("s", 10.0, Duration::from_secs(2))]);
        let mut n = 0;
        while let Some((t, _)) = a.next_arrival() {
            n += 1;
            if t >= 1.0 && a.factor() == 1.0 {
                a.set_factor(2.0);
            }
        }
        // 10 in the first second, 20 in the second.
        assert!((29..=31).contains(&n), "{n}");
    }

    #[test]
    fn stress_steps_and_zero_rate_stages() {
        let spec = PhaseSpec::stress(&StressParams::default());
        assert_eq!(spec.stages.len(), 10); // 1, 4, 7, … 28
        assert_eq!(spec.stages[9].rate, 28.0);
        let spec = PhaseSpec::custom(
            &[(0.0, Duration::from_secs(5)), (2.0, Duration::from_secs(1))],
            false,
        );
        let mut a = Arrivals::new(&spec.stages);
        let (t, i) = a.next_arrival().unwrap();
        assert_eq!(i, 1);
        assert!((t - 5.5).abs() < 1e-9, "{t}");
    }

    #[test]
    fn scaling_stretches_every_stage() {
        let spec = PhaseSpec::spike(&SpikeParams::default()).scaled_to(Duration::from_secs(9));
        assert!(spec
            .stages
            .iter()
            .all(|s| s.duration == Duration::from_secs(3)));
    }
}
