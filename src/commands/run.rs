//! `jetstress run`: a headless load run. Builds the engine from a scenario
//! file and/or flags, runs the phases in order with the collector and guards
//! alongside, prints one progress line every 10 s to stderr, and writes the
//! `jetstress.run/1` summary as JSON, judged against the acceptance criteria.
//! Exit 0 on PASS, 1 on FAIL or when the load could not start (a target never
//! came up), 2 on errors of use, 130 when interrupted.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use tokio::sync::broadcast::error::RecvError;

use crate::cli::{parse_duration, GlobalArgs};
use crate::load::drivers::mcp::{split_command, Endpoint, McpTargetSpec};
use crate::load::engine::{
    Command, Engine, EngineConfig, EngineEvent, PhaseEvent, RunSummary, TargetEvent,
};
use crate::load::guards;
use crate::load::scenario::{self, Scenario, TargetPlan};
use crate::load::schedule::{PhaseSpec, SoakParams, SpikeParams, StressParams};
use crate::probes::{Prober, Root};
use crate::recording::writer::{
    prediction_record, Header, PredictionGate, Record, RecordArgs, Recorder,
};
use crate::report::charts::Timeline;
use crate::report::criteria::{self, Criteria, Observer};
use crate::report::{Report, RunRecord};
use crate::snapshot::Snapshot;

/// Name of the built-in target in tool names (`built-in:thermal_status`).
pub const BUILTIN_TARGET: &str = "built-in";
/// How often the progress line is printed.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PhaseArg {
    Spike,
    Stress,
    Soak,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Scenario file (TOML): targets, tool mix, phases, loads, guards.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Run this built-in phase (replaces the scenario's phases).
    #[arg(long, value_enum)]
    pub phase: Option<PhaseArg>,
    /// Stretch or cut each phase to this length, e.g. `90s`, `2h`.
    #[arg(long, value_parser = parse_duration, value_name = "D")]
    pub duration: Option<Duration>,
    /// The soak rate, the spike's peak or the stress ceiling (requests/s).
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// An MCP server to spawn as a stdio child, `"CMD ARGS"` (repeatable; replaces the scenario's targets).
    #[arg(long = "target-cmd", value_name = "CMD")]
    pub target_cmd: Vec<String>,
    /// A streamable-HTTP MCP URL (repeatable; replaces the scenario's targets).
    #[arg(long = "target-url", value_name = "URL")]
    pub target_url: Vec<String>,
    /// Client sessions per MCP target (default 10).
    #[arg(long)]
    pub sessions: Option<usize>,
    /// Most requests in flight before new ones are dropped (default 256).
    #[arg(long = "max-in-flight")]
    pub max_in_flight: Option<usize>,
    /// Per-request timeout (default 30s).
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Write the `jetstress.run/1` summary here (`-`: stdout).
    #[arg(long, value_name = "OUT")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub record: RecordArgs,
    /// Write `report.json` (`jetstress.report/1`) and `report.md` into this directory.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub metrics: crate::export::metrics::MetricsArgs,
    /// Directory for the targets' stderr logs (default: a temp dir).
    #[arg(long = "log-dir", value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
}

/// Resolve flags and scenario into one plan (pure apart from reading the file).
pub fn plan(args: &RunArgs) -> anyhow::Result<Scenario> {
    if args.scenario.is_none() && args.phase.is_none() {
        anyhow::bail!("give --scenario FILE or --phase spike|stress|soak");
    }
    let mut sc = plan_targets(args)?;
    args.metrics.checked().map_err(anyhow::Error::msg)?;
    if let Some(r) = args.rate {
        if !(r.is_finite() && r > 0.0) {
            anyhow::bail!("--rate must be a positive number of requests/s");
        }
    }
    if let Some(p) = args.phase {
        sc.phases = vec![builtin_phase(p, args.rate)];
    } else if let Some(r) = args.rate {
        for p in &mut sc.phases {
            apply_rate(p, r);
        }
    }
    if let Some(d) = args.duration {
        if d.is_zero() {
            anyhow::bail!("--duration must be positive");
        }
        sc.phases = sc.phases.drain(..).map(|p| p.scaled_to(d)).collect();
    }
    if sc.phases.is_empty() {
        anyhow::bail!("the scenario has no [[phases]]; add one or pass --phase");
    }
    Ok(sc)
}

