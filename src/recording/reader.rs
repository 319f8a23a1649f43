//! Reading `jetstress.recording/1` JSONL files back: header, snapshots, events.
//! Tolerant by design: a torn last line (the writer was killed mid-line) is
//! skipped silently-but-counted; a malformed line elsewhere is skipped and
//! reported with its line number.

use std::path::Path;

use super::format::{unparsed, Header, Line, RunRecord, Unparsed, RECORDING_SCHEMA};
use crate::load::engine::{Level, LoadWindow};
use crate::snapshot::Snapshot;

/// A recording that cannot be read at all; the message names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RecordingError(pub String);

#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub time_unix_ms: u64,
    pub level: Level,
    pub text: String,
}

/// A load window line: where it was, when it was written, and how many
/// snapshots came before it (so a reader can replay snapshots and windows
/// in the order the run saw them).
#[derive(Debug, Clone)]
pub struct RecordedWindow {
    pub line: usize,
    pub time_unix_ms: u64,
    pub after_snapshots: usize,
    pub window: LoadWindow,
}

#[derive(Debug, Clone, Default)]
pub struct Recording {
    pub header: Option<Header>,
    pub snapshots: Vec<Snapshot>,
    pub events: Vec<RecordedEvent>,
    /// Load windows with their line number, write time and place among the snapshots.
    pub windows: Vec<RecordedWindow>,
    /// The run's summary line (the last one wins), with its line number.
    pub summary: Option<(usize, RunRecord)>,
    /// Lines of a known kind whose body did not parse: `(line, kind, reason)`
    /// (a report needs its summary and load windows whole, so these are errors there).
    pub invalid: Vec<(usize, &'static str, String)>,
    /// `(line number, reason)` of lines that did not parse.
    pub skipped: Vec<(usize, String)>,
    /// The last line was cut off (a crash mid-write).
    pub torn_tail: bool,
    /// The files read, each with the number of lines before it: line numbers
    /// above count across parts ([`Recording::locate`] names file and line).
    pub sources: Vec<(String, usize)>,
    /// Lines read, blank ones included (line numbers count them too).
    pub lines: usize,
}

impl Recording {
    /// `file:line` of a line number of this recording.
    pub fn locate(&self, n: usize) -> String {
        match self.sources.iter().rev().find(|(_, before)| *before < n) {
            Some((file, before)) => format!("{file}:{}", n - before),
            None => format!("line {n}"),
        }
    }
}

/// Parse recording text (pure).
pub fn parse_recording(source: &str, text: &str) -> Result<Recording, RecordingError> {
    let mut rec = Recording {
        sources: vec![(source.to_string(), 0)],
        ..Recording::default()
    };
    let ends_clean = text.ends_with('\n') || text.is_empty();
    let lines: Vec<&str> = text.lines().collect();
    let last = lines.len();
    rec.lines = last;
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Line>(line) {
            Ok(Line::Header(h)) => {
                if h.schema != RECORDING_SCHEMA {
                    return Err(RecordingError(format!(
                        "{source}:{n}: schema '{}' is not {RECORDING_SCHEMA}",
                        h.schema
                    )));
                }
                if rec.header.is_none() {
                    rec.header = Some(*h);
                }
            }
            Ok(Line::Snapshot { snapshot }) => rec
                .snapshots
                .push(std::sync::Arc::unwrap_or_clone(snapshot)),
            Ok(Line::Event {
                time_unix_ms,
                level,
                text,
            }) => rec.events.push(RecordedEvent {
                time_unix_ms,
                level,
                text,
            }),
            Ok(Line::LoadWindow {
                time_unix_ms,
                window,
            }) => rec.windows.push(RecordedWindow {
                line: n,
                time_unix_ms,
                after_snapshots: rec.snapshots.len(),
                window: *window,
            }),
            // Prediction updates are for other readers; a report recomputes them.
            Ok(Line::Prediction { .. }) => {}
            Ok(Line::Summary { summary, .. }) => rec.summary = Some((n, *summary)),
            Err(_) if n == last && !ends_clean => rec.torn_tail = true,
            Err(e) => match unparsed(line) {
                Unparsed::Broken(kind @ ("load_window" | "summary")) => {
                    rec.invalid.push((n, kind, e.to_string()));
                }
                // A newer writer's kind: not ours to read, not an error.
                Unparsed::UnknownKind => {}
                Unparsed::Broken(_) | Unparsed::NotALine => rec.skipped.push((n, e.to_string())),
            },
        }
    }
    if rec.header.is_none() {
        return Err(RecordingError(format!(
            "{source}: no {RECORDING_SCHEMA} header line"
        )));
    }
    Ok(rec)
}

pub fn read_recording(path: &Path) -> Result<Recording, RecordingError> {
    let bytes =
        std::fs::read(path).map_err(|e| RecordingError(format!("{}: {e}", path.display())))?;
    parse_recording(
        &path.display().to_string(),
        &String::from_utf8_lossy(&bytes),
    )
}

