//! CPU / GPU / power / fan pane: per-core utilisation bars with frequency and a
//! cap marker, GPU load and frequency, rails in W with the total, fan PWM/RPM.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{fit, num, pane_block};
use crate::snapshot::CpuCore;
use crate::ui::app::{App, Pane};
use crate::ui::theme::Slot;

/// A bar of `width` cells for `pct` (eighth-block resolution).
pub fn bar(pct: f64, width: usize) -> String {
    const PARTS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];
    let cells = (pct.clamp(0.0, 100.0) / 100.0) * width as f64;
    let full = cells.floor() as usize;
    let mut s: String = "█".repeat(full.min(width));
    if full < width {
        let frac = ((cells - full as f64) * 8.0).floor() as usize;
        s.push(if frac == 0 { ' ' } else { PARTS[frac - 1] });
        s.push_str(&" ".repeat(width - full - 1));
    }
    s
}

fn core_cell<'a>(app: &App, c: &CpuCore, bar_w: usize) -> Vec<Span<'a>> {
    let t = app.theme();
    if !c.online {
        return vec![Span::styled(
            format!("{:>2} {:<w$} off", c.id, "", w = bar_w),
            t.fg(Slot::Dim),
        )];
    }
    let capped = matches!((c.cap_mhz, c.max_freq_mhz), (Some(cap), Some(max)) if cap + 0.5 < max);
    let util = c.util_pct.unwrap_or(0.0);
    let freq = c
        .freq_mhz
        .map_or_else(|| "   —".into(), |f| format!("{f:>4.0}"));
    vec![
        Span::styled(format!("{:>2}", c.id), t.fg(Slot::Dim)),
        Span::styled(
            format!("▕{}▏", bar(util, bar_w)),
            t.fg(if capped { Slot::BarCapped } else { Slot::Bar }),
        ),
        Span::styled(
            freq,
            if capped {
                t.fg(Slot::BarCapped).add_modifier(Modifier::BOLD)
            } else {
                t.fg(Slot::Text)
            },
        ),
        Span::styled(if capped { "▼" } else { " " }, t.fg(Slot::BarCapped)),
    ]
}

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let t = app.theme();
    let block = pane_block(app, Pane::System, None);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(snap) = &app.latest else { return };
    let mut lines: Vec<Line> = Vec::new();
    lines.push(Line::from(vec![
        Span::styled("CPU ", t.fg(Slot::Title).add_modifier(Modifier::BOLD)),
        Span::raw(num(snap.cpu.util_pct, 1, " %")),
        Span::styled(
            format!(
                "  {}/{} online  ▼ = capped",
                snap.cpu.cores.iter().filter(|c| c.online).count(),
                snap.cpu.cores.len()
            ),
            t.fg(Slot::Dim),
        ),
    ]));
    if snap.cpu.cores.is_empty() {
        lines.push(Line::from(Span::styled(
            "  per-core data unavailable in this source",
            t.fg(Slot::Dim),
        )));
    }
    // Cores in columns: each cell is id + bar + MHz + marker.
    let bar_w = 6usize;
    let cell_w = 2 + bar_w + 2 + 4 + 1 + 1;
    let cols = (inner.width as usize / cell_w).max(1);
    for chunk in snap.cpu.cores.chunks(cols) {
        let mut spans = Vec::new();
        for c in chunk {
            spans.extend(core_cell(app, c, bar_w));
            spans.push(Span::raw(" "));
        }
        lines.push(Line::from(spans));
    }
    if snap.gpus.is_empty() {
        lines.push(no_gpu(app, inner.width));
    }
    for g in &snap.gpus {
        let capped =
            matches!((g.max_freq_mhz, g.hw_max_freq_mhz), (Some(c), Some(m)) if c + 0.5 < m);
        lines.push(Line::from(vec![
            Span::styled("GPU ", t.fg(Slot::Title).add_modifier(Modifier::BOLD)),
            Span::styled(
                format!("▕{}▏", bar(g.load_pct.unwrap_or(0.0), 10)),
                t.fg(Slot::Bar),
            ),
            Span::raw(format!(
                " {} {} {}",
                num(g.load_pct, 1, "%"),
                num(g.freq_mhz, 0, " MHz"),
                num(g.temp_c, 1, "°C")
            )),
            Span::styled(
                if capped {
                    format!(" capped {}", num(g.max_freq_mhz, 0, ""))
                } else {
                    String::new()
                },
                t.fg(Slot::BarCapped),
            ),
            Span::styled(format!("  {}", g.name), t.fg(Slot::Dim)),
        ]));
    }
    if !snap.power.rails.is_empty() {
        let mut spans = vec![
            Span::styled("PWR ", t.fg(Slot::Title).add_modifier(Modifier::BOLD)),
            Span::styled(
                num(snap.power.total_mw.map(|w| w / 1000.0), 2, " W"),
                t.fg(Slot::Accent),
            ),
        ];
        for r in &snap.power.rails {
            spans.push(Span::styled(format!("  {} ", r.name), t.fg(Slot::Dim)));
            spans.push(Span::raw(num(r.mw.map(|w| w / 1000.0), 2, "W")));
        }
        lines.push(Line::from(spans));
    }
    for fan in &snap.fans {
        lines.push(Line::from(vec![
            Span::styled("FAN ", t.fg(Slot::Title).add_modifier(Modifier::BOLD)),
            Span::raw(format!(
                "{} PWM  {} rpm{}",
                num(fan.pwm_pct, 0, "%"),
                num(fan.rpm, 0, ""),
                fan.control
                    .as_ref()
                    .map(|c| format!("  {c}"))
                    .unwrap_or_default()
            )),
        ]));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// "GPU unavailable: …", in the longest wording that fits `width` cells.
fn no_gpu(app: &App, width: u16) -> Line<'static> {
    let t = app.theme();
    Line::from(vec![
        Span::styled("GPU ", t.fg(Slot::Title).add_modifier(Modifier::BOLD)),
        Span::styled(
            fit(
                usize::from(width).saturating_sub(4),
                &[
                    "unavailable: no Jetson devfreq GPU or NVML device".into(),
                    "unavailable: no devfreq GPU or NVML".into(),
                    "unavailable".into(),
                ],
            ),
            t.fg(Slot::Dim),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn bars_have_fixed_width() {
        for p in [0.0, 12.5, 50.0, 99.9, 100.0, 250.0] {
            assert_eq!(bar(p, 8).chars().count(), 8, "{p}");
        }
        assert_eq!(bar(100.0, 4), "████");
        assert_eq!(bar(50.0, 4), "██  ");
    }
}
