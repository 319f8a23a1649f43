//! Command-line arguments (clap). Parsing only: `main.rs` dispatches, and each
//! subcommand's work lives in its own room.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "jetstress",
    version,
    about = "Stress-test console for edge-AI boxes (NVIDIA Jetson first, any Linux box too)",
    long_about = "Stress-test console for edge-AI boxes.\n\n\
        Without a subcommand jetstress opens the live dashboard. Subcommands read the \
        board once (probe), serve its telemetry over MCP (mcp-serve) or score the \
        throttle predictions on a recorded trace (predict-eval), run load headless (run) \
        or rebuild a run's report from its recording (report)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub dashboard: crate::ui::DashboardArgs,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Read sysfs/procfs under this directory instead of `/` (fixture trees, captures).
    #[arg(long, global = true, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,

    /// Sampling interval, e.g. `1s`, `250ms` (minimum 100ms).
    #[arg(long, global = true, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,

    /// True when `--interval` came from the command line (it then beats the config file).
    #[arg(skip)]
    pub interval_explicit: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the board once (two samples 250 ms apart) and print it.
    Probe(ProbeArgs),
    /// Replay a recording or a tegrastats/CSV trace through the dashboard.
    Replay(crate::ui::ReplayArgs),
    /// Score throttle predictions against a recorded trace (tegrastats, CSV).
    PredictEval(crate::report::predict_eval::EvalArgs),
    /// Run load phases headless (no terminal UI) and write a JSON summary.
    Run(crate::commands::run::RunArgs),
    /// Rebuild a run's report (JSON, Markdown, charts) from its recording.
    Report(crate::report::rebuild::ReportArgs),
    /// Serve the board's telemetry as MCP tools (stdio, or --http)
    McpServe(crate::export::mcp::ServeArgs),
}

#[derive(Debug, Clone, Args, Default)]
pub struct WatchArgs {
    /// Watch this process's RSS (repeatable).
    #[arg(long = "watch-pid", value_name = "PID")]
    pub pids: Vec<u32>,
    /// Watch processes with this name (comm or script name; repeatable).
    #[arg(long = "watch-name", value_name = "NAME")]
    pub names: Vec<String>,
}

impl WatchArgs {
    pub fn watches(&self) -> Vec<crate::probes::Watch> {
        self.pids
            .iter()
            .map(|p| crate::probes::Watch::Pid(*p))
            .chain(
                self.names
                    .iter()
                    .map(|n| crate::probes::Watch::Name(n.clone())),
            )
            .collect()
    }
}

#[derive(Debug, Clone, Args)]
pub struct ProbeArgs {
    /// Print one JSON object (schema `jetstress.snapshot/1`).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// Parse `1s`, `250ms`, `2m`, `1h`, `1.5s` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (try 1s, 250ms, 10m)"))?;
    let secs = match unit.trim() {
        "ms" => v / 1000.0,
        "s" | "" => v,
        "m" | "min" => v * 60.0,
        "h" => v * 3600.0,
        u => return Err(format!("unknown unit '{u}' in '{s}' (use ms, s, m or h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("'{s}' is not a valid duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3 days").is_err());
    }
}