/// The scenario (or the command line) with its targets, sessions, limits and
/// log directory resolved, the built-in server when no target is named; phases
/// as the scenario gives them (possibly none: the dashboard starts them by key).
pub fn plan_targets(args: &RunArgs) -> anyhow::Result<Scenario> {
    let mut sc = match &args.scenario {
        Some(p) => scenario::load(p)?,
        None => scenario::parse("", "command line")?,
    };
    if let Some(s) = args.sessions {
        if s == 0 {
            anyhow::bail!("--sessions must be at least 1");
        }
        sc.sessions = s;
        for t in &mut sc.targets {
            match t {
                TargetPlan::Builtin { sessions, .. } => *sessions = s,
                TargetPlan::Spec(spec) => spec.sessions = s,
            }
        }
    }
    if let Some(m) = args.max_in_flight {
        if m == 0 {
            anyhow::bail!("--max-in-flight must be at least 1");
        }
        sc.max_in_flight = m;
    }
    if let Some(t) = args.timeout {
        sc.timeout = t;
    }
    if let Some(d) = &args.log_dir {
        sc.log_dir = Some(d.clone());
    }
    if !args.target_cmd.is_empty() || !args.target_url.is_empty() {
        sc.targets.clear();
        for c in &args.target_cmd {
            let argv = split_command(c).map_err(|e| anyhow::anyhow!("--target-cmd: {e}"))?;
            sc.targets.push(TargetPlan::Spec(McpTargetSpec {
                name: None,
                endpoint: Endpoint::Stdio {
                    program: PathBuf::from(&argv[0]),
                    args: argv[1..].to_vec(),
                    env: vec![],
                },
                sessions: sc.sessions,
            }));
        }
        for u in &args.target_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                anyhow::bail!("--target-url '{u}' must start with http:// or https://");
            }
            sc.targets.push(TargetPlan::Spec(McpTargetSpec {
                name: None,
                endpoint: Endpoint::Http { url: u.clone() },
                sessions: sc.sessions,
            }));
        }
    }
    if sc.targets.is_empty() && sc.http.is_empty() {
        sc.targets.push(TargetPlan::Builtin {
            name: None,
            sessions: sc.sessions,
        });
    }
    Ok(sc)
}

/// A built-in phase with its defaults; `rate` sets the spike's peak, the
/// stress ceiling or the soak rate.
pub fn builtin_phase(p: PhaseArg, rate: Option<f64>) -> PhaseSpec {
    match p {
        PhaseArg::Spike => PhaseSpec::spike(&SpikeParams {
            peak_rate: rate.unwrap_or(SpikeParams::default().peak_rate),
            ..Default::default()
        }),
        PhaseArg::Stress => PhaseSpec::stress(&StressParams {
            max_rate: rate.unwrap_or(StressParams::default().max_rate),
            ..Default::default()
        }),
        PhaseArg::Soak => PhaseSpec::soak(&SoakParams {
            rate: rate.unwrap_or(SoakParams::default().rate),
            ..Default::default()
        }),
    }
}

/// `--rate` on a scenario phase: soak rate, spike peak, stress ceiling.
fn apply_rate(p: &mut PhaseSpec, r: f64) {
    use crate::load::schedule::PhaseKind;
    match p.kind {
        PhaseKind::Soak => p.stages.iter_mut().for_each(|s| {
            s.rate = r;
            s.from_rate = r
        }),
        PhaseKind::Spike => {
            if let Some(s) = p.stages.get_mut(1) {
                s.rate = r;
                s.from_rate = r;
            }
        }
        PhaseKind::Stress => {
            p.stages.retain(|s| s.rate <= r + 1e-9);
        }
        PhaseKind::Custom => {}
    }
}

