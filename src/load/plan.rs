//! The plan: a scenario file and the command line's overrides resolved into
//! one [`Scenario`] (targets, sessions, limits, phases: open-model rates and
//! arrivals, closed-model users and think time, the seed), and that scenario
//! into the [`EngineConfig`] both front ends start the engine from. Pure
//! apart from reading the scenario file and finding the own executable.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::collector::CollectorCommand;
use crate::load::drivers::llm::{LlmApi, LlmSpec, PromptSource};
use crate::load::drivers::mcp::{split_command, Endpoint, McpTargetSpec};
use crate::load::engine::{EngineConfig, MixEntry};
use crate::load::llm_stats::Slo;
use crate::load::scenario::{self, Scenario, TargetPlan};
use crate::load::schedule::{
    ArrivalProcess, PhaseKind, PhaseSpec, SoakParams, SpikeParams, Stage, StressParams,
    SweepParams, Think, UsersSpec, MAX_USERS,
};
use crate::probes::Root;
use crate::snapshot::Snapshot;

/// Name of the built-in target in tool names (`built-in:thermal_status`).
pub const BUILTIN_TARGET: &str = "built-in";

/// A phase with built-in defaults: what `--phase` and the dashboard's keys start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinPhase {
    Spike,
    Stress,
    Soak,
    /// Closed model: [`BUILTIN_USERS`] users thinking [`BUILTIN_THINK`] for
    /// [`BUILTIN_USERS_DURATION`].
    Users,
    /// Capacity sweep: one request at a time, as fast as 16 users go, then 5
    /// rates between, 30 s each.
    Sweep,
}

impl BuiltinPhase {
    pub fn kind(self) -> PhaseKind {
        match self {
            BuiltinPhase::Spike => PhaseKind::Spike,
            BuiltinPhase::Stress => PhaseKind::Stress,
            BuiltinPhase::Soak => PhaseKind::Soak,
            BuiltinPhase::Users => PhaseKind::Users,
            BuiltinPhase::Sweep => PhaseKind::Sweep,
        }
    }
}

/// Users in the built-in users phase.
pub const BUILTIN_USERS: u32 = 10;
/// Think time of the built-in users phase: uniform 2–5 s.
pub const BUILTIN_THINK: Think = Think::Uniform {
    min: Duration::from_secs(2),
    max: Duration::from_secs(5),
};
/// Length of the built-in users phase (all its steps together) without `--duration`.
pub const BUILTIN_USERS_DURATION: Duration = Duration::from_secs(60);

/// `--users N` or `--users A..B`: a fixed population, or a ramp in doubling
/// steps A, 2A, 4A, … that ends exactly at B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsersArg {
    Fixed(u32),
    Ramp { from: u32, to: u32 },
}

/// A `--users` value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsersArgError {
    #[error("'{0}' is not a number of users (N or A..B)")]
    NotANumber(String),
    #[error("'{0}': at least 1 user")]
    Zero(String),
    #[error("'{0}': at most {MAX_USERS} users")]
    TooMany(String),
    #[error("'{0}': the ramp's start is above its end")]
    Reversed(String),
}

impl std::str::FromStr for UsersArg {
    type Err = UsersArgError;

    /// `10` or `10..100`.
    fn from_str(s: &str) -> Result<Self, UsersArgError> {
        let count = |x: &str| {
            let n: u32 = x
                .trim()
                .parse()
                .map_err(|_| UsersArgError::NotANumber(s.into()))?;
            match n {
                0 => Err(UsersArgError::Zero(s.into())),
                n if n > MAX_USERS => Err(UsersArgError::TooMany(s.into())),
                n => Ok(n),
            }
        };
        match s.split_once("..") {
            Some((a, b)) => {
                let (from, to) = (count(a)?, count(b)?);
                if from > to {
                    return Err(UsersArgError::Reversed(s.into()));
                }
                Ok(UsersArg::Ramp { from, to })
            }
            None => Ok(UsersArg::Fixed(count(s)?)),
        }
    }
}

impl UsersArg {
    /// The population of each stage: `2..8` → 2, 4, 8; `10..100` → 10, 20,
    /// 40, 80, 100; `N` → N.
    pub fn steps(self) -> Vec<u32> {
        match self {
            UsersArg::Fixed(n) => vec![n],
            UsersArg::Ramp { from, to } => {
                let mut out = Vec::new();
                let mut n = from.max(1);
                while n < to {
                    out.push(n);
                    n = n.saturating_mul(2);
                }
                out.push(to);
                out
            }
        }
    }
}

