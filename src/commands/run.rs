//! `jetstress run`: a headless load run. Plans the load from a scenario file
//! and/or flags, runs its phases in order on a [`Session`] (collector, engine,
//! guards, `/metrics`), prints each event to stderr with a progress bar on a
//! terminal ([`super::progress`]) or a plain progress line every 10 s, and writes the `jetstress.run/1` summary and report, judged
//! against the acceptance criteria. Exit 0 on PASS, 1 on FAIL or when the
//! load could not start (a target never came up), 2 on errors of use, 130
//! when interrupted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use jetstress::campaign::{DeathRecord, WatchedLeak};
use jetstress::load::Scenario;
use jetstress::load::{plan, BuiltinPhase, LlmSummary, PlanOptions};
use jetstress::load::{AfterPlan, PhaseSpec, Think, UsersSpec};
use jetstress::load::{Command, EngineEvent, PhaseEvent, RunSummary, StopReason, TargetEvent};
use jetstress::predict::PredictConfig;
use jetstress::recording::RecorderConfig;
use jetstress::report::{self as criteria, Criteria};
use jetstress::report::{Report, RunOutput};
use jetstress::session::{
    serve_metrics, BothEtas, Forecasts, Session, SessionConfig, SessionMsg, Sinks,
};
use jetstress::snapshot::Snapshot;

use super::progress::{Progress, Status};
use crate::cli::{GlobalArgs, PhaseArg, RunArgs};
use jetstress::session::{StopSignal, StopSignals};

/// How often the plain progress line is printed (stderr not a terminal).
pub const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// The command line's load options as the library's plan options.
pub fn plan_options(args: &RunArgs) -> PlanOptions {
    let opts = PlanOptions {
        scenario: args.scenario.clone(),
        phase: args.phase.map(|p| match p {
            PhaseArg::Spike => BuiltinPhase::Spike,
            PhaseArg::Stress => BuiltinPhase::Stress,
            PhaseArg::Soak => BuiltinPhase::Soak,
            PhaseArg::Users => BuiltinPhase::Users,
            PhaseArg::Sweep => BuiltinPhase::Sweep,
        }),
        duration: args.duration,
        rate: args.rate,
        target_cmd: args.target_cmd.clone(),
        target_url: args.target_url.clone(),
        sessions: args.sessions,
        max_in_flight: args.max_in_flight,
        max_lag: args.max_lag,
        timeout: args.timeout,
        log_dir: args.log_dir.clone(),
        ..PlanOptions::default()
    };
    super::with_llm(&args.llm, super::with_model(&args.model, opts))
}

pub fn run(global: &GlobalArgs, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let sc = plan(&plan_options(args))?;
    let metrics = super::metrics_checked(&args.metrics)?;
    let watches = super::watches(&args.watch, &global.root)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut signals = StopSignals::listen();
        let opts = ExecOptions {
            root: global.root.clone(),
            interval: global.interval,
            watches,
            record: super::recorder_config(&args.record),
            source: "run",
            metrics,
            report: args.report.clone(),
            json: args.json.clone(),
            title: None,
            hold: None,
            each_op_once: false,
        };
        Ok(match execute(sc, opts, &mut signals).await? {
            Executed::NotStarted(_) => ExitCode::from(1),
            Executed::BadMetrics(_) => ExitCode::from(2),
            Executed::Ran(r) => {
                if r.interrupted.is_some() {
                    ExitCode::from(130)
                } else if r.pass {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
        })
    })
}

/// What one headless run needs besides its plan.
pub struct ExecOptions {
    pub root: PathBuf,
    pub interval: Duration,
    /// Processes and cgroups watched beside the targets.
    pub watches: Vec<jetstress::probes::Watch>,
    pub record: Option<RecorderConfig>,
    /// `source` in the recording's header: `run`, `campaign`.
    pub source: &'static str,
    pub metrics: Option<(std::net::SocketAddr, Option<String>)>,
    /// Write the report (`report.json`, `report.md`, charts) here.
    pub report: Option<PathBuf>,
    /// Write the `jetstress.run/1` summary here (`-`: stdout).
    pub json: Option<PathBuf>,
    /// Before the phase's name on the progress bar (`scenario 2/5`).
    pub title: Option<String>,
    /// Keep observing the board after the phases until this long after the
    /// start (a campaign's baseline sits idle for its duration).
    pub hold: Option<Duration>,
    /// Replace the phases by one call of every op in turn, one user, no
    /// think (a campaign's baseline: each tool timed once on the idle board).
    pub each_op_once: bool,
}

