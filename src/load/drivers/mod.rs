//! Request drivers: one call each to an MCP tool (stdio or streamable HTTP)
//! or an HTTP endpoint, scheduled by the engine.

pub mod http;
pub mod llm;
pub mod mcp;
mod mcp_stdio;
pub mod reach;
