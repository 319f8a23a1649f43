//! `jetstress run --report DIR`: a real run writes `report.json` that
//! validates against `schemas/jetstress.report-1.schema.json`, and
//! `report.md` with the executive summary first; `--record` writes the
//! snapshots and load windows as a `jetstress.recording/1` file. The validator below covers
//! the JSON Schema subset the shipped schema uses (type, const, enum,
//! properties, required, additionalProperties, propertyNames, items, minimum, $ref to $defs),
//! and is itself checked to reject broken documents.

use std::process::Command;

use serde_json::Value;

use crate::common;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jetstress"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn schema() -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas/jetstress.report-1.schema.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_u64() || v.is_i64(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("schema type {other} not supported by this validator"),
    }
}

/// Errors as `path: message`; empty when `v` is valid. The subset of JSON
/// Schema our schemas and schemars' output schemas use (`check.rs` validates
/// `jetstress.check/1` with it, `mcp_serve.rs` each tool's output).
pub(crate) fn validate(root: &Value, s: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    let known = [
        "$schema",
        "$defs",
        "$ref",
        "title",
        "description",
        "type",
        "const",
        "enum",
        "properties",
        "required",
        "additionalProperties",
        "propertyNames",
        "items",
        "minimum",
        "maximum",
        "anyOf",
        "oneOf",
        "format",
        "default",
    ];
    for k in s.as_object().unwrap().keys() {
        assert!(known.contains(&k.as_str()), "validator lacks keyword {k}");
    }
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").expect("local $ref");
        return validate(root, &root["$defs"][name], v, path, errs);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = s.get(key).and_then(Value::as_array) {
            let fits = |alt: &Value| {
                let mut e = Vec::new();
                validate(root, alt, v, path, &mut e);
                e.is_empty()
            };
            if !alts.iter().any(fits) {
                errs.push(format!("{path}: {v} matches no {key} alternative"));
            }
        }
    }
    if let Some(t) = s.get("type") {
        let ok = match t {
            Value::String(t) => type_ok(t, v),
            Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().unwrap(), v)),
            _ => panic!("bad type"),
        };
        if !ok {
            errs.push(format!("{path}: expected {t}, got {v}"));
            return;
        }
    }
    if let Some(c) = s.get("const") {
        if c != v {
            errs.push(format!("{path}: expected {c}, got {v}"));
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            errs.push(format!("{path}: {v} not one of {e:?}"));
        }
    }
    if let (Some(m), Some(n)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if n < m {
            errs.push(format!("{path}: {n} < minimum {m}"));
        }
    }
    if let (Some(m), Some(n)) = (s.get("maximum").and_then(Value::as_f64), v.as_f64()) {
        if n > m {
            errs.push(format!("{path}: {n} > maximum {m}"));
        }
    }
    if let Some(o) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !o.contains_key(r.as_str().unwrap()) {
                errs.push(format!("{path}: missing {r}"));
            }
        }
        for (k, x) in o {
            let p = format!("{path}/{k}");
            if let Some(names) = s.get("propertyNames") {
                validate(
                    root,
                    names,
                    &Value::String(k.clone()),
                    &format!("{p} (name)"),
                    errs,
                );
            }
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate(root, ps, x, &p, errs),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => errs.push(format!("{p}: not allowed")),
                    Some(ap @ Value::Object(_)) => validate(root, ap, x, &p, errs),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(a)) = (s.get("items"), v.as_array()) {
        for (i, x) in a.iter().enumerate() {
            validate(root, items, x, &format!("{path}/{i}"), errs);
        }
    }
}

/// `v` against `jetstress.report/1`.
pub(crate) fn errors(v: &Value) -> Vec<String> {
    let s = schema();
    let mut errs = Vec::new();
    validate(&s, &s, v, "", &mut errs);
    errs
}

