//! Recorded traces for replay: sniffs the format of a file and turns it into one
//! neutral shape, [`Trace`] (time in seconds from the first sample, per-zone
//! temperatures with offline as `None`, trips, memory).
//!
//! Besides the zones, a sample carries the board's inputs and labels
//! ([`Inputs`]): CPU busy %, board power, CPU clock and a throttled flag. They
//! are never zones: a plain CSV's `load_pct`, `gpu_load_pct`, `power_w`,
//! `clock_mhz` and `throttled` columns land there ([`InputColumn`]), and the
//! tegrastats and Orin CSV readers derive the load and power from their
//! per-core loads and rails (not the clock: their per-core frequency is the
//! governor's choice, which drops at light load without any throttling).
//! [`onset`] finds the ground-truth throttle onset from the clock and flag.
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
    /// Load, power, clock and the throttled label: inputs, never zones.
    pub inputs: Inputs,
}

/// The non-temperature columns of a sample: what drives the heat (load,
/// power) and what says the board throttled (clock, flag).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Inputs {
    /// CPU busy, % (mean over the online cores).
    pub load_pct: Option<f64>,
    /// Board power, W.
    pub power_w: Option<f64>,
    /// CPU clock, MHz (the fastest online core).
    pub clock_mhz: Option<f64>,
    /// The trace's own throttled flag.
    pub throttled: Option<bool>,
}

/// A trace column that is an input or a label, not a zone (`--load-column`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputColumn {
    /// `load_pct`: CPU busy %.
    LoadPct,
    /// `gpu_load_pct`: GPU busy %.
    GpuLoadPct,
    /// `power_w`: board power, W.
    PowerW,
    /// `clock_mhz`: CPU clock, MHz (a label: a drop says throttling).
    ClockMhz,
    /// `throttled`: 0/1 (a label).
    Throttled,
}

impl InputColumn {
    pub const ALL: [InputColumn; 5] = [
        InputColumn::LoadPct,
        InputColumn::GpuLoadPct,
        InputColumn::PowerW,
        InputColumn::ClockMhz,
        InputColumn::Throttled,
    ];

    /// The column's name in a plain CSV header.
    pub fn as_str(self) -> &'static str {
        match self {
            InputColumn::LoadPct => "load_pct",
            InputColumn::GpuLoadPct => "gpu_load_pct",
            InputColumn::PowerW => "power_w",
            InputColumn::ClockMhz => "clock_mhz",
            InputColumn::Throttled => "throttled",
        }
    }

    /// The column of a header name; `None` = a zone.
    pub fn from_name(name: &str) -> Option<InputColumn> {
        InputColumn::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// A name that is no input column (`--load-column`, a manifest's `load_column`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown input column {name:?} (one of: {})", InputColumn::names())]
pub struct UnknownInputColumn {
    pub name: String,
}

impl InputColumn {
    /// Every column's name, comma-separated.
    fn names() -> String {
        InputColumn::ALL.map(InputColumn::as_str).join(", ")
    }
}

impl std::str::FromStr for InputColumn {
    type Err = UnknownInputColumn;
    fn from_str(s: &str) -> Result<Self, UnknownInputColumn> {
        InputColumn::from_name(s).ok_or_else(|| UnknownInputColumn {
            name: s.to_string(),
        })
    }
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

    /// The value of an input column (`throttled` as 0/1).
    pub fn input(&self, col: InputColumn) -> Option<f64> {
        match col {
            InputColumn::LoadPct => self.inputs.load_pct,
            InputColumn::GpuLoadPct => self.gpu_load_pct,
            InputColumn::PowerW => self.inputs.power_w,
            InputColumn::ClockMhz => self.inputs.clock_mhz,
            InputColumn::Throttled => self.inputs.throttled.map(|b| f64::from(u8::from(b))),
        }
    }
}

/// A clock this far below the board's usual top clock is throttling.
pub const CLOCK_DROP_FRACTION: f64 = 0.04;

/// How a trace's throttle onset was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnsetSource {
    /// The first sample whose `throttled` column is 1.
    ThrottledColumn,
    /// The first clock ≥ 4 % below the usual top clock.
    ClockDrop,
}

/// The ground-truth throttle onset of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Onset {
    pub t_s: f64,
    pub source: OnsetSource,
    /// The usual top clock (for a clock drop), MHz.
    pub top_mhz: Option<f64>,
}

