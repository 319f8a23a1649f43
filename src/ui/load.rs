//! The dashboard's side of the load: load keys become commands to the
//! [`Session`], and the session's engine messages become the load view
//! (phase bar, latency rows, sparklines, generators). Wording of events and
//! what is recorded are the session's ([`Sinks::on_engine_event`]); this file
//! only decides what the screen shows.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use crate::load::background::cpu::CpuSpec;
use crate::load::background::gpu::GpuSpec;
use crate::load::background::memory::MemorySpec;
use crate::load::engine::{
    Command, EngineEvent, GeneratorState, LoadWindow, PhaseEvent, RunSummary, StopReason,
};
use crate::load::plan::{describe_targets, phase_for};
use crate::load::stats::ToolSummary;
use crate::load::InvalidCounts;
use crate::session::{EngineState, Session, SessionMsg, Sinks};
use crate::ui::app::{App, Effect, EngineView, LatencyScope, Level, LlmRow, LoadRow, UsersLine};

/// Points kept in each tool's p95 sparkline.
const SPARK_POINTS: usize = 120;

fn default_of<T: serde::de::DeserializeOwned>() -> Option<T> {
    serde_json::from_str("{}").ok()
}

/// What the load keys have switched on, and the view's own history.
#[derive(Default)]
pub struct LoadControl {
    cpu: bool,
    memory: bool,
    gpu: bool,
    rate_factor: f64,
    phase_started: Option<(Instant, f64)>,
    history: HashMap<String, VecDeque<u64>>,
}

impl LoadControl {
    pub fn new() -> LoadControl {
        LoadControl {
            rate_factor: 1.0,
            ..LoadControl::default()
        }
    }

    async fn send(&mut self, app: &mut App, session: &mut Session, c: Command) {
        let before = session.engine_state();
        if let Err(e) = session.send(c).await {
            app.log(Level::Alert, format!("load engine: {e:#}"));
            return;
        }
        if before != EngineState::Starting && session.engine_state() == EngineState::Starting {
            app.log(
                Level::Info,
                format!(
                    "starting the load engine ({})…",
                    describe_targets(session.plan())
                ),
            );
            app.load.engine = EngineView::Starting;
        }
    }

    /// Carry out a load key.
    pub async fn apply(&mut self, app: &mut App, session: &mut Session, effect: Effect) {
        match effect {
            Effect::StartPhase(kind) => {
                let spec = phase_for(session.plan(), kind);
                app.forecasts.plan_mut().plan_phases([spec.clone()]);
                self.phase_started = Some((Instant::now(), spec.total_duration().as_secs_f64()));
                self.rate_factor = 1.0;
                self.send(app, session, Command::StartPhase(spec)).await;
            }
            Effect::StopAll => {
                if session.engine_state() == EngineState::Idle {
                    app.log(Level::Info, "no load running");
                    return;
                }
                self.cpu = false;
                self.memory = false;
                self.gpu = false;
                self.send(
                    app,
                    session,
                    Command::StopAll {
                        reason: StopReason::User,
                    },
                )
                .await;
            }
            Effect::ToggleCpu => {
                self.cpu = !self.cpu;
                let c = if self.cpu {
                    match session.plan().cpu.or_else(default_of::<CpuSpec>) {
                        Some(spec) => {
                            app.forecasts.plan_mut().plan_burn(spec);
                            Command::StartCpu(spec)
                        }
                        None => return,
                    }
                } else {
                    Command::StopCpu
                };
                self.send(app, session, c).await;
            }
            Effect::ToggleMemory => {
                self.memory = !self.memory;
                let c = if self.memory {
                    let total = app
                        .latest
                        .as_ref()
                        .and_then(|s| s.memory.total_mb)
                        .unwrap_or(2048.0);
                    let spec = session.plan().memory.unwrap_or(MemorySpec {
                        target_mb: (total * 0.25).round(),
                        rate_mb_s: 64.0,
                    });
                    Command::StartMemory(spec)
                } else {
                    Command::StopMemory
                };
                self.send(app, session, c).await;
            }
            Effect::ToggleGpu => {
                self.gpu = !self.gpu;
                let c = if self.gpu {
                    match session.plan().gpu.or_else(default_of::<GpuSpec>) {
                        Some(spec) => Command::StartGpu(spec),
                        None => return,
                    }
                } else {
                    Command::StopGpu
                };
                self.send(app, session, c).await;
            }
            Effect::ScaleRate(f) => {
                if app.load.phase.is_none() {
                    app.log(Level::Info, "no phase running to change the rate of");
                    return;
                }
                if app.load.users.is_some() {
                    app.log(
                        Level::Info,
                        "a users phase has no rate: u / U double or halve its users",
                    );
                    return;
                }
                self.rate_factor = (self.rate_factor * f).clamp(0.01, 100.0);
                app.log(Level::Info, format!("rate ×{:.2}", self.rate_factor));
                self.send(app, session, Command::SetRateFactor(self.rate_factor))
                    .await;
            }
            Effect::ScaleUsers(f) => {
                if app.load.users.is_none() {
                    app.log(Level::Info, "no users phase running to add or remove users");
                    return;
                }
                self.send(app, session, Command::ScaleUsers(f)).await;
            }
            Effect::Quit | Effect::ToggleRecord | Effect::Replay(_) => {}
        }
    }

