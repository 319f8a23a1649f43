//! Thermal pane: one line per online zone over the window, the passive trip as
//! a dotted line when it is in view, zone list with temperatures; offline zones
//! greyed with their reason; throttle state and reasons.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{pane_block, unavailable, window_label};
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
    let list_w = (inner.width * 2 / 5).clamp(24, 50).min(inner.width / 2);
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
    let mut lines: Vec<Line> = Vec::new();
    if snap.throttle.throttled {
        lines.push(Line::from(Span::styled(
            "THROTTLED",
            t.fg(Slot::Alert).add_modifier(Modifier::BOLD),
        )));
        for r in &snap.throttle.reasons {
            lines.push(Line::from(Span::styled(format!(" {r}"), t.fg(Slot::Alert))));
        }
    } else {
        lines.push(Line::from(Span::styled("not throttled", t.fg(Slot::Ok))));
    }
    let name_w = (list_area.width as usize).saturating_sub(9).max(4);
    for (i, z) in &online {
        let temp = z.temp_c.unwrap_or(f64::NAN);
        let near = z.throttle_trip_c().is_some_and(|tr| tr - temp <= 5.0);
        let style = if near {
            t.fg(Slot::Alert)
        } else {
            t.fg(Slot::Text)
        };
        lines.push(Line::from(vec![
            Span::styled("■ ", Style::default().fg(t.zone(*i))),
            Span::styled(format!("{:<name_w$.name_w$}", z.name), style),
            Span::styled(format!("{temp:>5.1}°"), style),
        ]));
    }
    for z in snap.thermal.iter().filter(|z| !z.online) {
        lines.push(Line::from(Span::styled(
            format!(
                "  {} offline: {}",
                z.name,
                z.offline_reason.as_deref().unwrap_or("?")
            ),
            t.fg(Slot::Dim),
        )));
    }
    f.render_widget(Paragraph::new(lines), list_area);
}
