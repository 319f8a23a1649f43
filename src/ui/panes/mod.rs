//! One file per pane. Each pane draws from [`App`] into a `Rect`; none of them
//! reads a probe or talks to the engine. Shared helpers live here.

pub mod events;
pub mod header;
pub mod load;
pub mod memory;
pub mod overlay;
pub mod predictions;
pub mod system;
pub mod thermal;

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use crate::ui::app::{App, Pane};
use crate::ui::theme::Slot;

/// The bordered block of a pane, highlighted when focused.
pub fn pane_block<'a>(app: &App, pane: Pane, extra: Option<Line<'a>>) -> Block<'a> {
    let t = app.theme();
    let focused = app.focus == pane;
    let border = if focused {
        t.fg(Slot::BorderFocus)
    } else {
        t.fg(Slot::Border)
    };
    let mut title = vec![Span::styled(
        format!(" {} ", pane.title()),
        t.fg(Slot::Title).add_modifier(Modifier::BOLD),
    )];
    if let Some(extra) = extra {
        title.extend(extra.spans);
        title.push(Span::raw(" "));
    }
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(border)
        .title(Line::from(title))
        .style(t.base())
}

/// "unavailable: reason" inside a pane, never an empty box.
pub fn unavailable(app: &App, reason: &str) -> Line<'static> {
    Line::from(vec![
        Span::styled("unavailable: ", app.theme().fg(Slot::Dim)),
        Span::styled(reason.to_string(), app.theme().fg(Slot::Text)),
    ])
}

/// Format an optional number with a unit, `—` when unknown.
pub fn num(v: Option<f64>, digits: usize, unit: &str) -> String {
    match v {
        Some(x) => format!("{x:.digits$}{unit}"),
        None => "—".to_string(),
    }
}

/// `5m`, `90s`, `1h`: chart window labels.
pub fn window_label(s: f64) -> String {
    if s >= 3600.0 && s % 3600.0 == 0.0 {
        format!("{}h", s as u64 / 3600)
    } else if s >= 60.0 && s % 60.0 == 0.0 {
        format!("{}m", s as u64 / 60)
    } else {
        format!("{}s", s as u64)
    }
}

/// Shrink a rect by one cell on each side (inside a border).
pub fn inner(r: Rect) -> Rect {
    Rect {
        x: r.x + 1,
        y: r.y + 1,
        width: r.width.saturating_sub(2),
        height: r.height.saturating_sub(2),
    }
}
