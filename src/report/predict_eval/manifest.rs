//! A corpus manifest (`manifest.json`): which traces `predict-eval --corpus`
//! scores, the zone of each, and its ground truth. Pure parsing
//! ([`parse_manifest`]); [`read_manifest`] only adds the file read.
//!
//! One JSON object keyed by trace file, relative to the manifest's folder
//! (`../` allowed, so a manifest can point at shared traces without copying
//! them). Per file:
//! - `zone` (required): the zone scored;
//! - `threshold_c`, optionally `t_cross_s`: a lowered threshold and when the
//!   trace first reaches it (found from the trace when absent);
//! - or `t_throttle_s` with `trip_c`: a real throttle onset and the
//!   temperature there;
//! - neither: a heat-up, scored against the documented derived threshold
//!   (90 % of the way from the first reading to the peak) unless the trace's
//!   own `throttled`/clock columns give an onset;
//! - `t_heat_start_s` (optional, default 0): predictions count from 20 s
//!   after it;
//! - `load_column` (optional): the trace column that is this board's load
//!   (`load_pct`, `gpu_load_pct`, `power_w`), winning over `--load-column`.
//!
//! Other keys (`source`, `samples`, `note`, …) are kept for people and ignored.

use crate::recording::traces::{InputColumn, UnknownInputColumn};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// What a trace is scored against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Truth {
    /// A lowered threshold; the crossing time when the manifest gives it.
    Threshold {
        threshold_c: f64,
        t_cross_s: Option<f64>,
    },
    /// A real throttle onset at `t_throttle_s`, at `trip_c`.
    Onset { t_throttle_s: f64, trip_c: f64 },
    /// No truth given: the trace's own onset, else the derived threshold.
    HeatUp,
}

/// One manifest entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key as written.
    pub file: String,
    /// The key resolved against the manifest's folder.
    pub path: PathBuf,
    pub zone: String,
    pub truth: Truth,
    pub t_heat_start_s: f64,
    pub load_column: Option<InputColumn>,
}

/// Why a manifest cannot be used; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not JSON: {source}")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: expected one object keyed by trace file")]
    NotAnObject { path: String },
    #[error("{path}: no trace listed")]
    NoEntries { path: String },
    #[error("{path}: entry {file:?}: {what}")]
    Entry {
        path: String,
        file: String,
        #[source]
        what: EntryError,
    },
}

/// What is wrong with one manifest entry.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error("expected an object")]
    NotAnObject,
    #[error("no \"zone\" (the zone to score)")]
    NoZone,
    #[error("{key} must be a number, got {got}")]
    NotANumber { key: &'static str, got: Value },
    #[error("both threshold_c and t_throttle_s: give one truth")]
    TwoTruths,
    #[error("t_throttle_s without trip_c")]
    ThrottleWithoutTrip,
    #[error("t_cross_s without threshold_c")]
    CrossWithoutThreshold,
    #[error(transparent)]
    LoadColumn(#[from] UnknownInputColumn),
    #[error("load_column must be a column name, got {0}")]
    LoadColumnNotAName(Value),
}

fn number(obj: &Map<String, Value>, key: &'static str) -> Result<Option<f64>, EntryError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|v| v.is_finite())
            .map(Some)
            .ok_or_else(|| EntryError::NotANumber {
                key,
                got: v.clone(),
            }),
    }
}

fn entry(dir: &Path, file: &str, v: &Value) -> Result<Entry, EntryError> {
    let obj = v.as_object().ok_or(EntryError::NotAnObject)?;
    let zone = obj
        .get("zone")
        .and_then(Value::as_str)
        .filter(|z| !z.is_empty())
        .ok_or(EntryError::NoZone)?
        .to_string();
    let threshold = number(obj, "threshold_c")?;
    let t_cross = number(obj, "t_cross_s")?;
    let t_throttle = number(obj, "t_throttle_s")?;
    let trip = number(obj, "trip_c")?;
    let truth = match (threshold, t_throttle, trip) {
        (Some(_), Some(_), _) => {
            return Err(EntryError::TwoTruths);
        }
        (Some(threshold_c), None, _) => Truth::Threshold {
            threshold_c,
            t_cross_s: t_cross,
        },
        (None, Some(t_throttle_s), Some(trip_c)) => Truth::Onset {
            t_throttle_s,
            trip_c,
        },
        (None, Some(_), None) => return Err(EntryError::ThrottleWithoutTrip),
        (None, None, _) if t_cross.is_some() => return Err(EntryError::CrossWithoutThreshold),
        (None, None, _) => Truth::HeatUp,
    };
    let t_heat_start_s = number(obj, "t_heat_start_s")?.unwrap_or(0.0);
    let load_column = match obj.get("load_column") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) => Some(c.parse::<InputColumn>()?),
        Some(v) => return Err(EntryError::LoadColumnNotAName(v.clone())),
    };
    Ok(Entry {
        load_column,
        file: file.to_string(),
        path: dir.join(file),
        zone,
        truth,
        t_heat_start_s,
    })
}

