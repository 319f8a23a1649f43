//! The same events, the same words: a spike run headless (`jetstress run
//! --record`) and the same spike started by key in the dashboard (`--record`,
//! `1`) write identical engine event lines — level and text — into their
//! recordings, because both front ends take them from one place.

use std::process::Command;
use std::time::{Duration, Instant};

use jetstress::recording::{read_recording, RecordedEvent};

use crate::e2e_tmux::Session;

const BIN: &str = env!("CARGO_BIN_EXE_jetstress");

const SCENARIO: &str = r#"
name = "same-events"
sessions = 2
[[targets]]
builtin = true
[[mix]]
tool = "built-in:echo"
weight = 1
[[phases]]
kind = "spike"
baseline_rate = 4
peak_rate = 8
baseline = "1s"
spike = "1s"
recovery = "1s"
"#;

/// The engine's lines of a recording (phase and stage changes, guards,
/// targets, generators), without the front ends' own notices.
fn engine_lines(events: &[RecordedEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| {
            ["phase ", "guard ", "target ", "cpu ", "memory ", "gpu "]
                .iter()
                .any(|p| e.text.starts_with(p))
        })
        .map(|e| (e.level.as_str().to_string(), e.text.clone()))
        .collect()
}

#[test]
fn a_dashboard_and_a_run_record_the_same_event_lines() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("spike.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let root = format!(
        "{}/tests/fixtures/xavier-nx-r32",
        env!("CARGO_MANIFEST_DIR")
    );

    let headless = dir.path().join("run.jsonl");
    let out = Command::new(BIN)
        .args(["run", "--root", &root, "--interval", "200ms", "--scenario"])
        .arg(&scenario)
        .arg("--record")
        .arg(&headless)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dashboard = dir.path().join("dash.jsonl");
    let s = Session::start(
        120,
        40,
        &format!(
            "{BIN} --root {root} --interval 200ms --scenario {} --record {}",
            scenario.display(),
            dashboard.display()
        ),
    );
    s.wait_for("the first sample", |t| t.contains("Thermal"));
    s.keys(&["1"]);
    // The phase runs its 3 s; the recording says when it stopped.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&dashboard).unwrap_or_default();
        if text.contains("phase spike stopped") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the dashboard's spike never stopped:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    s.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !s.pane_dead() {
        assert!(Instant::now() < deadline, "the dashboard did not quit");
        std::thread::sleep(Duration::from_millis(100));
    }

    let run = engine_lines(&read_recording(&headless).unwrap().events);
    let dash = engine_lines(&read_recording(&dashboard).unwrap().events);
    assert!(
        run.iter().any(|(_, t)| t.contains(": stage ")),
        "the run recorded its stage changes: {run:?}"
    );
    assert_eq!(
        run, dash,
        "the two front ends recorded different event lines"
    );
}
