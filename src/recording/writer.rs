//! Crash-safe JSONL recording (`jetstress.recording/1`): a header line, then one
//! line per snapshot, event, load window and prediction update, and the run
//! summary when a run (or the dashboard's engine) ends.
//!
//! - Each line is one `write` of the whole line to an `O_APPEND` file, so a
//!   `kill -9` loses at most the line being written; readers skip a torn last line.
//! - `fsync` at least every 5 s and on [`Recorder::finish`].
//! - An existing file is never truncated: `--append` adds to it, otherwise the
//!   next free name (`run-1.jsonl`, …) is used.
//! - Writing happens on its own thread behind a bounded channel: the UI never
//!   blocks; when the channel is full records are counted as dropped and the
//!   count is written into the file as soon as there is room.
//! - Optional size rotation: `run.jsonl` → `run.1.jsonl` → `run.2.jsonl`, each
//!   part starting with its own header.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::format::{now_ms, Line, PredictionUpdate, ZoneLine};
pub use super::format::{Header, RunRecord};
use crate::load::engine::{Level, LoadWindow};
use crate::predict::thermal::ZonePrediction;
use crate::snapshot::Snapshot;

/// Longest time between two fsyncs.
pub const FSYNC_EVERY: Duration = Duration::from_secs(5);
/// Records waiting for the writer before new ones count as dropped.
pub const QUEUE: usize = 1024;

/// One thing to record; the writer thread stamps its time.
#[derive(Debug, Clone)]
pub enum Record {
    Snapshot(Arc<Snapshot>),
    Event {
        level: Level,
        text: String,
    },
    /// Per-tool load statistics for a window (from the engine).
    LoadWindow(Box<LoadWindow>),
    /// Prediction update (every zone).
    Prediction(Vec<ZoneLine>),
    /// The run's final summary: written once at the end of a run, so
    /// `jetstress report` can rebuild the report.
    Summary(Box<RunRecord>),
}

/// The line for a record, stamped now.
pub fn to_line(r: Record) -> Line {
    let time_unix_ms = now_ms();
    match r {
        Record::Snapshot(snapshot) => Line::Snapshot { snapshot },
        Record::Event { level, text } => Line::Event {
            time_unix_ms,
            level,
            text,
        },
        Record::LoadWindow(window) => Line::LoadWindow {
            time_unix_ms,
            window,
        },
        Record::Prediction(zones) => Line::Prediction {
            time_unix_ms,
            prediction: PredictionUpdate { zones },
        },
        Record::Summary(summary) => Line::Summary {
            time_unix_ms,
            summary,
        },
    }
}

/// Serialize one record as a JSON line (without the newline).
pub fn encode(r: Record) -> serde_json::Result<String> {
    serde_json::to_string(&to_line(r))
}

fn header_line(h: Header) -> io::Result<String> {
    serde_json::to_string(&Line::Header(Box::new(h))).map_err(io::Error::other)
}

/// Longest time between two recorded prediction updates.
pub const PREDICTION_EVERY: Duration = Duration::from_secs(5);

/// Decides when a prediction update is worth a line: when what it says
/// changes (`key`: e.g. each zone's status, model and whether it has an ETA),
/// and otherwise every [`PREDICTION_EVERY`] — predictions move every sample,
/// and a line per sample per zone would double the file.
#[derive(Debug, Default)]
pub struct PredictionGate {
    last: Option<(Instant, String)>,
}

impl PredictionGate {
    pub fn due(&mut self, key: String, now: Instant) -> bool {
        let due = match &self.last {
            None => true,
            Some((at, k)) => *k != key || now.duration_since(*at) >= PREDICTION_EVERY,
        };
        if due {
            self.last = Some((now, key));
        }
        due
    }
}

