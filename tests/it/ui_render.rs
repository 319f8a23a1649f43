//! Dashboard panes rendered into ratatui's `TestBackend` from fixture snapshots,
//! at 80×24 and 200×50: text *and* theme-slot styles, the help overlay built
//! from live bindings, zoom, freeze, splash and "unavailable" states.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use jetstress::config::KeyList;
use jetstress::load::BuiltinPhase;
use jetstress::probes::{Prober, Root};
use jetstress::ui::draw;
use jetstress::ui::{Action, KeyMap};
use jetstress::ui::{App, Effect, Pane, UsersLine};
use jetstress::ui::{ColorMode, Slot, Theme};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;

pub(crate) fn fixture(name: &str) -> Root {
    Root::new(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
}

pub(crate) fn app_for(board: &str, mode: ColorMode, keys: KeyMap) -> App {
    let themes = Theme::load_all(None, mode).unwrap();
    let mut app = App::new(themes, 0, keys, 1.0);
    let mut p = Prober::new(fixture(board), Vec::new());
    for _ in 0..3 {
        app.on_snapshot(Arc::new(p.sample()));
    }
    app
}

pub(crate) fn render(app: &App, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| draw(f, app)).unwrap();
    term.backend().buffer().clone()
}

pub(crate) fn text(buf: &Buffer) -> String {
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

/// Position of the first cell of `needle` on screen.
fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    let t = text(buf);
    for (y, line) in t.lines().enumerate() {
        if let Some(byte) = line.find(needle) {
            let x = line[..byte].chars().count();
            return Some((x as u16, y as u16));
        }
    }
    None
}

#[test]
fn splash_before_the_first_sample() {
    let themes = Theme::load_all(None, ColorMode::TrueColor).unwrap();
    let app = App::new(themes, 0, KeyMap::defaults(), 1.0);
    let t = text(&render(&app, 80, 24));
    assert!(
        t.contains("jetstress") && t.contains("reading the board"),
        "{t}"
    );
}

#[test]
fn every_pane_fits_at_80x24_with_its_facts() {
    let app = app_for("orin-agx-r36", ColorMode::TrueColor, KeyMap::defaults());
    let buf = render(&app, 80, 24);
    let t = text(&buf);
    for pane in [
        "Thermal",
        "Memory",
        "CPU · GPU · Power · Fan",
        "Predictions",
        "MCP / HTTP latency",
        "Events",
    ] {
        assert!(t.contains(pane), "pane {pane} missing at 80x24:\n{t}");
    }
    assert!(
        t.contains("Jetson AGX Orin") && t.contains("L4T 36.4.3"),
        "{t}"
    );
    assert!(t.contains("THROTTLED"));
    assert!(t.contains("cpu-thermal"));
    assert!(
        t.contains("1421▼"),
        "capped cores carry the cap marker:\n{t}"
    );
    assert!(t.contains("unavailable: no load engine attached"));
    // Footer hints come from the live bindings.
    assert!(
        t.contains("? help") && t.contains("1 spike") && t.contains("q quit"),
        "{t}"
    );
}

#[test]
fn wide_screen_shows_offline_zones_power_and_fan() {
    let app = app_for("orin-agx-r36", ColorMode::TrueColor, KeyMap::defaults());
    let buf = render(&app, 200, 50);
    let t = text(&buf);
    // The legend is a quarter of the pane: the reason wraps below the zone.
    assert!(
        t.contains("cv0-thermal offline:") && t.contains("power-gated (-256000)"),
        "{t}"
    );
    assert!(t.contains("PWR"), "{t}");
    assert!(t.contains("VDD_GPU_SOC"));
    assert!(t.contains("FAN 40% PWM  2900 rpm"), "{t}");
    assert!(t.contains("GPU ") && t.contains("34.5%"));
    assert!(t.contains("nvmap 1800 MB"), "{t}");
}

