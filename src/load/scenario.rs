//! The scenario file (TOML): targets, HTTP endpoints, tool mix, sessions,
//! `max_in_flight`, timeout, seed, phases (open-model rates with their
//! arrival process, or closed-model `users` with think time), CPU/memory/GPU
//! load, guards and acceptance criteria. Pure parsing: [`parse`] takes the
//! text and a name for errors; unknown fields are errors, and every error
//! names the file, line and field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use toml::Spanned;

use crate::config::de_opt_duration;

use crate::load::background::cpu::CpuSpec;
use crate::load::background::gpu::GpuSpec;
use crate::load::background::memory::MemorySpec;
use crate::load::drivers::http::HttpEndpointSpec;
use crate::load::drivers::llm::{LlmApi, LlmSpec, PromptSource};
use crate::load::drivers::mcp::{split_command, Endpoint, McpTargetSpec};
use crate::load::engine::{MixEntry, DEFAULT_MAX_LAG};
use crate::load::guards::GuardConfig;
use crate::load::schedule::{
    ArrivalProcess, BreakCriteria, PhaseSpec, SoakParams, SpikeParams, StressParams, SweepMode,
    SweepParams, Think, UsersSpec, DEFAULT_MAX_SESSIONS, MAX_USERS,
};

/// Default concurrent client sessions per MCP target (ten agent CLIs at once).
pub const DEFAULT_SESSIONS: usize = 10;
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// A users phase without `think` waits this long between a reply and the next request.
pub const DEFAULT_THINK: Think = Think::Constant(Duration::from_secs(1));

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CommandLine {
    Line(String),
    Argv(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetCfg {
    pub name: Option<String>,
    /// `"node server.js stdio"` or `["node", "server.js", "stdio"]`.
    pub cmd: Option<CommandLine>,
    /// Streamable-HTTP URL.
    pub url: Option<String>,
    /// The built-in server (`jetstress mcp-serve`).
    #[serde(default)]
    pub builtin: bool,
    pub sessions: Option<usize>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCfg {
    pub name: String,
    #[serde(default = "d_get")]
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Option<serde_json::Value>,
}

fn d_get() -> String {
    "GET".into()
}

/// `[[llm]]`: an LLM inference endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmCfg {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub api: LlmApi,
    #[serde(default = "d_model")]
    pub model: String,
    pub max_tokens: Option<u32>,
    pub prompt: Option<String>,
    /// A JSONL file of prompts (relative to the scenario file).
    pub prompts: Option<PathBuf>,
    pub synthetic: Option<SyntheticCfg>,
    #[serde(default = "d_true")]
    pub stream: bool,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticCfg {
    pub input_words: usize,
    pub output_tokens: u32,
}

fn d_model() -> String {
    DEFAULT_LLM_MODEL.into()
}

fn d_true() -> bool {
    true
}

/// `model` when the scenario gives none (llama.cpp's server takes any name).
pub const DEFAULT_LLM_MODEL: &str = "local";
/// `max_tokens` when the scenario gives none.
pub const DEFAULT_MAX_TOKENS: u32 = 128;
/// The prompt when the scenario gives none.
pub const DEFAULT_PROMPT: &str = "Explain Python decorators";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixCfg {
    pub tool: String,
    #[serde(default = "d_one")]
    pub weight: f64,
    pub args: Option<serde_json::Map<String, serde_json::Value>>,
    /// Share of this entry's calls, %, replaced by invalid inputs.
    pub invalid_pct: Option<f64>,
}

fn d_one() -> f64 {
    1.0
}

/// One entry of `stages`: `{rate, duration}` in a custom phase, `{users,
/// duration and/or requests}` in a users phase; which fields belong is
/// checked per kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageCfg {
    pub name: Option<String>,
    pub rate: Option<f64>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub duration: Option<Duration>,
    pub users: Option<u32>,
    pub requests: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKindCfg {
    Spike,
    Stress,
    Soak,
    Custom,
    Users,
    Sweep,
}

impl PhaseKindCfg {
    fn as_str(self) -> &'static str {
        match self {
            PhaseKindCfg::Spike => "spike",
            PhaseKindCfg::Stress => "stress",
            PhaseKindCfg::Soak => "soak",
            PhaseKindCfg::Custom => "custom",
            PhaseKindCfg::Users => "users",
            PhaseKindCfg::Sweep => "sweep",
        }
    }
}

/// One `[[phases]]` table. Flat (not a tagged enum) so that every value error
/// carries its own line; fields that do not belong to the `kind` are errors.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseCfg {
    pub kind: PhaseKindCfg,
    pub name: Option<String>,
    // spike
    pub baseline_rate: Option<f64>,
    pub peak_rate: Option<f64>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub baseline: Option<Duration>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub spike: Option<Duration>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub recovery: Option<Duration>,
    // stress
    pub start_rate: Option<f64>,
    pub step_rate: Option<f64>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub step_every: Option<Duration>,
    pub max_rate: Option<f64>,
    pub min_success_pct: Option<f64>,
    pub max_p95_ms: Option<f64>,
    pub max_dropped_pct: Option<f64>,
    // soak
    pub rate: Option<f64>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub duration: Option<Duration>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub row_every: Option<Duration>,
    // custom, users
    pub stages: Option<Vec<StageCfg>>,
    pub ramp: Option<bool>,
    // users: `"5s"`, `"2s..5s"` or `{ pacing = "3s" }`, read in `phase_spec`
    // so that a wrong shape gets its own message.
    pub think: Option<toml::Value>,
    pub spawn_rate: Option<f64>,
    pub max_sessions: Option<usize>,
    // open phases (spike, stress, soak, custom, sweep): `"uniform"`, `"poisson"`, `{ gamma = 0.5 }`
    pub arrivals: Option<toml::Value>,
    // sweep: `mode = "rates"` (default) | `"users"`
    pub mode: Option<String>,
    pub rates: Option<usize>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub hold: Option<Duration>,
    pub max_concurrency: Option<u32>,
    pub min_good_pct: Option<f64>,
}

impl PhaseCfg {
    /// Names of the fields set in this table that the kind does not use.
    fn foreign_fields(&self) -> Vec<&'static str> {
        // Used by [spike, stress, soak, custom, users, sweep].
        const SPIKE: [bool; 6] = [true, false, false, false, false, false];
        const STRESS: [bool; 6] = [false, true, false, false, false, false];
        const SOAK: [bool; 6] = [false, false, true, false, false, false];
        const CUSTOM: [bool; 6] = [false, false, false, true, false, false];
        const USERS: [bool; 6] = [false, false, false, false, true, false];
        const STAGES: [bool; 6] = [false, false, false, true, true, false];
        const OPEN: [bool; 6] = [true, true, true, true, false, true];
        const SWEEP: [bool; 6] = [false, false, false, false, false, true];
        let set: [(&'static str, bool, [bool; 6]); 26] = [
            // (field, is set, used by)
            ("baseline_rate", self.baseline_rate.is_some(), SPIKE),
            ("peak_rate", self.peak_rate.is_some(), SPIKE),
            ("baseline", self.baseline.is_some(), SPIKE),
            ("spike", self.spike.is_some(), SPIKE),
            ("recovery", self.recovery.is_some(), SPIKE),
            ("start_rate", self.start_rate.is_some(), STRESS),
            ("step_rate", self.step_rate.is_some(), STRESS),
            ("step_every", self.step_every.is_some(), STRESS),
            ("max_rate", self.max_rate.is_some(), STRESS),
            ("min_success_pct", self.min_success_pct.is_some(), STRESS),
            ("max_p95_ms", self.max_p95_ms.is_some(), STRESS),
            ("max_dropped_pct", self.max_dropped_pct.is_some(), STRESS),
            ("rate", self.rate.is_some(), SOAK),
            ("duration", self.duration.is_some(), SOAK),
            ("row_every", self.row_every.is_some(), SOAK),
            ("stages", self.stages.is_some(), STAGES),
            ("ramp", self.ramp.is_some(), CUSTOM),
            ("think", self.think.is_some(), USERS),
            ("spawn_rate", self.spawn_rate.is_some(), USERS),
            ("max_sessions", self.max_sessions.is_some(), USERS),
            ("arrivals", self.arrivals.is_some(), OPEN),
            ("mode", self.mode.is_some(), SWEEP),
            ("rates", self.rates.is_some(), SWEEP),
            ("hold", self.hold.is_some(), SWEEP),
            ("max_concurrency", self.max_concurrency.is_some(), SWEEP),
            ("min_good_pct", self.min_good_pct.is_some(), SWEEP),
        ];
        let k = self.kind as usize;
        set.iter()
            .filter(|(_, is_set, used)| *is_set && !used[k])
            .map(|(f, _, _)| *f)
            .collect()
    }
}

/// A value in a `[[phases]]` or `[acceptance]` table that cannot be used.
/// `Display` is `field: why`; the scenario parser adds file, line and table.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    /// An acceptance limit that is negative or not a number.
    #[error("{field}: {value} is not a non-negative number")]
    NotNonNegative { field: &'static str, value: f64 },
    /// A percentage acceptance limit outside 0–100 (or not a number).
    #[error("{field}: {value} is not a percentage within 0–100")]
    NotPercentage { field: &'static str, value: f64 },
    /// A phase rate or limit that is negative or not a number.
    #[error("{field}: {value} must be ≥ 0")]
    Negative { field: String, value: f64 },
    /// Fields set in a phase table that its kind does not use.
    #[error("{} not used by a {kind} phase", fields.join(", "))]
    ForeignFields {
        fields: Vec<&'static str>,
        kind: &'static str,
    },
    /// A phase value that is out of range or missing.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: &'static str },
    /// A phase value that cannot be used, with a message naming the value.
    #[error("{field}: {message}")]
    Value { field: String, message: String },
}

/// `field: why` for the first limit that is negative, not a number, or a
/// percentage over 100.
fn check_acceptance(a: &Acceptance) -> Result<(), ScenarioError> {
    let all = [
        ("max_p95_ms", a.max_p95_ms, false),
        ("max_p99_ms", a.max_p99_ms, false),
        ("min_success_pct", a.min_success_pct, true),
        ("max_dropped_pct", a.max_dropped_pct, true),
        ("max_rss_slope_mb_per_h", a.max_rss_slope_mb_per_h, false),
        ("max_temp_c", a.max_temp_c, false),
        ("max_error_pct", a.max_error_pct, true),
        ("min_prediction_lead_s", a.min_prediction_lead_s, false),
        ("max_ttft_ms", a.max_ttft_ms, false),
        ("max_tpot_ms", a.max_tpot_ms, false),
        ("min_goodput_pct", a.min_goodput_pct, true),
        ("max_server_rss_mb", a.max_server_rss_mb, false),
        ("min_uptime_pct", a.min_uptime_pct, true),
        ("max_p95_ms_throttled", a.max_p95_ms_throttled, false),
        ("max_prediction_error_pct", a.max_prediction_error_pct, true),
        ("min_alert_precision_pct", a.min_alert_precision_pct, true),
    ];
    for (field, v, pct) in all {
        if let Some(v) = v {
            if !v.is_finite() || v < 0.0 || (pct && v > 100.0) {
                return Err(if pct {
                    ScenarioError::NotPercentage { field, value: v }
                } else {
                    ScenarioError::NotNonNegative { field, value: v }
                });
            }
        }
    }
    Ok(())
}

/// Pass/fail limits judged at the end of a run (see `report::criteria`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    pub max_p95_ms: Option<f64>,
    pub max_p99_ms: Option<f64>,
    pub min_success_pct: Option<f64>,
    pub max_dropped_pct: Option<f64>,
    pub max_rss_slope_mb_per_h: Option<f64>,
    pub max_temp_c: Option<f64>,
    /// Errors (failed plus dropped) as a share of requests, %; wins over `min_success_pct`.
    pub max_error_pct: Option<f64>,
    /// A throttle must have been predicted at least this long before it happened.
    pub min_prediction_lead_s: Option<f64>,
    /// LLM: time to first token, p95 of the worst stage, and each request's goodput limit.
    pub max_ttft_ms: Option<f64>,
    /// LLM: time per output token, p95 of the worst stage, and each request's goodput limit.
    pub max_tpot_ms: Option<f64>,
    /// LLM: requests meeting `max_ttft_ms` and `max_tpot_ms`, % of those answered.
    pub min_goodput_pct: Option<f64>,
    /// Stdio targets: the largest RSS of one session's server process over
    /// the load windows, MB.
    pub max_server_rss_mb: Option<f64>,
    /// MCP targets: the lowest share of session time a target was up, %.
    pub min_uptime_pct: Option<f64>,
    /// The worst load window's p95 among those that ended while the board
    /// was throttled, ms.
    pub max_p95_ms_throttled: Option<f64>,
    /// Mean over throttle onsets of the median ETA error (30–300 s before
    /// the onset, capped at 100 %, no ETA counts 100 %), %.
    pub max_prediction_error_pct: Option<f64>,
    /// Alerts (a throttle forecast under 5 min) that a throttle onset
    /// followed in time, % of alerts.
    pub min_alert_precision_pct: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: Option<String>,
    /// Seeds the tool mix, think times and arrivals (a run is then repeatable).
    pub seed: Option<u64>,
    /// Share of MCP calls, %, replaced by invalid inputs from each tool's schema.
    pub invalid_pct: Option<f64>,
    #[expect(
        dead_code,
        reason = "for the people reading the scenario file; nothing reads it"
    )]
    pub description: Option<String>,
    pub sessions: Option<usize>,
    pub max_in_flight: Option<usize>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub max_lag: Option<Duration>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub timeout: Option<Duration>,
    pub log_dir: Option<PathBuf>,
    #[serde(default)]
    pub targets: Vec<Spanned<TargetCfg>>,
    #[serde(default)]
    pub http: Vec<Spanned<HttpCfg>>,
    #[serde(default)]
    pub llm: Vec<Spanned<LlmCfg>>,
    #[serde(default)]
    pub mix: Vec<Spanned<MixCfg>>,
    #[serde(default)]
    pub phases: Vec<Spanned<PhaseCfg>>,
    pub cpu: Option<CpuSpec>,
    pub memory: Option<MemorySpec>,
    pub gpu: Option<GpuSpec>,
    #[serde(default)]
    pub guards: GuardConfig,
    pub acceptance: Option<Acceptance>,
    /// The board state the scenario needs (a campaign checks it before loading).
    pub board: Option<BoardRequirement>,
}

