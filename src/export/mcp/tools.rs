//! The tool registry: one [`ToolDef`] row per MCP tool (name, description,
//! input and output schema, how it is answered, when it is listed) in the
//! [`TOOLS`] table, and the calls themselves. Adding a tool — e.g.
//! `predict_throttle` / `predict_memory` once `crate::predict` lands — is one
//! row here plus its function; the handler, `tools/list`, validation and the
//! per-tool counters of `debug_status` follow from the table.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use rmcp::handler::server::common::{schema_for_input, schema_for_output};
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use rmcp::ErrorData;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::diagnosis::{diagnose, diagnosis_text, Diagnosis};
use super::predictions::Views as _;
use super::state::{own_usage, ServerState};
use super::views::{self, round2};
use crate::snapshot::Snapshot;

/// Longest `sleep_ms` accepted.
pub const MAX_SLEEP_MS: u64 = 60_000;

pub type ToolResult = Result<CallToolResult, ErrorData>;

/// How a tool is answered.
pub enum Call {
    /// From the collector's latest snapshot (and trend history); takes no arguments.
    Snapshot(fn(&ServerState, &Snapshot) -> CallToolResult),
    /// Immediately, from the arguments and server state.
    Plain(fn(&ServerState, JsonObject) -> ToolResult),
    /// A future that may wait; it must stop when the token is cancelled.
    Async(fn(JsonObject, CancellationToken) -> BoxFuture<'static, ToolResult>),
}

pub struct ToolDef {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub input_schema: fn() -> Arc<JsonObject>,
    pub output_schema: fn() -> Arc<JsonObject>,
    pub call: Call,
    /// Listed (and callable) only while this is true — e.g. prediction tools
    /// until the prediction module can answer.
    pub available: fn() -> bool,
}

fn always() -> bool {
    true
}

/// Every tool the server knows, in `tools/list` order.
pub const TOOLS: &[ToolDef] = &[
    ToolDef {
        name: "thermal_status",
        title: "Thermal status",
        description: "Thermal zones with temperatures and trip points, headroom to the throttle trip, offline zones, cooling devices, and whether the board is throttling and why.",
        input_schema: schema_for_input_or_empty::<NoArgs>,
        output_schema: schema_for_output::<views::ThermalStatus>,
        call: Call::Snapshot(thermal_status),
        available: always,
    },
    ToolDef {
        name: "memory_status",
        title: "Memory status",
        description: "RAM, swap and Jetson NvMap use, and the RSS of watched processes.",
        input_schema: schema_for_input_or_empty::<NoArgs>,
        output_schema: schema_for_output::<views::MemoryStatus>,
        call: Call::Snapshot(memory_status),
        available: always,
    },
    ToolDef {
        name: "gpu_status",
        title: "GPU status",
        description: "Jetson iGPU (devfreq) and/or NVML GPUs: load, clocks and caps, temperature, memory, power.",
        input_schema: schema_for_input_or_empty::<NoArgs>,
        output_schema: schema_for_output::<views::GpuStatus>,
        call: Call::Snapshot(gpu_status),
        available: always,
    },
    ToolDef {
        name: "power_status",
        title: "Power status",
        description: "Power rails (mV, mA, mW) and the board's total input power.",
        input_schema: schema_for_input_or_empty::<NoArgs>,
        output_schema: schema_for_output::<views::PowerStatus>,
        call: Call::Snapshot(power_status),
        available: always,
    },
    ToolDef {
        name: "board_info",
        title: "Board info",
        description: "Board model, SoC, L4T release, nvpmodel mode, jetson_clocks, CPU cores and fans.",
        input_schema: schema_for_input_or_empty::<NoArgs>,
        output_schema: schema_for_output::<views::BoardInfo>,
        call: Call::Snapshot(board_info),
        available: always,
    },
    ToolDef {
        name: "system_diagnosis",
        title: "System diagnosis",
        description: "One-call health summary: findings (thermal headroom and trend, throttling, memory pressure, watched-process RSS growth, failing probes) each with a severity ok/warn/critical, and the overall severity.",
        input_schema: schema_for_input_or_empty::<NoArgs>,
        output_schema: schema_for_output::<Diagnosis>,
        call: Call::Snapshot(system_diagnosis),
        available: always,
    },
    ToolDef {
        name: "predict_throttle",
        title: "Throttle prediction",
        description: "Per thermal zone: time until its passive/hot trip is reached, with a confidence range and the model used (linear trend or Newton cooling), or why no time is given (flat, falling, levelling off below the trip, too few samples).",
        input_schema: schema_for_input_or_empty::<NoArgs>,
        output_schema: schema_for_output::<super::predictions::PredictThrottle>,
        call: Call::Snapshot(predict_throttle),
        available: always,
    },
    ToolDef {
        name: "predict_memory",
        title: "Memory prediction",
        description: "Time until available memory reaches the 15 % floor, and the leak rate (MB/h with a range) of each watched process's RSS and, where the platform gives it, GPU memory.",
        input_schema: schema_for_input_or_empty::<NoArgs>,
        output_schema: schema_for_output::<super::predictions::PredictMemory>,
        call: Call::Snapshot(predict_memory),
        available: always,
    },
    ToolDef {
        name: "debug_status",
        title: "Server debug status",
        description: "This MCP server's uptime, calls served per tool, and its own RSS and CPU time.",
        input_schema: schema_for_input_or_empty::<NoArgs>,
        output_schema: schema_for_output::<DebugStatus>,
        call: Call::Plain(debug_status),
        available: always,
    },
    ToolDef {
        name: "echo",
        title: "Echo (transport calibration)",
        description: "Returns its input unchanged. For load tests: measures the transport's cost with no tool work.",
        input_schema: schema_for_input_or_empty::<EchoArgs>,
        output_schema: schema_for_output::<EchoArgs>,
        call: Call::Plain(echo),
        available: always,
    },
    ToolDef {
        name: "sleep_ms",
        title: "Sleep (transport calibration)",
        description: "Sleeps `ms` milliseconds (at most 60000) then returns. For load tests: a tool with a known cost.",
        input_schema: schema_for_input_or_empty::<SleepArgs>,
        output_schema: schema_for_output::<SleepOut>,
        call: Call::Async(sleep_ms),
        available: always,
    },
];

fn schema_for_input_or_empty<T: JsonSchema + 'static>() -> Arc<JsonObject> {
    // The argument types below are all plain structs, so this cannot fail; fall
    // back to an empty object schema rather than panic if it ever did.
    schema_for_input::<T>()
        .unwrap_or_else(|_| rmcp::handler::server::common::schema_for_empty_input())
}

