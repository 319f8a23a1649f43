//! The ratatui dashboard. The UI task owns [`app::App`]; the collector (and,
//! once attached, the load engine) send owned updates over channels; the loop
//! `select!`s over terminal events, snapshots, signals and a redraw deadline,
//! redrawing only when something changed and at most 10 times a second.

pub(crate) mod app;
pub(crate) mod campaign;
pub(crate) mod draw;
pub(crate) mod keys;
pub(crate) mod load;
pub(crate) mod panes;
pub(crate) mod terminal;
pub(crate) mod theme;

pub use app::{App, Effect, EngineView, Level, LlmRow, LoadOffer, LoadRow, Pane, UsersLine};
pub use campaign::{CampaignFeed, CampaignStatus};
pub use draw::draw;
pub use keys::{Action, KeyMap};
pub use terminal::chain_panic_hook;
pub use theme::{ColorChoice, ColorMode, Slot, Theme};

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::time::Instant;

use crate::config::Config;
use crate::load::engine::StopReason;
use crate::load::scenario::Scenario;
use crate::probes::Watch;
use crate::recording::replay::{ReplayHandle, ReplayMsg};
use crate::recording::writer::RecorderConfig;
use crate::session::{serve_metrics, Session, SessionConfig, SessionMsg, Sinks, StopSignals};
use crate::snapshot::Snapshot;
use app::OwnMeter;

/// Trip assumed for traces without trip points: the Orin `sw-throttle` passive trip.
pub const DEFAULT_REPLAY_TRIP_C: f64 = 99.0;

/// Redraw at most this often (10 fps: kind to SSH links).
pub const FRAME: Duration = Duration::from_millis(100);

/// The dashboard's options (the command line's, before the config file).
#[derive(Debug, Clone)]
pub struct DashboardOptions {
    pub root: PathBuf,
    pub interval: Duration,
    /// `interval` came from the command line (it then beats the config file).
    pub interval_explicit: bool,
    /// Config file (default: `$XDG_CONFIG_HOME/jetstress/config.toml`).
    pub config: Option<PathBuf>,
    pub theme: Option<String>,
    pub dot_marker: bool,
    pub watches: Vec<Watch>,
    pub record: RecordPlan,
    /// `/metrics` address and token, already checked ([`crate::export::auth`]).
    pub metrics: Option<(std::net::SocketAddr, Option<String>)>,
    /// `--color`.
    pub color: ColorChoice,
}

/// `jetstress replay FILE`'s options.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// A jetstress recording (JSONL) or a tegrastats / CSV trace.
    pub file: PathBuf,
    pub speed: f64,
    /// Throttle trip (°C) for zones the trace gives none.
    pub trip: Option<f64>,
    pub dashboard: DashboardOptions,
}

/// Recording wishes: `--record FILE` starts one at the first sample, `r`
/// toggles one (that name, or `jetstress-<unix seconds>.jsonl`).
#[derive(Debug, Clone, Default)]
pub struct RecordPlan {
    pub start: Option<PathBuf>,
    pub append: bool,
    pub rotate_bytes: Option<u64>,
}

/// Everything the dashboard needs, resolved from command line > config > defaults
/// before the terminal is touched (a bad config never leaves a half-drawn screen).
pub struct Resolved {
    pub app: App,
    /// `/metrics` address and token, checked.
    pub metrics: Option<(std::net::SocketAddr, Option<String>)>,
    pub interval: Duration,
    pub watches: Vec<Watch>,
}

