//! The load engine: owns every generator, takes [`Command`]s over an mpsc
//! channel and emits [`EngineEvent`]s over a broadcast channel. Open-model
//! phases schedule requests by [`Arrivals`] and send them whether or not
//! earlier ones finished, up to `max_in_flight`; a request due while the cap
//! is reached waits for a free slot up to `max_lag` behind its schedule and
//! is counted as dropped after that. Latency is measured from the scheduled
//! send, so the wait is in it.
//! Closed-model (users) phases hold a [`Population`](users::Population):
//! each user sends, waits for its reply, thinks, and sends again, on its own
//! session; latency is measured from the actual send. Service time is always
//! from the actual send. Statistics per tool per stage, per window and per
//! soak row are bounded histograms; nothing is kept per request or per user
//! beyond a fixed slot.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::collector::CollectorCommand;
use crate::load::background::cpu::{CpuBurn, CpuSpec};
use crate::load::background::gpu::{GpuBurn, GpuSpec};
use crate::load::background::memory::{MemoryPressure, MemorySpec};
use crate::load::drivers::http::{HttpEndpoint, HttpEndpointSpec};
use crate::load::drivers::llm::{LlmEndpoint, LlmSample, LlmSpec};
use crate::load::drivers::mcp::{McpTarget, McpTargetSpec};
use crate::load::llm_stats::{Energy, Slo};
use crate::load::schedule::{
    sweep_rates, users_sweep_next, Arrivals, PhaseKind, PhaseSpec, Stage, SweepMode,
};
use crate::load::stats::{ErrorKind, Percentiles, Rolling, StatsTable, ToolStats};
use crate::probes::{Root, Watch};
use crate::snapshot::Snapshot;

pub(crate) mod events;
mod invalid;
mod mix;
mod phase;
mod summary;
mod users;

pub use events::{
    EngineEvent, GeneratorEvent, GeneratorKind, GeneratorState, GuardAction, GuardEvent, GuardKind,
    Level, LoadWindow, PhaseEvent, StopReason, TargetEvent, UsersWindow, ROLLING_WINDOWS,
};
use invalid::InvalidStats;
pub use invalid::{
    InvalidCounts, InvalidOutcome, InvalidSummary, InvalidToolSummary, MAX_LOAD_PROBE_BYTES,
};
pub use mix::MixEntry;
use mix::{resolve_mix, Op};
use phase::{
    evaluate_break, little_check, push_row, scaled_users, with_energy, PhaseRun, StageRec, SumMax,
};
pub use summary::{
    slope, soak_report, BreakingPoint, ConsoleUsage, GeneratorStatus, LittleCheck, LoadModel, Mean,
    MeanMax, PhaseSummary, RunSummary, Scalability, SoakReport, SoakRow, SoakVerdict, SpikeReport,
    Spread, StageSummary, SweepPoint, SweepReport, TargetSummary, UsersInfo, P50P95, RUN_SCHEMA,
};

/// Everything the engine is built from.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub mcp_targets: Vec<McpTargetSpec>,
    pub http: Vec<HttpEndpointSpec>,
    /// LLM inference endpoints (`[[llm]]`, `--llm-url`).
    pub llm: Vec<LlmSpec>,
    /// What an LLM request must meet to count as goodput.
    pub llm_slo: Slo,
    pub mix: Vec<MixEntry>,
    pub max_in_flight: usize,
    /// Longest a due request waits behind its schedule for a slot under
    /// `max_in_flight` before it is dropped (zero: dropped at once).
    pub max_lag: Duration,
    pub timeout: Duration,
    /// Child stderr logs go here.
    pub log_dir: PathBuf,
    /// Length of each `LoadWindow`.
    pub window: Duration,
    /// Probe root (memory floor for the memory generator).
    pub root: Root,
    /// Memory floor, % of total, that the memory generator never crosses.
    pub memory_floor_pct: f64,
    /// Latest snapshot (soak rows read RSS and available memory from it).
    pub snapshots: Option<watch::Receiver<Option<Arc<Snapshot>>>>,
    /// Where to ask for stdio children to be watched.
    pub collector: Option<mpsc::Sender<CollectorCommand>>,
    /// Seed for every random draw (tool mix, think times, arrivals); `None`: from the OS.
    pub seed: Option<u64>,
    /// Share of MCP calls, %, replaced by invalid inputs from the tool's
    /// schema (a mix entry's own `invalid_pct` wins).
    pub invalid_pct: f64,
    /// Threads of the load runtime: 1 (the default) runs everything on one
    /// thread; more give a multi-threaded runtime with that many workers.
    pub threads: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            mcp_targets: Vec::new(),
            http: Vec::new(),
            llm: Vec::new(),
            llm_slo: Slo::default(),
            mix: Vec::new(),
            max_in_flight: 256,
            max_lag: DEFAULT_MAX_LAG,
            timeout: Duration::from_secs(30),
            log_dir: std::env::temp_dir().join(format!("jetstress-{}", std::process::id())),
            window: Duration::from_secs(1),
            root: Root::new("/"),
            memory_floor_pct: 15.0,
            snapshots: None,
            collector: None,
            seed: None,
            invalid_pct: 0.0,
            threads: 1,
        }
    }
}

/// Requests to the engine.
#[derive(Debug)]
pub enum Command {
    /// Start a phase; a running one is stopped first (reason `replaced`).
    StartPhase(PhaseSpec),
    /// Stop the running phase.
    StopPhase,
    /// Stop the phase and every background load.
    StopAll {
        reason: StopReason,
    },
    /// Multiply the target rate from now on.
    SetRateFactor(f64),
    /// Multiply the users of a users phase from now on (×2, ÷2 from the keys).
    ScaleUsers(f64),
    StartCpu(CpuSpec),
    StopCpu,
    StartMemory(MemorySpec),
    StopMemory,
    StartGpu(GpuSpec),
    StopGpu,
    /// A guard tripped: record it and act on it.
    Guard(GuardEvent),
    /// Send back the summary so far.
    Summary(oneshot::Sender<RunSummary>),
    /// Stop everything and end the engine task.
    Shutdown,
}

struct Completion {
    phase: u64,
    stage: usize,
    op: usize,
    latency: Duration,
    service: Duration,
    error: Option<ErrorKind>,
    /// Closed phases: the user (index, generation) whose request this was.
    user: Option<(u32, u32)>,
    /// An invalid call (counted apart from the valid ones).
    probe: bool,
    /// An LLM endpoint's refusal status, or its reply's figures.
    status: Option<u16>,
    llm: Option<Box<LlmSample>>,
}

/// Handle to a running engine.
#[derive(Debug)]
pub struct EngineHandle {
    pub commands: mpsc::Sender<Command>,
    events: broadcast::Sender<EngineEvent>,
    /// Subscribed before the targets connected (their start-up events).
    first_events: Option<broadcast::Receiver<EngineEvent>>,
    /// Fires (or is dropped) when the load thread has ended: its tasks and
    /// its children are gone.
    done: oneshot::Receiver<()>,
    /// Names of the ops (`target:tool` / endpoint names) in mix order.
    pub ops: Vec<String>,
}

