//! jetstress: a terminal console for stress-testing edge-AI boxes.
//!
//! The library holds every room (probes, collector, workloads, predictions,
//! recording, UI); `src/main.rs` only dispatches the command line.

pub mod cli;
pub mod collector;
pub mod config;
pub mod predict;
pub mod probe_cmd;
pub mod probes;
pub mod record;
pub mod run_cmd;
pub mod server;
pub mod snapshot;
pub mod store;
pub mod ui;
pub mod workloads;
