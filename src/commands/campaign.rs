//! `jetstress campaign FILE`: the baseline, each scenario and the recovery
//! between them, in order, each on its own session (as `jetstress run` runs
//! one scenario, [`super::run::execute`]), the state written after every
//! step so `--resume DIR` goes on where a crash, `kill -9` or a signal left
//! it, then the analysis: `campaign.json` and `campaign.md`. Exit 0 when the
//! board is READY, 1 when NOT READY or a step could not run, 2 on errors of
//! use, 130 when a signal stopped it (resumable).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jetstress::campaign::{
    self, analyse, BaselineOutcome, Campaign, CampaignState, RecoveryEnd, RecoveryOutcome,
    ScenarioOutcome, ScenarioResult, Step, StepKind, StepOutcome, StepStatus, ToolTiming,
    ZoneCooling, ZoneTemp,
};
use jetstress::load::{plan, plan_targets, BoardRequirement, PlanOptions, Scenario};
use jetstress::probes::{NvpConf, Root};
use jetstress::recording::RecorderConfig;
use jetstress::report::Report;
use jetstress::session::{
    check, restore_path, BoardState, Host, Mismatch, Session, SessionConfig, SessionMsg,
};

use super::capture::StderrCapture;
use super::run::{execute, fold_zones, ExecOptions, Executed, Ran, ZoneSpan};
use crate::cli::{CampaignArgs, GlobalArgs};
use jetstress::config::clock;
use jetstress::session::{StopSignal, StopSignals};
use jetstress::ui::{CampaignFeed, CampaignStatus};
use std::io::IsTerminal;
use tokio::sync::watch;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub fn run(global: &GlobalArgs, args: &CampaignArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        if args.headless || !std::io::stdout().is_terminal() {
            return run_async(global, args, None).await.map(|(code, _)| code);
        }
        Box::pin(with_dashboard(global, args)).await
    })
}

/// The campaign beside the dashboard: its lines go to the event log (stderr
/// is captured while the dashboard owns the screen), its steps to the bar.
/// Closing the dashboard stops the campaign (resumable); when the campaign
/// ends the dashboard stays until `q`, and the verdict is printed again
/// after the screen is restored.
async fn with_dashboard(global: &GlobalArgs, args: &CampaignArgs) -> anyhow::Result<ExitCode> {
    let watches = super::watches(&args.watch, &global.root)?;
    let opts = jetstress::ui::DashboardOptions {
        root: global.root.clone(),
        interval: global.interval,
        interval_explicit: global.interval_explicit,
        config: None,
        theme: None,
        dot_marker: false,
        watches,
        record: jetstress::ui::RecordPlan::default(),
        metrics: None,
        color: super::color_choice(global.color),
    };
    let (status_tx, status_rx) = watch::channel(None);
    let (quit_tx, quit_rx) = watch::channel(false);
    let (capture, lines) = StderrCapture::start()?;
    let feed = CampaignFeed {
        status: status_rx,
        lines,
        quit: quit_tx,
    };
    let plan = plan_targets(&PlanOptions::default())?;
    let link = UiLink {
        status: status_tx,
        quit: quit_rx,
    };
    let (shown, ran) = tokio::join!(
        jetstress::ui::follow(&opts, plan, feed),
        run_async(global, args, Some(link))
    );
    drop(capture);
    if let Err(e) = shown {
        eprintln!("dashboard: {e:#}");
    }
    let (code, last) = ran?;
    for l in last {
        eprintln!("{l}");
    }
    Ok(code)
}

/// The campaign's side of the dashboard: the bar it updates, the quit key it obeys.
struct UiLink {
    status: watch::Sender<Option<CampaignStatus>>,
    quit: watch::Receiver<bool>,
}

/// How a step ended.
enum StepEnd {
    Done(Box<StepOutcome>),
    /// A signal stopped it: the campaign stops, resumable.
    Interrupted(StopSignal),
    /// It must not run as things are (the board is not in the state it
    /// needs): the campaign stops before loading, saying how to fix it.
    Refused(String),
}

