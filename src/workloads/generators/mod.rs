//! Load generators: MCP tool calls and HTTP requests (driven by the engine's
//! scheduler, one call each), and the background loads CPU, memory and GPU.

pub mod cpu;
pub mod gpu;
pub mod http;
pub mod mcp;
pub mod memory;