/// How a headless run ended.
pub enum Executed {
    /// The load could not start (a target never came up); said on stderr.
    NotStarted(String),
    /// `--metrics` could not listen; said on stderr.
    BadMetrics(String),
    Ran(Box<Ran>),
}

/// A zone over the run: its first, last, mean and highest temperature.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneSpan {
    pub zone: String,
    pub first_c: f64,
    pub last_c: f64,
    pub max_c: f64,
    sum: f64,
    n: u32,
}

impl ZoneSpan {
    pub fn mean_c(&self) -> f64 {
        self.sum / f64::from(self.n.max(1))
    }
}

/// The online zones of a snapshot folded into `spans` (one per zone: the
/// memory is the board's zone count, whatever the run's length).
pub fn fold_zones(spans: &mut Vec<ZoneSpan>, s: &Snapshot) {
    for z in s.thermal.iter().filter(|z| z.online) {
        let Some(t) = z.temp_c.filter(|t| t.is_finite()) else {
            continue;
        };
        match spans.iter_mut().find(|x| x.zone == z.name) {
            Some(x) => {
                x.last_c = t;
                x.max_c = x.max_c.max(t);
                x.sum += t;
                x.n += 1;
            }
            None => spans.push(ZoneSpan {
                zone: z.name.clone(),
                first_c: t,
                last_c: t,
                max_c: t,
                sum: t,
                n: 1,
            }),
        }
    }
}

/// The most deaths kept per run (the count goes on in the target summary).
pub const MAX_DEATHS: usize = 20;

/// A finished headless run.
pub struct Ran {
    pub summary: RunSummary,
    pub verdicts: Vec<criteria::Verdict>,
    pub pass: bool,
    /// The signal that stopped it early.
    pub interrupted: Option<StopSignal>,
    /// The report, when one was asked for (already written).
    pub report: Option<Report>,
    pub zones: Vec<ZoneSpan>,
    pub deaths: Vec<DeathRecord>,
    /// Watched processes whose RSS or GPU memory kept growing (flagged by
    /// the leak detector at the end).
    pub leaks: Vec<WatchedLeak>,
    /// The board at the last snapshot.
    pub last: Option<Arc<Snapshot>>,
    pub wall: Duration,
}

