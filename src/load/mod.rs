//! Load: the engine and everything it drives — the plan (scenario + flags),
//! open-model phase schedules, latency statistics, request drivers (MCP,
//! HTTP), background loads (CPU, memory, GPU) and the safety guards.

pub mod background;
pub mod drivers;
pub mod engine;
pub mod guards;
pub mod plan;
pub mod scenario;
pub mod schedule;
pub mod stats;

pub use engine::{Command, Engine, EngineConfig, EngineEvent, EngineHandle, RunSummary};
