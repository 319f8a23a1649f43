//! Dashboard state, owned by the UI task: history, latest snapshot, live
//! predictions, focus/zoom/freeze/theme, the event log and the load view.
//! Updates are plain methods (testable without a terminal); drawing reads it.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::history::Store;
use crate::load::plan::BuiltinPhase;
use crate::load::{AfterPlan, InvalidCounts};
use crate::predict::PredictConfig;
use crate::recording::replay::{ReplayCommand, ReplayStatus, SEEK_S};
use crate::session::Forecasts;
use crate::snapshot::Snapshot;
use crate::ui::keys::{Action, KeyMap};
use crate::ui::theme::Theme;

/// Chart windows `+`/`-` step through, seconds.
pub const WINDOWS: [f64; 6] = [60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0];
/// Default chart window (10 min).
pub const DEFAULT_WINDOW: usize = 3;
/// Events kept in the log.
pub const EVENT_CAP: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Thermal,
    Memory,
    System,
    Predictions,
    Load,
    Events,
}

impl Pane {
    pub const ORDER: [Pane; 6] = [
        Pane::Thermal,
        Pane::Memory,
        Pane::System,
        Pane::Predictions,
        Pane::Load,
        Pane::Events,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Thermal => "Thermal",
            Pane::Memory => "Memory",
            Pane::System => "CPU · GPU · Power · Fan",
            Pane::Predictions => "Predictions",
            Pane::Load => "MCP / HTTP latency",
            Pane::Events => "Events",
        }
    }
}

pub use crate::load::engine::Level;

#[derive(Debug, Clone)]
pub struct LogEvent {
    pub time_unix_ms: u64,
    pub level: Level,
    pub text: String,
}

/// What the loop must do after an action (the UI never touches load itself).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    StartPhase(BuiltinPhase),
    StopAll,
    ToggleCpu,
    ToggleMemory,
    ToggleGpu,
    ScaleRate(f64),
    /// Multiply the running users phase's population.
    ScaleUsers(f64),
    ToggleRecord,
    Replay(ReplayCommand),
}

/// One row of the latency table (filled by the load engine).
#[derive(Debug, Clone, Default)]
pub struct LoadRow {
    pub tool: String,
    pub rps: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub error_pct: f64,
    pub errors_by_kind: Vec<(String, u64)>,
    /// Recent p95 values for the sparkline, oldest first (bounded).
    pub p95_history: VecDeque<u64>,
}

/// One LLM tool's token figures (the LLM rows under the latency table).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LlmRow {
    pub tool: String,
    pub tokens_per_s: f64,
    pub ttft_p50_ms: f64,
    pub ttft_p95_ms: f64,
    pub itl_p95_ms: f64,
    pub tpot_p50_ms: f64,
    pub tokens_per_joule: Option<f64>,
}

/// What the latency table summarises (`w` cycles).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LatencyScope {
    /// The rolling window of the last 10 s.
    #[default]
    Recent,
    /// The running stage so far.
    Stage,
    /// Every stage of the running phase so far.
    Phase,
}

impl LatencyScope {
    pub fn label(self) -> &'static str {
        match self {
            LatencyScope::Recent => "last 10 s",
            LatencyScope::Stage => "current stage",
            LatencyScope::Phase => "whole phase",
        }
    }

    pub fn next(self) -> LatencyScope {
        match self {
            LatencyScope::Recent => LatencyScope::Stage,
            LatencyScope::Stage => LatencyScope::Phase,
            LatencyScope::Phase => LatencyScope::Recent,
        }
    }
}

/// What the load keys would start before any engine is attached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LoadOffer {
    /// Nothing known (an `App` not started by a front end).
    #[default]
    Unknown,
    /// The live dashboard: the first load key starts the engine against
    /// these targets (`built-in (the built-in MCP server)`).
    Live(String),
    /// A replay: there is no engine to attach.
    Replay,
    /// A campaign drives the load: the keys must not add their own.
    Campaign,
}

/// Where the load engine stands, as the load pane shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum EngineView {
    /// None attached (shown as such, never as an empty box).
    #[default]
    Detached,
    /// Asked for by a load key; its targets are starting.
    Starting,
    /// It did not start (the reason is in the event log).
    Failed,
    /// Running against these targets ([`crate::load::describe_targets`]).
    Ready(String),
    /// A replay's recorded load windows.
    Recorded,
}

/// The load engine's view: phase, stage, rows, dropped.
#[derive(Debug, Clone, Default)]
pub struct LoadView {
    pub engine: EngineView,
    /// What the load keys would do while no engine is attached.
    pub offer: LoadOffer,
    pub phase: Option<String>,
    pub stage: Option<String>,
    pub target_rps: Option<f64>,
    /// A users (closed-model) phase: its population now.
    pub users: Option<UsersLine>,
    /// 0..=1 through the phase.
    pub progress: Option<f64>,
    pub dropped: u64,
    /// Invalid-input calls (`invalid_pct`) answered in this phase, by outcome.
    pub invalid: InvalidCounts,
    pub rows: Vec<LoadRow>,
    /// LLM tools' token figures (the last window, or the scope's stage/phase).
    pub llm: Vec<LlmRow>,
    /// Which requests the latency table summarises.
    pub scope: LatencyScope,
    pub generators: Vec<String>,
}