fn done(o: StepOutcome) -> StepEnd {
    StepEnd::Done(Box::new(o))
}

/// Everything the steps share.
struct Ctx<'a> {
    global: &'a GlobalArgs,
    args: &'a CampaignArgs,
    dir: PathBuf,
    campaign: Campaign,
    /// Each scenario's plan, checked before the first step.
    scenarios: Vec<Scenario>,
    baseline: Scenario,
    scale: f64,
    watches: Vec<jetstress::probes::Watch>,
}

impl Ctx<'_> {
    fn scaled(&self, d: Duration) -> Duration {
        Duration::from_secs_f64(d.as_secs_f64() * self.scale)
    }

    fn step_dir(&self, step: &Step) -> PathBuf {
        self.dir.join(&step.dir)
    }

    /// A step's scenario name as its report and recording show it: a scaled
    /// campaign says so in every output (`memory (time-scaled ×0.001)`).
    fn label(&self, name: &str) -> String {
        if (self.scale - 1.0).abs() > f64::EPSILON {
            format!("{name} (time-scaled ×{})", self.scale)
        } else {
            name.to_string()
        }
    }

    /// The planned length of a step (scaled).
    fn planned(&self, step: &Step, index_in_kind: usize) -> Duration {
        match step.kind {
            StepKind::Baseline => self.scaled(self.campaign.baseline.duration),
            StepKind::Recovery => self.scaled(self.campaign.recovery.duration),
            StepKind::Scenario => self.scenarios[index_in_kind]
                .phases
                .iter()
                .map(|p| p.clone().time_scaled(self.scale).planned_duration())
                .sum(),
        }
    }
}

/// The index of a scenario step among the scenarios.
fn scenario_index(st: &CampaignState, i: usize) -> usize {
    st.steps[..i]
        .iter()
        .filter(|s| s.kind == StepKind::Scenario)
        .count()
}

/// Moves an interrupted attempt's files aside (`3-memory.attempt-1`), so the
/// new attempt starts clean and nothing recorded is lost.
fn keep_attempt(dir: &Path, step: &Step) -> Option<String> {
    let from = dir.join(&step.dir);
    if !from.exists() {
        return None;
    }
    let name = format!("{}.attempt-{}", step.dir, step.attempts.max(1));
    std::fs::rename(&from, dir.join(&name)).ok()?;
    Some(name)
}

fn plan_scenario(file: &Path) -> anyhow::Result<Scenario> {
    plan(&PlanOptions {
        scenario: Some(file.to_path_buf()),
        ..PlanOptions::default()
    })
}

