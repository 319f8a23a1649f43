//! Event log pane: phase start/stop, throttle start/end, guard actions, server
//! restarts, probe failures — newest last, with local wall-clock times; a
//! line wider than the pane is shortened at a word with `…`.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{cut_at_word, pane_block};
use crate::ui::app::{App, Level, Pane};
use crate::ui::theme::Slot;

/// `HH:MM:SS` (UTC) of a Unix time in ms.
pub fn clock(time_unix_ms: u64) -> String {
    let s = time_unix_ms / 1000;
    format!("{:02}:{:02}:{:02}", (s / 3600) % 24, (s / 60) % 60, s % 60)
}

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let t = app.theme();
    let block = pane_block(app, Pane::Events, None);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let rows = inner.height as usize;
    let width = usize::from(inner.width);
    let lines: Vec<Line> = if app.events.is_empty() {
        vec![Line::from(Span::styled("no events yet", t.fg(Slot::Dim)))]
    } else {
        app.events
            .iter()
            .skip(app.events.len().saturating_sub(rows))
            .map(|e| {
                let slot = match e.level {
                    Level::Info => Slot::Text,
                    Level::Warn => Slot::Warn,
                    Level::Alert => Slot::Alert,
                };
                // A line longer than the pane ends in `…` at a word (the
                // zoomed pane, or the recording, has it whole).
                let text = cut_at_word(&e.text, width.saturating_sub(10));
                Line::from(vec![
                    Span::styled(format!("{} ", clock(e.time_unix_ms)), t.fg(Slot::Dim)),
                    Span::styled(text, t.fg(slot)),
                ])
            })
            .collect()
    };
    f.render_widget(Paragraph::new(lines), inner);
}
