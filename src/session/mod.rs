//! The live run both front ends share: the collector, the load engine
//! (started lazily, in the background, so monitoring alone spawns nothing),
//! the guards that watch the snapshots on the engine's behalf, and `/metrics`;
//! [`Sinks`] is the one place their snapshots and events are fanned out to
//! the recording, `/metrics` and the report. `jetstress run` and the
//! dashboard drive a [`Session`]; neither wires the engine itself.
//! [`board`](BoardState) holds the board settings a run asks for (nvpmodel,
//! `jetson_clocks`): checked, applied as root, and restored on exit.
//! [`Forecasts`]: the predictions both front ends make after each snapshot,
//! in one order; [`BothEtas`]: the zone nearest its trip at this load and
//! under the plan's load ahead, in the one wording both front ends show.

mod board;
mod etas;
mod forecasts;
mod signals;
mod sinks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

pub use board::{
    apply, check, may_apply, pending_restore, reboot_for, restore, restore_path, Action, Applied,
    BoardError, BoardRequirement, BoardState, Fix, Host, Mismatch, Reboot, RestoreRecord, Restored,
    Setting, Tool, RESTORE_FILE, RESTORE_SCHEMA,
};
pub use etas::{BothEtas, Etas, PlannedEta, PLANNED_EVERY_S};
pub use forecasts::Forecasts;
pub use signals::{StopSignal, StopSignals};
pub use sinks::{LogLine, RunObservation, Sinks};

use crate::collector::CollectorHandle;
use crate::export::metrics::Metrics;
use crate::load::engine::{Command, Engine, EngineEvent, EngineHandle, RunSummary, StopReason};
use crate::load::guards;
use crate::load::plan::engine_config;
use crate::load::scenario::Scenario;
use crate::probes::{Prober, Root, Watch};
use crate::report::RunRecord;
use crate::snapshot::Snapshot;

/// What a session is started from.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub root: PathBuf,
    pub interval: Duration,
    pub watches: Vec<Watch>,
    /// The planned load: targets, mix, limits, guards (phases are the front end's).
    pub plan: Scenario,
}

/// Where the engine stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineState {
    /// Not asked for yet.
    Idle,
    Starting,
    Ready,
    Failed,
}

/// What [`Session::next`] brings.
pub enum SessionMsg {
    Snapshot(Arc<Snapshot>),
    /// The engine is up, with these ops (`target:tool`, endpoints).
    EngineReady(Vec<String>),
    /// The engine could not start (a target never came up).
    EngineFailed(String),
    Event(EngineEvent),
    /// The engine task ended.
    EngineEnded,
    /// The collector stopped.
    Closed,
}

pub struct Session {
    collector: CollectorHandle,
    snaps: broadcast::Receiver<Arc<Snapshot>>,
    plan: Scenario,
    root: PathBuf,
    engine: Option<EngineHandle>,
    starting: Option<oneshot::Receiver<anyhow::Result<EngineHandle>>>,
    state: EngineState,
    pending: Vec<Command>,
    events: Option<broadcast::Receiver<EngineEvent>>,
    guard_task: Option<JoinHandle<()>>,
}

/// Serve `/metrics` on `addr` (checked by the caller); returns the metrics to
/// feed and the address bound.
pub async fn serve_metrics(
    addr: SocketAddr,
    token: Option<String>,
) -> anyhow::Result<(Arc<Metrics>, SocketAddr)> {
    let m = Arc::new(Metrics::new());
    let (bound, _task) = crate::export::metrics::serve(addr, token, m.clone())
        .await
        .with_context(|| format!("serving /metrics on {addr}"))?;
    Ok((m, bound))
}

/// What a background engine start brought.
async fn started(
    rx: &mut oneshot::Receiver<anyhow::Result<EngineHandle>>,
) -> anyhow::Result<EngineHandle> {
    rx.await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the load engine task ended")))
}

impl Session {
    /// Start sampling; the engine waits for [`Session::start_engine`] or the
    /// first [`Session::send`].
    pub fn start(cfg: SessionConfig) -> Session {
        let collector =
            crate::collector::spawn(Prober::new(Root::new(&cfg.root), cfg.watches), cfg.interval);
        Session {
            snaps: collector.subscribe(),
            collector,
            plan: cfg.plan,
            root: cfg.root,
            engine: None,
            starting: None,
            state: EngineState::Idle,
            pending: Vec::new(),
            events: None,
            guard_task: None,
        }
    }

    pub fn plan(&self) -> &Scenario {
        &self.plan
    }

    pub fn engine_state(&self) -> EngineState {
        self.state
    }

    /// The latest snapshot, and snapshots from now on only (what was
    /// sampled while waiting is not delivered again).
    pub fn skip_to_latest(&mut self) -> Option<Arc<Snapshot>> {
        let latest = self.collector.latest().borrow().clone();
        self.snaps = self.collector.subscribe();
        latest
    }

