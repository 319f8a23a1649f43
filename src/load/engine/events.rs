//! What the engine reports, and the one wording of it: every event a run can
//! show an operator (stderr of `jetstress run`, the dashboard's event log, a
//! recording's `event` lines) comes from [`EngineEvent::log_line`], so the
//! two front ends describe the same run in the same words. Levels, stop
//! reasons, guard kinds and generator states are enums; their wire strings are
//! those of `jetstress.run/1`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::invalid::InvalidCounts;
use crate::load::stats::ToolSummary;

/// How loud an event is: the event log's colour, a recording's `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warn,
    Alert,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Alert => "alert",
        }
    }
}

/// `impl PartialEq<&str>` and `Display` for an enum with `as_str`, so wire
/// strings compare directly (`state == "started"`).
macro_rules! wire_str {
    ($($t:ty),*) => {$(
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
        impl ::std::fmt::Display for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
pub(crate) use wire_str;

wire_str!(Level, GuardKind, GuardAction, GeneratorKind, GeneratorState);

/// Which guard tripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardKind {
    /// A zone came within the margin of its throttle trip.
    Thermal,
    /// A zone came within the margin of its critical trip.
    Critical,
    /// Available memory fell to the floor.
    MemoryFloor,
}

impl GuardKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GuardKind::Thermal => "thermal",
            GuardKind::Critical => "critical",
            GuardKind::MemoryFloor => "memory_floor",
        }
    }
}

/// What a guard did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardAction {
    /// Every phase and background load stopped.
    StopAll,
    /// The memory generator let go of what it held.
    ReleaseMemory,
}

impl GuardAction {
    pub fn as_str(self) -> &'static str {
        match self {
            GuardAction::StopAll => "stop_all",
            GuardAction::ReleaseMemory => "release_memory",
        }
    }
}

/// A background load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GeneratorKind {
    Cpu,
    Memory,
    Gpu,
}

impl GeneratorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GeneratorKind::Cpu => "cpu",
            GeneratorKind::Memory => "memory",
            GeneratorKind::Gpu => "gpu",
        }
    }
}

/// A background load's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GeneratorState {
    Started,
    Stopped,
    /// It cannot run here (no CUDA, say); the detail says why.
    Unavailable,
    /// It runs, but holds less than asked (the memory floor, a failed
    /// allocation); the detail says how much and why.
    Limited,
}

impl GeneratorState {
    pub fn as_str(self) -> &'static str {
        match self {
            GeneratorState::Started => "started",
            GeneratorState::Stopped => "stopped",
            GeneratorState::Unavailable => "unavailable",
            GeneratorState::Limited => "limited",
        }
    }
}

/// Why a phase (or all load) stopped. Its text is the phase's `status` in
/// `jetstress.run/1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The schedule ran out.
    Completed,
    /// Another phase was started over it.
    Replaced,
    /// `StopPhase`.
    Stopped,
    /// A stress stage broke the criteria.
    BreakingPoint,
    /// The engine ended.
    Shutdown,
    /// A guard stopped all load.
    Guard { guard: GuardKind, message: String },
    /// Ctrl-C on a headless run.
    Interrupted,
    /// A headless run's phases are done.
    RunFinished,
    /// The operator's stop key.
    User,
    /// The dashboard quit (or was signalled).
    DashboardClosed,
}

impl StopReason {
    pub fn is_guard(&self) -> bool {
        matches!(self, StopReason::Guard { .. })
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Completed => f.write_str("completed"),
            StopReason::Replaced => f.write_str("replaced"),
            StopReason::Stopped => f.write_str("stopped"),
            StopReason::BreakingPoint => f.write_str("breaking point"),
            StopReason::Shutdown => f.write_str("shutdown"),
            StopReason::Guard { guard, message } => write!(f, "guard {guard}: {message}"),
            StopReason::Interrupted => f.write_str("interrupted"),
            StopReason::RunFinished => f.write_str("run finished"),
            StopReason::User => f.write_str("stopped by the user"),
            StopReason::DashboardClosed => f.write_str("dashboard closed"),
        }
    }
}

impl Serialize for StopReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What the engine reports.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EngineEvent {
    Phase(PhaseEvent),
    LoadWindow(Box<LoadWindow>),
    Guard(GuardEvent),
    Target(TargetEvent),
    Generator(GeneratorEvent),
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PhaseEvent {
    Started {
        phase: String,
        id: u64,
        /// Closed (users) phases: the think time (`2–5 s`); absent for open phases.
        #[serde(skip_serializing_if = "Option::is_none")]
        think: Option<String>,
    },
    StageChanged {
        phase: String,
        id: u64,
        stage: usize,
        name: String,
        target_rate: f64,
        /// Closed stages: the users the stage holds (after `u` / `U`).
        #[serde(skip_serializing_if = "Option::is_none")]
        users: Option<u32>,
    },
    /// A closed stage's users do not cycle as Little's law says they should:
    /// the generator lags (or the server stalls whole users).
    Lagging {
        phase: String,
        id: u64,
        expected_users: f64,
        users: f64,
    },
    Stopped {
        phase: String,
        id: u64,
        reason: StopReason,
        /// The engine goes straight on with this phase (a sweep's rates).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        then: Option<String>,
    },
}

/// Per-tool statistics over the last window.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoadWindow {
    pub elapsed_s: f64,
    pub window_s: f64,
    pub phase: Option<String>,
    pub stage: Option<String>,
    pub target_rate: f64,
    pub in_flight: usize,
    pub all: ToolSummary,
    pub tools: Vec<ToolSummary>,
    /// The rolling window: the last [`ROLLING_WINDOWS`] windows merged.
    pub rolling_s: f64,
    pub rolling_all: ToolSummary,
    pub rolling_tools: Vec<ToolSummary>,
    /// Closed phases: the population now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<UsersWindow>,
    /// Invalid calls answered in this window (kept out of `all` and `tools`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid: Option<InvalidCounts>,
}

