//! The campaign bar: one line under the header while a campaign drives the
//! dashboard — step k of N with a gauge of the step's time, the campaign's
//! time left, the next step; its verdict once it ended.

use std::time::Instant;

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::widgets::{Gauge, Paragraph};
use ratatui::Frame;

use crate::ui::app::App;
use crate::ui::theme::Slot;

/// Columns given to the step's gauge.
const GAUGE: u16 = 12;

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let Some(c) = &app.campaign else { return };
    let t = app.theme();
    let now = Instant::now();
    let text = format!(" {}", c.line(now));
    if area.width <= GAUGE + 20 {
        f.render_widget(Paragraph::new(text).style(t.fg(Slot::Text)), area);
        return;
    }
    let gauge = Rect {
        width: GAUGE,
        ..area
    };
    let rest = Rect {
        x: area.x + GAUGE,
        width: area.width - GAUGE,
        ..area
    };
    f.render_widget(
        Gauge::default()
            .gauge_style(t.fg(Slot::Accent))
            .ratio(c.done(now).clamp(0.0, 1.0))
            .label(format!("{}/{}", c.step, c.steps)),
        gauge,
    );
    let style = if c.finished.is_some() {
        t.fg(Slot::Text).add_modifier(Modifier::BOLD)
    } else {
        t.fg(Slot::Text)
    };
    f.render_widget(Paragraph::new(text).style(style), rest);
}