/// The last `max` bytes of a file, from a line start.
pub fn file_tail(path: &Path, max: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map_or(0, |m| m.len());
    let from = len.saturating_sub(max);
    if f.seek(SeekFrom::Start(from)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = f.take(max).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    match (from > 0, text.find('\n')) {
        (true, Some(i)) => text[i + 1..].to_string(),
        _ => text,
    }
}

/// The plain progress line; with the hottest zone's ETAs (at this load,
/// under the plan's load ahead) once either has one.
fn progress_line(s: &RunSummary, etas: Option<&BothEtas>) -> Option<String> {
    let p = s.phases.last()?;
    let st = p.stages.last()?;
    let offered = match st.users {
        Some(u) => format!("{u} users (closed)"),
        None => format!("target {:.1} rps", st.target_rate),
    };
    let eta = etas
        .filter(|e| e.has_eta())
        .map(|e| format!(" · {}", e.line()))
        .unwrap_or_default();
    Some(format!(
        "[{:>6.0}s] {}/{} {offered} · achieved {:.1} · ok {} · err {} · dropped {} · p50 {:.1} ms · p95 {:.1} ms · in flight {}{eta}",
        s.elapsed_s,
        p.name,
        st.name,
        st.achieved_rate,
        st.all.count.saturating_sub(st.all.errors.saturating_sub(st.dropped)),
        st.all.errors.saturating_sub(st.dropped),
        st.dropped,
        st.all.latency_ms.p50,
        st.all.latency_ms.p95,
        s.in_flight
    ))
}

/// The bar's view of the running phase (`index` of `count`, planned `total`),
/// with the ETAs' shortest form once either has one.
fn bar_status(
    s: &RunSummary,
    index: usize,
    count: usize,
    total: Duration,
    etas: Option<&BothEtas>,
) -> Option<Status> {
    let p = s.phases.last()?;
    let st = p.stages.last()?;
    let offered = match st.users {
        Some(u) => format!("{u} users"),
        None => format!("{:.1} rps", st.target_rate),
    };
    Some(Status {
        title: format!("{} {index}/{count}", p.name),
        detail: format!(
            "{} · {offered} (achieved {:.1}) · err {} · dropped {} · p95 {:.1} ms{}",
            st.name,
            st.achieved_rate,
            st.all.errors.saturating_sub(st.dropped),
            st.dropped,
            st.all.latency_ms.p95,
            etas.filter(|e| e.has_eta())
                .and_then(|e| e.forms().pop())
                .map(|f| format!(" · {f}"))
                .unwrap_or_default()
        ),
        done: Duration::from_secs_f64(p.duration_s.max(0.0)),
        total: Some(total),
    })
}

/// Feeds the session's snapshots through the one predictor bundle and the
/// sinks; the lines they make go to stderr. The report's clock counts from
/// the first snapshot's own time, as a rebuild from the recording does.
/// `ahead` follows the plan's phases and burn for the ETA under the planned
/// load; `etas` are the first zone's two ETAs after the latest snapshot.
struct Feeder {
    forecasts: Forecasts,
    t0_ms: Option<u64>,
    zones: Vec<ZoneSpan>,
    last: Option<Arc<Snapshot>>,
    /// Target deaths (the first [`MAX_DEATHS`]), with the board at that moment.
    deaths: Vec<DeathRecord>,
    /// The run's start, for a death's time.
    began: std::time::Instant,
}

impl Feeder {
    /// An engine event through the plan tracker and the sinks (its line goes
    /// out); a target's death is kept with its context.
    fn on_event(&mut self, sinks: &mut Sinks, ev: &EngineEvent, out: &Progress) {
        self.forecasts.on_event(ev);
        if let Some((_, text)) = sinks.on_engine_event(ev) {
            out.line(&text);
        }
        if let EngineEvent::Target(TargetEvent::Died {
            target,
            session,
            reason,
            stderr_log,
            ..
        }) = ev
        {
            if self.deaths.len() < MAX_DEATHS {
                let d = self.death(target, *session, reason, stderr_log.as_deref());
                self.deaths.push(d);
            }
        }
    }

    fn feed(&mut self, sinks: &mut Sinks, s: &Arc<Snapshot>, out: &Progress) {
        let t0 = *self.t0_ms.get_or_insert(s.time_unix_ms);
        let t = (s.time_unix_ms as f64 - t0 as f64) / 1000.0;
        self.forecasts.observe(s);
        fold_zones(&mut self.zones, s);
        self.last = Some(s.clone());
        for (_, text) in sinks.on_snapshot(t, s, &self.forecasts) {
            out.line(&text);
        }
    }

    /// A session death with the board as the last snapshot saw it.
    fn death(&self, target: &str, session: usize, reason: &str, log: Option<&Path>) -> DeathRecord {
        let s = self.last.as_deref();
        DeathRecord {
            at_s: self.began.elapsed().as_secs_f64(),
            target: target.into(),
            session,
            reason: reason.into(),
            stderr_tail: log.map(|l| file_tail(l, 2048)).unwrap_or_default(),
            hottest_c: s.and_then(|s| {
                s.thermal
                    .iter()
                    .filter(|z| z.online)
                    .filter_map(|z| z.temp_c)
                    .reduce(f64::max)
            }),
            mem_available_mb: s.and_then(|s| s.memory.available_mb),
            throttled: s.is_some_and(|s| s.throttle.throttled),
        }
    }
}

/// Runs a plan's phases on a [`Session`], headless: the lines, the bar,
/// the recording, the verdicts, the summary and the report. Shared by `run`
/// and each step of `campaign`.
#[expect(
    clippy::too_many_lines,
    reason = "the run's steps in order: start, record, phases, verdicts, outputs"
)]
pub async fn execute(
    sc: Scenario,
    opts: ExecOptions,
    signals: &mut StopSignals,
) -> anyhow::Result<Executed> {
    let began = std::time::Instant::now();
    let mut session = Session::start(SessionConfig {
        root: opts.root.clone(),
        interval: opts.interval,
        watches: opts.watches.clone(),
        plan: sc.clone(),
    });
    let ops = match session.start_engine_now().await {
        Ok(ops) => ops,
        Err(e) => {
            eprintln!("error: {e:#}");
            session.shutdown().await;
            return Ok(Executed::NotStarted(format!("{e:#}")));
        }
    };
    let mut sc = sc;
    if opts.each_op_once {
        let users = UsersSpec {
            think: Think::Constant(Duration::ZERO),
            in_turn: true,
            ..UsersSpec::default()
        };
        let cap = opts.hold.unwrap_or(sc.timeout);
        let mut phase = PhaseSpec::users(&[(1, Some(cap), Some(ops.len() as u64))], users);
        phase.name = "each tool once".into();
        sc.phases = vec![phase];
    }
    let log_dir = jetstress::load::log_dir(&sc);
    eprintln!(
        "jetstress {}: {} · {} op(s): {} · target logs in {}",
        opts.source,
        sc.name,
        ops.len(),
        ops.join(", "),
        log_dir.display()
    );
    let metrics = match opts.metrics {
        Some((addr, token)) => match serve_metrics(addr, token).await {
            Ok((m, bound)) => {
                eprintln!("metrics on http://{bound}/metrics");
                Some(m)
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                session.shutdown().await;
                return Ok(Executed::BadMetrics(format!("{e:#}")));
            }
        },
        None => None,
    };
    let mut sinks = Sinks::new(metrics);
    // The memory ETA aims at the floor the guard enforces.
    let mut feeder = Feeder {
        // The burn stops with the run's phases.
        forecasts: Forecasts::new(
            PredictConfig {
                memory_floor_pct: Some(sc.guards.memory_floor_pct),
                ..PredictConfig::default()
            },
            AfterPlan::Idle,
        ),
        t0_ms: None,
        zones: Vec::new(),
        last: None,
        deaths: Vec::new(),
        began,
    };
    // The snapshot taken while the targets started counts too (and none is seen twice).
    let first = session.skip_to_latest();
    if let Some(cfg) = &opts.record {
        let board = first.as_ref().and_then(|s| s.board.model.clone());
        let config = serde_json::json!({ "source": opts.source, "scenario": sc.name });
        match sinks.start_recording(cfg.clone(), board, config) {
            Ok(path) => eprintln!("recording to {}", path.display()),
            Err(e) => {
                session.shutdown().await;
                anyhow::bail!("--record {}: {e}", cfg.path.display());
            }
        }
    }
    // Chart times count from the engine's start, as its load windows and phases do.
    sinks.observe_for_report(session.summary().await.map(|s| s.started_unix_ms));
    // On a terminal a bar (the lines scroll above it); else plain lines.
    let out = Progress::for_stderr(PROGRESS_EVERY);
    if let Some(s) = &first {
        feeder.feed(&mut sinks, s, &out);
    }
    // From here on load is asked for: the first snapshot was the idle baseline.
    feeder
        .forecasts
        .plan_mut()
        .plan_phases(sc.phases.iter().cloned());
    if let Some(c) = sc.cpu {
        feeder.forecasts.plan_mut().plan_burn(c);
        session.send(Command::StartCpu(c)).await?;
    }
    if let Some(m) = sc.memory {
        session.send(Command::StartMemory(m)).await?;
    }
    if let Some(g) = sc.gpu {
        session.send(Command::StartGpu(g)).await?;
    }
    let mut interrupted = None;
    let mut guard_stop = false;
    let count = sc.phases.len();
    let prefix = opts
        .title
        .as_deref()
        .map(|t| format!("{t} · "))
        .unwrap_or_default();
    'phases: for (i, phase) in sc.phases.iter().enumerate() {
        session.send(Command::StartPhase(phase.clone())).await?;
        let every = out.every();
        let mut progress = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                msg = session.next() => match msg {
                    SessionMsg::Snapshot(s) => feeder.feed(&mut sinks, &s, &out),
                    SessionMsg::Event(ev) => {
                        feeder.on_event(&mut sinks, &ev, &out);
                        if let EngineEvent::Phase(PhaseEvent::Stopped { reason, then, .. }) = &ev {
                            guard_stop |= reason.is_guard();
                            // A sweep goes straight on with its rates: wait for those too.
                            if then.is_none() {
                                break;
                            }
                        }
                    }
                    SessionMsg::EngineEnded | SessionMsg::Closed => break 'phases,
                    SessionMsg::EngineReady(_) | SessionMsg::EngineFailed(_) => {}
                },
                _ = progress.tick() => {
                    if let Some(s) = session.summary().await {
                        let etas = feeder.forecasts.etas();
                        if let Some(mut st) = bar_status(&s, i + 1, count, phase.planned_duration(), etas) {
                            st.title = format!("{prefix}{}", st.title);
                            out.update(&st, || progress_line(&s, etas).map(|l| format!("{prefix}{l}")));
                        }
                    }
                }
                sig = signals.recv(), if interrupted.is_none() => {
                    out.line(&format!("{}: stopping the load", sig.name()));
                    interrupted = Some(sig);
                    session.send(Command::StopAll { reason: StopReason::Interrupted }).await?;
                }
            }
        }
        session.drain(sc.timeout).await;
        if interrupted.is_some() || guard_stop {
            break;
        }
    }
    // A baseline watches the idle board for the rest of its time.
    if let (Some(hold), None) = (opts.hold, interrupted) {
        session
            .send(Command::StopAll {
                reason: StopReason::RunFinished,
            })
            .await?;
        let left = hold.saturating_sub(began.elapsed());
        let until = tokio::time::Instant::now() + left;
        loop {
            tokio::select! {
                msg = session.next() => match msg {
                    SessionMsg::Snapshot(s) => feeder.feed(&mut sinks, &s, &out),
                    SessionMsg::Event(ev) => feeder.on_event(&mut sinks, &ev, &out),
                    SessionMsg::Closed => break,
                    _ => {}
                },
                () = tokio::time::sleep_until(until) => break,
                sig = signals.recv() => {
                    out.line(&format!("{}: stopping", sig.name()));
                    interrupted = Some(sig);
                    break;
                }
            }
        }
    }
    out.finish();
    let summary = session.stop_load(StopReason::RunFinished).await;
    // Last line: the summary, so `jetstress report` can rebuild this report.
    let record = summary
        .clone()
        .map(|run| session.record(run, interrupted.is_some()));
    session.shutdown().await;
    match sinks.finish_recording(record) {
        Some((_, Ok(_))) => eprintln!("recording finished"),
        Some((_, Err(e))) => eprintln!("recording: {e}"),
        None => {}
    }
    let Some(summary) = summary else {
        anyhow::bail!("the engine ended unexpectedly")
    };
    let observed = sinks.take_report().unwrap_or_default();
    let criteria = Criteria::from_acceptance(sc.acceptance.as_ref());
    let verdicts = criteria::evaluate(&summary, observed.observations(), &criteria);
    let pass = criteria::overall(&verdicts);
    if let Some(out) = &opts.json {
        let output = RunOutput {
            summary: &summary,
            scenario: &sc.name,
            acceptance: &sc.acceptance,
            interrupted: interrupted.is_some(),
            criteria: &verdicts,
            result: if pass { "PASS" } else { "FAIL" },
        };
        write_json(out, &output)?;
    }
    print_summary(&summary);
    for c in &verdicts {
        eprintln!("{}", c.line());
    }
    eprintln!("result: {}", if pass { "PASS" } else { "FAIL" });
    let report = match &opts.report {
        Some(dir) => {
            let mut report = Report::new(
                &sc.name,
                summary.clone(),
                verdicts.clone(),
                sc.acceptance.clone(),
                observed.observations().clone(),
                observed.last.as_deref(),
                interrupted.is_some(),
            );
            report.write_with_charts(dir, &observed.timeline)?;
            eprintln!("report written to {}", dir.display());
            Some(report)
        }
        None => None,
    };
    Ok(Executed::Ran(Box::new(Ran {
        summary,
        verdicts,
        pass,
        interrupted,
        report,
        zones: feeder.zones,
        deaths: feeder.deaths,
        leaks: feeder
            .forecasts
            .predictors()
            .leaks()
            .into_iter()
            .filter(|l| l.flagged)
            .map(|l| WatchedLeak {
                name: l.name,
                pid: l.pid,
                memory: l.memory.to_string(),
                slope_mb_per_h: l.slope_mb_per_h,
                mb: l.mb,
                span_s: l.span_s,
            })
            .collect(),
        last: feeder.last,
        wall: began.elapsed(),
    })))
}

