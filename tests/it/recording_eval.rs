//! A jetstress recording is a trace like any other: `predict-eval` scores the
//! predictor on it, using the zones' own trips from the recorded snapshots.

use std::process::Command;
use std::sync::Arc;

use jetstress::recording::{Header, Record, Recorder, RecorderConfig};
use jetstress::snapshot::{Snapshot, ThermalZone, Trip};

#[test]
fn predict_eval_reads_a_recording_with_its_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("heat.jsonl");
    let rec = Recorder::start(
        RecorderConfig {
            path: path.clone(),
            append: false,
            rotate_bytes: None,
        },
        Header::new(Some("synthetic".into()), serde_json::Value::Null),
    )
    .unwrap();
    // First-order heat-up 35 → 95 °C, τ = 300 s, 0.25 °C steps; the passive
    // trip at 80 °C is crossed at t = τ·ln(60/15) ≈ 416 s.
    for i in 0..900 {
        let t = f64::from(i);
        let temp = 95.0 - 60.0 * (-t / 300.0).exp();
        let mut s = Snapshot::empty();
        s.elapsed_s = t;
        s.thermal.push(ThermalZone {
            id: "thermal_zone0".into(),
            name: "cpu-thermal".into(),
            source: "zone".into(),
            temp_c: Some((temp * 4.0).round() / 4.0),
            online: true,
            trips: vec![
                Trip {
                    kind: "passive".into(),
                    temp_c: 80.0,
                },
                Trip {
                    kind: "critical".into(),
                    temp_c: 104.5,
                },
            ],
            ..Default::default()
        });
        assert!(rec.record(Record::Snapshot(Arc::new(s))));
    }
    rec.finish().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_jetstress"))
        .args(["predict-eval", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["format"], "jetstress_jsonl");
    assert_eq!(report["samples"], 900);
    let zone = &report["zones"][0];
    assert_eq!(zone["zone"], "cpu-thermal");
    // The threshold came from the recorded passive trip, and the crossing is
    // where the curve puts it (quantised to 0.25 °C, sampled each second).
    assert_eq!(zone["threshold_c"], 80.0);
    let crossing = 300.0 * (60.0f64 / 15.0).ln();
    let t = zone["t_cross_s"].as_f64().unwrap();
    assert!(
        (t - crossing).abs() <= 3.0,
        "crossing at {t}, expected ≈{crossing:.0}"
    );
}