/// The tools as listed, built once at startup.
pub struct Registry {
    listed: Vec<Tool>,
    by_name: HashMap<&'static str, usize>,
}

impl Registry {
    pub fn new() -> Self {
        let mut listed = Vec::new();
        let mut by_name = HashMap::new();
        for (i, d) in TOOLS.iter().enumerate() {
            if !(d.available)() {
                continue;
            }
            let annotations = ToolAnnotations::with_title(d.title)
                .read_only(true)
                .destructive(false)
                .idempotent(true)
                .open_world(false);
            listed.push(
                Tool::new(d.name, d.description, (d.input_schema)())
                    .with_title(d.title)
                    .with_raw_output_schema((d.output_schema)())
                    .with_annotations(annotations),
            );
            by_name.insert(d.name, i);
        }
        Registry { listed, by_name }
    }

    pub fn tools(&self) -> &[Tool] {
        &self.listed
    }

    /// The tool's index in [`TOOLS`] and its definition, if it is listed.
    pub fn find(&self, name: &str) -> Option<(usize, &'static ToolDef)> {
        self.by_name.get(name).map(|&i| (i, &TOOLS[i]))
    }

    pub fn tool(&self, name: &str) -> Option<Tool> {
        self.listed.iter().find(|t| t.name == name).cloned()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

/// Arguments of the snapshot tools: none.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EchoArgs {
    /// The text to send back.
    pub message: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SleepArgs {
    /// Milliseconds to sleep (0 to 60000).
    #[schemars(range(min = 0, max = 60000))]
    pub ms: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SleepOut {
    pub slept_ms: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ToolCalls {
    pub tool: String,
    pub calls: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DebugStatus {
    pub server: String,
    pub version: String,
    pub uptime_s: f64,
    pub calls_total: u64,
    /// Calls served per listed tool.
    pub calls: Vec<ToolCalls>,
    pub rss_mb: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    /// User + system CPU seconds since the server started.
    pub cpu_s: Option<f64>,
    /// Average CPU use since start (100 = one core).
    pub cpu_pct: Option<f64>,
}

/// Decode `args` as `T`, or the JSON-RPC invalid-params error naming the tool.
pub fn parse_args<T: DeserializeOwned>(tool: &str, args: JsonObject) -> Result<T, ErrorData> {
    serde_json::from_value(serde_json::Value::Object(args))
        .map_err(|e| ErrorData::invalid_params(format!("invalid arguments for {tool}: {e}"), None))
}

/// A result with a text summary and the structured value.
pub fn structured<T: Serialize>(text: String, value: &T) -> CallToolResult {
    match serde_json::to_value(value) {
        Ok(v) => {
            let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
            r.structured_content = Some(v);
            r
        }
        Err(e) => CallToolResult::error(vec![ContentBlock::text(format!(
            "could not encode the result: {e}"
        ))]),
    }
}

fn thermal_status(_: &ServerState, s: &Snapshot) -> CallToolResult {
    let v = views::thermal_status(s);
    structured(views::thermal_text(&v), &v)
}

fn predict_throttle(st: &ServerState, s: &Snapshot) -> CallToolResult {
    let v = st.with_predictors(|p| p.throttle(s));
    let text = match v.zones.iter().find(|z| z.eta_s.is_some()) {
        Some(z) => z.message.clone(),
        None if v.zones.is_empty() => "no zone with a throttle trip to predict".to_string(),
        None => format!("no throttle predicted ({})", v.zones[0].message),
    };
    structured(text, &v)
}

fn predict_memory(st: &ServerState, _: &Snapshot) -> CallToolResult {
    let v = st.with_predictors(|p| p.memory());
    let mut text = v.message.clone();
    for l in v.leaks.iter().filter(|l| l.flagged) {
        text.push_str(&format!(
            "; {} leaking {:.1} MB/h of {}",
            crate::snapshot::watched_label(&l.name, l.pid),
            l.slope_mb_per_h,
            l.memory.words()
        ));
    }
    structured(text, &v)
}

fn memory_status(_: &ServerState, s: &Snapshot) -> CallToolResult {
    let v = views::memory_status(s);
    structured(views::memory_text(&v), &v)
}

fn gpu_status(_: &ServerState, s: &Snapshot) -> CallToolResult {
    let v = views::gpu_status(s);
    structured(views::gpu_text(&v), &v)
}

fn power_status(_: &ServerState, s: &Snapshot) -> CallToolResult {
    let v = views::power_status(s);
    structured(views::power_text(&v), &v)
}

fn board_info(_: &ServerState, s: &Snapshot) -> CallToolResult {
    let v = views::board_info(s);
    structured(views::board_text(&v), &v)
}

fn system_diagnosis(state: &ServerState, s: &Snapshot) -> CallToolResult {
    let d = state.with_history(|h| diagnose(s, h));
    structured(diagnosis_text(&d), &d)
}

fn debug_status(state: &ServerState, args: JsonObject) -> ToolResult {
    let _: NoArgs = parse_args("debug_status", args)?;
    let calls: Vec<ToolCalls> = TOOLS
        .iter()
        .enumerate()
        .filter(|(_, d)| (d.available)())
        .map(|(i, d)| ToolCalls {
            tool: d.name.to_string(),
            calls: state.calls(i),
        })
        .collect();
    let uptime = state.uptime().as_secs_f64();
    let u = own_usage();
    let v = DebugStatus {
        server: "jetstress".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_s: round2(uptime),
        calls_total: calls.iter().map(|c| c.calls).sum(),
        calls,
        rss_mb: u.rss_mb.map(round2),
        peak_rss_mb: u.peak_rss_mb.map(round2),
        cpu_s: u.cpu_s.map(round2),
        cpu_pct: u
            .cpu_s
            .filter(|_| uptime > 0.0)
            .map(|c| round2(100.0 * c / uptime)),
    };
    let text = format!(
        "up {:.0} s, {} calls, RSS {} MB, CPU {} s",
        v.uptime_s,
        v.calls_total,
        v.rss_mb.map_or("—".into(), |r| format!("{r:.1}")),
        v.cpu_s.map_or("—".into(), |c| format!("{c:.2}"))
    );
    Ok(structured(text, &v))
}

fn echo(_: &ServerState, args: JsonObject) -> ToolResult {
    let a: EchoArgs = parse_args("echo", args)?;
    let mut r = CallToolResult::success(vec![ContentBlock::text(a.message.clone())]);
    let mut out = JsonObject::new();
    out.insert("message".into(), serde_json::Value::String(a.message));
    r.structured_content = Some(serde_json::Value::Object(out));
    Ok(r)
}

fn sleep_ms(args: JsonObject, ct: CancellationToken) -> BoxFuture<'static, ToolResult> {
    Box::pin(async move {
        let a: SleepArgs = parse_args("sleep_ms", args)?;
        if a.ms > MAX_SLEEP_MS {
            return Err(ErrorData::invalid_params(
                format!(
                    "invalid arguments for sleep_ms: ms must be at most {MAX_SLEEP_MS}, got {}",
                    a.ms
                ),
                None,
            ));
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(a.ms)) => {
                let v = SleepOut { slept_ms: a.ms };
                Ok(structured(format!("slept {} ms", a.ms), &v))
            }
            () = ct.cancelled() => Err(ErrorData::invalid_request("sleep_ms cancelled", None)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_lists_every_available_tool_once_with_object_schemas() {
        let r = Registry::new();
        let names: Vec<&str> = r.tools().iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(
            names,
            [
                "thermal_status",
                "memory_status",
                "gpu_status",
                "power_status",
                "board_info",
                "system_diagnosis",
                "predict_throttle",
                "predict_memory",
                "debug_status",
                "echo",
                "sleep_ms"
            ]
        );
        for t in r.tools() {
            assert_eq!(
                t.input_schema.get("type").and_then(|v| v.as_str()),
                Some("object"),
                "{}",
                t.name
            );
            let out = t
                .output_schema
                .as_ref()
                .expect("every tool has an output schema");
            assert_eq!(
                out.get("type").and_then(|v| v.as_str()),
                Some("object"),
                "{}",
                t.name
            );
            assert_eq!(
                t.annotations.as_ref().and_then(|a| a.read_only_hint),
                Some(true)
            );
        }
        assert!(r.find("predict_throttle").is_some());
        assert!(r.find("no_such_tool").is_none());
    }

    #[test]
    fn bad_arguments_are_invalid_params() {
        let mut o = JsonObject::new();
        o.insert("ms".into(), serde_json::json!("soon"));
        let e = parse_args::<SleepArgs>("sleep_ms", o).unwrap_err();
        assert_eq!(e.code, rmcp::model::ErrorCode::INVALID_PARAMS);
        assert!(e.message.contains("sleep_ms"), "{}", e.message);
        let mut o = JsonObject::new();
        o.insert("surprise".into(), serde_json::json!(1));
        assert!(parse_args::<NoArgs>("thermal_status", o).is_err());
    }
}
