//! End-to-end: the real binary in a detached tmux session of fixed size, driven
//! with send-keys and read with capture-pane; afterwards no jetstress process
//! may be left. Also: configuration errors and a non-terminal stdout.

use crate::common;
use common::copy_tree;

use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_jetstress");

pub(crate) struct Session {
    name: String,
}

impl Session {
    pub(crate) fn start(cols: u16, rows: u16, cmd: &str) -> Session {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("jetstress-e2e-{}-{n}", std::process::id());
        let status = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &name,
                "-x",
                &cols.to_string(),
                "-y",
                &rows.to_string(),
            ])
            .arg(cmd)
            .env("COLORTERM", "truecolor")
            .status()
            .expect("tmux is installed (.ci/run installs it)");
        assert!(status.success());
        // Keep the pane after the program exits so we can see how it ended.
        let _ = Command::new("tmux")
            .args(["set-option", "-t", &name, "remain-on-exit", "on"])
            .status();
        Session { name }
    }

    pub(crate) fn capture(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub(crate) fn keys(&self, keys: &[&str]) {
        for k in keys {
            let st = Command::new("tmux")
                .args(["send-keys", "-t", &self.name, k])
                .status()
                .unwrap();
            assert!(st.success());
        }
    }

    /// Wait until the screen satisfies `pred` (bounded), returning the last capture.
    pub(crate) fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_for_within(what, Duration::from_secs(15), pred)
    }

    pub(crate) fn wait_for_within(
        &self,
        what: &str,
        within: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            assert!(
                Instant::now() <= deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            sleep(Duration::from_millis(100));
        }
    }

    pub(crate) fn pane_dead(&self) -> bool {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.name, "#{pane_dead}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    pub(crate) fn pane_pid(&self) -> Option<u32> {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.name, "#{pane_pid}"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

#[test]
fn dashboard_keys_in_tmux_and_clean_exit() {
    let cmd = format!("{BIN} --root {} --interval 200ms", fixture("orin-agx-r36"));
    let s = Session::start(100, 30, &cmd);
    let pid = s.pane_pid().expect("pane pid");
    let screen = s.wait_for("the first frame", |t| {
        t.contains("Thermal") && t.contains("cpu-thermal")
    });
    assert!(screen.contains("THROTTLED"), "{screen}");
    assert!(screen.contains("Jetson AGX Orin"));

    s.keys(&["?"]);
    s.wait_for("the help overlay", |t| {
        t.contains(" keys ") && t.contains("stop all load")
    });
    s.keys(&["Escape"]);
    s.wait_for("help closed", |t| !t.contains("stop all load"));

    s.keys(&["t"]);
    s.wait_for("the light theme", |t| t.contains("theme: light"));

    s.keys(&["Tab", "z"]);
    let zoomed = s.wait_for("memory zoomed", |t| {
        t.contains("Memory") && !t.contains("Predictions")
    });
    assert!(zoomed.contains("avail"), "{zoomed}");
    s.keys(&["z"]);
    s.wait_for("back to all panes", |t| t.contains("Predictions"));

    s.keys(&["x"]);
    s.wait_for("stop with nothing running", |t| {
        t.contains("no load running")
    });

    s.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.pane_dead() && Instant::now() < deadline {
        sleep(Duration::from_millis(100));
    }
    assert!(
        s.pane_dead(),
        "jetstress did not exit on q:\n{}",
        s.capture()
    );
    assert!(!alive(pid), "no jetstress process is left");
    // The terminal was restored: the alternate screen is gone.
    assert!(!s.capture().contains("Predictions"));
}

#[test]
fn sigterm_restores_the_terminal_and_exits() {
    let cmd = format!("{BIN} --root {} --interval 200ms", fixture("x86-laptop"));
    let s = Session::start(80, 24, &cmd);
    let pid = s.pane_pid().unwrap();
    s.wait_for("the first frame", |t| t.contains("Thermal"));
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) && Instant::now() < deadline {
        sleep(Duration::from_millis(100));
    }
    assert!(!alive(pid));
    assert!(
        !s.capture().contains("Thermal"),
        "alternate screen left:\n{}",
        s.capture()
    );
}

#[test]
fn no_terminal_means_a_pointer_to_run() {
    let out = Command::new(BIN)
        .args(["--root", &fixture("bare-vm")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("not a terminal") && err.contains("jetstress run"),
        "{err}"
    );
}

#[test]
fn a_bad_config_names_the_line_and_nothing_starts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "theme = \"default\"\n[bindings]\nquit = \"x\"\n").unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("bound to both") && err.contains(cfg.to_str().unwrap()),
        "{err}"
    );

    std::fs::write(&cfg, "theme = \"default\"\nrefresh = 3\n").unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("config.toml:2:1") && err.contains("refresh"),
        "{err}"
    );

    let out = Command::new(BIN)
        .args(["--theme", "neon"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("unknown theme 'neon'") && err.contains("presentation"),
        "{err}"
    );
}

