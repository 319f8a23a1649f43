//! Recording (crash-safe JSONL), reading recordings back, replay sources, and
//! trace readers for tegrastats and CSV logs.

pub mod metrics;
pub mod recorder;
pub mod recording;
pub mod replay;
pub mod report;
pub mod trace;