#[test]
fn a_real_run_writes_a_valid_report() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("r.toml");
    std::fs::write(
        &f,
        r#"
name = "report-test"
sessions = 2
timeout = "300ms"
[[targets]]
name = "fault"
cmd = ["python3", "tests/fault-server/fault_server.py"]
[[mix]]
tool = "fault:delay"
weight = 3
args = { ms = 5 }
[[mix]]
tool = "fault:hang"
[[phases]]
kind = "custom"
stages = [{ rate = 10, duration = "1s" }, { rate = 20, duration = "1s" }]
[acceptance]
max_p95_ms = 2000
max_p95_ms_throttled = 2000
"#,
    )
    .unwrap();
    let out_dir = dir.path().join("report");
    let out = bin()
        .args(["--root", "tests/fixtures/orin-agx-r36", "run", "--scenario"])
        .arg(&f)
        .arg("--report")
        .arg(&out_dir)
        .arg("--record")
        .arg(dir.path().join("run.jsonl"))
        .arg("--log-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Hangs time out (errors) and the fixture board is throttled: FAIL.
    assert_eq!(out.status.code(), Some(1), "{err}");
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap())
            .unwrap();
    let errs = errors(&v);
    assert!(errs.is_empty(), "{errs:#?}");
    assert_eq!(v["schema"], "jetstress.report/1");
    assert_eq!(v["result"], "FAIL");
    assert_eq!(v["scenario"], "report-test");
    assert_eq!(v["acceptance"]["max_p95_ms"], 2000.0);
    assert_eq!(
        v["board"]["board"]["model"],
        "NVIDIA Jetson AGX Orin Developer Kit"
    );
    assert!(v["board"]["throttled"].as_bool().unwrap());
    assert!(v["observations"]["snapshots"].as_u64().unwrap() >= 1);
    assert_eq!(v["run"]["phases"][0]["stages"].as_array().unwrap().len(), 2);
    let verdict = |n: &str| criterion(&v, n)["verdict"].clone();
    assert_eq!(verdict("error_rate"), "fail");
    assert_eq!(verdict("no_throttling"), "fail");
    assert_eq!(verdict("throttle_predicted"), "not_applicable");
    assert_eq!(verdict("p95_latency"), "pass");

    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(md.starts_with("# jetstress report: report-test\n\n## Executive summary"));
    assert!(md.contains("**Result: FAIL**"), "{md}");
    assert!(md.contains("Errors `fault`:"), "{md}");
    assert!(md.contains("| fault:delay |"), "{md}");
    assert!(md.contains("## Recommendations\n\n- "), "{md}");

    // Charts: well-formed SVG and decodable PNG of each, listed in the report,
    // the PNG shown in report.md and the SVG linked. No stress phase ran, so
    // there is no stress curve.
    let stems = ["temperatures", "memory", "latency", "rate"];
    let listed: Vec<String> = stems
        .iter()
        .flat_map(|c| [format!("{c}.svg"), format!("{c}.png")])
        .collect();
    assert_eq!(v["charts"], serde_json::json!(listed));
    for c in stems {
        let svg = std::fs::read_to_string(out_dir.join(format!("{c}.svg"))).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{c}: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let (w, h) = png_size(&out_dir.join(format!("{c}.png")));
        assert!(w >= 640 && h >= 320, "{c}.png is {w}×{h}");
        assert!(md.contains(&format!("]({c}.png)")), "{md}");
        assert!(md.contains(&format!("]({c}.svg)")), "{md}");
    }
    let lat = std::fs::read_to_string(out_dir.join("latency.svg")).unwrap();
    assert!(lat.contains("fault:delay p95"), "{lat}");

    // --record: header, snapshots and load windows, one JSON object a line.
    let rec = std::fs::read_to_string(dir.path().join("run.jsonl")).unwrap();
    let lines: Vec<Value> = rec
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["schema"], "jetstress.recording/1");
    assert_eq!(lines[0]["config"]["scenario"], "report-test");
    assert!(lines.iter().any(|l| l["kind"] == "snapshot"), "{rec}");
    let windows: Vec<&Value> = lines
        .iter()
        .filter(|l| l["kind"] == "load_window")
        .collect();
    assert!(!windows.is_empty(), "{rec}");
    assert!(windows[0]["window"]["tools"].is_array());
    // Events: phase and stage changes, and the throttling the fixture shows.
    let events: Vec<&str> = lines
        .iter()
        .filter(|l| l["kind"] == "event")
        .filter_map(|l| l["text"].as_str())
        .collect();
    assert!(events.iter().any(|e| e.ends_with(" started")), "{events:?}");
    assert!(events.iter().any(|e| e.contains(": stage ")), "{events:?}");
    assert!(
        events.iter().any(|e| e.starts_with("throttling: ")),
        "{events:?}"
    );
    // Prediction updates, one entry per zone.
    let pred = lines
        .iter()
        .find(|l| l["kind"] == "prediction")
        .expect("a prediction line");
    assert!(pred["prediction"]["zones"][0]["zone"].is_string(), "{pred}");
    let last = lines.last().unwrap();
    assert_eq!(
        last["kind"], "summary",
        "the run's summary is the last line"
    );
    // The fixture board is throttled all along: the load windows recorded
    // after the first snapshot are those that ended while it was throttled.
    let mut throttled = false;
    let (mut n, mut worst) = (0u64, None::<f64>);
    for l in &lines {
        match l["kind"].as_str() {
            Some("snapshot") => throttled = l["snapshot"]["throttle"]["throttled"] == true,
            Some("load_window") if throttled => {
                let w = &l["window"];
                if w["phase"].is_string() || w["all"]["count"].as_u64() > Some(0) {
                    n += 1;
                }
                if w["all"]["count"].as_u64() > Some(0) {
                    let p95 = w["all"]["latency_ms"]["p95"].as_f64().unwrap();
                    worst = Some(worst.map_or(p95, |m: f64| m.max(p95)));
                }
            }
            _ => {}
        }
    }
    let tl = &v["observations"]["throttled_load"];
    assert!(n >= 1, "{rec}");
    assert_eq!(tl["windows"].as_u64(), Some(n), "{tl}");
    assert_eq!(tl["worst_p95_ms"].as_f64(), worst, "{tl}");
    let p = criterion(&v, "p95_throttled");
    assert_eq!(p["verdict"], "pass", "{p}");
    assert_eq!(p["measured"], format!("{:.1} ms", worst.unwrap()), "{p}");
    assert_eq!(last["summary"]["scenario"], "report-test");

    // `jetstress report RECORDING` rebuilds the same report, exit code included.
    let again = dir.path().join("again");
    let out = bin()
        .arg("report")
        .arg(dir.path().join("run.jsonl"))
        .arg("--out")
        .arg(&again)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let w: Value =
        serde_json::from_str(&std::fs::read_to_string(again.join("report.json")).unwrap()).unwrap();
    assert_eq!(w, v, "the rebuilt report.json differs from the run's");
    assert_eq!(
        std::fs::read_to_string(again.join("report.md")).unwrap(),
        md
    );
    png_size(&again.join("temperatures.png"));

    // A run killed mid-way: no summary line and a torn last line. The report
    // still comes out, with the board and charts, and FAILs `run_finished`.
    let cut = dir.path().join("cut.jsonl");
    let body: Vec<&str> = rec.lines().collect();
    let keep = body.len() - 2;
    let torn = &body[keep][..body[keep].len() / 2];
    std::fs::write(&cut, format!("{}\n{torn}", body[..keep].join("\n"))).unwrap();
    let cut_dir = dir.path().join("cut");
    let out = bin()
        .arg("report")
        .arg(&cut)
        .arg("--out")
        .arg(&cut_dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("last line is cut off"), "{err}");
    let c: Value =
        serde_json::from_str(&std::fs::read_to_string(cut_dir.join("report.json")).unwrap())
            .unwrap();
    assert!(errors(&c).is_empty(), "{:#?}", errors(&c));
    let fin = criterion(&c, "run_finished");
    assert_eq!(fin["verdict"], "fail", "{fin}");
    assert!(c["observations"]["snapshots"].as_u64().unwrap() >= 1);
    png_size(&cut_dir.join("latency.png"));

    // Not a recording: an error of use.
    let out = bin()
        .args(["report", "Cargo.toml", "--out"])
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Cargo.toml"));
}