/// `[board]`: the power mode and clocks a scenario must run under (a thermal
/// stress at MAXN with `jetson_clocks`); `session::board` checks, applies and
/// restores it. Off Jetson it cannot be judged and the campaign says so.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardRequirement {
    /// A mode name as `nvpmodel -q` prints it (`"MAXN"`) or its id (`0`, `"0"`).
    #[serde(
        default,
        deserialize_with = "name_or_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub nvpmodel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jetson_clocks: Option<bool>,
}

impl BoardRequirement {
    /// True when it asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.nvpmodel.is_none() && self.jetson_clocks.is_none()
    }
}

/// `nvpmodel = "MAXN"` or `nvpmodel = 0`.
fn name_or_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NameOrId {
        Name(String),
        Id(u32),
    }
    Ok(Option::<NameOrId>::deserialize(d)?.map(|v| match v {
        NameOrId::Name(s) => s,
        NameOrId::Id(n) => n.to_string(),
    }))
}

/// Where a target lives before the built-in one is resolved to a command.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetPlan {
    /// `jetstress mcp-serve` spawned from the current executable.
    Builtin {
        name: Option<String>,
        sessions: usize,
    },
    Spec(McpTargetSpec),
}

/// A checked scenario, ready to build an engine from.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub targets: Vec<TargetPlan>,
    pub http: Vec<HttpEndpointSpec>,
    pub llm: Vec<LlmSpec>,
    pub mix: Vec<MixEntry>,
    pub sessions: usize,
    pub max_in_flight: usize,
    /// How far behind schedule a request waits for a slot before it is dropped.
    pub max_lag: Duration,
    pub timeout: Duration,
    pub log_dir: Option<PathBuf>,
    pub phases: Vec<PhaseSpec>,
    pub cpu: Option<CpuSpec>,
    pub memory: Option<MemorySpec>,
    pub gpu: Option<GpuSpec>,
    pub guards: GuardConfig,
    pub acceptance: Option<Acceptance>,
    /// Seed for the engine's random draws (mix, think times, arrivals); `None`: random.
    pub seed: Option<u64>,
    /// Share of MCP calls, %, replaced by invalid inputs (0: none).
    pub invalid_pct: f64,
    /// `[board]`: the power mode and clocks this scenario needs.
    pub board: Option<BoardRequirement>,
}