    /// A message from the session's engine side (not a snapshot): through
    /// the sinks (recording, metrics), then into the view.
    pub async fn on_msg(
        &mut self,
        app: &mut App,
        session: &Session,
        sinks: &mut Sinks,
        msg: SessionMsg,
    ) {
        match msg {
            SessionMsg::EngineReady(ops) => {
                app.log(
                    Level::Info,
                    format!("load engine ready: {}", ops.join(", ")),
                );
                app.load.engine = EngineView::Ready(describe_targets(session.plan()));
            }
            SessionMsg::EngineFailed(e) => {
                app.load.engine = EngineView::Failed;
                app.log(Level::Alert, format!("load engine failed: {e}"));
            }
            SessionMsg::EngineEnded => app.log(Level::Warn, "the load engine ended"),
            SessionMsg::Event(ev) => {
                if let Some((level, text)) = sinks.on_engine_event(&ev) {
                    app.show(level, text);
                }
                self.on_event(app, session, ev).await;
            }
            SessionMsg::Snapshot(_) | SessionMsg::Closed => {}
        }
    }

    /// Fold an engine event into the load view.
    async fn on_event(&mut self, app: &mut App, session: &Session, ev: EngineEvent) {
        app.forecasts.on_event(&ev);
        match ev {
            EngineEvent::Phase(PhaseEvent::Started { phase, think, .. }) => {
                app.load.users = think.map(|think| UsersLine {
                    think,
                    ..UsersLine::default()
                });
                app.load.phase = Some(phase);
                app.load.stage = None;
                self.clear_rows(app);
            }
            EngineEvent::Phase(PhaseEvent::StageChanged {
                name,
                target_rate,
                users,
                ..
            }) => {
                app.load.stage = Some(name);
                match (users, app.load.users.as_mut()) {
                    (Some(n), Some(u)) => {
                        u.target = n;
                        app.load.target_rps = None;
                    }
                    _ => app.load.target_rps = Some(target_rate),
                }
            }
            EngineEvent::Phase(PhaseEvent::Stopped { .. }) => self.end_phase(app),
            EngineEvent::LoadWindow(w) => self.on_window(app, session, &w).await,
            EngineEvent::Generator(g) => {
                let name = g.generator.as_str();
                app.load.generators.retain(|x| !x.starts_with(name));
                match g.state {
                    GeneratorState::Started => app.load.generators.push(format!("{name} on")),
                    GeneratorState::Limited => app.load.generators.push(format!("{name} limited")),
                    GeneratorState::Stopped | GeneratorState::Unavailable => {}
                }
            }
            EngineEvent::Guard(_)
            | EngineEvent::Target(_)
            | EngineEvent::Phase(PhaseEvent::Lagging { .. }) => {}
        }
    }

    /// A load window: counters, the population, progress, and the latency
    /// rows (the scope's, for a stage or the phase, from the run's summary).
    async fn on_window(&mut self, app: &mut App, session: &Session, w: &LoadWindow) {
        let scoped = match app.load.scope {
            LatencyScope::Recent => None,
            scope => Some(
                session
                    .summary()
                    .await
                    .map(|s| scoped_tools(&s, scope))
                    .unwrap_or_default(),
            ),
        };
        self.fold_window(app, w, scoped);
    }

