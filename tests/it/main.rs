//! jetstress's integration tests, one binary (one link of rmcp, axum,
//! plotters and ratatui instead of one per file). Each module is one area;
//! `common` holds the fixture helpers they share.

// A test reads as one scenario, start to end.
#![allow(clippy::too_many_lines)]

mod board;
mod campaign;
mod check;
mod cli_probe;
mod common;
mod e2e_tmux;
mod event_lines;
mod footprint;
mod gpu_memory;
mod invalid_load;
mod layers;
mod llm_llama;
mod llm_timing;
mod mcp_serve;
mod mcp_serve_interop;
mod mcp_sessions;
mod metrics;
mod predict_corpus;
mod predict_replay;
mod probe_fixtures;
mod recording_eval;
mod report;
mod rough_edges;
mod ship;
mod trace_formats;
mod ui_render;
mod watched;
mod workloads_engine;
mod workloads_guards;
mod workloads_run_cli;
mod workloads_users;
