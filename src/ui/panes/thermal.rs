//! Thermal pane: one line per online zone over the window, the passive trip as
//! a dotted line when it is in view, zone list with temperatures; offline zones
//! greyed with their reason; throttle state and reasons.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{cut_at_word, pane_block, unavailable, window_label, wrap_words};
use crate::ui::app::{App, Pane};
use crate::ui::theme::Slot;

#[expect(
    clippy::too_many_lines,
    reason = "chart, trip line and zone list of one pane"
)]
pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let t = app.theme();
    let window = app.window_s();
    let title = Line::from(Span::styled(
        format!("· {} ", window_label(window)),
        t.fg(Slot::Dim),
    ));
    let block = pane_block(app, Pane::Thermal, Some(title));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(snap) = &app.latest else { return };
    if snap.thermal.is_empty() {
        f.render_widget(
            Paragraph::new(unavailable(app, "no thermal zones on this machine")),
            inner,
        );
        return;
    }
    // The legend takes a quarter of the pane (at least 24 columns, never
    // more than half); longer names and reasons are cut with `…`.
    let list_w = legend_width(inner.width);
    let [chart_area, list_area] =
        Layout::horizontal([Constraint::Min(10), Constraint::Length(list_w)]).areas(inner);
    let now = app.view_now();
    let from = now - window;
    // Braille has two dots per cell across: more points than that are not visible.
    let px = chart_area.width as usize * 2;

    let online: Vec<(usize, &crate::snapshot::ThermalZone)> = snap
        .thermal
        .iter()
        .filter(|z| z.online)
        .enumerate()
        .collect();
    let mut buffers: Vec<Vec<(f64, f64)>> = Vec::with_capacity(online.len() + 1);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (_, z) in &online {
        let mut buf = Vec::new();
        if let Some(series) = app.store.zones.get(&z.id) {
            series.window_decimated(from, now, px, &mut buf);
            if let Some((a, b)) = series.range(from, now) {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
        buffers.push(buf);
    }
    if lo.is_finite() {
        // Show the nearest passive trip when it is within 15 °C of the data.
        let trip = online
            .iter()
            .filter_map(|(_, z)| z.throttle_trip_c())
            .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.min(b))));
        let trip_in_view = trip.filter(|tr| tr - hi <= 15.0);
        if let Some(tr) = trip_in_view {
            hi = hi.max(tr + 1.0);
            let step = (window / 60.0).max(1.0);
            let mut x = from;
            let mut dots = Vec::new();
            while x <= now {
                dots.push((x, tr));
                x += step * 2.0;
            }
            buffers.push(dots);
        }
        let lo_y = (lo - 2.0).floor();
        let hi_y = (hi + 2.0).ceil();
        let mut traces: Vec<super::Trace> = online
            .iter()
            .zip(&buffers)
            .map(|((i, _), buf)| super::Trace {
                points: buf,
                color: t.zone(*i),
                dotted: false,
            })
            .collect();
        if trip_in_view.is_some() {
            traces.push(super::Trace {
                points: buffers.last().map_or(&[], Vec::as_slice),
                color: t.color(Slot::TripLine),
                dotted: true,
            });
        }
        super::line_chart(
            f,
            chart_area,
            &traces,
            [from, now],
            [lo_y, hi_y],
            [format!("{lo_y:.0}°"), format!("{hi_y:.0}°")],
            [format!("-{}", window_label(window)), "now".to_string()],
            app.dot_marker,
            t.fg(Slot::Axis),
        );
    } else {
        f.render_widget(
            Paragraph::new(Line::from("waiting for samples…")),
            chart_area,
        );
    }

    // Zone list: online in palette colour, offline greyed with the reason.
    // Throttle reasons and offline entries are one line each, cut with `…`;
    // while rows are left they are wrapped instead (reasons first).
    let lw = list_area.width as usize;
    let mut head: Vec<Line> = Vec::new();
    let mut notes: Vec<(Vec<String>, String, Style)> = Vec::new();
    if snap.throttle.throttled {
        head.push(Line::from(Span::styled(
            "THROTTLED",
            t.fg(Slot::Alert).add_modifier(Modifier::BOLD),
        )));
        for r in &snap.throttle.reasons {
            let text = format!(" {r}");
            notes.push((wrap_words(&text, lw, 2), text, t.fg(Slot::Alert)));
        }
    } else {
        head.push(Line::from(Span::styled("not throttled", t.fg(Slot::Ok))));
    }
    let reasons = notes.len();
    // "■ " + name + " 45.6°"
    let name_w = lw.saturating_sub(9).max(4);
    let zones: Vec<Line> = online
        .iter()
        .map(|(i, z)| {
            let temp = z.temp_c.unwrap_or(f64::NAN);
            let near = z.throttle_trip_c().is_some_and(|tr| tr - temp <= 5.0);
            let style = if near {
                t.fg(Slot::Alert)
            } else {
                t.fg(Slot::Text)
            };
            Line::from(vec![
                Span::styled("■ ", Style::default().fg(t.zone(*i))),
                Span::styled(format!("{:<name_w$}", cut_name(&z.name, name_w)), style),
                Span::styled(format!("{temp:>6.1}°"), style),
            ])
        })
        .collect();
    for z in snap.thermal.iter().filter(|z| !z.online) {
        let text = format!(
            "  {} offline: {}",
            z.name,
            z.offline_reason.as_deref().unwrap_or("?")
        );
        notes.push((wrap_words(&text, lw, 4), text, t.fg(Slot::Dim)));
    }
    let mut spare =
        (list_area.height as usize).saturating_sub(head.len() + zones.len() + notes.len());
    let shown: Vec<Vec<String>> = notes
        .iter()
        .map(|(wrapped, text, _)| {
            let extra = wrapped.len().saturating_sub(1);
            if extra <= spare {
                spare -= extra;
                wrapped.clone()
            } else {
                vec![cut_at_word(text, lw)]
            }
        })
        .collect();
    let note_lines = |range: std::ops::Range<usize>| -> Vec<Line> {
        range
            .flat_map(|i| {
                let style = notes[i].2;
                shown[i]
                    .iter()
                    .map(move |l| Line::from(Span::styled(l.clone(), style)))
            })
            .collect()
    };
    let mut lines = head;
    lines.extend(note_lines(0..reasons));
    lines.extend(zones);
    lines.extend(note_lines(reasons..notes.len()));
    f.render_widget(Paragraph::new(lines), list_area);
}

/// Columns of the zone legend in a thermal pane `inner` columns wide.
pub fn legend_width(inner: u16) -> u16 {
    (inner / 4).max(24).min(inner / 2)
}

/// A zone name in at most `w` cells: whole, or cut with `…`.
fn cut_name(name: &str, w: usize) -> String {
    if name.chars().count() <= w {
        return name.to_string();
    }
    let kept: String = name.chars().take(w.saturating_sub(1)).collect();
    format!("{kept}…")
}
