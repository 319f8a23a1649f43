//! Overlays: the splash before the first sample, the help built from the live
//! key bindings, and the footer hint line.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::cut_at_word;
use crate::ui::app::App;
use crate::ui::keys::Action;
use crate::ui::theme::Slot;

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [c] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    c
}

pub fn splash(f: &mut Frame, area: Rect, app: &App) {
    let t = app.theme();
    f.render_widget(Block::default().style(t.base()), area);
    let lines = vec![
        Line::from(Span::styled(
            "jetstress",
            t.fg(Slot::Accent).add_modifier(Modifier::BOLD),
        )),
        Line::from(Span::styled("reading the board…", t.fg(Slot::Dim))),
    ];
    f.render_widget(Paragraph::new(lines).centered(), centered(area, 30, 2));
}

pub fn help(f: &mut Frame, area: Rect, app: &App) {
    let t = app.theme();
    let rows = app.keys.help_rows();
    let key_w = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(4);
    let desc_w = rows
        .iter()
        .map(|(_, a)| a.description().chars().count())
        .max()
        .unwrap_or(10);
    // Two columns when one would not fit the height (80×24).
    let cols = if rows.len() as u16 + 2 > area.height {
        2
    } else {
        1
    };
    let per_col = rows.len().div_ceil(cols);
    // Each column as wide as its longest line, or its share of the screen,
    // descriptions shortened at a word with `…` to fit: every key stays on
    // the screen (at 80×24 the second column fell off its right edge).
    let share = (usize::from(area.width.saturating_sub(2)) / cols).max(key_w + 4);
    let col_w = (key_w + 3 + desc_w + 1).min(share);
    let desc_room = col_w - (key_w + 3) - 1;
    let line = |(k, a): &(String, Action)| {
        Line::from(vec![
            Span::styled(
                format!(" {k:>key_w$}  "),
                t.fg(Slot::Accent).add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                format!("{:<desc_room$}", cut_at_word(a.description(), desc_room)),
                t.fg(Slot::Text),
            ),
        ])
    };
    let col_w = col_w as u16;
    let r = centered(area, col_w * cols as u16 + 2, per_col as u16 + 2);
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(t.fg(Slot::BorderFocus))
        .title(Span::styled(
            " keys ",
            t.fg(Slot::Title).add_modifier(Modifier::BOLD),
        ))
        .style(t.base());
    let inner = block.inner(r);
    f.render_widget(block, r);
    for (c, chunk) in rows.chunks(per_col).enumerate() {
        let x = inner.x + c as u16 * col_w;
        if x >= inner.right() {
            break;
        }
        let w = col_w.min(inner.right() - x);
        let lines: Vec<Line> = chunk.iter().map(line).collect();
        f.render_widget(
            Paragraph::new(lines),
            Rect {
                x,
                width: w,
                ..inner
            },
        );
    }
}

pub fn footer(f: &mut Frame, area: Rect, app: &App) {
    let t = app.theme();
    let k = |a: Action| app.keys.keys_for(a).first().cloned().unwrap_or_default();
    // A replay's keys instead of the load keys, which do nothing there.
    let middle: &[(Action, &str)] = if app.replay.is_some() {
        &[
            (Action::ReplayPause, "pause"),
            (Action::SeekBack, "back"),
            (Action::SeekForward, "forward"),
            (Action::Slower, "slower"),
            (Action::Faster, "faster"),
        ]
    } else {
        &[
            (Action::Spike, "spike"),
            (Action::Stress, "stress"),
            (Action::Soak, "soak"),
            (Action::Users, "users"),
            (Action::StopAll, "stop"),
        ]
    };
    let items = [(Action::Help, "help")]
        .iter()
        .chain(middle)
        .chain(&[
            (Action::Zoom, "zoom"),
            (Action::NextTheme, "theme"),
            (Action::Quit, "quit"),
        ])
        .map(|(a, what)| (k(*a), *what));
    let mut spans = Vec::new();
    for (key, what) in items {
        spans.push(Span::styled(
            format!(" {key}"),
            t.fg(Slot::Accent).add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled(format!(" {what} "), t.fg(Slot::Dim)));
    }
    // The theme's name only where it fits whole (at 80 columns it read "th").
    let theme = Span::styled(format!(" theme: {}", t.name), t.fg(Slot::Dim));
    let used: usize = spans.iter().map(Span::width).sum();
    if used + theme.width() <= usize::from(area.width) {
        spans.push(theme);
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.base()), area);
}
