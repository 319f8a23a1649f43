//! The plan's load ahead: the CPU busy fraction (0–1, the load-aware thermal
//! model's u) that the rest of the running phase, and the phases still to
//! come, will put on the board, as a [`LoadPlan`] for
//! [`crate::predict::Predictors::planned`]. Pure: [`load_ahead`] turns the
//! phases, the position in them and the measured [`LoadShares`] into the
//! plan; [`PlanTracker`] gathers those from the engine's events and the
//! snapshots (the dashboard and `jetstress run` each hold one). Fixed
//! memory: the plan's phases, a few running sums per stage.
//!
//! Each stage's load is `idle + burn + requests`, at most 1:
//! - `burn`: the CPU burn's `duty × threads / cores`, exactly, while it runs;
//! - `requests`: the running stage's measured utilisation above `idle +
//!   burn`, per achieved request/s (open stages) or per user (closed
//!   stages), times the stage's rate or users;
//! - `idle`: the utilisation seen before any load was asked for (else the
//!   running stage's less the burn, and the requests are not told apart);
//! - after the plan, the idle load (plus the burn where it outlives the
//!   phases: the dashboard's `c` key). See `docs/predictions.md`.

use std::collections::VecDeque;

use crate::load::background::cpu::CpuSpec;
use crate::load::engine::{EngineEvent, GeneratorKind, GeneratorState, LoadWindow, PhaseEvent};
use crate::load::schedule::{PhaseSpec, Stage};
use crate::predict::LoadPlan;
use crate::snapshot::Snapshot;

/// A ramped stage is planned as this many constant pieces.
pub const RAMP_PIECES: usize = 4;
/// The most steps a plan holds; beyond, the far ones are merged (their
/// time-weighted mean load), so a long stress ladder stays cheap to step.
pub const MAX_PLAN_STEPS: usize = 32;
/// Of those, the nearest this many stay exact.
const EXACT_STEPS: usize = 16;
/// Time constant of the idle baseline's running mean, seconds.
pub const IDLE_SMOOTH_S: f64 = 60.0;

/// What the board does once the plan's phases are over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterPlan {
    /// Everything stops (`jetstress run` stops the CPU burn with its phases).
    Idle,
    /// The CPU burn goes on (the dashboard's burn runs until its key).
    BurnGoesOn,
}

/// The running stage: its index in the running phase, how long it has run,
/// and the requests it has sent (a closed stage may end after N).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    pub stage: usize,
    pub stage_elapsed_s: f64,
    pub stage_requests: u64,
}

/// The loads the plan is built from, each a CPU busy fraction (0–1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadShares {
    /// The board's own load, without jetstress's.
    pub idle: f64,
    /// The CPU burn's share while it runs (0 when it does not).
    pub burn: f64,
    /// The running stage's measured request share (held where a stage's
    /// cost is unknown).
    pub current: f64,
    /// Request share per achieved request/s; `None`: not measured.
    pub per_rps: Option<f64>,
    /// Request share per user (closed stages); `None`: not measured.
    pub per_user: Option<f64>,
    /// Achieved request/s per user (how soon a closed stage of N requests ends).
    pub rps_per_user: Option<f64>,
    /// The engine's multipliers on the plan's rates and users (the dashboard's keys).
    pub rate_factor: f64,
    pub users_factor: f64,
    pub after: AfterPlan,
}

impl LoadShares {
    /// The request share of a stage at `rate` (open; the spec's rate, before
    /// the factor) or of its users (closed).
    fn requests(&self, stage: &Stage, closed: bool, rate: f64) -> f64 {
        let share = if closed {
            self.per_user
                .map(|c| c * f64::from(stage.users) * self.users_factor)
        } else {
            self.per_rps.map(|c| c * rate * self.rate_factor)
        };
        share.unwrap_or(self.current).max(0.0)
    }

    fn load(&self, requests: f64) -> f64 {
        (self.idle + self.burn + requests).clamp(0.0, 1.0)
    }

    /// The load once the plan is over.
    pub fn after_load(&self) -> f64 {
        match self.after {
            AfterPlan::Idle => self.idle.clamp(0.0, 1.0),
            AfterPlan::BurnGoesOn => self.load(0.0),
        }
    }

    /// How long a closed stage with a request count runs from `done`
    /// requests on, at most `cap` seconds.
    fn closed_duration(&self, stage: &Stage, done: u64, cap: f64) -> f64 {
        let rps = self
            .rps_per_user
            .map(|r| r * f64::from(stage.users) * self.users_factor);
        match (stage.requests, rps) {
            (Some(n), Some(r)) if r > 0.0 => cap.min(n.saturating_sub(done) as f64 / r),
            _ => cap,
        }
    }
}

