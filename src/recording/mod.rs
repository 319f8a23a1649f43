//! Recordings: the crash-safe JSONL writer, reading recordings back, replay
//! sources, and trace readers for tegrastats and CSV logs.

pub mod format;
pub mod reader;
pub mod replay;
pub mod traces;
pub mod writer;