/// Parses a manifest's text; `path` names it in errors, and its folder is
/// where the entries' files are resolved. Entries come in key order.
pub fn parse_manifest(path: &Path, text: &str) -> Result<Vec<Entry>, ManifestError> {
    let name = path.display().to_string();
    let v: Value = serde_json::from_str(text).map_err(|source| ManifestError::Json {
        path: name.clone(),
        source,
    })?;
    let obj = v
        .as_object()
        .ok_or_else(|| ManifestError::NotAnObject { path: name.clone() })?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut entries = Vec::with_capacity(obj.len());
    for (file, e) in obj {
        entries.push(entry(dir, file, e).map_err(|what| ManifestError::Entry {
            path: name.clone(),
            file: file.clone(),
            what,
        })?);
    }
    if entries.is_empty() {
        return Err(ManifestError::NoEntries { path: name });
    }
    entries.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(entries)
}

/// Reads `DIR/manifest.json`.
pub fn read_manifest(dir: &Path) -> Result<Vec<Entry>, ManifestError> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|source| ManifestError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_manifest(&path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_truth_and_relative_paths() {
        let text = r#"{
          "b.csv": {"zone": "cpu", "t_throttle_s": 854, "trip_c": 73.9, "load_from_s": 720},
          "../up/a.log": {"zone": "GPU", "threshold_c": 50, "t_heat_start_s": 5, "note": "x"},
          "c.csv": {"zone": "cpu", "samples": 3, "load_column": "power_w"}
        }"#;
        let e = parse_manifest(Path::new("corpus/manifest.json"), text).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].file, "../up/a.log");
        assert_eq!(e[0].path, Path::new("corpus/../up/a.log"));
        assert_eq!(
            e[0].truth,
            Truth::Threshold {
                threshold_c: 50.0,
                t_cross_s: None
            }
        );
        assert_eq!(e[0].t_heat_start_s, 5.0);
        assert_eq!(
            e[1].truth,
            Truth::Onset {
                t_throttle_s: 854.0,
                trip_c: 73.9
            }
        );
        assert_eq!(e[2].truth, Truth::HeatUp);
        assert_eq!(e[2].t_heat_start_s, 0.0);
        assert_eq!(e[2].load_column, Some(InputColumn::PowerW));
        assert_eq!(e[0].load_column, None);
    }

    #[test]
    fn bad_manifests_name_the_file_and_the_entry() {
        let p = Path::new("m/manifest.json");
        let err = |t: &str| parse_manifest(p, t).unwrap_err().to_string();
        assert!(
            err("{").starts_with("m/manifest.json: not JSON"),
            "{}",
            err("{")
        );
        assert!(err("[]").contains("one object"));
        assert!(err("{}").contains("no trace"));
        let e = err(r#"{"x.csv": {"t_throttle_s": 1, "trip_c": 2}}"#);
        assert_eq!(
            e,
            "m/manifest.json: entry \"x.csv\": no \"zone\" (the zone to score)"
        );
        let e = err(r#"{"x.csv": {"zone": "cpu", "t_throttle_s": 1}}"#);
        assert!(e.contains("without trip_c"), "{e}");
        let e = err(r#"{"x.csv": {"zone": "cpu", "threshold_c": "hot"}}"#);
        assert!(e.contains("threshold_c must be a number"), "{e}");
        let e = err(r#"{"x.csv": {"zone": "cpu", "load_column": "fan"}}"#);
        assert!(e.contains("unknown input column \"fan\""), "{e}");
    }
}