/// The CPU burn's share of the board: `duty × threads / cores` (threads 0:
/// one per core), at most 1. `cores` 0 (unknown) counts the threads as all.
pub fn burn_share(spec: &CpuSpec, cores: usize) -> f64 {
    let duty = spec.duty_pct.clamp(0.0, 100.0) / 100.0;
    let (threads, cores) = match (spec.threads, cores) {
        (0, _) | (_, 0) => (1, 1),
        (t, c) => (t, c),
    };
    (duty * threads as f64 / cores as f64).min(1.0)
}

/// The load ahead: the running phase (`phases[0]`) from `pos` on, then the
/// other phases in order, then [`LoadShares::after_load`]; steps up to
/// `horizon_s` from now, at most [`MAX_PLAN_STEPS`].
pub fn load_ahead(
    phases: &[PhaseSpec],
    pos: &Position,
    shares: &LoadShares,
    horizon_s: f64,
) -> LoadPlan {
    let mut steps: Vec<(f64, f64)> = Vec::new();
    let mut total = 0.0;
    'phases: for (p, phase) in phases.iter().enumerate() {
        let closed = phase.is_closed();
        let first = if p == 0 { pos.stage } else { 0 };
        for (i, stage) in phase.stages.iter().enumerate().skip(first) {
            let (from, done) = if p == 0 && i == pos.stage {
                (pos.stage_elapsed_s.max(0.0), pos.stage_requests)
            } else {
                (0.0, 0)
            };
            let full = stage.duration.as_secs_f64();
            for (d, u) in stage_pieces(stage, closed, from, done, full, shares) {
                if d > 0.0 {
                    steps.push((d, u));
                    total += d;
                }
                if total >= horizon_s {
                    break 'phases;
                }
            }
        }
    }
    let mut steps = merge_far(steps);
    steps.push((f64::INFINITY, shares.after_load()));
    LoadPlan { steps }
}

/// A stage from `from` seconds in: one constant piece, or [`RAMP_PIECES`]
/// for a ramp (each at the rate of its middle).
fn stage_pieces(
    stage: &Stage,
    closed: bool,
    from: f64,
    done: u64,
    full: f64,
    shares: &LoadShares,
) -> Vec<(f64, f64)> {
    let left = (full - from).max(0.0);
    if closed {
        let d = shares.closed_duration(stage, done, left);
        return vec![(d, shares.load(shares.requests(stage, true, 0.0)))];
    }
    let pieces = if (stage.rate - stage.from_rate).abs() > f64::EPSILON {
        RAMP_PIECES
    } else {
        1
    };
    let d = left / pieces as f64;
    (0..pieces)
        .map(|k| {
            let mid = from + d * (k as f64 + 0.5);
            let f = if full > 0.0 { mid / full } else { 1.0 };
            let rate = stage.from_rate + (stage.rate - stage.from_rate) * f;
            (d, shares.load(shares.requests(stage, false, rate)))
        })
        .collect()
}

/// Keep the nearest [`EXACT_STEPS`] steps, merge the rest into equal
/// groups (time-weighted mean load) so at most [`MAX_PLAN_STEPS`] remain
/// before the final hold.
fn merge_far(steps: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let room = MAX_PLAN_STEPS - 1;
    if steps.len() <= room {
        return steps;
    }
    let (near, far) = steps.split_at(EXACT_STEPS);
    let group = far.len().div_ceil(room - EXACT_STEPS);
    let mut out = near.to_vec();
    for g in far.chunks(group) {
        let d: f64 = g.iter().map(|s| s.0).sum();
        let heat: f64 = g.iter().map(|s| s.0 * s.1).sum();
        out.push((d, if d > 0.0 { heat / d } else { g[0].1 }));
    }
    out
}

/// What a running phase offers at its last stage, for the wording ("goes
/// on to 30 rps", "to 50 users").
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Offered {
    Rate(f64),
    Users(u32),
}

impl std::fmt::Display for Offered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Offered::Rate(r) if (r - r.round()).abs() < 0.05 => write!(f, "{r:.0} rps"),
            Offered::Rate(r) => write!(f, "{r:.1} rps"),
            Offered::Users(1) => f.write_str("1 user"),
            Offered::Users(u) => write!(f, "{u} users"),
        }
    }
}

/// The plan's load ahead with what a line says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedLoad {
    pub plan: LoadPlan,
    /// The running phase's name.
    pub phase: String,
    /// The running stage's index in it.
    pub stage: usize,
    /// Its last stage's rate or users.
    pub last: Offered,
    /// The phases still to come after it, by name.
    pub then: Vec<String>,
    /// What the plan was built from.
    pub shares: LoadShares,
}