impl Scenario {
    /// Every phase's durations times `factor` ([`PhaseSpec::time_scaled`]).
    #[must_use]
    pub fn time_scaled(mut self, factor: f64) -> Self {
        self.phases = self
            .phases
            .into_iter()
            .map(|p| p.time_scaled(factor))
            .collect();
        self
    }
}

/// One `[[llm]]` table checked; `Err((field, why))`.
fn llm_spec(l: &LlmCfg, base: &Path) -> Result<LlmSpec, (&'static str, String)> {
    if !(l.url.starts_with("http://") || l.url.starts_with("https://")) {
        return Err((
            "url",
            format!("'{}' must start with http:// or https://", l.url),
        ));
    }
    let prompt = match (&l.prompt, &l.prompts, l.synthetic) {
        (Some(p), None, None) => PromptSource::Fixed(p.clone()),
        (None, Some(f), None) => PromptSource::File(if f.is_absolute() {
            f.clone()
        } else {
            base.join(f)
        }),
        (None, None, Some(s)) => {
            if s.output_tokens == 0 {
                return Err(("synthetic.output_tokens", "must be at least 1".into()));
            }
            PromptSource::Synthetic {
                input_words: s.input_words,
                output_tokens: s.output_tokens,
            }
        }
        (None, None, None) => PromptSource::Fixed(DEFAULT_PROMPT.into()),
        _ => {
            return Err((
                "prompt",
                "give at most one of prompt, prompts or synthetic".into(),
            ))
        }
    };
    let max_tokens = l.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    if max_tokens == 0 {
        return Err(("max_tokens", "must be at least 1".into()));
    }
    Ok(LlmSpec {
        name: l.name.clone(),
        url: l.url.clone(),
        api: l.api,
        model: l.model.clone(),
        max_tokens,
        prompt,
        stream: l.stream,
        headers: l
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    })
}

/// A percentage: finite, 0–100.
pub(crate) fn valid_pct(p: f64) -> bool {
    (0.0..=100.0).contains(&p)
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// Read and check a scenario file.
pub fn load(path: &Path) -> anyhow::Result<Scenario> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    parse(&text, &path.display().to_string())
}

