//! `jetstress check`: probe one MCP server (a stdio command, a URL, or the
//! built-in server) with invalid inputs derived from each tool's schema,
//! protocol abuse and a lifecycle check; print the table to stderr and
//! write `jetstress.check/1`. Exit 0 on PASS, 1 on FAIL (or when the server
//! never came up), 2 on errors of use, 130 when interrupted (SIGINT or
//! SIGTERM: the check's children are killed with it).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use jetstress::check::{
    self, CheckPlan, CheckReport, CheckResult, CheckTarget, Limits, StdioSpec, Step,
};
use jetstress::load::{builtin_target, split_command, Endpoint, McpTargetSpec};
use tokio::signal::unix::{signal, SignalKind};

use crate::cli::{CheckArgs, GlobalArgs};
use crate::commands::progress::{Progress, Status};

/// The check's plan from the command line.
pub fn plan(global: &GlobalArgs, args: &CheckArgs) -> anyhow::Result<CheckPlan> {
    let spec = match (&args.target_cmd, &args.target_url) {
        (Some(_), Some(_)) => anyhow::bail!("give --target-cmd or --target-url, not both"),
        (Some(cmd), None) => {
            let mut parts = split_command(cmd).map_err(|e| anyhow::anyhow!("--target-cmd: {e}"))?;
            let program = parts.remove(0);
            McpTargetSpec {
                name: None,
                endpoint: Endpoint::Stdio {
                    program: program.into(),
                    args: parts,
                    env: vec![],
                },
                sessions: 1,
            }
        }
        (None, Some(url)) => McpTargetSpec {
            name: None,
            endpoint: Endpoint::Http { url: url.clone() },
            sessions: 1,
        },
        (None, None) => builtin_target(None, 1, &global.root)?,
    };
    let label = spec.name.clone().unwrap_or_else(|| spec.fallback_name());
    let (target, name) = match spec.endpoint {
        Endpoint::Stdio {
            program,
            args: a,
            env,
        } => {
            let name = match (&args.target_cmd, &spec.name) {
                (Some(cmd), _) => cmd.clone(),
                (None, Some(n)) => n.clone(),
                (None, None) => label.clone(),
            };
            (
                CheckTarget::Stdio(StdioSpec {
                    program,
                    args: a,
                    env,
                }),
                name,
            )
        }
        Endpoint::Http { url } => (CheckTarget::Http(url.clone()), url),
    };
    Ok(CheckPlan {
        instances: match target {
            CheckTarget::Stdio(_) => args.instances,
            CheckTarget::Http(_) => 0,
        },
        target,
        name,
        label,
        timeout: args.timeout,
        log_dir: args.log_dir.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("jetstress-check-{}", std::process::id()))
        }),
        limits: Limits::default(),
    })
}

pub fn run(global: &GlobalArgs, args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let plan = plan(global, args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_async(&plan, args))
}

async fn run_async(plan: &CheckPlan, args: &CheckArgs) -> anyhow::Result<ExitCode> {
    eprintln!(
        "jetstress check: {} · timeout {} ms · server logs in {}",
        plan.name,
        plan.timeout.as_millis(),
        plan.log_dir.display()
    );
    let mut sigterm = signal(SignalKind::terminate())?;
    // A bar on a terminal (steps: each tool, the protocol probes, the
    // lifecycle; ETA from the time per step so far), plain lines otherwise.
    let bar = Progress::for_stderr(Duration::ZERO);
    let began = Instant::now();
    let (mut steps, mut done) = (0usize, 0usize);
    let mut progress = |step: Step, line: &str| {
        match step {
            Step::Started { steps: n } => steps = n,
            Step::Finished => done += 1,
            Step::Note => {}
        }
        bar.line(line);
        if bar.is_bar() {
            let elapsed = began.elapsed();
            let total = (done > 0).then(|| elapsed.mul_f64(steps.max(done) as f64 / done as f64));
            bar.update(
                &Status {
                    title: format!("check {done}/{steps}"),
                    detail: line.to_string(),
                    done: elapsed,
                    total,
                },
                || None,
            );
        }
    };
    // Dropping the check's future (on a signal) kills every server it started.
    let result = tokio::select! {
        r = check::run(plan, &mut progress) => r,
        _ = tokio::signal::ctrl_c() => return Ok(interrupted()),
        _ = sigterm.recv() => return Ok(interrupted()),
    };
    bar.finish();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("result: FAIL");
            return Ok(ExitCode::from(1));
        }
    };
    eprint!("{}", report.table(&plan.limits));
    if let Some(out) = &args.json {
        write_json(out, &report)?;
    }
    if let Some(dir) = &args.report {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        write_json(&dir.join("check.json"), &report)?;
        let md = dir.join("check.md");
        std::fs::write(&md, report.markdown(&plan.limits))
            .map_err(|e| anyhow::anyhow!("{}: {e}", md.display()))?;
        eprintln!("report written to {}", dir.display());
    }
    Ok(match report.result {
        CheckResult::Pass => ExitCode::SUCCESS,
        CheckResult::Fail => ExitCode::from(1),
    })
}

fn interrupted() -> ExitCode {
    eprintln!("interrupted: the check's servers were stopped");
    ExitCode::from(130)
}

fn write_json(out: &Path, report: &CheckReport) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)? + "\n";
    if out.as_os_str() == "-" {
        std::io::stdout().write_all(text.as_bytes())?;
    } else {
        std::fs::write(out, text).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    }
    Ok(())
}
