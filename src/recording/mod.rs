//! Recordings: the crash-safe JSONL writer, reading recordings back, replay
//! sources, and trace readers for tegrastats and CSV logs.

pub(crate) mod format;
pub(crate) mod reader;
pub(crate) mod replay;
pub(crate) mod traces;
pub(crate) mod writer;

pub use format::{Header, Line, PredictionUpdate, RunRecord, ZoneLine, RECORDING_SCHEMA};
pub use reader::{
    parse_recording, read_recording, read_recording_parts, RecordedEvent, RecordedWindow,
    Recording, RecordingError,
};
pub use replay::{load as load_replay, ReplaySource};
pub use traces::tegrastats::{parse_line as parse_tegrastats_line, CpuCore};
pub use traces::{
    onset, parse_trace, read_trace, InputColumn, Inputs, Onset, OnsetSource, Trace, TraceError,
    TraceFormat, TraceSample,
};
pub use writer::{Record, Recorder, RecorderConfig, RecorderStats};
