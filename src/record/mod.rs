//! Recording, replay readers (jsonl, tegrastats, csv), reports and metrics.

pub mod trace;
