//! Schedules. Open model: a phase is a list of stages, each a target arrival
//! rate (requests/s) ramped linearly from `from_rate` to `rate` over its
//! duration; [`Arrivals`] turns that into scheduled send offsets (∫rate dt
//! between arrivals is one request for `uniform`, an exponential or gamma
//! draw of mean one for `poisson` and `gamma`), with a live rate factor.
//! Closed model (`users`): each stage holds a number of users, reached at a
//! spawn rate, each thinking [`Think`] between its reply and its next
//! request; a stage ends after its duration or its requests. Pure: no clock,
//! so tests step it with numbers. The built-in kinds (spike, stress, soak,
//! custom, users) and their defaults live here too.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::Distribution;
use serde::{Deserialize, Serialize};

/// What kind of phase this is; decides the report's extra sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    Spike,
    Stress,
    Soak,
    Custom,
    /// Closed model: a population of users with think time.
    Users,
    /// Capacity sweep: one request at a time, then as fast as it goes, then
    /// open rates between the two.
    Sweep,
}

crate::load::engine::events::wire_str!(PhaseKind);

/// A phase kind that is none of `spike`, `stress`, `soak`, `custom`, `users`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a phase kind (spike, stress, soak, custom, users, sweep)")]
pub struct UnknownPhaseKind(pub String);

impl std::str::FromStr for PhaseKind {
    type Err = UnknownPhaseKind;

    fn from_str(s: &str) -> Result<Self, UnknownPhaseKind> {
        [
            PhaseKind::Spike,
            PhaseKind::Stress,
            PhaseKind::Soak,
            PhaseKind::Custom,
            PhaseKind::Users,
            PhaseKind::Sweep,
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
            PhaseKind::Users => "users",
            PhaseKind::Sweep => "sweep",
        }
    }
}

/// One stage. Open: the rate goes linearly from `from_rate` to `rate` over
/// `duration` (equal values: constant rate). Closed: `users` users for
/// `duration`, or until `requests` requests were sent and answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: String,
    pub from_rate: f64,
    pub rate: f64,
    pub duration: Duration,
    /// Closed stages: the population to reach and hold (0 in open stages).
    pub users: u32,
    /// Closed stages: end after this many requests (then `duration` is a cap).
    pub requests: Option<u64>,
}

/// The shortest a time-scaled stage gets ([`PhaseSpec::time_scaled`]).
pub const MIN_SCALED_STAGE: Duration = Duration::from_millis(200);
/// The shortest a time-scaled soak row gets.
pub const MIN_SCALED_ROW: Duration = Duration::from_millis(200);

/// A closed stage given only a request count ends after them or after this long.
pub const REQUEST_STAGE_CAP: Duration = Duration::from_secs(3600);

/// The most users one phase may hold.
pub const MAX_USERS: u32 = 100_000;

impl Stage {
    pub fn constant(name: impl Into<String>, rate: f64, duration: Duration) -> Self {
        Stage {
            name: name.into(),
            from_rate: rate,
            rate,
            duration,
            users: 0,
            requests: None,
        }
    }

    /// A closed stage of `users` users for `duration` and/or `requests` requests.
    pub fn users(users: u32, duration: Option<Duration>, requests: Option<u64>) -> Self {
        let name = match requests {
            Some(n) => format!("{users} users × {n} req"),
            None => format!("{users} users"),
        };
        Stage {
            name,
            from_rate: 0.0,
            rate: 0.0,
            duration: duration.unwrap_or(REQUEST_STAGE_CAP),
            users,
            requests,
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
    /// Open phases: how arrivals are spread around the target rate.
    pub arrivals: ArrivalProcess,
    /// Closed (`users`) phases: think time, spawn rate, sessions.
    pub users: Option<UsersSpec>,
    /// Sweep phases: the rates to try after the two measuring stages.
    pub sweep: Option<SweepParams>,
}

/// A capacity sweep (guidellm's profile): a `synchronous` stage (one user,
/// no think: one request at a time), a `throughput` stage (`max_concurrency`
/// users, no think: as fast as the server goes), then `rates` open stages at
/// rates evenly between the two measured rates, each held `hold`. A stage is
/// good when its goodput (or, without LLM SLOs, its success) is at least
/// `min_good_pct`; the sweep reports the highest good rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepParams {
    pub mode: SweepMode,
    pub rates: usize,
    pub hold: Duration,
    /// Rates mode: users of the `throughput` stage; users mode: the most users tried.
    pub max_concurrency: u32,
    pub min_good_pct: f64,
}

/// What a sweep varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SweepMode {
    /// Open rates between the measured synchronous and throughput rates.
    #[default]
    Rates,
    /// Users (closed, no think): doubled from 1 while good, then bisected
    /// between the highest good and the lowest bad count.
    Users,
}

