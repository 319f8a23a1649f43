//! Header line, most important first so a narrow terminal still shows it:
//! phase, target rate and (while LLM load runs) tokens/s, FROZEN/REC flags,
//! jetstress's own CPU and RSS, then board, L4T, nvpmodel mode and
//! `jetson_clocks`. A field that does not fit whole is left out, not cut.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::ui::app::App;
use crate::ui::theme::{ColorMode, Slot};

/// "NVIDIA Jetson AGX Orin Developer Kit" → "Jetson AGX Orin".
pub fn short_model(model: &str) -> &str {
    let m = model.strip_prefix("NVIDIA ").unwrap_or(model);
    m.strip_suffix(" Developer Kit").unwrap_or(m)
}

#[expect(clippy::too_many_lines, reason = "the header's fields left to right")]
pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let t = app.theme();
    let bg = match t.mode {
        ColorMode::Mono => Style::default().add_modifier(Modifier::REVERSED),
        _ => Style::default()
            .bg(t.color(Slot::HeaderBg))
            .fg(t.color(Slot::HeaderText)),
    };
    let sep = || Span::styled(" │ ", bg.fg(t.color(Slot::Dim)));
    // The first group (name, phase, rate) always shows; each later field
    // with its separator shows whole or not at all.
    let mut first = vec![
        Span::styled(" jetstress", bg.add_modifier(Modifier::BOLD)),
        sep(),
    ];
    let phase = match (&app.load.phase, &app.load.stage) {
        (Some(p), Some(s)) => format!("{p}: {s}"),
        (Some(p), None) => p.clone(),
        _ => "idle".to_string(),
    };
    first.push(Span::styled(phase, bg.add_modifier(Modifier::BOLD)));
    if let Some(u) = &app.load.users {
        first.push(Span::styled(format!(" @ {} users", u.active), bg));
    } else if let Some(r) = app.load.target_rps {
        first.push(Span::styled(format!(" @ {r:.1} rps"), bg));
    }
    // While LLM load runs: the tokens/s of every LLM tool together.
    if app.load.phase.is_some() && !app.load.llm.is_empty() {
        let tps: f64 = app.load.llm.iter().map(|r| r.tokens_per_s).sum();
        first.push(Span::styled(format!(" · {tps:.1} tok/s"), bg));
    }
    let mut groups: Vec<Vec<Span<'static>>> = vec![first];
    if let Some(r) = &app.replay {
        let clock = |s: f64| format!("{:02}:{:02}", (s / 60.0) as u64, (s % 60.0) as u64);
        let state = if r.finished {
            " END"
        } else if r.paused {
            " PAUSED"
        } else {
            ""
        };
        groups.push(vec![
            sep(),
            Span::styled(
                format!(
                    "▶ {}/{} ×{}{state}",
                    clock(r.position_s),
                    clock(r.duration_s),
                    r.speed
                ),
                bg.fg(t.color(Slot::Accent)).add_modifier(Modifier::BOLD),
            ),
        ]);
    }
    if app.frozen_at.is_some() {
        groups.push(vec![
            sep(),
            Span::styled(
                "FROZEN",
                bg.fg(t.color(Slot::Warn)).add_modifier(Modifier::BOLD),
            ),
        ]);
    }
    if let Some(r) = &app.recording {
        groups.push(vec![
            sep(),
            Span::styled(format!("● REC {r}"), bg.fg(t.color(Slot::Alert))),
        ]);
    }
    groups.push(vec![
        sep(),
        Span::styled(
            format!(
                "self {} {}",
                super::num(app.own.cpu_pct, 1, "%"),
                super::num(app.own.rss_mb, 1, " MB")
            ),
            bg,
        ),
    ]);
    if let Some(s) = &app.latest {
        let b = &s.board;
        // Without a model (VMs, containers) the host name says which machine this is.
        let model = b
            .model
            .as_deref()
            .or(b.hostname.as_deref())
            .unwrap_or("unknown board");
        groups.push(vec![
            sep(),
            Span::styled(
                if area.width < 160 {
                    short_model(model).to_string()
                } else {
                    model.to_string()
                },
                bg,
            ),
        ]);
        if let Some(l4t) = &b.l4t {
            groups.push(vec![sep(), Span::styled(format!("L4T {l4t}"), bg)]);
        }
        if let Some(m) = &b.nvpmodel {
            let name = m
                .name
                .clone()
                .or_else(|| m.id.map(|i| format!("mode {i}")))
                .unwrap_or_default();
            groups.push(vec![sep(), Span::styled(name, bg)]);
        }
        if let Some(jc) = b.jetson_clocks {
            groups.push(vec![
                sep(),
                Span::styled(format!("clocks {}", if jc { "max" } else { "dyn" }), bg),
            ]);
        }
    }
    if app.source != "live" {
        groups.push(vec![sep(), Span::styled(app.source.clone(), bg)]);
    }
    let line = super::fit_groups(usize::from(area.width), groups);
    f.render_widget(Paragraph::new(line).style(bg), area);
}