#[test]
fn styles_come_from_theme_slots() {
    let app = app_for("orin-agx-r36", ColorMode::TrueColor, KeyMap::defaults());
    let theme = app.theme().clone();
    let buf = render(&app, 200, 50);
    let (x, y) = find(&buf, "THROTTLED").unwrap();
    assert_eq!(buf[(x, y)].fg, theme.color(Slot::Alert));
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));
    let (x, y) = find(&buf, "cv0-thermal offline").unwrap();
    assert_eq!(buf[(x + 2, y)].fg, theme.color(Slot::Dim));
    // The focused pane (Thermal) has the focus border colour; others the plain one.
    let (x, y) = find(&buf, "Thermal").unwrap();
    assert_eq!(buf[(x - 2, y)].fg, theme.color(Slot::BorderFocus));
    let (x, y) = find(&buf, "Memory").unwrap();
    assert_eq!(buf[(x - 2, y)].fg, theme.color(Slot::Border));
    // Zone legend squares use the zone palette in order.
    let (x, y) = find(&buf, "■ cpu-thermal").unwrap();
    assert_eq!(buf[(x, y)].fg, theme.zone(0));
    assert_eq!(buf[(0, 0)].bg, theme.color(Slot::HeaderBg));
}

#[test]
fn a_256_colour_terminal_never_gets_rgb() {
    let app = app_for("orin-agx-r36", ColorMode::Indexed256, KeyMap::defaults());
    let buf = render(&app, 200, 50);
    for cell in buf.content() {
        assert!(!matches!(cell.fg, Color::Rgb(..)) && !matches!(cell.bg, Color::Rgb(..)));
    }
}

#[test]
fn no_color_is_monochrome_and_still_readable() {
    let app = app_for("tx2-r32", ColorMode::Mono, KeyMap::defaults());
    let buf = render(&app, 80, 24);
    for cell in buf.content() {
        assert!(
            matches!(cell.fg, Color::Reset) && matches!(cell.bg, Color::Reset),
            "{cell:?}"
        );
    }
    let (x, y) = find(&buf, "THROTTLED").unwrap();
    assert!(
        buf[(x, y)].modifier.contains(Modifier::REVERSED),
        "alerts stand out without colour"
    );
}

#[test]
fn help_overlay_is_built_from_live_bindings() {
    let mut o = BTreeMap::new();
    o.insert("spike".to_string(), KeyList::One("F2".into()));
    let mut app = app_for(
        "orin-agx-r36",
        ColorMode::TrueColor,
        KeyMap::with_overrides(&o).unwrap(),
    );
    assert_eq!(app.on_action(Action::Help), None);
    let t = text(&render(&app, 80, 24));
    assert!(t.contains(" keys "), "{t}");
    assert!(t.contains("F2  start the spike phase"), "{t}");
    assert!(t.contains("stop all load"));
    // Any other key closes it.
    app.on_action(Action::FocusNext);
    assert!(!app.help);
}

#[test]
fn zoom_focus_theme_and_window_keys() {
    let mut app = app_for("orin-agx-r36", ColorMode::TrueColor, KeyMap::defaults());
    app.on_action(Action::FocusNext);
    assert_eq!(app.focus, Pane::Memory);
    app.on_action(Action::Zoom);
    let t = text(&render(&app, 80, 24));
    assert!(
        t.contains("Memory") && !t.contains("Predictions"),
        "zoomed pane fills the body:\n{t}"
    );
    app.on_action(Action::Zoom);
    app.on_action(Action::NextTheme);
    assert_eq!(app.theme().name, "light");
    let buf = render(&app, 80, 24);
    assert_eq!(buf[(0, 0)].bg, app.theme().color(Slot::HeaderBg));
    let w = app.window_s();
    app.on_action(Action::WindowGrow);
    assert!(app.window_s() > w);
    assert_eq!(
        app.on_action(Action::Spike),
        Some(Effect::StartPhase(BuiltinPhase::Spike))
    );
    assert_eq!(app.on_action(Action::RateUp), Some(Effect::ScaleRate(1.25)));
    assert_eq!(app.on_action(Action::Quit), Some(Effect::Quit));
}

#[test]
fn freeze_keeps_the_view_while_data_keeps_coming() {
    let mut app = app_for("orin-agx-r36", ColorMode::TrueColor, KeyMap::defaults());
    app.on_action(Action::Freeze);
    let frozen = app.view_now();
    let mut p = Prober::new(fixture("orin-agx-r36"), Vec::new());
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mut s = p.sample();
    s.elapsed_s = frozen + 5.0;
    app.on_snapshot(Arc::new(s));
    assert_eq!(app.view_now(), frozen);
    assert!(app.store.latest_t() > frozen, "collection goes on");
    assert!(text(&render(&app, 80, 24)).contains("FROZEN"));
    app.on_action(Action::Freeze);
    assert!(app.view_now() > frozen);
}

