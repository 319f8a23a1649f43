//! Recorded traces for replay: sniffs the format of a file and turns it into one
//! neutral shape, [`Trace`] (time in seconds from the first sample, per-zone
//! temperatures with offline as `None`, trips, memory).
//!
//! Formats: tegrastats logs of every generation ([`tegrastats`]), the AGX Orin
//! jtop-style CSV ([`orin_csv`]), and a plain `time_s,<zone>,…` CSV ([`plain_csv`]).
//! Parsing is pure ([`parse_trace`] takes a string); [`read_trace`] only adds the
//! file read. Unparsable lines are kept in [`Trace::skipped`] with their line
//! number and reason; only a file where nothing parses is an error.
//!
//! jetstress's own JSONL recordings (`jetstress.recording/1`) are read through
//! [`crate::recording::reader`].

pub(crate) mod orin_csv;
pub(crate) mod plain_csv;
pub(crate) mod tegrastats;

use serde::Serialize;
use std::path::Path;

/// Known trace formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceFormat {
    Tegrastats,
    OrinCsv,
    PlainCsv,
    /// jetstress recordings (`jetstress.recording/1`).
    JetstressJsonl,
}

/// One sample of a trace.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct TraceSample {
    /// Seconds since the trace's first sample.
    pub t_s: f64,
    /// `(zone, °C)`; `None` = offline reading.
    pub zones: Vec<(String, Option<f64>)>,
    /// `(zone, passive/throttle trip °C)` where the trace records one.
    pub trips: Vec<(String, f64)>,
    pub ram_used_mb: Option<f64>,
    pub ram_total_mb: Option<f64>,
    pub swap_used_mb: Option<f64>,
    pub swap_total_mb: Option<f64>,
    pub gpu_load_pct: Option<f64>,
    /// `(rail, current mW)`.
    pub power_mw: Vec<(String, f64)>,
}

impl TraceSample {
    pub fn temp(&self, zone: &str) -> Option<f64> {
        self.zones
            .iter()
            .find(|(z, _)| z == zone)
            .and_then(|(_, t)| *t)
    }

    pub fn trip(&self, zone: &str) -> Option<f64> {
        self.trips.iter().find(|(z, _)| z == zone).map(|(_, t)| *t)
    }
}

/// A whole trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    pub format: TraceFormat,
    /// File name (or label) the trace came from.
    pub source: String,
    pub samples: Vec<TraceSample>,
    /// `(1-based line number, reason)` for every line that did not parse.
    pub skipped: Vec<(usize, String)>,
    /// Assumptions made while reading (e.g. the assumed sample interval).
    pub notes: Vec<String>,
}

impl Trace {
    /// Zone names in order of first appearance.
    pub fn zone_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for s in &self.samples {
            for (z, _) in &s.zones {
                if !names.iter().any(|n| n == z) {
                    names.push(z.clone());
                }
            }
        }
        names
    }
}

/// Why a trace could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: empty trace")]
    Empty { path: String },
    #[error("{path}: {what}")]
    Unsupported { path: String, what: String },
    #[error("{path}: no line parsed ({skipped} skipped); first: {first}")]
    NothingParsed {
        path: String,
        skipped: usize,
        first: String,
    },
}

