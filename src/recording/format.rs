//! The `jetstress.recording/1` line format, defined once: [`Line`] is the
//! serde enum the writer serialises and the reader parses (tag `kind`).
//! Every line is one JSON object; the first of each file is its [`Header`].

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::load::engine::{Level, LoadWindow, RunSummary};
use crate::load::scenario::Acceptance;
use crate::predict::thermal::{Status, ZonePrediction};
use crate::snapshot::Snapshot;

pub const RECORDING_SCHEMA: &str = "jetstress.recording/1";

/// The first line of every recording file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Header {
    pub schema: String,
    pub version: String,
    pub host: Option<String>,
    pub board: Option<String>,
    pub start_unix_ms: u64,
    /// Part number when rotating (0 = first file).
    #[serde(default)]
    pub part: u32,
    /// Free-form run configuration (scenario, interval, root …).
    pub config: serde_json::Value,
}

impl Header {
    pub fn new(board: Option<String>, config: serde_json::Value) -> Header {
        Header {
            schema: RECORDING_SCHEMA.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            host: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string()),
            board,
            start_unix_ms: now_ms(),
            part: 0,
            config,
        }
    }
}

/// A prediction update: every zone's thermal prediction at that moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionUpdate {
    pub zones: Vec<ZoneLine>,
}

/// One zone of a prediction update: its prediction, and where the front end
/// computed it (the zone nearest its trip while a planned phase runs), the
/// load model's ETA under the plan's load ahead. Older recordings, without
/// the planned fields, read the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneLine {
    #[serde(flatten)]
    pub prediction: ZonePrediction,
    /// Why the planned prediction has (or lacks) an ETA; present where computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_planned_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lo_planned_s: Option<f64>,
    /// `None` with an ETA: maybe never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hi_planned_s: Option<f64>,
}

impl ZoneLine {
    /// A zone's line, with the planned prediction where there is one.
    pub fn new(prediction: ZonePrediction, planned: Option<&ZonePrediction>) -> ZoneLine {
        ZoneLine {
            prediction,
            planned_status: planned.map(|p| p.status),
            eta_planned_s: planned.and_then(|p| p.eta_s),
            lo_planned_s: planned.and_then(|p| p.lo_s),
            hi_planned_s: planned.and_then(|p| p.hi_s),
        }
    }
}

/// The last line of a run's recording (kind `summary`): what `jetstress
/// report RECORDING` needs besides the snapshots and load windows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub scenario: String,
    pub acceptance: Option<Acceptance>,
    pub interrupted: bool,
    pub run: RunSummary,
}

/// One line of a recording.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Line {
    Header(Box<Header>),
    Snapshot {
        snapshot: Arc<Snapshot>,
    },
    Event {
        time_unix_ms: u64,
        level: Level,
        text: String,
    },
    /// Per-tool load statistics of one engine window.
    LoadWindow {
        time_unix_ms: u64,
        window: Box<LoadWindow>,
    },
    Prediction {
        time_unix_ms: u64,
        prediction: PredictionUpdate,
    },
    /// The run's final summary, written once at its end.
    Summary {
        time_unix_ms: u64,
        summary: Box<RunRecord>,
    },
}

/// The kinds of [`Line`], for naming a line that did not parse.
pub const KINDS: &[&str] = &[
    "header",
    "snapshot",
    "event",
    "load_window",
    "prediction",
    "summary",
];

/// What a line that did not parse as a [`Line`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unparsed {
    /// One of [`KINDS`] with a body that does not fit it.
    Broken(&'static str),
    /// A JSON object of a kind this version does not know (a newer writer).
    UnknownKind,
    /// Not a recording line at all.
    NotALine,
}

/// Sort out a line that did not parse as a [`Line`].
pub fn unparsed(text: &str) -> Unparsed {
    #[derive(Deserialize)]
    struct KindOnly {
        kind: String,
    }
    match serde_json::from_str::<KindOnly>(text) {
        Ok(k) => KINDS
            .iter()
            .copied()
            .find(|n| *n == k.kind)
            .map_or(Unparsed::UnknownKind, Unparsed::Broken),
        Err(_) => Unparsed::NotALine,
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_through_the_one_enum() {
        let h = Line::Header(Box::new(Header::new(
            Some("b".into()),
            serde_json::json!({}),
        )));
        let text = serde_json::to_string(&h).unwrap();
        assert!(
            text.starts_with(r#"{"kind":"header","schema":"jetstress.recording/1""#),
            "{text}"
        );
        assert!(
            matches!(serde_json::from_str::<Line>(&text).unwrap(), Line::Header(b) if b.board.as_deref() == Some("b"))
        );
        let e = Line::Event {
            time_unix_ms: 5,
            level: Level::Warn,
            text: "x".into(),
        };
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(
            text,
            r#"{"kind":"event","time_unix_ms":5,"level":"warn","text":"x"}"#
        );
        assert_eq!(
            unparsed(r#"{"kind":"load_window","window":1}"#),
            Unparsed::Broken("load_window")
        );
        assert_eq!(unparsed(r#"{"kind":"later","x":1}"#), Unparsed::UnknownKind);
        assert_eq!(unparsed("not json"), Unparsed::NotALine);
    }

    /// A zone of a prediction line carries the planned ETA where it was
    /// computed, flat beside its own fields; a line without it (an older
    /// recording) reads with none.
    #[test]
    fn prediction_zones_carry_the_planned_eta_and_old_lines_still_read() {
        let p = ZonePrediction {
            zone: "cpu-thermal".into(),
            eta_s: Some(360.0),
            lo_s: Some(300.0),
            hi_s: Some(420.0),
            model: crate::predict::thermal::Model::Load,
            t_inf_c: Some(104.0),
            status: Status::Ok,
            trip_c: 99.0,
            temp_c: 80.0,
            slope_c_per_min: 1.0,
            message: "m".into(),
        };
        let planned = ZonePrediction {
            eta_s: Some(120.0),
            lo_s: Some(100.0),
            hi_s: None,
            ..p.clone()
        };
        let line = Line::Prediction {
            time_unix_ms: 1,
            prediction: PredictionUpdate {
                zones: vec![
                    ZoneLine::new(p.clone(), Some(&planned)),
                    ZoneLine::new(p.clone(), None),
                ],
            },
        };
        let text = serde_json::to_string(&line).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let zones = &v["prediction"]["zones"];
        assert_eq!(zones[0]["eta_s"], 360.0);
        assert_eq!(zones[0]["eta_planned_s"], 120.0);
        assert_eq!(zones[0]["lo_planned_s"], 100.0);
        assert_eq!(zones[0]["planned_status"], "ok");
        assert!(
            zones[0].get("hi_planned_s").is_none(),
            "maybe never: left out"
        );
        assert!(zones[1].get("eta_planned_s").is_none(), "{text}");
        let Line::Prediction { prediction, .. } = serde_json::from_str::<Line>(&text).unwrap()
        else {
            panic!("{text}")
        };
        assert_eq!(prediction.zones[0].prediction, p);
        assert_eq!(prediction.zones[0].eta_planned_s, planned.eta_s);
        // An older writer's line: the zone's own fields only.
        let old = serde_json::json!({
            "kind": "prediction",
            "time_unix_ms": 1,
            "prediction": {"zones": [serde_json::to_value(&p).unwrap()]}
        });
        let Line::Prediction { prediction, .. } = serde_json::from_value::<Line>(old).unwrap()
        else {
            panic!()
        };
        assert_eq!(prediction.zones, vec![ZoneLine::new(p, None)]);
    }
}
