//! `jetstress run` as a binary: scenario errors (exit 2 naming file, line and
//! field), a complete run with its `jetstress.run/1` summary, the shipped
//! scenarios parse, and stdio children die with the console even on SIGKILL.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jetstress::load::{PhaseKind, Think};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jetstress"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn usage_errors_exit_2() {
    let out = bin().arg("run").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--scenario"));

    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    std::fs::write(&f, "name = \"x\"\n\n[[phases]]\nkind = \"soak\"\nrat = 5\n").unwrap();
    let out = bin().args(["run", "--scenario"]).arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:") && err.contains("rat"), "{err}");

    let out = bin()
        .args(["run", "--phase", "soak", "--rate", "-3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn shipped_scenarios_parse() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let s = jetstress::load::load_scenario(&p).unwrap_or_else(|e| panic!("{e:#}"));
            assert!(!s.phases.is_empty(), "{}", p.display());
            n += 1;
        }
    }
    assert!(n >= 7, "{n}");
    let load = |name: &str| {
        jetstress::load::load_scenario(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name))
            .unwrap()
    };
    let agents = load("scenarios/agents-10.toml");
    let p = &agents.phases[0];
    assert_eq!(p.kind, PhaseKind::Users);
    assert_eq!(
        (p.stages[0].users, p.total_duration()),
        (10, Duration::from_secs(3600))
    );
    assert_eq!(
        p.users.as_ref().unwrap().think,
        Think::Constant(Duration::from_secs(5))
    );
    assert_eq!(agents.mix.len(), 2);
    let ramp = load("scenarios/users-ramp.toml");
    let p = &ramp.phases[0];
    let users: Vec<u32> = p.stages.iter().map(|s| s.users).collect();
    assert_eq!(users, [10, 50, 100]);
    assert_eq!(p.total_duration(), Duration::from_secs(900));
    assert_eq!(p.users.as_ref().unwrap().spawn_rate, Some(5.0));
    let weights: Vec<f64> = ramp.mix.iter().map(|m| m.weight).collect();
    assert_eq!(weights, [70.0, 20.0, 10.0]);
    assert_eq!(ramp.acceptance.unwrap().max_p95_ms, Some(5000.0));
}

