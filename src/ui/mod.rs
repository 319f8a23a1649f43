//! The ratatui dashboard. The UI task owns [`app::App`]; the collector (and,
//! once attached, the load engine) send owned updates over channels; the loop
//! `select!`s over terminal events, snapshots, signals and a redraw deadline,
//! redrawing only when something changed and at most 10 times a second.

pub mod app;
pub mod draw;
pub mod keys;
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
use app::{App, Effect, Level, OwnMeter};
use keys::KeyMap;
use theme::{ColorMode, Theme};

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
}

/// Everything the dashboard needs, resolved from command line > config > defaults
/// before the terminal is touched (a bad config never leaves a half-drawn screen).
pub struct Resolved {
    pub app: App,
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
    let mut watches = args.watch.watches();
    watches.extend(config.watch_names.iter().cloned().map(Watch::Name));
    Ok(Resolved {
        app,
        interval,
        watches,
    })
}

/// `jetstress` with no subcommand.
pub fn run(global: &GlobalArgs, args: &DashboardArgs) -> anyhow::Result<ExitCode> {
    // Configuration errors first: the dashboard never starts half-configured.
    let resolved = resolve(global, args)?;
    if !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "stdout is not a terminal: the dashboard needs one. For headless runs use `jetstress run`; for one reading, `jetstress probe --json`"
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(event_loop(Root::new(&global.root), resolved))?;
    Ok(ExitCode::SUCCESS)
}

async fn event_loop(root: Root, r: Resolved) -> anyhow::Result<()> {
    let Resolved {
        mut app,
        interval,
        watches,
    } = r;
    app.log(
        Level::Info,
        format!("sampling every {} ms", interval.as_millis()),
    );
    let collector = crate::collector::spawn(Prober::new(root, watches), interval);
    let mut snaps = collector.subscribe();
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
                            Some(effect) => apply(&mut app, effect),
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
            s = snaps.recv() => match s {
                Ok(s) => {
                    app.own = own.sample();
                    app.on_snapshot(s);
                    if app.frozen_at.is_none() {
                        dirty = true;
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break Ok(()),
            },
            _ = sigterm.recv() => break Ok(()),
            _ = sighup.recv() => break Ok(()),
            _ = sigint.recv() => break Ok(()),
        }
    };
    // Load stops first (engine, when attached), then sampling, then the terminal.
    collector.stop();
    drop(guard);
    result
}

/// Carry out an effect the UI cannot do itself.
fn apply(app: &mut App, effect: Effect) {
    match effect {
        Effect::Quit => {}
        other => app.log(
            Level::Warn,
            format!("{other:?}: no load engine attached in this build"),
        ),
    }
}