/// Stages a users sweep runs at most.
pub const MAX_USERS_SWEEP_STAGES: usize = 24;

/// The users of a users sweep's next stage from the stages so far `(users,
/// good)`: doubling from the last while all were good (up to `max`); after
/// a bad one, the midpoint of the highest good and the lowest bad count,
/// until they are adjacent. `None`: the sweep is done.
pub fn users_sweep_next(done: &[(u32, bool)], max: u32) -> Option<u32> {
    if done.len() >= MAX_USERS_SWEEP_STAGES {
        return None;
    }
    let good = done.iter().filter(|d| d.1).map(|d| d.0).max();
    let bad = done.iter().filter(|d| !d.1).map(|d| d.0).min();
    match (good, bad) {
        (_, None) => {
            let last = done.last()?.0;
            (last < max).then(|| last.saturating_mul(2).min(max))
        }
        (None, Some(_)) => None,
        (Some(g), Some(b)) => {
            let m = g + b.saturating_sub(g) / 2;
            (m > g && m < b).then_some(m)
        }
    }
}

impl Default for SweepParams {
    fn default() -> Self {
        SweepParams {
            mode: SweepMode::Rates,
            rates: 5,
            hold: Duration::from_secs(30),
            max_concurrency: 16,
            min_good_pct: 95.0,
        }
    }
}

/// The open rates of a sweep between its measured synchronous and
/// throughput rates (exclusive), evenly spaced.
pub fn sweep_rates(p: &SweepParams, synchronous: f64, throughput: f64) -> Vec<f64> {
    let n = p.rates;
    (1..=n)
        .map(|i| synchronous + (throughput - synchronous) * i as f64 / (n + 1) as f64)
        .filter(|r| r.is_finite() && *r > 0.0)
        .collect()
}

impl PhaseSpec {
    pub fn total_duration(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// How long the phase is planned to run: its stages, and a sweep's rates to come.
    pub fn planned_duration(&self) -> Duration {
        self.total_duration()
            + self
                .sweep
                .filter(|p| self.is_closed() && p.mode == SweepMode::Rates)
                .map_or(Duration::ZERO, |p| p.hold * p.rates as u32)
    }

    /// Stretch or cut every stage so the phase lasts `total`.
    #[must_use]
    pub fn scaled_to(mut self, total: Duration) -> Self {
        if let Some(p) = self.sweep.as_mut() {
            // Every stage of a sweep, measured or rate, holds the same time.
            p.hold = total / (p.rates as u32 + 2);
            let hold = p.hold;
            self.stages.iter_mut().for_each(|s| s.duration = hold);
            return self;
        }
        let cur = self.total_duration().as_secs_f64();
        if cur > 0.0 {
            let f = total.as_secs_f64() / cur;
            for s in &mut self.stages {
                s.duration = Duration::from_secs_f64(s.duration.as_secs_f64() * f);
            }
        }
        self
    }

    /// Every duration times `factor` (a campaign's `--time-scale`): stages,
    /// soak rows and sweep holds; rates, users and think times stay, so a
    /// rehearsal offers the same intensity for less time. No stage gets
    /// shorter than [`MIN_SCALED_STAGE`], no soak row shorter than
    /// [`MIN_SCALED_ROW`].
    #[must_use]
    pub fn time_scaled(mut self, factor: f64) -> Self {
        let scale = |d: Duration, min: Duration| {
            Duration::from_secs_f64(d.as_secs_f64() * factor.max(0.0)).max(min)
        };
        for s in &mut self.stages {
            s.duration = scale(s.duration, MIN_SCALED_STAGE);
        }
        self.row_every = scale(self.row_every, MIN_SCALED_ROW);
        if let Some(p) = self.sweep.as_mut() {
            p.hold = scale(p.hold, MIN_SCALED_STAGE);
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
            arrivals: ArrivalProcess::Uniform,
            users: None,
            sweep: None,
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
            arrivals: ArrivalProcess::Uniform,
            users: None,
            sweep: None,
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
            arrivals: ArrivalProcess::Uniform,
            users: None,
            sweep: None,
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
                    users: 0,
                    requests: None,
                }
            })
            .collect();
        PhaseSpec {
            name: "custom".into(),
            kind: PhaseKind::Custom,
            stages,
            break_criteria: None,
            row_every: Duration::from_secs(60),
            arrivals: ArrivalProcess::Uniform,
            users: None,
            sweep: None,
        }
    }
}