impl EngineHandle {
    pub fn events(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    /// The events since the engine began connecting its targets (a target
    /// left out, a session that failed at start), then everything after;
    /// once taken, a fresh subscription like [`EngineHandle::events`].
    pub fn take_events(&mut self) -> broadcast::Receiver<EngineEvent> {
        self.first_events
            .take()
            .unwrap_or_else(|| self.events.subscribe())
    }

    pub async fn send(&self, c: Command) {
        let _ = self.commands.send(c).await;
    }

    /// The summary so far (`None` if the engine has ended).
    pub async fn summary(&self) -> Option<RunSummary> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Summary(tx)).await.ok()?;
        rx.await.ok()
    }

    /// Stop everything and wait for the load thread to end.
    pub async fn shutdown(self) {
        let _ = self.commands.send(Command::Shutdown).await;
        let _ = self.done.await;
    }
}

pub struct Engine;

/// What the load thread hands back once the engine runs.
struct Started {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<EngineEvent>,
    first_events: broadcast::Receiver<EngineEvent>,
    ops: Vec<String>,
}

impl Engine {
    /// Start the load thread: connect every target (first session of each,
    /// listing tools), resolve the tool mix and run the engine. A target
    /// whose first session never connects is left out (a `Died` event that
    /// says why, its mix entries skipped, listed in the summary with its
    /// failures); the spawn fails only when nothing is left to load.
    ///
    /// The engine, every request, the MCP sessions and their children run
    /// on one thread of their own with a single-threaded runtime: no request
    /// wakes another thread (on two cores, tokio's worker hand-offs were one
    /// context switch per HTTP request and a fifth of the generator's CPU),
    /// and the dashboard's drawing never delays a send. The children's
    /// `PR_SET_PDEATHSIG` follows that thread: they die when it ends.
    pub async fn spawn(config: EngineConfig) -> anyhow::Result<EngineHandle> {
        let (ready_tx, ready_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        let threads = config.threads.max(1);
        std::thread::Builder::new()
            .name("jetstress-load".into())
            .spawn(move || {
                let mut b = if threads == 1 {
                    tokio::runtime::Builder::new_current_thread()
                } else {
                    let mut b = tokio::runtime::Builder::new_multi_thread();
                    b.worker_threads(threads).thread_name("jetstress-load");
                    b
                };
                let rt = match b.enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow::anyhow!("load runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    match Engine::start(config).await {
                        Ok((handle, run)) => {
                            let _ = ready_tx.send(Ok(handle));
                            run.await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
                // Requests still running are dropped with the runtime.
                drop(rt);
                let _ = done_tx.send(());
            })
            .map_err(|e| anyhow::anyhow!("cannot start the load thread: {e}"))?;
        let s = ready_rx
            .await
            .map_err(|_| anyhow::anyhow!("the load thread ended while starting"))??;
        Ok(EngineHandle {
            commands: s.commands,
            events: s.events,
            first_events: Some(s.first_events),
            done: done_rx,
            ops: s.ops,
        })
    }

    /// The engine's start on its own thread: the handle's parts and the
    /// engine loop to run there.
    async fn start(
        config: EngineConfig,
    ) -> anyhow::Result<(Started, impl std::future::Future<Output = ()>)> {
        // The first receiver keeps what is said while the targets connect,
        // for the session that takes it (`EngineHandle::take_events`).
        let (events, first_events) = broadcast::channel(1024);
        let mut targets = Vec::new();
        let mut unreached = Vec::new();
        for spec in &config.mcp_targets {
            match McpTarget::start(spec.clone(), config.log_dir.clone(), events.clone()).await {
                Ok(t) => targets.push(t),
                Err(e) => unreached.push(unreached_target(spec, &e)),
            }
        }
        if targets.is_empty()
            && config.http.is_empty()
            && config.llm.is_empty()
            && !unreached.is_empty()
        {
            anyhow::bail!(why_unreached(&unreached));
        }
        let endpoints: Vec<HttpEndpoint> = config
            .http
            .iter()
            .map(|s| HttpEndpoint::new(s.clone(), config.max_in_flight.max(1)))
            .collect::<Result<_, _>>()?;
        let client =
            crate::load::drivers::llm::client(config.timeout, config.max_in_flight.max(1))?;
        let llms: Vec<LlmEndpoint> = config
            .llm
            .iter()
            .map(|s| LlmEndpoint::new(s.clone(), client.clone()))
            .collect::<Result<_, _>>()?;
        let left_out: Vec<&str> = unreached.iter().map(|t| t.name.as_str()).collect();
        let (ops, weights, skipped) = resolve_mix(
            &config.mix,
            &targets,
            &endpoints,
            &llms,
            &left_out,
            config.invalid_pct,
        )
        .map_err(|e| match unreached.as_slice() {
            [] => e,
            u => anyhow::anyhow!("{e}: {}", why_unreached(u)),
        })?;
        for t in &unreached {
            let mine: Vec<&str> = skipped
                .iter()
                .filter(|m| {
                    left_out.len() == 1 || m.rsplit_once(':').is_some_and(|(n, _)| n == t.name)
                })
                .map(String::as_str)
                .collect();
            let reason = match mine.as_slice() {
                [] => t.connect_error.clone().unwrap_or_default(),
                m => format!(
                    "{}; mix entries skipped: {}",
                    t.connect_error.as_deref().unwrap_or_default(),
                    m.join(", ")
                ),
            };
            let _ = events.send(EngineEvent::Target(TargetEvent::Died {
                target: t.name.clone(),
                session: 0,
                reason,
                restarting: false,
                stderr_log: None,
            }));
        }
        let names: Vec<String> = ops.iter().map(|o| o.name.clone()).collect();
        let (commands, rx) = mpsc::channel(64);
        let mut state = State::new(config, targets, ops, weights, events.clone());
        state.unreached = unreached;
        let started = Started {
            commands,
            events: events.clone(),
            first_events,
            ops: names,
        };
        Ok((started, state.run(rx)))
    }
}

/// `target 'a': why; target 'b': why`.
fn why_unreached(unreached: &[TargetSummary]) -> String {
    unreached
        .iter()
        .map(|t| {
            format!(
                "target '{}': {}",
                t.name,
                t.connect_error.as_deref().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A target whose first session never connected, as the summary lists it.
fn unreached_target(spec: &McpTargetSpec, e: &anyhow::Error) -> TargetSummary {
    TargetSummary {
        name: spec.name.clone().unwrap_or_else(|| spec.fallback_name()),
        kind: spec.endpoint.kind().into(),
        sessions: 0,
        tools: Vec::new(),
        failures: spec.sessions.max(1) as u64,
        connect_error: Some(format!("{e:#}")),
        ..TargetSummary::default()
    }
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

struct State {
    config: EngineConfig,
    targets: Vec<Arc<McpTarget>>,
    ops: Arc<Vec<Op>>,
    names: Vec<String>,
    cumulative: Vec<f64>,
    events: broadcast::Sender<EngineEvent>,
    started: Instant,
    started_unix_ms: u64,
    in_flight: usize,
    next_id: u64,
    current: Option<PhaseRun>,
    finished: Vec<PhaseRun>,
    window: StatsTable,
    /// Invalid calls answered in this window.
    window_invalid: InvalidCounts,
    /// Board energy over this window (LLM tokens per joule).
    window_energy: Energy,
    /// Requests in flight per op (LLM peak concurrency).
    op_in_flight: Vec<u64>,
    window_start: Instant,
    rolling: Rolling,
    guard_events: Vec<GuardEvent>,
    cpu: Option<CpuBurn>,
    memory: Option<MemoryPressure>,
    gpu: Option<GpuBurn>,
    generators: Vec<GeneratorStatus>,
    watched: HashSet<u32>,
    done_tx: mpsc::UnboundedSender<Completion>,
    done_rx: Option<mpsc::UnboundedReceiver<Completion>>,
    factor: f64,
    users_factor: f64,
    rng: StdRng,
    /// Per MCP target: RSS of one session's process, over the windows.
    session_rss: Vec<SumMax>,
    /// A users phase ended: put the targets back to their own session count
    /// once its requests are answered (phase id, latest time).
    pending_restore: Option<(u64, Instant)>,
    /// Targets that never connected (listed in the summary).
    unreached: Vec<TargetSummary>,
}

/// Precise send timing (early wake + yield) only when arrivals are at least this far apart.
const PRECISE_MIN_GAP: Duration = Duration::from_millis(4);
/// How early to wake before a deadline for precise timing.
const PRECISE_EARLY: Duration = Duration::from_micros(1500);

/// One target's server RSS in a snapshot: its live sessions' processes.
#[derive(Debug, Default, Clone, Copy)]
struct TargetRss {
    /// Their sum, MB; `None` when none was read.
    sum_mb: Option<f64>,
    /// How many were read.
    sessions: usize,
    /// The largest one, MB.
    largest_mb: f64,
}

/// How far behind its schedule a request may wait for a slot (default):
/// enough to ride out the load thread being descheduled, short enough that
/// a saturated target shows as drops within its stage.
pub const DEFAULT_MAX_LAG: Duration = Duration::from_millis(100);

/// Finished phases kept for the summary (older ones are dropped).
const MAX_FINISHED_PHASES: usize = 64;

impl State {
    fn new(
        config: EngineConfig,
        targets: Vec<Arc<McpTarget>>,
        ops: Vec<Op>,
        weights: Vec<f64>,
        events: broadcast::Sender<EngineEvent>,
    ) -> Self {
        let mut acc = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                acc += w;
                acc
            })
            .collect();
        let names: Vec<String> = ops.iter().map(|o| o.name.clone()).collect();
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let rng = match config.seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        };
        State {
            session_rss: vec![SumMax::default(); targets.len()],
            pending_restore: None,
            unreached: Vec::new(),
            users_factor: 1.0,
            rng,
            window: StatsTable::new(ops.len()),
            window_invalid: InvalidCounts::default(),
            window_energy: Energy::default(),
            op_in_flight: vec![0; ops.len()],
            rolling: Rolling::new(ROLLING_WINDOWS),
            config,
            targets,
            ops: Arc::new(ops),
            names,
            cumulative,
            events,
            started: Instant::now(),
            started_unix_ms: now_unix_ms(),
            in_flight: 0,
            next_id: 1,
            current: None,
            finished: Vec::new(),
            window_start: Instant::now(),
            guard_events: Vec::new(),
            cpu: None,
            memory: None,
            gpu: None,
            generators: Vec::new(),
            watched: HashSet::new(),
            done_tx,
            done_rx: Some(done_rx),
            factor: 1.0,
        }
    }

    fn emit(&self, e: EngineEvent) {
        let _ = self.events.send(e);
    }

    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut done = self.done_rx.take().expect("completion receiver");
        loop {
            let now = Instant::now();
            // Stage changes first, so a stage that broke gets no more requests.
            self.tick(now);
            self.dispatch_due(now);
            let deadline = self.next_deadline();
            // tokio's timer fires on the next 1 ms tick after a deadline. For
            // sparse arrivals, wake ~1 ms early and yield until the exact time,
            // so requests leave on schedule (±tens of µs) at little CPU cost.
            let wake = match self.arrival_gap() {
                Some(gap) if gap >= PRECISE_MIN_GAP => {
                    deadline.checked_sub(PRECISE_EARLY).unwrap_or(deadline)
                }
                _ => deadline,
            };
            if wake <= Instant::now() && deadline > Instant::now() {
                tokio::task::yield_now().await;
                if let Ok(c) = done.try_recv() {
                    self.complete(c);
                }
                continue;
            }
            tokio::select! {
                biased;
                c = done.recv() => {
                    if let Some(c) = c {
                        self.complete(c);
                        while let Ok(c) = done.try_recv() {
                            self.complete(c);
                        }
                    }
                }
                cmd = commands.recv() => match cmd {
                    Some(Command::Shutdown) => break,
                    Some(c) => self.command(c),
                    // Every handle (and guard) is gone: nobody can stop the load any more.
                    None => break,
                },
                () = tokio::time::sleep_until(wake.into()) => {}
            }
        }
        self.stop_phase(StopReason::Shutdown);
        self.stop_background(&StopReason::Shutdown);
        for t in &self.targets {
            t.stop();
        }
    }

    /// Gap between consecutive arrivals at the current rate, if a phase runs.
    fn arrival_gap(&self) -> Option<Duration> {
        let run = self.current.as_ref()?;
        let t = run.start.elapsed().as_secs_f64();
        let r = run.arrivals.rate_at(t);
        (r > 0.0).then(|| Duration::from_secs_f64((1.0 / r).min(3600.0)))
    }

    fn next_deadline(&self) -> Instant {
        let mut d = self.window_start + self.config.window;
        if let Some((pop, _)) = self.current.as_ref().and_then(|r| r.population.as_ref()) {
            let run = self.current.as_ref().expect("current phase");
            if let Some(p) = pop.next_deadline() {
                d = d.min(p);
            }
            d = d.min(run.row_start + run.spec.row_every);
            if let Some(s) = run.spec.stages.get(run.stage) {
                d = d.min(run.stage_started + s.duration);
            }
            return d;
        }
        if let Some(run) = &self.current {
            let now = Instant::now();
            // At the cap a due request waits for a completion (which wakes the
            // loop) or until it is `max_lag` late; the phase's end waits for it.
            let waiting = match run.next {
                Some((at, _)) if at <= now && self.in_flight >= self.config.max_in_flight => {
                    d = d.min(at + self.config.max_lag);
                    true
                }
                Some((at, _)) => {
                    d = d.min(at);
                    false
                }
                None => false,
            };
            d = d.min(run.row_start + run.spec.row_every);
            let mut until = |at: Instant| {
                if !waiting || at > now {
                    d = d.min(at);
                }
            };
            until(run.start + Duration::from_secs_f64(run.arrivals.end()));
            if let Some(s) = run.stages.get(run.stage) {
                let stage_end = s.start_s + run.spec.stages[run.stage].duration.as_secs_f64();
                until(run.start + Duration::from_secs_f64(stage_end));
            }
        }
        d
    }

    fn dispatch_due(&mut self, now: Instant) {
        let Some(run) = self.current.as_mut() else {
            return;
        };
        if self.ops.is_empty() {
            return;
        }
        if run.population.is_some() {
            self.dispatch_users(now);
            return;
        }
        while let Some((at, stage)) = run.next {
            if at > now {
                break;
            }
            let full = self.in_flight >= self.config.max_in_flight;
            if full && now.saturating_duration_since(at) < self.config.max_lag {
                // Wait for a completion (or the lag bound) with this one at the head.
                break;
            }
            let op = pick_op(&self.cumulative, &mut self.rng);
            let probe = self.ops[op].draw_invalid(&mut self.rng);
            if full {
                run.record_dropped(&mut self.window, stage, op);
            } else {
                let last = run.stages.len() - 1;
                let rec = &mut run.stages[stage.min(last)];
                rec.scheduled += 1;
                self.in_flight += 1;
                rec.in_flight += 1;
                if self.ops[op].is_llm() && probe.is_none() {
                    llm_sent(
                        &mut self.op_in_flight,
                        op,
                        [&mut rec.table, &mut self.window],
                    );
                }
                let ops = self.ops.clone();
                let tx = self.done_tx.clone();
                let timeout = self.config.timeout;
                let phase = run.id;
                tokio::spawn(async move {
                    let sent = Instant::now();
                    let reply = tokio::time::timeout(timeout, ops[op].send(None, probe))
                        .await
                        .unwrap_or_else(|_| Err(ErrorKind::Timeout).into());
                    let end = Instant::now();
                    let _ = tx.send(Completion {
                        phase,
                        stage,
                        op,
                        latency: end.saturating_duration_since(at),
                        service: end - sent,
                        error: reply.error,
                        user: None,
                        probe: probe.is_some(),
                        status: reply.status,
                        llm: reply.llm,
                    });
                });
            }
            run.advance();
        }
    }

    /// Closed phase: every user whose think is over sends its next request
    /// on its own session (once that session is up, or after `timeout`).
    fn dispatch_users(&mut self, now: Instant) {
        let Some(run) = self.current.as_mut() else {
            return;
        };
        let Some((pop, _)) = run.population.as_mut() else {
            return;
        };
        let stage = run.stage;
        let rec = &mut run.stages[stage];
        let limit = run.spec.stages[stage].requests;
        while let Some(due) = pop.pop_due(now) {
            if limit.is_some_and(|n| rec.scheduled >= n) {
                pop.park(due);
                continue;
            }
            let op = if run.spec.users.as_ref().is_some_and(|u| u.in_turn) {
                rec.scheduled as usize % self.ops.len().max(1)
            } else {
                pick_op(&self.cumulative, &mut self.rng)
            };
            let session = due.user as usize % run.sessions_wanted.max(1);
            if !due.has_sent
                && due.age < self.config.timeout
                && !self.ops[op].session_ready(session)
            {
                pop.defer(due, now + SESSION_WAIT);
                continue;
            }
            let probe = self.ops[op].draw_invalid(&mut self.rng);
            let times = pop.sent(due, now, session);
            rec.scheduled += 1;
            rec.in_flight += 1;
            self.in_flight += 1;
            if self.ops[op].is_llm() && probe.is_none() {
                llm_sent(
                    &mut self.op_in_flight,
                    op,
                    [&mut rec.table, &mut self.window],
                );
            }
            if let Some(c) = rec.closed.as_mut() {
                if let Some(i) = times.iteration {
                    c.iteration.record(i.as_micros() as u64);
                }
                if let Some(w) = times.waited {
                    c.think_waited.add(w.as_secs_f64());
                }
            }
            let ops = self.ops.clone();
            let tx = self.done_tx.clone();
            let timeout = self.config.timeout;
            let phase = run.id;
            let user = (due.user, due.generation);
            tokio::spawn(async move {
                let sent = Instant::now();
                let reply = tokio::time::timeout(timeout, ops[op].send(Some(session), probe))
                    .await
                    .unwrap_or_else(|_| Err(ErrorKind::Timeout).into());
                let service = sent.elapsed();
                let _ = tx.send(Completion {
                    phase,
                    stage,
                    op,
                    latency: service,
                    service,
                    error: reply.error,
                    user: Some(user),
                    probe: probe.is_some(),
                    status: reply.status,
                    llm: reply.llm,
                });
            });
        }
    }

    fn complete(&mut self, c: Completion) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let invalid = c
            .probe
            .then(|| InvalidOutcome::of(c.error.map_or(Ok(()), Err)))
            .flatten();
        match invalid {
            Some(o) => self.window_invalid.add(o),
            None if c.probe => {}
            None => self.window.record(c.op, c.latency, c.service, c.error),
        }
        let slo = self.config.llm_slo;
        // Open phases: TTFT and E2E count from the scheduled send, as latency does.
        let lag = c.latency.saturating_sub(c.service);
        let is_llm = !c.probe && self.ops.get(c.op).is_some_and(Op::is_llm);
        if is_llm {
            if let Some(n) = self.op_in_flight.get_mut(c.op) {
                *n = n.saturating_sub(1);
            }
            record_llm(&mut self.window, &c, lag, &slo);
        }
        let now = Instant::now();
        let run = match self.current.as_mut() {
            Some(r) if r.id == c.phase => Some(r),
            _ => self.finished.iter_mut().find(|r| r.id == c.phase),
        };
        if let Some(run) = run {
            let mut think = None;
            if let (Some((pop, _)), Some((user, generation))) = (run.population.as_mut(), c.user) {
                if run.ended_s.is_none() {
                    think = pop.replied(user, generation, now, c.service, &mut self.rng);
                } else {
                    pop.finished(user, generation);
                }
            }
            if let Some(o) = invalid {
                run.invalid.record(c.op, o, c.service.as_micros() as u64);
            }
            if let Some(s) = run.stages.get_mut(c.stage) {
                if c.probe {
                    s.invalid_done += 1;
                } else {
                    s.table.record(c.op, c.latency, c.service, c.error);
                    if is_llm {
                        record_llm(&mut s.table, &c, lag, &slo);
                    }
                }
                s.in_flight = s.in_flight.saturating_sub(1);
                if let Some(cl) = s.closed.as_mut() {
                    cl.service.add(c.service.as_secs_f64());
                    if let Some(t) = think {
                        cl.think_planned.add(t.as_secs_f64());
                    }
                }
            }
            if run.ended_s.is_none() && !c.probe {
                run.row_stats.record(c.latency, c.service, c.error);
            }
        }
    }

    fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    #[expect(
        clippy::too_many_lines,
        reason = "stage changes, stress judging, soak rows and windows on one clock"
    )]
    fn tick(&mut self, now: Instant) {
        // Stage changes and phase end.
        let mut stop: Option<StopReason> = None;
        let mut ev = None;
        let timeout = self.config.timeout;
        let closed = self
            .current
            .as_ref()
            .is_some_and(|r| r.population.is_some());
        self.restore_when_idle(now);
        if closed {
            (ev, stop) = self.tick_users(now);
        } else if let Some(run) = self.current.as_mut() {
            // A finished stress stage is judged once its own requests are done
            // (or timed out), so its slowest requests count.
            if let Some((i, since)) = run.pending_eval {
                if run.stages[i].in_flight == 0 || now.saturating_duration_since(since) >= timeout {
                    run.pending_eval = None;
                    if let Some(bp) = evaluate_break(run, i) {
                        run.breaking = Some(bp);
                        stop = Some(StopReason::BreakingPoint);
                    }
                }
            }
            let t = now.saturating_duration_since(run.start).as_secs_f64();
            let stage_now = run.arrivals.stage_at(t);
            // Requests due before the end but waiting for a slot are sent (or
            // dropped at `max_lag`) before the phase ends.
            let backlog = stage_now.is_none() && run.next.is_some_and(|(at, _)| at <= now);
            if stop.is_none() && stage_now != Some(run.stage) && !backlog {
                let prev = run.stage;
                let prev_end =
                    run.stages[prev].start_s + run.spec.stages[prev].duration.as_secs_f64();
                run.stages[prev].end_s = Some(t.min(prev_end));
                if stage_now.is_none() {
                    // Phase end: judge what is left now.
                    for i in run
                        .pending_eval
                        .take()
                        .map(|(i, _)| i)
                        .into_iter()
                        .chain([prev])
                    {
                        if run.breaking.is_none() {
                            if let Some(bp) = evaluate_break(run, i) {
                                run.breaking = Some(bp);
                                stop = Some(StopReason::BreakingPoint);
                            }
                        }
                    }
                } else if run.spec.kind == PhaseKind::Stress {
                    if let Some((i, _)) = run.pending_eval.take() {
                        if let Some(bp) = evaluate_break(run, i) {
                            run.breaking = Some(bp);
                            stop = Some(StopReason::BreakingPoint);
                        }
                    }
                    run.pending_eval = Some((prev, now));
                }
                match stage_now {
                    _ if stop.is_some() => {}
                    Some(i) => {
                        run.stage = i;
                        let s = &run.spec.stages[i];
                        run.stages[i].start_s = run.spec.stages[..i]
                            .iter()
                            .map(|s| s.duration.as_secs_f64())
                            .sum();
                        ev = Some(PhaseEvent::StageChanged {
                            phase: run.spec.name.clone(),
                            id: run.id,
                            stage: i,
                            name: s.name.clone(),
                            target_rate: s.mean_rate() * run.arrivals.factor(),
                            users: None,
                        });
                    }
                    None => {
                        if run.spec.kind == PhaseKind::Stress && run.breaking.is_none() {
                            let top = run.spec.stages.last().map_or(0.0, |s| s.rate);
                            run.breaking = Some(BreakingPoint {
                                found: false,
                                last_good_rps: Some(top),
                                first_bad_rps: None,
                                reason: format!("no breaking point up to {top} rps"),
                            });
                        }
                        stop = Some(StopReason::Completed);
                    }
                }
            }
        }
        if let Some(e) = ev {
            self.emit(EngineEvent::Phase(e));
        }
        if let Some(reason) = stop {
            self.stop_phase(reason);
        }
        // Soak rows.
        if let Some(run) = self.current.as_ref() {
            if now >= run.row_start + run.spec.row_every {
                let (rss, avail) = self.target_memory();
                let run = self.current.as_mut().expect("current phase");
                push_row(run, now, rss, avail);
            }
        }
        // Windows.
        if now >= self.window_start + self.config.window {
            let secs = now.duration_since(self.window_start).as_secs_f64();
            self.watch_targets();
            if let Some(short) = self
                .memory
                .as_ref()
                .and_then(MemoryPressure::take_shortfall)
            {
                let detail = short.to_string();
                self.gen_status(GeneratorKind::Memory, GeneratorState::Limited, detail);
            }
            let (phase, stage, rate) = match &self.current {
                Some(r) => {
                    let t = now.saturating_duration_since(r.start).as_secs_f64();
                    (
                        Some(r.spec.name.clone()),
                        r.spec.stages.get(r.stage).map(|s| s.name.clone()),
                        r.arrivals.rate_at(t),
                    )
                }
                None => (None, None, 0.0),
            };
            let all = self.window.all.summary("all", secs);
            // Spike recovery: the end of the first window that lies wholly in
            // the recovery stage and is back near the baseline p95.
            let window_start = self.window_start;
            if let Some(run) = self.current.as_mut() {
                if run.spec.kind == PhaseKind::Spike
                    && run.stage == 2
                    && run.recovered_s.is_none()
                    && all.count > 0
                    && window_start >= run.start + Duration::from_secs_f64(run.stages[2].start_s)
                {
                    let base = Percentiles::of(&run.stages[0].table.all.latency).p95;
                    if all.latency_ms.p95 <= base * 1.1 + 1.0 {
                        let t = now.saturating_duration_since(run.start).as_secs_f64();
                        run.recovered_s = Some((t - run.stages[2].start_s).max(0.0));
                    }
                }
            }
            self.rolling.push(&self.window, secs);
            let users = self.sample_users_and_rss(now);
            let (total_w, gpu_w) = board_watts(self.latest_snapshot().as_deref());
            self.window_energy.add(secs, total_w, gpu_w);
            if let Some(run) = self.current.as_mut() {
                if let Some(rec) = run.stages.get_mut(run.stage) {
                    rec.energy.add(secs, total_w, gpu_w);
                }
            }
            let tools = with_energy(
                self.window.summaries_with_buckets(&self.names, secs),
                &self.window_energy,
            );
            let lw = LoadWindow {
                users,
                elapsed_s: self.elapsed(),
                window_s: secs,
                phase,
                stage,
                target_rate: rate,
                in_flight: self.in_flight,
                tools,
                all,
                rolling_s: self.rolling.span(),
                rolling_all: self.rolling.all(),
                rolling_tools: self.rolling.tools(&self.names),
                invalid: (self.window_invalid.sent > 0).then_some(self.window_invalid),
            };
            self.emit(EngineEvent::LoadWindow(Box::new(lw)));
            self.window.reset();
            for run in self.current.iter_mut().chain(self.finished.iter_mut()) {
                run.freeze_idle();
            }
            if self.current.is_none() && self.in_flight == 0 {
                // No load: the window's arrays go until the next request.
                self.window.freeze();
            }
            self.window_invalid = InvalidCounts::default();
            self.window_energy = Energy::default();
            self.window_start = now;
        }
    }

    /// Closed phase: count user·seconds, start or retire users at the spawn
    /// rate, and move to the next stage when this one's time is up or its
    /// requests are all answered.
    fn tick_users(&mut self, now: Instant) -> (Option<PhaseEvent>, Option<StopReason>) {
        let factor = self.users_factor;
        let Some(run) = self.current.as_mut() else {
            return (None, None);
        };
        let Some((pop, last)) = run.population.as_mut() else {
            return (None, None);
        };
        let i = run.stage;
        let dt = now.saturating_duration_since(*last).as_secs_f64();
        if let Some(c) = run.stages[i].closed.as_mut() {
            c.user_seconds += f64::from(pop.cycling()) * dt;
        }
        *last = now;
        pop.steps(now);
        let wanted = run.sessions_wanted;
        if self.targets.iter().any(|t| t.sessions() > wanted) && !pop.busy_from(wanted) {
            for target in &self.targets {
                target.set_sessions(wanted);
            }
        }
        let spec = &run.spec.stages[i];
        let by_time = now.saturating_duration_since(run.stage_started) >= spec.duration;
        let by_requests = spec
            .requests
            .is_some_and(|n| run.stages[i].scheduled >= n && run.stages[i].in_flight == 0);
        if !(by_time || by_requests) {
            return (None, None);
        }
        let t = now.saturating_duration_since(run.start).as_secs_f64();
        run.stages[i].end_s = Some(t);
        let hold = run.spec.sweep.map_or(spec.duration, |p| p.hold);
        if let Some(users) = users_sweep_step(&run.spec, &run.stages, i) {
            let st = Stage::users(users, Some(hold), None);
            run.stages.push(StageRec::new(&st, self.ops.len(), true));
            run.spec.stages.push(st);
        }
        let Some(next) = run.spec.stages.get(i + 1) else {
            return (None, Some(StopReason::Completed));
        };
        run.stage = i + 1;
        run.stages[i + 1].start_s = t;
        run.stage_started = now;
        let users = scaled_users(next.users, factor);
        pop.set_target(users, now);
        pop.unpark_all(now);
        run.sessions_wanted = grow_sessions(&self.targets, users, pop.spec.max_sessions);
        (
            Some(PhaseEvent::StageChanged {
                phase: run.spec.name.clone(),
                id: run.id,
                stage: i + 1,
                name: next.name.clone(),
                target_rate: 0.0,
                users: Some(users),
            }),
            None,
        )
    }

    /// At each window: the targets' RSS into the running stage and the
    /// per-session means; for a closed phase, the users now and Little's law
    /// over the stage so far (a lag is reported once per stage).
    fn sample_users_and_rss(&mut self, now: Instant) -> Option<UsersWindow> {
        let per_target = self.target_rss(self.latest_snapshot().as_deref());
        let mut total = None::<f64>;
        let mut live = 0;
        for (acc, t) in self.session_rss.iter_mut().zip(&per_target) {
            if let Some(r) = t.sum_mb {
                *total.get_or_insert(0.0) += r;
                live += t.sessions;
                // The mean over sessions, and the largest one as the peak: a
                // single bloated session among ten is not averaged away.
                acc.add_mean_max(r / t.sessions as f64, t.largest_mb);
            }
        }
        let run = self.current.as_mut()?;
        let i = run.stage;
        if let Some(t) = total {
            run.stages[i].rss = Some((t, live));
        }
        let (pop, _) = run.population.as_ref()?;
        let rec = &run.stages[i];
        let elapsed = now
            .saturating_duration_since(run.stage_started)
            .as_secs_f64();
        let little = rec
            .closed
            .as_ref()
            .and_then(|c| little_check(c, rec.table.all.count + rec.invalid_done, elapsed));
        let settled = pop.active() == pop.target()
            && elapsed >= 10.0
            && rec.table.all.count >= 20
            && rec
                .closed
                .as_ref()
                .is_some_and(|c| Percentiles::of(&c.iteration).p50 / 1000.0 * 3.0 <= elapsed);
        let lagging = settled && little.is_some_and(|l| !l.holds);
        let window = UsersWindow {
            active: pop.active(),
            target: pop.target(),
            in_flight: pop.in_flight(),
            expected_users: little.map(|l| l.expected_users),
            lagging,
        };
        if lagging && !run.lag_reported.contains(&i) {
            run.lag_reported.push(i);
            let l = little.expect("lagging implies a check");
            let ev = PhaseEvent::Lagging {
                phase: run.spec.name.clone(),
                id: run.id,
                expected_users: l.expected_users,
                users: l.users,
            };
            self.emit(EngineEvent::Phase(ev));
        }
        Some(window)
    }

    /// A finished users phase's extra sessions go (down to each target's own
    /// count) once no request of it is in flight (or its timeout has passed).
    /// Nothing grows here: an engine about to end must not start children;
    /// the next open phase brings the sessions it needs.
    fn restore_when_idle(&mut self, now: Instant) {
        let Some((id, deadline)) = self.pending_restore else {
            return;
        };
        let busy = self
            .finished
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| r.population.as_ref())
            .is_some_and(|(p, _)| p.busy_from(0));
        if !busy || now >= deadline {
            self.pending_restore = None;
            self.restore_sessions(false);
        }
    }