#[test]
fn a_bare_vm_says_unavailable_instead_of_empty_boxes() {
    let app = app_for("bare-vm", ColorMode::TrueColor, KeyMap::defaults());
    let t = text(&render(&app, 200, 50));
    assert!(
        t.contains("unavailable: no thermal zones on this machine"),
        "{t}"
    );
    assert!(
        t.contains("GPU unavailable: no Jetson devfreq GPU or NVML device"),
        "{t}"
    );
    // At 80 columns the reason is shortened, not cut mid-word.
    let t = text(&render(&app, 80, 24));
    assert!(
        t.contains("GPU unavailable: no devfreq GPU or NVML "),
        "{t}"
    );
}

#[test]
fn presentation_theme_draws_big_digits_when_zoomed_on_predictions() {
    let mut app = app_for("orin-agx-r36", ColorMode::TrueColor, KeyMap::defaults());
    app.theme_idx = app
        .themes
        .iter()
        .position(|t| t.name == "presentation")
        .unwrap();
    app.focus = Pane::Predictions;
    app.zoom = true;
    let t = text(&render(&app, 200, 50));
    // Quadrant big text uses block-element glyphs.
    assert!(
        t.chars()
            .any(|c| matches!(c, '▀' | '▄' | '█' | '▌' | '▐' | '▘' | '▝' | '▖' | '▗')),
        "{t}"
    );
}

#[test]
fn every_shared_trace_replays_through_the_dashboard_to_the_end() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/traces");
    for name in [
        "xavier-nx_burn-in_tegrastats.log",
        "agx-orin-jp6_excerpt_tegrastats.log",
        "tx2_tegrastats.log",
        "nano_tegrastats.log",
        "agx-orin_llm-inference_stats.csv",
    ] {
        let src = jetstress::recording::load_replay(&dir.join(name)).unwrap();
        let themes = Theme::load_all(None, ColorMode::TrueColor).unwrap();
        let mut app = App::new(themes, 0, KeyMap::defaults(), 1.0);
        let cfg = jetstress::predict::PredictConfig {
            default_trip_c: Some(jetstress::ui::DEFAULT_REPLAY_TRIP_C),
            ..Default::default()
        };
        app.set_predict_config(cfg);
        let n = src.snapshots.len();
        for (i, s) in src.snapshots.into_iter().enumerate() {
            app.on_snapshot(s);
            if i % 200 == 0 || i + 1 == n {
                let t = text(&render(&app, 200, 50));
                assert!(t.contains("Thermal"), "{name} at sample {i}");
            }
        }
        // Predictions are computed live from the replayed data.
        assert!(!app.forecasts.named().is_empty(), "{name}");
        assert!(app.store.zones.values().all(|s| !s.is_empty()), "{name}");
    }
}

#[test]
fn a_users_phase_shows_its_population_and_takes_u_keys() {
    let mut app = app_for("orin-agx-r36", ColorMode::TrueColor, KeyMap::defaults());
    assert_eq!(
        app.on_action(Action::UsersMore),
        Some(Effect::ScaleUsers(2.0))
    );
    assert_eq!(
        app.on_action(Action::UsersFewer),
        Some(Effect::ScaleUsers(0.5))
    );
    app.load.engine = jetstress::ui::EngineView::Ready("built-in".into());
    app.load.phase = Some("ramp".into());
    app.load.stage = Some("50 users".into());
    app.load.users = Some(UsersLine {
        active: 10,
        target: 50,
        think: "2–5 s".into(),
    });
    let t = text(&render(&app, 160, 40));
    assert!(
        t.contains("ramp · 50 users · users 10/50 · think 2–5 s · closed model"),
        "{t}"
    );
    assert!(t.contains("ramp: 50 users @ 10 users"), "{t}");
    app.on_action(Action::Help);
    let t = text(&render(&app, 160, 40));
    assert!(t.contains("u  users ×2 for the running users phase"), "{t}");
    assert!(t.contains("U  users ÷2 for the running users phase"), "{t}");
}

#[test]
fn the_phase_bar_counts_invalid_calls_by_outcome() {
    let mut app = app_for("orin-agx-r36", ColorMode::TrueColor, KeyMap::defaults());
    app.load.engine = jetstress::ui::EngineView::Ready("built-in".into());
    app.load.phase = Some("soak".into());
    app.load.target_rps = Some(5.0);
    let t = text(&render(&app, 160, 40));
    assert!(!t.contains("invalid"), "{t}");
    for o in [
        jetstress::load::InvalidOutcome::Graceful,
        jetstress::load::InvalidOutcome::Graceful,
        jetstress::load::InvalidOutcome::Accepted,
    ] {
        app.load.invalid.add(o);
    }
    let t = text(&render(&app, 160, 40));
    assert!(
        t.contains("dropped 0  invalid 3 (2 graceful, 1 accepted)"),
        "{t}"
    );
}

