//! Command-line arguments (clap): every clap type of jetstress and nothing
//! else. Only `main.rs` and `commands/` read them; each command turns its
//! arguments into the library's own plain options.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use jetstress::config::parse_duration;
use jetstress::export::{parse_listen_addr, AddrError, ListenAddr};
use jetstress::load::{ArrivalProcess, LlmApi, Think, UsersArg};

/// `jetstress 0.1.0 (a1b2c3d 2026-12-01)`: the commit (`-dirty` when the tree
/// had changes) and the UTC build date come from `build.rs`, `unknown` without git.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("JETSTRESS_GIT_COMMIT"),
    " ",
    env!("JETSTRESS_BUILD_DATE"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "jetstress",
    version = VERSION,
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
    pub dashboard: DashboardArgs,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Read sysfs/procfs under this directory instead of `/` (fixture trees, captures).
    #[arg(long, global = true, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,

    /// Sampling interval, e.g. `1s`, `250ms` (minimum 100ms).
    #[arg(long, global = true, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,

    /// Colour: `auto` (colour unless `NO_COLOR` is set; log lines only on a
    /// terminal), `always` (even with `NO_COLOR`), `never` (monochrome).
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorArg::Auto)]
    pub color: ColorArg,

    /// True when `--interval` came from the command line (it then beats the config file).
    #[arg(skip)]
    pub interval_explicit: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorArg {
    /// Colour unless `NO_COLOR` is set (log lines: only on a terminal)
    #[default]
    Auto,
    /// Colour, even when `NO_COLOR` is set
    Always,
    /// No colour: the monochrome screen of `NO_COLOR`
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShellArg {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: ShellArg,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the board once (two samples 250 ms apart) and print it.
    Probe(ProbeArgs),
    /// Replay a recording or a tegrastats/CSV trace through the dashboard.
    Replay(ReplayArgs),
    /// Score throttle predictions against a recorded trace (tegrastats, CSV).
    PredictEval(EvalArgs),
    /// Run load phases headless (no terminal UI) and write a JSON summary.
    Run(RunArgs),
    /// Run a whole stress-testing campaign: a baseline, scenarios with
    /// recovery between them, and one readiness report; resumable.
    Campaign(CampaignArgs),
    /// Rebuild a run's report (JSON, Markdown, charts) from its recording.
    Report(ReportArgs),
    /// Serve the board's telemetry as MCP tools (stdio, or --http)
    McpServe(ServeArgs),
    /// Probe an MCP server with invalid inputs from each tool's schema, protocol abuse and lifecycle checks.
    Check(CheckArgs),
    /// Print a shell completion script to stdout (bash, zsh, fish).
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout.
    Man,
}

#[derive(Debug, Clone, Args, Default)]
pub struct WatchArgs {
    /// Watch this process's RSS (repeatable).
    #[arg(long = "watch-pid", value_name = "PID")]
    pub pids: Vec<u32>,
    /// Watch processes with this name (comm or script name; repeatable).
    #[arg(long = "watch-name", value_name = "NAME")]
    pub names: Vec<String>,
    /// Watch a cgroup v2 directory as one entry: memory.current and CPU %
    /// (relative to /sys/fs/cgroup under --root; repeatable).
    #[arg(long = "watch-cgroup", value_name = "PATH")]
    pub cgroups: Vec<PathBuf>,
    /// Watch a container's cgroup: a Docker name, or a Docker/containerd/Podman
    /// id or id prefix, found under /sys/fs/cgroup (repeatable).
    #[arg(long = "watch-container", value_name = "NAME")]
    pub containers: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ProbeArgs {
    /// Print one JSON object (schema `jetstress.snapshot/1`).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// `--record FILE [--append] [--record-max-mb MB]`, shared by the dashboard
/// and `jetstress run`.
#[derive(Debug, Clone, Args, Default)]
pub struct RecordArgs {
    /// Record to this JSONL file (`jetstress.recording/1`): snapshots, events,
    /// load windows, predictions and the run summary (`r` toggles it in the dashboard).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Add to an existing recording instead of choosing a new name.
    #[arg(long, requires = "record")]
    pub append: bool,
    /// Start a new recording part after this many MB (`run.1.jsonl`, …).
    #[arg(long, value_name = "MB")]
    pub record_max_mb: Option<u64>,
}

/// `--metrics ADDR [--metrics-token T]`, shared by the dashboard and `jetstress run`.
#[derive(Debug, Clone, Default, Args)]
pub struct MetricsArgs {
    /// Serve Prometheus /metrics on this address, `IP:PORT` or `HOST:PORT`
    /// (loopback unless --metrics-token is set).
    #[arg(long, value_name = "ADDR", value_parser = socket_addr)]
    pub metrics: Option<SocketAddr>,
    /// Bearer token required by /metrics (needed for a non-loopback address).
    #[arg(
        long,
        env = "JETSTRESS_METRICS_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub metrics_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PhaseArg {
    /// 2 rps 30 s → 15 rps 30 s → 2 rps 30 s
    Spike,
    /// 1 rps, +3 rps every 60 s, up to 30 rps, until it breaks
    Stress,
    /// 5 rps for 10 min, a row per minute
    Soak,
    /// Closed model: 10 users thinking 2–5 s between requests, 60 s
    Users,
    /// Capacity sweep: one request at a time, then as fast as 16 users go,
    /// then 5 rates between, 30 s each (`--duration` shares the whole)
    Sweep,
}

/// How load arrives, shared by `jetstress run` and the dashboard: the users
/// (closed-model) phase's population and think time, open phases' arrival
/// process, and the seed.
#[derive(Debug, Clone, Args, Default)]
pub struct ModelArgs {
    /// Users phases: N users, or a ramp A..B in doubling steps A, 2A, 4A, … ending at B
    /// (`10..100`: 10, 20, 40, 80, 100), each step an equal share of the phase.
    #[arg(
        long,
        value_name = "N|A..B",
        help_heading = "Users phases (closed model)"
    )]
    pub users: Option<UsersArg>,
    /// Users phases: wait between a reply and the next request: `5s`, `2s..5s`
    /// (uniform) or `pacing:3s` (start to start).
    #[arg(long, value_name = "THINK", value_parser = Think::parse, help_heading = "Users phases (closed model)")]
    pub think: Option<Think>,
    /// Users phases: start (or stop) this many users per second (default: all at once).
    #[arg(long = "spawn-rate", value_name = "R", value_parser = spawn_rate, allow_negative_numbers = true, help_heading = "Users phases (closed model)")]
    pub spawn_rate: Option<f64>,
    /// Users phases: end each step after N requests (a `--duration` is then a cap).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Users phases (closed model)")]
    pub requests: Option<u64>,
    /// Users phases: at most N sessions per MCP target, shared round robin beyond (default 64).
    #[arg(long = "max-sessions", value_name = "N", value_parser = at_least_one, help_heading = "Users phases (closed model)")]
    pub max_sessions: Option<usize>,
    /// Open phases: spread arrivals `uniform` (default), `poisson`, or `gamma:SHAPE`
    /// (SHAPE < 1 burstier than Poisson, > 1 more even).
    #[arg(long, value_name = "PROCESS")]
    pub arrivals: Option<ArrivalProcess>,
    /// Seed the tool mix, think times and arrivals, so a run can be repeated
    /// (beats the scenario's `seed`).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Replace P % of MCP calls with invalid inputs derived from each tool's
    /// own schema, counted apart (graceful / accepted / hang / crash).
    #[arg(long = "invalid-pct", value_name = "P", value_parser = percent, allow_negative_numbers = true)]
    pub invalid_pct: Option<f64>,
}

/// LLM inference endpoints to load, shared by `jetstress run` and the dashboard.
#[derive(Debug, Clone, Args, Default)]
pub struct LlmArgs {
    /// An LLM endpoint, e.g. `http://127.0.0.1:8080/v1/chat/completions` (repeatable;
    /// replaces the scenario's `[[llm]]`). TTFT, ITL, TPOT and tokens/s per request.
    #[arg(long = "llm-url", value_name = "URL", help_heading = "LLM endpoints")]
    pub llm_url: Vec<String>,
    /// `openai-chat` (default), `openai-completions` or `ollama`.
    #[arg(long = "llm-api", value_name = "API", help_heading = "LLM endpoints")]
    pub llm_api: Option<LlmApi>,
    /// The `model` field of each request (default `local`).
    #[arg(long = "llm-model", value_name = "M", help_heading = "LLM endpoints")]
    pub llm_model: Option<String>,
    /// Output tokens asked per request (default 128).
    #[arg(long = "max-tokens", value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = "LLM endpoints")]
    pub max_tokens: Option<u32>,
    /// The user message sent (default "Explain Python decorators").
    #[arg(long, value_name = "TEXT", help_heading = "LLM endpoints")]
    pub prompt: Option<String>,
    /// Ask for one JSON reply instead of a token stream (TTFT then equals E2E).
    #[arg(long = "no-stream", help_heading = "LLM endpoints")]
    pub no_stream: bool,
}

/// `--metrics`: the same forms as `--http` (an IP or host name and a port;
/// a name is resolved here, at start).
fn socket_addr(s: &str) -> Result<SocketAddr, AddrError> {
    parse_listen_addr(s).map(|l| l.addr)
}

/// A flag value outside what the flag takes (clap names the flag); each
/// variant names what was wanted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagValueError {
    #[error("'{0}' is not a positive number of users/s")]
    PositiveRate(String),
    #[error("'{0}' is not a whole number of at least 1")]
    AtLeastOne(String),
    #[error("'{0}' is not a percentage within 0–100")]
    Percent(String),
    #[error("'{0}' is not a time scale (a number above 0, at most 1000)")]
    TimeScale(String),
}