    /// Each target back to its own session count; with `grow` false only
    /// sessions above it are removed.
    fn restore_sessions(&self, grow: bool) {
        for target in &self.targets {
            let own = target.spec.sessions.max(1);
            if target.sessions() > own || (grow && target.sessions() < own) {
                target.set_sessions(own);
            }
        }
    }

    /// Per MCP target: its live processes' RSS, summed (`None` when the
    /// collector has none of them yet, or for HTTP targets), how many were
    /// read, and the largest one.
    fn target_rss(&self, snap: Option<&Snapshot>) -> Vec<TargetRss> {
        self.targets
            .iter()
            .map(|t| {
                let mut out = TargetRss::default();
                let Some(snap) = snap else {
                    return out;
                };
                let pids: HashSet<u32> = t.pids().into_iter().collect();
                for r in snap
                    .watched
                    .iter()
                    .filter(|w| w.alive && pids.contains(&w.pid))
                    .filter_map(|w| w.rss_mb)
                {
                    *out.sum_mb.get_or_insert(0.0) += r;
                    out.largest_mb = out.largest_mb.max(r);
                    out.sessions += 1;
                }
                out
            })
            .collect()
    }

    fn latest_snapshot(&self) -> Option<Arc<Snapshot>> {
        self.config
            .snapshots
            .as_ref()
            .and_then(|rx| rx.borrow().clone())
    }

