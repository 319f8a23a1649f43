//! One phase as the engine runs it: its stages' records (tool tables, the
//! closed model's think, iterations and user·seconds, the targets' RSS), the
//! soak rows, the stress judge, and the phase's part of the run summary.
//! Fixed size per stage and per soak row. The engine's actor owns the
//! clock and the I/O; this file only keeps and folds numbers.

use std::time::{Duration, Instant};

use super::invalid::InvalidStats;
use super::summary::{
    soak_report, BreakingPoint, LittleCheck, LoadModel, Mean, MeanMax, PhaseSummary, SoakRow,
    SpikeReport, StageSummary, SweepReport, UsersInfo, P50P95,
};
use super::users;
use crate::load::llm_stats::Energy;
use crate::load::schedule::{Arrivals, PhaseKind, PhaseSpec, Stage, SweepMode, MAX_USERS};
use crate::load::stats::{Hist, Percentiles, StatsTable, ToolStats, ToolSummary};

/// Running sums for a mean.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sum {
    pub(super) total: f64,
    pub(super) n: u64,
}

impl Sum {
    pub(super) fn add(&mut self, v: f64) {
        self.total += v;
        self.n += 1;
    }

    pub(super) fn mean(self) -> Option<f64> {
        (self.n > 0).then(|| self.total / self.n as f64)
    }
}

/// Mean and maximum of a sampled value.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SumMax {
    pub(super) sum: Sum,
    pub(super) max: f64,
}

impl SumMax {
    /// One sample whose mean and maximum differ (the mean over sessions, the largest one).
    pub(super) fn add_mean_max(&mut self, mean: f64, max: f64) {
        self.sum.add(mean);
        self.max = self.max.max(max);
    }

    pub(super) fn get(self) -> Option<MeanMax> {
        self.sum.mean().map(|mean| MeanMax {
            mean,
            max: self.max,
        })
    }
}

/// What a closed stage keeps beside its tool table: fixed size.
pub(super) struct ClosedStage {
    /// Planned think (drawn at each reply), seconds.
    pub(super) think_planned: Sum,
    /// Think actually waited (reply → next send), seconds.
    pub(super) think_waited: Sum,
    /// Send → next send of the same user, µs.
    pub(super) iteration: Hist,
    /// ∫ cycling users dt over the stage (a new user waiting for its session
    /// does not count yet), user·seconds.
    pub(super) user_seconds: f64,
    /// Service time of completed requests, seconds.
    pub(super) service: Sum,
}

impl ClosedStage {
    pub(super) fn new() -> Self {
        ClosedStage {
            think_planned: Sum::default(),
            think_waited: Sum::default(),
            iteration: Hist::new(),
            user_seconds: 0.0,
            service: Sum::default(),
        }
    }
}

pub(super) struct StageRec {
    pub(super) name: String,
    pub(super) target_rate: f64,
    pub(super) start_s: f64,
    pub(super) end_s: Option<f64>,
    pub(super) scheduled: u64,
    /// Requests of this stage still running.
    pub(super) in_flight: u64,
    pub(super) table: StatsTable,
    /// Closed stages.
    pub(super) closed: Option<ClosedStage>,
    /// Summed RSS of the targets' processes and their live sessions, at the last window.
    pub(super) rss: Option<(f64, usize)>,
    /// Invalid calls answered (kept out of `table`; Little's law counts them).
    pub(super) invalid_done: u64,
    /// Board energy over the stage (LLM tokens per joule).
    pub(super) energy: Energy,
}

impl StageRec {
    /// An empty record of `stage` for `ops` ops.
    pub(super) fn new(stage: &Stage, ops: usize, closed: bool) -> Self {
        StageRec {
            name: stage.name.clone(),
            target_rate: stage.mean_rate(),
            start_s: 0.0,
            end_s: None,
            scheduled: 0,
            in_flight: 0,
            table: StatsTable::new(ops),
            closed: closed.then(ClosedStage::new),
            rss: None,
            invalid_done: 0,
            energy: Energy::default(),
        }
    }
}