impl PhaseSpec {
    /// Users (closed model): one stage per `(users, duration, requests)`.
    pub fn users(stages: &[(u32, Option<Duration>, Option<u64>)], spec: UsersSpec) -> Self {
        PhaseSpec {
            name: "users".into(),
            kind: PhaseKind::Users,
            stages: stages
                .iter()
                .map(|&(u, d, r)| Stage::users(u, d, r))
                .collect(),
            break_criteria: None,
            row_every: Duration::from_secs(60),
            arrivals: ArrivalProcess::Uniform,
            users: Some(spec),
            sweep: None,
        }
    }

    /// A sweep's measuring part (closed): `synchronous` and `throughput`;
    /// a users sweep starts with one user (its next stages come as it goes).
    pub fn sweep(p: &SweepParams) -> Self {
        let mut sync = Stage::users(1, Some(p.hold), None);
        sync.name = "synchronous".into();
        let mut thr = Stage::users(p.max_concurrency.max(1), Some(p.hold), None);
        thr.name = "throughput".into();
        let stages = match p.mode {
            SweepMode::Rates => vec![sync, thr],
            SweepMode::Users => vec![Stage::users(1, Some(p.hold), None)],
        };
        PhaseSpec {
            name: "sweep".into(),
            kind: PhaseKind::Sweep,
            stages,
            break_criteria: None,
            row_every: Duration::from_secs(60),
            arrivals: ArrivalProcess::Uniform,
            users: Some(UsersSpec {
                think: Think::Constant(Duration::ZERO),
                ..UsersSpec::default()
            }),
            sweep: Some(*p),
        }
    }

    /// The open part that follows a sweep's measuring part: one constant
    /// stage per rate, named `{name} rates`.
    #[must_use]
    pub fn sweep_rates_phase(&self, rates: &[f64]) -> Option<Self> {
        let p = self.sweep.filter(|p| p.mode == SweepMode::Rates)?;
        if rates.is_empty() {
            return None;
        }
        Some(PhaseSpec {
            name: format!("{} rates", self.name),
            kind: PhaseKind::Sweep,
            stages: rates
                .iter()
                .map(|&r| Stage::constant(format!("{r:.2} rps"), r, p.hold))
                .collect(),
            break_criteria: None,
            row_every: Duration::from_secs(60),
            arrivals: self.arrivals,
            users: None,
            sweep: Some(p),
        })
    }

    /// `true` for closed-model (users) phases.
    pub fn is_closed(&self) -> bool {
        self.users.is_some()
    }
}

/// Default cap on sessions per MCP target in a users phase.
pub const DEFAULT_MAX_SESSIONS: usize = 64;