    /// Ask the collector to watch every stdio child we have not seen yet.
    fn watch_targets(&mut self) {
        let Some(tx) = &self.config.collector else {
            return;
        };
        for t in &self.targets {
            for pid in t.pids() {
                if self.watched.insert(pid) {
                    let _ = tx.try_send(CollectorCommand::Watch(Watch::Pid(pid)));
                }
            }
        }
    }

    /// Summed RSS of the live target children, and available memory, from the latest snapshot.
    fn target_memory(&self) -> (Option<f64>, Option<f64>) {
        let snap = self.latest_snapshot();
        let rss = self
            .target_rss(snap.as_deref())
            .iter()
            .filter_map(|t| t.sum_mb)
            .reduce(|a, b| a + b);
        (rss, snap.and_then(|s| s.memory.available_mb))
    }

    #[expect(clippy::too_many_lines, reason = "one arm per engine command")]
    fn command(&mut self, c: Command) {
        match c {
            Command::StartPhase(spec) => self.start_phase(spec),
            Command::StopPhase => self.stop_phase(StopReason::Stopped),
            Command::StopAll { reason } => {
                self.stop_background(&reason);
                self.stop_phase(reason);
            }
            Command::SetRateFactor(f) => {
                self.factor = if f.is_finite() { f.max(0.0) } else { 1.0 };
                if let Some(run) = self.current.as_mut() {
                    run.arrivals.set_factor(self.factor);
                }
            }
            Command::ScaleUsers(f) => self.scale_users(f),
            Command::StartCpu(spec) => {
                self.cpu = None;
                let b = CpuBurn::start(spec);
                let detail = format!("{} threads at {}%", b.threads(), spec.duty_pct);
                self.cpu = Some(b);
                self.gen_status(GeneratorKind::Cpu, GeneratorState::Started, detail);
            }
            Command::StopCpu => {
                if self.cpu.take().is_some() {
                    self.gen_status(
                        GeneratorKind::Cpu,
                        GeneratorState::Stopped,
                        "by command".into(),
                    );
                }
            }
            Command::StartMemory(spec) => {
                self.memory = None;
                self.memory = Some(MemoryPressure::start(
                    spec,
                    self.config.root.clone(),
                    self.config.memory_floor_pct,
                ));
                self.gen_status(
                    GeneratorKind::Memory,
                    GeneratorState::Started,
                    format!(
                        "to {} MB at {} MB/s (floor {}%)",
                        spec.target_mb, spec.rate_mb_s, self.config.memory_floor_pct
                    ),
                );
            }
            Command::StopMemory => {
                if let Some(m) = self.memory.take() {
                    let held = m.held_mb();
                    m.stop();
                    self.gen_status(
                        GeneratorKind::Memory,
                        GeneratorState::Stopped,
                        format!("released {held} MB"),
                    );
                }
            }
            Command::StartGpu(spec) => {
                self.gpu = None;
                match GpuBurn::start(spec) {
                    Ok(g) => {
                        self.gpu = Some(g);
                        self.gen_status(
                            GeneratorKind::Gpu,
                            GeneratorState::Started,
                            match spec.per_s {
                                Some(r) => format!("SGEMM {0}×{0}, {r} per s", spec.size),
                                None => format!("SGEMM {0}×{0} at {1}%", spec.size, spec.duty_pct),
                            },
                        );
                    }
                    Err(e) => self.gen_status(
                        GeneratorKind::Gpu,
                        GeneratorState::Unavailable,
                        e.to_string(),
                    ),
                }
            }
            Command::StopGpu => {
                if self.gpu.take().is_some() {
                    self.gen_status(
                        GeneratorKind::Gpu,
                        GeneratorState::Stopped,
                        "by command".into(),
                    );
                }
            }
            Command::Guard(ev) => {
                self.guard_events.push(ev.clone());
                self.emit(EngineEvent::Guard(ev.clone()));
                match ev.action {
                    GuardAction::ReleaseMemory => {
                        if let Some(m) = self.memory.take() {
                            let held = m.held_mb();
                            m.stop();
                            self.gen_status(
                                GeneratorKind::Memory,
                                GeneratorState::Stopped,
                                format!("guard {}: released {held} MB", ev.guard),
                            );
                        }
                    }
                    GuardAction::StopAll => {
                        let reason = StopReason::Guard {
                            guard: ev.guard,
                            message: ev.message.clone(),
                        };
                        self.stop_background(&reason);
                        self.stop_phase(reason);
                    }
                }
            }
            Command::Summary(tx) => {
                let _ = tx.send(self.summary());
            }
            Command::Shutdown => {}
        }
    }