/// Parse and check scenario text; `file` names it in errors.
#[expect(
    clippy::too_many_lines,
    reason = "one check per scenario section, each naming its line"
)]
pub fn parse(text: &str, file: &str) -> anyhow::Result<Scenario> {
    let raw: ScenarioFile = toml::from_str(text).map_err(|e| {
        let loc = e
            .span()
            .map(|s| format!(":{}", line_of(text, s.start)))
            .unwrap_or_default();
        let key = e
            .span()
            .and_then(|s| key_before(text, s.start))
            .map(|k| format!(" {k}:"))
            .unwrap_or_default();
        anyhow::anyhow!("{file}{loc}:{key} {}", e.message().trim())
    })?;
    let at = |span: std::ops::Range<usize>, field: &str, msg: String| {
        anyhow::anyhow!("{file}:{}: {field}: {msg}", line_of(text, span.start))
    };
    let sessions = raw.sessions.unwrap_or(DEFAULT_SESSIONS);
    if sessions == 0 {
        anyhow::bail!("{file}: sessions: must be at least 1");
    }
    let mut targets = Vec::new();
    for (i, t) in raw.targets.iter().enumerate() {
        let span = t.span();
        let t = t.get_ref();
        let field = format!("targets[{i}]");
        let s = t.sessions.unwrap_or(sessions);
        if s == 0 {
            return Err(at(span, &field, "sessions must be at least 1".into()));
        }
        let plan = match (&t.cmd, &t.url, t.builtin) {
            (Some(cmd), None, false) => {
                let argv = match cmd {
                    CommandLine::Line(l) => {
                        split_command(l).map_err(|e| at(span.clone(), &field, e))?
                    }
                    CommandLine::Argv(v) if !v.is_empty() => v.clone(),
                    CommandLine::Argv(_) => return Err(at(span, &field, "cmd is empty".into())),
                };
                TargetPlan::Spec(McpTargetSpec {
                    name: t.name.clone(),
                    endpoint: Endpoint::Stdio {
                        program: PathBuf::from(&argv[0]),
                        args: argv[1..].to_vec(),
                        env: t.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                    },
                    sessions: s,
                })
            }
            (None, Some(url), false) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(at(
                        span,
                        &field,
                        format!("url '{url}' must start with http:// or https://"),
                    ));
                }
                TargetPlan::Spec(McpTargetSpec {
                    name: t.name.clone(),
                    endpoint: Endpoint::Http { url: url.clone() },
                    sessions: s,
                })
            }
            (None, None, true) => TargetPlan::Builtin {
                name: t.name.clone(),
                sessions: s,
            },
            _ => {
                return Err(at(
                    span,
                    &field,
                    "give exactly one of cmd, url or builtin = true".into(),
                ))
            }
        };
        targets.push(plan);
    }
    let mut http = Vec::new();
    for (i, h) in raw.http.iter().enumerate() {
        let span = h.span();
        let h = h.get_ref();
        if !(h.url.starts_with("http://") || h.url.starts_with("https://")) {
            return Err(at(
                span,
                &format!("http[{i}].url"),
                format!("'{}' must start with http:// or https://", h.url),
            ));
        }
        if http.iter().any(|e: &HttpEndpointSpec| e.name == h.name) {
            return Err(at(
                span,
                &format!("http[{i}].name"),
                format!("'{}' is used twice", h.name),
            ));
        }
        http.push(HttpEndpointSpec {
            name: h.name.clone(),
            method: h.method.clone(),
            url: h.url.clone(),
            headers: h
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            body: h.body.clone(),
        });
    }
    let base = Path::new(file).parent().unwrap_or(Path::new("."));
    let mut llm = Vec::new();
    for (i, l) in raw.llm.iter().enumerate() {
        let span = l.span();
        let spec = llm_spec(l.get_ref(), base)
            .map_err(|(f, why)| at(span.clone(), &format!("llm[{i}].{f}"), why))?;
        if http.iter().any(|e: &HttpEndpointSpec| e.name == spec.name)
            || llm.iter().any(|e: &LlmSpec| e.name == spec.name)
        {
            return Err(at(
                span,
                &format!("llm[{i}].name"),
                format!("'{}' is used twice", spec.name),
            ));
        }
        llm.push(spec);
    }
    let mut mix = Vec::new();
    for (i, m) in raw.mix.iter().enumerate() {
        let span = m.span();
        let m = m.get_ref();
        if !(m.weight.is_finite() && m.weight >= 0.0) {
            return Err(at(
                span,
                &format!("mix[{i}].weight"),
                format!("{} must be ≥ 0", m.weight),
            ));
        }
        if let Some(p) = m.invalid_pct.filter(|p| !valid_pct(*p)) {
            return Err(at(
                span,
                &format!("mix[{i}].invalid_pct"),
                format!("{p} is not within 0–100"),
            ));
        }
        mix.push(MixEntry {
            tool: m.tool.clone(),
            weight: m.weight,
            args: m.args.clone(),
            invalid_pct: m.invalid_pct,
        });
    }
    let mut phases = Vec::new();
    for (i, p) in raw.phases.iter().enumerate() {
        let span = p.span();
        let spec = phase_spec(p.get_ref())
            .map_err(|e| at(span, &format!("phases[{i}]"), e.to_string()))?;
        phases.push(spec);
    }
    if let Some(p) = raw.invalid_pct.filter(|p| !valid_pct(*p)) {
        anyhow::bail!("{file}: invalid_pct: {p} is not within 0–100");
    }
    let max_in_flight = raw.max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT);
    if max_in_flight == 0 {
        anyhow::bail!("{file}: max_in_flight: must be at least 1");
    }
    if let Some(c) = &raw.cpu {
        if !(0.0..=100.0).contains(&c.duty_pct) {
            anyhow::bail!("{file}: cpu.duty_pct: {} is not within 0–100", c.duty_pct);
        }
    }
    if let Some(g) = &raw.gpu {
        if !(0.0..=100.0).contains(&g.duty_pct) {
            anyhow::bail!("{file}: gpu.duty_pct: {} is not within 0–100", g.duty_pct);
        }
    }
    if let Some(a) = &raw.acceptance {
        check_acceptance(a).map_err(|e| anyhow::anyhow!("{file}: acceptance.{e}"))?;
    }
    Ok(Scenario {
        name: raw.name.unwrap_or_else(|| {
            Path::new(file)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("scenario")
                .into()
        }),
        targets,
        http,
        llm,
        mix,
        sessions,
        max_in_flight,
        max_lag: raw.max_lag.unwrap_or(DEFAULT_MAX_LAG),
        timeout: raw.timeout.unwrap_or(DEFAULT_TIMEOUT),
        log_dir: raw.log_dir,
        phases,
        cpu: raw.cpu,
        memory: raw.memory,
        gpu: raw.gpu,
        guards: raw.guards,
        acceptance: raw.acceptance,
        seed: raw.seed,
        invalid_pct: raw.invalid_pct.unwrap_or(0.0),
        board: raw.board,
    })
}

/// The key whose value starts at `offset` (`duration` in `duration = "-5m"`,
/// inline tables too), so a value error names its field; `None` where the
/// text before is no `key =` (an array element, a table, a key itself).
fn key_before(text: &str, offset: usize) -> Option<&str> {
    let before = text.get(..offset)?.trim_end().strip_suffix('=')?.trim_end();
    let key = before.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = &before[key.len()..];
    (!key.is_empty()).then_some(key)
}

fn positive(v: Option<f64>, def: f64, field: &str) -> Result<f64, ScenarioError> {
    let v = v.unwrap_or(def);
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(ScenarioError::Negative {
            field: field.to_string(),
            value: v,
        })
    }
}