/// What the command line says about the load, beside the scenario file.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub scenario: Option<PathBuf>,
    pub phase: Option<BuiltinPhase>,
    pub duration: Option<Duration>,
    pub rate: Option<f64>,
    pub target_cmd: Vec<String>,
    pub target_url: Vec<String>,
    pub sessions: Option<usize>,
    pub max_in_flight: Option<usize>,
    pub max_lag: Option<Duration>,
    pub timeout: Option<Duration>,
    pub log_dir: Option<PathBuf>,
    /// Users phases: the population (replaces their stages).
    pub users: Option<UsersArg>,
    /// Users phases: think time.
    pub think: Option<Think>,
    /// Users phases: users started per second (`None`: all at once).
    pub spawn_rate: Option<f64>,
    /// Users phases: each stage ends after this many requests (its duration is then a cap).
    pub requests: Option<u64>,
    /// Users phases: the most sessions per MCP target.
    pub max_sessions: Option<usize>,
    /// Open phases: how arrivals spread around the rate.
    pub arrivals: Option<ArrivalProcess>,
    /// Seed for the mix, think times and arrivals (beats the scenario's).
    pub seed: Option<u64>,
    /// Share of MCP calls, %, replaced by invalid inputs (beats the scenario's).
    pub invalid_pct: Option<f64>,
    /// `--llm-url` and the flags that shape LLM requests.
    pub llm: LlmFlags,
}

/// LLM endpoints from the command line: `urls` replace the scenario's
/// `[[llm]]` tables; the rest apply to every LLM endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LlmFlags {
    pub urls: Vec<String>,
    pub api: Option<LlmApi>,
    pub model: Option<String>,
    pub max_tokens: Option<u32>,
    pub prompt: Option<String>,
    /// `true`: ask for one JSON reply instead of a token stream.
    pub no_stream: bool,
}

/// The row name of the `i`-th `--llm-url` (`llm`, `llm-2`, …).
fn llm_flag_name(i: usize) -> String {
    if i == 0 {
        "llm".into()
    } else {
        format!("llm-{}", i + 1)
    }
}

/// Apply [`LlmFlags`] to a scenario.
fn apply_llm_flags(sc: &mut Scenario, f: &LlmFlags) -> anyhow::Result<()> {
    if !f.urls.is_empty() {
        sc.llm.clear();
        for (i, u) in f.urls.iter().enumerate() {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                anyhow::bail!("--llm-url '{u}' must start with http:// or https://");
            }
            let name = llm_flag_name(i);
            if !sc.mix.is_empty() && !sc.mix.iter().any(|m| m.tool == name) {
                sc.mix.push(MixEntry {
                    tool: name.clone(),
                    weight: 1.0,
                    args: None,
                    invalid_pct: None,
                });
            }
            sc.llm.push(LlmSpec {
                name,
                url: u.clone(),
                api: LlmApi::default(),
                model: scenario::DEFAULT_LLM_MODEL.into(),
                max_tokens: scenario::DEFAULT_MAX_TOKENS,
                prompt: PromptSource::Fixed(scenario::DEFAULT_PROMPT.into()),
                stream: true,
                headers: Vec::new(),
            });
        }
    }
    if f.max_tokens == Some(0) {
        anyhow::bail!("--max-tokens: must be at least 1");
    }
    for l in &mut sc.llm {
        if let Some(a) = f.api {
            l.api = a;
        }
        if let Some(m) = &f.model {
            l.model.clone_from(m);
        }
        if let Some(n) = f.max_tokens {
            l.max_tokens = n;
        }
        if let Some(p) = &f.prompt {
            l.prompt = PromptSource::Fixed(p.clone());
        }
        if f.no_stream {
            l.stream = false;
        }
    }
    Ok(())
}

impl PlanOptions {
    /// The first users-phase flag given, for messages.
    fn users_flag(&self) -> Option<&'static str> {
        [
            ("--users", self.users.is_some()),
            ("--think", self.think.is_some()),
            ("--spawn-rate", self.spawn_rate.is_some()),
            ("--requests", self.requests.is_some()),
            ("--max-sessions", self.max_sessions.is_some()),
        ]
        .into_iter()
        .find_map(|(f, set)| set.then_some(f))
    }

    /// The users-phase and arrival flags checked on their own.
    fn check_shape(&self) -> anyhow::Result<()> {
        if let Some(r) = self.spawn_rate {
            if !(r.is_finite() && r > 0.0) {
                anyhow::bail!("--spawn-rate must be a positive number of users/s");
            }
        }
        if self.requests == Some(0) {
            anyhow::bail!("--requests must be at least 1");
        }
        if self.max_sessions == Some(0) {
            anyhow::bail!("--max-sessions must be at least 1");
        }
        if let Some(ArrivalProcess::Gamma { shape }) = self.arrivals {
            if !(shape.is_finite() && shape > 0.0) {
                anyhow::bail!("--arrivals gamma:SHAPE needs SHAPE > 0");
            }
        }
        Ok(())
    }
}