#[test]
fn recording_survives_kill_9_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.jsonl");
    let cmd = format!(
        "{BIN} --root {} --interval 100ms --record {}",
        fixture("orin-agx-r36"),
        file.display()
    );
    let s = Session::start(100, 30, &cmd);
    let pid = s.pane_pid().unwrap();
    s.wait_for("recording shown", |t| t.contains("REC"));
    sleep(Duration::from_millis(1200));
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < deadline {
        sleep(Duration::from_millis(50));
    }
    let rec = jetstress::recording::read_recording(&file).unwrap();
    assert!(
        rec.snapshots.len() >= 5,
        "{} snapshots",
        rec.snapshots.len()
    );
    assert!(rec.skipped.is_empty(), "{:?}", rec.skipped);
    assert!(rec.header.unwrap().board.is_some());
}

#[test]
fn record_key_toggles_and_replay_plays_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.jsonl");
    // An existing file is never truncated: the recorder picks demo-1.jsonl.
    std::fs::write(&file, "keep me\n").unwrap();
    let cmd = format!(
        "cd {} && {BIN} --root {} --interval 100ms --record {}",
        dir.path().display(),
        fixture("tx2-r32"),
        file.display()
    );
    let s = Session::start(120, 30, &cmd);
    s.wait_for("recording", |t| t.contains("REC"));
    sleep(Duration::from_millis(800));
    s.keys(&["r"]);
    s.wait_for("recording closed", |t| t.contains("recording closed"));
    s.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.pane_dead() && Instant::now() < deadline {
        sleep(Duration::from_millis(50));
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me\n");
    let made = dir.path().join("demo-1.jsonl");
    let rec = jetstress::recording::read_recording(&made).unwrap();
    assert!(rec.snapshots.len() >= 3);
    assert!(
        rec.events.iter().any(|e| e.text.contains("throttling")),
        "{:?}",
        rec.events
    );

    let r = Session::start(
        120,
        30,
        &format!("{BIN} replay --speed 4 {}", made.display()),
    );
    r.wait_for("replay header", |t| {
        t.contains("replay demo-1.jsonl") && t.contains("BCPU-therm")
    });
    r.keys(&["Space"]);
    r.wait_for("paused", |t| t.contains("PAUSED"));
    r.keys(&["Space", ">"]);
    r.wait_for("double speed", |t| t.contains("×8"));
    r.wait_for("the end", |t| t.contains("END"));
    r.keys(&["q"]);
}

/// A headless spike recorded, then replayed: the latency table comes back
/// with the recorded phase and its tools' rows, the footer offers the replay
/// keys instead of the load keys, and after a seek back the table plays
/// again.
#[test]
fn a_replayed_recording_shows_its_latency_table() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("spike.jsonl");
    common::run_ok(
        Command::new(BIN)
            .args([
                "run",
                "--phase",
                "spike",
                "--duration",
                "6s",
                "--interval",
                "200ms",
            ])
            .arg("--record")
            .arg(&file)
            .current_dir(dir.path()),
    );
    let rec = jetstress::recording::read_recording(&file).unwrap();
    assert!(rec.windows.len() >= 4, "{} windows", rec.windows.len());
    let r = Session::start(
        120,
        40,
        &format!("{BIN} replay --speed 2 {}", file.display()),
    );
    let screen = r.wait_for("the recorded spike's table", |t| {
        t.contains("spike · ") && t.contains("built-in") && t.contains("thermal_status")
    });
    assert!(!screen.contains("a replay drives no load"), "{screen}");
    let footer = screen.lines().last().unwrap_or_default();
    assert!(
        footer.contains("pause") && !footer.contains("spike"),
        "{footer}"
    );
    r.wait_for("the end", |t| t.contains("END"));
    r.keys(&["Left"]);
    r.wait_for("the table after a seek back", |t| {
        !t.contains("END") && t.contains("spike · ") && t.contains("thermal_status")
    });
    r.keys(&["q"]);
}

