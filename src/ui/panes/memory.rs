//! Memory pane: used, available, swap and each watched process's RSS (a
//! cgroup's memory) over the window, with the guard's memory floor as a line;
//! the legend gives each watched entry's CPU % too, and its GPU memory where
//! the platform gives it.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{fit_groups, num, pane_block, unavailable};
use crate::snapshot::{mb_words, watched_key_words, Snapshot, WatchedProcess};
use crate::ui::app::{App, Pane};
use crate::ui::theme::{Slot, Theme};

/// The guard's default floor: 15 % of total memory stays available.
pub const FLOOR_FRACTION: f64 = 0.15;

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let t = app.theme();
    let block = pane_block(app, Pane::Memory, None);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(snap) = &app.latest else { return };
    let Some(total) = snap.memory.total_mb else {
        f.render_widget(Paragraph::new(unavailable(app, "no /proc/meminfo")), inner);
        return;
    };
    // The used/available and swap/floor lines before the chart's third row:
    // on a short pane (80×24) the chart kept three rows and left one line of
    // figures. Watched processes' lines come after the chart's second row.
    let want = 2 + snap.watched.len().min(3) as u16;
    let legend_h = want
        .min(inner.height.saturating_sub(2))
        .max(2.min(inner.height));
    let [chart_area, legend] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(legend_h)]).areas(inner);
    let now = app.view_now();
    let from = now - app.window_s();
    let px = chart_area.width as usize * 2;
    let mut bufs: Vec<(Vec<(f64, f64)>, ratatui::style::Color)> = Vec::new();
    for (series, slot) in [
        (&app.store.mem_used, Slot::MemUsed),
        (&app.store.mem_available, Slot::MemAvailable),
        (&app.store.swap_used, Slot::Swap),
    ] {
        let mut b = Vec::new();
        series.window_decimated(from, now, px, &mut b);
        bufs.push((b, t.color(slot)));
    }
    for (pid, series) in &app.store.rss {
        if snap.watched.iter().any(|w| w.pid == *pid) {
            let mut b = Vec::new();
            series.window_decimated(from, now, px, &mut b);
            bufs.push((b, t.color(Slot::Rss)));
        }
    }
    let floor = total * FLOOR_FRACTION;
    let floor_line: Vec<(f64, f64)> = (0..=40)
        .map(|i| (from + (now - from) * f64::from(i) / 40.0, floor))
        .collect();
    let mut traces: Vec<super::Trace> = bufs
        .iter()
        .map(|(b, c)| super::Trace {
            points: b,
            color: *c,
            dotted: false,
        })
        .collect();
    traces.push(super::Trace {
        points: &floor_line,
        color: t.color(Slot::FloorLine),
        dotted: true,
    });
    let top = total.max(1.0);
    super::line_chart(
        f,
        chart_area,
        &traces,
        [from, now],
        [0.0, top],
        ["0".to_string(), format!("{:.0}G", top / 1024.0)],
        [String::new(), String::new()],
        app.dot_marker,
        t.fg(Slot::Axis),
    );

    f.render_widget(
        Paragraph::new(legend_lines(snap, t, floor, legend.width)),
        legend,
    );
}

/// The legend under the chart: used and available, swap, floor and nvmap,
/// then each watched process, each line in `width` cells.
fn legend_lines(snap: &Snapshot, t: &Theme, floor: f64, width: u16) -> Vec<Line<'static>> {
    let m = &snap.memory;
    let width = usize::from(width);
    let mut lines = vec![
        fit_groups(
            width,
            vec![
                vec![
                    Span::styled("used ", t.fg(Slot::MemUsed)),
                    Span::raw(num(m.used_mb, 0, " MB")),
                ],
                vec![
                    Span::styled("  avail ", t.fg(Slot::MemAvailable)),
                    Span::raw(num(m.available_mb, 0, " MB")),
                ],
            ],
        ),
        fit_groups(
            width,
            vec![
                vec![
                    Span::styled("swap ", t.fg(Slot::Swap)),
                    Span::raw(format!(
                        "{}/{} MB",
                        num(m.swap_used_mb, 0, ""),
                        num(m.swap_total_mb, 0, "")
                    )),
                ],
                vec![
                    Span::styled("  floor ", t.fg(Slot::FloorLine)),
                    Span::raw(format!("{floor:.0} MB")),
                ],
                m.nvmap_mb
                    .map(|n| vec![Span::raw(format!("  nvmap {n:.0} MB"))])
                    .unwrap_or_default(),
            ],
        ),
    ];
    lines.extend(
        snap.watched
            .iter()
            .take(3)
            .map(|w| watched_line(w, t, width)),
    );
    lines
}

/// `rss node (4242) 51.2 MB  cpu 37 %  gpu 1.2 GB`; a cgroup's memory is
/// `mem`; `gpu` only when known; `exited` after the RSS; in `width` cells,
/// the figures that fit.
fn watched_line(w: &WatchedProcess, t: &Theme, width: usize) -> Line<'static> {
    let mut groups = vec![
        vec![
            Span::styled(
                if w.cgroup.is_some() { "mem " } else { "rss " },
                t.fg(Slot::Rss),
            ),
            Span::raw(format!(
                "{} ({}) {}",
                w.name,
                watched_key_words(w.pid),
                num(w.rss_mb, 1, " MB")
            )),
        ],
        // Before the figures, so a narrow pane keeps it.
        if w.alive {
            Vec::new()
        } else {
            vec![Span::styled(" exited", t.fg(Slot::Dim))]
        },
        vec![
            Span::styled("  cpu ", t.fg(Slot::Dim)),
            Span::raw(num(w.cpu_pct, 0, " %")),
        ],
    ];
    if let Some(g) = w.gpu_mem_mb {
        groups.push(vec![
            Span::styled("  gpu ", t.fg(Slot::Dim)),
            Span::raw(mb_words(g)),
        ]);
    }
    fit_groups(width, groups)
}