/// One phase table into a [`PhaseSpec`] (defaults filled in).
pub fn phase_spec(p: &PhaseCfg) -> Result<PhaseSpec, ScenarioError> {
    let foreign = p.foreign_fields();
    if !foreign.is_empty() {
        return Err(ScenarioError::ForeignFields {
            fields: foreign,
            kind: p.kind.as_str(),
        });
    }
    let mut spec = match p.kind {
        PhaseKindCfg::Spike => {
            let d = SpikeParams::default();
            PhaseSpec::spike(&SpikeParams {
                baseline_rate: positive(p.baseline_rate, d.baseline_rate, "baseline_rate")?,
                peak_rate: positive(p.peak_rate, d.peak_rate, "peak_rate")?,
                baseline: p.baseline.unwrap_or(d.baseline),
                spike: p.spike.unwrap_or(d.spike),
                recovery: p.recovery.unwrap_or(d.recovery),
            })
        }
        PhaseKindCfg::Stress => {
            let d = StressParams::default();
            let c = BreakCriteria::default();
            let sp = StressParams {
                start_rate: positive(p.start_rate, d.start_rate, "start_rate")?,
                step_rate: positive(p.step_rate, d.step_rate, "step_rate")?,
                step_every: p.step_every.unwrap_or(d.step_every),
                max_rate: positive(p.max_rate, d.max_rate, "max_rate")?,
                criteria: BreakCriteria {
                    min_success_pct: positive(
                        p.min_success_pct,
                        c.min_success_pct,
                        "min_success_pct",
                    )?,
                    max_p95_ms: positive(p.max_p95_ms, c.max_p95_ms, "max_p95_ms")?,
                    max_dropped_pct: positive(
                        p.max_dropped_pct,
                        c.max_dropped_pct,
                        "max_dropped_pct",
                    )?,
                },
            };
            if sp.step_rate <= 0.0 {
                return Err(ScenarioError::Invalid {
                    field: "step_rate".into(),
                    reason: "must be > 0",
                });
            }
            PhaseSpec::stress(&sp)
        }
        PhaseKindCfg::Soak => {
            let d = SoakParams::default();
            let sp = SoakParams {
                rate: positive(p.rate, d.rate, "rate")?,
                duration: p.duration.unwrap_or(d.duration),
                row_every: p.row_every.unwrap_or(d.row_every),
            };
            if sp.row_every < Duration::from_millis(100) {
                return Err(ScenarioError::Invalid {
                    field: "row_every".into(),
                    reason: "must be at least 100ms",
                });
            }
            PhaseSpec::soak(&sp)
        }
        PhaseKindCfg::Custom => custom_spec(p)?,
        PhaseKindCfg::Users => users_spec(p)?,
        PhaseKindCfg::Sweep => sweep_spec(p)?,
    };
    if let Some(a) = &p.arrivals {
        spec.arrivals = arrivals(a)?;
    }
    if let Some(n) = &p.name {
        spec.name.clone_from(n);
    }
    Ok(spec)
}

/// A sweep: `rates`, `hold`, `max_concurrency`, `min_good_pct`.
fn sweep_spec(p: &PhaseCfg) -> Result<PhaseSpec, ScenarioError> {
    let d = SweepParams::default();
    let mode = match p.mode.as_deref() {
        None | Some("rates") => SweepMode::Rates,
        Some("users") => SweepMode::Users,
        Some(other) => {
            return Err(ScenarioError::Value {
                field: "mode".into(),
                message: format!("'{other}' is not a sweep mode (rates, users)"),
            })
        }
    };
    if mode == SweepMode::Users && p.rates.is_some() {
        return Err(ScenarioError::Invalid {
            field: "rates".into(),
            reason: "a users sweep picks its own steps (doubling, then bisecting)",
        });
    }
    let sp = SweepParams {
        mode,
        rates: p.rates.unwrap_or(d.rates),
        hold: p.hold.unwrap_or(d.hold),
        max_concurrency: p.max_concurrency.unwrap_or(d.max_concurrency),
        min_good_pct: p.min_good_pct.unwrap_or(d.min_good_pct),
    };
    if !(1..=50).contains(&sp.rates) {
        return Err(ScenarioError::Invalid {
            field: "rates".into(),
            reason: "must be 1–50",
        });
    }
    if sp.hold < Duration::from_secs(1) {
        return Err(ScenarioError::Invalid {
            field: "hold".into(),
            reason: "must be at least 1s",
        });
    }
    if !(1..=MAX_USERS).contains(&sp.max_concurrency) {
        return Err(ScenarioError::Invalid {
            field: "max_concurrency".into(),
            reason: "must be at least 1 (and at most the users limit)",
        });
    }
    if !(0.0..=100.0).contains(&sp.min_good_pct) {
        return Err(ScenarioError::Invalid {
            field: "min_good_pct".into(),
            reason: "must be within 0–100",
        });
    }
    Ok(PhaseSpec::sweep(&sp))
}

/// A custom phase: `{rate, duration}` stages, ramped with `ramp = true`.
fn custom_spec(p: &PhaseCfg) -> Result<PhaseSpec, ScenarioError> {
    let stages = p.stages.as_deref().unwrap_or_default();
    if stages.is_empty() {
        return Err(ScenarioError::Invalid {
            field: "stages".into(),
            reason: "at least one {rate, duration} stage is needed",
        });
    }
    let mut steps = Vec::new();
    for (j, s) in stages.iter().enumerate() {
        stage_foreign(
            j,
            &[
                ("users", s.users.is_some()),
                ("requests", s.requests.is_some()),
            ],
            "custom",
        )?;
        let rate = s.rate.ok_or_else(|| ScenarioError::Invalid {
            field: format!("stages[{j}].rate"),
            reason: "missing",
        })?;
        let rate = positive(Some(rate), 0.0, &format!("stages[{j}].rate"))?;
        let d = s.duration.ok_or_else(|| ScenarioError::Invalid {
            field: format!("stages[{j}].duration"),
            reason: "missing",
        })?;
        steps.push((rate, d));
    }
    let mut spec = PhaseSpec::custom(&steps, p.ramp.unwrap_or(false));
    for (st, cfg) in spec.stages.iter_mut().zip(stages) {
        if let Some(n) = &cfg.name {
            st.name.clone_from(n);
        }
    }
    Ok(spec)
}

/// Stage fields that the phase's kind does not use, as one error.
fn stage_foreign(j: usize, fields: &[(&str, bool)], kind: &str) -> Result<(), ScenarioError> {
    let set: Vec<&str> = fields.iter().filter(|f| f.1).map(|f| f.0).collect();
    if set.is_empty() {
        return Ok(());
    }
    Err(ScenarioError::Value {
        field: format!("stages[{j}]"),
        message: format!("{} not used by a {kind} phase", set.join(", ")),
    })
}

/// A users (closed-model) phase: its stages, think time, spawn rate and sessions.
fn users_spec(p: &PhaseCfg) -> Result<PhaseSpec, ScenarioError> {
    let stages = p.stages.as_deref().unwrap_or_default();
    if stages.is_empty() {
        return Err(ScenarioError::Invalid {
            field: "stages".into(),
            reason: "at least one {users, duration and/or requests} stage is needed",
        });
    }
    let mut steps = Vec::new();
    for (j, s) in stages.iter().enumerate() {
        stage_foreign(j, &[("rate", s.rate.is_some())], "users")?;
        let users = s.users.ok_or_else(|| ScenarioError::Invalid {
            field: format!("stages[{j}].users"),
            reason: "missing",
        })?;
        if users == 0 {
            return Err(ScenarioError::Invalid {
                field: format!("stages[{j}].users"),
                reason: "must be at least 1",
            });
        }
        if users > MAX_USERS {
            return Err(ScenarioError::Value {
                field: format!("stages[{j}].users"),
                message: format!("{users} is more than {MAX_USERS}"),
            });
        }
        if s.requests == Some(0) {
            return Err(ScenarioError::Invalid {
                field: format!("stages[{j}].requests"),
                reason: "must be at least 1",
            });
        }
        if s.duration.is_none() && s.requests.is_none() {
            return Err(ScenarioError::Invalid {
                field: format!("stages[{j}]"),
                reason: "give duration, requests or both",
            });
        }
        steps.push((users, s.duration, s.requests));
    }
    let think = match &p.think {
        Some(v) => think(v)?,
        None => DEFAULT_THINK,
    };
    if let Some(r) = p.spawn_rate {
        if !(r.is_finite() && r > 0.0) {
            return Err(ScenarioError::Value {
                field: "spawn_rate".into(),
                message: format!("{r} must be > 0 (users/s; leave it out to start all at once)"),
            });
        }
    }
    let max_sessions = p.max_sessions.unwrap_or(DEFAULT_MAX_SESSIONS);
    if max_sessions == 0 {
        return Err(ScenarioError::Invalid {
            field: "max_sessions".into(),
            reason: "must be at least 1",
        });
    }
    let mut spec = PhaseSpec::users(
        &steps,
        UsersSpec {
            think,
            spawn_rate: p.spawn_rate,
            max_sessions,
            in_turn: false,
        },
    );
    for (st, cfg) in spec.stages.iter_mut().zip(stages) {
        if let Some(n) = &cfg.name {
            st.name.clone_from(n);
        }
    }
    Ok(spec)
}