    /// `u` / `U`: multiply the running users phase's population (and the
    /// stages after it) by `f`.
    fn scale_users(&mut self, f: f64) {
        if !(f.is_finite() && f > 0.0) {
            return;
        }
        let Some(run) = self.current.as_mut() else {
            return;
        };
        let Some((pop, _)) = run.population.as_mut() else {
            return;
        };
        let users = scaled_users(pop.target().max(1), f);
        // The factor follows what the population holds (after rounding and
        // the 1 ..= MAX_USERS bounds), so later stages scale the same way.
        self.users_factor = f64::from(users) / f64::from(run.spec.stages[run.stage].users.max(1));
        let now = Instant::now();
        pop.set_target(users, now);
        run.sessions_wanted = grow_sessions(&self.targets, users, pop.spec.max_sessions);
        let ev = PhaseEvent::StageChanged {
            phase: run.spec.name.clone(),
            id: run.id,
            stage: run.stage,
            name: run.spec.stages[run.stage].name.clone(),
            target_rate: 0.0,
            users: Some(users),
        };
        self.emit(EngineEvent::Phase(ev));
    }

    fn gen_status(&mut self, generator: GeneratorKind, state: GeneratorState, detail: String) {
        self.generators.retain(|g| g.generator != generator);
        self.generators.push(GeneratorStatus {
            generator,
            state,
            detail: detail.clone(),
        });
        self.emit(EngineEvent::Generator(GeneratorEvent {
            generator,
            state,
            detail,
        }));
    }