fn percent(s: &str) -> Result<f64, FlagValueError> {
    match s.trim_end_matches('%').parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(FlagValueError::Percent(s.to_string())),
    }
}

fn spawn_rate(s: &str) -> Result<f64, FlagValueError> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(FlagValueError::PositiveRate(s.to_string())),
    }
}

fn at_least_one(s: &str) -> Result<usize, FlagValueError> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(FlagValueError::AtLeastOne(s.to_string())),
    }
}

#[derive(Debug, Clone, Args)]
pub struct CampaignArgs {
    /// Campaign file (TOML): baseline, scenarios in order, recovery
    /// (e.g. `scenarios/seed-000/campaign.toml`). With --resume, the file the
    /// campaign was started with is used when this is left out.
    #[arg(value_name = "FILE", required_unless_present = "resume")]
    pub file: Option<PathBuf>,
    /// Write the campaign here: each step's recording and report in
    /// `DIR/<n>-<name>/`, the state, `campaign.json` and `campaign.md`
    /// (default: `campaign-<name>-<unix time>`).
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Multiply every duration by F (0.001 runs the 40-hour campaign in
    /// about 2.5 minutes); rates and think times stay. Every output says so.
    #[arg(long, value_name = "F", value_parser = parse_time_scale)]
    pub time_scale: Option<f64>,
    /// Go on with the campaign in DIR: only what had not finished runs; the
    /// interruption is reported.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Set the board state a scenario requires (`[board]`: `nvpmodel`,
    /// `jetson_clocks`) instead of stopping; root only. What was changed is
    /// saved first and restored at the end, on a signal, and on the next
    /// start after a crash.
    #[arg(long)]
    pub apply_board: bool,
    /// No dashboard even on a terminal: the progress bar and lines only.
    #[arg(long)]
    pub headless: bool,
    /// Processes and containers to watch beside the targets (RSS, CPU %;
    /// leak-checked like them), in every step.
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// `--time-scale`: a positive factor, at most 1000.
fn parse_time_scale(s: &str) -> Result<f64, FlagValueError> {
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f > 0.0 && f <= 1000.0 => Ok(f),
        _ => Err(FlagValueError::TimeScale(s.to_string())),
    }
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Scenario file (TOML): targets, tool mix, phases, loads, guards.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Run this built-in phase (replaces the scenario's phases).
    #[arg(long, value_enum)]
    pub phase: Option<PhaseArg>,
    /// Stretch or cut each phase to this length, e.g. `90s`, `2h`; the built-in
    /// users phase (default 60s) shares it evenly among its `--users` steps.
    #[arg(long, value_parser = parse_duration, value_name = "D")]
    pub duration: Option<Duration>,
    /// The soak rate, the spike's peak or the stress ceiling (requests/s; open phases).
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub llm: LlmArgs,
    /// An MCP server to spawn as a stdio child, `"CMD ARGS"` (repeatable; replaces the scenario's targets).
    #[arg(long = "target-cmd", value_name = "CMD")]
    pub target_cmd: Vec<String>,
    /// A streamable-HTTP MCP URL (repeatable; replaces the scenario's targets).
    #[arg(long = "target-url", value_name = "URL")]
    pub target_url: Vec<String>,
    /// Client sessions per MCP target (default 10).
    #[arg(long)]
    pub sessions: Option<usize>,
    /// Most requests in flight (default 256); past it a due request waits for
    /// a slot.
    #[arg(long = "max-in-flight")]
    pub max_in_flight: Option<usize>,
    /// How far behind its schedule a request waits for a slot before it is
    /// dropped (default 100ms; 0s: dropped at once, as k6 does).
    #[arg(long = "max-lag", value_parser = parse_duration)]
    pub max_lag: Option<Duration>,
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
    pub metrics: MetricsArgs,
    /// Directory for the targets' stderr logs (default: a temp dir).
    #[arg(long = "log-dir", value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Processes and containers to watch beside the targets (RSS, CPU %).
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// The same load options as `jetstress run` (phases are started with keys).
#[derive(Debug, Clone, Args, Default)]
pub struct LoadArgs {
    /// Scenario file: targets, tool mix, phase settings, CPU/memory/GPU levels, guards.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// An MCP server to spawn as a stdio child, `"CMD ARGS"` (repeatable).
    #[arg(long = "target-cmd", value_name = "CMD")]
    pub target_cmd: Vec<String>,
    /// A streamable-HTTP MCP URL (repeatable).
    #[arg(long = "target-url", value_name = "URL")]
    pub target_url: Vec<String>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub llm: LlmArgs,
}

#[derive(Debug, Clone, Args, Default)]
pub struct DashboardArgs {
    /// Config file (default: $`XDG_CONFIG_HOME/jetstress/config.toml`).
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
    #[command(flatten)]
    pub record: RecordArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// A jetstress recording (JSONL) or a tegrastats / CSV trace.
    pub file: PathBuf,
    /// Playback speed (×0.5/×2 with `<`/`>` while playing).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Throttle trip (°C) for zones the trace gives none (default 99, the Orin sw-throttle trip).
    #[arg(long, value_name = "C")]
    pub trip: Option<f64>,
    #[command(flatten)]
    pub dashboard: DashboardArgs,
}

/// `jetstress predict-eval TRACE [--zone NAME] [--threshold C] [--window S] [--emit FILE.jsonl]`
#[derive(Args, Debug, Clone)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "one field per command-line switch"
)]
pub struct EvalArgs {
    /// Trace file: tegrastats log (any generation), the AGX Orin stats CSV, or a
    /// `time_s,<column>,…` CSV (°C zones; `load_pct`, `gpu_load_pct`,
    /// `power_w`, `clock_mhz`, `throttled` are inputs and labels).
    #[arg(required_unless_present = "corpus", conflicts_with = "corpus")]
    pub trace: Option<PathBuf>,
    /// Score every trace of DIR/manifest.json with the issue-15 protocol
    /// (30–300 s before the truth, errors capped at 100 %), leave-one-trace-out.
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<PathBuf>,
    /// Feed this trace column to the predictor as the board's load:
    /// `load_pct`, `gpu_load_pct` (÷ 100) or `power_w` (W ÷ 100).
    #[arg(long, value_name = "NAME", value_parser = clap::value_parser!(jetstress::recording::InputColumn))]
    pub load_column: Option<jetstress::recording::InputColumn>,
    /// With --corpus: score the load-aware ETA under the trace's own future
    /// load as jetstress's answer (needs --load-column).
    #[arg(long, requires = "load_column")]
    pub planned_load: bool,
    /// With --corpus: score the default settings only, not leave-one-trace-out.
    #[arg(long)]
    pub no_cv: bool,
    /// Score only this zone (default: every zone that heats up enough).
    #[arg(long)]
    pub zone: Option<String>,
    /// Threshold in °C. Default: the zone's trip if the trace crosses it, else
    /// `--trip-fraction` of the way from the start to the peak temperature.
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Where between start and peak temperature the default threshold sits.
    #[arg(long, default_value_t = 0.9)]
    pub trip_fraction: f64,
    /// Zones rising less than this (°C, start to peak) are not scored.
    #[arg(long, default_value_t = 2.0)]
    pub min_rise: f64,
    /// Sliding window of the predictor, seconds.
    #[arg(long, default_value_t = 120.0)]
    pub window: f64,
    /// Aim the ETA this many sensor-noise σ below the threshold (the first raw
    /// reading over it is the crossing); see `noise_margin_sigmas`.
    #[arg(long, default_value_t = 0.0)]
    pub noise_margin: f64,
    /// ETA to when the fitted curve reaches the threshold, not to the first
    /// raw reading over it (turns `first_passage` off; for comparison).
    #[arg(long)]
    pub no_first_passage: bool,
    /// Write one JSON line per chosen-model prediction:
    /// `{t_s, zone, eta_s, lo_s, hi_s, model}` (`eta_s` null = no crossing
    /// predicted); with --load-column also `eta_planned_s`, `lo_planned_s`,
    /// `hi_planned_s` (the load-aware ETA under the trace's future load).
    #[arg(long)]
    pub emit: Option<PathBuf>,
    /// Print the report as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// A `jetstress.recording/1` file (from `run --record`, `--record` or `r`
    /// in the dashboard); its rotation parts (`NAME.1.jsonl`, …) are read after it.
    #[arg(value_name = "RECORDING")]
    pub recording: PathBuf,
    /// Directory for `report.json`, `report.md` and the charts (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Serve streamable HTTP at ADDR (path /mcp) instead of stdio: `IP:PORT`,
    /// `[::1]:PORT` or `HOST:PORT` (resolved at start); `--http` alone means 127.0.0.1:7400.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = jetstress::export::DEFAULT_MCP_HTTP_ADDR, value_parser = parse_listen_addr)]
    pub http: Option<ListenAddr>,

