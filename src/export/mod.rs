//! What jetstress serves to others: Prometheus `/metrics` and the board's
//! telemetry as MCP tools (`mcp-serve`), behind one network guard.

pub mod mcp;
pub mod metrics;