/// Resolve flags and scenario into one plan with at least one phase (`jetstress run`).
///
/// `--rate` and `--arrivals` shape open phases, `--users`, `--think`,
/// `--spawn-rate`, `--requests` and `--max-sessions` users phases; one given
/// where no phase of its model runs is an error. `--duration` stretches or
/// cuts every phase, except that the built-in users phase spreads it evenly
/// over its steps (a cap per step with `--requests`).
pub fn plan(args: &PlanOptions) -> anyhow::Result<Scenario> {
    if args.scenario.is_none() && args.phase.is_none() {
        anyhow::bail!("give --scenario FILE or --phase spike|stress|soak|users");
    }
    let mut sc = plan_targets(args)?;
    if let Some(r) = args.rate {
        if !(r.is_finite() && r > 0.0) {
            anyhow::bail!("--rate must be a positive number of requests/s");
        }
    }
    if let Some(d) = args.duration {
        if d.is_zero() {
            anyhow::bail!("--duration must be positive");
        }
    }
    match args.phase {
        Some(BuiltinPhase::Users) => {
            if args.rate.is_some() {
                anyhow::bail!("--rate is for open-model phases; --phase users takes --users");
            }
            if args.arrivals.is_some() {
                anyhow::bail!("--arrivals is for open-model phases, not --phase users");
            }
            sc.phases = vec![users_phase(args)];
        }
        Some(p) => {
            if let Some(f) = args.users_flag() {
                anyhow::bail!("{f} is for users phases; use --phase users");
            }
            sc.phases = vec![builtin_phase(p, args.rate)];
        }
        None => {}
    }
    // The built-in users phase was built from the flags already.
    shape_phases(&mut sc.phases, args, args.phase.is_none())?;
    if args.phase.is_none() {
        if let Some(r) = args.rate {
            sc.phases.iter_mut().for_each(|p| apply_rate(p, r));
        }
    }
    if let Some(d) = args.duration {
        if args.phase != Some(BuiltinPhase::Users) {
            sc.phases = sc.phases.drain(..).map(|p| p.scaled_to(d)).collect();
        }
    }
    if sc.phases.is_empty() {
        anyhow::bail!("the scenario has no [[phases]]; add one or pass --phase");
    }
    if args.phase == Some(BuiltinPhase::Users) && args.sessions.is_none() {
        // The users bring their own sessions: start each target with one
        // (to list its tools), not the open phases' ten.
        for t in &mut sc.targets {
            match t {
                TargetPlan::Builtin { sessions, .. } => *sessions = 1,
                TargetPlan::Spec(spec) => spec.sessions = 1,
            }
        }
    }
    Ok(sc)
}

/// The dashboard's plan: [`plan_targets`], with the users-phase flags and
/// `--arrivals` on the scenario's phases. A key starts the scenario's phase
/// of its kind, else the built-in one ([`phase_for`]), so for a kind the
/// scenario lacks but the flags shape, the built-in phase is added with them.
pub fn plan_dashboard(args: &PlanOptions) -> anyhow::Result<Scenario> {
    let mut sc = plan_targets(args)?;
    let mut restage = true;
    for p in [
        BuiltinPhase::Spike,
        BuiltinPhase::Stress,
        BuiltinPhase::Soak,
        BuiltinPhase::Users,
    ] {
        let shaped = match p {
            BuiltinPhase::Users => args.users_flag().is_some(),
            _ => args.arrivals.is_some(),
        };
        if shaped && !sc.phases.iter().any(|s| s.kind == p.kind()) {
            // The added users phase is then the only one, built from the flags.
            restage &= p != BuiltinPhase::Users;
            sc.phases.push(match p {
                BuiltinPhase::Users => users_phase(args),
                _ => builtin_phase(p, None),
            });
        }
    }
    shape_phases(&mut sc.phases, args, restage)?;
    Ok(sc)
}