/// The phase the engine runs, as the tracker knows it.
#[derive(Debug, Clone)]
enum Running {
    None,
    /// A planned phase at `stage`, begun (the stage) at `started_s`.
    Planned {
        id: u64,
        spec: Box<PhaseSpec>,
        stage: usize,
        started_s: f64,
    },
    /// A phase the plan does not describe (a sweep's rates, a users
    /// sweep's added stages): no plan while it runs.
    Unplanned {
        id: u64,
    },
}

/// Running sums over the running stage (since it began or the burn changed).
#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    util_sum: f64,
    util_n: u32,
    /// The first snapshot after a change still measures the time before it.
    skip: bool,
    requests: u64,
    window_s: f64,
    user_s: f64,
}

/// Per-request and per-user costs last measured.
#[derive(Debug, Clone, Copy, Default)]
struct Costs {
    per_rps: Option<f64>,
    per_user: Option<f64>,
    rps_per_user: Option<f64>,
}

/// Gathers what [`load_ahead`] needs from a front end's stream: the
/// phases planned, the engine's phase, stage and load windows, the CPU burn,
/// and the snapshots' CPU utilisation. Memory: the plan's phases and a few
/// sums.
#[derive(Debug, Clone)]
pub struct PlanTracker {
    after: AfterPlan,
    /// Phases still to start, in order.
    queue: VecDeque<PhaseSpec>,
    running: Running,
    burn_spec: Option<CpuSpec>,
    burn_on: bool,
    /// Load was asked for: the idle baseline stops learning.
    asked: bool,
    idle: Option<f64>,
    last_t: Option<f64>,
    now_s: f64,
    cores: usize,
    measure: Measure,
    costs: Costs,
    rate_factor: f64,
    users_factor: f64,
}

impl PlanTracker {
    pub fn new(after: AfterPlan) -> PlanTracker {
        PlanTracker {
            after,
            queue: VecDeque::new(),
            running: Running::None,
            burn_spec: None,
            burn_on: false,
            asked: false,
            idle: None,
            last_t: None,
            now_s: 0.0,
            cores: 0,
            measure: Measure::default(),
            costs: Costs::default(),
            rate_factor: 1.0,
            users_factor: 1.0,
        }
    }

    /// The phases about to be started, in order (replacing any not started yet).
    pub fn plan_phases(&mut self, phases: impl IntoIterator<Item = PhaseSpec>) {
        self.asked = true;
        self.queue = phases.into_iter().collect();
    }

    /// The CPU burn about to be started (it counts once the engine says it runs).
    pub fn plan_burn(&mut self, spec: CpuSpec) {
        self.asked = true;
        self.burn_spec = Some(spec);
    }

    /// The idle baseline: the CPU busy fraction seen before load was asked for.
    pub fn idle(&self) -> Option<f64> {
        self.idle
    }

    /// A snapshot: its CPU utilisation and online cores.
    pub fn on_snapshot(&mut self, s: &Snapshot) {
        let t = s.elapsed_s;
        self.now_s = t;
        let online = s.cpu.cores.iter().filter(|c| c.online).count();
        if online > 0 {
            self.cores = online;
        }
        let Some(u) = s.cpu.util_pct.map(|p| (p / 100.0).clamp(0.0, 1.0)) else {
            self.last_t = Some(t);
            return;
        };
        if !self.asked {
            let w = match self.last_t {
                Some(t0) if self.idle.is_some() => 1.0 - (-(t - t0).max(0.0) / IDLE_SMOOTH_S).exp(),
                _ => 1.0,
            };
            let idle = self.idle.get_or_insert(u);
            *idle += w * (u - *idle);
        }
        self.last_t = Some(t);
        if matches!(self.running, Running::Planned { .. }) {
            if self.measure.skip {
                self.measure.skip = false;
            } else {
                self.measure.util_sum += u;
                self.measure.util_n += 1;
            }
        }
    }

    /// An engine event: phases and stages, load windows, the CPU burn.
    pub fn on_event(&mut self, ev: &EngineEvent) {
        match ev {
            EngineEvent::Phase(PhaseEvent::Started { phase, id, .. }) => {
                self.asked = true;
                self.restart_measure();
                self.running = match self.queue.iter().position(|p| p.name == *phase) {
                    Some(i) => {
                        self.queue.drain(..i);
                        let spec = self.queue.pop_front().expect("position found");
                        Running::Planned {
                            id: *id,
                            spec: Box::new(spec),
                            stage: 0,
                            started_s: self.now_s,
                        }
                    }
                    None => Running::Unplanned { id: *id },
                };
            }
            EngineEvent::Phase(PhaseEvent::StageChanged {
                id,
                stage,
                target_rate,
                users,
                ..
            }) => self.on_stage(*id, *stage, *target_rate, *users),
            EngineEvent::Phase(PhaseEvent::Stopped { id, .. }) => {
                let ours = match &self.running {
                    Running::Planned { id: r, .. } | Running::Unplanned { id: r } => r == id,
                    Running::None => false,
                };
                if ours {
                    self.restart_measure();
                    self.running = Running::None;
                }
            }
            EngineEvent::LoadWindow(w) => self.on_window(w),
            EngineEvent::Generator(g) if g.generator == GeneratorKind::Cpu => {
                let on = match g.state {
                    GeneratorState::Started | GeneratorState::Limited => true,
                    GeneratorState::Stopped | GeneratorState::Unavailable => false,
                };
                if on != self.burn_on {
                    self.asked = true;
                    self.burn_on = on;
                    self.restart_measure();
                }
            }
            EngineEvent::Phase(PhaseEvent::Lagging { .. })
            | EngineEvent::Generator(_)
            | EngineEvent::Guard(_)
            | EngineEvent::Target(_) => {}
        }
    }

