//! One file per pane. Each pane draws from [`App`] into a `Rect`; none of them
//! reads a probe or talks to the engine. Shared helpers live here.

pub(crate) mod campaign;
pub(crate) mod events;
pub(crate) mod header;
pub(crate) mod load;
pub(crate) mod memory;
pub(crate) mod overlay;
pub(crate) mod predictions;
pub(crate) mod system;
pub(crate) mod thermal;

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

/// Display width of `s` in terminal cells.
pub fn width_of(s: &str) -> usize {
    Span::raw(s).width()
}

/// The first of `candidates` (longest, most complete first) that fits in
/// `width` cells with a cell to spare, so no line is cut by the pane's edge;
/// when none does, the last one cut at a word boundary with `…`.
pub fn fit(width: usize, candidates: &[String]) -> String {
    if let Some(c) = candidates.iter().find(|c| width_of(c) < width) {
        return c.clone();
    }
    let last = candidates.last().map_or("", String::as_str);
    cut_at_word(last, width.saturating_sub(1))
}

/// A line of `groups` (each a few spans that belong together: a label and
/// its figure) in `width` cells with a cell to spare: the first group always
/// (cut at the edge if it must be), each later one where it fits whole, so
/// a narrow pane drops a figure instead of cutting it in two.
pub fn fit_groups(width: usize, groups: Vec<Vec<Span<'static>>>) -> Line<'static> {
    let mut spans = Vec::new();
    let mut used = 0;
    for (i, g) in groups.into_iter().enumerate() {
        let w: usize = g.iter().map(Span::width).sum();
        if i == 0 || used + w < width {
            used += w;
            spans.extend(g);
        }
    }
    Line::from(spans)
}

/// `s` cut to at most `max` cells at a word boundary, `…` appended (a single
/// word longer than `max` is cut inside, still with `…`).
pub fn cut_at_word(s: &str, max: usize) -> String {
    if width_of(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let room = max - 1;
    let mut out = String::new();
    let mut last_space = None;
    for c in s.chars() {
        let mut next = out.clone();
        next.push(c);
        if width_of(&next) > room {
            break;
        }
        if c == ' ' {
            last_space = Some(out.len());
        }
        out = next;
    }
    if let Some(i) = last_space.filter(|i| *i > 0) {
        out.truncate(i);
    }
    let out = out.trim_end_matches([' ', ',', ':', ';', '(', '[']);
    format!("{out}…")
}

/// `s` wrapped at spaces into lines of at most `width` cells, lines after the
/// first indented by `indent` spaces; a word wider than a line is cut with `…`.
pub fn wrap_words(s: &str, width: usize, indent: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = s[..s.len() - s.trim_start().len()].to_string();
    let mut empty = true;
    for word in s.split_whitespace() {
        if !empty && width_of(&cur) + 1 + width_of(word) > width {
            out.push(std::mem::take(&mut cur));
            cur = " ".repeat(indent);
            empty = true;
        }
        if !empty {
            cur.push(' ');
        }
        let room = width.saturating_sub(width_of(&cur));
        if width_of(word) > room {
            cur.push_str(&cut_at_word(word, room));
        } else {
            cur.push_str(word);
        }
        empty = false;
    }
    if !empty {
        out.push(cur);
    }
    out
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

/// One line of a [`line_chart`]: points in time order and their colour.
pub struct Trace<'a> {
    pub points: &'a [(f64, f64)],
    pub color: ratatui::style::Color,
    /// Draw as separate dots (a reference line) instead of a joined line.
    pub dotted: bool,
}

/// A time chart drawn on ONE canvas layer (ratatui's `Chart` gives every
/// dataset its own layer, and merging layers is most of a frame's cost), with
/// the y labels in a left gutter and the x labels on the bottom row.
#[allow(clippy::too_many_arguments)]
pub fn line_chart(
    f: &mut ratatui::Frame,
    area: Rect,
    traces: &[Trace],
    x: [f64; 2],
    y: [f64; 2],
    y_labels: [String; 2],
    x_labels: [String; 2],
    dots: bool,
    axis: ratatui::style::Style,
) {
    use ratatui::symbols::Marker;
    use ratatui::widgets::canvas::{Canvas, Line as CLine, Points};
    use ratatui::widgets::Paragraph;

    if area.width < 6 || area.height < 3 {
        return;
    }
    let gutter = y_labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0) as u16
        + 1;
    let plot = Rect {
        x: area.x + gutter,
        y: area.y,
        width: area.width - gutter,
        height: area.height - 1,
    };
    f.render_widget(
        Paragraph::new(y_labels[1].clone()).style(axis),
        Rect {
            x: area.x,
            y: area.y,
            width: gutter,
            height: 1,
        },
    );
    f.render_widget(
        Paragraph::new(y_labels[0].clone()).style(axis),
        Rect {
            x: area.x,
            y: plot.bottom().saturating_sub(1),
            width: gutter,
            height: 1,
        },
    );
    let bottom = Rect {
        x: plot.x,
        y: plot.bottom(),
        width: plot.width,
        height: 1,
    };
    f.render_widget(Paragraph::new(x_labels[0].clone()).style(axis), bottom);
    f.render_widget(
        Paragraph::new(x_labels[1].clone())
            .style(axis)
            .right_aligned(),
        bottom,
    );
    let canvas = Canvas::default()
        .marker(if dots { Marker::Dot } else { Marker::Braille })
        .x_bounds(x)
        .y_bounds(y)
        .paint(|ctx| {
            for t in traces {
                if t.dotted || t.points.len() == 1 {
                    ctx.draw(&Points {
                        coords: t.points,
                        color: t.color,
                    });
                    continue;
                }
                for w in t.points.windows(2) {
                    ctx.draw(&CLine {
                        x1: w[0].0,
                        y1: w[0].1,
                        x2: w[1].0,
                        y2: w[1].1,
                        color: t.color,
                    });
                }
            }
        });
    f.render_widget(canvas, plot);
}
