//! The dashboard's link to the load engine: turns key effects into engine
//! commands and engine events into the load view, the event log and metrics.
//! The engine (and the MCP server children it spawns) starts on the first load
//! key, in the background, so monitoring alone costs nothing and the UI never
//! waits for targets to connect.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use tokio::sync::{broadcast, oneshot};

use crate::commands::run::{builtin_phase, builtin_target, PhaseArg, RunArgs};
use crate::export::metrics::Metrics;
use crate::load::background::cpu::CpuSpec;
use crate::load::background::gpu::GpuSpec;
use crate::load::background::memory::MemorySpec;
use crate::load::engine::RunSummary;
use crate::load::engine::{
    Command, Engine, EngineConfig, EngineEvent, EngineHandle, PhaseEvent, TargetEvent,
};
use crate::load::guards;
use crate::load::scenario::{Scenario, TargetPlan};
use crate::load::schedule::{PhaseKind, PhaseSpec};
use crate::load::stats::ToolSummary;
use crate::report::RunRecord;
use crate::ui::app::{App, Effect, LatencyScope, Level, LoadRow};

/// Points kept in each tool's p95 sparkline.
const SPARK_POINTS: usize = 120;

/// The same load options as `jetstress run` (phases are started with keys).
#[derive(Debug, Clone, Args, Default)]
pub struct LoadArgs {
    /// Scenario file: targets, tool mix, phase settings, CPU/memory/GPU levels, guards.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// An MCP server to spawn as a stdio child, `"CMD ARGS"` (repeatable).
    #[arg(long = "target-cmd", value_name = "CMD")]
    pub target_cmd: Vec<String>,
    /// A streamable-HTTP MCP URL (repeatable).
    #[arg(long = "target-url", value_name = "URL")]
    pub target_url: Vec<String>,
}

/// Check the load options up front (a bad scenario is an error before the
/// terminal is touched), with the built-in server as the default target.
pub fn plan(args: &LoadArgs) -> anyhow::Result<Scenario> {
    // Phases come from keys, so a scenario without phases is fine here.
    crate::commands::run::plan_targets(&RunArgs {
        scenario: args.scenario.clone(),
        phase: None,
        duration: None,
        rate: None,
        target_cmd: args.target_cmd.clone(),
        target_url: args.target_url.clone(),
        sessions: None,
        max_in_flight: None,
        timeout: None,
        json: None,
        report: None,
        record: Default::default(),
        log_dir: None,
        metrics: Default::default(),
    })
}

/// The phase a key starts: the scenario's phase of that kind, else the built-in default.
pub fn phase_for(sc: &Scenario, kind: &str) -> PhaseSpec {
    let (want, arg) = match kind {
        "spike" => (PhaseKind::Spike, PhaseArg::Spike),
        "stress" => (PhaseKind::Stress, PhaseArg::Stress),
        _ => (PhaseKind::Soak, PhaseArg::Soak),
    };
    match sc.phases.iter().find(|p| p.kind == want) {
        Some(p) => p.clone(),
        None => builtin_phase(arg, None),
    }
}

fn default_of<T: serde::de::DeserializeOwned>() -> Option<T> {
    serde_json::from_str("{}").ok()
}

/// What [`LoadLink::next`] brings.
pub enum LinkMsg {
    Started(anyhow::Result<EngineHandle>),
    Event(Option<EngineEvent>),
}

pub struct LoadLink {
    sc: Scenario,
    root: PathBuf,
    snapshots:
        Option<tokio::sync::watch::Receiver<Option<std::sync::Arc<crate::snapshot::Snapshot>>>>,
    collector: Option<tokio::sync::mpsc::Sender<crate::collector::CollectorCommand>>,
    guard_feed: Option<broadcast::Receiver<std::sync::Arc<crate::snapshot::Snapshot>>>,
    engine: Option<EngineHandle>,
    starting: Option<oneshot::Receiver<anyhow::Result<EngineHandle>>>,
    pending: Vec<Command>,
    events: Option<broadcast::Receiver<EngineEvent>>,
    guard_task: Option<tokio::task::JoinHandle<()>>,
    cpu: bool,
    memory: bool,
    gpu: bool,
    rate_factor: f64,
    phase_started: Option<(Instant, f64)>,
    history: HashMap<String, VecDeque<u64>>,
}