    fn on_stage(&mut self, ev_id: u64, index: usize, target_rate: f64, users: Option<u32>) {
        let Running::Planned {
            id, spec, stage, ..
        } = &self.running
        else {
            return;
        };
        if *id != ev_id {
            return;
        }
        let (id, changed) = (*id, *stage != index);
        let Some(st) = spec.stages.get(index) else {
            // A stage the plan does not hold (a users sweep adds its own).
            self.running = Running::Unplanned { id };
            return;
        };
        match users {
            Some(n) if st.users > 0 => self.users_factor = f64::from(n) / f64::from(st.users),
            Some(_) => {}
            None if st.mean_rate() > 0.0 => self.rate_factor = target_rate / st.mean_rate(),
            None => {}
        }
        if changed {
            self.restart_measure();
            if let Running::Planned {
                stage, started_s, ..
            } = &mut self.running
            {
                *stage = index;
                *started_s = self.now_s;
            }
        }
    }

    fn on_window(&mut self, w: &LoadWindow) {
        let Running::Planned {
            spec,
            stage,
            started_s,
            ..
        } = &self.running
        else {
            return;
        };
        let Some(st) = spec.stages.get(*stage) else {
            return;
        };
        if w.phase.as_deref() != Some(spec.name.as_str()) || w.stage.as_deref() != Some(&st.name) {
            return;
        }
        // The dashboard's rate keys change the rate mid-stage: the window
        // says the rate now, the stage what it planned for this moment.
        let full = st.duration.as_secs_f64();
        let f = if full > 0.0 {
            ((self.now_s - started_s) / full).clamp(0.0, 1.0)
        } else {
            1.0
        };
        let planned = st.from_rate + (st.rate - st.from_rate) * f;
        if w.users.is_none() && planned > 0.0 && w.target_rate > 0.0 {
            self.rate_factor = w.target_rate / planned;
        }
        self.measure.requests += w.all.count;
        self.measure.window_s += w.window_s.max(0.0);
        if let Some(u) = w.users {
            self.measure.user_s += f64::from(u.active) * w.window_s.max(0.0);
        }
    }

    /// A new stretch to measure: keep what the last one found.
    fn restart_measure(&mut self) {
        let found = self.measured_costs();
        self.costs = Costs {
            per_rps: found.per_rps.or(self.costs.per_rps),
            per_user: found.per_user.or(self.costs.per_user),
            rps_per_user: found.rps_per_user.or(self.costs.rps_per_user),
        };
        self.measure = Measure {
            skip: true,
            ..Measure::default()
        };
    }

    fn burn(&self) -> f64 {
        match (self.burn_on, &self.burn_spec) {
            (true, Some(spec)) => burn_share(spec, self.cores),
            _ => 0.0,
        }
    }

    /// The running stretch's mean utilisation, `None` before a sample.
    fn util_mean(&self) -> Option<f64> {
        (self.measure.util_n > 0).then(|| self.measure.util_sum / f64::from(self.measure.util_n))
    }

    /// Costs from the running stretch alone (those it can tell).
    fn measured_costs(&self) -> Costs {
        let (Some(util), Some(idle)) = (self.util_mean(), self.idle) else {
            return Costs::default();
        };
        let m = &self.measure;
        if m.window_s <= 0.0 || m.requests == 0 {
            return Costs::default();
        }
        let share = (util - idle - self.burn()).max(0.0);
        let rps = m.requests as f64 / m.window_s;
        let users = m.user_s / m.window_s;
        Costs {
            per_rps: Some(share / rps),
            per_user: (users > 0.0).then(|| share / users),
            rps_per_user: (users > 0.0).then(|| rps / users),
        }
    }