#[test]
fn users_flag_errors_exit_2_naming_the_flag() {
    for (args, flag) in [
        (&["--phase", "users", "--users", "0"][..], "--users"),
        (&["--phase", "users", "--users", "8..2"], "--users"),
        (&["--phase", "users", "--users", "abc"], "--users"),
        (&["--phase", "users", "--think", "5s..2s"], "--think"),
        (&["--phase", "users", "--spawn-rate", "0"], "--spawn-rate"),
        (&["--phase", "users", "--arrivals", "poisson"], "--arrivals"),
        (&["--phase", "soak", "--think", "1s"], "--think"),
    ] {
        let out = bin().arg("run").args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: {err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("users.toml");
    std::fs::write(
        &f,
        "[[phases]]\nkind = \"users\"\nstages = [{ users = 0, duration = \"1m\" }]\n",
    )
    .unwrap();
    let out = bin().args(["run", "--scenario"]).arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("users.toml:1: phases[0]: stages[0].users: must be at least 1"),
        "{err}"
    );
}

#[test]
fn headless_run_writes_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let scenario = dir.path().join("faults.toml");
    std::fs::write(
        &scenario,
        r#"
name = "faults"
sessions = 2
timeout = "300ms"
[[targets]]
name = "fault"
cmd = ["python3", "tests/fault-server/fault_server.py"]
[[mix]]
tool = "fault:delay"
args = { ms = 20 }
[[mix]]
tool = "fault:hang"
[[phases]]
kind = "custom"
ramp = true
stages = [{ rate = 20, duration = "1s" }, { rate = 30, duration = "1s" }]
"#,
    )
    .unwrap();
    let out = bin()
        .args(["run", "--scenario"])
        .arg(&scenario)
        .arg("--json")
        .arg(&json)
        .arg("--log-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Half the requests hang into timeouts: the default 1 % error limit fails the run.
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("result: FAIL"), "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["schema"], "jetstress.run/1");
    assert_eq!(v["result"], "FAIL");
    let crit = v["criteria"].as_array().unwrap();
    let rate = crit.iter().find(|c| c["name"] == "error_rate").unwrap();
    assert_eq!(rate["verdict"], "fail", "{rate}");
    let p95 = crit.iter().find(|c| c["name"] == "p95_latency").unwrap();
    assert_eq!(p95["verdict"], "pass", "{p95}");
    assert_eq!(v["scenario"], "faults");
    let p = &v["phases"][0];
    assert_eq!(p["status"], "completed");
    let stages = p["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 2);
    for s in stages {
        for k in ["target_rate", "achieved_rate", "dropped", "scheduled"] {
            assert!(s[k].is_number(), "{k} in {s}");
        }
    }
    let tools = stages[1]["tools"].as_array().unwrap();
    let delay = tools
        .iter()
        .find(|t| t["tool"] == "fault:delay")
        .expect("fault:delay row");
    for k in ["p50", "p90", "p95", "p99", "max", "mean"] {
        assert!(
            delay["latency_ms"][k].as_f64().unwrap() >= 19.0,
            "{k}: {delay}"
        );
        assert!(delay["service_ms"][k].is_number());
    }
    assert!(delay["rps"].as_f64().unwrap() > 5.0);
    let hang = tools
        .iter()
        .find(|t| t["tool"] == "fault:hang")
        .expect("fault:hang row");
    assert_eq!(hang["error_kinds"]["timeout"], hang["count"]);
    assert!(v["guard_events"].is_array());
}

#[test]
fn an_unmeetable_acceptance_limit_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("strict.toml");
    std::fs::write(
        &f,
        r#"
sessions = 1
[[mix]]
tool = "built-in:sleep_ms"
args = { ms = 30 }
[[phases]]
kind = "custom"
stages = [{ rate = 10, duration = "1s" }]
[acceptance]
max_p95_ms = 5
"#,
    )
    .unwrap();
    let out = bin()
        .args([
            "--root",
            "tests/fixtures/xavier-nx-r32",
            "run",
            "--scenario",
        ])
        .arg(&f)
        .arg("--log-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("p95_latency") && l.contains("< 5 ms")),
        "{err}"
    );
}

fn pids_with_marker(marker: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let state = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            let zombie = state
                .rsplit(')')
                .next()
                .is_some_and(|s| s.trim_start().starts_with('Z'));
            if !zombie && String::from_utf8_lossy(&cmd).contains(marker) {
                out.push(pid);
            }
        }
    }
    out
}