#[test]
fn llm_tools_get_token_rows_and_the_phase_bar_their_tokens_per_second() {
    let mut app = app_for("orin-agx-r36", ColorMode::TrueColor, KeyMap::defaults());
    app.load.engine = jetstress::ui::EngineView::Ready("llm".into());
    app.load.phase = Some("soak".into());
    app.load.target_rps = Some(4.0);
    app.load.rows = vec![jetstress::ui::LoadRow {
        tool: "chat".into(),
        rps: 4.0,
        p50_ms: 503.0,
        p95_ms: 521.0,
        p99_ms: 521.0,
        max_ms: 521.0,
        ..Default::default()
    }];
    let t = text(&render(&app, 160, 40));
    assert!(!t.contains("TTFT"), "{t}");
    app.load.llm = vec![jetstress::ui::LlmRow {
        tool: "chat".into(),
        tokens_per_s: 64.0,
        ttft_p50_ms: 203.0,
        ttft_p95_ms: 221.0,
        itl_p95_ms: 21.1,
        tpot_p50_ms: 20.0,
        tokens_per_joule: None,
    }];
    let t = text(&render(&app, 160, 40));
    assert!(t.contains("TTFT p50"), "{t}");
    assert!(t.contains("203ms"), "{t}");
    assert!(t.contains("21ms"), "{t}");
    assert!(t.contains("64.0 tok/s"), "{t}");
    // The header says it too, beside the phase.
    let header = t.lines().next().unwrap_or_default();
    assert!(header.contains("soak @ 4.0 rps · 64.0 tok/s"), "{header}");
}