impl LoadLink {
    pub fn new(
        sc: Scenario,
        root: PathBuf,
        snapshots: Option<
            tokio::sync::watch::Receiver<Option<std::sync::Arc<crate::snapshot::Snapshot>>>,
        >,
        collector: Option<tokio::sync::mpsc::Sender<crate::collector::CollectorCommand>>,
        guard_feed: Option<broadcast::Receiver<std::sync::Arc<crate::snapshot::Snapshot>>>,
    ) -> LoadLink {
        LoadLink {
            sc,
            root,
            snapshots,
            collector,
            guard_feed,
            engine: None,
            starting: None,
            pending: Vec::new(),
            events: None,
            guard_task: None,
            cpu: false,
            memory: false,
            gpu: false,
            rate_factor: 1.0,
            phase_started: None,
            history: HashMap::new(),
        }
    }

    /// Names of the load targets, for the idle hint.
    pub fn describe(&self) -> String {
        let mut names: Vec<String> = self
            .sc
            .targets
            .iter()
            .map(|t| match t {
                TargetPlan::Builtin { name, .. } => {
                    name.clone().unwrap_or_else(|| "built-in".into())
                }
                TargetPlan::Spec(s) => s.name.clone().unwrap_or_else(|| "mcp".into()),
            })
            .collect();
        names.extend(self.sc.http.iter().map(|h| h.name.clone()));
        names.join(", ")
    }