/// The report's verdict on criterion `name`.
fn criterion(report: &Value, name: &str) -> Value {
    report["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no criterion {name}"))
        .clone()
}

/// Decodes a PNG fully and returns its size.
fn png_size(p: &std::path::Path) -> (u32, u32) {
    let f = std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut r = png::Decoder::new(std::io::BufReader::new(f))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (info.width, info.height)
}

/// A board that heats up during the run and throttles: the onset is judged
/// by how long before it the thermal predictor had shown an ETA. The heat is
/// scripted by rewriting a copied fixture's zone temperature in place (the
/// probe keeps its file open), 1 °C/s towards a passive trip lowered to 56 °C.
#[test]
fn a_throttle_onset_mid_run_is_judged_by_its_prediction_lead() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("board");
    std::fs::create_dir(&root).unwrap();
    common::copy_tree(&common::fixture_dir("xavier-nx-r32"), &root);
    let zone = root.join("sys/class/thermal/thermal_zone1");
    assert_eq!(
        std::fs::read_to_string(zone.join("type")).unwrap().trim(),
        "CPU-therm"
    );
    std::fs::write(zone.join("trip_point_0_temp"), "56000\n").unwrap();
    let scenario = dir.path().join("lead.toml");
    // The guard would stop the load 5 °C before the trip, ending the run
    // before the onset this test is about.
    std::fs::write(
        &scenario,
        "name = \"lead\"\n[guards]\nenabled = false\n[acceptance]\nmin_prediction_lead_s = 3\nmin_alert_precision_pct = 50\n",
    )
    .unwrap();
    let temp = std::fs::OpenOptions::new()
        .write(true)
        .open(zone.join("temp"))
        .unwrap();
    temp.write_all_at(b"40000\n", 0).unwrap();
    let child = bin()
        .arg("--root")
        .arg(&root)
        .args([
            "--interval",
            "200ms",
            "run",
            "--phase",
            "soak",
            "--rate",
            "5",
        ])
        .args(["--duration", "22s", "--scenario"])
        .arg(&scenario)
        .arg("--report")
        .arg(dir.path().join("report"))
        .arg("--log-dir")
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Flat at 40 °C for 1 s, then +1 °C/s: the trip is reached about 17 s in.
    let start = std::time::Instant::now();
    let heater = std::thread::spawn(move || {
        while start.elapsed() < std::time::Duration::from_secs(24) {
            let e = start.elapsed().as_secs_f64();
            let mc = 40_000 + ((e - 1.0).max(0.0) * 1000.0) as u32;
            // Same width every time (40000–63999), so an in-place write never leaves a tail.
            let _ = temp.write_all_at(format!("{:05}\n", mc.min(63_999)).as_bytes(), 0);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    });
    let out = child.wait_with_output().unwrap();
    heater.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Throttling fails `no_throttling`, so the run FAILs overall …
    assert_eq!(out.status.code(), Some(1), "{err}");
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report/report.json")).unwrap(),
    )
    .unwrap();
    // A run against the built-in server: schema-valid JSON, decodable PNGs.
    let errs = errors(&v);
    assert!(errs.is_empty(), "{errs:#?}");
    assert_eq!(v["run"]["targets"][0]["name"], "built-in");
    for c in ["temperatures", "memory", "latency", "rate"] {
        png_size(&dir.path().join(format!("report/{c}.png")));
    }
    let onset = &v["observations"]["throttle_events"][0];
    assert_eq!(onset["at_start"], false, "{onset}");
    let at = onset["at_s"].as_f64().unwrap();
    assert!((12.0..22.0).contains(&at), "onset at {at} s: {onset}");
    let lead = onset["predicted_lead_s"]
        .as_f64()
        .expect("the onset was predicted");
    // … but the onset was foreseen: predictions start once the window holds
    // 10 s of samples, some 5–7 s before the trip.
    assert!(lead >= 3.0 && lead < at, "lead {lead} s, onset {at} s");
    let verdict = |n: &str| criterion(&v, n);
    assert_eq!(verdict("throttle_predicted")["verdict"], "pass", "{v:#}");
    assert_eq!(verdict("no_throttling")["verdict"], "fail");
    let md = std::fs::read_to_string(dir.path().join("report/report.md")).unwrap();
    assert!(
        md.contains("Throttle predictions: 1 of 1 onset(s) predicted ahead"),
        "{md}"
    );
    // The prediction accuracy table has the onset and how early it was
    // foreseen; the run is too short for predictions 30–300 s before it.
    let row = format!(
        "| {at:.0} s | {} | {lead:.0} s ahead | - |",
        onset["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert!(md.contains(&row), "{row}\n{md}");
    assert!(onset.get("eta_error_pct").is_none(), "{onset}");
    // The ETA was under 5 min, without a break, from before the onset up to
    // it (the lead above): that alert episode was a hit and the onset was
    // foreseen. Earlier flickers, if any, may have been false alarms.
    let alerts = &v["observations"]["alerts"];
    assert!(alerts["hits"].as_u64() >= Some(1), "{alerts}");
    assert_eq!(alerts["recall_pct"].as_f64(), Some(100.0), "{alerts}");
    let precision = alerts["precision_pct"].as_f64().unwrap();
    let p = verdict("alert_precision");
    assert_eq!(p["measured"], format!("{precision:.1} %"), "{p}");
    assert_eq!(
        p["verdict"],
        if precision >= 50.0 { "pass" } else { "fail" },
        "{p}"
    );
    assert!(md.contains("## Prediction accuracy"), "{md}");
}

/// `jetstress run` says both ETAs while its phase runs: the board heats
/// 0.5 °C/s towards a 70 °C trip and its CPU is scripted busy (10 % before
/// the load, 50 % once it runs, through a copied fixture's `/proc/stat`).
/// The plain progress line names the zone's ETA at this load and under the
/// plan's load ahead, and the recording's prediction lines carry the
/// planned ETA for that zone.
#[test]
fn a_run_says_its_eta_at_this_load_and_under_the_planned_load() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("board");
    std::fs::create_dir(&root).unwrap();
    common::copy_tree(&common::fixture_dir("xavier-nx-r32"), &root);
    let zone = root.join("sys/class/thermal/thermal_zone1");
    std::fs::write(zone.join("trip_point_0_temp"), "70000\n").unwrap();
    let scenario = dir.path().join("both.toml");
    std::fs::write(&scenario, "name = \"both\"\n[guards]\nenabled = false\n").unwrap();
    let open = |p: std::path::PathBuf| std::fs::OpenOptions::new().write(true).open(p).unwrap();
    let (temp, stat) = (open(zone.join("temp")), open(root.join("proc/stat")));
    // Fixed-width counters, so an in-place write never leaves a tail: 100
    // jiffies per second per core, busy 10 % for 1.5 s, then 50 %.
    let write_stat = move |e: f64| {
        let total = (100.0 * e) as u64 + 1_000_000;
        let busy = (10.0 * e.min(1.5) + 50.0 * (e - 1.5).max(0.0)) as u64 + 100_000;
        let idle = total - busy;
        let line = |label: &str| format!("{label} {busy:010} 0 0 {idle:010} 0 0 0 0 0 0\n");
        let mut text = line("cpu ");
        for c in 0..4 {
            text.push_str(&line(&format!("cpu{c}")));
        }
        let _ = stat.write_all_at(text.as_bytes(), 0);
    };
    write_stat(0.0);
    temp.write_all_at(b"40000\n", 0).unwrap();
    let recording = dir.path().join("both.jsonl");
    let child = bin()
        .arg("--root")
        .arg(&root)
        .args([
            "--interval",
            "200ms",
            "run",
            "--phase",
            "soak",
            "--rate",
            "5",
        ])
        .args(["--duration", "25s", "--scenario"])
        .arg(&scenario)
        .arg("--record")
        .arg(&recording)
        .arg("--log-dir")
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let heater = std::thread::spawn(move || {
        while start.elapsed() < std::time::Duration::from_secs(27) {
            let e = start.elapsed().as_secs_f64();
            let mc = 40_000 + (e * 500.0) as u32;
            let _ = temp.write_all_at(format!("{:05}\n", mc.min(69_999)).as_bytes(), 0);
            write_stat(e);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    });
    let out = child.wait_with_output().unwrap();
    heater.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let progress: Vec<&str> = err.lines().filter(|l| l.contains("in flight")).collect();
    assert!(!progress.is_empty(), "{err}");
    let both = progress
        .iter()
        .find(|l| l.contains(" at this load; "))
        .unwrap_or_else(|| panic!("no line with both ETAs:\n{err}"));
    assert!(both.contains("CPU-therm"), "{both}");
    assert!(
        both.contains("if the soak phase goes on to 5 rps"),
        "{both}"
    );
    let lines: Vec<Value> = std::fs::read_to_string(&recording)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let planned: Vec<&Value> = lines
        .iter()
        .filter(|l| l["kind"] == "prediction")
        .flat_map(|l| l["prediction"]["zones"].as_array().unwrap())
        .filter(|z| z.get("planned_status").is_some())
        .collect();
    assert!(!planned.is_empty(), "no planned prediction recorded");
    assert!(
        planned.iter().all(|z| z["zone"] == "CPU-therm"),
        "{planned:?}"
    );
    assert!(
        planned
            .iter()
            .any(|z| z["planned_status"] == "ok" && z["eta_planned_s"].as_f64().is_some()),
        "{planned:?}"
    );
}

/// The built-in server never dies under a light load: its uptime is 100 %
/// with nothing down, and its RSS per session is judged against a limit.
#[test]
fn a_builtin_server_that_never_dies_is_up_all_the_time() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("up.toml");
    std::fs::write(
        &f,
        "name = \"up\"\nsessions = 2\n[[targets]]\nbuiltin = true\n[[phases]]\nkind = \"soak\"\nrate = 10\nduration = \"3s\"\n\
         [acceptance]\nmin_uptime_pct = 100\nmax_server_rss_mb = 4096\n",
    )
    .unwrap();
    let out = bin()
        .args(["--root", "tests/fixtures/x86-laptop", "run", "--scenario"])
        .arg(&f)
        .arg("--report")
        .arg(dir.path().join("report"))
        .arg("--log-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report/report.json")).unwrap(),
    )
    .unwrap();
    assert!(errors(&v).is_empty(), "{:#?}", errors(&v));
    let t = &v["run"]["targets"][0];
    assert_eq!(t["name"], "built-in", "{t}");
    assert_eq!(
        (t["failures"].as_u64(), t["restarts"].as_u64()),
        (Some(0), Some(0)),
        "{t}"
    );
    assert_eq!(t["down_s"].as_f64(), Some(0.0), "{t}");
    assert_eq!(t["uptime_pct"].as_f64(), Some(100.0), "{t}");
    let up = criterion(&v, "uptime");
    assert_eq!(up["verdict"], "pass", "{up}");
    assert_eq!(up["measured"], "100.00 %", "{up}");
    let rss = criterion(&v, "server_rss");
    assert_eq!(rss["verdict"], "pass", "{rss}");
    let peak = t["rss_mb_per_session"]["max"]
        .as_f64()
        .expect("the built-in server's RSS was watched");
    assert_eq!(rss["measured"], format!("{peak:.1} MB"), "{rss}");
    // The peak is the largest single session, never below the sessions' mean.
    let mean = t["rss_mb_per_session"]["mean"].as_f64().unwrap();
    assert!(peak >= mean && mean > 0.0, "{t}");
    assert!(err.contains("uptime"), "{err}");
}