/// Why one line of a CSV trace did not parse. The caller keeps it, as text,
/// with its line number in [`Trace::skipped`]; a bad cell names its column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// The header lacks a column the format needs.
    #[error("no {0} column")]
    MissingColumn(&'static str),
    /// The row ends before its time column.
    #[error("row too short")]
    TooShort,
    /// The row ends before the temperature column of `zone` (Orin CSV).
    #[error("{zone}: row too short")]
    ZoneMissing { zone: String },
    /// The row has another number of cells than the header (plain CSV).
    #[error("expected {expected} columns, found {found}")]
    ColumnCount { expected: usize, found: usize },
    /// The time cell (in the column named `column`) is not a time.
    #[error("bad {column} {cell:?}")]
    BadTime { column: &'static str, cell: String },
    /// A temperature cell of `zone` is not a number (Orin CSV wording).
    #[error("{zone}: bad temperature {cell:?}")]
    ZoneBadTemperature { zone: String, cell: String },
    /// A temperature cell of `zone` is not a number (plain CSV wording).
    #[error("bad temperature {cell:?} for {zone}")]
    BadTemperature { zone: String, cell: String },
}

/// Guesses the format from the first non-empty line.
pub fn sniff(text: &str) -> Option<TraceFormat> {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let first = first.trim_start_matches('\u{feff}');
    if first.starts_with('{') {
        Some(TraceFormat::JetstressJsonl)
    } else if first.starts_with("System-Time,")
        || (first.contains(',') && first.contains("-CURR_TEMP"))
    {
        Some(TraceFormat::OrinCsv)
    } else if first.starts_with("time_s,") {
        Some(TraceFormat::PlainCsv)
    } else if first.contains("RAM ") || first.contains('@') {
        Some(TraceFormat::Tegrastats)
    } else {
        None
    }
}

/// Parses a whole trace from text (pure). `source` names it in errors.
pub fn parse_trace(source: &str, text: &str) -> Result<Trace, TraceError> {
    let format = sniff(text).ok_or_else(|| {
        if text.trim().is_empty() {
            TraceError::Empty {
                path: source.to_string(),
            }
        } else {
            TraceError::Unsupported {
                path: source.to_string(),
                what: "unknown trace format (expected tegrastats, the Orin stats CSV, or a `time_s,<zone>,…` CSV)"
                    .to_string(),
            }
        }
    })?;
    let trace = match format {
        TraceFormat::Tegrastats => tegrastats_trace(source, text),
        TraceFormat::OrinCsv => orin_csv::parse(source, text),
        TraceFormat::PlainCsv => plain_csv::parse(source, text),
        TraceFormat::JetstressJsonl => recording_trace(source, text)?,
    };
    if trace.samples.is_empty() {
        let first = trace.skipped.first().map_or_else(
            || "no data rows".to_string(),
            |(l, r)| format!("line {l}: {r}"),
        );
        return Err(TraceError::NothingParsed {
            path: source.to_string(),
            skipped: trace.skipped.len(),
            first,
        });
    }
    Ok(trace)
}

/// A jetstress recording as a trace: zones by id (names repeat on some boards),
/// their passive/hot trips, memory, GPU load and rails.
fn recording_trace(source: &str, text: &str) -> Result<Trace, TraceError> {
    let rec = crate::recording::reader::parse_recording(source, text).map_err(|what| {
        TraceError::Unsupported {
            path: source.to_string(),
            what: what.to_string(),
        }
    })?;
    let t0 = rec.snapshots.first().map_or(0.0, |s| s.elapsed_s);
    let samples = rec
        .snapshots
        .iter()
        .map(|s| TraceSample {
            t_s: s.elapsed_s - t0,
            zones: s
                .thermal
                .iter()
                .map(|z| (z.name.clone(), z.temp_c))
                .collect(),
            trips: s
                .thermal
                .iter()
                .filter_map(|z| z.throttle_trip_c().map(|t| (z.name.clone(), t)))
                .collect(),
            ram_used_mb: s.memory.used_mb,
            ram_total_mb: s.memory.total_mb,
            swap_used_mb: s.memory.swap_used_mb,
            swap_total_mb: s.memory.swap_total_mb,
            gpu_load_pct: s.gpus.iter().filter_map(|g| g.load_pct).reduce(f64::max),
            power_mw: s
                .power
                .rails
                .iter()
                .filter_map(|r| r.mw.map(|mw| (r.name.clone(), mw)))
                .collect(),
        })
        .collect();
    let mut notes = Vec::new();
    if rec.torn_tail {
        notes.push("the last line was cut off (recording interrupted) and is ignored".to_string());
    }
    Ok(Trace {
        format: TraceFormat::JetstressJsonl,
        source: source.to_string(),
        samples,
        skipped: rec.skipped,
        notes,
    })
}

/// Reads and parses a trace file, sniffing its format.
pub fn read_trace(path: &Path) -> Result<Trace, TraceError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| TraceError::Io {
        path: name.clone(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    parse_trace(&name, &text)
}

/// Timestamps with whole-second resolution repeat when sampling faster than
/// 1 Hz; spread each run of `k` equal stamps evenly over its second.
pub(crate) fn spread_same_second(times: &mut [f64]) {
    let mut i = 0;
    while i < times.len() {
        let mut j = i + 1;
        while j < times.len() && times[j] == times[i] {
            j += 1;
        }
        let k = (j - i) as f64;
        if k > 1.0 {
            let base = times[i];
            for (n, t) in times[i..j].iter_mut().enumerate() {
                *t = base + n as f64 / k;
            }
        }
        i = j;
    }
}

fn tegrastats_trace(source: &str, text: &str) -> Trace {
    let mut parsed: Vec<tegrastats::TegraSample> = Vec::new();
    let mut skipped = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match tegrastats::parse_line(line) {
            Ok(s) => parsed.push(s),
            Err(e) => skipped.push((n + 1, e.0)),
        }
    }
    let mut notes = Vec::new();
    let stamped = parsed.iter().filter(|s| s.timestamp_s.is_some()).count();
    let dt = tegrastats::DEFAULT_INTERVAL_S;
    let mut times = Vec::with_capacity(parsed.len());
    if stamped == 0 {
        notes.push(format!(
            "no timestamps: assumed tegrastats' default interval of {dt} s between parsed lines"
        ));
        times.extend((0..parsed.len()).map(|k| k as f64 * dt));
    } else {
        if stamped < parsed.len() {
            notes.push(format!(
                "{} lines without timestamp: placed {dt} s after the previous one",
                parsed.len() - stamped
            ));
        }
        let mut prev: Option<f64> = None;
        for s in &parsed {
            let t = s.timestamp_s.or(prev.map(|p| p + dt)).unwrap_or(0.0);
            times.push(t);
            prev = Some(t);
        }
        spread_same_second(&mut times);
    }
    let t0 = times.first().copied().unwrap_or(0.0);
    let samples = parsed
        .into_iter()
        .zip(times)
        .map(|(s, t)| TraceSample {
            t_s: t - t0,
            gpu_load_pct: s.engine("GR3D_FREQ").and_then(|e| e.load_pct),
            power_mw: s
                .rails
                .iter()
                .filter_map(|r| r.values_mw.first().map(|v| (r.name.clone(), *v)))
                .collect(),
            zones: s.temps,
            trips: Vec::new(),
            ram_used_mb: s.ram_used_mb,
            ram_total_mb: s.ram_total_mb,
            swap_used_mb: s.swap_used_mb,
            swap_total_mb: s.swap_total_mb,
        })
        .collect();
    Trace {
        format: TraceFormat::Tegrastats,
        source: source.to_string(),
        samples,
        skipped,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_format() {
        assert_eq!(sniff("time_s,gpu\n0,40\n"), Some(TraceFormat::PlainCsv));
        assert_eq!(
            sniff("System-Time,NVPMODEL-POWER_MODE\n"),
            Some(TraceFormat::OrinCsv)
        );
        assert_eq!(
            sniff("\nRAM 1/2MB CPU@40C\n"),
            Some(TraceFormat::Tegrastats)
        );
        assert_eq!(
            sniff("{\"schema\":\"jetstress.recording/1\"}\n"),
            Some(TraceFormat::JetstressJsonl)
        );
        assert_eq!(sniff("hello\n"), None);
        assert!(matches!(
            parse_trace("x", "{}\n"),
            Err(TraceError::Unsupported { .. })
        ));
        assert!(matches!(
            parse_trace("x", "  \n"),
            Err(TraceError::Empty { .. })
        ));
    }

    #[test]
    fn line_errors_read_as_the_skipped_reasons() {
        let cols = orin_csv::parse_header("System-Time,gpu-CURR_TEMP").unwrap();
        let orin = |l: &str| orin_csv::parse_row(&cols, l).unwrap_err().to_string();
        assert_eq!(orin("01:00:00"), "gpu: row too short");
        assert_eq!(orin("25:00:00,1"), "bad System-Time \"25:00:00\"");
        assert_eq!(orin("01:00:00,hot"), "gpu: bad temperature \"hot\"");
        assert_eq!(
            orin_csv::parse_header("a,b").unwrap_err().to_string(),
            "no System-Time column"
        );
        assert_eq!(
            orin_csv::parse_header("System-Time,b")
                .unwrap_err()
                .to_string(),
            "no <zone>-CURR_TEMP column"
        );
        let zones = ["gpu".to_string()];
        let plain = |l: &str| plain_csv::parse_row(&zones, l).unwrap_err().to_string();
        assert_eq!(plain("1"), "expected 2 columns, found 1");
        assert_eq!(plain("x,1"), "bad time_s \"x\"");
        assert_eq!(plain("1,hot"), "bad temperature \"hot\" for gpu");
    }

    #[test]
    fn repeated_seconds_are_spread() {
        let mut t = vec![10.0, 10.0, 11.0, 12.0, 12.0, 12.0];
        spread_same_second(&mut t);
        assert_eq!(t[1], 10.5);
        assert_eq!(t[2], 11.0);
        assert!((t[5] - (12.0 + 2.0 / 3.0)).abs() < 1e-12);
    }

    #[test]
    fn bad_lines_are_skipped_with_line_numbers_and_all_bad_is_fatal() {
        let text = "RAM 1/2MB CPU@40C\ngarbage here\nRAM 1/2MB CPU@41C\n";
        let tr = parse_trace("t.log", text).unwrap();
        assert_eq!(tr.samples.len(), 2);
        assert_eq!(tr.samples[1].t_s, 1.0);
        assert_eq!(tr.skipped.len(), 1);
        assert_eq!(tr.skipped[0].0, 2);
        let e = parse_trace("t.log", "RAM x/2MB CPU@40C\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("t.log") && msg.contains("line 1"), "{msg}");
    }
}
