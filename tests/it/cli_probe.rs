//! The real binary: `jetstress probe --json --root <tree>` prints the documented
//! `jetstress.snapshot/1` shape for every fixture tree and this machine, and
//! user mistakes are one `error:` line with exit code 2, never a backtrace.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_jetstress");
const TREES: [&str; 7] = [
    "orin-agx-r36",
    "orin-nano-r35",
    "xavier-nx-r32",
    "nano-r32",
    "tx2-r32",
    "x86-laptop",
    "bare-vm",
];

fn probe_json(root: &Path) -> Value {
    let out = crate::common::run_ok(
        Command::new(BIN)
            .args(["probe", "--json", "--root"])
            .arg(root),
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

fn has_all(v: &Value, want: &[&str]) {
    let k = keys(v);
    for w in want {
        assert!(k.iter().any(|x| x == w), "missing field {w} in {k:?}");
    }
}

/// The field names docs/formats.md documents (the public contract).
fn check_shape(s: &Value) {
    assert_eq!(s["schema"], "jetstress.snapshot/1");
    has_all(
        s,
        &[
            "thermal", "cooling", "cpu", "memory", "gpus", "power", "fans", "board", "throttle",
            "watched",
        ],
    );
    for z in s["thermal"].as_array().unwrap() {
        has_all(z, &["name", "temp_c", "online", "offline_reason", "trips"]);
        assert_eq!(z["online"].as_bool().unwrap(), !z["temp_c"].is_null());
        for t in z["trips"].as_array().unwrap() {
            has_all(t, &["kind", "temp_c"]);
        }
    }
    for c in s["cooling"].as_array().unwrap() {
        has_all(c, &["type", "cur_state", "max_state"]);
    }
    has_all(&s["cpu"], &["util_pct", "cores"]);
    for c in s["cpu"]["cores"].as_array().unwrap() {
        has_all(
            c,
            &[
                "id",
                "online",
                "util_pct",
                "freq_mhz",
                "max_freq_mhz",
                "cap_mhz",
            ],
        );
    }
    has_all(
        &s["memory"],
        &[
            "total_mb",
            "available_mb",
            "used_mb",
            "swap_total_mb",
            "swap_used_mb",
            "nvmap_mb",
        ],
    );
    for g in s["gpus"].as_array().unwrap() {
        has_all(
            g,
            &[
                "kind",
                "name",
                "load_pct",
                "freq_mhz",
                "max_freq_mhz",
                "temp_c",
                "mem_used_mb",
                "mem_total_mb",
            ],
        );
        assert!(g["kind"] == "tegra" || g["kind"] == "nvml");
    }
    has_all(&s["power"], &["rails", "total_mw"]);
    for r in s["power"]["rails"].as_array().unwrap() {
        has_all(r, &["name", "mv", "ma", "mw"]);
    }
    for f in s["fans"].as_array().unwrap() {
        has_all(f, &["name", "pwm_pct", "rpm"]);
    }
    has_all(
        &s["board"],
        &["model", "soc", "l4t", "nvpmodel", "jetson_clocks"],
    );
    has_all(&s["throttle"], &["throttled", "reasons"]);
}

#[test]
fn every_fixture_tree_prints_the_documented_shape() {
    for tree in TREES {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(tree);
        let s = probe_json(&root);
        check_shape(&s);
        let jetson = !s["board"]["l4t"].is_null();
        assert_eq!(
            jetson,
            !tree.starts_with("x86") && tree != "bare-vm",
            "{tree}"
        );
    }
}

#[test]
fn this_vm_prints_a_sane_snapshot() {
    let s = probe_json(Path::new("/"));
    check_shape(&s);
    assert!(!s["cpu"]["cores"].as_array().unwrap().is_empty());
    assert!(
        s["cpu"]["util_pct"].is_number(),
        "two samples 250 ms apart define a rate"
    );
    assert!(s["memory"]["total_mb"].as_f64().unwrap() > 0.0);
}

#[test]
fn watch_pid_reports_rss_of_a_real_process() {
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    // Between fork and exec the child still carries the test's name.
    let comm = format!("/proc/{}/comm", child.id());
    for _ in 0..200 {
        if std::fs::read_to_string(&comm).is_ok_and(|c| c.trim() == "sleep") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let out = Command::new(BIN)
        .args(["probe", "--json", "--watch-pid"])
        .arg(child.id().to_string())
        .output()
        .unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let w = &s["watched"][0];
    assert_eq!(w["pid"], child.id());
    assert_eq!(w["name"], "sleep");
    assert!(w["rss_mb"].as_f64().unwrap() > 0.0);
}

#[test]
fn readable_summary_names_offline_zones_and_throttle_reasons() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/orin-agx-r36");
    let out = Command::new(BIN)
        .args(["probe", "--root"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("NVIDIA Jetson AGX Orin Developer Kit"));
    assert!(text.contains("cv0-thermal") && text.contains("offline: power-gated (-256000)"));
    assert!(text.contains("Throttle  YES"));
    assert!(text.contains("CPU cores 4-7 capped"));
}

#[test]
fn user_mistakes_are_one_error_line_and_exit_2() {
    let out = Command::new(BIN)
        .args(["probe", "--root", "/definitely/not/here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: root '/definitely/not/here' is not a directory"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);

    let out = Command::new(BIN)
        .args(["probe", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error:"), "{err}");
    assert!(!err.contains("panicked"));

    let out = Command::new(BIN)
        .args(["--interval", "fast", "probe"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("not a duration"));
}

#[test]
fn help_reads_well() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for word in ["probe", "predict-eval", "--root", "--interval"] {
        assert!(text.contains(word), "help lacks {word}:\n{text}");
    }
}