pub(super) struct PhaseRun {
    pub(super) id: u64,
    pub(super) spec: PhaseSpec,
    pub(super) start: Instant,
    pub(super) started_s: f64,
    pub(super) ended_s: Option<f64>,
    pub(super) arrivals: Arrivals,
    pub(super) next: Option<(Instant, usize)>,
    pub(super) stage: usize,
    pub(super) stages: Vec<StageRec>,
    pub(super) status: String,
    pub(super) breaking: Option<BreakingPoint>,
    pub(super) rows: Vec<SoakRow>,
    pub(super) row_stats: ToolStats,
    pub(super) row_start: Instant,
    pub(super) recovered_s: Option<f64>,
    /// Stress: a finished stage waiting for its slow requests before it is judged.
    pub(super) pending_eval: Option<(usize, Instant)>,
    /// Closed phases: the users, and when their count was last integrated.
    pub(super) population: Option<(users::Population, Instant)>,
    /// When the current stage began (closed stages start when the previous ends).
    pub(super) stage_started: Instant,
    /// Closed stages whose generator lag was reported.
    pub(super) lag_reported: Vec<usize>,
    /// Closed phases: sessions per MCP target the users should have (users
    /// map onto them round robin); extra ones are removed once idle.
    pub(super) sessions_wanted: usize,
    /// Invalid calls (`invalid_pct`), apart from the valid ones.
    pub(super) invalid: InvalidStats,
    /// A sweep's rates phase: the synchronous and throughput rates its
    /// measuring part found, req/s.
    pub(super) sweep_origin: Option<(f64, f64)>,
}

impl PhaseRun {
    /// A request of `stage` that never started (no slot within `max_lag`, or
    /// the phase ended first): scheduled and dropped, in the stage, the
    /// engine's `window` and the soak row.
    pub(super) fn record_dropped(&mut self, window: &mut StatsTable, stage: usize, op: usize) {
        let last = self.stages.len() - 1;
        let rec = &mut self.stages[stage.min(last)];
        rec.scheduled += 1;
        rec.table.record_dropped(op);
        window.record_dropped(op);
        self.row_stats.record_dropped();
    }

    /// Moves `next` on to the following arrival (none once the phase's arrivals end).
    pub(super) fn advance(&mut self) {
        let start = self.start;
        self.next = self
            .arrivals
            .next_arrival()
            .map(|(t, i)| (start + Duration::from_secs_f64(t), i));
    }

    /// The phase's part of `jetstress.run/1`: its stages so far, whole-phase
    /// tools, and the kind's extra sections. `names`: the ops in mix order;
    /// `has_targets`: whether MCP targets (whose sessions users share) exist.
    /// A sweep's report: a rates phase's from its measured origin; a users
    /// sweep's on itself (one user, and the most achieved).
    fn sweep_summary(&self, stages: &[StageSummary]) -> Option<SweepReport> {
        let p = self.spec.sweep?;
        match self.sweep_origin {
            Some(origin) => Some(super::summary::sweep_report(stages, origin, p.min_good_pct)),
            None if p.mode == SweepMode::Users => {
                let one = stages.first().map_or(0.0, |s| s.achieved_rate);
                let most = stages.iter().map(|s| s.achieved_rate).fold(0.0, f64::max);
                Some(super::summary::sweep_report(
                    stages,
                    (one, most),
                    p.min_good_pct,
                ))
            }
            None => None,
        }
    }

    /// Stages that are over and have no request in flight keep sparse
    /// copies of their histograms (a finished phase: all of them), so what a
    /// finished stage holds does not grow with the run; a late reply thaws
    /// the one it lands in until the next call.
    pub(super) fn freeze_idle(&mut self) {
        let over = self.ended_s.is_some();
        for (i, s) in self.stages.iter_mut().enumerate() {
            if (over || i < self.stage) && s.in_flight == 0 {
                s.table.freeze();
                if let Some(c) = s.closed.as_mut() {
                    c.iteration.freeze();
                }
            }
        }
        if over {
            self.row_stats.freeze();
            self.invalid.freeze();
        }
    }