/// The built-in server (`jetstress mcp-serve`) as a stdio target.
pub fn builtin_target(
    name: Option<String>,
    sessions: usize,
    root: &std::path::Path,
) -> anyhow::Result<McpTargetSpec> {
    let exe = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot find the jetstress executable: {e}"))?;
    let mut args = vec!["mcp-serve".to_string()];
    if root != std::path::Path::new("/") {
        args.push("--root".into());
        args.push(root.display().to_string());
    }
    Ok(McpTargetSpec {
        name: Some(name.unwrap_or_else(|| BUILTIN_TARGET.into())),
        endpoint: Endpoint::Stdio {
            program: exe,
            args,
            env: vec![],
        },
        sessions,
    })
}

pub fn run(global: &GlobalArgs, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let sc = plan(args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_async(global, args, sc))
}

fn progress_line(s: &RunSummary) -> Option<String> {
    let p = s.phases.last()?;
    let st = p.stages.last()?;
    Some(format!(
        "[{:>6.0}s] {}/{} target {:.1} rps · achieved {:.1} · ok {} · err {} · dropped {} · p50 {:.1} ms · p95 {:.1} ms · in flight {}",
        s.elapsed_s,
        p.name,
        st.name,
        st.target_rate,
        st.achieved_rate,
        st.all.count.saturating_sub(st.all.errors.saturating_sub(st.dropped)),
        st.all.errors.saturating_sub(st.dropped),
        st.dropped,
        st.all.latency_ms.p50,
        st.all.latency_ms.p95,
        s.in_flight
    ))
}