#[expect(
    clippy::too_many_lines,
    reason = "start or resume, check every plan, then the steps in order and the analysis"
)]
async fn run_async(
    global: &GlobalArgs,
    args: &CampaignArgs,
    ui: Option<UiLink>,
) -> anyhow::Result<(ExitCode, Vec<String>)> {
    let (dir, campaign, mut state) = if let Some(dir) = &args.resume {
        let Some(mut st) = CampaignState::read(dir)? else {
            anyhow::bail!(
                "{}: no {} here; start a campaign with --out {}",
                dir.display(),
                campaign::STATE_FILE,
                dir.display()
            );
        };
        let file = args.file.clone().unwrap_or_else(|| st.file.clone());
        let c = campaign::load(&file)?;
        st.matches(&c, dir)?;
        if let Some(f) = args.time_scale {
            if (f - st.time_scale).abs() > f64::EPSILON {
                anyhow::bail!(
                    "--time-scale {f}: the campaign in {} runs at ×{}; leave --time-scale out to resume it",
                    dir.display(),
                    st.time_scale
                );
            }
        }
        let before = st.interruptions.len();
        st.resume(now_ms(), |s| keep_attempt(dir, s));
        for i in &st.interruptions[before..] {
            eprintln!(
                "campaign: resuming; {} was interrupted ({}){}",
                i.step,
                i.cause,
                i.kept_in
                    .as_ref()
                    .map(|k| format!("; its files are kept in {k}"))
                    .unwrap_or_default()
            );
        }
        st.write(dir)?;
        (dir.clone(), c, st)
    } else {
        let file = args
            .file
            .as_ref()
            .expect("clap requires FILE without --resume");
        let c = campaign::load(file)?;
        let dir = args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("campaign-{}-{}", c.name, now_ms() / 1000)));
        if CampaignState::read(&dir)?.is_some() {
            anyhow::bail!(
                "{} holds a campaign already: go on with --resume {}, or give another --out",
                dir.display(),
                dir.display()
            );
        }
        std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        let st = CampaignState::new(&c, args.time_scale.unwrap_or(1.0), now_ms());
        st.write(&dir)?;
        (dir, c, st)
    };
    // A board setting a crashed campaign changed goes back first.
    match (Host {
        root: global.root.clone(),
        ..Host::system()
    })
    .pending_restore(&dir)
    {
        Ok(Some(r)) => eprintln!(
            "campaign: restored the board state an interrupted campaign had changed: {} (ran {})",
            r.after,
            r.ran.join("; ")
        ),
        Ok(None) => {}
        Err(e) => eprintln!("campaign: a board restore is pending and failed: {e}"),
    }
    // Every plan is checked now: a typo in the last scenario fails in a
    // second, not after a day of load.
    let scenarios = campaign
        .scenarios
        .iter()
        .map(|e| plan_scenario(&e.file))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let baseline = plan_targets(&PlanOptions {
        scenario: Some(campaign.baseline.scenario.clone()),
        ..PlanOptions::default()
    })?;
    let ctx = Ctx {
        global,
        args,
        dir: dir.clone(),
        campaign,
        scenarios,
        baseline,
        scale: state.time_scale,
        watches: super::watches(&args.watch, &global.root)?,
    };
    let total: Duration = state
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| ctx.planned(s, scenario_index(&state, i)))
        .sum();
    eprintln!(
        "campaign {}: {} scenario(s), {} step(s), planned {}{} · in {}",
        ctx.campaign.name,
        ctx.scenarios.len(),
        state.steps.len(),
        clock(total),
        if state.scaled() {
            format!(" (time-scaled ×{})", state.time_scale)
        } else {
            String::new()
        },
        dir.display()
    );
    let mut signals = match &ui {
        Some(u) => StopSignals::listen().with_quit(u.quit.clone()),
        None => StopSignals::listen(),
    };
    let title = format!(
        "campaign {}{}",
        ctx.campaign.name,
        if state.scaled() {
            format!(" (×{})", state.time_scale)
        } else {
            String::new()
        }
    );
    let count = state.steps.len();
    let mut exit = None;
    while let Some(i) = state.next_pending() {
        let k = scenario_index(&state, i);
        let left: Duration = state.steps[i..]
            .iter()
            .enumerate()
            .filter(|(_, s)| s.status != StepStatus::Done)
            .map(|(j, s)| ctx.planned(s, scenario_index(&state, i + j)))
            .sum();
        {
            let step = &mut state.steps[i];
            step.status = StepStatus::Running;
            step.attempts += 1;
            step.started_unix_ms = Some(now_ms());
            step.finished_unix_ms = None;
        }
        state.write(&dir)?;
        let step = state.steps[i].clone();
        let next = state
            .steps
            .get(i + 1)
            .map_or("the analysis", |s| s.name.as_str());
        eprintln!(
            "campaign step {}/{count}: {} · planned {} · campaign time left {} · next: {next}",
            i + 1,
            step.name,
            clock(ctx.planned(&step, k)),
            clock(left)
        );
        if let Some(u) = &ui {
            let shown = match step.kind {
                StepKind::Scenario => {
                    format!("scenario {}/{} {}", k + 1, ctx.scenarios.len(), step.name)
                }
                _ => step.name.clone(),
            };
            let planned = ctx.planned(&step, k);
            let _ = u.status.send(Some(CampaignStatus {
                title: title.clone(),
                step: i + 1,
                steps: count,
                name: shown,
                started: std::time::Instant::now(),
                planned,
                after: left.saturating_sub(planned),
                next: next.to_string(),
                finished: None,
            }));
        }
        let end = match step.kind {
            StepKind::Baseline => run_baseline(&ctx, &step, &mut signals).await?,
            StepKind::Scenario => run_scenario(&ctx, &step, k, &mut signals).await?,
            StepKind::Recovery => {
                let base = state.steps.iter().find_map(|s| match &s.outcome {
                    Some(StepOutcome::Baseline(b)) => Some(b.zones.clone()),
                    _ => None,
                });
                run_recovery(&ctx, &base.unwrap_or_default(), &mut signals).await?
            }
        };
        let name = state.steps[i].name.clone();
        match end {
            StepEnd::Done(o) => {
                let step = &mut state.steps[i];
                step.status = StepStatus::Done;
                step.outcome = Some(*o);
                step.finished_unix_ms = Some(now_ms());
                state.write(&dir)?;
            }
            StepEnd::Interrupted(sig) => {
                state.steps[i].status = StepStatus::Interrupted;
                state.stopped_by = Some(sig.name().into());
                state.write(&dir)?;
                eprintln!(
                    "campaign: {} stopped {name}; go on with: jetstress campaign --resume {}",
                    sig.name(),
                    dir.display()
                );
                exit = Some(ExitCode::from(130));
                break;
            }
            StepEnd::Refused(why) => {
                let step = &mut state.steps[i];
                step.status = StepStatus::Pending;
                step.attempts -= 1;
                step.started_unix_ms = None;
                state.write(&dir)?;
                eprintln!("campaign: {name} cannot run: {why}");
                eprintln!(
                    "campaign: then go on with: jetstress campaign --resume {}",
                    dir.display()
                );
                exit = Some(ExitCode::from(1));
                break;
            }
        }
    }
    if exit.is_none() {
        state.finished_unix_ms = Some(now_ms());
        state.write(&dir)?;
    }
    let report = write_analysis(&dir, &state)?;
    let last = vec![
        format!(
            "campaign {}: {} · Production readiness: {} · {} of {} scenario(s) · critical issues {}{}",
            report.campaign,
            report.result,
            report.readiness,
            report.summary.scenarios_completed,
            report.summary.scenarios_total,
            report.summary.critical_issues,
            if report.scaled {
                format!(" · time-scaled ×{}", report.time_scale)
            } else {
                String::new()
            }
        ),
        format!(
            "campaign report: {} and {}",
            dir.join("campaign.md").display(),
            dir.join("campaign.json").display()
        ),
    ];
    for l in &last {
        eprintln!("{l}");
    }
    if let Some(u) = &ui {
        let word = if exit.is_some() { "stopped" } else { "ended" };
        u.status.send_modify(|st| {
            if let Some(st) = st {
                st.finished = Some(format!(
                    "{word}: {} · Production readiness: {} · {}",
                    report.result,
                    report.readiness,
                    dir.join("campaign.md").display()
                ));
            }
        });
    }
    let code = exit.unwrap_or(if report.readiness == "READY" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    });
    Ok((code, last))
}