    fn start_engine(&mut self, app: &mut App) {
        if self.engine.is_some() || self.starting.is_some() {
            return;
        }
        let mut targets = Vec::new();
        for t in &self.sc.targets {
            match t {
                TargetPlan::Builtin { name, sessions } => {
                    match builtin_target(name.clone(), *sessions, &self.root) {
                        Ok(spec) => targets.push(spec),
                        Err(e) => {
                            app.log(Level::Alert, format!("load engine: {e:#}"));
                            return;
                        }
                    }
                }
                TargetPlan::Spec(s) => targets.push(s.clone()),
            }
        }
        let config = EngineConfig {
            mcp_targets: targets,
            http: self.sc.http.clone(),
            mix: self.sc.mix.clone(),
            max_in_flight: self.sc.max_in_flight,
            timeout: self.sc.timeout,
            log_dir: self
                .sc
                .log_dir
                .clone()
                .unwrap_or_else(|| EngineConfig::default().log_dir),
            root: crate::probes::Root::new(&self.root),
            memory_floor_pct: self.sc.guards.memory_floor_pct,
            snapshots: self.snapshots.clone(),
            collector: self.collector.clone(),
            ..Default::default()
        };
        app.log(
            Level::Info,
            format!("starting the load engine ({})…", self.describe()),
        );
        app.load.engine = Some("starting".into());
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let _ = tx.send(Engine::spawn(config).await);
        });
        self.starting = Some(rx);
    }

    /// The next thing from the engine side: the engine finished starting, or
    /// an engine event. Pending forever while there is neither.
    pub async fn next(&mut self) -> LinkMsg {
        let starting = &mut self.starting;
        let events = &mut self.events;
        tokio::select! {
            r = async {
                match starting.as_mut() {
                    Some(rx) => rx.await.unwrap_or_else(|_| Err(anyhow::anyhow!("the load engine task ended"))),
                    None => std::future::pending().await,
                }
            } => LinkMsg::Started(r),
            e = async {
                match events.as_mut() {
                    Some(rx) => loop {
                        match rx.recv().await {
                            Ok(e) => return Some(e),
                            Err(broadcast::error::RecvError::Lagged(_)) => continue,
                            Err(broadcast::error::RecvError::Closed) => return None,
                        }
                    },
                    None => std::future::pending().await,
                }
            } => {
                if e.is_none() {
                    *events = None;
                }
                LinkMsg::Event(e)
            }
        }
    }

    /// The engine is up (or failed): attach it and send what was queued.
    pub async fn on_started(&mut self, app: &mut App, r: anyhow::Result<EngineHandle>) {
        self.starting = None;
        match r {
            Ok(h) => {
                app.log(
                    Level::Info,
                    format!("load engine ready: {}", h.ops.join(", ")),
                );
                app.load.engine = Some(self.describe());
                self.events = Some(h.events());
                if let Some(feed) = self.guard_feed.take() {
                    self.guard_task = Some(guards::spawn(feed, h.commands.clone(), self.sc.guards));
                }
                for c in self.pending.drain(..) {
                    h.send(c).await;
                }
                self.engine = Some(h);
            }
            Err(e) => {
                self.pending.clear();
                app.load.engine = Some("failed".into());
                app.log(Level::Alert, format!("load engine failed: {e:#}"));
            }
        }
    }

    async fn send(&mut self, app: &mut App, c: Command) {
        match &self.engine {
            Some(h) => h.send(c).await,
            None => {
                self.pending.push(c);
                self.start_engine(app);
            }
        }
    }

    /// Carry out a load key.
    pub async fn apply(&mut self, app: &mut App, effect: Effect) {
        match effect {
            Effect::StartPhase(kind) => {
                let spec = phase_for(&self.sc, kind);
                self.phase_started = Some((Instant::now(), spec.total_duration().as_secs_f64()));
                self.rate_factor = 1.0;
                self.send(app, Command::StartPhase(spec)).await;
            }
            Effect::StopAll => {
                if self.engine.is_none() && self.starting.is_none() {
                    app.log(Level::Info, "no load running");
                    return;
                }
                self.cpu = false;
                self.memory = false;
                self.gpu = false;
                self.send(
                    app,
                    Command::StopAll {
                        reason: "stopped by the user".into(),
                    },
                )
                .await;
            }
            Effect::ToggleCpu => {
                self.cpu = !self.cpu;
                let c = if self.cpu {
                    match self.sc.cpu.or_else(default_of::<CpuSpec>) {
                        Some(spec) => Command::StartCpu(spec),
                        None => return,
                    }
                } else {
                    Command::StopCpu
                };
                self.send(app, c).await;
            }
            Effect::ToggleMemory => {
                self.memory = !self.memory;
                let c = if self.memory {
                    let total = app
                        .latest
                        .as_ref()
                        .and_then(|s| s.memory.total_mb)
                        .unwrap_or(2048.0);
                    let spec = self.sc.memory.unwrap_or(MemorySpec {
                        target_mb: (total * 0.25).round(),
                        rate_mb_s: 64.0,
                    });
                    Command::StartMemory(spec)
                } else {
                    Command::StopMemory
                };
                self.send(app, c).await;
            }
            Effect::ToggleGpu => {
                self.gpu = !self.gpu;
                let c = if self.gpu {
                    match self.sc.gpu.or_else(default_of::<GpuSpec>) {
                        Some(spec) => Command::StartGpu(spec),
                        None => return,
                    }
                } else {
                    Command::StopGpu
                };
                self.send(app, c).await;
            }
            Effect::ScaleRate(f) => {
                if app.load.phase.is_none() {
                    app.log(Level::Info, "no phase running to change the rate of");
                    return;
                }
                self.rate_factor = (self.rate_factor * f).clamp(0.01, 100.0);
                app.log(Level::Info, format!("rate ×{:.2}", self.rate_factor));
                self.send(app, Command::SetRateFactor(self.rate_factor))
                    .await;
            }
            Effect::Quit | Effect::ToggleRecord | Effect::Replay(_) => {}
        }
    }

    /// Fold an engine event into the view (and metrics).
    pub async fn on_event(&mut self, app: &mut App, ev: EngineEvent, metrics: Option<&Metrics>) {
        match ev {
            EngineEvent::Phase(PhaseEvent::Started { phase, .. }) => {
                app.log(Level::Info, format!("phase {phase} started"));
                app.load.phase = Some(phase);
                app.load.stage = None;
                app.load.dropped = 0;
                app.load.rows.clear();
                self.history.clear();
            }
            EngineEvent::Phase(PhaseEvent::StageChanged {
                phase,
                name,
                target_rate,
                ..
            }) => {
                app.log(
                    Level::Info,
                    format!("phase {phase}: stage {name} at {target_rate:.1} rps"),
                );
                app.load.stage = Some(name);
                app.load.target_rps = Some(target_rate);
            }
            EngineEvent::Phase(PhaseEvent::Stopped { phase, reason, .. }) => {
                let level = if reason.starts_with("guard") {
                    Level::Alert
                } else {
                    Level::Info
                };
                app.log(level, format!("phase {phase} stopped: {reason}"));
                app.load.phase = None;
                app.load.stage = None;
                app.load.target_rps = None;
                app.load.progress = None;
                self.phase_started = None;
            }
            EngineEvent::LoadWindow(w) => {
                app.load.dropped += w.all.error_kinds.get("dropped").copied().unwrap_or(0);
                if w.phase.is_some() {
                    app.load.target_rps = Some(w.target_rate);
                }
                if let Some((t0, total)) = self.phase_started {
                    if total > 0.0 {
                        app.load.progress = Some((t0.elapsed().as_secs_f64() / total).min(1.0));
                    }
                }
                if let Some(m) = metrics {
                    for t in &w.tools {
                        m.add_window(t);
                    }
                    m.set_phase(w.phase.as_deref(), w.phase.as_ref().map(|_| w.target_rate));
                }
                // The sparkline follows the recent p95 whatever the table shows.
                for t in &w.rolling_tools {
                    let h = self.history.entry(t.tool.clone()).or_default();
                    if h.len() >= SPARK_POINTS {
                        h.pop_front();
                    }
                    h.push_back((t.latency_ms.p95 * 1000.0) as u64);
                }
                let tools = match app.load.scope {
                    LatencyScope::Recent => w.rolling_tools.clone(),
                    scope => match self.engine.as_ref() {
                        Some(h) => h
                            .summary()
                            .await
                            .map(|s| scoped_tools(&s, scope))
                            .unwrap_or_default(),
                        None => Vec::new(),
                    },
                };
                app.load.rows = tools
                    .iter()
                    .filter(|t| t.count > 0)
                    .map(|t| LoadRow {
                        tool: t.tool.clone(),
                        rps: t.rps,
                        p50_ms: t.latency_ms.p50,
                        p95_ms: t.latency_ms.p95,
                        p99_ms: t.latency_ms.p99,
                        max_ms: t.latency_ms.max,
                        error_pct: t.errors as f64 * 100.0 / t.count as f64,
                        errors_by_kind: t
                            .error_kinds
                            .iter()
                            .map(|(k, v)| (k.clone(), *v))
                            .collect(),
                        p95_history: self.history.get(&t.tool).cloned().unwrap_or_default(),
                    })
                    .collect();
            }
            EngineEvent::Guard(g) => app.log(
                Level::Alert,
                format!("guard {}: {} ({})", g.guard, g.message, g.action),
            ),
            EngineEvent::Target(TargetEvent::Died {
                target,
                session,
                reason,
            }) => app.log(
                Level::Warn,
                format!("{target} session {session} died: {reason}; restarting"),
            ),
            EngineEvent::Target(TargetEvent::Restarted {
                target, session, ..
            }) => app.log(Level::Info, format!("{target} session {session} restarted")),
            EngineEvent::Target(_) => {}
            EngineEvent::Generator(g) => {
                app.log(
                    Level::Info,
                    format!("{} {}: {}", g.generator, g.state, g.detail),
                );
                app.load.generators.retain(|x| !x.starts_with(&g.generator));
                if g.state == "started" {
                    app.load.generators.push(format!("{} on", g.generator));
                }
            }
        }
    }

    /// What the recording keeps of the load so far (scenario, limits and the
    /// engine's summary), when a phase has run; `jetstress report` rebuilds
    /// the report from it.
    pub async fn run_record(&self) -> Option<RunRecord> {
        let run = self.engine.as_ref()?.summary().await?;
        (!run.phases.is_empty()).then(|| RunRecord {
            scenario: self.sc.name.clone(),
            acceptance: self.sc.acceptance.clone(),
            interrupted: false,
            run,
        })
    }

    /// Stop all load and end the engine (children killed) — first thing on
    /// exit. Returns the final [`LoadLink::run_record`].
    pub async fn shutdown(&mut self) -> Option<RunRecord> {
        if let Some(t) = self.guard_task.take() {
            t.abort();
        }
        let mut last = None;
        if let Some(h) = self.engine.as_ref() {
            h.send(Command::StopAll {
                reason: "dashboard closed".into(),
            })
            .await;
            last = self.run_record().await;
        }
        if let Some(h) = self.engine.take() {
            h.shutdown().await;
        }
        if let Some(rx) = self.starting.take() {
            // An engine still connecting: take it and shut it down too.
            if let Ok(Ok(h)) = rx.await {
                h.shutdown().await;
            }
        }
        last
    }
}

/// The running (else the latest) phase's tools for a scope: its current stage,
/// or every stage merged.
pub fn scoped_tools(s: &RunSummary, scope: LatencyScope) -> Vec<ToolSummary> {
    let Some(p) = s
        .phases
        .iter()
        .rev()
        .find(|p| p.status == "running")
        .or(s.phases.last())
    else {
        return Vec::new();
    };
    match scope {
        LatencyScope::Phase => p.whole.clone(),
        _ => p
            .stages
            .last()
            .map(|st| st.tools.clone())
            .unwrap_or_default(),
    }
}