    /// Start the engine in the background (its targets connect meanwhile);
    /// [`Session::next`] says when it is ready. `false` when already asked.
    pub fn start_engine(&mut self) -> anyhow::Result<bool> {
        if self.state != EngineState::Idle && self.state != EngineState::Failed {
            return Ok(false);
        }
        let config = engine_config(
            &self.plan,
            &self.root,
            Some(self.collector.latest()),
            Some(self.collector.commands()),
        )?;
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let _ = tx.send(Engine::spawn(config).await);
        });
        self.starting = Some(rx);
        self.state = EngineState::Starting;
        Ok(true)
    }

    /// Start the engine and wait until it is up (headless runs).
    pub async fn start_engine_now(&mut self) -> anyhow::Result<Vec<String>> {
        self.start_engine()?;
        let mut rx = self
            .starting
            .take()
            .context("the load engine is already running")?;
        self.attach(started(&mut rx).await).await
    }

    async fn attach(&mut self, r: anyhow::Result<EngineHandle>) -> anyhow::Result<Vec<String>> {
        self.starting = None;
        match r {
            Ok(mut h) => {
                self.state = EngineState::Ready;
                // From the start: a target left out, a session that failed to connect.
                self.events = Some(h.take_events());
                self.guard_task = Some(guards::spawn(
                    self.collector.subscribe(),
                    h.commands.clone(),
                    self.plan.guards,
                ));
                for c in self.pending.drain(..) {
                    h.send(c).await;
                }
                let ops = h.ops.clone();
                self.engine = Some(h);
                Ok(ops)
            }
            Err(e) => {
                self.state = EngineState::Failed;
                self.pending.clear();
                Err(e)
            }
        }
    }

    /// Send a command to the engine, starting it first if need be (the
    /// command waits until it is up).
    pub async fn send(&mut self, c: Command) -> anyhow::Result<()> {
        if let Some(h) = &self.engine {
            h.send(c).await;
        } else {
            self.pending.push(c);
            self.start_engine()?;
        }
        Ok(())
    }

    /// The next snapshot, engine start or engine event.
    pub async fn next(&mut self) -> SessionMsg {
        loop {
            let starting = &mut self.starting;
            let events = &mut self.events;
            let snaps = &mut self.snaps;
            tokio::select! {
                s = snaps.recv() => match s {
                    Ok(s) => return SessionMsg::Snapshot(s),
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return SessionMsg::Closed,
                },
                r = async {
                    match starting.as_mut() {
                        Some(rx) => started(rx).await,
                        None => std::future::pending().await,
                    }
                } => {
                    return match self.attach(r).await {
                        Ok(ops) => SessionMsg::EngineReady(ops),
                        Err(e) => SessionMsg::EngineFailed(format!("{e:#}")),
                    };
                }
                e = async {
                    match events.as_mut() {
                        Some(rx) => loop {
                            match rx.recv().await {
                                Ok(e) => return Some(e),
                                Err(RecvError::Lagged(_)) => {}
                                Err(RecvError::Closed) => return None,
                            }
                        },
                        None => std::future::pending().await,
                    }
                } => {
                    return if let Some(e) = e { SessionMsg::Event(e) } else {
                        self.events = None;
                        SessionMsg::EngineEnded
                    };
                }
            }
        }
    }

    /// The engine's summary so far (`None` before it started or after it ended).
    pub async fn summary(&self) -> Option<RunSummary> {
        self.engine.as_ref()?.summary().await
    }

    /// A recording's summary line for `run`: the plan's scenario and limits
    /// beside the engine's summary.
    pub fn record(&self, run: RunSummary, interrupted: bool) -> RunRecord {
        RunRecord {
            scenario: self.plan.name.clone(),
            acceptance: self.plan.acceptance.clone(),
            interrupted,
            run,
        }
    }

    /// What the recording keeps of the load so far, once a phase has run.
    pub async fn run_record(&self, interrupted: bool) -> Option<RunRecord> {
        let run = self.summary().await?;
        (!run.phases.is_empty()).then(|| self.record(run, interrupted))
    }

    /// Wait until the requests still in flight have finished (at most
    /// `timeout` + 1 s).
    pub async fn drain(&self, timeout: Duration) {
        let until = Instant::now() + timeout + Duration::from_secs(1);
        while Instant::now() < until {
            match self.summary().await {
                Some(s) if s.in_flight > 0 => tokio::time::sleep(Duration::from_millis(20)).await,
                _ => return,
            }
        }
    }

    /// Stop all load (`reason`), then return the engine's final summary; the
    /// engine keeps running until [`Session::shutdown`].
    pub async fn stop_load(&mut self, reason: StopReason) -> Option<RunSummary> {
        if let Some(h) = self.engine.as_ref() {
            h.send(Command::StopAll { reason }).await;
        }
        self.summary().await
    }

    /// End the engine (its children killed), the guards and sampling.
    pub async fn shutdown(&mut self) {
        if let Some(t) = self.guard_task.take() {
            t.abort();
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
        self.collector.stop();
    }
}
