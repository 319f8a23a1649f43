//! Predictions pane: time until each zone's throttle trip with its range and
//! model, time until the memory floor, leak rate of watched processes (`rss`
//! or `gpu`, the memory that grows); an alert style when an ETA drops under
//! 5 minutes. The first zone says its ETA at this load and, while a phase
//! runs, under the plan's load ahead.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use tui_big_text::{BigText, PixelSize};

use super::{fit, pane_block, width_of};
use crate::predict::memory::{LeakEstimate, MemoryPrediction, MemoryStatus};
use crate::predict::thermal::{Status, ZonePrediction};
use crate::predict::{human_duration, human_eta};
use crate::session::BothEtas;
use crate::snapshot::watched_key_words;
use crate::ui::app::{App, Pane};
use crate::ui::theme::Slot;

/// ETAs under this many seconds are drawn as alerts.
pub const ALERT_ETA_S: f64 = 300.0;

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let t = app.theme();
    let block = pane_block(app, Pane::Predictions, None);
    let mut inner = block.inner(area);
    f.render_widget(block, area);
    if app.latest.is_none() {
        return;
    }
    let soonest = app
        .forecasts
        .named()
        .iter()
        .find_map(|p| p.eta_s.map(|e| (p, e)));
    // Presentation: the one number that matters, in big digits, when zoomed.
    if t.big_digits && app.zoom && inner.height >= 12 {
        let (text, slot) = match soonest {
            Some((p, eta)) => (
                format!(
                    "{} {}",
                    p.zone.split('-').next().unwrap_or(&p.zone),
                    human_duration(eta)
                ),
                if eta < ALERT_ETA_S {
                    Slot::Alert
                } else {
                    Slot::Warn
                },
            ),
            None => ("no throttle".to_string(), Slot::Ok),
        };
        let big = BigText::builder()
            .pixel_size(PixelSize::Quadrant)
            .style(t.fg(slot))
            .lines(vec![text.into()])
            .build();
        f.render_widget(big, Rect { height: 4, ..inner });
        inner.y += 5;
        inner.height -= 5;
    }
    // Every line is fitted to the pane: the full message when it fits, else
    // a shorter form that keeps the zone and its ETA or status, never a
    // word cut by the pane's edge.
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    if app.forecasts.named().is_empty() {
        lines.push(Line::from(Span::styled(
            fit(
                width,
                &[
                    "no zone with a throttle trip to predict (none found, or no data yet)".into(),
                    "no zone with a throttle trip to predict".into(),
                    "no throttle trip to predict".into(),
                ],
            ),
            t.fg(Slot::Dim),
        )));
    }
    for p in app.forecasts.named() {
        lines.push(zone_line(app, p, width));
    }
    if let Some(m) = app.forecasts.memory() {
        let alert = m.eta_s.is_some_and(|e| e < ALERT_ETA_S);
        lines.push(Line::from(vec![
            Span::styled("mem ", t.fg(Slot::MemUsed)),
            Span::styled(
                fit(width.saturating_sub(4), &memory_forms(m)),
                if alert {
                    t.fg(Slot::Alert).add_modifier(Modifier::BOLD)
                } else {
                    t.fg(Slot::Text)
                },
            ),
        ]));
    }
    for l in app.forecasts.predictors().leaks() {
        lines.push(leak_line(app, &l, width));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// One leak estimate: `node (4242) gpu: +36.0 MB/h [+30.1…+41.9]  LEAKING`,
/// shorter forms when narrow; the memory (`rss`, `gpu`) is always named.
fn leak_line(app: &App, l: &LeakEstimate, width: usize) -> Line<'static> {
    let t = app.theme();
    let flag = if l.flagged { "  LEAKING" } else { "" };
    let memory = l.memory.as_str();
    let forms = [
        format!(
            "{} ({}) {memory}: {:+.1} MB/h [{:+.1}…{:+.1}]{flag}",
            l.name,
            watched_key_words(l.pid),
            l.slope_mb_per_h,
            l.lo,
            l.hi
        ),
        format!(
            "{} ({}) {memory}: {:+.1} MB/h{flag}",
            l.name,
            watched_key_words(l.pid),
            l.slope_mb_per_h
        ),
        format!("{} {memory}: {:+.1} MB/h{flag}", l.name, l.slope_mb_per_h),
    ];
    Line::from(vec![
        Span::styled("leak ", t.fg(Slot::Rss)),
        Span::styled(
            fit(width.saturating_sub(5), &forms),
            if l.flagged {
                t.fg(Slot::Alert)
            } else {
                t.fg(Slot::Text)
            },
        ),
    ])
}

/// One zone's line: the message with the model and slope when they fit,
/// else the longest of [`zone_forms`] that does. The zone of the app's
/// [`crate::session::BothEtas`] (the first) says its ETA at this load and
/// under the plan's load ahead instead.
fn zone_line(app: &App, p: &ZonePrediction, width: usize) -> Line<'static> {
    if let Some(b) = app.forecasts.etas().filter(|b| b.zone == p.zone) {
        return both_line(app, b, width);
    }
    let t = app.theme();
    let (style, marker) = eta_style(app, p.status, p.eta_s);
    let room = width.saturating_sub(2);
    let tail = format!("  [{}, {:+.2} °C/min]", p.model.as_str(), p.slope_c_per_min);
    let mut spans = vec![Span::styled(marker, style)];
    if width_of(&p.message) + width_of(&tail) < room {
        spans.push(Span::styled(p.message.clone(), style));
        spans.push(Span::styled(tail, t.fg(Slot::Dim)));
    } else {
        spans.push(Span::styled(fit(room, &zone_forms(p)), style));
    }
    Line::from(spans)
}