#[test]
fn replay_of_a_tegrastats_log_seeks_and_predicts() {
    let log = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/traces/xavier-nx_burn-in_tegrastats.log");
    let s = Session::start(
        160,
        40,
        &format!("{BIN} replay --speed 16 {}", log.display()),
    );
    s.wait_for("zones from the log", |t| {
        t.contains("GPU") && t.contains("CPU") && t.contains("replay")
    });
    s.keys(&["Right"]);
    let screen = s.wait_for("predictions from replayed data", |t| t.contains("°C/min"));
    assert!(screen.contains("Predictions"));
    s.keys(&["Left"]);
    s.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.pane_dead() && Instant::now() < deadline {
        sleep(Duration::from_millis(50));
    }
    assert!(s.pane_dead());
}

#[test]
fn replay_of_a_missing_file_is_an_error_of_use() {
    let out = Command::new(BIN)
        .args(["replay", "/no/such/trace.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("/no/such/trace.log"));
}

/// Live processes whose command line mentions `needle` (our children carry the root path).
fn processes_mentioning(needle: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
                && alive(*pid)
        })
        .collect()
}

/// MCP server children started for `root` (not the tmux client, whose command line also names it).
fn servers_for(root: &str) -> Vec<u32> {
    processes_mentioning(root)
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("mcp-serve"))
        })
        .collect()
}

#[test]
fn phase_keys_drive_the_built_in_server_and_nothing_is_left_behind() {
    // A private copy of the fixture: its path marks our MCP server children.
    let dir = tempfile::tempdir().unwrap();
    copy_tree(Path::new(&fixture("orin-agx-r36")), dir.path());
    let root = dir.path().display().to_string();
    let s = Session::start(150, 45, &format!("{BIN} --root {root} --interval 500ms"));
    let pid = s.pane_pid().unwrap();
    s.wait_for("the first frame", |t| t.contains("Thermal"));
    assert!(
        servers_for(&root).is_empty(),
        "monitoring alone starts no server"
    );
    s.keys(&["1"]);
    let screen = s.wait_for("the phase bar and latency rows", |t| {
        t.contains("spike · baseline") && t.contains("built-in:") && t.contains("p95")
    });
    assert!(screen.contains("load engine ready"), "{screen}");
    assert!(
        !servers_for(&root).is_empty(),
        "the built-in server runs as a child"
    );
    s.keys(&["w"]);
    s.wait_for("stage scope", |t| {
        t.contains("· current stage") && t.contains("built-in:")
    });
    s.keys(&["w"]);
    s.wait_for("whole-phase scope", |t| {
        t.contains("· whole phase") && t.contains("built-in:")
    });
    s.keys(&["]"]);
    s.wait_for("rate up", |t| t.contains("rate ×1.25"));
    s.keys(&["x"]);
    s.wait_for("load stopped", |t| {
        t.contains("stopped by the user") && t.contains("idle")
    });
    quit_leaving_nothing(&s, pid, &root);
}

/// `q`, then jetstress and every MCP server child it started for `root` are gone.
fn quit_leaving_nothing(s: &Session, pid: u32, root: &str) {
    s.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while (alive(pid) || !servers_for(root).is_empty()) && Instant::now() < deadline {
        sleep(Duration::from_millis(100));
    }
    assert!(!alive(pid), "jetstress exited");
    assert!(
        servers_for(root).is_empty(),
        "no MCP server child is left: {:?}",
        servers_for(root)
    );
}

#[test]
fn sigterm_mid_phase_stops_the_load_first() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(Path::new(&fixture("x86-laptop")), dir.path());
    let root = dir.path().display().to_string();
    let rec = dir.path().join("soak.jsonl");
    let s = Session::start(
        150,
        45,
        &format!(
            "{BIN} --root {root} --interval 500ms --record {}",
            rec.display()
        ),
    );
    let pid = s.pane_pid().unwrap();
    s.wait_for("the first frame", |t| t.contains("Thermal"));
    s.keys(&["3"]);
    s.wait_for("soak running", |t| {
        t.contains("soak") && t.contains("built-in:")
    });
    assert!(!servers_for(&root).is_empty());
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(15);
    while (alive(pid) || !servers_for(&root).is_empty()) && Instant::now() < deadline {
        sleep(Duration::from_millis(100));
    }
    assert!(!alive(pid));
    assert!(
        servers_for(&root).is_empty(),
        "children left: {:?}",
        servers_for(&root)
    );
    assert!(!s.capture().contains("Thermal"), "terminal restored");

    // The recording was flushed after the load stopped: it ends with the
    // engine's summary, and `jetstress report` rebuilds a report from it.
    let text = std::fs::read_to_string(&rec).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["kind"], "summary", "{last}");
    assert_eq!(
        last["summary"]["run"]["phases"][0]["kind"], "soak",
        "{last}"
    );
    let out_dir = dir.path().join("report");
    let out = Command::new(BIN)
        .arg("report")
        .arg(&rec)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["run"]["phases"][0]["kind"], "soak");
    assert!(out_dir.join("latency.png").exists());
}

