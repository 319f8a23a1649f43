//! `jetstress campaign` end to end, against the built-in server on the
//! x86-laptop fixture board: the shipped assignment at `--time-scale 0.001`
//! killed with SIGKILL in the middle of its memory scenario, then resumed —
//! finished steps are not run again, the interrupted one is, nothing is left
//! running, and the one report has five verdicts, readiness and every chart.
//! And a scenario whose `[board]` the fixture Nano does not meet stops the
//! campaign before loading, with the command that would fix it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_jetstress");

fn state(dir: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join("campaign-state.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Processes whose parent is `pid` (not zombies).
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(child) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // pid (comm) state ppid …: comm may hold spaces, so split after ')'.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let mut f = rest.split_whitespace();
        let st = f.next().unwrap_or("");
        let ppid: u32 = f.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == pid && st != "Z" {
            out.push(child);
        }
    }
    out
}

/// `campaign --resume DIR` on the x86-laptop fixture, to its end: the output and its stderr.
fn resume(dir: &Path) -> (std::process::Output, String) {
    let out = Command::new(BIN)
        .args([
            "--root",
            "tests/fixtures/x86-laptop",
            "campaign",
            "--resume",
        ])
        .arg(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
    })
}

#[test]
fn a_killed_campaign_resumes_without_rerunning_finished_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("campaign");
    let log = std::fs::File::create(tmp.path().join("first.log")).unwrap();
    let mut first = Command::new(BIN)
        .args(["--root", "tests/fixtures/x86-laptop", "campaign"])
        .arg("scenarios/seed-000/campaign.toml")
        .args(["--time-scale", "0.001", "--out"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    // Wait for the memory scenario (29 s scaled) to be running with its server up.
    let start = Instant::now();
    let children = loop {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the memory scenario never started: {}",
            std::fs::read_to_string(tmp.path().join("first.log")).unwrap_or_default()
        );
        let running = state(&dir).is_some_and(|s| {
            s["steps"]
                .as_array()
                .unwrap()
                .iter()
                .any(|st| st["name"] == "memory" && st["status"] == "running")
        });
        let kids = children_of(first.id());
        if running && !kids.is_empty() && dir.join("3-memory/recording.jsonl").exists() {
            // A little into the scenario, so its recording has lines.
            std::thread::sleep(Duration::from_secs(3));
            break children_of(first.id());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!children.is_empty());
    first.kill().unwrap(); // SIGKILL: nothing is written on the way out
    let _ = first.wait();
    let start = Instant::now();
    while children.iter().any(|c| alive(*c)) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the campaign's servers outlived it: {children:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = state(&dir).unwrap();
    let steps = before["steps"].as_array().unwrap();
    let done: Vec<_> = steps
        .iter()
        .filter(|s| s["status"] == "done")
        .map(|s| (s["dir"].clone(), s["started_unix_ms"].clone()))
        .collect();
    let dirs: Vec<_> = done.iter().map(|d| d.0.as_str().unwrap()).collect();
    assert_eq!(
        dirs,
        [
            "0-baseline",
            "1-inference",
            "1-recovery",
            "2-thermal",
            "2-recovery"
        ]
    );

    let (out, stderr) = resume(&dir);
    // READY exits 0, NOT READY 1; never a usage error or an interruption.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{:?}: {stderr}",
        out.status
    );
    assert!(
        stderr.contains("resuming; memory was interrupted"),
        "{stderr}"
    );
    let after = state(&dir).unwrap();
    // Finished steps kept their first (and only) start.
    for (d, started) in &done {
        let s = after["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| &s["dir"] == d)
            .unwrap();
        assert_eq!(&s["started_unix_ms"], started, "{d} ran again");
        assert_eq!(s["attempts"], 1, "{d}");
    }
    assert!(after["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["status"] == "done"));
    // The interrupted attempt's recording is kept beside the new one.
    assert!(dir.join("3-memory.attempt-1/recording.jsonl").exists());

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("campaign.json")).unwrap()).unwrap();
    assert_eq!(report["schema"], "jetstress.campaign/1");
    assert_valid_campaign(&report);
    assert_eq!(report["scaled"], true);
    assert_eq!(report["time_scale"], 0.001);
    let readiness = report["readiness"].as_str().unwrap();
    assert!(readiness == "READY" || readiness == "NOT READY");
    // Exit 0 only when READY.
    assert_eq!(out.status.code() == Some(0), readiness == "READY");
    let scenarios = report["scenarios"].as_array().unwrap();
    let names: Vec<_> = scenarios
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["inference", "thermal", "memory", "agents", "edge"]);
    for s in scenarios {
        let r = s["result"].as_str().unwrap();
        assert!(r == "PASS" || r == "FAIL", "{s}");
        assert_eq!(s["scaled"], true);
        assert_eq!(s["resumed"], s["name"] == "memory", "{}", s["name"]);
        assert!(!s["criteria"].as_array().unwrap().is_empty());
        let charts = s["charts"].as_array().unwrap();
        assert!(!charts.is_empty(), "{} has no chart", s["name"]);
        for c in charts {
            assert!(dir.join(c.as_str().unwrap()).is_file(), "{c}");
        }
        assert!(dir.join(s["report"].as_str().unwrap()).is_file());
    }
    // READY only when every scenario passed.
    assert_eq!(
        readiness == "READY",
        scenarios.iter().all(|s| s["result"] == "PASS")
            && report["summary"]["critical_issues"] == 0
    );
    let interruptions = report["interruptions"].as_array().unwrap();
    assert_eq!(interruptions.len(), 1);
    assert_eq!(interruptions[0]["step"], "memory");
    assert_eq!(interruptions[0]["kept_in"], "3-memory.attempt-1");
    // The baseline timed every tool of the built-in server once.
    let tools = report["baseline"]["tools"].as_array().unwrap();
    assert!(tools.len() >= 10, "{tools:?}");
    assert!(tools.iter().all(|t| t["ok"] == true), "{tools:?}");
    // The users scenario gives one point per stage (2, 5, 10 users).
    let users: Vec<_> = report["scalability"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["users"].as_u64().unwrap())
        .collect();
    assert_eq!(users, [2, 5, 10]);
    let md = std::fs::read_to_string(dir.join("campaign.md")).unwrap();
    assert!(md.contains(&format!("**Production readiness: {readiness}**")));
    assert!(md.contains("Time-scaled ×0.001"));
    // Each scenario's own report says it was scaled too.
    let memory: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("3-memory/report.json")).unwrap())
            .unwrap();
    assert_eq!(memory["scenario"], "memory-pressure (time-scaled ×0.001)");
    assert!(md.contains("## Failure analysis"));
    assert!(md.contains("memory: the campaign process ended during the step"));
}

