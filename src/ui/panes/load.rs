//! Latency pane: one row per `target:tool` — rps, p50, p95, p99, max, error %
//! by kind, and a sparkline of p95 — plus the phase bar (phase, stage, progress,
//! dropped). Says which keys start load when nothing runs.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Gauge, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::{cut_at_word, pane_block, unavailable, width_of};
use crate::load::{InvalidCounts, InvalidOutcome};
use crate::ui::app::{App, EngineView, LlmRow, LoadOffer, Pane};
use crate::ui::keys::Action;
use crate::ui::theme::Slot;

#[expect(
    clippy::too_many_lines,
    reason = "the latency table and phase bar in screen order"
)]
pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let t = app.theme();
    let scope = app.load.scope.label();
    let block = pane_block(
        app,
        Pane::Load,
        Some(Line::from(Span::styled(
            format!("· {scope} "),
            t.fg(Slot::Dim),
        ))),
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [bar_area, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);

    let keys = |a: Action| {
        app.keys
            .keys_for(a)
            .first()
            .cloned()
            .unwrap_or_else(|| "?".into())
    };
    match (&app.load.engine, &app.load.phase) {
        (EngineView::Detached, _) => {
            match &app.load.offer {
                // Before the first load key: say which keys start load, against what.
                LoadOffer::Live(targets) => {
                    let mut spans = vec![Span::styled("press ", t.fg(Slot::Dim))];
                    for (i, (a, name)) in [
                        (Action::Spike, "spike"),
                        (Action::Stress, "stress"),
                        (Action::Soak, "soak"),
                        (Action::Users, "users"),
                    ]
                    .into_iter()
                    .enumerate()
                    {
                        if i > 0 {
                            spans.push(Span::styled(" · ", t.fg(Slot::Dim)));
                        }
                        spans.push(Span::styled(
                            keys(a),
                            t.fg(Slot::Text).add_modifier(Modifier::BOLD),
                        ));
                        spans.push(Span::styled(format!(" {name}"), t.fg(Slot::Text)));
                    }
                    spans.push(Span::styled(
                        format!(" — load against {targets}"),
                        t.fg(Slot::Dim),
                    ));
                    f.render_widget(
                        Paragraph::new(Line::from(spans)).wrap(Wrap { trim: true }),
                        inner,
                    );
                }
                LoadOffer::Replay => f.render_widget(
                    Paragraph::new(unavailable(
                        app,
                        "a replay drives no load (load keys work on the live dashboard)",
                    ))
                    .wrap(Wrap { trim: true }),
                    inner,
                ),
                LoadOffer::Campaign => f.render_widget(
                    Paragraph::new(unavailable(
                        app,
                        "the campaign drives the load: each step's figures are in the events below and in its report",
                    ))
                    .wrap(Wrap { trim: true }),
                    inner,
                ),
                LoadOffer::Unknown => f.render_widget(
                    Paragraph::new(unavailable(app, "no load engine attached")),
                    bar_area,
                ),
            }
            return;
        }
        (EngineView::Starting, None) => {
            let text = match &app.load.offer {
                LoadOffer::Live(targets) => format!("starting the load engine: {targets}…"),
                _ => "starting the load engine…".into(),
            };
            f.render_widget(
                Paragraph::new(Span::styled(text, t.fg(Slot::Dim))).wrap(Wrap { trim: true }),
                inner,
            );
            return;
        }
        (EngineView::Failed, None) => {
            let text = format!(
                "the load engine did not start (see Events) — {} spike · {} stress · {} soak · {} users try again",
                keys(Action::Spike),
                keys(Action::Stress),
                keys(Action::Soak),
                keys(Action::Users),
            );
            f.render_widget(
                Paragraph::new(Span::styled(text, t.fg(Slot::Alert))).wrap(Wrap { trim: true }),
                inner,
            );
            return;
        }
        (EngineView::Recorded, None) => {
            f.render_widget(
                Paragraph::new(Span::styled(
                    "no phase ran at this point of the recording",
                    t.fg(Slot::Dim),
                )),
                bar_area,
            );
        }
        (_, None) => {
            let hint = format!(
                "idle — {} spike · {} stress · {} soak · {} users · {} stop",
                keys(Action::Spike),
                keys(Action::Stress),
                keys(Action::Soak),
                keys(Action::Users),
                keys(Action::StopAll)
            );
            f.render_widget(
                Paragraph::new(Span::styled(hint, t.fg(Slot::Dim))),
                bar_area,
            );
        }
        (_, Some(phase)) => {
            let label = format!(
                "{phase}{}{}  dropped {}{}{}",
                app.load
                    .stage
                    .as_ref()
                    .map(|s| format!(" · {s}"))
                    .unwrap_or_default(),
                match &app.load.users {
                    Some(u) => format!(
                        " · users {}/{} · think {} · closed model",
                        u.active, u.target, u.think
                    ),
                    None => app
                        .load
                        .target_rps
                        .map(|r| format!(" · {r:.1} rps"))
                        .unwrap_or_default(),
                },
                app.load.dropped,
                invalid_label(&app.load.invalid),
                tokens_label(&app.load.llm)
            );
            let g = Gauge::default()
                .ratio(app.load.progress.unwrap_or(0.0).clamp(0.0, 1.0))
                .label(Span::styled(
                    label,
                    t.fg(Slot::Text).add_modifier(Modifier::BOLD),
                ))
                .gauge_style(t.fg(Slot::Bar));
            f.render_widget(g, bar_area);
        }
    }
    if app.load.rows.is_empty() {
        if !app.load.generators.is_empty() {
            f.render_widget(
                Paragraph::new(Span::raw(app.load.generators.join("  "))),
                table_area,
            );
        }
        return;
    }
    let (table_area, llm_area) = if app.load.llm.is_empty() {
        (table_area, None)
    } else {
        let [a, b] = Layout::vertical([
            Constraint::Min(2),
            Constraint::Length(app.load.llm.len() as u16 + 1),
        ])
        .areas(table_area);
        (a, Some(b))
    };
    if let Some(area) = llm_area {
        draw_llm(f, app, area);
    }
    let spark_w = if table_area.width > 100 {
        24
    } else {
        TREND.len()
    };
    let (cols, tool_w) = columns_for(table_area.width, spark_w);
    let names = ToolNames::for_width(app.load.rows.iter().map(|r| r.tool.as_str()), tool_w);
    let header = Row::new(cols.iter().map(|c| match c {
        Col::Tool => names.heading(),
        c => c.heading().to_string(),
    }))
    .style(t.fg(Slot::Title).add_modifier(Modifier::BOLD));
    let rows: Vec<Row> = app
        .load
        .rows
        .iter()
        .map(|r| {
            let err_style = if r.error_pct > 0.0 {
                t.fg(Slot::Alert)
            } else {
                t.fg(Slot::Text)
            };
            Row::new(cols.iter().map(|c| match c {
                Col::Tool => Cell::from(names.name(&r.tool)),
                Col::Rps => Cell::from(format!("{:.1}", r.rps)),
                Col::P50 => Cell::from(fmt_ms(r.p50_ms)),
                Col::P95 => Cell::from(fmt_ms(r.p95_ms)),
                Col::P99 => Cell::from(fmt_ms(r.p99_ms)),
                Col::Max => Cell::from(fmt_ms(r.max_ms)),
                Col::Err => Cell::from(Span::styled(format!("{:.1}", r.error_pct), err_style)),
                Col::Trend => Cell::from(spark_text(&r.p95_history, spark_w)),
            }))
        })
        .collect();
    let widths = cols.iter().map(|c| match c {
        Col::Tool => Constraint::Min(TOOL_MIN),
        c => Constraint::Length(c.width(spark_w)),
    });
    let table = Table::new(rows, widths).header(header);
    f.render_widget(table, table_area);
}