/// A recording with its rotation parts (`run.jsonl`, then `run.1.jsonl`,
/// `run.2.jsonl`, … while they exist), read as one.
pub fn read_recording_parts(path: &Path) -> Result<Recording, RecordingError> {
    let mut all = read_recording(path)?;
    for n in 1.. {
        let p = super::writer::part_name(path, n);
        if !p.exists() {
            break;
        }
        let part = read_recording(&p)?;
        let lines = all.lines;
        let before = all.snapshots.len();
        all.snapshots.extend(part.snapshots);
        all.events.extend(part.events);
        all.windows
            .extend(part.windows.into_iter().map(|w| RecordedWindow {
                line: lines + w.line,
                after_snapshots: before + w.after_snapshots,
                ..w
            }));
        if let Some((i, s)) = part.summary {
            all.summary = Some((lines + i, s));
        }
        all.invalid.extend(
            part.invalid
                .into_iter()
                .map(|(i, k, why)| (lines + i, k, why)),
        );
        all.skipped
            .extend(part.skipped.into_iter().map(|(i, why)| (lines + i, why)));
        all.torn_tail |= part.torn_tail;
        all.sources.push((p.display().to_string(), lines));
        all.lines += part.lines;
    }
    Ok(all)
}

/// Does this text look like a jetstress recording?
pub fn is_recording(text: &str) -> bool {
    text.lines()
        .next()
        .is_some_and(|l| l.contains(RECORDING_SCHEMA))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::writer::{Record, Recorder, RecorderConfig};
    use std::sync::Arc;

    fn snap(t: f64) -> Arc<Snapshot> {
        let mut s = Snapshot::empty();
        s.elapsed_s = t;
        Arc::new(s)
    }

    #[test]
    fn round_trip_then_a_torn_tail_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let r = Recorder::start(
            RecorderConfig {
                path: path.clone(),
                append: false,
                rotate_bytes: None,
            },
            Header::new(
                Some("test board".into()),
                serde_json::json!({"interval_ms": 1000}),
            ),
        )
        .unwrap();
        for i in 0..50 {
            assert!(r.record(Record::Snapshot(snap(f64::from(i)))));
        }
        r.record(Record::Event {
            level: Level::Info,
            text: "phase spike started".into(),
        });
        let stats = r.finish().unwrap();
        assert_eq!(stats.lines, 52);
        assert_eq!(stats.dropped, 0);
        let rec = read_recording(&path).unwrap();
        assert_eq!(rec.snapshots.len(), 50);
        assert_eq!(rec.events[0].text, "phase spike started");
        assert_eq!(
            rec.header.as_ref().unwrap().board.as_deref(),
            Some("test board")
        );

        // Simulate kill -9 mid-line: append half a line.
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"kind\":\"snapshot\",\"snapshot\":{\"schema\":\"jetst");
        std::fs::write(&path, &text).unwrap();
        let rec = read_recording(&path).unwrap();
        assert_eq!(rec.snapshots.len(), 50, "everything but the torn line");
        assert!(rec.torn_tail);
        assert!(rec.skipped.is_empty());
    }

    #[test]
    fn existing_files_are_never_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        std::fs::write(&path, "precious\n").unwrap();
        let r = Recorder::start(
            RecorderConfig {
                path: path.clone(),
                append: false,
                rotate_bytes: None,
            },
            Header::new(None, serde_json::Value::Null),
        )
        .unwrap();
        assert_eq!(r.path(), dir.path().join("run-1.jsonl"));
        r.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious\n");
    }

    #[test]
    fn rotation_starts_parts_with_headers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let r = Recorder::start(
            RecorderConfig {
                path: path.clone(),
                append: false,
                rotate_bytes: Some(2_000),
            },
            Header::new(None, serde_json::Value::Null),
        )
        .unwrap();
        for i in 0..100 {
            r.record(Record::Snapshot(snap(f64::from(i))));
        }
        let stats = r.finish().unwrap();
        assert!(stats.files.len() > 2, "{:?}", stats.files);
        let mut total = 0;
        for f in &stats.files {
            let rec = read_recording(f).unwrap();
            total += rec.snapshots.len();
        }
        assert_eq!(total, 100);
        // Read as one: every part, in order, with lines located in their part.
        let all = read_recording_parts(&path).unwrap();
        assert_eq!(all.snapshots.len(), 100);
        let t: Vec<f64> = all.snapshots.iter().map(|s| s.elapsed_s).collect();
        assert!(t.windows(2).all(|w| w[0] < w[1]), "in order");
        assert_eq!(all.sources.len(), stats.files.len());
        let (second, before) = &all.sources[1];
        assert_eq!(all.locate(before + 2), format!("{second}:2"));
        assert_eq!(all.locate(2), format!("{}:2", path.display()));
    }

    #[test]
    fn a_broken_middle_line_is_reported_by_number() {
        let h = serde_json::to_string(&Line::Header(Box::new(Header::new(
            None,
            serde_json::Value::Null,
        ))))
        .unwrap();
        let text = format!("{h}\nnot json\n{{\"kind\":\"event\",\"time_unix_ms\":1,\"level\":\"info\",\"text\":\"x\"}}\n");
        let rec = parse_recording("r.jsonl", &text).unwrap();
        assert_eq!(rec.skipped.len(), 1);
        assert_eq!(rec.skipped[0].0, 2);
        assert_eq!(rec.events.len(), 1);
        assert!(parse_recording("r.jsonl", "{\"kind\":\"event\"}\n")
            .unwrap_err()
            .to_string()
            .contains("no jetstress.recording/1 header"));
    }
}