#[test]
fn a_board_that_misses_a_scenarios_requirement_stops_before_loading() {
    let tmp = tempfile::tempdir().unwrap();
    let file = thermal_campaign(tmp.path());
    let dir = tmp.path().join("out");
    // The Nano fixture runs MAXN with jetson_clocks off; the thermal scenario needs it on.
    let out = Command::new(BIN)
        .args(["--root", "tests/fixtures/nano-r32", "campaign"])
        .arg(&file)
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("thermal cannot run: jetson_clocks is off, wanted on: sudo jetson_clocks"),
        "{stderr}"
    );
    let st = state(&dir).unwrap();
    let steps = st["steps"].as_array().unwrap();
    assert_eq!(steps[0]["status"], "done");
    assert_eq!(steps[1]["status"], "pending");
    assert_eq!(steps[1]["attempts"], 0);
    // Nothing was loaded: the scenario has no directory.
    assert!(!dir.join("1-thermal").exists());
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("campaign.json")).unwrap()).unwrap();
    assert_eq!(report["readiness"], "NOT READY");
    assert_eq!(report["scenarios"][0]["result"], "NOT RUN");
}

#[test]
fn a_hangup_stops_the_campaign_cleanly_and_resume_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    // A long baseline to hang up in, then a short users scenario.
    let file = small_campaign(tmp.path(), "2h", "04-agents.toml", "agents");
    let dir = tmp.path().join("out");
    let child = Command::new(BIN)
        .args(["--root", "tests/fixtures/x86-laptop", "campaign"])
        .arg(&file)
        .args(["--time-scale", "0.002", "--out"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the baseline never ran"
        );
        if state(&dir).is_some_and(|s| s["steps"][0]["status"] == "running")
            && !children_of(child.id()).is_empty()
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Into the idle part of the baseline (its tools are called within a second).
    std::thread::sleep(Duration::from_secs(3));
    let children = children_of(child.id());
    let hup = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("SIGHUP stopped baseline"), "{stderr}");
    assert!(children.iter().all(|c| !alive(*c)), "servers left running");
    let st = state(&dir).unwrap();
    assert_eq!(st["steps"][0]["status"], "interrupted");
    assert_eq!(st["stopped_by"], "SIGHUP");
    // The recording was finished on the way out: its last line is the summary.
    let rec = std::fs::read_to_string(dir.join("0-baseline/recording.jsonl")).unwrap();
    let last: Value = serde_json::from_str(rec.lines().last().unwrap()).unwrap();
    assert_eq!(last["kind"], "summary");

    let (out, stderr) = resume(&dir);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stderr}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("campaign.json")).unwrap()).unwrap();
    assert_eq!(report["interruptions"][0]["cause"], "SIGHUP");
    assert_eq!(
        report["interruptions"][0]["kept_in"],
        "0-baseline.attempt-1"
    );
    assert_eq!(report["scenarios"][0]["name"], "agents");
    assert_ne!(report["scenarios"][0]["result"], "NOT RUN");
    // A different scale is refused on resume: the campaign keeps its own.
    let out = Command::new(BIN)
        .args(["campaign", "--time-scale", "1", "--resume"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("runs at ×0.002"));
}