    fn stop_background(&mut self, reason: &StopReason) {
        if self.cpu.take().is_some() {
            self.gen_status(
                GeneratorKind::Cpu,
                GeneratorState::Stopped,
                reason.to_string(),
            );
        }
        if let Some(m) = self.memory.take() {
            m.stop();
            self.gen_status(
                GeneratorKind::Memory,
                GeneratorState::Stopped,
                reason.to_string(),
            );
        }
        if self.gpu.take().is_some() {
            self.gen_status(
                GeneratorKind::Gpu,
                GeneratorState::Stopped,
                reason.to_string(),
            );
        }
    }

    fn start_phase(&mut self, spec: PhaseSpec) {
        self.stop_phase(StopReason::Replaced);
        let id = self.next_id;
        self.next_id += 1;
        let mut arrivals = Arrivals::with_process(&spec.stages, spec.arrivals, self.rng.random());
        arrivals.set_factor(self.factor);
        let start = Instant::now();
        if !spec.is_closed() {
            // An open phase spreads over the targets' own sessions.
            self.pending_restore = None;
            self.restore_sessions(true);
        }
        let mut sessions_wanted = 1;
        let population = spec.users.clone().map(|u| {
            let mut pop = users::Population::new(u);
            if let Some(s) = spec.stages.first() {
                let n = scaled_users(s.users, self.users_factor);
                sessions_wanted = grow_sessions(&self.targets, n, pop.spec.max_sessions);
                pop.set_target(n, start);
            }
            (pop, start)
        });
        let next = if self.ops.is_empty() || population.is_some() {
            None
        } else {
            arrivals
                .next_arrival()
                .map(|(t, i)| (start + Duration::from_secs_f64(t), i))
        };
        let stages = spec
            .stages
            .iter()
            .map(|s| StageRec::new(s, self.ops.len(), spec.is_closed()))
            .collect();
        self.emit(EngineEvent::Phase(PhaseEvent::Started {
            phase: spec.name.clone(),
            id,
            think: spec.users.as_ref().map(|u| u.think.label()),
        }));
        if let Some(s) = spec.stages.first() {
            self.emit(EngineEvent::Phase(PhaseEvent::StageChanged {
                phase: spec.name.clone(),
                id,
                stage: 0,
                name: s.name.clone(),
                target_rate: if spec.is_closed() {
                    0.0
                } else {
                    s.mean_rate() * self.factor
                },
                users: spec
                    .is_closed()
                    .then(|| scaled_users(s.users, self.users_factor)),
            }));
        }
        let empty = spec.stages.is_empty();
        self.current = Some(PhaseRun {
            id,
            started_s: self.elapsed(),
            ended_s: None,
            arrivals,
            next,
            stage: 0,
            stages,
            status: "running".into(),
            breaking: None,
            rows: Vec::new(),
            row_stats: ToolStats::default(),
            row_start: start,
            recovered_s: None,
            pending_eval: None,
            population,
            stage_started: start,
            lag_reported: Vec::new(),
            sessions_wanted,
            invalid: InvalidStats::new(self.ops.len()),
            sweep_origin: None,
            spec,
            start,
        });
        if empty {
            self.stop_phase(StopReason::Completed);
        }
    }

