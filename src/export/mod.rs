//! What jetstress serves to others: Prometheus `/metrics` and the board's
//! telemetry as MCP tools (`mcp-serve`), behind one network guard ([`auth`]).

pub mod auth;
pub mod mcp;
pub mod metrics;

/// `mcp-serve --http` without a value.
pub const DEFAULT_MCP_HTTP_ADDR: &str = mcp::http::DEFAULT_HTTP_ADDR;
/// Env var carrying the MCP HTTP bearer token (keeps it out of `ps`).
pub const MCP_TOKEN_ENV: &str = mcp::TOKEN_ENV;