/// How a closed phase's users behave.
#[derive(Debug, Clone, PartialEq)]
pub struct UsersSpec {
    pub think: Think,
    /// Users started (or stopped) per second on the way to a stage's count;
    /// `None`: all at once.
    pub spawn_rate: Option<f64>,
    /// Each user gets its own session per MCP target (a stdio child, an HTTP
    /// session) up to this many; beyond it users share them round robin.
    pub max_sessions: usize,
    /// The phase's calls go through the ops in turn (a campaign's baseline:
    /// with one user and as many requests as ops, every tool once) instead
    /// of drawing from the weighted mix.
    pub in_turn: bool,
}

impl Default for UsersSpec {
    fn default() -> Self {
        UsersSpec {
            think: Think::Constant(Duration::from_secs(1)),
            spawn_rate: None,
            max_sessions: DEFAULT_MAX_SESSIONS,
            in_turn: false,
        }
    }
}

/// What a user does between its reply and its next request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Think {
    /// The same wait every time.
    Constant(Duration),
    /// Uniform in `min..=max`.
    Uniform { min: Duration, max: Duration },
    /// Start-to-start: the next request leaves this long after the previous
    /// one was sent (at once if the reply took longer).
    Pacing(Duration),
}

/// A think time that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThinkError {
    #[error("'{0}': {1}")]
    Duration(String, crate::config::DurationError),
    #[error("'{0}': the range's minimum is above its maximum")]
    Reversed(String),
}

impl Think {
    /// `"5s"` (constant), `"2s..5s"` (uniform) or `"pacing:3s"` (start-to-start).
    pub fn parse(s: &str) -> Result<Think, ThinkError> {
        let d = |x: &str| {
            crate::config::parse_duration(x.trim()).map_err(|e| ThinkError::Duration(s.into(), e))
        };
        if let Some(p) = s.trim().strip_prefix("pacing:") {
            return Ok(Think::Pacing(d(p)?));
        }
        match s.split_once("..") {
            Some((a, b)) => {
                let (min, max) = (d(a)?, d(b)?);
                if min > max {
                    return Err(ThinkError::Reversed(s.into()));
                }
                Ok(Think::Uniform { min, max })
            }
            None => Ok(Think::Constant(d(s)?)),
        }
    }

    /// The wait planned after a reply that took `service` since the send.
    pub fn draw<R: Rng>(&self, rng: &mut R, service: Duration) -> Duration {
        match *self {
            Think::Constant(d) => d,
            Think::Uniform { min, max } if max > min => {
                Duration::from_secs_f64(rng.random_range(min.as_secs_f64()..=max.as_secs_f64()))
            }
            Think::Uniform { min, .. } => min,
            Think::Pacing(p) => p.saturating_sub(service),
        }
    }

    /// `2–5 s`, `500 ms`, `pacing 3 s`.
    pub fn label(&self) -> String {
        fn short(d: Duration) -> String {
            let s = d.as_secs_f64();
            if s >= 1.0 || s == 0.0 {
                format!("{}", (s * 100.0).round() / 100.0)
            } else {
                format!("{}", (s * 1000.0).round())
            }
        }
        fn unit(d: Duration) -> &'static str {
            if d.as_secs_f64() >= 1.0 || d.is_zero() {
                "s"
            } else {
                "ms"
            }
        }
        match *self {
            Think::Constant(d) => format!("{} {}", short(d), unit(d)),
            Think::Uniform { min, max } if unit(min) == unit(max) => {
                format!("{}–{} {}", short(min), short(max), unit(max))
            }
            Think::Uniform { min, max } => {
                format!("{} {}–{} {}", short(min), unit(min), short(max), unit(max))
            }
            Think::Pacing(d) => format!("pacing {} {}", short(d), unit(d)),
        }
    }
}

/// How open-model arrivals spread around the target rate (vLLM's
/// `--request-rate` with `--burstiness`): evenly, as a Poisson process, or
/// with gamma-distributed gaps (shape < 1 burstier than Poisson, > 1 more even).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum ArrivalProcess {
    #[default]
    Uniform,
    Poisson,
    Gamma {
        shape: f64,
    },
}

