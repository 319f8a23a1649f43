//! Rough edges a first user meets (issue #18), each as the user sees it.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{copy_tree, fixture_dir};
use crate::e2e_tmux::Session;

use jetstress::predict::{Model, Status, ZonePrediction};
use jetstress::ui::{App, KeyMap, LoadOffer};

use crate::ui_render::{render, text};
use jetstress::ui::{ColorMode, Theme};
use ratatui::buffer::Buffer;

const BIN: &str = env!("CARGO_BIN_EXE_jetstress");

fn app_for(board: &str) -> App {
    crate::ui_render::app_for(board, ColorMode::TrueColor, KeyMap::defaults())
}

/// The cells of the pane whose title is `title`: (left, top, right, bottom)
/// of its border.
fn pane_box(buf: &Buffer, title: &str) -> (u16, u16, u16, u16) {
    let t = text(buf);
    let rows: Vec<Vec<String>> = t
        .lines()
        .map(|l| l.chars().map(String::from).collect())
        .collect();
    for (y, row) in rows.iter().enumerate() {
        let line: String = row.concat();
        let Some(byte) = line.find(&format!(" {title} ")) else {
            continue;
        };
        let x = line[..byte].chars().count() - 1;
        let corner = &row[x];
        let right = (x + 1..row.len())
            .find(|&i| matches!(row[i].as_str(), "╮" | "┓"))
            .unwrap();
        let bottom = (y + 1..rows.len())
            .find(|&j| matches!(rows[j][x].as_str(), "╰" | "┗"))
            .unwrap();
        assert!(matches!(corner.as_str(), "╭" | "┏"), "{title} at {x},{y}");
        return (x as u16, y as u16, right as u16, bottom as u16);
    }
    panic!("no pane {title}:\n{t}");
}

/// The text of each inner row of a pane.
fn pane_rows(buf: &Buffer, title: &str) -> (Vec<String>, usize) {
    let (l, top, r, bottom) = pane_box(buf, title);
    let rows = (top + 1..bottom)
        .map(|y| (l + 1..r).map(|x| buf[(x, y)].symbol()).collect::<String>())
        .collect();
    (rows, (r - l - 1) as usize)
}

fn zone(name: &str, status: Status, eta: Option<f64>, message: &str) -> ZonePrediction {
    ZonePrediction {
        zone: name.into(),
        eta_s: eta,
        lo_s: eta.map(|e| e * 0.8),
        hi_s: eta.map(|e| e * 1.2),
        model: Model::Newton,
        t_inf_c: Some(61.2),
        status,
        trip_c: 99.0,
        temp_c: 72.4,
        slope_c_per_min: 0.42,
        message: message.into(),
    }
}

/// Predictions a first user meets, with the predictor's own long messages.
fn long_predictions() -> Vec<(ZonePrediction, &'static str)> {
    vec![
        (
            zone(
                "tdiode-thermal",
                Status::TooFewSamples,
                None,
                "tdiode-thermal: 5 samples over 4 s, need 10 over 10 s",
            ),
            "samples",
        ),
        (
            zone(
                "cpu-thermal",
                Status::Ok,
                Some(400.0),
                "cpu-thermal reaches 99 °C trip in 7 min ± 1",
            ),
            "7 min",
        ),
        (
            zone(
                "gpu-thermal",
                Status::LevellingOff,
                None,
                "gpu-thermal probably levelling off at 61.2 °C (τ 4 min), but T∞ may be up to 70.3 °C: 99 °C trip not ruled out, at the earliest in 12 min",
            ),
            "levelling off",
        ),
        (
            zone(
                "soc0-thermal",
                Status::Noisy,
                None,
                "soc0-thermal: trend +0.12 °C/min is within the noise (±0.40 °C)",
            ),
            "nois",
        ),
        (
            zone(
                "tj-thermal",
                Status::AlreadyOver,
                Some(0.0),
                "tj-thermal is at 99.4 °C, at or over its 99.0 °C trip",
            ),
            "over",
        ),
    ]
}