/// A zone line's style and marker from its status and (soonest) ETA: alert
/// and bold when over or under [`ALERT_ETA_S`], a warning with an ETA.
fn eta_style(app: &App, status: Status, eta_s: Option<f64>) -> (Style, &'static str) {
    let (slot, bold) = match (status, eta_s) {
        (Status::AlreadyOver, _) => (Slot::Alert, true),
        (_, Some(e)) if e < ALERT_ETA_S => (Slot::Alert, true),
        (_, Some(_)) => (Slot::Warn, false),
        _ => (Slot::Text, false),
    };
    let mut style = app.theme().fg(slot);
    if bold {
        style = style.add_modifier(Modifier::BOLD);
    }
    (style, if eta_s.is_some() { "▲ " } else { "  " })
}

/// The zone's two ETAs (the load model at this load, and under the plan's
/// load ahead while a phase runs), styled by the sooner.
fn both_line(app: &App, b: &BothEtas, width: usize) -> Line<'static> {
    let t = app.theme();
    let a = &b.at_this_load;
    let soonest = [a.eta_s, b.planned.as_ref().and_then(|p| p.prediction.eta_s)]
        .into_iter()
        .flatten()
        .reduce(f64::min);
    let (style, marker) = eta_style(app, a.status, soonest);
    let room = width.saturating_sub(2);
    // Narrow panes: the load model's own shorter forms at this load.
    let mut forms = b.forms();
    forms.extend(zone_forms(a).into_iter().skip(1));
    let tail = format!("  [{}, {:+.2} °C/min]", a.model.as_str(), a.slope_c_per_min);
    let mut spans = vec![Span::styled(marker, style)];
    if width_of(&forms[0]) + width_of(&tail) < room {
        spans.push(Span::styled(forms[0].clone(), style));
        spans.push(Span::styled(tail, t.fg(Slot::Dim)));
    } else {
        spans.push(Span::styled(fit(room, &forms), style));
    }
    Line::from(spans)
}

/// A zone's line from longest to shortest: the predictor's own message, then
/// the zone with its ETA or status in fewer words; the zone name is cut
/// (with `…`) only in the last form.
fn zone_forms(p: &ZonePrediction) -> Vec<String> {
    let z = &p.zone;
    let (medium, short) = match p.status {
        Status::Ok => match p.eta_s {
            Some(eta) => (
                format!(
                    "{:.0} °C trip in {}",
                    p.trip_c,
                    human_eta(eta, p.lo_s, p.hi_s)
                ),
                format!("trip in {}", human_duration(eta)),
            ),
            None => ("no ETA".into(), "no ETA".into()),
        },
        Status::AlreadyOver => (
            format!("at {:.1} °C, over its {:.0} °C trip", p.temp_c, p.trip_c),
            "over its trip".into(),
        ),
        Status::TooFewSamples => ("too few samples yet".into(), "warming up".into()),
        Status::Flat => (
            format!("no throttle in sight ({:+.2} °C/min)", p.slope_c_per_min),
            "no throttle in sight".into(),
        ),
        Status::Falling => (
            format!("falling ({:+.2} °C/min)", p.slope_c_per_min),
            "falling".into(),
        ),
        Status::Noisy => ("trend within the noise".into(), "noisy".into()),
        Status::LevellingOff => match p.t_inf_c {
            Some(t) => (
                format!("levelling off at {t:.1} °C"),
                "levelling off".into(),
            ),
            None => ("levelling off".into(), "levelling off".into()),
        },
    };
    let mut forms = vec![
        p.message.clone(),
        format!("{z}: {medium}"),
        format!("{z}: {short}"),
    ];
    // Last resort: the zone's name cut, so its status still shows.
    let name: String = z.chars().take(10).collect();
    if name.chars().count() < z.chars().count() {
        forms.push(format!("{name}…: {short}"));
    }
    forms
}

/// The memory line from longest to shortest.
fn memory_forms(m: &MemoryPrediction) -> Vec<String> {
    let medium = match m.status {
        MemoryStatus::Ok => match m.eta_s {
            Some(eta) => format!("floor in {}", human_eta(eta, m.lo_s, m.hi_s)),
            None => "no ETA".into(),
        },
        MemoryStatus::BelowFloor => format!("{:.0} MB, at or below the floor", m.available_mb),
        MemoryStatus::TooFewSamples => "too few samples yet".into(),
        MemoryStatus::Steady => format!("steady at {:.0} MB available", m.available_mb),
        MemoryStatus::Recovering => "available memory rising".into(),
        MemoryStatus::Noisy => "trend within the noise".into(),
    };
    let short = match (m.status, m.eta_s) {
        (MemoryStatus::Ok, Some(eta)) => format!("floor in {}", human_duration(eta)),
        (MemoryStatus::BelowFloor, _) => "below the floor".into(),
        _ => medium.clone(),
    };
    vec![m.message.clone(), medium, short]
}
