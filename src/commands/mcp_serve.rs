//! `jetstress mcp-serve [--http [ADDR]] [--token T] [--metrics ADDR]`: the
//! board's telemetry and predictions as read-only MCP tools, and optionally
//! the same board as Prometheus `/metrics` from the one collector.

use std::process::ExitCode;

use jetstress::export::ServeOptions;

use crate::cli::{GlobalArgs, ServeArgs};

pub fn run(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    jetstress::export::run_mcp_server(&ServeOptions {
        root: global.root.clone(),
        interval: global.interval,
        watches: super::watches(&args.watch, &global.root)?,
        http: args.http.clone(),
        token: args.token.clone(),
        metrics: super::metrics_checked(&args.metrics)?,
        ansi_logs: super::stderr_ansi(global.color),
    })
}