/// `campaign.json` and `campaign.md` from the state and the scenarios' reports.
fn write_analysis(dir: &Path, st: &CampaignState) -> anyhow::Result<campaign::CampaignReport> {
    let mut reports = BTreeMap::new();
    for s in &st.steps {
        if let Some(StepOutcome::Scenario(o)) = &s.outcome {
            if let Some(rel) = &o.report {
                let path = dir.join(rel);
                match std::fs::read_to_string(&path)
                    .map_err(anyhow::Error::from)
                    .and_then(|t| Ok(serde_json::from_str::<Report>(&t)?))
                {
                    Ok(r) => {
                        reports.insert(s.dir.clone(), r);
                    }
                    Err(e) => eprintln!("campaign: {}: {e:#}", path.display()),
                }
            }
        }
    }
    let report = analyse(st, &reports);
    report.write(dir)?;
    Ok(report)
}

fn step_options(ctx: &Ctx, step: &Step, title: String) -> ExecOptions {
    let dir = ctx.step_dir(step);
    ExecOptions {
        root: ctx.global.root.clone(),
        interval: ctx.global.interval,
        watches: ctx.watches.clone(),
        record: Some(RecorderConfig {
            path: dir.join("recording.jsonl"),
            append: false,
            rotate_bytes: None,
        }),
        source: "campaign",
        metrics: None,
        report: Some(dir.clone()),
        json: Some(dir.join("summary.json")),
        title: Some(title),
        hold: None,
        each_op_once: false,
    }
}