    /// Heap bytes held by the phase's histograms (the bounded-size promise).
    pub(super) fn heap_bytes(&self) -> usize {
        self.stages
            .iter()
            .map(|s| {
                s.table.heap_bytes() + s.closed.as_ref().map_or(0, |c| c.iteration.heap_bytes())
            })
            .sum::<usize>()
            + self.row_stats.heap_bytes()
            + self.invalid.heap_bytes()
    }

    /// Per-tool rows over every stage so far (tokens per joule over their energy).
    fn whole(&self, names: &[String], now_t: f64) -> Vec<ToolSummary> {
        let Some((first, rest)) = self.stages.split_first() else {
            return Vec::new();
        };
        let mut t = first.table.clone();
        let mut energy = first.energy;
        for s in rest {
            t.add(&s.table);
            energy.merge(&s.energy);
        }
        with_energy(t.summaries(names, now_t), &energy)
    }

    /// `probes`: the invalid probes each op can draw from.
    pub(super) fn summary(
        &self,
        names: &[String],
        has_targets: bool,
        probes: &[usize],
    ) -> PhaseSummary {
        let r = self;
        let now_t = r.ended_s.unwrap_or_else(|| r.start.elapsed().as_secs_f64());
        let mut stages = Vec::new();
        for (i, s) in r.stages.iter().enumerate() {
            if s.scheduled == 0 && i > r.stage {
                continue;
            }
            let end = s.end_s.unwrap_or(now_t);
            let dur = (end - s.start_s).max(0.0);
            let all = s.table.all.summary("all", dur);
            let closed = s.closed.as_ref();
            let spec = &r.spec.stages[i];
            stages.push(StageSummary {
                name: s.name.clone(),
                target_rate: s.target_rate,
                achieved_rate: all.rps,
                duration_s: dur,
                scheduled: s.scheduled,
                dropped: s.table.all.dropped(),
                tools: with_energy(s.table.summaries(names, dur), &s.energy),
                all,
                users: closed.map(|_| spec.users),
                requests: spec.requests.filter(|_| closed.is_some()),
                think_ms: closed
                    .and_then(|c| c.think_waited.mean())
                    .map(|m| Mean { mean: m * 1000.0 }),
                iteration_ms: closed.filter(|c| !c.iteration.is_empty()).map(|c| {
                    let p = Percentiles::of(&c.iteration);
                    P50P95 {
                        p50: p.p50,
                        p95: p.p95,
                    }
                }),
                little: closed
                    .and_then(|c| little_check(c, s.table.all.count + s.invalid_done, dur)),
                target_rss_mb: s.rss.map(|(m, _)| m),
                sessions: s.rss.map(|(_, n)| n),
                rss_mb_per_session: s.rss.filter(|(_, n)| *n > 0).map(|(m, n)| m / n as f64),
            });
        }
        let spike = (r.spec.kind == PhaseKind::Spike && r.stages.len() == 3).then(|| {
            let p = |i: usize| Percentiles::of(&r.stages[i].table.all.latency).p95;
            let (b, s, rc) = (p(0), p(1), p(2));
            SpikeReport {
                baseline_p95_ms: b,
                spike_p95_ms: s,
                recovery_p95_ms: rc,
                latency_increase_pct: if b > 0.0 { (s - b) / b * 100.0 } else { 0.0 },
                errors: [0, 1, 2]
                    .map(|i| r.stages[i].table.all.failed() + r.stages[i].table.all.dropped()),
                time_to_recover_s: r.recovered_s,
            }
        });
        let soak = (r.spec.kind == PhaseKind::Soak).then(|| soak_report(&r.rows));
        let whole = self.whole(names, now_t);
        let sweep = self.sweep_summary(&stages);
        PhaseSummary {
            name: r.spec.name.clone(),
            kind: r.spec.kind,
            started_s: r.started_s,
            duration_s: now_t,
            status: r.status.clone(),
            model: if r.population.is_some() {
                LoadModel::Closed
            } else {
                LoadModel::Open
            },
            arrivals: r.population.is_none().then(|| r.spec.arrivals.label()),
            users: r.population.as_ref().map(|(p, _)| UsersInfo {
                think: p.spec.think.label(),
                spawn_rate: p.spec.spawn_rate,
                max_sessions: p.spec.max_sessions,
                peak_users: p.peak(),
                shared_sessions: has_targets && p.peak() as usize > p.spec.max_sessions,
            }),
            scalability: r
                .population
                .as_ref()
                .and_then(|_| super::summary::scalability(&stages)),
            stages,
            whole,
            breaking_point: r.breaking.clone(),
            spike,
            soak,
            invalid: r.invalid.summary(names, probes),
            sweep,
        }
    }
}

