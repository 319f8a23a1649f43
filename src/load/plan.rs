//! The plan: a scenario file and the command line's overrides resolved into
//! one [`Scenario`] (targets, sessions, limits, phases), and that scenario
//! into the [`EngineConfig`] both front ends start the engine from. Pure
//! apart from reading the scenario file and finding the own executable.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::collector::CollectorCommand;
use crate::load::drivers::mcp::{split_command, Endpoint, McpTargetSpec};
use crate::load::engine::EngineConfig;
use crate::load::scenario::{self, Scenario, TargetPlan};
use crate::load::schedule::{PhaseKind, PhaseSpec, SoakParams, SpikeParams, StressParams};
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
}

impl BuiltinPhase {
    pub fn kind(self) -> PhaseKind {
        match self {
            BuiltinPhase::Spike => PhaseKind::Spike,
            BuiltinPhase::Stress => PhaseKind::Stress,
            BuiltinPhase::Soak => PhaseKind::Soak,
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
    pub timeout: Option<Duration>,
    pub log_dir: Option<PathBuf>,
}

/// Resolve flags and scenario into one plan with at least one phase (`jetstress run`).
pub fn plan(args: &PlanOptions) -> anyhow::Result<Scenario> {
    if args.scenario.is_none() && args.phase.is_none() {
        anyhow::bail!("give --scenario FILE or --phase spike|stress|soak");
    }
    let mut sc = plan_targets(args)?;
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
        PhaseKind::Custom | PhaseKind::Users => {}
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
            TargetPlan::Spec(s) => s.name.clone().unwrap_or_else(|| "mcp".into()),
        })
        .collect();
    names.extend(sc.http.iter().map(|h| h.name.clone()));
    names.join(", ")
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
        mix: sc.mix.clone(),
        max_in_flight: sc.max_in_flight,
        timeout: sc.timeout,
        log_dir: log_dir(sc),
        root: Root::new(root),
        memory_floor_pct: sc.guards.memory_floor_pct,
        snapshots,
        collector,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