/// The fixture board heated the way a first-order zone heats under a load
/// (T∞ = 40 + 130 u °C, τ 300 s): idle for 200 s, then a stress ladder at
/// 10 and 20 rps, each request costing the CPU a fixed share. The pane's
/// first zone says both ETAs — at this load and if the stress phase goes on
/// to its last rate — from the snapshots and the engine's own events; once
/// the phase stops, only the first. Expected values come from a second
/// predictor bundle fed the same snapshots and a plan built from the inputs.
#[test]
fn the_first_zone_says_its_eta_at_this_load_and_under_the_planned_load() {
    use jetstress::load::{
        load_ahead, AfterPlan, EngineEvent, LoadShares, LoadWindow, PhaseEvent, PhaseSpec,
        Position, StopReason, StressParams, ToolSummary,
    };
    use jetstress::predict::{human_duration, human_eta, Predictors};
    use std::time::Duration;

    let (idle, per_rps, tau) = (0.1, 0.02, 300.0);
    let t_inf = |u: f64| 40.0 + 130.0 * u;
    let stress = PhaseSpec::stress(&StressParams {
        start_rate: 10.0,
        step_rate: 10.0,
        step_every: Duration::from_secs(300),
        max_rate: 30.0,
        ..StressParams::default()
    });
    let themes = Theme::load_all(None, ColorMode::TrueColor).unwrap();
    let mut app = App::new(themes, 0, KeyMap::defaults(), 1.0);
    app.focus = Pane::Predictions;
    app.zoom = true;
    let mut own = Predictors::default();
    let base = Prober::new(fixture("orin-agx-r36"), Vec::new()).sample();
    let zone = base
        .thermal
        .iter()
        .find(|z| z.name == "cpu-thermal")
        .unwrap()
        .id
        .clone();
    let mut temp = t_inf(idle);
    let mut t = 0.0;
    let mut step = |app: &mut App, own: &mut Predictors, u: f64| {
        temp += (t_inf(u) - temp) * (1.0 - (-1.0_f64 / tau).exp());
        t += 1.0;
        let mut s = base.clone();
        s.elapsed_s = t;
        s.cpu.util_pct = Some(u * 100.0);
        for z in &mut s.thermal {
            if z.id == zone {
                z.temp_c = Some(temp);
            }
        }
        own.observe(&s);
        app.on_snapshot(Arc::new(s));
    };
    let window = |stage: &str, rate: f64| {
        EngineEvent::LoadWindow(Box::new(LoadWindow {
            elapsed_s: 0.0,
            window_s: 1.0,
            phase: Some("stress".into()),
            stage: Some(stage.into()),
            target_rate: rate,
            in_flight: 0,
            all: ToolSummary {
                count: rate as u64,
                ..ToolSummary::default()
            },
            tools: Vec::new(),
            rolling_s: 0.0,
            rolling_all: ToolSummary::default(),
            rolling_tools: Vec::new(),
            users: None,
            invalid: None,
        }))
    };
    for _ in 0..200 {
        step(&mut app, &mut own, idle);
    }
    app.forecasts.plan_mut().plan_phases([stress.clone()]);
    app.forecasts
        .on_event(&EngineEvent::Phase(PhaseEvent::Started {
            phase: "stress".into(),
            id: 1,
            think: None,
        }));
    let mut started = 0.0;
    for (i, st) in stress.stages[..2].iter().enumerate() {
        app.forecasts
            .on_event(&EngineEvent::Phase(PhaseEvent::StageChanged {
                phase: "stress".into(),
                id: 1,
                stage: i,
                name: st.name.clone(),
                target_rate: st.rate,
                users: None,
            }));
        started = own.now_s();
        let secs = if i == 0 { 300 } else { 150 };
        for _ in 0..secs {
            step(&mut app, &mut own, idle + per_rps * st.rate);
            app.forecasts.on_event(&window(&st.name, st.rate));
        }
    }
    let etas = app
        .forecasts
        .etas()
        .cloned()
        .expect("both ETAs for the first zone");
    assert_eq!(etas.zone, "cpu-thermal");
    let planned = etas
        .planned
        .as_ref()
        .expect("a planned ETA while stress runs");
    let (at_eta, planned_eta) = (
        etas.at_this_load
            .eta_s
            .expect("at 20 rps T∞ is over the trip"),
        planned.prediction.eta_s.expect("30 rps is hotter still"),
    );
    assert!(planned_eta < at_eta, "{planned_eta} vs {at_eta}");
    // The same from the inputs: the load model at this load, and under the
    // stages ahead at idle + cost × rate, then idle.
    let want_at = own.at_this_load_for(&zone).unwrap().eta_s.unwrap();
    let plan = load_ahead(
        std::slice::from_ref(&stress),
        &Position {
            stage: 1,
            stage_elapsed_s: own.now_s() - started,
            stage_requests: 0,
        },
        &LoadShares {
            idle,
            burn: 0.0,
            current: per_rps * stress.stages[1].rate,
            per_rps: Some(per_rps),
            per_user: None,
            rps_per_user: None,
            rate_factor: 1.0,
            users_factor: 1.0,
            after: AfterPlan::Idle,
        },
        own.config().max_eta_s,
    );
    let want_planned = own.planned_for(&zone, &plan).unwrap();
    assert!((at_eta - want_at).abs() < 1e-6, "{at_eta} vs {want_at}");
    let got = planned.prediction.eta_s.unwrap();
    let want = want_planned.eta_s.unwrap();
    assert!((got - want).abs() <= 0.01 * want, "{got} vs {want}");
    let screen = text(&render(&app, 200, 50));
    let line =
        format!(
        "cpu-thermal reaches 99 °C in {} at this load; in {} if the stress phase goes on to 30 rps",
        human_eta(at_eta, etas.at_this_load.lo_s, etas.at_this_load.hi_s),
        human_eta(planned_eta, planned.prediction.lo_s, planned.prediction.hi_s),
    );
    assert!(screen.contains(&line), "{line}\n{screen}");
    // A narrow pane keeps both numbers.
    app.zoom = false;
    let narrow = text(&render(&app, 80, 24));
    let short = format!(
        "cpu-thermal: {}, planned {}",
        human_duration(at_eta),
        human_duration(planned_eta)
    );
    assert!(narrow.contains(&short), "{short}\n{narrow}");
    app.zoom = true;
    // Other zones keep their own lines.
    assert!(screen.contains("gpu-thermal"), "{screen}");
    // The phase ends: at this load only.
    app.forecasts
        .on_event(&EngineEvent::Phase(PhaseEvent::Stopped {
            phase: "stress".into(),
            id: 1,
            reason: StopReason::Completed,
            then: None,
        }));
    step(&mut app, &mut own, idle);
    let screen = text(&render(&app, 200, 50));
    assert!(
        screen.contains("cpu-thermal reaches 99 °C in")
            || screen.contains("cpu-thermal levels off"),
        "{screen}"
    );
    assert!(screen.contains("at this load"), "{screen}");
    assert!(!screen.contains("if the stress phase"), "{screen}");
}