/// The built-in users phase shaped by the flags: `--users` steps (default
/// [`BUILTIN_USERS`]) sharing `--duration` (default
/// [`BUILTIN_USERS_DURATION`]) evenly; with `--requests` each step ends
/// after that many requests, and `--duration`, if given, caps each step.
fn users_phase(args: &PlanOptions) -> PhaseSpec {
    let steps = args.users.unwrap_or(UsersArg::Fixed(BUILTIN_USERS)).steps();
    let total = args.duration.unwrap_or(BUILTIN_USERS_DURATION);
    let each = total / steps.len() as u32;
    let duration = match args.requests {
        Some(_) => args.duration.map(|_| each),
        None => Some(each),
    };
    let stages: Vec<_> = steps
        .iter()
        .map(|&u| (u, duration, args.requests))
        .collect();
    let spec = UsersSpec {
        think: BUILTIN_THINK,
        ..UsersSpec::default()
    };
    // `--think`, `--spawn-rate` and `--max-sessions` come in `shape_phases`.
    PhaseSpec::users(&stages, spec)
}

/// The users-phase flags on users phases and `--arrivals` on open ones; a
/// flag with no phase of its model to shape is an error. `restage`: let
/// `--users` and `--requests` remake the users phases' stages (not for the
/// built-in one, made from them).
fn shape_phases(phases: &mut [PhaseSpec], args: &PlanOptions, restage: bool) -> anyhow::Result<()> {
    args.check_shape()?;
    if let Some(f) = args.users_flag() {
        if !phases.iter().any(PhaseSpec::is_closed) {
            anyhow::bail!("{f} is for users phases, and the scenario has none (add one or pass --phase users)");
        }
    }
    if let Some(a) = args.arrivals {
        if phases.iter().all(PhaseSpec::is_closed) {
            anyhow::bail!("--arrivals is for open-model phases, and the scenario has none");
        }
        for p in phases.iter_mut().filter(|p| !p.is_closed()) {
            p.arrivals = a;
        }
    }
    for p in phases.iter_mut().filter(|p| p.is_closed()) {
        apply_users(p, args, restage);
    }
    Ok(())
}

/// The users-phase flags on one users phase. `--users` replaces its stages
/// with the ramp's steps over the phase's own length; `--requests` ends each
/// stage after that many requests.
fn apply_users(p: &mut PhaseSpec, args: &PlanOptions, restage: bool) {
    if let Some(spec) = p.users.as_mut() {
        if let Some(t) = args.think {
            spec.think = t;
        }
        if let Some(r) = args.spawn_rate {
            spec.spawn_rate = Some(r);
        }
        if let Some(m) = args.max_sessions {
            spec.max_sessions = m;
        }
    }
    if !restage {
        return;
    }
    if let Some(u) = args.users {
        let steps = u.steps();
        let each = p.total_duration() / steps.len() as u32;
        p.stages = steps
            .iter()
            .map(|&n| Stage::users(n, Some(each), args.requests))
            .collect();
    } else if let Some(n) = args.requests {
        for st in &mut p.stages {
            let auto = Stage::users(st.users, None, st.requests).name;
            st.requests = Some(n);
            if st.name == auto {
                st.name = Stage::users(st.users, None, st.requests).name;
            }
        }
    }
}