fn zone_temps(spans: &[ZoneSpan]) -> Vec<ZoneTemp> {
    spans
        .iter()
        .map(|z| ZoneTemp {
            zone: z.zone.clone(),
            mean_c: z.mean_c(),
            max_c: z.max_c,
        })
        .collect()
}

async fn run_baseline(
    ctx: &Ctx<'_>,
    step: &Step,
    signals: &mut StopSignals,
) -> anyhow::Result<StepEnd> {
    let dir = ctx.step_dir(step);
    std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let mut sc = ctx.baseline.clone();
    sc.name = ctx.label("baseline");
    sc.log_dir = Some(dir.join("logs"));
    let hold = ctx.scaled(ctx.campaign.baseline.duration);
    let mut opts = step_options(ctx, step, "baseline".into());
    opts.hold = Some(hold);
    opts.each_op_once = true;
    let ran = match execute(sc, opts, signals).await? {
        Executed::Ran(r) => r,
        Executed::NotStarted(why) | Executed::BadMetrics(why) => {
            // Nothing to time, but the idle board is still worth its look.
            eprintln!("campaign: the baseline's targets did not start ({why}); no tool timed");
            return Ok(done(StepOutcome::Baseline(BaselineOutcome {
                duration_s: 0.0,
                tools: vec![],
                zones: vec![],
                mem_available_mb: None,
                report: None,
            })));
        }
    };
    if let Some(sig) = ran.interrupted {
        return Ok(StepEnd::Interrupted(sig));
    }
    let mut tools: Vec<ToolTiming> = ran
        .summary
        .targets
        .iter()
        .flat_map(|t| t.tools.iter().map(move |n| format!("{}:{n}", t.name)))
        .map(|tool| ToolTiming {
            tool,
            latency_ms: None,
            ok: false,
        })
        .collect();
    for st in ran.summary.phases.iter().flat_map(|p| p.stages.iter()) {
        for t in &st.tools {
            let ok = t.count > 0 && t.errors == 0;
            let timing = ToolTiming {
                tool: t.tool.clone(),
                latency_ms: ok.then_some(t.latency_ms.mean),
                ok,
            };
            match tools.iter_mut().find(|x| x.tool == t.tool) {
                Some(x) => *x = timing,
                None => tools.push(timing),
            }
        }
    }
    Ok(done(StepOutcome::Baseline(BaselineOutcome {
        duration_s: ran.wall.as_secs_f64(),
        tools,
        zones: zone_temps(&ran.zones),
        mem_available_mb: ran.last.as_ref().and_then(|s| s.memory.available_mb),
        report: Some(format!("{}/report.json", step.dir)),
    })))
}

/// Where the board is read and changed: the campaign's `--root` (a fixture
/// tree in tests, `/` on the board) with this machine's tools and uid.
fn host(ctx: &Ctx) -> Host {
    Host {
        root: ctx.global.root.clone(),
        ..Host::system()
    }
}

