//! One file per subcommand: arguments → plan → library → output and exit
//! code. This file holds the conversions the commands share (clap types into
//! the library's plain options).

pub mod campaign;
pub mod capture;
pub mod check;
pub mod completions;
pub mod dashboard;
pub mod man;
pub mod mcp_serve;
pub mod predict_eval;
pub mod probe;
pub mod progress;
pub mod replay;
pub mod report;
pub mod run;

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use jetstress::export::{check_bind, Service};
use jetstress::load::{LlmFlags, PlanOptions};
use jetstress::probes::{resolve_cgroup, resolve_container, Root, Watch};
use jetstress::recording::RecorderConfig;
use jetstress::ui::{ColorChoice, DashboardOptions, RecordPlan};

use crate::cli::{
    ColorArg, DashboardArgs, GlobalArgs, LlmArgs, MetricsArgs, ModelArgs, RecordArgs, WatchArgs,
};

/// `--color` for the dashboard's themes.
pub fn color_choice(c: ColorArg) -> ColorChoice {
    match c {
        ColorArg::Auto => ColorChoice::Auto,
        ColorArg::Always => ColorChoice::Always,
        ColorArg::Never => ColorChoice::Never,
    }
}

/// `--color` for log lines on stderr: `auto` colours them on a terminal
/// unless `NO_COLOR` is set.
pub fn stderr_ansi(c: ColorArg) -> bool {
    match c {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// `--users`, `--think`, `--spawn-rate`, `--requests`, `--max-sessions`,
/// `--arrivals`, `--seed` and `--invalid-pct` onto the plan options.
pub fn with_model(m: &ModelArgs, opts: PlanOptions) -> PlanOptions {
    PlanOptions {
        users: m.users,
        think: m.think,
        spawn_rate: m.spawn_rate,
        requests: m.requests,
        max_sessions: m.max_sessions,
        arrivals: m.arrivals,
        seed: m.seed,
        invalid_pct: m.invalid_pct,
        ..opts
    }
}

/// `--llm-url` and the flags shaping LLM requests onto the plan options.
pub fn with_llm(l: &LlmArgs, opts: PlanOptions) -> PlanOptions {
    PlanOptions {
        llm: LlmFlags {
            urls: l.llm_url.clone(),
            api: l.llm_api,
            model: l.llm_model.clone(),
            max_tokens: l.max_tokens,
            prompt: l.prompt.clone(),
            no_stream: l.no_stream,
        },
        ..opts
    }
}

/// `--watch-pid`, `--watch-name`, `--watch-cgroup` and `--watch-container`;
/// cgroups and containers are found under `root` now, so a wrong one is an
/// error at start naming what was searched.
pub fn watches(w: &WatchArgs, root: &Path) -> anyhow::Result<Vec<Watch>> {
    let root = Root::new(root);
    let mut out: Vec<Watch> = w
        .pids
        .iter()
        .map(|p| Watch::Pid(*p))
        .chain(w.names.iter().map(|n| Watch::Name(n.clone())))
        .collect();
    for c in &w.cgroups {
        let rel =
            resolve_cgroup(&root, c).with_context(|| format!("--watch-cgroup {}", c.display()))?;
        out.push(Watch::Cgroup(rel));
    }
    for c in &w.containers {
        let rel = resolve_container(&root, c).with_context(|| format!("--watch-container {c}"))?;
        out.push(Watch::Cgroup(rel));
    }
    Ok(out)
}

fn rotate_bytes(r: &RecordArgs) -> Option<u64> {
    r.record_max_mb.map(|mb| mb * 1024 * 1024)
}

/// The recorder configuration for `--record`, when given.
pub fn recorder_config(r: &RecordArgs) -> Option<RecorderConfig> {
    r.record.as_ref().map(|path| RecorderConfig {
        path: path.clone(),
        append: r.append,
        rotate_bytes: rotate_bytes(r),
    })
}

/// The `/metrics` address and token, after the bind check; `None` when not asked for.
pub fn metrics_checked(m: &MetricsArgs) -> anyhow::Result<Option<(SocketAddr, Option<String>)>> {
    match m.metrics {
        Some(addr) => {
            check_bind(Service::Metrics, addr, m.metrics_token.as_deref())?;
            Ok(Some((addr, m.metrics_token.clone())))
        }
        None => Ok(None),
    }
}

/// The dashboard's options from the global and dashboard flags.
pub fn dashboard_options(
    global: &GlobalArgs,
    args: &DashboardArgs,
) -> anyhow::Result<DashboardOptions> {
    Ok(DashboardOptions {
        root: global.root.clone(),
        interval: global.interval,
        interval_explicit: global.interval_explicit,
        config: args.config.clone(),
        theme: args.theme.clone(),
        dot_marker: args.dot_marker,
        watches: watches(&args.watch, &global.root)?,
        record: RecordPlan {
            start: args.record.record.clone(),
            append: args.record.append,
            rotate_bytes: rotate_bytes(&args.record),
        },
        metrics: metrics_checked(&args.metrics)?,
        color: color_choice(global.color),
    })
}