fn write_json(out: &Path, v: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(v)? + "\n";
    if out.as_os_str() == "-" {
        std::io::stdout().write_all(text.as_bytes())?;
    } else {
        std::fs::write(out, text).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
        eprintln!("summary written to {}", out.display());
    }
    Ok(())
}

/// One LLM tool's stage figures in a line.
fn llm_line(tool: &str, l: &LlmSummary) -> String {
    let opt =
        |v: Option<f64>, unit: &str| v.map_or_else(|| "-".into(), |v| format!("{v:.1}{unit}"));
    format!(
        "{tool}: TTFT p50 {:.1} ms p95 {:.1} ms · ITL p50 {:.1} ms p95 {:.1} ms · TPOT p50 {:.1} ms · {:.1} tok/s · {} tokens ({}){} · goodput {} · {} tok/J",
        l.ttft_ms.p50,
        l.ttft_ms.p95,
        l.itl_ms.p50,
        l.itl_ms.p95,
        l.tpot_ms.p50,
        l.output_tokens_per_s,
        l.output_tokens,
        l.token_source.as_deref().unwrap_or("-"),
        if l.streamed { "" } else { " · not streamed: TTFT = E2E" },
        opt(l.goodput_pct, " %"),
        opt(l.tokens_per_joule, ""),
    )
}