/// What a scenario's `[board]` finds: notes for the report (what could not
/// be judged here), or why it must not run, or what `--apply-board` set.
enum BoardGate {
    Go { notes: Vec<String>, applied: bool },
    Stop(String),
}

fn board_gate(ctx: &Ctx, req: &BoardRequirement, now: &BoardState) -> BoardGate {
    let conf = NvpConf::read(&Root::new(&ctx.global.root));
    let found = check(now, req, conf.as_ref());
    let (unavailable, wrong): (Vec<_>, Vec<_>) = found
        .into_iter()
        .partition(|m| matches!(m, Mismatch::Unavailable { .. }));
    let mut notes: Vec<String> = unavailable
        .iter()
        .map(|m| format!("[board] not checked: {m}"))
        .collect();
    if wrong.is_empty() {
        if !req.is_empty() && notes.is_empty() {
            notes.push(format!("board as required: {now}"));
        }
        return BoardGate::Go {
            notes,
            applied: false,
        };
    }
    let lines: Vec<String> = wrong.iter().map(ToString::to_string).collect();
    if !ctx.args.apply_board {
        return BoardGate::Stop(format!(
            "{} (or pass --apply-board to let jetstress set it, as root, and restore it after)",
            lines.join("; ")
        ));
    }
    match host(ctx).apply(req, &restore_path(&ctx.dir)) {
        Ok(a) => {
            notes.push(format!(
                "--apply-board: {} → {} (ran {})",
                a.before,
                a.after,
                a.ran.join("; ")
            ));
            BoardGate::Go {
                notes,
                applied: a.restore_file.is_some(),
            }
        }
        Err(e) => BoardGate::Stop(format!("{}; --apply-board: {e}", lines.join("; "))),
    }
}

/// Undo what `--apply-board` set (at a scenario's end, and when a signal
/// stopped it); what was run goes into the notes.
fn board_restore(ctx: &Ctx, notes: &mut Vec<String>) {
    match host(ctx).restore(&restore_path(&ctx.dir)) {
        Ok(r) => notes.push(format!("restored: {} (ran {})", r.after, r.ran.join("; "))),
        Err(e) => {
            eprintln!("campaign: restoring the board: {e}");
            notes.push(format!("restoring the board failed: {e}"));
        }
    }
}