    fn stop_phase(&mut self, reason: StopReason) {
        let Some(mut run) = self.current.take() else {
            return;
        };
        let now = Instant::now();
        // Requests still waiting for a slot when the phase ends never start.
        while let Some((_, stage)) = run.next.filter(|(at, _)| *at <= now) {
            let op = pick_op(&self.cumulative, &mut self.rng);
            run.record_dropped(&mut self.window, stage, op);
            run.advance();
        }
        let t = now.saturating_duration_since(run.start).as_secs_f64();
        if let Some(s) = run.stages.get_mut(run.stage) {
            if s.end_s.is_none() {
                s.end_s = Some(
                    t.min(s.start_s + run.spec.stages[run.stage].duration.as_secs_f64())
                        .max(s.start_s),
                );
            }
        }
        if let Some((pop, last)) = run.population.as_mut() {
            // Count the last user·seconds; the users' sessions go back to the targets' own count.
            let dt = now.saturating_duration_since(*last).as_secs_f64();
            if let Some(c) = run
                .stages
                .get_mut(run.stage)
                .and_then(|s| s.closed.as_mut())
            {
                c.user_seconds += f64::from(pop.cycling()) * dt;
            }
            *last = now;
            if !matches!(reason, StopReason::Shutdown) {
                self.pending_restore = Some((run.id, now + self.config.timeout + SESSION_GRACE));
            }
        }
        if run.spec.kind == PhaseKind::Soak && run.row_stats.count > 0 {
            let (rss, avail) = self.target_memory();
            push_row(&mut run, now, rss, avail);
        }
        run.ended_s = Some(t);
        run.status = reason.to_string();
        let follow = if matches!(reason, StopReason::Completed) {
            sweep_follow_up(&run, t)
        } else {
            None
        };
        self.emit(EngineEvent::Phase(PhaseEvent::Stopped {
            phase: run.spec.name.clone(),
            id: run.id,
            reason,
            then: follow.as_ref().map(|(s, _)| s.name.clone()),
        }));
        self.finished.push(run);
        if self.finished.len() > MAX_FINISHED_PHASES {
            self.finished.remove(0);
        }
        self.restore_when_idle(now);
        if let Some((spec, measured)) = follow {
            self.start_phase(spec);
            if let Some(r) = self.current.as_mut() {
                r.sweep_origin = Some(measured);
            }
        }
    }