    /// Require `Authorization: Bearer TOKEN` on every HTTP request (needed for a non-loopback bind).
    #[arg(long, value_name = "TOKEN", env = jetstress::export::MCP_TOKEN_ENV, hide_env_values = true)]
    pub token: Option<String>,

    #[command(flatten)]
    pub metrics: MetricsArgs,

    #[command(flatten)]
    pub watch: WatchArgs,
}

/// `jetstress check [--target-cmd CMD | --target-url URL] [--instances N] [--timeout D] [--json OUT] [--report DIR]`
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The MCP server to check, spawned as a stdio child: `"CMD ARGS"` (default: the built-in server).
    #[arg(long = "target-cmd", value_name = "CMD", conflicts_with = "target_url")]
    pub target_cmd: Option<String>,
    /// A streamable-HTTP MCP URL to check instead.
    #[arg(long = "target-url", value_name = "URL")]
    pub target_url: Option<String>,
    /// Stdio servers started at once for the lifecycle check (0: none).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub instances: usize,
    /// A call unanswered this long is a hang.
    #[arg(long, value_parser = parse_duration, value_name = "D", default_value = "5s")]
    pub timeout: Duration,
    /// Write the `jetstress.check/1` result here (`-`: stdout).
    #[arg(long, value_name = "OUT")]
    pub json: Option<PathBuf>,
    /// Write `check.md` and `check.json` into this directory.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Directory for the servers' stderr logs (default: a temp dir).
    #[arg(long = "log-dir", value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::error::ErrorKind;
    use clap::Parser;
    use jetstress::load::{ArrivalProcess, Think, UsersArg};