pub fn resolve(args: &DashboardOptions) -> anyhow::Result<Resolved> {
    let (config, path) = Config::load(args.config.as_deref()).map_err(anyhow::Error::msg)?;
    let user_themes = path
        .as_ref()
        .and_then(|p| p.parent().map(|d| d.join("themes")))
        .or_else(|| crate::config::default_config_path().map(|d| d.join("themes")));
    let themes = Theme::load_all(user_themes.as_deref(), ColorMode::detect(args.color))
        .map_err(anyhow::Error::msg)?;
    let want = args
        .theme
        .clone()
        .or(config.theme.clone())
        .unwrap_or_else(|| "default".into());
    let theme_idx = themes.iter().position(|t| t.name == want).ok_or_else(|| {
        let names: Vec<&str> = themes.iter().map(|t| t.name.as_str()).collect();
        anyhow::anyhow!("unknown theme '{want}' (themes: {})", names.join(", "))
    })?;
    let keys = KeyMap::with_overrides(&config.bindings).map_err(|e| match &path {
        Some(p) => anyhow::anyhow!("{}: {e}", p.display()),
        None => anyhow::anyhow!(e),
    })?;
    let interval = match (&config.interval, args.interval_explicit) {
        (Some(s), false) => crate::config::parse_duration(s).map_err(|e| {
            anyhow::anyhow!(
                "{}: interval: {e}",
                path.as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )
        })?,
        _ => args.interval,
    };
    let interval = crate::collector::clamp_interval(interval);
    let mut app = App::new(themes, theme_idx, keys, interval.as_secs_f64());
    if let Some(w) = &config.window {
        let secs = crate::config::parse_duration(w)
            .map_err(|e| anyhow::anyhow!("config window: {e}"))?
            .as_secs_f64();
        app.window_idx = app::WINDOWS
            .iter()
            .position(|x| *x >= secs)
            .unwrap_or(app::WINDOWS.len() - 1);
    }
    app.dot_marker = args.dot_marker || config.dot_marker.unwrap_or(false);
    if let Some(p) = config.predict.clone() {
        app.set_predict_config(p);
    }
    let mut watches = args.watches.clone();
    watches.extend(config.watch_names.iter().cloned().map(Watch::Name));
    let metrics = args.metrics.clone();
    Ok(Resolved {
        app,
        metrics,
        interval,
        watches,
    })
}

