//! Rough edges a first user meets (issue #18), each as the user sees it.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{copy_tree, fixture_dir};
use crate::e2e_tmux::Session;

use jetstress::predict::{Model, Status, ZonePrediction};
use jetstress::probes::{Prober, Root};
use jetstress::ui::draw;
use jetstress::ui::{App, KeyMap, LoadOffer};
use jetstress::ui::{ColorMode, Theme};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;

const BIN: &str = env!("CARGO_BIN_EXE_jetstress");

fn fixture(name: &str) -> Root {
    Root::new(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
}

fn app_for(board: &str) -> App {
    let themes = Theme::load_all(None, ColorMode::TrueColor).unwrap();
    let mut app = App::new(themes, 0, KeyMap::defaults(), 1.0);
    let mut p = Prober::new(fixture(board), Vec::new());
    for _ in 0..3 {
        app.on_snapshot(Arc::new(p.sample()));
    }
    app
}

fn render(app: &App, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| draw(f, app)).unwrap();
    term.backend().buffer().clone()
}

fn text(buf: &Buffer) -> String {
    let a = buf.area;
    (0..a.height)
        .map(|y| {
            (0..a.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
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
    app.zone_predictions = preds.iter().map(|(p, _)| p.clone()).collect();
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