fn print_summary(summary: &RunSummary) {
    for p in &summary.phases {
        eprintln!("phase {} ({}): {}", p.name, p.kind, p.status);
        if let Some(u) = &p.users {
            eprintln!(
                "  closed model: latency from the actual send · think {} · up to {} users{}",
                u.think,
                u.peak_users,
                if u.shared_sessions {
                    format!(" (sharing {} sessions per target)", u.max_sessions)
                } else {
                    String::new()
                }
            );
        }
        for s in &p.stages {
            let offered = match s.users {
                Some(u) => format!("{u:>6} users"),
                None => format!("target {:>6.1} rps", s.target_rate),
            };
            eprintln!(
                "  {:<12} {offered} achieved {:>6.1} · count {} · errors {} · dropped {} · p50 {:.1} ms · p95 {:.1} ms · p99 {:.1} ms",
                s.name, s.achieved_rate, s.all.count, s.all.errors, s.dropped,
                s.all.latency_ms.p50, s.all.latency_ms.p95, s.all.latency_ms.p99
            );
            if let (Some(l), Some(it)) = (&s.little, &s.iteration_ms) {
                eprintln!(
                    "  {:<12} iteration p50 {:.0} ms p95 {:.0} ms · think {:.0} ms · Little's law {:.1} of {:.1} users{}",
                    "",
                    it.p50,
                    it.p95,
                    s.think_ms.map_or(0.0, |t| t.mean),
                    l.expected_users,
                    l.users,
                    if l.holds { "" } else { " ⚠ generator lagging" }
                );
            }
            for t in &s.tools {
                if let Some(l) = &t.llm {
                    eprintln!("  {:<12} {}", "", llm_line(&t.tool, l));
                }
            }
        }
        if let Some(sc) = &p.scalability {
            if let (Some(m), Some(r2)) = (sc.rss_mb_per_user, sc.rss_r2) {
                eprintln!("  scalability: {m:.2} MB per user (R² {r2:.2})");
            }
        }
        if let Some(bp) = &p.breaking_point {
            eprintln!("  breaking point: {}", bp.reason);
        }
        if let Some(sk) = &p.soak {
            eprintln!("  soak verdict: {}", sk.verdict);
        }
        if let Some(k) = &p.sweep {
            eprintln!(
                "  sweep: one at a time {:.2} req/s, full concurrency {:.2} req/s · best good {}{}",
                k.synchronous_rps,
                k.throughput_rps,
                k.best_users
                    .map(|u| format!("{u} users at "))
                    .unwrap_or_default(),
                k.best_rate_rps
                    .map_or_else(|| "none".into(), |b| format!("{b:.2} req/s"))
            );
        }
        if let Some(inv) = &p.invalid {
            let c = &inv.counts;
            eprintln!(
                "  invalid inputs: {} sent · {} graceful · {} accepted · {} hang · {} crash · error replies p95 {:.1} ms",
                c.sent, c.graceful, c.accepted, c.hang, c.crash, inv.error_reply_ms.p95
            );
        }
    }
}