/// `think = "5s" | "2s..5s" | { pacing = "3s" }` (or a number of seconds).
fn think(v: &toml::Value) -> Result<Think, ScenarioError> {
    let bad = |message: String| ScenarioError::Value {
        field: "think".into(),
        message,
    };
    let shape = || {
        bad(format!(
            "{v} is not a think time (\"5s\", \"2s..5s\" or {{ pacing = \"3s\" }})"
        ))
    };
    match v {
        toml::Value::String(s) => Think::parse(s).map_err(|e| bad(e.to_string())),
        // A bare number is seconds, as for every other duration.
        toml::Value::Integer(_) | toml::Value::Float(_) => v
            .as_float()
            .or_else(|| v.as_integer().map(|i| i as f64))
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Think::Constant(Duration::from_secs_f64(s)))
            .ok_or_else(|| bad(format!("{v} is not a valid duration"))),
        toml::Value::Table(t) if t.len() == 1 => match t.get("pacing") {
            Some(toml::Value::String(d)) => crate::config::parse_duration(d)
                .map(Think::Pacing)
                .map_err(|e| bad(format!("pacing: {e}"))),
            _ => Err(shape()),
        },
        _ => Err(shape()),
    }
}

/// `arrivals = "uniform" | "poisson" | { gamma = SHAPE }`.
fn arrivals(v: &toml::Value) -> Result<ArrivalProcess, ScenarioError> {
    let bad = |message: String| ScenarioError::Value {
        field: "arrivals".into(),
        message,
    };
    match v {
        toml::Value::String(s) if s == "uniform" => Ok(ArrivalProcess::Uniform),
        toml::Value::String(s) if s == "poisson" => Ok(ArrivalProcess::Poisson),
        toml::Value::Table(t) if t.len() == 1 && t.contains_key("gamma") => {
            let shape = match &t["gamma"] {
                toml::Value::Float(f) => *f,
                toml::Value::Integer(i) => *i as f64,
                other => return Err(bad(format!("gamma: {other} is not a number"))),
            };
            if shape.is_finite() && shape > 0.0 {
                Ok(ArrivalProcess::Gamma { shape })
            } else {
                Err(bad(format!("gamma: {shape} must be > 0")))
            }
        }
        _ => Err(bad(format!(
            "{v} is not an arrival process (\"uniform\", \"poisson\" or {{ gamma = SHAPE }})"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
name = "demo"
sessions = 4
max_in_flight = 64
timeout = "5s"

[[targets]]
name = "fs"
cmd = "node server.js stdio"

[[targets]]
url = "http://127.0.0.1:3001/mcp"
sessions = 2

[[http]]
name = "chat"
method = "POST"
url = "http://127.0.0.1:8000/v1/chat/completions"
headers = { Authorization = "Bearer x" }
body = { model = "m", messages = [{ role = "user", content = "hi" }] }

[[mix]]
tool = "fs:echo"
weight = 40
args = { message = "hello" }

[[mix]]
tool = "chat"
weight = 20

[[phases]]
kind = "spike"
peak_rate = 30

[[phases]]
kind = "custom"
ramp = true
stages = [{ rate = 5, duration = "10s" }, { rate = 10, duration = 20 }]

[cpu]
threads = 2
duty_pct = 50

[guards]
memory_floor_pct = 20

[acceptance]
max_p95_ms = 200
"#;

    #[test]
    fn full_file_parses() {
        let s = parse(FULL, "demo.toml").unwrap();
        assert_eq!(s.name, "demo");
        assert_eq!(s.timeout, Duration::from_secs(5));
        assert_eq!(s.targets.len(), 2);
        match &s.targets[1] {
            TargetPlan::Spec(t) => assert_eq!(t.sessions, 2),
            other @ TargetPlan::Builtin { .. } => panic!("{other:?}"),
        }
        assert_eq!(
            s.http[0].headers,
            vec![("Authorization".to_string(), "Bearer x".to_string())]
        );
        assert_eq!(s.mix[0].args.as_ref().unwrap()["message"], "hello");
        assert_eq!(s.phases[0].stages[1].rate, 30.0);
        assert_eq!(s.phases[0].stages[0].rate, 2.0);
        assert_eq!(s.phases[1].stages[1].from_rate, 5.0);
        assert_eq!(s.phases[1].stages[1].duration, Duration::from_secs(20));
        assert_eq!(s.cpu.unwrap().duty_pct, 50.0);
        assert_eq!(s.guards.memory_floor_pct, 20.0);
        assert_eq!(s.guards.thermal_margin_c, 5.0);
        assert_eq!(s.acceptance.unwrap().max_p95_ms, Some(200.0));
    }

    #[test]
    fn unknown_fields_name_file_line_and_field() {
        let e = parse(
            "sessions = 2\n[[targets]]\ncmd = \"x\"\nsesions = 3\n",
            "bad.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("bad.toml:4:"), "{e}");
        assert!(e.contains("sesions"), "{e}");
        let e = parse("[[phases]]\nkind = \"spike\"\npeak = 3\n", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.toml:") && e.contains("peak"), "{e}");
        let e = parse("[[phases]]\nkind = \"burst\"\n", "k.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("burst"), "{e}");
    }

    #[test]
    fn bad_acceptance_limits_name_the_field() {
        let e = parse(
            "[[phases]]\nkind = \"soak\"\n[acceptance]\nmin_success_pct = 120\n",
            "a.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("a.toml: acceptance.min_success_pct: 120"),
            "{e}"
        );
        let e = parse(
            "[[phases]]\nkind = \"soak\"\n[acceptance]\nmax_p95_ms = -1\n",
            "a.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("max_p95_ms: -1 is not a non-negative number"),
            "{e}"
        );
        let s = parse(
            "[[phases]]\nkind = \"soak\"\n[acceptance]\nmax_error_pct = 0.5\nmin_prediction_lead_s = 600\n",
            "a.toml",
        )
        .unwrap();
        assert_eq!(s.acceptance.unwrap().min_prediction_lead_s, Some(600.0));
    }

    #[test]
    fn the_stress_test_limits_parse_and_percentages_are_checked() {
        let s = parse(
            "[[phases]]\nkind = \"soak\"\n[acceptance]\nmax_server_rss_mb = 512\nmin_uptime_pct = 99.5\n\
             max_p95_ms_throttled = 800\nmax_prediction_error_pct = 25\nmin_alert_precision_pct = 80\n",
            "a.toml",
        )
        .unwrap();
        let a = s.acceptance.unwrap();
        assert_eq!(
            (
                a.max_server_rss_mb,
                a.min_uptime_pct,
                a.max_p95_ms_throttled,
                a.max_prediction_error_pct,
                a.min_alert_precision_pct
            ),
            (Some(512.0), Some(99.5), Some(800.0), Some(25.0), Some(80.0))
        );
        for (key, v) in [
            ("min_uptime_pct", "101"),
            ("max_prediction_error_pct", "-1"),
            ("min_alert_precision_pct", "150"),
        ] {
            let e = parse(
                &format!("[[phases]]\nkind = \"soak\"\n[acceptance]\n{key} = {v}\n"),
                "a.toml",
            )
            .unwrap_err()
            .to_string();
            assert_eq!(
                e,
                format!("a.toml: acceptance.{key}: {v} is not a percentage within 0–100")
            );
        }
        let e = parse(
            "[[phases]]\nkind = \"soak\"\n[acceptance]\nmax_server_rss_mb = -5\n",
            "a.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("max_server_rss_mb: -5 is not a non-negative number"),
            "{e}"
        );
    }

    #[test]
    fn phase_errors_read_as_before() {
        let e = |text: &str| parse(text, "p.toml").unwrap_err().to_string();
        assert_eq!(
            e("[[phases]]\nkind = \"soak\"\npeak_rate = 3\nspike = 2\n"),
            "p.toml:1: phases[0]: peak_rate, spike not used by a soak phase"
        );
        assert_eq!(
            e("[[phases]]\nkind = \"spike\"\npeak_rate = -3\n"),
            "p.toml:1: phases[0]: peak_rate: -3 must be ≥ 0"
        );
        assert_eq!(
            e("[[phases]]\nkind = \"stress\"\nstep_rate = 0\n"),
            "p.toml:1: phases[0]: step_rate: must be > 0"
        );
        assert_eq!(
            e("[[phases]]\nkind = \"soak\"\nrow_every = 0.01\n"),
            "p.toml:1: phases[0]: row_every: must be at least 100ms"
        );
        assert_eq!(
            e("[acceptance]\nmax_error_pct = 101\n"),
            "p.toml: acceptance.max_error_pct: 101 is not a percentage within 0–100"
        );
    }

    const USERS: &str = r#"
seed = 42

[[phases]]
kind = "users"
name = "ramp"
think = "2s..5s"
spawn_rate = 5
max_sessions = 16
stages = [
  { users = 10, duration = "5m" },
  { users = 50, duration = "5m", name = "busy" },
  { users = 2, requests = 20 },
]

[[phases]]
kind = "users"
think = { pacing = "3s" }
stages = [{ users = 1, duration = 10, requests = 5 }]

[[phases]]
kind = "soak"
arrivals = { gamma = 0.5 }

[[phases]]
kind = "custom"
arrivals = "poisson"
stages = [{ rate = 5, duration = "10s" }]
"#;

    #[test]
    fn users_phases_and_arrivals_parse() {
        use crate::load::schedule::{PhaseKind, REQUEST_STAGE_CAP};
        let s = parse(USERS, "u.toml").unwrap();
        assert_eq!(s.seed, Some(42));
        let p = &s.phases[0];
        assert_eq!((p.name.as_str(), p.kind), ("ramp", PhaseKind::Users));
        let u = p.users.as_ref().unwrap();
        assert_eq!(
            u.think,
            Think::Uniform {
                min: Duration::from_secs(2),
                max: Duration::from_secs(5)
            }
        );
        assert_eq!((u.spawn_rate, u.max_sessions), (Some(5.0), 16));
        let st: Vec<_> = p
            .stages
            .iter()
            .map(|s| (s.name.as_str(), s.users, s.duration, s.requests))
            .collect();
        assert_eq!(
            st,
            [
                ("10 users", 10, Duration::from_secs(300), None),
                ("busy", 50, Duration::from_secs(300), None),
                ("2 users × 20 req", 2, REQUEST_STAGE_CAP, Some(20)),
            ]
        );
        let p = &s.phases[1];
        let u = p.users.as_ref().unwrap();
        assert_eq!(u.think, Think::Pacing(Duration::from_secs(3)));
        assert_eq!((u.spawn_rate, u.max_sessions), (None, DEFAULT_MAX_SESSIONS));
        assert_eq!(p.stages[0].duration, Duration::from_secs(10));
        assert_eq!(p.stages[0].requests, Some(5));
        assert_eq!(s.phases[2].arrivals, ArrivalProcess::Gamma { shape: 0.5 });
        assert_eq!(s.phases[3].arrivals, ArrivalProcess::Poisson);
        assert_eq!(s.phases[3].users, None);
        // No think: one second; no seed: random.
        let s = parse(
            "[[phases]]\nkind = \"users\"\nstages = [{ users = 3, duration = \"1m\" }]\n",
            "d.toml",
        )
        .unwrap();
        assert_eq!(s.phases[0].users.as_ref().unwrap().think, DEFAULT_THINK);
        assert_eq!(s.seed, None);
        assert_eq!(s.phases[0].arrivals, ArrivalProcess::Uniform);
    }

    #[test]
    fn users_errors_name_file_line_and_field() {
        let e = |text: &str| parse(text, "u.toml").unwrap_err().to_string();
        let users = |rest: &str| format!("\n[[phases]]\nkind = \"users\"\n{rest}\n");
        let one = "stages = [{ users = 1, duration = \"1m\" }]";
        assert_eq!(
            e(&users("stages = [{ users = 0, duration = \"1m\" }]")),
            "u.toml:2: phases[0]: stages[0].users: must be at least 1"
        );
        assert_eq!(
            e(&users("stages = [{ users = 100001, duration = \"1m\" }]")),
            "u.toml:2: phases[0]: stages[0].users: 100001 is more than 100000"
        );
        assert_eq!(
            e(&users("stages = [{ duration = \"1m\" }]")),
            "u.toml:2: phases[0]: stages[0].users: missing"
        );
        assert_eq!(
            e(&users("stages = [{ users = 3 }]")),
            "u.toml:2: phases[0]: stages[0]: give duration, requests or both"
        );
        assert_eq!(
            e(&users("stages = [{ users = 3, requests = 0 }]")),
            "u.toml:2: phases[0]: stages[0].requests: must be at least 1"
        );
        assert_eq!(
            e(&users("stages = [{ users = 3, rate = 5, duration = 1 }]")),
            "u.toml:2: phases[0]: stages[0]: rate not used by a users phase"
        );
        assert_eq!(
            e(&users("stages = []")),
            "u.toml:2: phases[0]: stages: at least one {users, duration and/or requests} stage is needed"
        );
        assert_eq!(
            e(&users(&format!("think = \"5s..2s\"\n{one}"))),
            "u.toml:2: phases[0]: think: '5s..2s': the range's minimum is above its maximum"
        );
        assert_eq!(
            e(&users(&format!("think = \"soon\"\n{one}"))),
            "u.toml:2: phases[0]: think: 'soon': 'soon' is not a duration (try 1s, 250ms, 10m)"
        );
        assert_eq!(
            e(&users(&format!("think = {{ pace = \"3s\" }}\n{one}"))),
            "u.toml:2: phases[0]: think: { pace = \"3s\" } is not a think time (\"5s\", \"2s..5s\" or { pacing = \"3s\" })"
        );
        assert_eq!(
            e(&users(&format!("think = [1, 2]\n{one}"))),
            "u.toml:2: phases[0]: think: [1, 2] is not a think time (\"5s\", \"2s..5s\" or { pacing = \"3s\" })"
        );
        assert_eq!(
            e(&users(&format!("think = {{ pacing = \"-3s\" }}\n{one}"))),
            "u.toml:2: phases[0]: think: pacing: '-3s' is not a duration (try 1s, 250ms, 10m)"
        );
        assert_eq!(
            e(&users(&format!("spawn_rate = 0\n{one}"))),
            "u.toml:2: phases[0]: spawn_rate: 0 must be > 0 (users/s; leave it out to start all at once)"
        );
        assert_eq!(
            e(&users(&format!("spawn_rate = -2.5\n{one}"))),
            "u.toml:2: phases[0]: spawn_rate: -2.5 must be > 0 (users/s; leave it out to start all at once)"
        );
        assert_eq!(
            e(&users(&format!("max_sessions = 0\n{one}"))),
            "u.toml:2: phases[0]: max_sessions: must be at least 1"
        );
        // Value errors serde finds name the line of the value and its key.
        assert_eq!(
            e(&users(
                "stages = [\n  { users = 3, duration = \"-5m\" },\n]"
            )),
            "u.toml:5: duration: '-5m' is not a duration (try 1s, 250ms, 10m)"
        );
        assert_eq!(
            e(&users("stages = [{ users = 3, duration = -5 }]")),
            "u.toml:4: duration: -5 is not a valid duration"
        );
        assert_eq!(
            e(&users("stages = [{ users = -3, duration = 5 }]")),
            "u.toml:4: users: invalid value: integer `-3`, expected u32"
        );
        assert!(
            e("seed = -1\n").starts_with("u.toml:1: seed: "),
            "{}",
            e("seed = -1\n")
        );
        // Fields of the other model.
        assert_eq!(
            e(&users(&format!("arrivals = \"poisson\"\nrate = 3\n{one}"))),
            "u.toml:2: phases[0]: rate, arrivals not used by a users phase"
        );
        assert_eq!(
            e("[[phases]]\nkind = \"soak\"\nthink = \"1s\"\nspawn_rate = 1\nmax_sessions = 2\n"),
            "u.toml:1: phases[0]: think, spawn_rate, max_sessions not used by a soak phase"
        );
    }

    #[test]
    fn sweep_phases_take_their_own_fields_only() {
        let s = parse(
            "[[phases]]\nkind = \"sweep\"\nrates = 3\nhold = \"10s\"\nmax_concurrency = 4\nmin_good_pct = 90\n",
            "s.toml",
        )
        .unwrap();
        let p = &s.phases[0];
        assert_eq!(p.kind, crate::load::schedule::PhaseKind::Sweep);
        let k = p.sweep.unwrap();
        assert_eq!(
            (k.rates, k.hold, k.max_concurrency, k.min_good_pct),
            (3, Duration::from_secs(10), 4, 90.0)
        );
        assert_eq!(p.stages[1].users, 4);
        let e = |text: &str| parse(text, "s.toml").unwrap_err().to_string();
        assert_eq!(
            e("[[phases]]\nkind = \"sweep\"\nrates = 0\n"),
            "s.toml:1: phases[0]: rates: must be 1–50"
        );
        assert_eq!(
            e("[[phases]]\nkind = \"sweep\"\nthink = \"1s\"\n"),
            "s.toml:1: phases[0]: think not used by a sweep phase"
        );
        assert_eq!(
            e("[[phases]]\nkind = \"soak\"\nrates = 2\n"),
            "s.toml:1: phases[0]: rates not used by a soak phase"
        );
    }

    #[test]
    fn arrivals_and_custom_stage_errors() {
        let e = |text: &str| parse(text, "a.toml").unwrap_err().to_string();
        assert_eq!(
            e("[[phases]]\nkind = \"soak\"\narrivals = { gamma = 0 }\n"),
            "a.toml:1: phases[0]: arrivals: gamma: 0 must be > 0"
        );
        assert_eq!(
            e("[[phases]]\nkind = \"soak\"\narrivals = { gamma = \"x\" }\n"),
            "a.toml:1: phases[0]: arrivals: gamma: \"x\" is not a number"
        );
        assert_eq!(
            e("[[phases]]\nkind = \"spike\"\narrivals = \"bursty\"\n"),
            "a.toml:1: phases[0]: arrivals: \"bursty\" is not an arrival process (\"uniform\", \"poisson\" or { gamma = SHAPE })"
        );
        // Custom stages: the texts they had, and the users fields refused.
        let custom = |stages: &str| format!("[[phases]]\nkind = \"custom\"\nstages = [{stages}]\n");
        assert_eq!(
            e(&custom("{ rate = -1, duration = 1 }")),
            "a.toml:1: phases[0]: stages[0].rate: -1 must be ≥ 0"
        );
        assert_eq!(
            e(&custom("{ rate = 1 }")),
            "a.toml:1: phases[0]: stages[0].duration: missing"
        );
        assert_eq!(
            e(&custom("{ duration = 1 }")),
            "a.toml:1: phases[0]: stages[0].rate: missing"
        );
        assert_eq!(
            e(&custom(
                "{ rate = 1, duration = 1, users = 3, requests = 9 }"
            )),
            "a.toml:1: phases[0]: stages[0]: users, requests not used by a custom phase"
        );
    }

    #[test]
    fn semantic_errors_name_the_entry() {
        let e = parse(
            "\n\n[[targets]]\ncmd = \"x\"\nurl = \"http://a\"\n",
            "t.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("t.toml:3: targets[0]"), "{e}");
        let e = parse("timeout = \"soon\"\n", "d.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("d.toml:1") && e.contains("soon"), "{e}");
        let e = parse("[[phases]]\nkind = \"custom\"\nstages = []\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.toml:1: phases[0]: stages"), "{e}");
        let e = parse("[cpu]\nduty_pct = 150\n", "u.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cpu.duty_pct"), "{e}");
    }
}