/// The population of a running users phase, for the phase bar.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsersLine {
    pub active: u32,
    pub target: u32,
    /// `2–5 s`, `pacing 3 s`.
    pub think: String,
}

/// jetstress's own cost, shown in the header.
#[derive(Debug, Clone, Copy, Default)]
pub struct OwnUsage {
    pub cpu_pct: Option<f64>,
    pub rss_mb: Option<f64>,
}

pub struct App {
    pub store: Store,
    pub latest: Option<Arc<Snapshot>>,
    pub themes: Vec<Theme>,
    pub theme_idx: usize,
    pub keys: KeyMap,
    pub focus: Pane,
    pub zoom: bool,
    pub help: bool,
    /// `Some(t)`: the screen shows data up to `t` while collection goes on.
    pub frozen_at: Option<f64>,
    pub window_idx: usize,
    pub dot_marker: bool,
    pub events: VecDeque<LogEvent>,
    /// The dashboard's one predictor bundle and what it said after the
    /// latest snapshot (the recording, `/metrics` and the predictions pane
    /// all read it); its plan holds the phases and burn the keys started.
    pub forecasts: Forecasts,
    pub load: LoadView,
    pub own: OwnUsage,
    pub recording: Option<String>,
    pub source: String,
    /// Replay position, speed and pause state when replaying.
    pub replay: Option<ReplayStatus>,
    /// The campaign's bar, when a campaign drives the dashboard.
    pub campaign: Option<crate::ui::campaign::CampaignStatus>,
    /// Own events not yet handed to the recorder (bounded like the log).
    unrecorded: VecDeque<LogEvent>,
    interval_s: f64,
}

impl App {
    pub fn new(themes: Vec<Theme>, theme_idx: usize, keys: KeyMap, interval_s: f64) -> App {
        App {
            store: Store::new(WINDOWS[WINDOWS.len() - 1], interval_s),
            latest: None,
            theme_idx: theme_idx.min(themes.len().saturating_sub(1)),
            themes,
            keys,
            focus: Pane::Thermal,
            zoom: false,
            help: false,
            frozen_at: None,
            window_idx: DEFAULT_WINDOW,
            dot_marker: false,
            events: VecDeque::with_capacity(EVENT_CAP),
            // A burn started by a key goes on after the phases.
            forecasts: Forecasts::new(PredictConfig::default(), AfterPlan::BurnGoesOn),
            load: LoadView::default(),
            own: OwnUsage::default(),
            recording: None,
            source: "live".to_string(),
            replay: None,
            campaign: None,
            unrecorded: VecDeque::new(),
            interval_s,
        }
    }

    pub fn theme(&self) -> &Theme {
        &self.themes[self.theme_idx]
    }

    pub fn window_s(&self) -> f64 {
        WINDOWS[self.window_idx]
    }

    /// The time the screen shows as "now".
    pub fn view_now(&self) -> f64 {
        self.frozen_at.unwrap_or_else(|| self.store.latest_t())
    }

    /// Log an event of the dashboard's own (theme change, recording, key
    /// hints): shown, and handed to the recorder by [`App::take_new_events`].
    pub fn log(&mut self, level: Level, text: impl Into<String>) {
        let e = self.show(level, text);
        if self.unrecorded.len() >= EVENT_CAP {
            self.unrecorded.pop_front();
        }
        self.unrecorded.push_back(e);
    }

    /// Show an event that is recorded elsewhere (the session's lines: engine
    /// events, throttling): the log pane only.
    pub fn show(&mut self, level: Level, text: impl Into<String>) -> LogEvent {
        if self.events.len() >= EVENT_CAP {
            self.events.pop_front();
        }
        let time_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let e = LogEvent {
            time_unix_ms,
            level,
            text: text.into(),
        };
        self.events.push_back(e.clone());
        e
    }

    /// Own events logged since the last call (for the recorder).
    pub fn take_new_events(&mut self) -> Vec<LogEvent> {
        self.unrecorded.drain(..).collect()
    }

    /// Use new predictor settings (config `[predict]`, replay `--trip`;
    /// starts the thermal predictions over).
    pub fn set_predict_config(&mut self, cfg: PredictConfig) {
        self.forecasts.set_config(cfg);
    }

    /// The predictor settings in use.
    pub fn predict_config(&self) -> &PredictConfig {
        self.forecasts.predictors().config()
    }

    /// Forget history (a replay seek): charts and predictions start over.
    pub fn reset_history(&mut self) {
        self.store = Store::new(WINDOWS[WINDOWS.len() - 1], self.interval_s);
        self.forecasts.reset();
        self.frozen_at = None;
    }