#[test]
fn children_die_when_the_console_is_killed() {
    let marker = format!("jetstress-kill-test-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args([
            "run",
            "--phase",
            "soak",
            "--rate",
            "5",
            "--duration",
            "60s",
            "--sessions",
            "2",
        ])
        .arg("--target-cmd")
        .arg(format!(
            "python3 tests/fault-server/fault_server.py --name {marker}"
        ))
        .arg("--log-dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    // The console itself carries the marker in its argv, plus two children.
    while pids_with_marker(&marker).len() < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "children never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL: no destructor runs
    let _ = child.wait();
    let start = Instant::now();
    while !pids_with_marker(&marker).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "orphans left: {:?}",
            pids_with_marker(&marker)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn default_target_is_the_builtin_server() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("builtin.toml");
    std::fs::write(
        &f,
        r#"
sessions = 2
[[mix]]
tool = "built-in:thermal_status"
weight = 3
[[mix]]
tool = "built-in:sleep_ms"
args = { ms = 5 }
[[phases]]
kind = "custom"
stages = [{ rate = 20, duration = "1500ms" }]
"#,
    )
    .unwrap();
    let out = bin()
        .args([
            // An unthrottled board: the orin-agx fixture is throttled, which fails a run.
            "--root",
            "tests/fixtures/xavier-nx-r32",
            "run",
            "--json",
            "-",
            "--scenario",
        ])
        .arg(&f)
        .arg("--log-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["result"], "PASS", "{}", v["criteria"]);
    let crit = v["criteria"].as_array().unwrap();
    let verdict = |n: &str| crit.iter().find(|c| c["name"] == n).unwrap()["verdict"].clone();
    assert_eq!(verdict("p95_latency"), "pass");
    assert_eq!(verdict("error_rate"), "pass");
    assert_eq!(verdict("no_target_crash"), "pass");
    assert_eq!(verdict("memory_leak"), "not_measured");
    assert_eq!(verdict("throttle_predicted"), "not_applicable");
    assert_eq!(v["targets"][0]["name"], "built-in");
    assert_eq!(v["targets"][0]["sessions"], 2);
    let tools = v["phases"][0]["stages"][0]["tools"].as_array().unwrap();
    let thermal = tools
        .iter()
        .find(|t| t["tool"] == "built-in:thermal_status")
        .expect("thermal_status row");
    assert!(thermal["count"].as_u64().unwrap() > 5, "{thermal}");
    assert_eq!(thermal["errors"], 0, "{thermal}");
    let sleep = tools
        .iter()
        .find(|t| t["tool"] == "built-in:sleep_ms")
        .expect("sleep_ms row");
    assert!(
        sleep["service_ms"]["p50"].as_f64().unwrap() >= 5.0,
        "{sleep}"
    );
}

/// `VmRSS` of `pid` in MB, if it still runs.
fn rss_mb(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = s
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1000.0)
}

/// Live `mcp-serve` children whose command line names `root`.
fn servers_for(root: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c);
                c.contains(root) && c.contains("mcp-serve")
            })
        })
        .collect()
}

#[test]
fn a_users_ramp_with_a_child_per_user_fits_rss_per_user() {
    // A private copy of a fixture tree marks this run's server children.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    crate::common::copy_tree(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/x86-laptop"),
        &root,
    );
    let json = dir.path().join("run.json");
    let mut child = bin()
        .args(["--root"])
        .arg(&root)
        .args([
            "run", "--phase", "users", "--users", "2..8", "--think", "100ms",
        ])
        .args(["--duration", "15s", "--json"])
        .arg(&json)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Measure one child's RSS ourselves, from /proc, while the run goes on.
    let root_s = root.display().to_string();
    let mut own = Vec::new();
    let mut most = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        let pids = servers_for(&root_s);
        most = most.max(pids.len());
        own.extend(pids.iter().filter_map(|p| rss_mb(*p)));
        std::thread::sleep(Duration::from_millis(500));
    }
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    assert_eq!(most, 8, "a child per user at 8 users");
    own.sort_by(f64::total_cmp);
    let one_child = own[own.len() / 2];
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let p = &v["phases"][0];
    assert_eq!(p["model"], "closed");
    let users: Vec<u64> = p["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["users"].as_u64().unwrap())
        .collect();
    assert_eq!(users, [2, 4, 8]);
    let per_user = p["scalability"]["rss_mb_per_user"]
        .as_f64()
        .expect("fitted");
    let r2 = p["scalability"]["rss_r2"].as_f64().unwrap();
    assert!(
        (per_user - one_child).abs() / one_child <= 0.35,
        "fit {per_user:.2} MB per user vs one child {one_child:.2} MB (R² {r2:.2})"
    );
    assert!(r2 >= 0.9, "R² {r2}");
    let init = &v["targets"][0]["initialize_ms"];
    assert!(init["p95"].as_f64().unwrap() > 0.0, "{init}");
    assert!(
        err.contains("closed model: latency from the actual send"),
        "{err}"
    );
    assert!(servers_for(&root_s).is_empty(), "no child left");
}