    /// A recorded load window in a replay: the recording holds no phase
    /// events, so the window says which phase and stage ran; the table is
    /// its last 10 s (the summaries a stage or phase scope needs are the
    /// live engine's).
    pub fn on_replayed_window(&mut self, app: &mut App, w: &LoadWindow) {
        app.load.engine = EngineView::Recorded;
        if app.load.phase != w.phase {
            self.clear_rows(app);
        }
        app.load.phase.clone_from(&w.phase);
        app.load.stage.clone_from(&w.stage);
        if w.phase.is_none() {
            self.end_phase(app);
            return;
        }
        if w.users.is_some() && app.load.users.is_none() {
            app.load.users = Some(UsersLine::default());
        }
        self.fold_window(app, w, None);
    }

    /// Forget the load view (a replay seek): the next window fills it again.
    pub fn clear_view(&mut self, app: &mut App) {
        self.clear_rows(app);
        self.end_phase(app);
        app.load.engine = EngineView::Detached;
    }

    /// No phase runs: the bar's phase, stage, rate, population and progress go
    /// (the rows stay until the next phase starts).
    fn end_phase(&mut self, app: &mut App) {
        app.load.phase = None;
        app.load.stage = None;
        app.load.target_rps = None;
        app.load.users = None;
        app.load.progress = None;
        self.phase_started = None;
    }

    fn clear_rows(&mut self, app: &mut App) {
        app.load.dropped = 0;
        app.load.invalid = InvalidCounts::default();
        app.load.rows.clear();
        app.load.llm.clear();
        self.history.clear();
    }

    /// A window into the view; `scoped`: the rows of the table's scope when
    /// it is not the last 10 s.
    fn fold_window(&mut self, app: &mut App, w: &LoadWindow, scoped: Option<Vec<ToolSummary>>) {
        app.load.dropped += w.all.error_kinds.get("dropped").copied().unwrap_or(0);
        app.load.invalid.merge(&w.invalid.unwrap_or_default());
        match (w.users, app.load.users.as_mut()) {
            (Some(wu), Some(u)) => {
                u.active = wu.active;
                u.target = wu.target;
            }
            _ if w.phase.is_some() => app.load.target_rps = Some(w.target_rate),
            _ => {}
        }
        if let Some((t0, total)) = self.phase_started {
            if total > 0.0 {
                app.load.progress = Some((t0.elapsed().as_secs_f64() / total).min(1.0));
            }
        }
        // The sparkline follows the recent p95 whatever the table shows.
        for t in &w.rolling_tools {
            let h = self.history.entry(t.tool.clone()).or_default();
            if h.len() >= SPARK_POINTS {
                h.pop_front();
            }
            h.push_back((t.latency_ms.p95 * 1000.0) as u64);
        }
        let window_llm = llm_rows(&w.tools);
        let tools = scoped.unwrap_or_else(|| w.rolling_tools.clone());
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
                errors_by_kind: t.error_kinds.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                p95_history: self.history.get(&t.tool).cloned().unwrap_or_default(),
            })
            .collect();
        let scoped_llm = llm_rows(&tools);
        let llm = if app.load.scope == LatencyScope::Recent || scoped_llm.is_empty() {
            window_llm
        } else {
            scoped_llm
        };
        // A window in which no stream finished keeps the last figures.
        if !llm.is_empty() {
            app.load.llm = llm;
        }
    }
}

/// The LLM figures of the tools that carry them.
fn llm_rows(tools: &[ToolSummary]) -> Vec<LlmRow> {
    tools
        .iter()
        .filter_map(|t| {
            t.llm.as_ref().filter(|l| l.requests > 0).map(|l| LlmRow {
                tool: t.tool.clone(),
                tokens_per_s: l.output_tokens_per_s,
                ttft_p50_ms: l.ttft_ms.p50,
                ttft_p95_ms: l.ttft_ms.p95,
                itl_p95_ms: l.itl_ms.p95,
                tpot_p50_ms: l.tpot_ms.p50,
                tokens_per_joule: l.tokens_per_joule,
            })
        })
        .collect()
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