#[test]
fn the_validator_rejects_broken_reports() {
    let mut v: Value = serde_json::from_value(serde_json::json!({
        "schema": "jetstress.report/1", "scenario": "x", "result": "PASS", "interrupted": false,
        "criteria": [{"name": "p95_latency", "verdict": "pass", "measured": "1.0 ms",
                      "threshold": "< 5000 ms", "detail": ""}],
        "acceptance": null,
        "observations": {"snapshots": 1, "throttled_snapshots": 0, "throttle_events": [],
                         "max_temp_c": null, "max_temp_zone": null},
        "board": null, "charts": [],
        "run": {"schema": "jetstress.run/1", "started_unix_ms": 0, "elapsed_s": 1.0, "in_flight": 0,
                "phases": [], "targets": [], "generators": [], "guard_events": []}
    }))
    .unwrap();
    assert!(errors(&v).is_empty(), "{:?}", errors(&v));
    v["result"] = "MAYBE".into();
    v["criteria"][0]["verdict"] = "ok".into();
    v["run"]["in_flight"] = (-1).into();
    v["observations"]["extra"] = 1.into();
    v.as_object_mut().unwrap().remove("scenario");
    let e = errors(&v);
    assert_eq!(e.len(), 5, "{e:#?}");
    assert!(e.iter().any(|m| m.starts_with("/result")));
    assert!(e.iter().any(|m| m.starts_with("/criteria/0/verdict")));
    assert!(e.iter().any(|m| m.starts_with("/run/in_flight")));
    assert!(e.iter().any(|m| m.starts_with("/observations/extra")));
    assert!(e.iter().any(|m| m.contains("missing \"scenario\"")));
}