    use super::{Cli, Command, PhaseArg};

    fn run(args: &[&str]) -> Result<super::RunArgs, clap::Error> {
        let cli = Cli::try_parse_from([&["jetstress", "run"], args].concat())?;
        match cli.command {
            Some(Command::Run(r)) => Ok(r),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn users_flags_parse() {
        let r = run(&[
            "--phase",
            "users",
            "--users",
            "10..100",
            "--think",
            "2s..5s",
            "--spawn-rate",
            "5",
            "--requests",
            "20",
            "--max-sessions",
            "8",
            "--seed",
            "42",
            "--duration",
            "30s",
        ])
        .unwrap();
        assert_eq!(r.phase, Some(PhaseArg::Users));
        let m = r.model;
        assert_eq!(m.users, Some(UsersArg::Ramp { from: 10, to: 100 }));
        assert_eq!(
            m.think,
            Some(Think::Uniform {
                min: Duration::from_secs(2),
                max: Duration::from_secs(5)
            })
        );
        assert_eq!(
            (m.spawn_rate, m.requests, m.max_sessions),
            (Some(5.0), Some(20), Some(8))
        );
        assert_eq!(m.seed, Some(42));
        let m = run(&[
            "--think",
            "pacing:3s",
            "--arrivals",
            "gamma:0.5",
            "--users",
            "7",
        ])
        .unwrap()
        .model;
        assert_eq!(m.think, Some(Think::Pacing(Duration::from_secs(3))));
        assert_eq!(m.arrivals, Some(ArrivalProcess::Gamma { shape: 0.5 }));
        assert_eq!(m.users, Some(UsersArg::Fixed(7)));
        // The dashboard takes the same flags.
        let cli = Cli::try_parse_from(["jetstress", "--users", "3", "--think", "1s"]).unwrap();
        assert_eq!(cli.dashboard.load.model.users, Some(UsersArg::Fixed(3)));
    }

    #[test]
    fn the_command_line_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    fn serve(args: &[&str]) -> Result<super::ServeArgs, clap::Error> {
        let cli = Cli::try_parse_from([&["jetstress", "mcp-serve"], args].concat())?;
        match cli.command {
            Some(Command::McpServe(s)) => Ok(s),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn http_takes_ips_and_host_names() {
        let addr = |args: &[&str]| serve(args).unwrap().http.map(|l| l.addr.to_string());
        assert_eq!(addr(&[]), None);
        assert_eq!(addr(&["--http"]).as_deref(), Some("127.0.0.1:7400"));
        assert_eq!(
            addr(&["--http", "[::1]:7400"]).as_deref(),
            Some("[::1]:7400")
        );
        assert_eq!(
            addr(&["--http", "0.0.0.0:7400"]).as_deref(),
            Some("0.0.0.0:7400")
        );
        let local = serve(&["--http", "localhost:7400"]).unwrap().http.unwrap();
        assert!(local.addr.ip().is_loopback() && local.addr.port() == 7400);
        assert_eq!(local.host.as_deref(), Some("localhost"));
        // `--http` alone is still a flag: the next word is not its value.
        let s = serve(&["--http", "--watch-name", "srv"]).unwrap();
        assert_eq!(s.http.unwrap().addr.to_string(), "127.0.0.1:7400");
        let e = serve(&["--http", ":7400"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--http"), "{e}");
        let m = serve(&["--metrics", "localhost:9464"])
            .unwrap()
            .metrics
            .metrics;
        assert!(m.unwrap().ip().is_loopback());
    }

    #[test]
    fn color_is_global() {
        use super::ColorArg;
        let cli = Cli::try_parse_from(["jetstress", "probe", "--color", "never"]).unwrap();
        assert_eq!(cli.global.color, ColorArg::Never);
        let cli = Cli::try_parse_from(["jetstress", "--color=always"]).unwrap();
        assert_eq!(cli.global.color, ColorArg::Always);
        let cli = Cli::try_parse_from(["jetstress"]).unwrap();
        assert_eq!(cli.global.color, ColorArg::Auto);
        let e = Cli::try_parse_from(["jetstress", "--color", "sometimes"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidValue);
        assert!(e.to_string().contains("--color"), "{e}");
    }

    #[test]
    fn bad_values_name_the_flag() {
        for (flag, value, why) in [
            ("--users", "0", "at least 1 user"),
            ("--users", "8..2", "the ramp's start is above its end"),
            ("--users", "abc", "is not a number of users"),
            (
                "--think",
                "5s..2s",
                "the range's minimum is above its maximum",
            ),
            ("--think", "soon", "is not a duration"),
            ("--spawn-rate", "0", "is not a positive number of users/s"),
            ("--spawn-rate", "-1", "is not a positive number of users/s"),
            ("--requests", "0", "0 is not in 1.."),
            ("--max-sessions", "0", "is not a whole number of at least 1"),
            ("--arrivals", "gamma:0", "is not an arrival process"),
            ("--arrivals", "bursty", "is not an arrival process"),
            ("--seed", "x", "invalid digit"),
            ("--invalid-pct", "101", "is not a percentage within 0–100"),
            ("--invalid-pct", "-5", "is not a percentage within 0–100"),
        ] {
            let e = run(&[flag, value]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ValueValidation, "{flag} {value}");
            assert_eq!(e.exit_code(), 2);
            let text = e.to_string();
            assert!(
                text.contains(flag) && text.contains(why),
                "{flag} {value}: {text}"
            );
        }
    }
}