    /// The loads the plan is built from now; `None` until the running stage
    /// has a sample or a cost measured before.
    pub fn shares(&self) -> Option<LoadShares> {
        let Running::Planned { spec, stage, .. } = &self.running else {
            return None;
        };
        let burn = self.burn();
        let util = self.util_mean();
        let idle = self.idle.or_else(|| util.map(|u| (u - burn).max(0.0)))?;
        let found = self.measured_costs();
        let (per_rps, per_user, rps_per_user) = match self.idle {
            Some(_) => (
                found.per_rps.or(self.costs.per_rps),
                found.per_user.or(self.costs.per_user),
                found.rps_per_user.or(self.costs.rps_per_user),
            ),
            // Without a baseline the requests are not told from the rest.
            None => (None, None, None),
        };
        let mut shares = LoadShares {
            idle,
            burn,
            current: 0.0,
            per_rps,
            per_user,
            rps_per_user,
            rate_factor: self.rate_factor,
            users_factor: self.users_factor,
            after: self.after,
        };
        shares.current = match (util, self.idle) {
            (Some(u), Some(_)) => (u - idle - burn).max(0.0),
            (Some(_), None) => 0.0,
            // No sample in this stage yet: what the costs known say of it.
            (None, _) => {
                let st = spec.stages.get(*stage)?;
                if per_rps.is_none() && per_user.is_none() {
                    return None;
                }
                shares.requests(st, spec.is_closed(), st.mean_rate())
            }
        };
        Some(shares)
    }