/// The throttle onset: the first sample flagged `throttled` when the trace
/// has that column (a trace with the column but no flag never throttled),
/// else the first clock at least [`CLOCK_DROP_FRACTION`] below the usual top
/// clock (the upper quartile of the trace's clock readings, which ignores
/// short boosts). `None` when the trace has neither, or no onset.
pub fn onset(samples: &[TraceSample]) -> Option<Onset> {
    if samples.iter().any(|s| s.inputs.throttled.is_some()) {
        return samples
            .iter()
            .find(|s| s.inputs.throttled == Some(true))
            .map(|s| Onset {
                t_s: s.t_s,
                source: OnsetSource::ThrottledColumn,
                top_mhz: None,
            });
    }
    let mut clocks: Vec<f64> = samples.iter().filter_map(|s| s.inputs.clock_mhz).collect();
    if clocks.is_empty() {
        return None;
    }
    clocks.sort_by(f64::total_cmp);
    let top = clocks[(clocks.len() * 3 / 4).min(clocks.len() - 1)];
    samples
        .iter()
        .find(|s| {
            s.inputs
                .clock_mhz
                .is_some_and(|c| c <= top * (1.0 - CLOCK_DROP_FRACTION) + 1e-9)
        })
        .map(|s| Onset {
            t_s: s.t_s,
            source: OnsetSource::ClockDrop,
            top_mhz: Some(top),
        })
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
    /// An input or label cell (`load_pct`, `throttled`, …) is not a number
    /// (or, for `throttled`, not 0/1).
    #[error("bad {column} {cell:?}")]
    BadInput { column: &'static str, cell: String },
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
            inputs: Inputs::default(),
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
            inputs: tegrastats_inputs(&s),
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

/// Board power, W, from rails in mW: the input rail when there is one
/// (`VDD_IN`, `POM_5V_IN`), else the sum of the rails.
pub(crate) fn board_power_w(rails: &[(String, f64)]) -> Option<f64> {
    if rails.is_empty() {
        return None;
    }
    let input = rails
        .iter()
        .find(|(n, _)| matches!(n.as_str(), "VDD_IN" | "POM_5V_IN" | "VIN_SYS_5V0"));
    Some(input.map_or_else(|| rails.iter().map(|(_, v)| v).sum(), |(_, v)| *v) / 1000.0)
}

/// CPU load (mean over the online cores) and board power of a tegrastats line.
fn tegrastats_inputs(s: &tegrastats::TegraSample) -> Inputs {
    let on: Vec<&tegrastats::CpuCore> = s.cpus.iter().flatten().collect();
    let rails: Vec<(String, f64)> = s
        .rails
        .iter()
        .filter_map(|r| r.values_mw.first().map(|v| (r.name.clone(), *v)))
        .collect();
    Inputs {
        load_pct: (!on.is_empty())
            .then(|| on.iter().map(|c| c.load_pct).sum::<f64>() / on.len() as f64),
        power_w: board_power_w(&rails),
        clock_mhz: None,
        throttled: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_inputs(t_s: f64, clock: Option<f64>, throttled: Option<bool>) -> TraceSample {
        TraceSample {
            t_s,
            inputs: Inputs {
                clock_mhz: clock,
                throttled,
                ..Inputs::default()
            },
            ..TraceSample::default()
        }
    }

    #[test]
    fn onset_from_the_flag_wins_over_the_clock_and_a_clock_drop_counts_from_4_pct() {
        // Flag present: its first 1, even though the clock dropped earlier.
        let flagged = [
            with_inputs(0.0, Some(2000.0), Some(false)),
            with_inputs(1.0, Some(1000.0), Some(false)),
            with_inputs(2.0, Some(1000.0), Some(true)),
        ];
        let o = onset(&flagged).unwrap();
        assert_eq!((o.t_s, o.source), (2.0, OnsetSource::ThrottledColumn));
        // Flag present but never set: no onset, whatever the clock does.
        let never = [
            with_inputs(0.0, Some(2000.0), Some(false)),
            with_inputs(1.0, Some(1000.0), Some(false)),
        ];
        assert_eq!(onset(&never), None);
        // No flag: 3.5 % below the top is jitter, 4 % is an onset.
        let clocks = [
            with_inputs(0.0, Some(2000.0), None),
            with_inputs(1.0, Some(2000.0), None),
            with_inputs(2.0, Some(1930.0), None),
            with_inputs(3.0, Some(2000.0), None),
            with_inputs(4.0, Some(1920.0), None),
        ];
        let o = onset(&clocks).unwrap();
        assert_eq!(
            (o.t_s, o.source, o.top_mhz),
            (4.0, OnsetSource::ClockDrop, Some(2000.0))
        );
        assert_eq!(onset(&[with_inputs(0.0, None, None)]), None);
    }

    #[test]
    fn input_columns_parse_by_name_and_unknown_names_say_which_exist() {
        for c in InputColumn::ALL {
            assert_eq!(c.as_str().parse::<InputColumn>(), Ok(c));
        }
        let e = "cpu".parse::<InputColumn>().unwrap_err();
        assert_eq!(e.name, "cpu");
        let e = e.to_string();
        assert!(e.contains("load_pct") && e.contains("\"cpu\""), "{e}");
    }

    #[test]
    fn tegrastats_lines_give_load_clock_and_power() {
        let tr = parse_trace(
            "t.log",
            "RAM 1/2MB CPU [50%@1000,100%@1200,off] CPU@40C VDD_IN 5000mW/5000mW VDD_CPU 2000mW/2000mW\n",
        )
        .unwrap();
        let i = tr.samples[0].inputs;
        assert_eq!(i.load_pct, Some(75.0));
        assert_eq!(
            i.clock_mhz, None,
            "the governor's clock is no throttle label"
        );
        assert_eq!(i.power_w, Some(5.0));
        assert_eq!(tr.zone_names(), vec!["CPU".to_string()]);
    }

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