/// A small campaign in `dir`: a baseline of `baseline` (unscaled), then one
/// shipped scenario `file` of `scenarios/seed-000/`, named `name`.
fn small_campaign(dir: &Path, baseline: &str, file: &str, name: &str) -> std::path::PathBuf {
    let seed = std::fs::canonicalize("scenarios/seed-000").unwrap();
    let path = dir.join("campaign.toml");
    std::fs::write(
        &path,
        format!(
            "[baseline]\nscenario = \"{0}/00-baseline.toml\"\nduration = \"{baseline}\"\n[[scenarios]]\nfile = \"{0}/{file}\"\nname = \"{name}\"\n",
            seed.display()
        ),
    )
    .unwrap();
    path
}

/// The board tests' campaign: a 2-s baseline, then the thermal scenario
/// (`[board] nvpmodel = "MAXN"`, `jetson_clocks = true`).
fn thermal_campaign(dir: &Path) -> std::path::PathBuf {
    small_campaign(dir, "2s", "02-thermal.toml", "thermal")
}

#[test]
fn apply_board_needs_root_and_the_nvidia_tools() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    // Whoever runs it (nobody, below) writes the campaign here.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let file = thermal_campaign(tmp.path());
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    // Not root: as nobody when this runs as root, else as the user it is.
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN]);
        c
    } else {
        Command::new(BIN)
    };
    let out = cmd
        .args(["--root", "tests/fixtures/nano-r32", "campaign"])
        .arg(&file)
        .arg("--apply-board")
        .arg("--out")
        .arg(tmp.path().join("as-user"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("thermal cannot run: jetson_clocks is off")
            && stderr.contains("--apply-board: changing the board needs root"),
        "{stderr}"
    );
    assert!(!tmp.path().join("as-user/board-restore.json").exists());
    if root {
        // Root, but this machine has no jetson_clocks: refused, nothing run,
        // the restore file kept for the next start.
        let dir = tmp.path().join("as-root");
        let out = Command::new(BIN)
            .args(["--root", "tests/fixtures/nano-r32", "campaign"])
            .arg(&file)
            .arg("--apply-board")
            .arg("--out")
            .arg(&dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("--apply-board: `jetson_clocks` is not installed here"),
            "{stderr}"
        );
        let st = state(&dir).unwrap();
        assert_eq!(st["steps"][1]["status"], "pending");
    }
}

#[test]
fn the_shipped_campaign_schema_is_the_one_the_code_writes() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/jetstress.campaign-1.schema.json");
    let generated = jetstress::campaign::CampaignReport::json_schema();
    if std::env::var_os("JETSTRESS_WRITE_SCHEMAS").is_some() {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&generated).unwrap() + "\n",
        )
        .unwrap();
    }
    let shipped: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        shipped, generated,
        "schemas/jetstress.campaign-1.schema.json is stale: rerun this test with JETSTRESS_WRITE_SCHEMAS=1"
    );
    assert_eq!(shipped["title"], "jetstress.campaign/1");
    for field in [
        "readiness",
        "result",
        "scenarios",
        "baseline",
        "findings",
        "summary",
    ] {
        assert!(shipped["properties"].get(field).is_some(), "{field}");
    }
}

/// `campaign.json` against the shipped schema, with the report tests' validator.
fn assert_valid_campaign(v: &Value) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/jetstress.campaign-1.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut errs = Vec::new();
    crate::report::validate(&schema, &schema, v, "$", &mut errs);
    assert!(
        errs.is_empty(),
        "campaign.json does not fit its schema: {errs:?}"
    );
}

#[test]
fn a_server_that_dies_is_in_the_failure_analysis_with_its_own_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let server = std::fs::canonicalize("tests/fault-server/fault_server.py").unwrap();
    std::fs::write(
        tmp.path().join("crash.toml"),
        format!(
            "name = \"crashy\"\nsessions = 1\n[[targets]]\ncmd = \"python3 {} --exit-after 5\"\n[[phases]]\nkind = \"soak\"\nrate = 5\nduration = \"6s\"\n",
            server.display()
        ),
    )
    .unwrap();
    let seed = std::fs::canonicalize("scenarios/seed-000").unwrap();
    let file = tmp.path().join("campaign.toml");
    std::fs::write(
        &file,
        format!(
            "[baseline]\nscenario = \"{}/00-baseline.toml\"\nduration = \"1s\"\n[[scenarios]]\nfile = \"crash.toml\"\n",
            seed.display()
        ),
    )
    .unwrap();
    let dir = tmp.path().join("out");
    let out = Command::new(BIN)
        .args(["--root", "tests/fixtures/x86-laptop", "campaign"])
        .arg(&file)
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("campaign.json")).unwrap()).unwrap();
    assert_eq!(report["readiness"], "NOT READY");
    let crashes = report["crashes"].as_array().unwrap();
    assert!(!crashes.is_empty(), "{report}");
    // The tail is the dying server's own stderr, read from its log file.
    let tail = crashes[0]["stderr_tail"].as_str().unwrap();
    assert!(tail.contains("exit-after reached"), "{tail:?}");
    let uptime = report["summary"]["uptime_pct"].as_f64().unwrap();
    assert!(uptime < 100.0, "{uptime}");
    let md = std::fs::read_to_string(dir.join("campaign.md")).unwrap();
    assert!(md.contains("exit-after reached"), "{md}");
}