/// A closed phase's population at the end of a window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UsersWindow {
    /// Users alive.
    pub active: u32,
    /// Users the stage is moving to (at the spawn rate).
    pub target: u32,
    /// Users waiting for a reply.
    pub in_flight: u32,
    /// Little's law over the stage so far: throughput × (latency + think).
    pub expected_users: Option<f64>,
    /// The stage has settled and Little's law is off by more than 10 %.
    pub lagging: bool,
}

/// Windows merged into the rolling statistics (10 × 1 s by default).
pub const ROLLING_WINDOWS: usize = 10;

/// A guard action, with its time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardEvent {
    pub time_unix_ms: u64,
    pub guard: GuardKind,
    pub action: GuardAction,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetEvent {
    Started {
        target: String,
        session: usize,
        pid: Option<u32>,
    },
    Restarted {
        target: String,
        session: usize,
        pid: Option<u32>,
    },
    /// A session ended or could not connect. `restarting`: its supervisor
    /// tries again with backoff; `false`: the target never connected and is
    /// left out of the run.
    Died {
        target: String,
        session: usize,
        reason: String,
        restarting: bool,
        /// Where the target's stderr goes (stdio targets), for its last words.
        #[serde(skip_serializing_if = "Option::is_none")]
        stderr_log: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct GeneratorEvent {
    pub generator: GeneratorKind,
    pub state: GeneratorState,
    pub detail: String,
}

impl EngineEvent {
    /// The one line an operator reads for this event, with its level: phase
    /// and stage changes, guard actions, target deaths and restarts,
    /// generator changes. `None` for load windows and session starts (they
    /// feed tables and charts, not the log).
    pub fn log_line(&self) -> Option<(Level, String)> {
        Some(match self {
            EngineEvent::Phase(PhaseEvent::Started { phase, .. }) => {
                (Level::Info, format!("phase {phase} started"))
            }
            EngineEvent::Phase(PhaseEvent::StageChanged {
                phase,
                name,
                users: Some(users),
                ..
            }) => (
                Level::Info,
                format!("phase {phase}: stage {name} ({users} users)"),
            ),
            EngineEvent::Phase(PhaseEvent::StageChanged {
                phase,
                name,
                target_rate,
                users: None,
                ..
            }) => (
                Level::Info,
                format!("phase {phase}: stage {name} ({target_rate:.1} rps)"),
            ),
            EngineEvent::Phase(PhaseEvent::Lagging {
                phase,
                expected_users,
                users,
                ..
            }) => (
                Level::Warn,
                format!(
                    "phase {phase}: generator lagging: Little's law gives {expected_users:.1} users cycling, {users:.1} active"
                ),
            ),
            EngineEvent::Phase(PhaseEvent::Stopped { phase, reason, .. }) => (
                if reason.is_guard() {
                    Level::Alert
                } else {
                    Level::Info
                },
                format!("phase {phase} stopped: {reason}"),
            ),
            EngineEvent::Guard(g) => (
                Level::Alert,
                format!("guard {}: {} ({})", g.guard, g.message, g.action),
            ),
            EngineEvent::Target(TargetEvent::Died {
                target,
                session,
                reason,
                restarting: true,
                ..
            }) => (
                Level::Warn,
                format!(
                    "target {target} session {session} died: {reason}; restarting with backoff"
                ),
            ),
            EngineEvent::Target(TargetEvent::Died {
                target,
                reason,
                restarting: false,
                ..
            }) => (
                Level::Alert,
                format!("target {target} left out of this run: {reason}"),
            ),
            EngineEvent::Target(TargetEvent::Restarted {
                target, session, ..
            }) => (
                Level::Warn,
                format!("target {target} session {session} restarted"),
            ),
            EngineEvent::Generator(g) => (
                if matches!(g.state, GeneratorState::Unavailable | GeneratorState::Limited) {
                    Level::Warn
                } else {
                    Level::Info
                },
                format!("{} {}: {}", g.generator, g.state, g.detail),
            ),
            EngineEvent::Target(TargetEvent::Started { .. }) | EngineEvent::LoadWindow(_) => {
                return None
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_strings_and_log_lines() {
        assert_eq!(
            serde_json::to_value(GuardKind::MemoryFloor).unwrap(),
            "memory_floor"
        );
        assert_eq!(GuardAction::StopAll, "stop_all");
        let stop = EngineEvent::Phase(PhaseEvent::Stopped {
            phase: "soak".into(),
            id: 1,
            reason: StopReason::Guard {
                guard: GuardKind::Thermal,
                message: "CPU at 93.0 °C".into(),
            },
            then: None,
        });
        assert_eq!(
            stop.log_line(),
            Some((
                Level::Alert,
                "phase soak stopped: guard thermal: CPU at 93.0 °C".to_string()
            ))
        );
        let v = serde_json::to_value(&stop).unwrap();
        assert_eq!(v["reason"], "guard thermal: CPU at 93.0 °C");
    }
}
