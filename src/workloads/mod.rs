//! Workloads: the load engine and everything it drives — open-model phase
//! schedules, latency statistics, generators (MCP, HTTP, CPU, memory, GPU),
//! safety guards and the scenario file.

pub mod engine;
pub mod generators;
pub mod guards;
pub mod scenario;
pub mod schedule;
pub mod stats;

pub use engine::{Command, Engine, EngineConfig, EngineEvent, EngineHandle, RunSummary};