#[test]
fn users_key_starts_a_population_that_u_doubles_with_a_child_each() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(Path::new(&fixture("orin-agx-r36")), dir.path());
    let root = dir.path().display().to_string();
    let s = Session::start(
        160,
        45,
        &format!("{BIN} --root {root} --interval 500ms --users 2 --think 200ms"),
    );
    let pid = s.pane_pid().unwrap();
    s.wait_for("the first frame", |t| t.contains("4 users"));
    s.keys(&["4"]);
    s.wait_for("two users cycling", |t| {
        t.contains("users 2/2 · think 200 ms · closed model") && t.contains("built-in:")
    });
    s.keys(&["u"]);
    s.wait_for("four users", |t| t.contains("users 4/4"));
    // Each user owns a server child.
    let deadline = Instant::now() + Duration::from_secs(10);
    while servers_for(&root).len() < 4 && Instant::now() < deadline {
        sleep(Duration::from_millis(100));
    }
    assert_eq!(servers_for(&root).len(), 4, "{:?}", servers_for(&root));
    s.keys(&["U"]);
    s.wait_for("two users again", |t| t.contains("users 2/2"));
    quit_leaving_nothing(&s, pid, &root);
}

#[test]
fn a_campaign_on_a_terminal_shows_its_bar_and_q_stops_it_resumably() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(Path::new(&fixture("x86-laptop")), &dir.path().join("board"));
    let root = dir.path().join("board").display().to_string();
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/seed-000");
    let file = dir.path().join("campaign.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"tmux\"\n[baseline]\nscenario = \"{0}/00-baseline.toml\"\nduration = \"2h\"\n[[scenarios]]\nfile = \"{0}/04-agents.toml\"\nname = \"agents\"\n",
            seed.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let cmd = format!(
        "{BIN} --root {root} campaign {} --time-scale 0.002 --out {}; echo EXIT=$?; sleep 30",
        file.display(),
        out.display()
    );
    let s = Session::start(160, 45, &cmd);
    let screen = s.wait_for("the campaign bar", |t| {
        t.contains("campaign tmux (×0.002) · step 1/2 baseline") && t.contains("Thermal")
    });
    assert!(screen.contains("next: agents"), "{screen}");
    // The campaign's own lines are in the event log, not over the screen.
    s.wait_for("the baseline's lines in the events", |t| {
        t.contains("phase each tool once")
    });
    // The load is the campaign's: a load key says so and starts nothing else.
    s.keys(&["1"]);
    s.wait_for("load keys off", |t| t.contains("load keys are off"));
    s.keys(&["q"]);
    let screen = s.wait_for("the exit after q", |t| t.contains("EXIT="));
    assert!(screen.contains("EXIT=130"), "{screen}");
    assert!(
        screen.contains("stopped baseline; go on with: jetstress campaign --resume"),
        "{screen}"
    );
    assert!(
        !screen.contains("Thermal"),
        "alternate screen left:\n{screen}"
    );
    let start = Instant::now();
    while !servers_for(&root).is_empty() && start.elapsed() < Duration::from_secs(10) {
        sleep(Duration::from_millis(100));
    }
    assert!(servers_for(&root).is_empty(), "servers left running");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("campaign-state.json")).unwrap())
            .unwrap();
    assert_eq!(state["steps"][0]["status"], "interrupted");
    assert_eq!(state["stopped_by"], "the dashboard's quit key");

    // Resumed on a terminal, it runs to its end and the bar gives the verdict.
    let cmd = format!(
        "{BIN} --root {root} campaign --resume {}; echo EXIT=$?; sleep 30",
        out.display()
    );
    let s = Session::start(160, 45, &cmd);
    let screen = s.wait_for_within("the verdict in the bar", Duration::from_secs(90), |t| {
        t.contains("campaign tmux (×0.002) · done · ended:") && t.contains("Production readiness")
    });
    let ready = screen.contains("Production readiness: READY");
    s.keys(&["q"]);
    let screen = s.wait_for("the exit", |t| t.contains("EXIT="));
    assert!(
        screen.contains(if ready { "EXIT=0" } else { "EXIT=1" }),
        "{screen}"
    );
    // The verdict is printed again once the screen is restored.
    assert!(screen.contains("Production readiness:"), "{screen}");
}