    /// The plan's load from now on, while a planned phase runs: up to
    /// `horizon_s` ahead (the predictor's `max_eta_s`).
    pub fn planned(&self, horizon_s: f64) -> Option<PlannedLoad> {
        let Running::Planned {
            spec,
            stage,
            started_s,
            ..
        } = &self.running
        else {
            return None;
        };
        let shares = self.shares()?;
        let pos = Position {
            stage: *stage,
            stage_elapsed_s: (self.now_s - started_s).max(0.0),
            stage_requests: self.measure.requests,
        };
        let mut phases = Vec::with_capacity(self.queue.len() + 1);
        phases.push(PhaseSpec::clone(spec));
        phases.extend(self.queue.iter().cloned());
        let plan = load_ahead(&phases, &pos, &shares, horizon_s);
        let last = spec.stages.last()?;
        let last = if spec.is_closed() {
            Offered::Users((f64::from(last.users) * self.users_factor).round() as u32)
        } else {
            Offered::Rate(last.rate * self.rate_factor)
        };
        Some(PlannedLoad {
            plan,
            phase: spec.name.clone(),
            stage: *stage,
            last,
            then: self.queue.iter().map(|p| p.name.clone()).collect(),
            shares,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::schedule::{SpikeParams, StressParams, UsersSpec};
    use std::time::Duration;

    fn shares(idle: f64, burn: f64, per_rps: f64) -> LoadShares {
        LoadShares {
            idle,
            burn,
            current: 0.0,
            per_rps: Some(per_rps),
            per_user: None,
            rps_per_user: None,
            rate_factor: 1.0,
            users_factor: 1.0,
            after: AfterPlan::Idle,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn burn_share_is_duty_times_threads_over_cores() {
        let spec = |threads, duty_pct| CpuSpec { threads, duty_pct };
        assert!(close(burn_share(&spec(3, 50.0), 12), 0.5 * 3.0 / 12.0));
        assert!(
            close(burn_share(&spec(0, 70.0), 12), 0.7),
            "one thread per core"
        );
        assert!(
            close(burn_share(&spec(24, 100.0), 12), 1.0),
            "at most the board"
        );
    }

    /// A stress ladder from its second stage, 20 s in: the rest of that
    /// stage, every later stage at its own rate, then idle.
    #[test]
    fn a_stress_ladder_ahead_is_each_stage_at_its_rate() {
        let p = StressParams {
            start_rate: 5.0,
            step_rate: 5.0,
            step_every: Duration::from_secs(60),
            max_rate: 20.0,
            ..StressParams::default()
        };
        let spec = PhaseSpec::stress(&p);
        let sh = shares(0.1, 0.2, 0.02);
        let pos = Position {
            stage: 1,
            stage_elapsed_s: 20.0,
            stage_requests: 0,
        };
        let plan = load_ahead(std::slice::from_ref(&spec), &pos, &sh, 6.0 * 3600.0);
        let mut want: Vec<(f64, f64)> = spec.stages[1..]
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let d = s.duration.as_secs_f64() - if k == 0 { 20.0 } else { 0.0 };
                (d, sh.idle + sh.burn + sh.per_rps.unwrap() * s.rate)
            })
            .collect();
        want.push((f64::INFINITY, sh.idle));
        assert_eq!(plan.steps.len(), want.len(), "{plan:?}");
        for (got, want) in plan.steps.iter().zip(&want) {
            assert!(
                close(got.0, want.0) || got.0 == want.0,
                "{got:?} vs {want:?}"
            );
            assert!(close(got.1, want.1), "{got:?} vs {want:?}");
        }
        // 40 s into the plan the second stage is still on; 41 s in, the third.
        assert!(close(plan.at(39.0), want[0].1));
        assert!(close(plan.at(41.0), want[1].1));
    }

    /// The burn's share comes on top, the sum stops at a fully busy board,
    /// and with the dashboard's burn it outlives the plan.
    #[test]
    fn loads_add_up_to_at_most_one_and_the_burn_may_outlive_the_plan() {
        let spec = PhaseSpec::soak(&crate::load::schedule::SoakParams {
            rate: 50.0,
            duration: Duration::from_secs(100),
            ..Default::default()
        });
        let mut sh = shares(0.15, 0.5, 0.02);
        sh.after = AfterPlan::BurnGoesOn;
        let pos = Position {
            stage: 0,
            stage_elapsed_s: 0.0,
            stage_requests: 0,
        };
        let plan = load_ahead(std::slice::from_ref(&spec), &pos, &sh, 3600.0);
        assert!(
            sh.idle + sh.burn + 0.02 * 50.0 > 1.0,
            "the fixture overfills"
        );
        assert!(close(plan.at(0.0), 1.0));
        assert!(close(plan.at(1e6), sh.idle + sh.burn));
    }

    /// The dashboard's rate keys scale every stage ahead; a ramp is planned
    /// piece by piece at the rate of each piece's middle.
    #[test]
    fn a_ramp_goes_in_pieces_and_the_rate_factor_applies() {
        let spec = PhaseSpec::custom(&[(40.0, Duration::from_secs(80))], true);
        let mut sh = shares(0.0, 0.0, 0.01);
        sh.rate_factor = 1.5;
        let pos = Position {
            stage: 0,
            stage_elapsed_s: 0.0,
            stage_requests: 0,
        };
        let plan = load_ahead(std::slice::from_ref(&spec), &pos, &sh, 3600.0);
        assert_eq!(plan.steps.len(), RAMP_PIECES + 1);
        let piece = 80.0 / RAMP_PIECES as f64;
        for (k, s) in plan.steps[..RAMP_PIECES].iter().enumerate() {
            let mid_rate = 40.0 * (k as f64 + 0.5) / RAMP_PIECES as f64;
            assert!(close(s.0, piece));
            assert!(close(s.1, 0.01 * mid_rate * 1.5), "{s:?}");
        }
    }

    /// A users phase: per-user cost × users; a stage of N requests ends
    /// after the requests left at the achieved rate per user; the phase
    /// after it follows.
    #[test]
    fn users_stages_scale_by_users_and_end_after_their_requests() {
        let users = PhaseSpec::users(
            &[
                (4, Some(Duration::from_secs(600)), Some(1200)),
                (8, Some(Duration::from_secs(60)), None),
            ],
            UsersSpec::default(),
        );
        let spike = PhaseSpec::spike(&SpikeParams::default());
        let sh = LoadShares {
            idle: 0.05,
            burn: 0.0,
            current: 0.0,
            per_rps: Some(0.01),
            per_user: Some(0.04),
            rps_per_user: Some(0.5),
            rate_factor: 1.0,
            users_factor: 1.0,
            after: AfterPlan::Idle,
        };
        let pos = Position {
            stage: 0,
            stage_elapsed_s: 100.0,
            stage_requests: 200,
        };
        let plan = load_ahead(&[users, spike.clone()], &pos, &sh, 6.0 * 3600.0);
        // 1000 requests left at 4 users × 0.5 rps each.
        let first = (1200.0 - 200.0) / (4.0 * 0.5);
        assert!(close(plan.steps[0].0, first), "{plan:?}");
        assert!(close(plan.steps[0].1, 0.05 + 0.04 * 4.0));
        assert!(close(plan.steps[1].0, 60.0));
        assert!(close(plan.steps[1].1, 0.05 + 0.04 * 8.0));
        for (k, s) in spike.stages.iter().enumerate() {
            let got = plan.steps[2 + k];
            assert!(close(got.0, s.duration.as_secs_f64()));
            assert!(close(got.1, 0.05 + 0.01 * s.rate), "{got:?}");
        }
        assert_eq!(plan.steps.len(), 2 + spike.stages.len() + 1);
    }

    /// A long ladder keeps its near stages exact and merges the far ones,
    /// preserving the heat they put in; the horizon cuts it.
    #[test]
    fn a_long_ladder_is_merged_far_off_and_cut_at_the_horizon() {
        let p = StressParams {
            start_rate: 1.0,
            step_rate: 1.0,
            step_every: Duration::from_secs(10),
            max_rate: 500.0,
            ..StressParams::default()
        };
        let spec = PhaseSpec::stress(&p);
        let sh = shares(0.0, 0.0, 0.001);
        let pos = Position {
            stage: 0,
            stage_elapsed_s: 0.0,
            stage_requests: 0,
        };
        let horizon = 2000.0;
        let plan = load_ahead(std::slice::from_ref(&spec), &pos, &sh, horizon);
        assert!(plan.steps.len() <= MAX_PLAN_STEPS, "{}", plan.steps.len());
        let kept = (horizon / 10.0) as usize;
        let d: f64 = plan
            .steps
            .iter()
            .filter(|s| s.0.is_finite())
            .map(|s| s.0)
            .sum();
        assert!(close(d, kept as f64 * 10.0), "{d}");
        let heat: f64 = plan
            .steps
            .iter()
            .filter(|s| s.0.is_finite())
            .map(|s| s.0 * s.1)
            .sum();
        let want: f64 = spec.stages[..kept]
            .iter()
            .map(|s| 10.0 * 0.001 * s.rate)
            .sum();
        assert!((heat - want).abs() < 1e-6, "{heat} vs {want}");
        for (k, s) in plan.steps[..EXACT_STEPS].iter().enumerate() {
            assert!(close(s.1, 0.001 * spec.stages[k].rate));
        }
    }

    fn snap(t: f64, util: f64, cores: u32) -> Snapshot {
        let mut s = Snapshot::empty();
        s.elapsed_s = t;
        s.cpu.util_pct = Some(util * 100.0);
        s.cpu.cores = (0..cores)
            .map(|id| crate::snapshot::CpuCore {
                id,
                online: true,
                ..Default::default()
            })
            .collect();
        s
    }

    fn window(phase: &str, stage: &str, count: u64, secs: f64) -> EngineEvent {
        EngineEvent::LoadWindow(Box::new(LoadWindow {
            elapsed_s: 0.0,
            window_s: secs,
            phase: Some(phase.into()),
            stage: Some(stage.into()),
            target_rate: 0.0,
            in_flight: 0,
            all: crate::load::stats::ToolSummary {
                count,
                ..Default::default()
            },
            tools: Vec::new(),
            rolling_s: 0.0,
            rolling_all: crate::load::stats::ToolSummary::default(),
            rolling_tools: Vec::new(),
            users: None,
            invalid: None,
        }))
    }

    fn stage_changed(phase: &str, id: u64, stage: usize, rate: f64) -> EngineEvent {
        EngineEvent::Phase(PhaseEvent::StageChanged {
            phase: phase.into(),
            id,
            stage,
            name: String::new(),
            target_rate: rate,
            users: None,
        })
    }

    /// The tracker learns the idle load before the run, the cost of a
    /// request from the first stage (its measured load above idle and the
    /// burn, per achieved request/s), and plans the later stages, a phase
    /// after it and the idle board from it.
    #[test]
    fn the_tracker_measures_the_cost_of_a_request_and_plans_from_it() {
        let stress = PhaseSpec::stress(&StressParams {
            start_rate: 5.0,
            step_rate: 5.0,
            step_every: Duration::from_secs(60),
            max_rate: 15.0,
            ..StressParams::default()
        });
        let soak = PhaseSpec::soak(&crate::load::schedule::SoakParams::default());
        let (idle, per_rps, cores) = (0.08, 0.03, 8);
        let burn = CpuSpec {
            threads: 2,
            duty_pct: 60.0,
        };
        let burn_u = 0.6 * 2.0 / f64::from(cores);
        let mut tr = PlanTracker::new(AfterPlan::Idle);
        let mut t = 0.0;
        for _ in 0..30 {
            tr.on_snapshot(&snap(t, idle, cores));
            t += 1.0;
        }
        assert!(close(tr.idle().unwrap(), idle));
        assert!(tr.planned(3600.0).is_none(), "no phase runs");
        tr.plan_phases([stress.clone(), soak.clone()]);
        tr.plan_burn(burn);
        tr.on_event(&EngineEvent::Generator(
            crate::load::engine::GeneratorEvent {
                generator: GeneratorKind::Cpu,
                state: GeneratorState::Started,
                detail: String::new(),
            },
        ));
        tr.on_event(&EngineEvent::Phase(PhaseEvent::Started {
            phase: stress.name.clone(),
            id: 7,
            think: None,
        }));
        let first = &stress.stages[0];
        tr.on_event(&stage_changed(&stress.name, 7, 0, first.rate));
        // The first sample after the change measures the time before it.
        tr.on_snapshot(&snap(t, 0.99, cores));
        let busy = idle + burn_u + per_rps * first.rate;
        for _ in 0..20 {
            t += 1.0;
            tr.on_snapshot(&snap(t, busy, cores));
            // 10 % short of the target: the cost is per achieved request.
            tr.on_event(&window(
                &stress.name,
                &first.name,
                (first.rate * 0.9) as u64 * 2,
                2.0,
            ));
        }
        let p = tr
            .planned(6.0 * 3600.0)
            .expect("a plan while the stress phase runs");
        let per_achieved = per_rps * first.rate / ((first.rate * 0.9) as u64 * 2) as f64 * 2.0;
        assert!(
            close(p.shares.per_rps.unwrap(), per_achieved),
            "{:?}",
            p.shares
        );
        assert!(close(p.shares.burn, burn_u));
        assert_eq!(p.phase, "stress");
        assert_eq!(p.last, Offered::Rate(15.0));
        assert_eq!(p.then, vec![soak.name.clone()]);
        let in_stage = t - 30.0;
        let left0 = first.duration.as_secs_f64() - in_stage;
        assert!(close(
            p.plan.at(0.0),
            idle + burn_u + per_achieved * first.rate
        ));
        let second = &stress.stages[1];
        assert!(close(
            p.plan.at(left0 + 1.0),
            idle + burn_u + per_achieved * second.rate
        ));
        let soak_at =
            left0 + second.duration.as_secs_f64() + stress.stages[2].duration.as_secs_f64();
        assert!(close(
            p.plan.at(soak_at + 1.0),
            idle + burn_u + per_achieved * soak.stages[0].rate
        ));
        assert!(close(p.plan.at(1e7), idle), "after the run: the idle board");
        // The next stage starts with the cost learnt: no gap in the plan.
        tr.on_event(&stage_changed(&stress.name, 7, 1, second.rate));
        let p = tr.planned(6.0 * 3600.0).expect("the cost carries over");
        assert!(close(
            p.plan.at(0.0),
            idle + burn_u + per_achieved * second.rate
        ));
        // The phase ends: no plan until the next one starts.
        tr.on_event(&EngineEvent::Phase(PhaseEvent::Stopped {
            phase: stress.name.clone(),
            id: 7,
            reason: crate::load::engine::StopReason::Completed,
            then: None,
        }));
        assert!(tr.planned(3600.0).is_none());
    }

    /// Without a baseline the requests cannot be told from the rest: the
    /// running load less the burn is held as the board's own, every stage
    /// gets it, and no cost per request is claimed.
    #[test]
    fn without_an_idle_baseline_the_current_load_is_held() {
        let stress = PhaseSpec::stress(&StressParams::default());
        let mut tr = PlanTracker::new(AfterPlan::Idle);
        tr.plan_phases([stress.clone()]);
        tr.on_event(&EngineEvent::Phase(PhaseEvent::Started {
            phase: stress.name.clone(),
            id: 1,
            think: None,
        }));
        let u = 0.4;
        for i in 0..5 {
            tr.on_snapshot(&snap(f64::from(i), u, 4));
            tr.on_event(&window(&stress.name, &stress.stages[0].name, 3, 1.0));
        }
        let p = tr.planned(3600.0).unwrap();
        assert_eq!(p.shares.per_rps, None);
        assert!(close(p.shares.idle, u));
        assert!(p.plan.steps.iter().all(|s| close(s.1, u)), "{:?}", p.plan);
    }

    /// The dashboard's rate keys: the windows' target rate over the stage's
    /// own says the factor, and every stage ahead (and the wording) follows.
    #[test]
    fn the_rate_factor_follows_the_windows() {
        let stress = PhaseSpec::stress(&StressParams::default());
        let mut tr = PlanTracker::new(AfterPlan::BurnGoesOn);
        tr.on_snapshot(&snap(0.0, 0.1, 4));
        tr.plan_phases([stress.clone()]);
        tr.on_event(&EngineEvent::Phase(PhaseEvent::Started {
            phase: stress.name.clone(),
            id: 2,
            think: None,
        }));
        let st = &stress.stages[0];
        let factor = 1.25;
        for i in 1..5 {
            tr.on_snapshot(&snap(f64::from(i), 0.3, 4));
            let mut w = window(&stress.name, &st.name, 4, 1.0);
            if let EngineEvent::LoadWindow(w) = &mut w {
                w.target_rate = st.rate * factor;
            }
            tr.on_event(&w);
        }
        let p = tr.planned(3600.0).unwrap();
        assert!(close(p.shares.rate_factor, factor));
        let top = stress.stages.last().unwrap().rate * factor;
        assert_eq!(p.last, Offered::Rate(top));
        let share = p.shares.per_rps.unwrap() * stress.stages[1].rate * factor;
        // Started at the first snapshot (t = 0), now t = 4.
        let second = st.duration.as_secs_f64() - 4.0;
        assert!(close(p.plan.at(second + 1.0), 0.1 + share), "{p:?}");
    }
}