/// A users (closed) phase beside an open one with poisson arrivals, every
/// optional field filled in: the serialized report validates, and each
/// object the new fields live in has exactly the schema's properties (so a
/// field renamed on either side fails here, not in a user's validator).
#[test]
fn a_report_with_a_users_phase_matches_the_schema_field_for_field() {
    use jetstress::load::Acceptance;
    use jetstress::load::{
        LittleCheck, LoadModel, Mean, MeanMax, Percentiles, PhaseKind, PhaseSummary, RunSummary,
        Scalability, Spread, StageSummary, TargetSummary, ToolSummary, UsersInfo, P50P95,
    };
    use jetstress::report::{
        evaluate, Alerts, Criteria, Observations, Report, ThrottleObs, ThrottledLoad,
    };

    let all = |count: u64, p95: f64| ToolSummary {
        tool: "all".into(),
        count,
        latency_ms: Percentiles {
            p50: p95 / 2.0,
            p95,
            ..Default::default()
        },
        rps: count as f64 / 10.0,
        ..Default::default()
    };
    let closed_stage = |users: u32, p95: f64, rss: f64| StageSummary {
        name: format!("{users} users"),
        duration_s: 10.0,
        scheduled: 100,
        all: all(100, p95),
        tools: vec![ToolSummary {
            tool: "fs:read_file".into(),
            ..all(100, p95)
        }],
        users: Some(users),
        requests: Some(100),
        think_ms: Some(Mean { mean: 250.0 }),
        iteration_ms: Some(P50P95 {
            p50: 300.0,
            p95: 400.0,
        }),
        little: Some(LittleCheck {
            expected_users: f64::from(users) * 0.8,
            users: f64::from(users),
            ratio: 0.8,
            holds: false,
        }),
        target_rss_mb: Some(rss),
        sessions: Some(users.min(4) as usize),
        rss_mb_per_session: Some(rss / f64::from(users.min(4))),
        ..Default::default()
    };
    let phase =
        |name: &str, kind: PhaseKind, model: LoadModel, stages: Vec<StageSummary>| PhaseSummary {
            name: name.into(),
            kind,
            started_s: 0.0,
            duration_s: 20.0,
            status: "completed".into(),
            model,
            arrivals: None,
            users: None,
            scalability: None,
            stages,
            whole: vec![all(200, 30.0)],
            breaking_point: None,
            spike: None,
            soak: None,
            invalid: None,
            sweep: None,
        };
    let mut open = phase(
        "open",
        PhaseKind::Custom,
        LoadModel::Open,
        vec![StageSummary {
            name: "hold".into(),
            target_rate: 10.0,
            achieved_rate: 10.0,
            all: all(100, 20.0),
            ..Default::default()
        }],
    );
    open.arrivals = Some("poisson".into());
    let mut closed = phase(
        "population",
        PhaseKind::Users,
        LoadModel::Closed,
        vec![closed_stage(2, 20.0, 60.0), closed_stage(8, 45.0, 110.0)],
    );
    closed.users = Some(UsersInfo {
        think: "200–300 ms".into(),
        spawn_rate: Some(2.0),
        max_sessions: 4,
        peak_users: 8,
        shared_sessions: true,
    });
    closed.scalability = Some(Scalability {
        rss_mb_per_user: Some(8.3),
        rss_r2: Some(1.0),
        p95_ms_per_user: Some(4.2),
        points: 2,
    });
    let run = RunSummary {
        schema: "jetstress.run/1".into(),
        started_unix_ms: 0,
        elapsed_s: 40.0,
        in_flight: 0,
        phases: vec![open, closed],
        targets: vec![
            TargetSummary {
                name: "fs".into(),
                kind: "stdio".into(),
                sessions: 4,
                tools: vec!["read_file".into()],
                failures: 0,
                restarts: 0,
                initialize_ms: Some(Spread {
                    p50: 40.0,
                    p95: 80.0,
                    max: 90.0,
                }),
                rss_mb_per_session: Some(MeanMax {
                    mean: 25.0,
                    max: 27.5,
                }),
                connect_error: None,
                down_s: 1.5,
                uptime_pct: Some(99.0),
            },
            TargetSummary {
                name: "remote".into(),
                kind: "http".into(),
                failures: 4,
                connect_error: Some(
                    "cannot reach http://127.0.0.1:1/mcp: connection refused".into(),
                ),
                ..TargetSummary::default()
            },
        ],
        generators: vec![],
        guard_events: vec![],
        console: Default::default(),
    };
    // Every observation and acceptance key filled in, the stress-test ones too.
    let o = Observations {
        snapshots: 40,
        throttled_snapshots: 5,
        throttle_events: vec![ThrottleObs {
            at_s: 30.0,
            reasons: vec!["sw-throttle".into()],
            predicted_lead_s: Some(20.0),
            at_start: false,
            eta_error_pct: Some(12.5),
            predicted_lead_planned_s: Some(25.0),
            eta_error_planned_pct: Some(6.0),
        }],
        max_temp_c: Some(80.0),
        max_temp_zone: Some("gpu-thermal".into()),
        throttled_load: ThrottledLoad {
            windows: 5,
            worst_p95_ms: Some(45.0),
        },
        alerts: Alerts {
            episodes: 2,
            hits: 1,
            false_alarms: 1,
            precision_pct: Some(50.0),
            recall_pct: Some(100.0),
        },
    };
    let acceptance: Acceptance = serde_json::from_value(serde_json::json!({
        "max_p95_ms": 100.0, "max_p99_ms": 200.0, "min_success_pct": 99.0,
        "max_dropped_pct": 1.0, "max_rss_slope_mb_per_h": 5.0, "max_temp_c": 90.0,
        "max_error_pct": 1.0, "min_prediction_lead_s": 10.0, "max_ttft_ms": 500.0,
        "max_tpot_ms": 50.0, "min_goodput_pct": 90.0, "max_server_rss_mb": 64.0,
        "min_uptime_pct": 99.0, "max_p95_ms_throttled": 80.0,
        "max_prediction_error_pct": 20.0, "min_alert_precision_pct": 50.0
    }))
    .unwrap();
    let verdicts = evaluate(&run, &o, &Criteria::from_acceptance(Some(&acceptance)));
    let report = Report::new("users", run, verdicts, Some(acceptance), o, None, false);
    let v = serde_json::to_value(&report).unwrap();
    let errs = errors(&v);
    assert!(errs.is_empty(), "{errs:#?}");

    let s = schema();
    let props = |def: &str| -> std::collections::BTreeSet<String> {
        s["$defs"][def]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("no $defs/{def}"))
            .keys()
            .cloned()
            .collect()
    };
    let keys = |x: &Value| -> std::collections::BTreeSet<String> {
        x.as_object().unwrap().keys().cloned().collect()
    };
    let population = &v["run"]["phases"][1];
    let stage = &population["stages"][0];
    // The second target never connected: it adds `connect_error`.
    let mut target = v["run"]["targets"][0].clone();
    for (k, x) in v["run"]["targets"][1].as_object().unwrap() {
        target[k] = x.clone();
    }
    let target = &target;
    for (def, x) in [
        ("users_info", &population["users"]),
        ("scalability", &population["scalability"]),
        ("little", &stage["little"]),
        ("mean", &stage["think_ms"]),
        ("p50_p95", &stage["iteration_ms"]),
        ("spread", &target["initialize_ms"]),
        ("mean_max", &target["rss_mb_per_session"]),
        ("stage", stage),
        ("target", target),
        ("observations", &v["observations"]),
        ("throttle_event", &v["observations"]["throttle_events"][0]),
        ("throttled_load", &v["observations"]["throttled_load"]),
        ("alerts", &v["observations"]["alerts"]),
    ] {
        assert_eq!(keys(x), props(def), "{def}: {x:#}");
    }
    let acceptance_props: std::collections::BTreeSet<String> = s["properties"]["acceptance"]
        ["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys(&v["acceptance"]), acceptance_props);
    // The five stress-test limits were judged.
    for name in [
        "server_rss",
        "uptime",
        "p95_throttled",
        "prediction_error",
        "alert_precision",
    ] {
        assert!(
            report.criteria.iter().any(|c| c.name == name),
            "{name}: {:#?}",
            report.criteria
        );
    }
    // A phase carries either arrivals (open) or users (closed), and the
    // breaking point, spike, soak and sweep belong to other kinds (invalid
    // to phases with invalid_pct).
    let seen: std::collections::BTreeSet<String> = keys(&v["run"]["phases"][0])
        .union(&keys(population))
        .cloned()
        .collect();
    let phase_props = props("phase");
    let missing: Vec<&String> = phase_props.difference(&seen).collect();
    assert_eq!(
        missing,
        ["breaking_point", "invalid", "soak", "spike", "sweep"],
        "{v:#}"
    );
    assert_eq!(population["kind"], "users");
    assert_eq!(population["model"], "closed");
    assert_eq!(v["run"]["phases"][0]["model"], "open");

    // A wrong model or kind is caught.
    let mut bad = v.clone();
    bad["run"]["phases"][1]["model"] = "half-open".into();
    bad["run"]["phases"][1]["kind"] = "crowd".into();
    bad["run"]["phases"][1]["stages"][0]["little"]["holds"] = "yes".into();
    let e = errors(&bad);
    assert_eq!(e.len(), 3, "{e:#?}");
}