/// `jetstress` with no subcommand: the live dashboard, with `plan` as the
/// load its keys start (checked before the terminal is touched).
pub fn run(args: &DashboardOptions, plan: Scenario) -> anyhow::Result<ExitCode> {
    // Configuration errors first: the dashboard never starts half-configured.
    let mut resolved = resolve(args)?;
    require_terminal()?;
    resolved.app.load.offer = LoadOffer::Live(crate::load::plan::explain_targets(&plan));
    // The memory ETA aims at the floor the guard enforces.
    let mut cfg = resolved.app.predict_config().clone();
    cfg.memory_floor_pct = Some(plan.guards.memory_floor_pct);
    resolved.app.set_predict_config(cfg);
    terminal::force_color(args.color);
    let record = args.record.clone();
    let cfg = SessionConfig {
        root: args.root.clone(),
        interval: resolved.interval,
        watches: resolved.watches.clone(),
        plan,
    };
    runtime()?.block_on(async move {
        let session = Session::start(cfg);
        event_loop(Source::Live(Box::new(session)), resolved, record, None).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `jetstress replay FILE`: the same dashboard, fed from a recording or trace.
pub fn run_replay(args: &ReplayOptions) -> anyhow::Result<ExitCode> {
    let mut resolved = resolve(&args.dashboard)?;
    let src = crate::recording::replay::load(&args.file).map_err(anyhow::Error::msg)?;
    require_terminal()?;
    terminal::force_color(args.dashboard.color);
    resolved.app.source = format!("replay {}", src.label);
    resolved.app.load.offer = LoadOffer::Replay;
    if !src.skipped.is_empty() {
        resolved.app.log(
            Level::Warn,
            format!(
                "{} lines skipped (first: line {}: {})",
                src.skipped.len(),
                src.skipped[0].0,
                src.skipped[0].1
            ),
        );
    }
    let has_trips = src
        .snapshots
        .iter()
        .take(10)
        .any(|s| s.thermal.iter().any(|z| !z.trips.is_empty()));
    let mut cfg = resolved.app.predict_config().clone();
    match (args.trip, has_trips) {
        (Some(t), _) => cfg.default_trip_c = Some(t),
        (None, false) if cfg.default_trip_c.is_none() => {
            cfg.default_trip_c = Some(DEFAULT_REPLAY_TRIP_C);
            resolved.app.log(
                Level::Info,
                format!("the trace has no trip points: predicting against {DEFAULT_REPLAY_TRIP_C} °C (--trip to change)"),
            );
        }
        _ => {}
    }
    resolved.app.set_predict_config(cfg);
    let history = resolved.app.window_s();
    let record = args.dashboard.record.clone();
    let speed = args.speed;
    runtime()?.block_on(async move {
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let handle = crate::recording::replay::spawn(src, speed, history, tx);
        event_loop(Source::Replay { handle, rx }, resolved, record, None).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The dashboard following a campaign that a driver runs beside it (on the
/// same runtime): the board live from its own sampling session (no engine:
/// the load is the campaign's, the load keys are off), the campaign bar from
/// `feed.status`, the driver's lines in the event log; quitting tells the
/// driver through `feed.quit`. Returns when the operator quits or a signal
/// arrives.
pub async fn follow(
    args: &DashboardOptions,
    plan: Scenario,
    feed: CampaignFeed,
) -> anyhow::Result<()> {
    let mut resolved = resolve(args)?;
    require_terminal()?;
    resolved.app.load.offer = LoadOffer::Campaign;
    let mut cfg = resolved.app.predict_config().clone();
    cfg.memory_floor_pct = Some(plan.guards.memory_floor_pct);
    resolved.app.set_predict_config(cfg);
    terminal::force_color(args.color);
    let session = Session::start(SessionConfig {
        root: args.root.clone(),
        interval: resolved.interval,
        watches: resolved.watches.clone(),
        plan,
    });
    event_loop(
        Source::Live(Box::new(session)),
        resolved,
        args.record.clone(),
        Some(feed),
    )
    .await
}

/// The level a campaign driver's line is shown at.
fn driver_level(line: &str) -> Level {
    let l = line.trim_start();
    if l.starts_with("FAIL") || l.starts_with("error") || l.contains("cannot run") {
        Level::Warn
    } else {
        Level::Info
    }
}

fn require_terminal() -> anyhow::Result<()> {
    if !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "stdout is not a terminal: the dashboard needs one. For headless runs use `jetstress run`; for one reading, `jetstress probe --json`"
        );
    }
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Where snapshots come from: the live session, or a replay.
enum Source {
    Live(Box<Session>),
    Replay {
        handle: ReplayHandle,
        rx: tokio::sync::mpsc::Receiver<ReplayMsg>,
    },
}

enum Incoming {
    Session(SessionMsg),
    /// A replay seek: history starts over.
    Reset,
    /// A recorded load window, replayed.
    Window(std::sync::Arc<crate::load::engine::LoadWindow>),
    Status(crate::recording::replay::ReplayStatus),
}

impl Source {
    async fn next(&mut self) -> Incoming {
        match self {
            Source::Live(s) => Incoming::Session(s.next().await),
            Source::Replay { rx, .. } => match rx.recv().await {
                Some(ReplayMsg::Snapshot(s)) => Incoming::Session(SessionMsg::Snapshot(s)),
                Some(ReplayMsg::Reset) => Incoming::Reset,
                Some(ReplayMsg::Window(w)) => Incoming::Window(w),
                Some(ReplayMsg::Status(st)) => Incoming::Status(st),
                None => Incoming::Session(SessionMsg::Closed),
            },
        }
    }
}

/// A default recording name: `jetstress-<unix seconds>.jsonl` in the working directory.
fn default_recording_name() -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    PathBuf::from(format!("jetstress-{secs}.jsonl"))
}

fn start_recorder(app: &mut App, sinks: &mut Sinks, path: PathBuf, plan: &RecordPlan) {
    let board = app.latest.as_ref().and_then(|s| s.board.model.clone());
    let cfg = RecorderConfig {
        path,
        append: plan.append,
        rotate_bytes: plan.rotate_bytes,
    };
    match sinks.start_recording(cfg, board, serde_json::json!({ "source": app.source })) {
        Ok(path) => {
            let shown = path.display().to_string();
            app.log(Level::Info, format!("recording to {shown}"));
            app.recording = Some(shown);
        }
        Err(e) => app.log(Level::Alert, format!("cannot record: {e}")),
    }
}

/// Hand the dashboard's own new events to the recording.
fn record_own_events(app: &mut App, sinks: &Sinks) {
    for e in app.take_new_events() {
        sinks.record_event(e.level, &e.text);
    }
}

fn stop_recorder(app: &mut App, sinks: &mut Sinks, run: Option<crate::report::RunRecord>) {
    record_own_events(app, sinks);
    match sinks.finish_recording(run) {
        Some((path, Ok(st))) => app.log(
            Level::Info,
            format!(
                "recording closed: {}, {} lines, {} dropped",
                path.display(),
                st.lines,
                st.dropped
            ),
        ),
        Some((path, Err(e))) => app.log(Level::Alert, format!("recording {}: {e}", path.display())),
        None => {}
    }
    app.recording = None;
}

/// A new snapshot through the view and the sinks.
fn on_snapshot(app: &mut App, sinks: &mut Sinks, s: &std::sync::Arc<Snapshot>) {
    app.on_snapshot(s.clone());
    for (level, text) in sinks.on_snapshot(s.elapsed_s, s, &app.forecasts) {
        app.show(level, text);
    }
}

#[expect(clippy::too_many_lines, reason = "the dashboard's one select loop")]
async fn event_loop(
    mut source: Source,
    r: Resolved,
    plan: RecordPlan,
    feed: Option<CampaignFeed>,
) -> anyhow::Result<()> {
    let Resolved {
        mut app,
        interval,
        metrics,
        ..
    } = r;
    let metrics = match metrics {
        Some((addr, token)) => {
            let (m, bound) = serve_metrics(addr, token).await?;
            app.log(Level::Info, format!("metrics on http://{bound}/metrics"));
            Some(m)
        }
        None => None,
    };
    let mut sinks = Sinks::new(metrics);
    let mut load = load::LoadControl::new();
    if matches!(source, Source::Live(_)) {
        app.log(
            Level::Info,
            format!("sampling every {} ms", interval.as_millis()),
        );
    }
    // The recording starts with the first snapshot, so its header names the board.
    let mut start_pending = plan.start.is_some();
    // SIGINT, SIGTERM, SIGHUP: quit (load stops first, below).
    let mut stop = StopSignals::listen();
    let mut guard = terminal::TerminalGuard::enter(false).context("preparing the terminal")?;
    let mut events = EventStream::new();
    let mut own = OwnMeter::default();
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    let (mut status_rx, mut lines_rx, quit_tx) = match feed {
        Some(f) => (Some(f.status), Some(f.lines), Some(f.quit)),
        None => (None, None, None),
    };
    // The campaign bar's clock moves every second.
    let mut bar_tick = tokio::time::interval(Duration::from_secs(1));
    let result: anyhow::Result<()> = loop {
        let deadline = last_draw + FRAME;
        tokio::select! {
            () = tokio::time::sleep_until(deadline), if dirty => {
                if let Err(e) = guard.terminal.draw(|f| draw(f, &app)) {
                    break Err(e.into());
                }
                last_draw = Instant::now();
                dirty = false;
            }
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                    match app.keys.action(&k) {
                        Some(action) => match app.on_action(action) {
                            Some(Effect::Quit) => break Ok(()),
                            Some(Effect::ToggleRecord) => {
                                if sinks.recording().is_some() {
                                    let run = match &source {
                                        Source::Live(s) => s.run_record(false).await,
                                        Source::Replay { .. } => None,
                                    };
                                    stop_recorder(&mut app, &mut sinks, run);
                                } else {
                                    let path = plan.start.clone().unwrap_or_else(default_recording_name);
                                    start_recorder(&mut app, &mut sinks, path, &plan);
                                }
                            }
                            Some(Effect::Replay(cmd)) => match &source {
                                Source::Replay { handle, .. } => {
                                    let _ = handle.commands.try_send(cmd);
                                }
                                Source::Live(_) => app.log(Level::Info, "seek and speed keys work in `jetstress replay`"),
                            },
                            Some(_) if matches!(app.load.offer, LoadOffer::Campaign) => app.log(
                                Level::Info,
                                "the campaign drives the load: load keys are off (q stops the campaign; --resume goes on)",
                            ),
                            Some(effect) => match &mut source {
                                Source::Live(s) => load.apply(&mut app, s, effect).await,
                                Source::Replay { .. } => app.log(Level::Info, "load keys work on the live dashboard, not in replay"),
                            },
                            None => {}
                        },
                        // Any other key (Esc, say) closes the help overlay.
                        None => app.help = false,
                    }
                    record_own_events(&mut app, &sinks);
                    dirty = true;
                }
                Some(Ok(Event::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => break Err(anyhow::anyhow!("reading terminal events: {e}")),
                None => break Ok(()),
            },
            incoming = source.next() => {
                match incoming {
                    Incoming::Session(SessionMsg::Snapshot(s)) => {
                        app.own = own.sample();
                        if start_pending {
                            start_pending = false;
                            app.latest = Some(s.clone());
                            if let Some(p) = plan.start.clone() {
                                start_recorder(&mut app, &mut sinks, p, &plan);
                            }
                        }
                        on_snapshot(&mut app, &mut sinks, &s);
                        if app.frozen_at.is_none() {
                            dirty = true;
                        }
                    }
                    Incoming::Session(SessionMsg::Closed) => break Ok(()),
                    Incoming::Session(msg) => {
                        if let Source::Live(s) = &source {
                            load.on_msg(&mut app, s, &mut sinks, msg).await;
                        }
                        dirty = true;
                    }
                    Incoming::Reset => {
                        app.reset_history();
                        load.clear_view(&mut app);
                        dirty = true;
                    }
                    Incoming::Window(w) => {
                        load.on_replayed_window(&mut app, &w);
                        dirty = true;
                    }
                    Incoming::Status(st) => {
                        app.replay = Some(st);
                        dirty = true;
                    }
                }
                record_own_events(&mut app, &sinks);
            }
            changed = async {
                match status_rx.as_mut() {
                    Some(rx) => rx.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            } => {
                match (changed, status_rx.as_ref()) {
                    (true, Some(rx)) => app.campaign.clone_from(&rx.borrow()),
                    // The driver is gone: the bar keeps its last words.
                    _ => status_rx = None,
                }
                dirty = true;
            }
            line = async {
                match lines_rx.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                match line {
                    Some(l) => {
                        app.show(driver_level(&l), l);
                    }
                    None => lines_rx = None,
                }
                dirty = true;
            }
            _ = bar_tick.tick(), if app.campaign.is_some() => dirty = true,
            _ = stop.recv() => break Ok(()),
        }
    };
    // A campaign stops with its dashboard (it is resumable).
    if let Some(q) = &quit_tx {
        let _ = q.send(true);
    }
    // Load stops first (engine, when attached), then sampling, then the
    // recording is flushed, then the terminal is restored.
    let run = match &mut source {
        Source::Live(s) => {
            let run = s
                .stop_load(StopReason::DashboardClosed)
                .await
                .filter(|r| !r.phases.is_empty())
                .map(|r| s.record(r, false));
            s.shutdown().await;
            run
        }
        Source::Replay { handle, .. } => {
            handle.stop();
            None
        }
    };
    stop_recorder(&mut app, &mut sinks, run);
    drop(guard);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::ProbeError;
    use std::sync::Arc;

    /// A probe that starts failing is one line in the log (the sinks' line,
    /// which they record once), however many snapshots it goes on failing;
    /// failing again after it recovered is a new line.
    #[test]
    fn a_failing_probe_is_logged_once_per_failure() {
        let themes = Theme::load_all(None, ColorMode::TrueColor).unwrap();
        let mut app = App::new(themes, 0, KeyMap::defaults(), 1.0);
        let mut sinks = Sinks::new(None);
        let failing = |t: f64, fails: bool| {
            let mut s = Snapshot::empty();
            s.elapsed_s = t;
            if fails {
                s.probe_errors.push(ProbeError {
                    probe: "gpu".into(),
                    message: "/sys/devices/gpu.0/load: not a number".into(),
                });
            }
            Arc::new(s)
        };
        let count = |app: &App| {
            app.events
                .iter()
                .filter(|e| e.text == "probe gpu failed: /sys/devices/gpu.0/load: not a number")
                .count()
        };
        for (i, fails) in [true, true, true, false, true].into_iter().enumerate() {
            on_snapshot(&mut app, &mut sinks, &failing(i as f64, fails));
            let want = if i < 4 { 1 } else { 2 };
            assert_eq!(count(&app), want, "after snapshot {i}: {:?}", app.events);
        }
    }
}
