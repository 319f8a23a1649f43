//! Predictions pane: time until each zone's throttle trip with its range and
//! model, time until the memory floor, leak rate of watched processes; an alert
//! style when an ETA drops under 5 minutes.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use tui_big_text::{BigText, PixelSize};

use super::pane_block;
use crate::predict::thermal::Status;
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
        .zone_predictions
        .iter()
        .find_map(|p| p.eta_s.map(|e| (p, e)));
    // Presentation: the one number that matters, in big digits, when zoomed.
    if t.big_digits && app.zoom && inner.height >= 12 {
        let (text, slot) = match soonest {
            Some((p, eta)) => (
                format!(
                    "{} {}",
                    p.zone.split('-').next().unwrap_or(&p.zone),
                    crate::predict::human_duration(eta)
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
    let mut lines: Vec<Line> = Vec::new();
    if app.zone_predictions.is_empty() {
        lines.push(Line::from(Span::styled(
            "no zone with a throttle trip to predict (none found, or no data yet)",
            t.fg(Slot::Dim),
        )));
    }
    for p in &app.zone_predictions {
        let (slot, bold) = match (p.status, p.eta_s) {
            (Status::AlreadyOver, _) => (Slot::Alert, true),
            (_, Some(e)) if e < ALERT_ETA_S => (Slot::Alert, true),
            (_, Some(_)) => (Slot::Warn, false),
            _ => (Slot::Text, false),
        };
        let mut style = t.fg(slot);
        if bold {
            style = style.add_modifier(Modifier::BOLD);
        }
        let model = p.model.as_str();
        lines.push(Line::from(vec![
            Span::styled(if p.eta_s.is_some() { "▲ " } else { "  " }, style),
            Span::styled(p.message.clone(), style),
            Span::styled(
                format!("  [{model}, {:+.2} °C/min]", p.slope_c_per_min),
                t.fg(Slot::Dim),
            ),
        ]));
    }
    if let Some(m) = &app.memory_prediction {
        let alert = m.eta_s.is_some_and(|e| e < ALERT_ETA_S);
        lines.push(Line::from(vec![
            Span::styled("mem ", t.fg(Slot::MemUsed)),
            Span::styled(
                m.message.clone(),
                if alert {
                    t.fg(Slot::Alert).add_modifier(Modifier::BOLD)
                } else {
                    t.fg(Slot::Text)
                },
            ),
        ]));
    }
    for l in app.predictors.leaks() {
        lines.push(Line::from(vec![
            Span::styled("leak ", t.fg(Slot::Rss)),
            Span::styled(
                format!(
                    "{} ({}): {:+.1} MB/h [{:+.1}…{:+.1}]{}",
                    l.name,
                    l.pid,
                    l.slope_mb_per_h,
                    l.lo,
                    l.hi,
                    if l.flagged { "  LEAKING" } else { "" }
                ),
                if l.flagged {
                    t.fg(Slot::Alert)
                } else {
                    t.fg(Slot::Text)
                },
            ),
        ]));
    }
    f.render_widget(Paragraph::new(lines), inner);
}