/// How the tool column names its rows in `width` cells: `target:tool` where
/// every name fits; where one does not and every row is of one target, the
/// bare tool under a `tool (target)` heading (at 80 columns every row read
/// `built-in:thermal_`, the part that tells them apart cut off); a name
/// still too long is cut with `…`.
struct ToolNames<'a> {
    target: Option<&'a str>,
    width: usize,
}

impl<'a> ToolNames<'a> {
    fn for_width(mut tools: impl Iterator<Item = &'a str> + Clone, width: usize) -> Self {
        let fits = tools.clone().all(|t| width_of(t) <= width);
        let target = tools.next().and_then(|t| t.split_once(':')).map(|(p, _)| p);
        let shared =
            target.filter(|p| tools.all(|t| t.split_once(':').is_some_and(|(q, _)| q == *p)));
        ToolNames {
            target: if fits { None } else { shared },
            width,
        }
    }

    fn heading(&self) -> String {
        match self.target {
            Some(p) => cut_at_word(&format!("tool ({p})"), self.width),
            None => "tool".into(),
        }
    }

    fn name(&self, tool: &str) -> String {
        let bare = match self.target {
            Some(p) => tool.strip_prefix(p).and_then(|t| t.strip_prefix(':')),
            None => None,
        };
        cut_at_word(bare.unwrap_or(tool), self.width)
    }
}

