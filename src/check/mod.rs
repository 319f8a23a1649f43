//! Check: invalid inputs derived from each tool's own `inputSchema`,
//! protocol abuse and lifecycle checks for any MCP server (`jetstress
//! check`). Each probe's outcome is `graceful`, `accepted`, `hang`, `crash`
//! or `protocol`; the result is the `jetstress.check/1` document.
//!
//! Probe derivation and the schema judge live in `load::invalid` (load
//! phases send the same probes). Pure parts here — JSON-RPC line parsing,
//! HTTP reply (JSON and SSE) parsing, classification, `/proc` parsing and
//! the report — are apart from the I/O: the raw stdio client, the typed
//! and the raw HTTP clients, the stdio and HTTP protocol probes, the
//! lifecycle run and the runner.

pub(crate) mod http;
pub(crate) mod httpreply;
pub(crate) mod jsonrpc;
pub(crate) mod lifecycle;
pub(crate) mod outcome;
pub(crate) mod protocol;
pub(crate) mod protocol_http;
pub(crate) mod raw;
pub(crate) mod rawhttp;
pub(crate) mod report;
pub(crate) mod runner;

pub use crate::load::invalid::{
    control_args, derive as derive_probes, judge, show_arguments, Expect, Probe, Verdict,
    EXTRA_PROPERTY, HUGE_STRING, MAX_DEPTH,
};
pub use jsonrpc::{parse_line, Incoming, RpcError};
pub use lifecycle::{
    parse_stat, Lifecycle, Limits, Max, MeanMax, ProcStat, ShutdownCounts, Spread, SHUTDOWN_WAIT,
};
pub use outcome::{classify, Judged, Outcome, Reply};
pub use protocol::{GoodCall, ProtocolProbe, CONCURRENT, HUGE_LINE};
pub use raw::{RawServer, StdioSpec, PROTOCOL_VERSION};
pub use report::{
    CheckReport, CheckResult, Finding, OutcomeCounts, ProtocolReport, ToolReport, SCHEMA,
};
pub use runner::{run, CheckPlan, CheckTarget, Step};

/// Why a check could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("cannot start '{program}': {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("initialize failed: {0}")]
    Initialize(String),
    #[error("tools/list failed: {0}")]
    ListTools(String),
    #[error("cannot make an HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}