#[test]
fn prediction_lines_keep_zone_and_status_whole_at_common_widths() {
    let mut app = app_for("orin-agx-r36");
    let preds = long_predictions();
    app.forecasts
        .set_named(preds.iter().map(|(p, _)| p.clone()).collect());
    for (w, h) in [(80u16, 30u16), (100, 30), (120, 40), (160, 45)] {
        let buf = render(&app, w, h);
        let (rows, inner) = pane_rows(&buf, "Predictions");
        let screen = text(&buf);
        for (p, key) in &preds {
            let row = rows
                .iter()
                .find(|r| r.contains(&p.zone))
                .unwrap_or_else(|| panic!("{w} cols: no whole line for {}:\n{screen}", p.zone));
            assert!(
                row.contains(key),
                "{w} cols: {} lost '{key}': {row:?}",
                p.zone
            );
        }
        for row in &rows {
            // Nothing runs into the border: the last cell is always free, so
            // no word is cut by the pane's edge (shortened lines end in `…`).
            assert_eq!(
                row.chars().last(),
                Some(' '),
                "{w} cols: a line fills the pane to its edge: {row:?}\n{screen}"
            );
            assert!(
                !row.contains("[newton, +0.42 °C") || row.contains("°C/min]"),
                "{row:?}"
            );
        }
        assert!(inner > 10);
    }
}

#[test]
fn the_thermal_legend_is_a_quarter_of_the_pane_at_most() {
    let app = app_for("orin-agx-r36");
    for (w, h) in [(80u16, 30u16), (100, 30), (120, 40), (160, 45), (200, 50)] {
        let buf = render(&app, w, h);
        let (l, top, r, bottom) = pane_box(&buf, "Thermal");
        let inner = r - l - 1;
        let legend_x = (top + 1..bottom)
            .filter_map(|y| (l + 1..r).find(|&x| buf[(x, y)].symbol() == "■"))
            .min()
            .expect("zone squares");
        let legend = r - legend_x;
        assert!(
            legend <= (inner / 4).max(24) + 1,
            "{w} cols: legend {legend} of {inner}:\n{}",
            text(&buf)
        );
        if w >= 160 {
            assert!(
                legend <= inner / 4 + 1,
                "{w} cols: legend {legend} of {inner}"
            );
        }
        // Each zone row still shows its temperature; a cut name ends in `…`.
        let (rows, _) = pane_rows(&buf, "Thermal");
        for row in rows.iter().filter(|r| r.contains('■')) {
            let entry = &row[row.find('■').unwrap()..];
            assert!(entry.trim_end().ends_with('°'), "{w} cols: {entry:?}");
            let name = entry
                .trim_start_matches("■ ")
                .split_whitespace()
                .next()
                .unwrap();
            assert!(
                name.ends_with("-thermal") || name.ends_with('…'),
                "{w} cols: {name:?}"
            );
        }
    }
}

#[test]
fn before_any_load_key_the_latency_pane_says_which_keys_start_load() {
    let mut app = app_for("orin-agx-r36");
    app.load.offer = LoadOffer::Live("built-in (the built-in MCP server)".into());
    for (w, h) in [(80u16, 30u16), (120, 40), (160, 45)] {
        let (rows, _) = pane_rows(&render(&app, w, h), "MCP / HTTP latency");
        let joined = rows.iter().map(|r| r.trim()).collect::<Vec<_>>().join(" ");
        assert!(
            joined.contains(
                "press 1 spike · 2 stress · 3 soak · 4 users — load against built-in (the built-in MCP server)"
            ),
            "{w} cols: {joined}"
        );
        assert!(!joined.contains("unavailable"), "{joined}");
    }
    // Rebound keys are the ones named.
    let mut o = std::collections::BTreeMap::new();
    o.insert(
        "spike".to_string(),
        jetstress::config::KeyList::One("F2".into()),
    );
    let themes = Theme::load_all(None, ColorMode::TrueColor).unwrap();
    let mut app2 = App::new(themes, 0, KeyMap::with_overrides(&o).unwrap(), 1.0);
    app2.latest = app.latest.clone();
    app2.load.offer = app.load.offer.clone();
    let (rows, _) = pane_rows(&render(&app2, 160, 45), "MCP / HTTP latency");
    assert!(rows[0].contains("press F2 spike · 2 stress"), "{rows:?}");
    // A replay has no engine: it says so honestly.
    app.load.offer = LoadOffer::Replay;
    let (rows, _) = pane_rows(&render(&app, 160, 45), "MCP / HTTP latency");
    assert!(
        rows[0].contains(
            "unavailable: a replay drives no load (load keys work on the live dashboard)"
        ),
        "{rows:?}"
    );
}