/// The sparkline column's heading.
const TREND: &str = "p95 trend";
/// The tool column's least width.
const TOOL_MIN: u16 = 16;

/// A latency table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Col {
    Tool,
    Rps,
    P50,
    P95,
    P99,
    Max,
    Err,
    Trend,
}

impl Col {
    /// The columns beside the tool's, the most telling first: a narrow pane
    /// drops them from the end instead of cutting every one short.
    const BY_PRIORITY: [Col; 7] = [
        Col::P95,
        Col::Rps,
        Col::Err,
        Col::P99,
        Col::P50,
        Col::Max,
        Col::Trend,
    ];

    fn heading(self) -> &'static str {
        match self {
            Col::Tool => "tool",
            Col::Rps => "rps",
            Col::P50 => "p50",
            Col::P95 => "p95",
            Col::P99 => "p99",
            Col::Max => "max",
            Col::Err => "err%",
            Col::Trend => TREND,
        }
    }

    /// Cells wide (its heading and its widest usual value: `999ms`, `10.00s`).
    fn width(self, spark_w: usize) -> u16 {
        match self {
            Col::Tool => TOOL_MIN,
            Col::Rps => 6,
            Col::Err => 5,
            Col::Trend => spark_w as u16,
            _ => 7,
        }
    }
}

/// The columns that fit `width` cells whole (one cell between columns), in
/// table order: the tool, then as many of the others as fit, by priority;
/// and the cells left to the tool column.
fn columns_for(width: u16, spark_w: usize) -> (Vec<Col>, usize) {
    let mut used = TOOL_MIN;
    let mut cols = vec![Col::Tool];
    for c in Col::BY_PRIORITY {
        let w = c.width(spark_w) + 1;
        if used + w <= width {
            used += w;
            cols.push(c);
        }
    }
    cols.sort();
    (cols, usize::from(width - (used - TOOL_MIN)))
}

/// Milliseconds in a short human form.
pub fn fmt_ms(ms: f64) -> String {
    if ms >= 10_000.0 {
        format!("{:.0}s", ms / 1000.0)
    } else if ms >= 1000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{ms:.1}ms")
    }
}

/// A text sparkline of the last `width` values.
pub fn spark_text(values: &std::collections::VecDeque<u64>, width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let skip = values.len().saturating_sub(width);
    let max = values.iter().skip(skip).copied().max().unwrap_or(0).max(1);
    values
        .iter()
        .skip(skip)
        .map(|v| BARS[((*v as f64 / max as f64) * 7.0).round() as usize])
        .collect()
}

/// `  invalid 120 (117 graceful, 3 accepted)`; empty when none were sent.
fn invalid_label(c: &InvalidCounts) -> String {
    if c.sent == 0 {
        return String::new();
    }
    let parts: Vec<String> = InvalidOutcome::ALL
        .iter()
        .filter(|o| c.get(**o) > 0)
        .map(|o| format!("{} {}", c.get(*o), o.as_str()))
        .collect();
    format!("  invalid {} ({})", c.sent, parts.join(", "))
}

/// `  64.0 tok/s` over the LLM tools; empty without any.
fn tokens_label(rows: &[LlmRow]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let tps: f64 = rows.iter().map(|r| r.tokens_per_s).sum();
    format!("  {tps:.1} tok/s")
}

/// The LLM tools' token figures, under the latency table.
fn draw_llm(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme();
    let header = Row::new([
        "llm", "tok/s", "TTFT p50", "TTFT p95", "ITL p95", "TPOT p50", "tok/J",
    ])
    .style(t.fg(Slot::Title).add_modifier(Modifier::BOLD));
    let rows: Vec<Row> = app
        .load
        .llm
        .iter()
        .map(|r| {
            Row::new(vec![
                Cell::from(r.tool.clone()),
                Cell::from(format!("{:.1}", r.tokens_per_s)),
                Cell::from(fmt_ms(r.ttft_p50_ms)),
                Cell::from(fmt_ms(r.ttft_p95_ms)),
                Cell::from(fmt_ms(r.itl_p95_ms)),
                Cell::from(fmt_ms(r.tpot_p50_ms)),
                Cell::from(
                    r.tokens_per_joule
                        .map_or_else(|| "–".into(), |v| format!("{v:.2}")),
                ),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Min(16),
            Constraint::Length(7),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Length(6),
        ],
    )
    .header(header);
    f.render_widget(table, area);
}