impl ArrivalProcess {
    /// The next gap in units of "one request's worth of ∫rate dt" (mean 1).
    pub fn draw<R: Rng>(&self, rng: &mut R) -> f64 {
        match *self {
            ArrivalProcess::Uniform => 1.0,
            ArrivalProcess::Poisson => rand_distr::Exp1.sample(rng),
            ArrivalProcess::Gamma { shape } => rand_distr::Gamma::new(shape, 1.0 / shape)
                .map_or(1.0, |g: rand_distr::Gamma<f64>| g.sample(rng)),
        }
    }

    /// `uniform`, `poisson`, `gamma 0.5`.
    pub fn label(&self) -> String {
        match self {
            ArrivalProcess::Uniform => "uniform".into(),
            ArrivalProcess::Poisson => "poisson".into(),
            ArrivalProcess::Gamma { shape } => format!("gamma {shape}"),
        }
    }
}

/// An arrival process name that is none of uniform, poisson, gamma:K.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an arrival process (uniform, poisson, gamma:SHAPE with SHAPE > 0)")]
pub struct UnknownArrivals(pub String);

impl std::str::FromStr for ArrivalProcess {
    type Err = UnknownArrivals;

    /// `uniform`, `poisson`, `gamma:0.5` (the command line's spelling).
    fn from_str(s: &str) -> Result<Self, UnknownArrivals> {
        match s {
            "uniform" => Ok(ArrivalProcess::Uniform),
            "poisson" => Ok(ArrivalProcess::Poisson),
            _ => s
                .strip_prefix("gamma:")
                .and_then(|k| k.parse::<f64>().ok())
                .filter(|k| k.is_finite() && *k > 0.0)
                .map(|shape| ArrivalProcess::Gamma { shape })
                .ok_or_else(|| UnknownArrivals(s.into())),
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
    process: ArrivalProcess,
    rng: StdRng,
}

impl Arrivals {
    /// Evenly spaced arrivals.
    #[cfg(test)]
    pub fn new(stages: &[Stage]) -> Self {
        Self::with_process(stages, ArrivalProcess::Uniform, 0)
    }

    /// Arrivals of `process`, reproducible from `seed`.
    pub fn with_process(stages: &[Stage], process: ArrivalProcess, seed: u64) -> Self {
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
            process,
            rng: StdRng::seed_from_u64(seed),
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
    /// With uniform arrivals, the first request of a phase whose first stage
    /// has a positive rate is sent at once.
    pub fn next_arrival(&mut self) -> Option<(f64, usize)> {
        if self.first {
            self.first = false;
            if let Some(i) = self.stage_at(0.0) {
                if self.rate_at(0.0) > 0.0 && self.process == ArrivalProcess::Uniform {
                    return Some((0.0, i));
                }
            }
        }
        let mut need = self.process.draw(&mut self.rng);
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

    /// Gaps of 20 000 arrivals at 10 rps from `process` and `seed`.
    fn gaps(process: ArrivalProcess, seed: u64) -> Vec<f64> {
        let stage = [Stage::constant("s", 10.0, Duration::from_secs(2000))];
        let mut a = Arrivals::with_process(&stage, process, seed);
        let offs: Vec<f64> = std::iter::from_fn(|| a.next_arrival().map(|x| x.0)).collect();
        offs.windows(2).map(|w| w[1] - w[0]).collect()
    }

    fn mean_cv(g: &[f64]) -> (f64, f64) {
        let n = g.len() as f64;
        let m = g.iter().sum::<f64>() / n;
        let var = g.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
        (m, var.sqrt() / m)
    }

    #[test]
    fn arrival_processes_keep_the_rate_and_change_the_spread() {
        // Uniform: every gap 0.1 s. Poisson: exponential gaps, CV 1.
        // Gamma with shape k: CV 1/√k (0.5 → 1.41, burstier; 4 → 0.5, smoother).
        for (process, cv) in [
            (ArrivalProcess::Uniform, 0.0),
            (ArrivalProcess::Poisson, 1.0),
            (ArrivalProcess::Gamma { shape: 0.5 }, 2f64.sqrt()),
            (ArrivalProcess::Gamma { shape: 4.0 }, 0.5),
        ] {
            let g = gaps(process, 7);
            assert!(
                (19_300..=20_700).contains(&g.len()),
                "{process:?}: {}",
                g.len()
            );
            let (m, c) = mean_cv(&g);
            assert!((m - 0.1).abs() < 0.003, "{process:?}: mean gap {m}");
            assert!((c - cv).abs() < 0.06, "{process:?}: CV {c} vs {cv}");
        }
        // The same seed gives the same schedule; another seed another one.
        let p = ArrivalProcess::Poisson;
        assert_eq!(gaps(p, 7)[..100], gaps(p, 7)[..100]);
        assert_ne!(gaps(p, 7)[..100], gaps(p, 8)[..100]);
    }

    #[test]
    fn think_times_parse() {
        let s = Duration::from_secs;
        assert_eq!(Think::parse("5s"), Ok(Think::Constant(s(5))));
        assert_eq!(
            Think::parse("2s..5s"),
            Ok(Think::Uniform {
                min: s(2),
                max: s(5)
            })
        );
        assert_eq!(Think::parse("pacing:3s"), Ok(Think::Pacing(s(3))));
        assert_eq!(
            Think::parse("5s..2s").unwrap_err().to_string(),
            "'5s..2s': the range's minimum is above its maximum"
        );
        assert!(Think::parse("soon").is_err());
        assert!(Think::parse("-1s").is_err());
        assert!(Think::parse("pacing:").is_err());
    }

    #[test]
    fn scaling_stretches_every_stage() {
        let spec = PhaseSpec::spike(&SpikeParams::default()).scaled_to(Duration::from_secs(9));
        assert!(spec
            .stages
            .iter()
            .all(|s| s.duration == Duration::from_secs(3)));
    }

    #[test]
    fn a_sweep_measures_then_spreads_its_rates_evenly() {
        let p = SweepParams {
            rates: 3,
            ..SweepParams::default()
        };
        assert_eq!(sweep_rates(&p, 2.0, 10.0), vec![4.0, 6.0, 8.0]);
        let spec = PhaseSpec::sweep(&p);
        assert!(spec.is_closed());
        assert_eq!(
            spec.stages
                .iter()
                .map(|s| (s.name.as_str(), s.users))
                .collect::<Vec<_>>(),
            vec![("synchronous", 1), ("throughput", 16)]
        );
        assert_eq!(spec.planned_duration(), Duration::from_secs(150));
        let rates = spec.sweep_rates_phase(&[4.0, 6.0]).unwrap();
        assert!(!rates.is_closed());
        assert_eq!(rates.name, "sweep rates");
        assert_eq!(rates.stages[1].rate, 6.0);
        assert_eq!(rates.planned_duration(), Duration::from_secs(60));
        // --duration shares the whole among every stage to come.
        let scaled = PhaseSpec::sweep(&p).scaled_to(Duration::from_secs(50));
        assert_eq!(scaled.sweep.unwrap().hold, Duration::from_secs(10));
        assert_eq!(scaled.planned_duration(), Duration::from_secs(50));
    }

    #[test]
    fn a_users_sweep_doubles_then_bisects_then_stops() {
        let next = |d: &[(u32, bool)]| users_sweep_next(d, 64);
        assert_eq!(next(&[(1, true)]), Some(2));
        assert_eq!(next(&[(1, true), (2, true), (4, true)]), Some(8));
        assert_eq!(next(&[(1, true), (2, true), (4, false)]), Some(3));
        assert_eq!(next(&[(1, true), (2, true), (4, false), (3, true)]), None);
        assert_eq!(
            next(&[(1, true), (16, true), (32, false), (24, false)]),
            Some(20)
        );
        // Nothing good at one user: nothing to look for.
        assert_eq!(next(&[(1, false)]), None);
        // The ceiling holds, and is tried itself.
        assert_eq!(
            users_sweep_next(&[(1, true), (2, true), (4, true)], 6),
            Some(6)
        );
        assert_eq!(users_sweep_next(&[(6, true)], 6), None);
    }
}