/// The scenario (or the command line) with its targets, sessions, limits and
/// log directory resolved, the built-in server when no target is named; phases
/// as the scenario gives them (possibly none: the dashboard starts them by key).
pub fn plan_targets(args: &PlanOptions) -> anyhow::Result<Scenario> {
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
    if let Some(l) = args.max_lag {
        sc.max_lag = l;
    }
    if let Some(t) = args.timeout {
        sc.timeout = t;
    }
    if let Some(d) = &args.log_dir {
        sc.log_dir = Some(d.clone());
    }
    if let Some(s) = args.seed {
        sc.seed = Some(s);
    }
    if let Some(p) = args.invalid_pct {
        if !scenario::valid_pct(p) {
            anyhow::bail!("--invalid-pct: {p} is not within 0–100");
        }
        sc.invalid_pct = p;
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
    apply_llm_flags(&mut sc, &args.llm)?;
    if sc.targets.is_empty() && sc.http.is_empty() && sc.llm.is_empty() {
        sc.targets.push(TargetPlan::Builtin {
            name: None,
            sessions: sc.sessions,
        });
    }
    Ok(sc)
}

/// A built-in phase with its defaults; `rate` sets the spike's peak, the
/// stress ceiling or the soak rate (the users phase has none).
pub fn builtin_phase(p: BuiltinPhase, rate: Option<f64>) -> PhaseSpec {
    match p {
        BuiltinPhase::Spike => PhaseSpec::spike(&SpikeParams {
            peak_rate: rate.unwrap_or(SpikeParams::default().peak_rate),
            ..Default::default()
        }),
        BuiltinPhase::Stress => PhaseSpec::stress(&StressParams {
            max_rate: rate.unwrap_or(StressParams::default().max_rate),
            ..Default::default()
        }),
        BuiltinPhase::Soak => PhaseSpec::soak(&SoakParams {
            rate: rate.unwrap_or(SoakParams::default().rate),
            ..Default::default()
        }),
        BuiltinPhase::Users => users_phase(&PlanOptions::default()),
        BuiltinPhase::Sweep => PhaseSpec::sweep(&SweepParams::default()),
    }
}

/// The phase a dashboard key starts: the scenario's phase of that kind, else
/// the built-in default.
pub fn phase_for(sc: &Scenario, p: BuiltinPhase) -> PhaseSpec {
    match sc.phases.iter().find(|s| s.kind == p.kind()) {
        Some(s) => s.clone(),
        None => builtin_phase(p, None),
    }
}

/// `--rate` on a scenario phase: soak rate, spike peak, stress ceiling.
fn apply_rate(p: &mut PhaseSpec, r: f64) {
    match p.kind {
        PhaseKind::Soak => p.stages.iter_mut().for_each(|s| {
            s.rate = r;
            s.from_rate = r;
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
        PhaseKind::Custom | PhaseKind::Users | PhaseKind::Sweep => {}
    }
}

/// The built-in server (`jetstress mcp-serve`) as a stdio target.
pub fn builtin_target(
    name: Option<String>,
    sessions: usize,
    root: &Path,
) -> anyhow::Result<McpTargetSpec> {
    let exe = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot find the jetstress executable: {e}"))?;
    let mut args = vec!["mcp-serve".to_string()];
    if root != Path::new("/") {
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

/// Names of the load targets, for the dashboard's idle hint.
pub fn describe_targets(sc: &Scenario) -> String {
    let mut names: Vec<String> = sc
        .targets
        .iter()
        .map(|t| match t {
            TargetPlan::Builtin { name, .. } => {
                name.clone().unwrap_or_else(|| BUILTIN_TARGET.into())
            }
            TargetPlan::Spec(s) => s.name.clone().unwrap_or_else(|| s.fallback_name()),
        })
        .collect();
    names.extend(sc.http.iter().map(|h| h.name.clone()));
    names.join(", ")
}

/// The load targets with what each one is, for a newcomer: `built-in (the
/// built-in MCP server)`, `fs (MCP over stdio: node server.js)`, `remote
/// (MCP at http://…/mcp)`, `health (GET http://…/health)`.
pub fn explain_targets(sc: &Scenario) -> String {
    let mut out: Vec<String> = sc
        .targets
        .iter()
        .map(|t| match t {
            TargetPlan::Builtin { name, .. } => format!(
                "{} (the built-in MCP server)",
                name.clone().unwrap_or_else(|| BUILTIN_TARGET.into())
            ),
            TargetPlan::Spec(s) => {
                let name = s.name.clone().unwrap_or_else(|| s.fallback_name());
                match &s.endpoint {
                    Endpoint::Stdio { program, args, .. } => {
                        let prog = program.file_name().map_or_else(
                            || program.display().to_string(),
                            |f| f.to_string_lossy().into_owned(),
                        );
                        let cmd = std::iter::once(prog)
                            .chain(args.iter().cloned())
                            .collect::<Vec<_>>()
                            .join(" ");
                        format!("{name} (MCP over stdio: {cmd})")
                    }
                    Endpoint::Http { url } => format!("{name} (MCP at {url})"),
                }
            }
        })
        .collect();
    out.extend(
        sc.http
            .iter()
            .map(|h| format!("{} ({} {})", h.name, h.method, h.url)),
    );
    out.join(", ")
}

/// Where the targets' stderr logs go: the plan's `log_dir`, else the engine's
/// default (a temp dir of this process).
pub fn log_dir(sc: &Scenario) -> PathBuf {
    sc.log_dir
        .clone()
        .unwrap_or_else(|| EngineConfig::default().log_dir)
}

/// The engine configuration for a planned scenario: its targets (the
/// built-in server spawned from this executable), mix, limits, log
/// directory, and the collector's latest snapshot and watch list.
pub fn engine_config(
    sc: &Scenario,
    root: &Path,
    snapshots: Option<watch::Receiver<Option<Arc<Snapshot>>>>,
    collector: Option<mpsc::Sender<CollectorCommand>>,
) -> anyhow::Result<EngineConfig> {
    let mut targets = Vec::new();
    for t in &sc.targets {
        targets.push(match t {
            TargetPlan::Builtin { name, sessions } => {
                builtin_target(name.clone(), *sessions, root)?
            }
            TargetPlan::Spec(s) => s.clone(),
        });
    }
    Ok(EngineConfig {
        mcp_targets: targets,
        http: sc.http.clone(),
        llm: sc.llm.clone(),
        llm_slo: Slo {
            max_ttft_ms: sc.acceptance.as_ref().and_then(|a| a.max_ttft_ms),
            max_tpot_ms: sc.acceptance.as_ref().and_then(|a| a.max_tpot_ms),
        },
        mix: sc.mix.clone(),
        max_in_flight: sc.max_in_flight,
        max_lag: sc.max_lag,
        timeout: sc.timeout,
        log_dir: log_dir(sc),
        root: Root::new(root),
        memory_floor_pct: sc.guards.memory_floor_pct,
        snapshots,
        collector,
        seed: sc.seed,
        invalid_pct: sc.invalid_pct,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::schedule::REQUEST_STAGE_CAP;

    #[test]
    fn builtin_target_spawns_mcp_serve_with_the_root() {
        let t = builtin_target(None, 3, Path::new("/tmp/fixture")).unwrap();
        assert_eq!(t.name.as_deref(), Some(BUILTIN_TARGET));
        assert_eq!(t.sessions, 3);
        match t.endpoint {
            Endpoint::Stdio { program, args, .. } => {
                assert_eq!(program, std::env::current_exe().unwrap());
                assert_eq!(args, ["mcp-serve", "--root", "/tmp/fixture"]);
            }
            other @ Endpoint::Http { .. } => panic!("{other:?}"),
        }
        let t = builtin_target(Some("board".into()), 1, Path::new("/")).unwrap();
        assert_eq!(t.name.as_deref(), Some("board"));
        assert!(matches!(t.endpoint, Endpoint::Stdio { ref args, .. } if args == &["mcp-serve"]));
    }

    fn opts(phase: Option<BuiltinPhase>) -> PlanOptions {
        PlanOptions {
            phase,
            ..Default::default()
        }
    }

    #[test]
    fn flags_shape_the_plan() {
        let p = plan(&PlanOptions {
            rate: Some(40.0),
            duration: Some(Duration::from_secs(9)),
            ..opts(Some(BuiltinPhase::Spike))
        })
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
        let p = plan(&PlanOptions {
            rate: Some(10.0),
            ..opts(Some(BuiltinPhase::Stress))
        })
        .unwrap();
        assert_eq!(p.phases[0].stages.last().unwrap().rate, 10.0);
        let p = plan(&PlanOptions {
            target_url: vec!["http://127.0.0.1:1/mcp".into()],
            sessions: Some(3),
            ..opts(Some(BuiltinPhase::Soak))
        })
        .unwrap();
        assert!(matches!(&p.targets[0], TargetPlan::Spec(s) if s.sessions == 3));
        assert!(plan(&opts(None)).is_err());
        assert!(plan(&PlanOptions {
            target_url: vec!["ftp://x".into()],
            ..opts(Some(BuiltinPhase::Soak))
        })
        .is_err());
    }

    #[test]
    fn users_ramps_double_and_end_at_the_top() {
        let steps = |s: &str| s.parse::<UsersArg>().unwrap().steps();
        assert_eq!(steps("2..8"), [2, 4, 8]);
        assert_eq!(steps("10..100"), [10, 20, 40, 80, 100]);
        assert_eq!(steps("3..3"), [3]);
        assert_eq!(steps("7"), [7]);
        assert_eq!(steps(" 1 .. 5 "), [1, 2, 4, 5]);
        assert_eq!(steps("1..100000").len(), 18);
        let err = |s: &str| s.parse::<UsersArg>().unwrap_err().to_string();
        assert_eq!(err("0"), "'0': at least 1 user");
        assert_eq!(err("0..4"), "'0..4': at least 1 user");
        assert_eq!(err("8..2"), "'8..2': the ramp's start is above its end");
        assert_eq!(err("abc"), "'abc' is not a number of users (N or A..B)");
        assert_eq!(err("2..x"), "'2..x' is not a number of users (N or A..B)");
        assert_eq!(err("-3"), "'-3' is not a number of users (N or A..B)");
        assert_eq!(err("100001"), "'100001': at most 100000 users");
    }

    fn users_opts() -> PlanOptions {
        opts(Some(BuiltinPhase::Users))
    }

    fn stages(p: &PhaseSpec) -> Vec<(u32, Duration, Option<u64>)> {
        p.stages
            .iter()
            .map(|s| (s.users, s.duration, s.requests))
            .collect()
    }

    #[test]
    fn the_builtin_users_phase_and_its_flags() {
        let s = Duration::from_secs;
        let p = &plan(&users_opts()).unwrap().phases[0];
        assert_eq!(p.kind, PhaseKind::Users);
        assert_eq!(stages(p), [(10, s(60), None)]);
        assert_eq!(p.users.as_ref().unwrap().think, BUILTIN_THINK);
        assert_eq!(p, &builtin_phase(BuiltinPhase::Users, None));
        // A ramp shares --duration evenly.
        let sc = plan(&PlanOptions {
            users: Some(UsersArg::Ramp { from: 2, to: 8 }),
            duration: Some(s(30)),
            think: Some(Think::Constant(Duration::from_millis(500))),
            spawn_rate: Some(5.0),
            max_sessions: Some(4),
            seed: Some(7),
            ..users_opts()
        })
        .unwrap();
        let p = &sc.phases[0];
        assert_eq!(
            stages(p),
            [(2, s(10), None), (4, s(10), None), (8, s(10), None)]
        );
        let u = p.users.as_ref().unwrap();
        assert_eq!(u.think, Think::Constant(Duration::from_millis(500)));
        assert_eq!((u.spawn_rate, u.max_sessions), (Some(5.0), 4));
        assert_eq!(sc.seed, Some(7));
        // --requests ends each step; --duration is then each step's share as a cap.
        let p = &plan(&PlanOptions {
            users: Some(UsersArg::Ramp { from: 1, to: 2 }),
            requests: Some(20),
            ..users_opts()
        })
        .unwrap()
        .phases[0];
        assert_eq!(
            stages(p),
            [
                (1, REQUEST_STAGE_CAP, Some(20)),
                (2, REQUEST_STAGE_CAP, Some(20))
            ]
        );
        assert_eq!(p.stages[0].name, "1 users × 20 req");
        let p = &plan(&PlanOptions {
            users: Some(UsersArg::Ramp { from: 1, to: 2 }),
            requests: Some(20),
            duration: Some(s(60)),
            ..users_opts()
        })
        .unwrap()
        .phases[0];
        assert_eq!(stages(p), [(1, s(30), Some(20)), (2, s(30), Some(20))]);
    }

    #[test]
    fn model_flags_where_they_do_not_belong_are_errors() {
        let err = |o: PlanOptions| plan(&o).unwrap_err().to_string();
        assert_eq!(
            err(PlanOptions {
                arrivals: Some(ArrivalProcess::Poisson),
                ..users_opts()
            }),
            "--arrivals is for open-model phases, not --phase users"
        );
        assert_eq!(
            err(PlanOptions {
                rate: Some(3.0),
                ..users_opts()
            }),
            "--rate is for open-model phases; --phase users takes --users"
        );
        assert_eq!(
            err(PlanOptions {
                think: Some(Think::Constant(Duration::from_secs(1))),
                ..opts(Some(BuiltinPhase::Soak))
            }),
            "--think is for users phases; use --phase users"
        );
        assert_eq!(
            err(PlanOptions {
                spawn_rate: Some(0.0),
                ..users_opts()
            }),
            "--spawn-rate must be a positive number of users/s"
        );
        assert_eq!(
            err(PlanOptions {
                requests: Some(0),
                ..users_opts()
            }),
            "--requests must be at least 1"
        );
        assert_eq!(
            err(PlanOptions {
                max_sessions: Some(0),
                ..users_opts()
            }),
            "--max-sessions must be at least 1"
        );
        // An open phase takes --arrivals.
        let p = plan(&PlanOptions {
            arrivals: Some(ArrivalProcess::Gamma { shape: 0.5 }),
            ..opts(Some(BuiltinPhase::Spike))
        })
        .unwrap();
        assert_eq!(p.phases[0].arrivals, ArrivalProcess::Gamma { shape: 0.5 });
    }

    fn scenario_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    const MIXED: &str = r#"
seed = 3
[[phases]]
kind = "soak"
rate = 2
duration = "1m"
[[phases]]
kind = "users"
stages = [{ users = 5, duration = "1m" }, { users = 9, duration = "1m" }]
"#;

    #[test]
    fn flags_shape_a_scenarios_phases_by_model() {
        let s = Duration::from_secs;
        let (_dir, path) = scenario_file(MIXED);
        let sc = plan(&PlanOptions {
            scenario: Some(path.clone()),
            rate: Some(4.0),
            arrivals: Some(ArrivalProcess::Poisson),
            think: Some(Think::Pacing(s(3))),
            requests: Some(50),
            ..opts(None)
        })
        .unwrap();
        assert_eq!(sc.seed, Some(3));
        assert_eq!(sc.phases[0].stages[0].rate, 4.0);
        assert_eq!(sc.phases[0].arrivals, ArrivalProcess::Poisson);
        let u = &sc.phases[1];
        assert_eq!(u.arrivals, ArrivalProcess::Uniform);
        assert_eq!(u.users.as_ref().unwrap().think, Think::Pacing(s(3)));
        assert_eq!(stages(u), [(5, s(60), Some(50)), (9, s(60), Some(50))]);
        assert_eq!(u.stages[1].name, "9 users × 50 req");
        // --users remakes the stages over the phase's length; --seed beats the file's.
        let sc = plan(&PlanOptions {
            scenario: Some(path.clone()),
            users: Some(UsersArg::Ramp { from: 10, to: 40 }),
            seed: Some(11),
            ..opts(None)
        })
        .unwrap();
        assert_eq!(sc.seed, Some(11));
        assert_eq!(
            stages(&sc.phases[1]),
            [(10, s(40), None), (20, s(40), None), (40, s(40), None)]
        );
        // phase_for finds the scenario's users phase, else the built-in one.
        assert_eq!(phase_for(&sc, BuiltinPhase::Users), sc.phases[1]);
        let bare = plan(&opts(Some(BuiltinPhase::Soak))).unwrap();
        assert_eq!(
            phase_for(&bare, BuiltinPhase::Users),
            builtin_phase(BuiltinPhase::Users, None)
        );
        // The seed reaches the engine.
        let cfg = engine_config(&sc, Path::new("/"), None, None).unwrap();
        assert_eq!(cfg.seed, Some(11));
        // Users flags on a scenario without users phases.
        let (_dir2, open_only) = scenario_file("[[phases]]\nkind = \"soak\"\n");
        assert_eq!(
            plan(&PlanOptions {
                scenario: Some(open_only),
                users: Some(UsersArg::Fixed(3)),
                ..opts(None)
            })
            .unwrap_err()
            .to_string(),
            "--users is for users phases, and the scenario has none (add one or pass --phase users)"
        );
    }

    #[test]
    fn the_dashboard_keys_start_the_flags_phases() {
        let s = Duration::from_secs;
        // No scenario: the flags make the users phase the key starts.
        let sc = plan_dashboard(&PlanOptions {
            users: Some(UsersArg::Fixed(4)),
            think: Some(Think::Constant(s(1))),
            arrivals: Some(ArrivalProcess::Poisson),
            ..PlanOptions::default()
        })
        .unwrap();
        let u = phase_for(&sc, BuiltinPhase::Users);
        assert_eq!(stages(&u), [(4, s(60), None)]);
        assert_eq!(u.users.unwrap().think, Think::Constant(s(1)));
        assert_eq!(
            phase_for(&sc, BuiltinPhase::Spike).arrivals,
            ArrivalProcess::Poisson
        );
        // Without shaping flags the dashboard plan has no phases of its own.
        assert!(plan_dashboard(&PlanOptions::default())
            .unwrap()
            .phases
            .is_empty());
        // A scenario's users phase is shaped in place.
        let (_dir, path) = scenario_file(MIXED);
        let sc = plan_dashboard(&PlanOptions {
            scenario: Some(path),
            max_sessions: Some(2),
            ..PlanOptions::default()
        })
        .unwrap();
        assert_eq!(sc.phases.len(), 2);
        let u = phase_for(&sc, BuiltinPhase::Users);
        assert_eq!(stages(&u), [(5, s(60), None), (9, s(60), None)]);
        assert_eq!(u.users.unwrap().max_sessions, 2);
    }
}
