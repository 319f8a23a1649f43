//! jetstress: a terminal console for stress-testing edge-AI boxes.

pub mod campaign;
pub mod check;
pub mod collector;
pub mod config;
pub mod export;
pub mod history;
pub mod load;
pub mod predict;
pub mod probes;
pub mod recording;
pub mod report;
pub mod session;
pub mod snapshot;
pub mod ui;
