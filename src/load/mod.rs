//! Load: the engine and everything it drives — the plan (scenario + flags),
//! open-model phase schedules, latency statistics, request drivers (MCP,
//! HTTP), background loads (CPU, memory, GPU), the safety guards, and the
//! plan's load ahead for the thermal predictor ([`ahead`]).

pub(crate) mod ahead;
pub(crate) mod background;
pub(crate) mod drivers;
pub(crate) mod engine;
pub(crate) mod guards;
pub(crate) mod hist;
pub(crate) mod invalid;
pub(crate) mod llm_stats;
pub(crate) mod plan;
pub(crate) mod scenario;
pub(crate) mod schedule;
pub(crate) mod stats;

pub use ahead::{
    burn_share, load_ahead, AfterPlan, LoadShares, Offered, PlanTracker, PlannedLoad, Position,
};
pub use background::cpu::CpuSpec;
pub use background::gpu::{cuda_present, GpuSpec};
pub use background::memory::{MemoryPressure, MemorySpec, ShortCause, Shortfall};
pub use drivers::http::HttpEndpointSpec;
pub use drivers::llm::{LlmApi, LlmSample, LlmSpec, PromptSource, TokenSource, UnknownApi};
pub use drivers::mcp::{
    kill_group, schema_default_args, split_command, stderr_log, stderr_log_path, stdio_command,
    Endpoint, McpTarget, McpTargetSpec,
};
pub use engine::*;
pub use guards::{spawn as spawn_guards, GuardConfig};
pub use llm_stats::{Energy, LlmStats, LlmSummary, Slo};
pub use plan::{
    builtin_phase, builtin_target, describe_targets, engine_config, explain_targets, log_dir,
    phase_for, plan, plan_dashboard, plan_targets, BuiltinPhase, LlmFlags, PlanOptions, UsersArg,
    UsersArgError, BUILTIN_TARGET, BUILTIN_THINK, BUILTIN_USERS, BUILTIN_USERS_DURATION,
};
pub use scenario::{
    load as load_scenario, parse as parse_scenario, Acceptance, BoardRequirement, Scenario,
    TargetPlan,
};
pub use schedule::{
    ArrivalProcess, BreakCriteria, PhaseKind, PhaseSpec, SoakParams, SpikeParams, Stage,
    StressParams, SweepParams, Think, ThinkError, UnknownArrivals, UsersSpec, DEFAULT_MAX_SESSIONS,
    MAX_USERS, MIN_SCALED_ROW, MIN_SCALED_STAGE, REQUEST_STAGE_CAP,
};
pub use stats::{ErrorKind, Percentiles, StatsTable, ToolSummary, TOOL_ROW_MAX_BYTES};