    /// Probes each op can draw from, in mix order.
    fn probe_counts(&self) -> Vec<usize> {
        self.ops.iter().map(Op::probe_count).collect()
    }

    fn summary(&self) -> RunSummary {
        let phases = self
            .finished
            .iter()
            .chain(self.current.iter())
            .map(|r| r.summary(&self.names, !self.targets.is_empty(), &self.probe_counts()))
            .collect();
        let targets = self
            .targets
            .iter()
            .zip(&self.session_rss)
            .map(|(t, rss)| {
                let (down_s, uptime_pct) = t.uptime();
                TargetSummary {
                    name: t.name.clone(),
                    kind: t.spec.endpoint.kind().into(),
                    sessions: t.sessions(),
                    tools: t.tools.iter().map(|x| x.name.to_string()).collect(),
                    failures: t.failures.load(std::sync::atomic::Ordering::Relaxed),
                    restarts: t.restarts.load(std::sync::atomic::Ordering::Relaxed),
                    initialize_ms: t.initialize_ms(),
                    rss_mb_per_session: rss.get(),
                    connect_error: None,
                    down_s,
                    uptime_pct,
                }
            })
            // Never connected: down the whole run (one target-wide spell,
            // as it has no sessions).
            .chain(self.unreached.iter().map(|t| TargetSummary {
                down_s: self.elapsed(),
                uptime_pct: Some(0.0),
                ..t.clone()
            }))
            .collect();
        RunSummary {
            schema: RUN_SCHEMA.into(),
            started_unix_ms: self.started_unix_ms,
            elapsed_s: self.elapsed(),
            in_flight: self.in_flight,
            phases,
            targets,
            generators: self.generators.clone(),
            guard_events: self.guard_events.clone(),
            console: self.console_usage(),
        }
    }

    /// The console's footprint now (see [`ConsoleUsage`]).
    fn console_usage(&self) -> ConsoleUsage {
        let own = crate::probes::own::own_usage();
        ConsoleUsage {
            stats_bytes: self.stats_bytes() as u64,
            rss_mb: own.rss_mb,
            peak_rss_mb: own.peak_rss_mb,
            cpu_s: own.cpu_s,
        }
    }

    /// Heap bytes of every latency histogram the engine holds: the window,
    /// the rolling ring, every phase kept.
    fn stats_bytes(&self) -> usize {
        self.window.heap_bytes()
            + self.rolling.heap_bytes()
            + self
                .current
                .iter()
                .chain(&self.finished)
                .map(PhaseRun::heap_bytes)
                .sum::<usize>()
    }
}

/// A user whose session is not up yet looks again this much later.
const SESSION_WAIT: Duration = Duration::from_millis(20);

/// After a users phase, its sessions are kept this much past the timeout at most.
const SESSION_GRACE: Duration = Duration::from_secs(1);

/// Sessions per MCP target for `users` users (each its own, up to `max`),
/// added now; removing extra ones waits until they are idle.
fn grow_sessions(targets: &[Arc<McpTarget>], users: u32, max: usize) -> usize {
    let wanted = (users as usize).min(max).max(1);
    for t in targets {
        if t.sessions() < wanted {
            t.set_sessions(wanted);
        }
    }
    wanted
}

/// An op index drawn by the mix weights.
/// A users sweep's stage just ended: the users of its next stage, if any
/// (doubling while good, then bisecting; see [`users_sweep_next`]).
fn users_sweep_step(spec: &PhaseSpec, stages: &[StageRec], stage: usize) -> Option<u32> {
    let p = spec.sweep.filter(|p| p.mode == SweepMode::Users)?;
    if stage + 1 < spec.stages.len() {
        return None;
    }
    let done: Vec<(u32, bool)> = spec
        .stages
        .iter()
        .zip(stages)
        .map(|(st, rec)| (st.users, stage_good_pct(rec) >= p.min_good_pct))
        .collect();
    users_sweep_next(&done, p.max_concurrency)
}

/// A stage's good % as its summary will say ([`summary::good_pct`]).
fn stage_good_pct(rec: &StageRec) -> f64 {
    let all = &rec.table.all;
    let goodputs = rec
        .table
        .llm
        .iter()
        .flatten()
        .filter_map(|l| l.goodput_pct());
    summary::good_pct(all.count, all.failed() + all.dropped(), goodputs).0
}

/// A sweep's measuring part just completed: the rates phase to run next,
/// with the synchronous and throughput rates measured (successful requests
/// per second of each stage).
fn sweep_follow_up(run: &PhaseRun, now_s: f64) -> Option<(PhaseSpec, (f64, f64))> {
    if run.spec.kind != PhaseKind::Sweep || !run.spec.is_closed() {
        return None;
    }
    let p = run.spec.sweep?;
    let rate = |i: usize| {
        run.stages.get(i).map_or(0.0, |s| {
            let d = s.end_s.unwrap_or(now_s) - s.start_s;
            // The users' last requests are still out: they count as the
            // stage's, at its success ratio so far.
            let (ok, done) = (s.table.all.ok() as f64, s.table.all.count as f64);
            let out = if done > 0.0 {
                s.in_flight as f64 * ok / done
            } else {
                0.0
            };
            if d > 0.0 {
                (ok + out) / d
            } else {
                0.0
            }
        })
    };
    let (sync, thr) = (rate(0), rate(1));
    let spec = run.spec.sweep_rates_phase(&sweep_rates(&p, sync, thr))?;
    Some((spec, (sync, thr)))
}

/// An LLM request left: one more of op `op` in flight, its peak noted in `tables`.
fn llm_sent(in_flight: &mut [u64], op: usize, tables: [&mut StatsTable; 2]) {
    let Some(n) = in_flight.get_mut(op) else {
        return;
    };
    *n += 1;
    for t in tables {
        if let Some(l) = t.llm_mut(op) {
            l.saw_in_flight(*n);
        }
    }
}

/// An LLM reply's figures (or its refusal status) into a table.
fn record_llm(t: &mut StatsTable, c: &Completion, lag: Duration, slo: &Slo) {
    let Some(l) = t.llm_mut(c.op) else { return };
    if let Some(s) = &c.llm {
        l.record(s, lag, slo);
    }
    if let Some(st) = c.status {
        l.record_status(st);
    }
}

/// The board's input power and its GPU rail now, W.
fn board_watts(s: Option<&Snapshot>) -> (Option<f64>, Option<f64>) {
    let Some(s) = s else { return (None, None) };
    let gpu = s
        .power
        .rails
        .iter()
        .find(|r| {
            let n = r.name.to_ascii_uppercase();
            n.contains("GPU") || n.contains("GR3D")
        })
        .and_then(|r| r.mw)
        .map(|mw| mw / 1000.0);
    (s.power.total_mw.map(|mw| mw / 1000.0), gpu)
}

fn pick_op(cumulative: &[f64], rng: &mut StdRng) -> usize {
    let total = *cumulative.last().unwrap_or(&0.0);
    if cumulative.len() <= 1 || total <= 0.0 {
        return 0;
    }
    let x = rng.random::<f64>() * total;
    cumulative
        .partition_point(|&c| c <= x)
        .min(cumulative.len() - 1)
}