async fn run_scenario(
    ctx: &Ctx<'_>,
    step: &Step,
    k: usize,
    signals: &mut StopSignals,
) -> anyhow::Result<StepEnd> {
    let dir = ctx.step_dir(step);
    let mut sc = ctx.scenarios[k].clone().time_scaled(ctx.scale);
    sc.log_dir = Some(dir.join("logs"));
    sc.name = ctx.label(&sc.name);
    let planned = ctx.planned(step, k);
    let board_start = BoardState::read(&ctx.global.root);
    let mut board_notes = Vec::new();
    let mut applied = false;
    if let Some(req) = &sc.board {
        match board_gate(ctx, req, &board_start) {
            BoardGate::Stop(why) => return Ok(StepEnd::Refused(why)),
            BoardGate::Go { notes, applied: a } => {
                board_notes = notes;
                applied = a;
            }
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let title = format!("scenario {}/{} {}", k + 1, ctx.scenarios.len(), step.name);
    let opts = step_options(ctx, step, title);
    let outcome = |result,
                   ran: Option<&Ran>,
                   not_started: Option<String>,
                   board_notes: &[String]| ScenarioOutcome {
        result,
        duration_s: ran.map_or(0.0, |r| r.wall.as_secs_f64()),
        planned_s: planned.as_secs_f64(),
        scaled: (ctx.scale - 1.0).abs() > f64::EPSILON,
        resumed: step.attempts > 1,
        criteria: ran.map(|r| r.verdicts.clone()).unwrap_or_default(),
        report: ran
            .and_then(|r| r.report.as_ref())
            .map(|_| format!("{}/report.json", step.dir)),
        board_start: board_start.clone(),
        board_end: ran
            .and_then(|r| r.last.as_deref())
            .map_or_else(|| board_start.clone(), BoardState::from_snapshot),
        board_notes: board_notes.to_vec(),
        deaths: ran.map(|r| r.deaths.clone()).unwrap_or_default(),
        leaks: ran.map(|r| r.leaks.clone()).unwrap_or_default(),
        zones: ran.map(|r| zone_temps(&r.zones)).unwrap_or_default(),
        not_started,
    };
    let ran = execute(sc, opts, signals).await;
    if applied {
        board_restore(ctx, &mut board_notes);
    }
    match ran? {
        Executed::Ran(r) => {
            if let Some(sig) = r.interrupted {
                return Ok(StepEnd::Interrupted(sig));
            }
            let result = if r.pass {
                ScenarioResult::Pass
            } else {
                ScenarioResult::Fail
            };
            Ok(done(StepOutcome::Scenario(Box::new(outcome(
                result,
                Some(&r),
                None,
                &board_notes,
            )))))
        }
        Executed::NotStarted(why) | Executed::BadMetrics(why) => {
            Ok(done(StepOutcome::Scenario(Box::new(outcome(
                ScenarioResult::NotStarted,
                None,
                Some(why),
                &board_notes,
            )))))
        }
    }
}

async fn run_recovery(
    ctx: &Ctx<'_>,
    baseline: &[ZoneTemp],
    signals: &mut StopSignals,
) -> anyhow::Result<StepEnd> {
    let began = std::time::Instant::now();
    let limit = ctx.scaled(ctx.campaign.recovery.duration);
    let within = ctx.campaign.recovery.within_c;
    let mut session = Session::start(SessionConfig {
        root: ctx.global.root.clone(),
        interval: ctx.global.interval,
        watches: ctx.watches.clone(),
        plan: ctx.baseline.clone(),
    });
    let mut spans: Vec<ZoneSpan> = Vec::new();
    let until = tokio::time::Instant::now() + limit;
    let ended = loop {
        tokio::select! {
            msg = session.next() => match msg {
                SessionMsg::Snapshot(s) => {
                    fold_zones(&mut spans, &s);
                    let now: Vec<(String, f64)> =
                        spans.iter().map(|z| (z.zone.clone(), z.last_c)).collect();
                    if campaign::cooled(&now, baseline, within) {
                        break RecoveryEnd::Cooled;
                    }
                }
                SessionMsg::Closed => break RecoveryEnd::TimeUp,
                _ => {}
            },
            () = tokio::time::sleep_until(until) => {
                break if spans.is_empty() { RecoveryEnd::NoZones } else { RecoveryEnd::TimeUp };
            }
            sig = signals.recv() => {
                session.shutdown().await;
                return Ok(StepEnd::Interrupted(sig));
            }
        }
    };
    session.shutdown().await;
    let took = began.elapsed();
    let minutes = took.as_secs_f64() / 60.0;
    let zones = spans
        .iter()
        .map(|z| ZoneCooling {
            zone: z.zone.clone(),
            start_c: z.first_c,
            end_c: z.last_c,
            baseline_c: baseline.iter().find(|b| b.zone == z.zone).map(|b| b.mean_c),
            c_per_min: if minutes > 0.0 {
                (z.first_c - z.last_c) / minutes
            } else {
                0.0
            },
        })
        .collect();
    eprintln!(
        "campaign: recovery {} after {}",
        match ended {
            RecoveryEnd::Cooled => "ended: every zone is back near its baseline",
            RecoveryEnd::TimeUp => "ended: time up",
            RecoveryEnd::NoZones => "ended: time up (no thermal zone to read)",
        },
        clock(took)
    );
    Ok(done(StepOutcome::Recovery(RecoveryOutcome {
        duration_s: took.as_secs_f64(),
        ended,
        zones,
    })))
}
