//! The console's own footprint in a real run against the built-in server:
//! the load statistics stay within the size the performance docs promise
//! (per tool and scope: one row of two histograms, live or frozen), and the
//! summary reports the console's RSS and CPU.

use std::process::Command;

use jetstress::load::{ROLLING_WINDOWS, TOOL_ROW_MAX_BYTES};

#[test]
fn a_spike_holds_no_more_statistics_than_its_plan_allows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let st = Command::new(env!("CARGO_BIN_EXE_jetstress"))
        .args(["run", "--phase", "spike", "--duration", "6s", "--json"])
        .arg(&out)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        st.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let run = &j;
    let tools = run["targets"][0]["tools"].as_array().unwrap().len();
    let stages = run["phases"][0]["stages"].as_array().unwrap().len();
    assert!(tools > 0 && stages == 3, "{tools} tools, {stages} stages");
    let c = &run["console"];
    let bytes = c["stats_bytes"].as_u64().unwrap() as usize;
    // Scopes: the live window, the rolling ring, each stage, the soak row.
    let rows = tools + 1;
    let bound = rows * TOOL_ROW_MAX_BYTES * (1 + ROLLING_WINDOWS + stages) + TOOL_ROW_MAX_BYTES;
    assert!(bytes > 0 && bytes <= bound, "{bytes} > {bound}");
    // Every stage is over: only the window is still dense, so the whole is
    // far below the dense worst case.
    assert!(
        bytes < bound / 4,
        "{bytes} of {bound}: finished stages not frozen?"
    );
    assert!(c["peak_rss_mb"].as_f64().unwrap() > 0.0);
    assert!(c["cpu_s"].as_f64().unwrap() > 0.0);
}