    /// A new sample: history and predictions. Its lines (throttling, a
    /// probe's failure) come from the sinks, which record them once.
    pub fn on_snapshot(&mut self, s: Arc<Snapshot>) {
        self.store.push(&s);
        self.forecasts.observe(&s);
        self.latest = Some(s);
    }

    /// Apply a key action; returns what the loop must do outside the UI.
    pub fn on_action(&mut self, a: Action) -> Option<Effect> {
        if self.help && !matches!(a, Action::Help | Action::Quit) {
            self.help = false;
        }
        match a {
            Action::Quit => return Some(Effect::Quit),
            Action::Help => self.help = !self.help,
            Action::NextTheme => {
                self.theme_idx = (self.theme_idx + 1) % self.themes.len();
                let name = self.theme().name.clone();
                self.log(Level::Info, format!("theme: {name}"));
            }
            Action::Freeze => {
                self.frozen_at = match self.frozen_at {
                    Some(_) => None,
                    None => Some(self.store.latest_t()),
                };
            }
            Action::Zoom => self.zoom = !self.zoom,
            // A replay's windows carry their last 10 s only: the stage and
            // phase scopes are summaries of the live engine.
            Action::LatencyScope if self.replay.is_some() => self.log(
                Level::Info,
                "latency table: a replay shows each window's last 10 s",
            ),
            Action::LatencyScope => {
                self.load.scope = self.load.scope.next();
                let label = self.load.scope.label();
                self.log(Level::Info, format!("latency table: {label}"));
            }
            Action::FocusNext | Action::FocusPrev => {
                let i = Pane::ORDER
                    .iter()
                    .position(|p| *p == self.focus)
                    .unwrap_or(0);
                let n = Pane::ORDER.len();
                let j = if a == Action::FocusNext {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
                self.focus = Pane::ORDER[j];
            }
            Action::WindowGrow => self.window_idx = (self.window_idx + 1).min(WINDOWS.len() - 1),
            Action::WindowShrink => self.window_idx = self.window_idx.saturating_sub(1),
            Action::Spike => return Some(Effect::StartPhase(BuiltinPhase::Spike)),
            Action::Stress => return Some(Effect::StartPhase(BuiltinPhase::Stress)),
            Action::Soak => return Some(Effect::StartPhase(BuiltinPhase::Soak)),
            Action::Users => return Some(Effect::StartPhase(BuiltinPhase::Users)),
            Action::Sweep => return Some(Effect::StartPhase(BuiltinPhase::Sweep)),
            Action::StopAll => return Some(Effect::StopAll),
            Action::ToggleCpu => return Some(Effect::ToggleCpu),
            Action::ToggleMemory => return Some(Effect::ToggleMemory),
            Action::ToggleGpu => return Some(Effect::ToggleGpu),
            Action::RateDown => return Some(Effect::ScaleRate(0.8)),
            Action::RateUp => return Some(Effect::ScaleRate(1.25)),
            Action::UsersMore => return Some(Effect::ScaleUsers(2.0)),
            Action::UsersFewer => return Some(Effect::ScaleUsers(0.5)),
            Action::Record => return Some(Effect::ToggleRecord),
            Action::ReplayPause => return Some(Effect::Replay(ReplayCommand::TogglePause)),
            Action::SeekBack => return Some(Effect::Replay(ReplayCommand::Seek(-SEEK_S))),
            Action::SeekForward => return Some(Effect::Replay(ReplayCommand::Seek(SEEK_S))),
            Action::Slower => return Some(Effect::Replay(ReplayCommand::Speed(0.5))),
            Action::Faster => return Some(Effect::Replay(ReplayCommand::Speed(2.0))),
        }
        None
    }
}

/// Reads jetstress's own CPU and RSS from `/proc/self` (always the real /proc).
#[derive(Debug, Default)]
pub struct OwnMeter {
    last: Option<(std::time::Instant, u64)>,
}

impl OwnMeter {
    pub fn sample(&mut self) -> OwnUsage {
        let ticks = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| parse_self_ticks(&s));
        let rss_mb = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| crate::probes::memory::parse_status(&s).1);
        let now = std::time::Instant::now();
        let hz = clock_ticks_per_sec();
        let cpu_pct = match (self.last, ticks) {
            (Some((t0, k0)), Some(k)) => {
                let dt = now.duration_since(t0).as_secs_f64();
                (dt > 0.0).then(|| (k.saturating_sub(k0) as f64 / hz) / dt * 100.0)
            }
            _ => None,
        };
        if let Some(k) = ticks {
            self.last = Some((now, k));
        }
        OwnUsage { cpu_pct, rss_mb }
    }
}

fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if v > 0 {
        v as f64
    } else {
        100.0
    }
}

/// utime + stime from `/proc/self/stat` (fields 14 and 15, after the `(comm)`).
pub fn parse_self_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14 → index 11.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_ticks() {
        let stat = "1234 (jet stress) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0 1 0";
        assert_eq!(parse_self_ticks(stat), Some(200));
        assert_eq!(parse_self_ticks("garbage"), None);
    }
}