#[test]
fn a_newcomer_is_told_in_tmux_which_key_starts_load() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture_dir("x86-laptop"), dir.path());
    let root = dir.path().display().to_string();
    let s = Session::start(100, 30, &format!("{BIN} --root {root} --interval 200ms"));
    let screen = s.wait_for("the load hint", |t| {
        t.contains("press 1 spike · 2 stress · 3 soak") && t.contains("built-in MCP server")
    });
    assert!(!screen.contains("no load engine attached"), "{screen}");
    s.keys(&["1"]);
    s.wait_for("the spike running", |t| {
        t.contains("spike · baseline") && !t.contains("press 1 spike")
    });
    s.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !s.pane_dead() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        s.pane_dead(),
        "jetstress did not exit on q:\n{}",
        s.capture()
    );
}

fn run_cmd() -> std::process::Command {
    let mut c = std::process::Command::new(BIN);
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn an_unreachable_target_is_named_in_plain_words() {
    let out = run_cmd()
        .args(["--root"])
        .arg(fixture_dir("bare-vm"))
        .args([
            "run",
            "--phase",
            "spike",
            "--duration",
            "3s",
            "--sessions",
            "1",
        ])
        .args(["--target-url", "http://127.0.0.1:1/mcp"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("target '127.0.0.1:1': cannot reach http://127.0.0.1:1/mcp: connection refused — is the server running? check --target-url"),
        "{err}"
    );
    assert!(
        !err.contains("rmcp") && !err.contains("Transport ["),
        "{err}"
    );

    let out = run_cmd()
        .args([
            "run",
            "--phase",
            "spike",
            "--duration",
            "3s",
            "--sessions",
            "1",
        ])
        .args(["--target-cmd", "no-such-mcp-server --stdio"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot start 'no-such-mcp-server': no such file"),
        "{err}"
    );
    assert!(!err.contains("os error"), "{err}");
}

#[test]
fn a_run_goes_on_without_the_target_that_never_connected() {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("two.toml");
    let mix = |remote_too: bool| {
        let mut m = String::new();
        if remote_too {
            m += "[[mix]]\ntool = \"built-in:echo\"\nweight = 1\n";
        }
        m + "[[mix]]\ntool = \"remote:echo\"\nweight = 1\n"
    };
    let scenario = |remote_too: bool| {
        format!(
            "name = \"two\"\nsessions = 2\n[[targets]]\nbuiltin = true\n[[targets]]\nname = \"remote\"\nurl = \"http://127.0.0.1:1/mcp\"\n{}[[phases]]\nkind = \"soak\"\nrate = 5\nduration = \"3s\"\n",
            mix(remote_too)
        )
    };
    std::fs::write(&sc, scenario(true)).unwrap();
    let json = dir.path().join("run.json");
    let out = run_cmd()
        .arg("--root")
        .arg(fixture_dir("x86-laptop"))
        .args(["run", "--scenario"])
        .arg(&sc)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // It ran and judged: the target that never came up fails no_target_crash.
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("phase soak stopped: completed"), "{err}");
    assert!(
        err.contains(
            "target remote left out of this run: cannot reach http://127.0.0.1:1/mcp: connection refused — is the server running? check --target-url; mix entries skipped: remote:echo"
        ),
        "{err}"
    );
    assert!(err.contains("result: FAIL"), "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let targets = v["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2, "{v:#}");
    assert_eq!(targets[0]["name"], "built-in");
    assert!(!targets[0]["tools"].as_array().unwrap().is_empty());
    assert_eq!(targets[1]["name"], "remote");
    assert_eq!(targets[1]["kind"], "http");
    assert!(targets[1]["failures"].as_u64().unwrap() >= 1);
    assert!(targets[1]["tools"].as_array().unwrap().is_empty());
    assert!(targets[1]["connect_error"]
        .as_str()
        .unwrap()
        .starts_with("cannot reach http://127.0.0.1:1/mcp: connection refused"));
    let ops: Vec<&str> = v["phases"][0]["whole"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tool"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["built-in:echo"]);

    // A mix of only the missing target's tools has nothing left to run.
    std::fs::write(&sc, scenario(false)).unwrap();
    let out = run_cmd()
        .arg("--root")
        .arg(fixture_dir("x86-laptop"))
        .args(["run", "--scenario"])
        .arg(&sc)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the tool mix names only tools of targets that did not connect (remote:echo): target 'remote': cannot reach"),
        "{err}"
    );
}

/// Rewrite `MemAvailable` (kB) of a fixture copy in place.
fn set_mem_available(root: &Path, kb: u64) {
    let p = root.join("proc/meminfo");
    let text = std::fs::read_to_string(&p).unwrap();
    let out: String = text
        .lines()
        .map(|l| {
            if l.starts_with("MemAvailable:") {
                format!("MemAvailable:   {kb} kB\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&p, out).unwrap();
}

#[test]
fn memory_pressure_says_once_that_the_floor_stops_it_short() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture_dir("x86-laptop"), dir.path());
    let total_kb = 15_999_316_u64; // the fixture's MemTotal
    set_mem_available(dir.path(), total_kb * 9 / 10);
    let sc = dir.path().join("mem.toml");
    std::fs::write(
        &sc,
        "name = \"mem\"\nsessions = 1\n[[targets]]\nbuiltin = true\n[memory]\ntarget_mb = 512\nrate_mb_s = 40\n[[phases]]\nkind = \"soak\"\nrate = 2\nduration = \"5s\"\n",
    )
    .unwrap();
    let child = run_cmd()
        .arg("--root")
        .arg(dir.path())
        .args(["run", "--scenario"])
        .arg(&sc)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once it has grown a little, available memory sits just above the 15 %
    // floor: the generator stops there (the guard, below the floor, does not trip).
    std::thread::sleep(Duration::from_millis(2500));
    set_mem_available(dir.path(), total_kb * 15 / 100 + 512);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("memory limited: "))
        .collect();
    assert_eq!(lines.len(), 1, "said once:\n{err}");
    let line = lines[0];
    let held: f64 = line["memory limited: holds ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("{line}"));
    assert!(held < 512.0, "{line}");
    assert!(
        line.contains(
            " MB of 512 MB asked: the 15 % available floor stops it (2.3 GB available of 15.3 GB)"
        ),
        "{line}"
    );
    assert!(!err.contains("guard memory_floor"), "{err}");
}

#[test]
fn run_shows_a_bar_on_a_terminal_and_plain_lines_through_a_pipe() {
    let cmd = format!(
        "{BIN} --root {} run --phase spike --duration 8s --sessions 2",
        fixture_dir("x86-laptop").display()
    );
    let s = Session::start(100, 30, &cmd);
    let screen = s.wait_for("the progress bar", |t| {
        t.contains("spike 1/1 · ETA 0:0") && t.contains('[') && t.contains("rps (achieved")
    });
    assert!(
        !screen.contains("[     "),
        "no plain progress line on a terminal:\n{screen}"
    );
    let end = s.wait_for("the verdict", |t| t.contains("result: "));
    assert!(
        !end.contains("· ETA "),
        "the bar is cleared at the end:\n{end}"
    );

    let out = run_cmd()
        .arg("--root")
        .arg(fixture_dir("x86-laptop"))
        .args([
            "run",
            "--phase",
            "soak",
            "--rate",
            "2",
            "--duration",
            "11s",
            "--sessions",
            "1",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines()
            .any(|l| l.starts_with("[    10s] soak/soak target 2.0 rps")),
        "{err}"
    );
    assert!(!err.contains("ETA") && !err.contains('\u{1b}'), "{err}");
}

/// The latency table's headings and figures stay whole at the widths a
/// terminal has: a narrow pane drops the less telling columns instead of
/// cutting each one short (at 80 columns it read "rp p5 p9 p99" over
/// "2. 0. 0."; at 120 and 160 the trend column was one cell short of its
/// heading).
#[test]
fn the_latency_table_keeps_its_headings_and_figures_whole_at_common_widths() {
    let mut app = app_for("orin-agx-r36");
    app.load.engine = jetstress::ui::EngineView::Ready("built-in".into());
    app.load.phase = Some("spike".into());
    app.load.rows = vec![jetstress::ui::LoadRow {
        tool: "built-in:system_diagnosis".into(),
        rps: 2.0,
        p50_ms: 0.3,
        p95_ms: 0.4,
        p99_ms: 0.5,
        max_ms: 0.6,
        error_pct: 12.5,
        p95_history: (1..=30).collect(),
        ..Default::default()
    }];
    let all = [
        "tool",
        "rps",
        "p50",
        "p95",
        "p99",
        "max",
        "err%",
        "p95 trend",
    ];
    for (w, h) in [(80u16, 30u16), (100, 30), (120, 40), (160, 45), (200, 50)] {
        let buf = render(&app, w, h);
        let (rows, _) = pane_rows(&buf, "MCP / HTTP latency");
        let screen = text(&buf);
        let heading = rows
            .iter()
            .find(|l| l.starts_with("tool "))
            .unwrap_or_else(|| panic!("{w} cols: no heading:\n{screen}"));
        let words: Vec<&str> = heading
            .trim_start_matches("tool (built-in)")
            .split_whitespace()
            .collect();
        let shown: Vec<&str> = all
            .iter()
            .copied()
            .filter(|h| heading.contains(&format!(" {h}")) || h == &"tool")
            .collect();
        // Every word of the heading is a whole heading, and the tool's row
        // shows the figure of each.
        assert!(
            words
                .iter()
                .all(|x| all.iter().any(|h| h.split(' ').any(|p| p == *x))),
            "{w} cols: {heading}"
        );
        for need in ["tool", "rps", "p95", "err%"] {
            assert!(shown.contains(&need), "{w} cols: no {need}: {heading}");
        }
        // The tool's own name is whole: under a "tool (built-in)" heading
        // where "built-in:system_diagnosis" does not fit.
        let row = rows
            .iter()
            .find(|l| l.contains("system_diagnosis "))
            .unwrap_or_else(|| panic!("{w} cols: no whole tool name:\n{screen}"));
        assert_eq!(
            row.starts_with("built-in:system_diagnosis"),
            !heading.starts_with("tool (built-in)"),
            "{w} cols: {heading}\n{row}"
        );
        for (h, v) in [
            ("rps", "2.0"),
            ("p50", "0.3ms"),
            ("p95", "0.4ms"),
            ("p99", "0.5ms"),
            ("max", "0.6ms"),
            ("err%", "12.5"),
        ] {
            assert_eq!(
                row.contains(v),
                shown.contains(&h),
                "{w} cols: {h} {v}\n{heading}\n{row}"
            );
        }
        if w >= 120 {
            assert!(heading.contains("p95 trend"), "{w} cols: {heading}");
        }
        if w == 80 {
            assert!(
                heading.starts_with("tool (built-in)"),
                "{w} cols: {heading}"
            );
        }
    }
}

/// Every binding is on the help screen at 80×24 and wider, its key and the
/// first words of what it does (at 80×24 the second column fell off the
/// right edge, half the keys with it); shortened descriptions end in `…`.
/// The footer under it ends in a whole word.
#[test]
fn the_help_shows_every_key_at_80_by_24() {
    use jetstress::ui::Action;
    let mut app = app_for("orin-agx-r36");
    app.on_action(Action::Help);
    let rows = app.keys.help_rows();
    assert!(rows.len() > 20, "{}", rows.len());
    for (w, h) in [(80u16, 24u16), (100, 30), (160, 45)] {
        let screen = text(&render(&app, w, h));
        for (key, action) in &rows {
            let words: Vec<&str> = action.description().split(' ').take(2).collect();
            let want = format!("{key}  {}", words.join(" "));
            assert!(screen.contains(&want), "{w}×{h}: no '{want}':\n{screen}");
            let line = screen.lines().find(|l| l.contains(&want)).unwrap();
            let whole = line.contains(action.description());
            assert!(whole || line.contains('…'), "{w}×{h}: {line}");
        }
        // The footer's theme name is there whole or not at all (at 80
        // columns it was cut to "th").
        let footer = screen.lines().last().unwrap_or_default().trim_end();
        let named = footer.ends_with(&format!("theme: {}", app.theme().name));
        assert!(named || footer.ends_with("quit"), "{w}×{h}: {footer}");
        assert_eq!(named, w > 80, "{w}×{h}: {footer}");
    }
}

/// The memory legend's lines keep each figure whole at 80 columns: a figure
/// that does not fit is left out, not cut ("floor 9424 MB  nv",
/// "15.8 MB  cpu"), and an exited process still says so. On a short pane the
/// figures come before the chart's third row.
#[test]
fn the_memory_legend_drops_figures_it_cannot_show_whole() {
    use jetstress::snapshot::WatchedProcess;
    use std::sync::Arc;
    let mut app = app_for("orin-agx-r36");
    let mut s = (**app.latest.as_ref().expect("a first sample")).clone();
    assert!(s.memory.nvmap_mb.is_some(), "the fixture reads nvmap");
    s.elapsed_s += 1.0;
    s.watched = vec![WatchedProcess {
        pid: 4242,
        name: "llama-server".into(),
        rss_mb: Some(812.4),
        alive: false,
        cpu_pct: Some(95.0),
        cgroup: None,
        gpu_mem_mb: Some(1228.8),
    }];
    app.on_snapshot(Arc::new(s));
    for (w, h) in [(80u16, 24u16), (120, 40), (200, 50)] {
        let buf = render(&app, w, h);
        let (rows, _) = pane_rows(&buf, "Memory");
        let legend: Vec<&String> = rows
            .iter()
            .filter(|r| r.starts_with("used ") || r.starts_with("swap ") || r.starts_with("rss "))
            .collect();
        // At 80×24 the pane has room for the two lines of figures only.
        let want = if h <= 24 { 2 } else { 3 };
        assert_eq!(legend.len(), want, "{w}×{h}: {rows:#?}");
        for r in &legend {
            assert_eq!(r.chars().last(), Some(' '), "{w} cols: {r:?}");
            for (label, unit) in [
                ("floor ", " MB"),
                ("nvmap ", " MB"),
                ("cpu ", " %"),
                ("gpu ", " GB"),
            ] {
                if let Some(i) = r.find(label) {
                    assert!(r[i..].contains(unit), "{w} cols: {label}cut in {r:?}");
                }
            }
        }
        let Some(rss) = legend.iter().find(|r| r.starts_with("rss ")) else {
            continue;
        };
        assert!(rss.contains("exited"), "{w} cols: {rss:?}");
        if w == 200 {
            assert!(
                rss.contains("cpu 95 %") && rss.contains("gpu 1.2 GB"),
                "{rss:?}"
            );
        }
    }
}

/// An event longer than the log pane ends in `…` at a word instead of
/// running into its border; zoomed, the pane shows it whole.
#[test]
fn a_long_event_is_shortened_at_a_word() {
    use jetstress::ui::{Action, Level, Pane};
    let mut app = app_for("orin-agx-r36");
    let long = "the trace has no trip points: predicting against 99 °C (--trip to change it)";
    app.log(Level::Warn, long);
    let buf = render(&app, 80, 24);
    let (rows, _) = pane_rows(&buf, "Events");
    let row = rows
        .iter()
        .find(|r| r.contains("the trace has no trip points"))
        .unwrap_or_else(|| panic!("{rows:#?}"));
    assert!(row.trim_end().ends_with('…'), "{row:?}");
    assert_eq!(row.chars().last(), Some(' '), "{row:?}");
    while app.focus != Pane::Events {
        app.on_action(Action::FocusNext);
    }
    app.on_action(Action::Zoom);
    let screen = text(&render(&app, 120, 30));
    assert!(screen.contains(long), "{screen}");
}

/// The header keeps each field whole at any width: a field that does not
/// fit is left out ("L4T" without its version at 60 columns, "clo" for
/// "clocks dyn" at 80), and the phase always shows.
#[test]
fn the_header_leaves_out_what_it_cannot_show_whole() {
    let app = app_for("orin-agx-r36");
    let header = |w: u16| {
        let screen = text(&render(&app, w, 24));
        screen.lines().next().unwrap_or_default().trim().to_string()
    };
    // At 159 columns every field fits (from 160 the board's full model name
    // shows): those are the whole ones.
    let wide = header(159);
    let whole: Vec<&str> = wide.split(" │ ").collect();
    assert!(whole.len() >= 6, "{wide}");
    assert!(whole.iter().any(|f| f.starts_with("clocks ")), "{wide}");
    for w in (40..=155).step_by(5) {
        let line = header(w);
        let fields: Vec<&str> = line.split(" │ ").collect();
        assert_eq!(fields[..2], whole[..2], "{w}: {line}");
        for f in &fields {
            assert!(whole.contains(f), "{w}: '{f}' is cut in: {line}");
        }
    }
    // Three columns short of the whole line, the last field goes.
    let short = header(wide.chars().count() as u16 - 2);
    assert_eq!(short.split(" │ ").count(), whole.len() - 1, "{short}");
}