/// Tool rows with their LLM figures' tokens per joule over `e`.
pub(super) fn with_energy(mut tools: Vec<ToolSummary>, e: &Energy) -> Vec<ToolSummary> {
    for l in tools.iter_mut().filter_map(|t| t.llm.as_mut()) {
        e.apply(l);
    }
    tools
}

pub(super) fn push_row(run: &mut PhaseRun, now: Instant, rss: Option<f64>, avail: Option<f64>) {
    let st = &run.row_stats;
    let p = Percentiles::of(&st.latency);
    let row = SoakRow {
        index: run.rows.len() + 1,
        t_s: now.saturating_duration_since(run.start).as_secs_f64(),
        count: st.count,
        p50_ms: p.p50,
        p95_ms: p.p95,
        success_pct: if st.count > 0 {
            st.ok() as f64 / st.count as f64 * 100.0
        } else {
            0.0
        },
        rss_mb: rss,
        available_mb: avail,
    };
    // Bounded: a soak row per interval; keep at most a week of minutes.
    if run.rows.len() < 10_080 {
        run.rows.push(row);
    }
    run.row_stats.reset();
    run.row_start = now;
}

/// Stress: did stage `i` break the criteria? `None` for other kinds.
pub(super) fn evaluate_break(run: &PhaseRun, i: usize) -> Option<BreakingPoint> {
    let c = run.spec.break_criteria?;
    if run.spec.kind != PhaseKind::Stress {
        return None;
    }
    let s = &run.stages[i];
    let all = &s.table.all;
    let success = if all.count > 0 {
        all.ok() as f64 / all.count as f64 * 100.0
    } else {
        100.0
    };
    let dropped = if s.scheduled > 0 {
        all.dropped() as f64 / s.scheduled as f64 * 100.0
    } else {
        0.0
    };
    let p95 = Percentiles::of(&all.latency).p95;
    let why = if success < c.min_success_pct {
        Some(format!("success {success:.1}% < {}%", c.min_success_pct))
    } else if p95 > c.max_p95_ms {
        Some(format!("p95 {p95:.0} ms > {} ms", c.max_p95_ms))
    } else if dropped > c.max_dropped_pct {
        Some(format!("dropped {dropped:.1}% > {}%", c.max_dropped_pct))
    } else {
        None
    };
    why.map(|reason| BreakingPoint {
        found: true,
        last_good_rps: i.checked_sub(1).map(|j| run.stages[j].target_rate),
        first_bad_rps: Some(s.target_rate),
        reason,
    })
}

/// A stage's user count under the live factor, within 1 ..= `MAX_USERS`.
pub(super) fn scaled_users(users: u32, factor: f64) -> u32 {
    ((f64::from(users) * factor).round()).clamp(1.0, f64::from(MAX_USERS)) as u32
}

/// Little's law over a closed stage so far: users ≈ X × (R + Z).
pub(super) fn little_check(c: &ClosedStage, completed: u64, elapsed_s: f64) -> Option<LittleCheck> {
    if elapsed_s <= 0.0 || completed == 0 || c.user_seconds <= 0.0 {
        return None;
    }
    let x = completed as f64 / elapsed_s;
    let r = c.service.mean()?;
    let z = c.think_planned.mean().unwrap_or(0.0);
    let expected_users = x * (r + z);
    let users = c.user_seconds / elapsed_s;
    let ratio = expected_users / users;
    Some(LittleCheck {
        expected_users,
        users,
        ratio,
        holds: (ratio - 1.0).abs() <= 0.10,
    })
}