async fn run_async(global: &GlobalArgs, args: &RunArgs, sc: Scenario) -> anyhow::Result<ExitCode> {
    let root = Root::new(&global.root);
    let collector = crate::collector::spawn(Prober::new(root.clone(), vec![]), global.interval);
    let mut targets = Vec::new();
    for t in &sc.targets {
        targets.push(match t {
            TargetPlan::Builtin { name, sessions } => {
                builtin_target(name.clone(), *sessions, &global.root)?
            }
            TargetPlan::Spec(s) => s.clone(),
        });
    }
    let log_dir = sc
        .log_dir
        .clone()
        .unwrap_or_else(|| EngineConfig::default().log_dir);
    let config = EngineConfig {
        mcp_targets: targets,
        http: sc.http.clone(),
        mix: sc.mix.clone(),
        max_in_flight: sc.max_in_flight,
        timeout: sc.timeout,
        log_dir: log_dir.clone(),
        root,
        memory_floor_pct: sc.guards.memory_floor_pct,
        snapshots: Some(collector.latest()),
        collector: Some(collector.commands()),
        ..Default::default()
    };
    let engine = match Engine::spawn(config).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e:#}");
            collector.stop();
            return Ok(ExitCode::from(1));
        }
    };
    eprintln!(
        "jetstress run: {} · {} op(s): {} · target logs in {}",
        sc.name,
        engine.ops.len(),
        engine.ops.join(", "),
        log_dir.display()
    );
    let guard_task = guards::spawn(collector.subscribe(), engine.commands.clone(), sc.guards);
    let recorder = match args.record.config() {
        Some(config) => Some(
            Recorder::start(
                config.clone(),
                Header::new(
                    collector
                        .latest()
                        .borrow()
                        .as_ref()
                        .and_then(|s| s.board.model.clone()),
                    serde_json::json!({ "source": "run", "scenario": sc.name }),
                ),
            )
            .map_err(|e| anyhow::anyhow!("--record {}: {e}", config.path.display()))?,
        ),
        None => None,
    };
    if let Some(r) = &recorder {
        eprintln!("recording to {}", r.path().display());
    }
    // Chart times count from the engine's start, as its load windows and phases do.
    let origin = engine.summary().await.map(|s| s.started_unix_ms);
    let observer = Arc::new(Mutex::new((
        Observer::default(),
        None::<Arc<Snapshot>>,
        origin.map(Timeline::with_origin).unwrap_or_default(),
    )));
    let metrics = match args.metrics.checked().map_err(anyhow::Error::msg)? {
        Some((addr, token)) => {
            let m = Arc::new(crate::export::metrics::Metrics::new());
            match crate::export::metrics::serve(addr, token, m.clone()).await {
                Ok((bound, _task)) => {
                    eprintln!("metrics on http://{bound}/metrics");
                    Some(m)
                }
                Err(e) => {
                    eprintln!("error: serving /metrics on {addr}: {e}");
                    engine.shutdown().await;
                    collector.stop();
                    return Ok(ExitCode::from(2));
                }
            }
        }
        None => None,
    };
    let (stop_observing, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let observe_task = {
        let metrics = metrics.clone();
        let observer = observer.clone();
        // The snapshot taken while the targets started counts too (read before
        // subscribing, so no snapshot is seen twice).
        let first = collector.latest().borrow().clone();
        let mut snaps = collector.subscribe();
        let mut windows = engine.events();
        let start = Instant::now();
        if let Some(s) = first {
            if let Some(r) = &recorder {
                r.record(Record::Snapshot(s.clone()));
            }
            let mut o = observer.lock().unwrap_or_else(|e| e.into_inner());
            o.0.observe(0.0, &s);
            o.2.observe_snapshot(&s);
            o.1 = Some(s);
        }
        tokio::spawn(async move {
            let mut gate = PredictionGate::default();
            let mut was_throttled = false;
            loop {
                tokio::select! {
                    s = snaps.recv() => match s {
                        Ok(s) => {
                            if let Some(r) = &recorder {
                                r.record(Record::Snapshot(s.clone()));
                            }
                            if let Some(m) = &metrics {
                                m.update(&s);
                            }
                            let mut o = observer.lock().unwrap_or_else(|e| e.into_inner());
                            let t = start.elapsed().as_secs_f64();
                            o.0.observe(t, &s);
                            o.2.observe_snapshot(&s);
                            if let Some(r) = &recorder {
                                if let Some(p) = prediction_record(&mut gate, o.0.predictions()) {
                                    r.record(p);
                                }
                                if let Some(e) = throttle_change(was_throttled, &s) {
                                    r.record(e);
                                }
                            }
                            was_throttled = s.throttle.throttled;
                            o.1 = Some(s);
                        }
                        Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => break,
                    },
                    ev = windows.recv() => match ev {
                        Ok(EngineEvent::LoadWindow(w)) => {
                            observer.lock().unwrap_or_else(|e| e.into_inner()).2.observe_window(&w);
                            if let Some(m) = &metrics {
                                w.tools.iter().for_each(|t| m.add_window(t));
                                m.set_phase(w.phase.as_deref(), w.phase.as_ref().map(|_| w.target_rate));
                            }
                            if let Some(r) = &recorder {
                                if let Ok(v) = serde_json::to_value(&*w) {
                                    r.record(Record::LoadWindow(v));
                                }
                            }
                        }
                        Ok(ev) => {
                            if let (Some(r), Some((level, text))) = (&recorder, event_line(&ev)) {
                                r.record(Record::Event { level: level.into(), text });
                            }
                        }
                        Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => break,
                    },
                    _ = &mut stopped => break,
                }
            }
            recorder
        })
    };
    let mut events = engine.events();
    if let Some(c) = sc.cpu {
        engine.send(Command::StartCpu(c)).await;
    }
    if let Some(m) = sc.memory {
        engine.send(Command::StartMemory(m)).await;
    }
    if let Some(g) = sc.gpu {
        engine.send(Command::StartGpu(g)).await;
    }
    let mut interrupted = false;
    let mut guard_stop = false;
    'phases: for phase in &sc.phases {
        engine.send(Command::StartPhase(phase.clone())).await;
        let mut progress =
            tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(ev) => {
                        if let Some((_, text)) = event_line(&ev) {
                            eprintln!("{text}");
                        }
                        if let EngineEvent::Phase(PhaseEvent::Stopped { reason, .. }) = &ev {
                            if reason.starts_with("guard") {
                                guard_stop = true;
                            }
                            break;
                        }
                    }
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break 'phases,
                },
                _ = progress.tick() => {
                    if let Some(line) = engine.summary().await.as_ref().and_then(progress_line) {
                        eprintln!("{line}");
                    }
                }
                _ = tokio::signal::ctrl_c() => {
                    interrupted = true;
                    engine.send(Command::StopAll { reason: "interrupted".into() }).await;
                }
            }
        }
        drain(&engine, sc.timeout).await;
        if interrupted || guard_stop {
            break;
        }
    }
    engine
        .send(Command::StopAll {
            reason: "run finished".into(),
        })
        .await;
    let summary = engine.summary().await;
    guard_task.abort();
    let _ = stop_observing.send(());
    if let Ok(Some(r)) = observe_task.await {
        // Last line: the summary, so `jetstress report` can rebuild this report.
        if let Some(run) = &summary {
            let rec = RunRecord {
                scenario: sc.name.clone(),
                acceptance: sc.acceptance.clone(),
                interrupted,
                run: run.clone(),
            };
            if let Ok(v) = serde_json::to_value(&rec) {
                r.record(Record::Summary(v));
            }
        }
        match r.finish() {
            Ok(_) => eprintln!("recording finished"),
            Err(e) => eprintln!("recording: {e}"),
        }
    }
    engine.shutdown().await;
    collector.stop();
    let Some(summary) = summary else {
        anyhow::bail!("the engine ended unexpectedly")
    };
    let (observations, last_snapshot, timeline) = {
        let mut o = observer.lock().unwrap_or_else(|e| e.into_inner());
        (
            o.0.observations().clone(),
            o.1.clone(),
            std::mem::take(&mut o.2),
        )
    };
    let criteria = Criteria::from_acceptance(sc.acceptance.as_ref());
    let verdicts = criteria::evaluate(&summary, &observations, &criteria);
    let pass = criteria::overall(&verdicts);
    let mut v = serde_json::to_value(&summary)?;
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "scenario".into(),
            serde_json::Value::String(sc.name.clone()),
        );
        o.insert("acceptance".into(), serde_json::to_value(&sc.acceptance)?);
        o.insert("interrupted".into(), serde_json::Value::Bool(interrupted));
        o.insert("criteria".into(), serde_json::to_value(&verdicts)?);
        o.insert(
            "result".into(),
            serde_json::Value::String(if pass { "PASS" } else { "FAIL" }.into()),
        );
    }
    if let Some(out) = &args.json {
        let text = serde_json::to_string_pretty(&v)? + "\n";
        if out.as_os_str() == "-" {
            std::io::stdout().write_all(text.as_bytes())?;
        } else {
            std::fs::write(out, text).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
            eprintln!("summary written to {}", out.display());
        }
    }
    for p in &summary.phases {
        eprintln!("phase {} ({}): {}", p.name, p.kind, p.status);
        for s in &p.stages {
            eprintln!(
                "  {:<12} target {:>6.1} rps achieved {:>6.1} · count {} · errors {} · dropped {} · p50 {:.1} ms · p95 {:.1} ms · p99 {:.1} ms",
                s.name, s.target_rate, s.achieved_rate, s.all.count, s.all.errors, s.dropped,
                s.all.latency_ms.p50, s.all.latency_ms.p95, s.all.latency_ms.p99
            );
        }
        if let Some(bp) = &p.breaking_point {
            eprintln!("  breaking point: {}", bp.reason);
        }
        if let Some(sk) = &p.soak {
            eprintln!("  soak verdict: {}", sk.verdict);
        }
    }
    for c in &verdicts {
        eprintln!("{}", c.line());
    }
    eprintln!("result: {}", if pass { "PASS" } else { "FAIL" });
    if let Some(dir) = &args.report {
        let mut report = Report::new(
            &sc.name,
            summary,
            verdicts,
            sc.acceptance.clone(),
            observations,
            last_snapshot.as_deref(),
            interrupted,
        );
        report.write_with_charts(dir, &timeline)?;
        eprintln!("report written to {}", dir.display());
    }
    Ok(if interrupted {
        ExitCode::from(130)
    } else if pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// An engine event as a (level, text) line for stderr and the recording:
/// phase and stage changes, guard actions, target deaths and restarts,
/// generator changes. `None` for load windows and session starts.
pub fn event_line(ev: &EngineEvent) -> Option<(&'static str, String)> {
    Some(match ev {
        EngineEvent::Phase(PhaseEvent::Started { phase, .. }) => {
            ("info", format!("phase {phase} started"))
        }
        EngineEvent::Phase(PhaseEvent::StageChanged {
            phase,
            name,
            target_rate,
            ..
        }) => (
            "info",
            format!("phase {phase}: stage {name} ({target_rate:.1} rps)"),
        ),
        EngineEvent::Phase(PhaseEvent::Stopped { phase, reason, .. }) => {
            ("info", format!("phase {phase} stopped: {reason}"))
        }
        EngineEvent::Guard(g) => (
            "alert",
            format!("guard {}: {} ({})", g.guard, g.message, g.action),
        ),
        EngineEvent::Target(TargetEvent::Died {
            target,
            session,
            reason,
        }) => (
            "warn",
            format!("target {target} session {session} died: {reason}; restarting with backoff"),
        ),
        EngineEvent::Target(TargetEvent::Restarted {
            target, session, ..
        }) => (
            "warn",
            format!("target {target} session {session} restarted"),
        ),
        EngineEvent::Generator(g) => ("info", format!("{} {}: {}", g.generator, g.state, g.detail)),
        EngineEvent::Target(TargetEvent::Started { .. }) | EngineEvent::LoadWindow(_) => {
            return None
        }
    })
}

/// The event to record when throttling starts or ends at this snapshot.
fn throttle_change(was: bool, s: &Snapshot) -> Option<Record> {
    let text = match (was, s.throttle.throttled) {
        (false, true) => format!("throttling: {}", s.throttle.reasons.join(", ")),
        (true, false) => "throttling ended".to_string(),
        _ => return None,
    };
    Some(Record::Event {
        level: if s.throttle.throttled {
            "alert"
        } else {
            "info"
        }
        .into(),
        text,
    })
}

/// Wait until the requests still in flight have finished (at most `timeout` + 1 s).
async fn drain(engine: &crate::load::EngineHandle, timeout: Duration) {
    let until = Instant::now() + timeout + Duration::from_secs(1);
    while Instant::now() < until {
        match engine.summary().await {
            Some(s) if s.in_flight > 0 => tokio::time::sleep(Duration::from_millis(20)).await,
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_target_spawns_mcp_serve_with_the_root() {
        let t = builtin_target(None, 3, std::path::Path::new("/tmp/fixture")).unwrap();
        assert_eq!(t.name.as_deref(), Some(BUILTIN_TARGET));
        assert_eq!(t.sessions, 3);
        match t.endpoint {
            Endpoint::Stdio { program, args, .. } => {
                assert_eq!(program, std::env::current_exe().unwrap());
                assert_eq!(args, ["mcp-serve", "--root", "/tmp/fixture"]);
            }
            other => panic!("{other:?}"),
        }
        let t = builtin_target(Some("board".into()), 1, std::path::Path::new("/")).unwrap();
        assert_eq!(t.name.as_deref(), Some("board"));
        assert!(matches!(t.endpoint, Endpoint::Stdio { ref args, .. } if args == &["mcp-serve"]));
    }

    fn args(v: &[&str]) -> RunArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct W {
            #[command(flatten)]
            r: RunArgs,
        }
        W::parse_from(std::iter::once("run").chain(v.iter().copied())).r
    }

    #[test]
    fn flags_shape_the_plan() {
        let p = plan(&args(&[
            "--phase",
            "spike",
            "--rate",
            "40",
            "--duration",
            "9s",
        ]))
        .unwrap();
        assert_eq!(
            p.targets,
            vec![TargetPlan::Builtin {
                name: None,
                sessions: 10
            }]
        );
        assert_eq!(p.phases[0].stages[1].rate, 40.0);
        assert_eq!(p.phases[0].total_duration(), Duration::from_secs(9));
        let p = plan(&args(&["--phase", "stress", "--rate", "10"])).unwrap();
        assert_eq!(p.phases[0].stages.last().unwrap().rate, 10.0);
        let p = plan(&args(&[
            "--phase",
            "soak",
            "--target-url",
            "http://127.0.0.1:1/mcp",
            "--sessions",
            "3",
        ]))
        .unwrap();
        assert!(matches!(&p.targets[0], TargetPlan::Spec(s) if s.sessions == 3));
        assert!(plan(&args(&[])).is_err());
        assert!(plan(&args(&["--phase", "soak", "--target-url", "ftp://x"])).is_err());
    }
}
