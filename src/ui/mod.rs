//! The ratatui dashboard. The UI task owns [`app::App`]; the collector (and,
//! once attached, the load engine) send owned updates over channels; the loop
//! `select!`s over terminal events, snapshots, signals and a redraw deadline,
//! redrawing only when something changed and at most 10 times a second.

pub mod app;
pub mod draw;
pub mod keys;
pub mod load;
pub mod panes;
pub mod terminal;
pub mod theme;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use crate::cli::{GlobalArgs, WatchArgs};
use crate::config::Config;
use crate::probes::{Prober, Root, Watch};
use crate::recording::replay::ReplayMsg;
use crate::recording::writer::{
    prediction_record, Header, PredictionGate, Record, RecordArgs, Recorder, RecorderConfig,
};
use app::{App, Effect, Level, OwnMeter};
use keys::KeyMap;
use theme::{ColorMode, Theme};

/// Trip assumed for traces without trip points: the Orin `sw-throttle` passive trip.
pub const DEFAULT_REPLAY_TRIP_C: f64 = 99.0;

/// Redraw at most this often (10 fps: kind to SSH links).
pub const FRAME: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Args, Default)]
pub struct DashboardArgs {
    /// Config file (default: $XDG_CONFIG_HOME/jetstress/config.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Theme: default, light, high-contrast, presentation, or a user theme.
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
    /// Draw charts with dots instead of braille (fonts without braille).
    #[arg(long)]
    pub dot_marker: bool,
    #[command(flatten)]
    pub watch: WatchArgs,
    #[command(flatten)]
    pub record: RecordArgs,
    #[command(flatten)]
    pub metrics: crate::export::metrics::MetricsArgs,
    #[command(flatten)]
    pub load: load::LoadArgs,
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

pub fn resolve(global: &GlobalArgs, args: &DashboardArgs) -> anyhow::Result<Resolved> {
    let (config, path) = Config::load(args.config.as_deref()).map_err(anyhow::Error::msg)?;
    let user_themes = path
        .as_ref()
        .and_then(|p| p.parent().map(|d| d.join("themes")))
        .or_else(|| crate::config::default_config_path().map(|d| d.join("themes")));
    let themes =
        Theme::load_all(user_themes.as_deref(), ColorMode::detect()).map_err(anyhow::Error::msg)?;
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
    let interval = match (&config.interval, global.interval_explicit) {
        (Some(s), false) => crate::cli::parse_duration(s).map_err(|e| {
            anyhow::anyhow!(
                "{}: interval: {e}",
                path.as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )
        })?,
        _ => global.interval,
    };
    let interval = crate::collector::clamp_interval(interval);
    let mut app = App::new(themes, theme_idx, keys, interval.as_secs_f64());
    if let Some(w) = &config.window {
        let secs = crate::cli::parse_duration(w)
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
    let mut watches = args.watch.watches();
    watches.extend(config.watch_names.iter().cloned().map(Watch::Name));
    let metrics = args.metrics.checked().map_err(anyhow::Error::msg)?;
    Ok(Resolved {
        app,
        interval,
        watches,
        metrics,
    })
}

/// `jetstress` with no subcommand: the live dashboard.
pub fn run(global: &GlobalArgs, args: &DashboardArgs) -> anyhow::Result<ExitCode> {
    // Configuration errors first: the dashboard never starts half-configured.
    let resolved = resolve(global, args)?;
    let scenario = load::plan(&args.load)?;
    require_terminal()?;
    let root = Root::new(&global.root);
    let root_dir = global.root.clone();
    let recorder = args.record.recorder_config();
    runtime()?.block_on(async move {
        let collector = crate::collector::spawn(
            Prober::new(root, resolved.watches.clone()),
            resolved.interval,
        );
        let link = load::LoadLink::new(
            scenario,
            root_dir,
            Some(collector.latest()),
            Some(collector.commands()),
            Some(collector.subscribe()),
        );
        let feed = Feed::Live {
            rx: collector.subscribe(),
            collector,
        };
        event_loop(feed, resolved, recorder, Some(link)).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `jetstress replay FILE`: the same dashboard, fed from a recording or trace.
pub fn run_replay(global: &GlobalArgs, args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let mut resolved = resolve(global, &args.dashboard)?;
    let src = crate::recording::replay::load(&args.file).map_err(anyhow::Error::msg)?;
    require_terminal()?;
    resolved.app.source = format!("replay {}", src.label);
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
    let mut cfg = resolved.app.predict_cfg.clone();
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
    let recorder = args.dashboard.record.recorder_config();
    let speed = args.speed;
    runtime()?.block_on(async move {
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let handle = crate::recording::replay::spawn(src, speed, history, tx);
        event_loop(Feed::Replay { handle, rx }, resolved, recorder, None).await
    })?;
    Ok(ExitCode::SUCCESS)
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

impl RecordArgs {
    fn recorder_config(&self) -> RecordPlan {
        RecordPlan {
            start: self.record.clone(),
            append: self.append,
            rotate_bytes: self.rotate_bytes(),
        }
    }
}

/// Recording wishes, carried into the loop.
#[derive(Debug, Clone)]
pub struct RecordPlan {
    start: Option<PathBuf>,
    append: bool,
    rotate_bytes: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// A jetstress recording (JSONL) or a tegrastats / CSV trace.
    pub file: PathBuf,
    /// Playback speed (×0.5/×2 with `<`/`>` while playing).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Throttle trip (°C) for zones the trace gives none (default 99, the Orin sw-throttle trip).
    #[arg(long, value_name = "C")]
    pub trip: Option<f64>,
    #[command(flatten)]
    pub dashboard: DashboardArgs,
}

/// Where snapshots come from.
enum Feed {
    Live {
        collector: crate::collector::CollectorHandle,
        rx: tokio::sync::broadcast::Receiver<std::sync::Arc<crate::snapshot::Snapshot>>,
    },
    Replay {
        handle: crate::recording::replay::ReplayHandle,
        rx: tokio::sync::mpsc::Receiver<ReplayMsg>,
    },
}

enum Incoming {
    Snapshot(std::sync::Arc<crate::snapshot::Snapshot>),
    Reset,
    Status(crate::recording::replay::ReplayStatus),
    Nothing,
    Closed,
}

impl Feed {
    async fn next(&mut self) -> Incoming {
        match self {
            Feed::Live { rx, .. } => match rx.recv().await {
                Ok(s) => Incoming::Snapshot(s),
                Err(RecvError::Lagged(_)) => Incoming::Nothing,
                Err(RecvError::Closed) => Incoming::Closed,
            },
            Feed::Replay { rx, .. } => match rx.recv().await {
                Some(ReplayMsg::Snapshot(s)) => Incoming::Snapshot(s),
                Some(ReplayMsg::Reset) => Incoming::Reset,
                Some(ReplayMsg::Status(st)) => Incoming::Status(st),
                None => Incoming::Closed,
            },
        }
    }

    fn stop(&self) {
        match self {
            Feed::Live { collector, .. } => collector.stop(),
            Feed::Replay { handle, .. } => handle.stop(),
        }
    }
}

/// A default recording name: `jetstress-<unix seconds>.jsonl` in the working directory.
fn default_recording_name() -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    PathBuf::from(format!("jetstress-{secs}.jsonl"))
}

fn start_recorder(app: &mut App, path: PathBuf, plan: &RecordPlan) -> Option<Recorder> {
    let board = app.latest.as_ref().and_then(|s| s.board.model.clone());
    let header = Header::new(board, serde_json::json!({ "source": app.source }));
    match Recorder::start(
        RecorderConfig {
            path,
            append: plan.append,
            rotate_bytes: plan.rotate_bytes,
        },
        header,
    ) {
        Ok(r) => {
            let shown = r.path().display().to_string();
            app.log(Level::Info, format!("recording to {shown}"));
            app.recording = Some(shown);
            Some(r)
        }
        Err(e) => {
            app.log(Level::Alert, format!("cannot record: {e}"));
            None
        }
    }
}

/// The load's summary as the recording's `summary` line (when load ran).
fn record_run(r: &Recorder, run: Option<crate::report::RunRecord>) {
    if let Some(v) = run.and_then(|run| serde_json::to_value(run).ok()) {
        r.record(Record::Summary(v));
    }
}

fn stop_recorder(app: &mut App, rec: Option<Recorder>) {
    let Some(r) = rec else { return };
    for e in app.take_new_events() {
        r.record(Record::Event {
            level: format!("{:?}", e.level).to_lowercase(),
            text: e.text,
        });
    }
    let path = r.path().display().to_string();
    match r.finish() {
        Ok(st) => app.log(
            Level::Info,
            format!(
                "recording closed: {path}, {} lines, {} dropped",
                st.lines, st.dropped
            ),
        ),
        Err(e) => app.log(Level::Alert, format!("recording {path}: {e}")),
    }
    app.recording = None;
}

async fn event_loop(
    mut feed: Feed,
    r: Resolved,
    plan: RecordPlan,
    mut link: Option<load::LoadLink>,
) -> anyhow::Result<()> {
    let Resolved {
        mut app,
        interval,
        metrics,
        ..
    } = r;
    let metrics = match metrics {
        Some((addr, token)) => {
            let m = std::sync::Arc::new(crate::export::metrics::Metrics::new());
            let (bound, _task) = crate::export::metrics::serve(addr, token, m.clone())
                .await
                .with_context(|| format!("serving /metrics on {addr}"))?;
            app.log(Level::Info, format!("metrics on http://{bound}/metrics"));
            Some(m)
        }
        None => None,
    };
    if matches!(feed, Feed::Live { .. }) {
        app.log(
            Level::Info,
            format!("sampling every {} ms", interval.as_millis()),
        );
    }
    // The recording starts with the first snapshot, so its header names the board.
    let mut recorder: Option<Recorder> = None;
    let mut pred_gate = PredictionGate::default();
    let mut start_pending = plan.start.is_some();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut guard = terminal::TerminalGuard::enter(false).context("preparing the terminal")?;
    let mut events = EventStream::new();
    let mut own = OwnMeter::default();
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    let result: anyhow::Result<()> = loop {
        let deadline = last_draw + FRAME;
        tokio::select! {
            _ = tokio::time::sleep_until(deadline), if dirty => {
                if let Err(e) = guard.terminal.draw(|f| draw::draw(f, &app)) {
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
                                recorder = match recorder.take() {
                                    Some(r) => {
                                        if let Some(l) = &link {
                                            record_run(&r, l.run_record().await);
                                        }
                                        stop_recorder(&mut app, Some(r));
                                        None
                                    }
                                    None => {
                                        let path = plan.start.clone().unwrap_or_else(default_recording_name);
                                        start_recorder(&mut app, path, &plan)
                                    }
                                };
                            }
                            Some(Effect::Replay(cmd)) => match &feed {
                                Feed::Replay { handle, .. } => {
                                    let _ = handle.commands.try_send(cmd);
                                }
                                Feed::Live { .. } => app.log(Level::Info, "seek and speed keys work in `jetstress replay`"),
                            },
                            Some(effect) => match link.as_mut() {
                                Some(l) => l.apply(&mut app, effect).await,
                                None => app.log(Level::Info, "load keys work on the live dashboard, not in replay"),
                            },
                            None => {}
                        },
                        // Any other key (Esc, say) closes the help overlay.
                        None => app.help = false,
                    }
                    dirty = true;
                }
                Some(Ok(Event::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => break Err(anyhow::anyhow!("reading terminal events: {e}")),
                None => break Ok(()),
            },
            incoming = feed.next() => match incoming {
                Incoming::Snapshot(s) => {
                    app.own = own.sample();
                    if start_pending {
                        start_pending = false;
                        app.latest = Some(s.clone());
                        recorder = plan.start.clone().and_then(|p| start_recorder(&mut app, p, &plan));
                    }
                    if let Some(r) = &recorder {
                        r.record(Record::Snapshot(s.clone()));
                    }
                    if let Some(m) = &metrics {
                        m.update(&s);
                    }
                    app.on_snapshot(s);
                    if let Some(m) = &metrics {
                        m.update_predictions(&app.zone_predictions);
                    }
                    if let Some(r) = &recorder {
                        if let Some(p) = prediction_record(&mut pred_gate, &app.zone_predictions) {
                            r.record(p);
                        }
                        for e in app.take_new_events() {
                            r.record(Record::Event { level: format!("{:?}", e.level).to_lowercase(), text: e.text });
                        }
                    }
                    if app.frozen_at.is_none() {
                        dirty = true;
                    }
                }
                Incoming::Reset => {
                    app.reset_history();
                    dirty = true;
                }
                Incoming::Status(st) => {
                    app.replay = Some(st);
                    dirty = true;
                }
                Incoming::Nothing => {}
                Incoming::Closed => break Ok(()),
            },
            msg = async { match link.as_mut() { Some(l) => l.next().await, None => std::future::pending().await } } => {
                let Some(l) = link.as_mut() else { continue };
                match msg {
                    load::LinkMsg::Started(r) => l.on_started(&mut app, r).await,
                    load::LinkMsg::Event(Some(ev)) => {
                        if let (Some(r), crate::load::engine::EngineEvent::LoadWindow(w)) = (&recorder, &ev) {
                            if let Ok(v) = serde_json::to_value(w) {
                                r.record(Record::LoadWindow(v));
                            }
                        }
                        l.on_event(&mut app, ev, metrics.as_deref()).await;
                        if let Some(r) = &recorder {
                            for e in app.take_new_events() {
                                r.record(Record::Event { level: format!("{:?}", e.level).to_lowercase(), text: e.text });
                            }
                        }
                    }
                    load::LinkMsg::Event(None) => app.log(Level::Warn, "the load engine ended"),
                }
                dirty = true;
            }
            _ = sigterm.recv() => break Ok(()),
            _ = sighup.recv() => break Ok(()),
            _ = sigint.recv() => break Ok(()),
        }
    };
    // Load stops first (engine, when attached), then sampling, then the
    // recording is flushed, then the terminal is restored.
    if let Some(l) = link.as_mut() {
        if let (Some(r), run) = (&recorder, l.shutdown().await) {
            record_run(r, run);
        }
    }
    feed.stop();
    stop_recorder(&mut app, recorder);
    drop(guard);
    result
}