/// The prediction line for a set of zone predictions, when the gate says it
/// is due; `planned`: one zone's prediction under the plan's load ahead
/// (matched by zone), where the front end computed one.
pub fn prediction_record(
    gate: &mut PredictionGate,
    zones: &[ZonePrediction],
    planned: Option<&ZonePrediction>,
) -> Option<Record> {
    let planned_of = |z: &ZonePrediction| planned.filter(|p| p.zone == z.zone);
    let key = zones
        .iter()
        .map(|z| {
            format!(
                "{}:{:?}:{:?}:{}:{:?}",
                z.zone,
                z.status,
                z.model,
                z.eta_s.is_some(),
                planned_of(z).map(|p| p.status)
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    if zones.is_empty() || !gate.due(key, Instant::now()) {
        return None;
    }
    Some(Record::Prediction(
        zones
            .iter()
            .map(|z| ZoneLine::new(z.clone(), planned_of(z)))
            .collect(),
    ))
}

#[derive(Debug, Clone)]
pub struct RecorderConfig {
    pub path: PathBuf,
    pub append: bool,
    /// Start a new part after this many bytes.
    pub rotate_bytes: Option<u64>,
}

/// What a finished recording wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecorderStats {
    pub lines: u64,
    pub bytes: u64,
    pub dropped: u64,
    pub files: Vec<PathBuf>,
}

pub struct Recorder {
    tx: Option<mpsc::Sender<Record>>,
    dropped: Arc<AtomicU64>,
    path: PathBuf,
    thread: Option<std::thread::JoinHandle<io::Result<RecorderStats>>>,
}

/// `run.jsonl` → `run-1.jsonl` (or `-2`, …): the first name that does not exist.
#[expect(clippy::maybe_infinite_iter, reason = "ends at the first free name")]
pub fn free_name(path: &Path) -> PathBuf {
    if !path.exists() {
        return path.to_path_buf();
    }
    let (stem, ext) = stem_ext(path);
    (1..)
        .map(|n| path.with_file_name(format!("{stem}-{n}{ext}")))
        .find(|p| !p.exists())
        .expect("an unused name exists")
}

/// `run.jsonl` → (`run`, `.jsonl`).
fn stem_ext(path: &Path) -> (String, String) {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (stem, ext)
}

/// Name of rotation part `n` (`run.jsonl`, `run.1.jsonl`, …).
pub fn part_name(path: &Path, n: u32) -> PathBuf {
    if n == 0 {
        return path.to_path_buf();
    }
    let (stem, ext) = stem_ext(path);
    path.with_file_name(format!("{stem}.{n}{ext}"))
}

fn open_file(path: &Path, append: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.append(true);
    if append {
        o.create(true);
    } else {
        o.create_new(true);
    }
    o.open(path)
}

struct Writer {
    file: File,
    path: PathBuf,
    header: Header,
    part: u32,
    bytes_in_part: u64,
    last_sync: Instant,
    stats: RecorderStats,
    rotate: Option<u64>,
}

impl Writer {
    fn line(&mut self, text: &str) -> io::Result<()> {
        let mut buf = Vec::with_capacity(text.len() + 1);
        buf.extend_from_slice(text.as_bytes());
        buf.push(b'\n');
        self.file.write_all(&buf)?;
        self.bytes_in_part += buf.len() as u64;
        self.stats.bytes += buf.len() as u64;
        self.stats.lines += 1;
        if self.last_sync.elapsed() >= FSYNC_EVERY {
            self.file.sync_data()?;
            self.last_sync = Instant::now();
        }
        if self.rotate.is_some_and(|max| self.bytes_in_part >= max) {
            self.file.sync_data()?;
            self.part += 1;
            let next = part_name(&self.path, self.part);
            self.file = open_file(&next, false)?;
            self.stats.files.push(next);
            self.bytes_in_part = 0;
            let mut h = self.header.clone();
            h.part = self.part;
            self.line(&header_line(h)?)?;
        }
        Ok(())
    }
}

impl Recorder {
    /// Open the file (never truncating) and start the writer thread.
    pub fn start(cfg: RecorderConfig, header: Header) -> io::Result<Recorder> {
        let path = if cfg.append {
            cfg.path.clone()
        } else {
            free_name(&cfg.path)
        };
        let file = open_file(&path, cfg.append)?;
        let (tx, mut rx) = mpsc::channel::<Record>(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let dropped_w = dropped.clone();
        let mut w = Writer {
            file,
            path: path.clone(),
            header: header.clone(),
            part: 0,
            bytes_in_part: 0,
            last_sync: Instant::now(),
            stats: RecorderStats {
                files: vec![path.clone()],
                ..Default::default()
            },
            rotate: cfg.rotate_bytes,
        };
        w.line(&header_line(header.clone())?)?;
        w.file.sync_data()?;
        let thread = std::thread::Builder::new()
            .name("jetstress-recorder".into())
            .spawn(move || {
                let mut reported = 0;
                while let Some(r) = rx.blocking_recv() {
                    let lost = dropped_w.load(Ordering::Relaxed);
                    if lost > reported {
                        let note = Record::Event {
                            level: Level::Warn,
                            text: format!(
                                "recorder queue overflowed: {} records dropped",
                                lost - reported
                            ),
                        };
                        w.line(&encode(note).map_err(io::Error::other)?)?;
                        reported = lost;
                    }
                    w.line(&encode(r).map_err(io::Error::other)?)?;
                }
                w.file.sync_all()?;
                w.stats.dropped = dropped_w.load(Ordering::Relaxed);
                Ok(w.stats)
            })?;
        Ok(Recorder {
            tx: Some(tx),
            dropped,
            path,
            thread: Some(thread),
        })
    }

    /// The file actually written (after choosing a free name).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queue a record; never blocks. `false` (and counted) when the queue is full.
    pub fn record(&self, r: Record) -> bool {
        if let Some(Ok(())) = self.tx.as_ref().map(|tx| tx.try_send(r)) {
            true
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            false
        }
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Write what is queued, fsync and close.
    pub fn finish(mut self) -> io::Result<RecorderStats> {
        self.close()
    }

    fn close(&mut self) -> io::Result<RecorderStats> {
        drop(self.tx.take());
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| io::Error::other("recorder thread panicked"))?,
            None => Ok(RecorderStats::default()),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prediction_lines_on_change_and_every_few_seconds() {
        let mut g = PredictionGate::default();
        let t0 = Instant::now();
        assert!(g.due("a:Ok".into(), t0), "the first is written");
        assert!(!g.due("a:Ok".into(), t0 + Duration::from_secs(1)));
        assert!(
            g.due("a:Flat".into(), t0 + Duration::from_secs(2)),
            "a change"
        );
        assert!(!g.due("a:Flat".into(), t0 + Duration::from_secs(6)));
        assert!(
            g.due("a:Flat".into(), t0 + Duration::from_secs(7)),
            "5 s on"
        );
    }
}
