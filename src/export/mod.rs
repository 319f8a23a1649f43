//! What jetstress serves to others: Prometheus `/metrics` and the board's
//! telemetry as MCP tools (`mcp-serve`), behind one network guard ([`auth`]).

pub(crate) mod addr;
pub(crate) mod auth;
pub(crate) mod mcp;
pub(crate) mod metrics;

pub use addr::{parse_listen_addr, AddrError, ListenAddr};
pub use auth::{bearer_matches, check_bind, BindError, Service};
pub use mcp::{run as run_mcp_server, ServeOptions};
pub use metrics::{serve as serve_metrics, Metrics};

/// `mcp-serve --http` without a value.
pub const DEFAULT_MCP_HTTP_ADDR: &str = mcp::http::DEFAULT_HTTP_ADDR;
/// Env var carrying the MCP HTTP bearer token (keeps it out of `ps`).
pub const MCP_TOKEN_ENV: &str = mcp::TOKEN_ENV;
