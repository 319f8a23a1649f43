//! Report charts, each written as SVG and PNG (plotters). Text is laid out and,
//! for PNG, rasterised with the embedded `DejaVu` Sans (`assets/fonts/`), so no
//! system font library is needed. [`Timeline`] gathers what the charts need
//! during a run (or from a recording) in bounded memory; [`ChartKind::draw`]
//! paints one chart on any plotters backend, and the `render_*` functions are
//! pure (data in, file bytes out).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::load::engine::{LoadModel, LoadWindow, PhaseSummary, RunSummary, StageSummary};
use crate::snapshot::{watched_key_words, Snapshot};

/// Points kept per series; past this every other point is dropped (the
/// series keeps its shape at half the resolution).
pub const MAX_POINTS: usize = 1200;

fn push_bounded<T>(v: &mut Vec<T>, x: T) {
    if v.len() >= MAX_POINTS {
        let mut i = 0;
        v.retain(|_| {
            i += 1;
            i % 2 == 1
        });
    }
    v.push(x);
}

/// One load window: rates and per-tool latency percentiles (ms).
#[derive(Debug, Clone, PartialEq)]
pub struct LoadPoint {
    pub t_s: f64,
    pub target_rps: f64,
    pub achieved_rps: f64,
    /// tool → (p50, p95, p99). Names are shared with the timeline's own
    /// list ([`Timeline::name`]): a point holds a pointer, not a copy.
    pub tools: BTreeMap<Arc<str>, (f64, f64, f64)>,
    /// LLM tool → (TTFT p95, ITL p95) in ms, windows where a stream finished.
    pub llm: BTreeMap<Arc<str>, (f64, f64)>,
}

/// System memory at one sample, MB.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryPoint {
    pub t_s: f64,
    pub used_mb: Option<f64>,
    pub available_mb: Option<f64>,
}

/// Time series for the charts, bounded by [`MAX_POINTS`] per series. Times
/// are seconds since `origin_unix_ms` (the load engine's start in a run, so
/// snapshots line up with load windows and phases).
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Set by [`Timeline::with_origin`], else the first snapshot's time.
    pub origin_unix_ms: Option<u64>,
    pub load: Vec<LoadPoint>,
    /// zone → (`t_s`, °C).
    pub temps: BTreeMap<String, Vec<(f64, f64)>>,
    /// zone → throttle trip, °C.
    pub trips: BTreeMap<String, f64>,
    pub memory: Vec<MemoryPoint>,
    pub memory_total_mb: Option<f64>,
    /// `name (pid)` of each watched process → (`t_s`, RSS MB).
    pub rss: BTreeMap<String, Vec<(f64, f64)>>,
    /// Every tool name the load points use, once.
    names: BTreeSet<Arc<str>>,
}

impl Timeline {
    pub fn with_origin(origin_unix_ms: u64) -> Timeline {
        Timeline {
            origin_unix_ms: Some(origin_unix_ms),
            ..Timeline::default()
        }
    }

    /// `tool`'s one shared copy.
    fn name(&mut self, tool: &str) -> Arc<str> {
        if let Some(n) = self.names.get(tool) {
            return n.clone();
        }
        let n: Arc<str> = tool.into();
        self.names.insert(n.clone());
        n
    }

    pub fn observe_window(&mut self, w: &LoadWindow) {
        if w.all.count == 0 && w.target_rate == 0.0 {
            return;
        }
        let tools = w
            .tools
            .iter()
            .filter(|t| t.count > 0)
            .map(|t| {
                let l = &t.latency_ms;
                (self.name(&t.tool), (l.p50, l.p95, l.p99))
            })
            .collect();
        let llm = w
            .tools
            .iter()
            .filter_map(|t| {
                let l = t.llm.as_ref().filter(|l| l.requests > 0)?;
                Some((self.name(&t.tool), (l.ttft_ms.p95, l.itl_ms.p95)))
            })
            .collect();
        push_bounded(
            &mut self.load,
            LoadPoint {
                t_s: w.elapsed_s,
                target_rps: w.target_rate,
                achieved_rps: w.all.rps,
                tools,
                llm,
            },
        );
    }

    pub fn observe_snapshot(&mut self, s: &Snapshot) {
        let origin = *self.origin_unix_ms.get_or_insert(s.time_unix_ms);
        let t_s = (s.time_unix_ms as f64 - origin as f64) / 1000.0;
        for z in s.thermal.iter().filter(|z| z.online) {
            if let Some(t) = z.temp_c.filter(|t| t.is_finite()) {
                push_bounded(self.temps.entry(z.name.clone()).or_default(), (t_s, t));
            }
            if let Some(trip) = z.throttle_trip_c() {
                self.trips.insert(z.name.clone(), trip);
            }
        }
        let m = &s.memory;
        if m.used_mb.is_some() || m.available_mb.is_some() {
            push_bounded(
                &mut self.memory,
                MemoryPoint {
                    t_s,
                    used_mb: m.used_mb,
                    available_mb: m.available_mb,
                },
            );
        }
        if m.total_mb.is_some() {
            self.memory_total_mb = m.total_mb;
        }
        for w in &s.watched {
            if let Some(rss) = w.rss_mb.filter(|_| w.alive) {
                let key = format!("{} ({})", w.name, watched_key_words(w.pid));
                push_bounded(self.rss.entry(key).or_default(), (t_s, rss));
            }
        }
    }
}

/// What the charts draw: the timeline, the run summary for phase shading,
/// the stress curve and the users charts, and the p95 limit the run is
/// judged against.
#[derive(Debug, Clone, Copy)]
pub struct ChartData<'a> {
    pub timeline: &'a Timeline,
    pub run: Option<&'a RunSummary>,
    /// `max_p95_ms` of the acceptance criteria, drawn on the users-latency chart.
    pub max_p95_ms: Option<f64>,
}

/// A closed stage's users, where it held users and completed requests.
fn stage_users(s: &StageSummary) -> Option<f64> {
    s.users.filter(|_| s.all.count > 0).map(f64::from)
}

/// (users, the targets' summed RSS) of a closed phase's stages that have both.
fn rss_points(p: &PhaseSummary) -> Vec<(f64, f64)> {
    p.stages
        .iter()
        .filter_map(|s| Some((stage_users(s)?, s.target_rss_mb?)))
        .collect()
}

impl ChartData<'_> {
    fn phases(&self) -> impl Iterator<Item = &PhaseSummary> {
        self.run.into_iter().flat_map(|r| r.phases.iter())
    }

    /// Stress phases with at least two stages that carried traffic.
    fn stress_phases(&self) -> impl Iterator<Item = &PhaseSummary> {
        self.phases().filter(|p| {
            p.kind == "stress" && p.stages.iter().filter(|s| s.all.count > 0).count() >= 2
        })
    }

    /// Closed phases with at least two stages that held users and carried traffic.
    fn users_phases(&self) -> impl Iterator<Item = &PhaseSummary> {
        self.phases().filter(|p| {
            p.model == LoadModel::Closed && p.stages.iter().filter_map(stage_users).count() >= 2
        })
    }

    /// (phase, stage, LLM tool row) of every stage where an LLM stream finished.
    fn llm_stages(
        &self,
    ) -> impl Iterator<
        Item = (
            &PhaseSummary,
            &StageSummary,
            &crate::load::stats::ToolSummary,
        ),
    > {
        self.phases().flat_map(|p| {
            p.stages.iter().flat_map(move |s| {
                s.tools
                    .iter()
                    .filter(|t| t.llm.as_ref().is_some_and(|l| l.requests > 0))
                    .map(move |t| (p, s, t))
            })
        })
    }

    /// Those of them with the targets' RSS at two stages or more.
    fn users_rss_phases(&self) -> impl Iterator<Item = &PhaseSummary> {
        self.users_phases().filter(|p| rss_points(p).len() >= 2)
    }
}

/// Why a chart could not be drawn or encoded.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The embedded font could not be registered with plotters.
    #[error("embedded font DejaVuSans.ttf is not a valid font")]
    Font,
    /// Plotters failed to draw (the backend's message; its error type differs
    /// per backend).
    #[error("{0}")]
    Draw(String),
    /// The PNG encoder failed.
    #[error("{0}")]
    Png(png::EncodingError),
}

type Res<T> = Result<T, ChartError>;

/// A plotters drawing error as [`ChartError::Draw`].
fn err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError::Draw(e.to_string())
}

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the embedded font with plotters once (every backend lays text out with it).
fn fonts() -> Res<()> {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        [
            FontStyle::Normal,
            FontStyle::Bold,
            FontStyle::Italic,
            FontStyle::Oblique,
        ]
        .into_iter()
        .all(|style| plotters::style::register_font("sans-serif", style, FONT).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(ChartError::Font)
    }
}

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Pixels right of the plot kept for the legend.
const LEGEND_W: u32 = 230;

/// Watched processes drawn in the RSS panel.
const MAX_RSS_SERIES: usize = 6;

/// Phase band (fill, label) colours, alternating so neighbouring phases stay apart.
const BANDS: [(RGBColor, RGBColor); 2] = [
    (RGBColor(255, 196, 0), RGBColor(120, 80, 0)),
    (RGBColor(0, 150, 200), RGBColor(0, 70, 110)),
];

/// A chart being drawn, and the legend entries its series added.
struct Chart<'a, DB: DrawingBackend> {
    ctx: ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    legend: Vec<(String, ShapeStyle)>,
}

impl<DB: DrawingBackend> Chart<'_, DB> {
    fn x_range(&self) -> Range<f64> {
        self.ctx.x_range()
    }

    fn y_range(&self) -> Range<f64> {
        self.ctx.y_range()
    }
}

fn draw_series<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    points: Vec<(f64, f64)>,
    color: RGBColor,
    dashed: bool,
    label: String,
) -> Res<()> {
    let style = ShapeStyle::from(&color).stroke_width(if dashed { 1 } else { 2 });
    if dashed {
        chart
            .ctx
            .draw_series(DashedLineSeries::new(points, 6, 4, style))
            .map_err(err)?;
    } else {
        chart
            .ctx
            .draw_series(LineSeries::new(points, style))
            .map_err(err)?;
    }
    chart.legend.push((label, style));
    Ok(())
}

/// Shades each phase's span (from the run summary) and names it at the top.
fn shade_phases<DB: DrawingBackend>(chart: &mut Chart<'_, DB>, d: &ChartData) -> Res<()> {
    let (x, y) = (chart.x_range(), chart.y_range());
    // Labels sit just inside the band's top-left corner, clear of the axis.
    let nudge = ((x.end - x.start) * 0.006, (y.end - y.start) * 0.01);
    for (i, p) in d.phases().enumerate() {
        let (band, ink) = BANDS[i % BANDS.len()];
        let span = [(p.started_s, y.start), (p.started_s + p.duration_s, y.end)];
        chart
            .ctx
            .draw_series(std::iter::once(Rectangle::new(
                span,
                band.mix(0.12).filled(),
            )))
            .map_err(err)?;
        chart
            .ctx
            .draw_series(std::iter::once(Text::new(
                format!("{} ({})", p.name, p.kind),
                (p.started_s.max(x.start) + nudge.0, y.end - nudge.1),
                ("sans-serif", 12).into_font().color(&ink),
            )))
            .map_err(err)?;
    }
    Ok(())
}

fn data_range(values: impl Iterator<Item = f64>) -> Option<Range<f64>> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    lo.is_finite().then_some(lo..hi)
}

/// Time axis: from the earlier of 0 and the first point to the last point,
/// phase or sample (at least 1 s wide).
fn time_range(d: &ChartData, t: impl Iterator<Item = f64>) -> Range<f64> {
    let phase_ends = d.phases().map(|p| p.started_s + p.duration_s);
    match data_range(t.chain(phase_ends)) {
        Some(r) => r.start.min(0.0)..r.end.max(r.start.min(0.0) + 1.0),
        None => 0.0..1.0,
    }
}

/// The frame every chart shares: caption, axes with descriptions, mesh, and
/// the legend of what `series` drew, in a column right of the plot so it
/// never covers the data.
fn frame<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    x: Range<f64>,
    y: Range<f64>,
    (x_desc, y_desc): (&str, &str),
    series: impl FnOnce(&mut Chart<'_, DB>) -> Res<()>,
) -> Res<()> {
    let w = area.dim_in_pixel().0;
    let (plot, key) = area.split_horizontally(w.saturating_sub(LEGEND_W));
    let ctx = ChartBuilder::on(&plot)
        .caption(caption, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x, y)
        .map_err(err)?;
    let mut chart = Chart {
        ctx,
        legend: Vec::new(),
    };
    chart
        .ctx
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(err)?;
    series(&mut chart)?;
    // One row per series, from the top of the plot: a line sample and its label.
    let top = 10 + 30; // margin + caption
    for (i, (label, style)) in chart.legend.iter().enumerate() {
        let y = top + 8 + i as i32 * 18;
        key.draw(&PathElement::new(vec![(4, y), (28, y)], *style))
            .map_err(err)?;
        // Long labels are cut to fit the column.
        let shown = if label.chars().count() > 34 {
            label.chars().take(33).chain(['…']).collect()
        } else {
            label.clone()
        };
        key.draw(&Text::new(
            shown,
            (34, y - 7),
            ("sans-serif", 12).into_font().color(&BLACK),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// The charts of a report, in the order the Markdown shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    Temperatures,
    Memory,
    Latency,
    Rate,
    StressCurve,
    UsersLatency,
    UsersRss,
    LlmLatency,
    LlmThroughput,
}

impl ChartKind {
    pub const ALL: [ChartKind; 9] = [
        ChartKind::Temperatures,
        ChartKind::Memory,
        ChartKind::Latency,
        ChartKind::Rate,
        ChartKind::StressCurve,
        ChartKind::UsersLatency,
        ChartKind::UsersRss,
        ChartKind::LlmLatency,
        ChartKind::LlmThroughput,
    ];

    /// File name without extension.
    pub fn stem(self) -> &'static str {
        match self {
            ChartKind::Temperatures => "temperatures",
            ChartKind::Memory => "memory",
            ChartKind::Latency => "latency",
            ChartKind::Rate => "rate",
            ChartKind::StressCurve => "stress-curve",
            ChartKind::UsersLatency => "users-latency",
            ChartKind::UsersRss => "users-rss",
            ChartKind::LlmLatency => "llm-latency",
            ChartKind::LlmThroughput => "llm-throughput",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ChartKind::Temperatures => "Temperatures and throttle trips",
            ChartKind::Memory => "Memory and watched processes",
            ChartKind::Latency => "Latency per tool",
            ChartKind::Rate => "Request rate, target vs achieved",
            ChartKind::StressCurve => "Stress curve",
            ChartKind::UsersLatency => "Users vs latency",
            ChartKind::UsersRss => "Users vs target RSS",
            ChartKind::LlmLatency => "LLM time to first token and inter-token latency",
            ChartKind::LlmThroughput => "LLM tokens/s against offered load",
        }
    }

    pub fn size(self) -> (u32, u32) {
        match self {
            ChartKind::Rate => (1180, 360),
            ChartKind::Memory => (1180, 560),
            _ => (1180, 480),
        }
    }

    /// Whether the data has anything for this chart (the stress curve needs a
    /// stress phase, the users charts a closed phase of two stages or more,
    /// users-rss with the targets' RSS at them; the others always draw, empty
    /// if need be).
    pub fn applies(self, d: &ChartData) -> bool {
        match self {
            ChartKind::StressCurve => d.stress_phases().next().is_some(),
            ChartKind::UsersLatency => d.users_phases().next().is_some(),
            ChartKind::UsersRss => d.users_rss_phases().next().is_some(),
            ChartKind::LlmLatency => d.timeline.load.iter().any(|p| !p.llm.is_empty()),
            ChartKind::LlmThroughput => d.llm_stages().next().is_some(),
            _ => true,
        }
    }

    /// Paints the chart on `area` (any plotters backend).
    pub fn draw<DB: DrawingBackend>(self, area: &DrawingArea<DB, Shift>, d: &ChartData) -> Res<()> {
        fonts()?;
        area.fill(&WHITE).map_err(err)?;
        match self {
            ChartKind::Temperatures => temperatures(area, d),
            ChartKind::Memory => memory(area, d),
            ChartKind::Latency => latency(area, d),
            ChartKind::Rate => rate(area, d),
            ChartKind::StressCurve => stress_curve(area, d),
            ChartKind::UsersLatency => users_latency(area, d),
            ChartKind::UsersRss => users_rss(area, d),
            ChartKind::LlmLatency => llm_latency(area, d),
            ChartKind::LlmThroughput => llm_throughput(area, d),
        }?;
        area.present().map_err(err)
    }
}

/// Zone temperatures with each zone's throttle trip dashed, phases shaded.
fn temperatures<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &ChartData) -> Res<()> {
    let t = d.timeline;
    let all = t.temps.values().flatten();
    let y = match data_range(all.clone().map(|p| p.1).chain(t.trips.values().copied())) {
        Some(r) => r.start - 5.0..r.end + 5.0,
        None => 0.0..100.0,
    };
    frame(
        area,
        "Temperatures (°C), throttle trips dashed, load phases shaded",
        time_range(d, all.map(|p| p.0)),
        y,
        ("run time (s)", "°C"),
        |chart| {
            shade_phases(chart, d)?;
            let x = chart.x_range();
            for (i, (zone, pts)) in t.temps.iter().enumerate() {
                let c = COLORS[i % COLORS.len()];
                draw_series(chart, pts.clone(), c, false, zone.clone())?;
                if let Some(trip) = t.trips.get(zone) {
                    draw_series(
                        chart,
                        vec![(x.start, *trip), (x.end, *trip)],
                        c,
                        true,
                        format!("{zone} trip {trip:.1} °C"),
                    )?;
                }
            }
            Ok(())
        },
    )
}

/// System memory (used, available, total) on top; watched processes' RSS below.
fn memory<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &ChartData) -> Res<()> {
    let t = d.timeline;
    let x = time_range(
        d,
        t.memory
            .iter()
            .map(|p| p.t_s)
            .chain(t.rss.values().flatten().map(|p| p.0)),
    );
    let (top, bottom) = area.split_vertically(area.dim_in_pixel().1 * 3 / 5);
    let y_max = t
        .memory
        .iter()
        .flat_map(|p| [p.used_mb, p.available_mb])
        .flatten()
        .chain(t.memory_total_mb)
        .fold(1.0_f64, f64::max);
    frame(
        &top,
        "System memory (MB)",
        x.clone(),
        0.0..y_max * 1.05,
        ("run time (s)", "MB"),
        |chart| {
            shade_phases(chart, d)?;
            let pick = |f: fn(&MemoryPoint) -> Option<f64>| -> Vec<(f64, f64)> {
                t.memory
                    .iter()
                    .filter_map(|p| f(p).map(|v| (p.t_s, v)))
                    .collect()
            };
            draw_series(chart, pick(|p| p.used_mb), COLORS[3], false, "used".into())?;
            draw_series(
                chart,
                pick(|p| p.available_mb),
                COLORS[2],
                false,
                "available".into(),
            )?;
            if let Some(total) = t.memory_total_mb {
                draw_series(
                    chart,
                    vec![(x.start, total), (x.end, total)],
                    COLORS[7],
                    true,
                    format!("total {total:.0} MB"),
                )?;
            }
            Ok(())
        },
    )?;
    // The largest few by peak RSS, so the legend stays readable.
    let peak = |pts: &Vec<(f64, f64)>| pts.iter().map(|p| p.1).fold(0.0_f64, f64::max);
    let mut shown: Vec<(&String, &Vec<(f64, f64)>)> = t.rss.iter().collect();
    shown.sort_by(|a, b| peak(b.1).total_cmp(&peak(a.1)));
    shown.truncate(MAX_RSS_SERIES);
    let rss_max = shown.iter().map(|(_, p)| peak(p)).fold(1.0_f64, f64::max);
    let caption = match t.rss.len() {
        0 => "Watched processes' RSS (MB): no readings".to_string(),
        n if n > shown.len() => format!(
            "Watched processes' RSS (MB), the {} largest of {n}",
            shown.len()
        ),
        _ => "Watched processes' RSS (MB)".to_string(),
    };
    frame(
        &bottom,
        &caption,
        x,
        0.0..rss_max * 1.1,
        ("run time (s)", "MB"),
        |chart| {
            for (i, (name, pts)) in shown.iter().enumerate() {
                draw_series(
                    chart,
                    (*pts).clone(),
                    COLORS[i % COLORS.len()],
                    false,
                    (*name).clone(),
                )?;
            }
            Ok(())
        },
    )
}

/// Per-tool p95 (solid) and p99 (dashed) latency over time, phases shaded.
fn latency<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &ChartData) -> Res<()> {
    let t = d.timeline;
    let y_max = t
        .load
        .iter()
        .flat_map(|p| p.tools.values().map(|v| v.2))
        .fold(1.0_f64, f64::max);
    let tools: BTreeSet<&Arc<str>> = t.load.iter().flat_map(|p| p.tools.keys()).collect();
    frame(
        area,
        "Latency per tool (ms, from the scheduled send time): p95 solid, p99 dashed",
        time_range(d, t.load.iter().map(|p| p.t_s)),
        0.0..y_max * 1.05,
        ("run time (s)", "ms"),
        |chart| {
            shade_phases(chart, d)?;
            for (i, tool) in tools.iter().enumerate() {
                let c = COLORS[i % COLORS.len()];
                let pick = |f: fn(&(f64, f64, f64)) -> f64| -> Vec<(f64, f64)> {
                    t.load
                        .iter()
                        .filter_map(|p| p.tools.get(*tool).map(|v| (p.t_s, f(v))))
                        .collect()
                };
                draw_series(chart, pick(|v| v.1), c, false, format!("{tool} p95"))?;
                draw_series(chart, pick(|v| v.2), c, true, format!("{tool} p99"))?;
            }
            Ok(())
        },
    )
}

/// Achieved vs target request rate over time, phases shaded.
fn rate<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &ChartData) -> Res<()> {
    let t = d.timeline;
    let y_max = t
        .load
        .iter()
        .map(|p| p.target_rps.max(p.achieved_rps))
        .fold(1.0_f64, f64::max);
    frame(
        area,
        "Request rate (req/s): target vs achieved",
        time_range(d, t.load.iter().map(|p| p.t_s)),
        0.0..y_max * 1.1,
        ("run time (s)", "req/s"),
        |chart| {
            shade_phases(chart, d)?;
            let target = t.load.iter().map(|p| (p.t_s, p.target_rps)).collect();
            let achieved = t.load.iter().map(|p| (p.t_s, p.achieved_rps)).collect();
            draw_series(chart, target, COLORS[7], true, "target".into())?;
            draw_series(chart, achieved, COLORS[0], false, "achieved".into())
        },
    )
}

/// Latency (p50, p95, p99) of each stress stage against its offered rate, with
/// the breaking point's first bad rate as a vertical line.
fn stress_curve<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &ChartData) -> Res<()> {
    let phases: Vec<&PhaseSummary> = d.stress_phases().collect();
    let stages = || {
        phases
            .iter()
            .flat_map(|p| p.stages.iter().filter(|s| s.all.count > 0))
    };
    let x_max = stages().map(|s| s.target_rate).fold(1.0_f64, f64::max);
    let y_max = stages()
        .map(|s| s.all.latency_ms.p99)
        .fold(1.0_f64, f64::max);
    frame(
        area,
        "Stress curve: latency per stage against the offered rate",
        0.0..x_max * 1.05,
        0.0..y_max * 1.1,
        ("offered rate (req/s)", "ms"),
        |chart| {
            for (i, p) in phases.iter().enumerate() {
                let pts = |f: fn(&crate::load::stats::Percentiles) -> f64| -> Vec<(f64, f64)> {
                    p.stages
                        .iter()
                        .filter(|s| s.all.count > 0)
                        .map(|s| (s.target_rate, f(&s.all.latency_ms)))
                        .collect()
                };
                let name = if phases.len() > 1 {
                    format!("{} ", p.name)
                } else {
                    String::new()
                };
                let base = i * 3;
                for (j, (label, series)) in [
                    ("p50", pts(|l| l.p50)),
                    ("p95", pts(|l| l.p95)),
                    ("p99", pts(|l| l.p99)),
                ]
                .into_iter()
                .enumerate()
                {
                    let c = COLORS[(base + j) % COLORS.len()];
                    chart
                        .ctx
                        .draw_series(series.iter().map(|&xy| Circle::new(xy, 3, c.filled())))
                        .map_err(err)?;
                    draw_series(chart, series, c, false, format!("{name}{label}"))?;
                }
                if let Some(bad) = p.breaking_point.as_ref().and_then(|b| b.first_bad_rps) {
                    let y = chart.y_range();
                    draw_series(
                        chart,
                        vec![(bad, y.start), (bad, y.end)],
                        COLORS[3],
                        true,
                        format!("{name}breaking point {bad:.0} req/s"),
                    )?;
                }
            }
            Ok(())
        },
    )
}

/// LLM token latency over time: TTFT p95 solid, ITL p95 dashed, per tool.
fn llm_latency<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &ChartData) -> Res<()> {
    let t = d.timeline;
    let pts = || t.load.iter().filter(|p| !p.llm.is_empty());
    let y_max = pts()
        .flat_map(|p| p.llm.values().map(|v| v.0.max(v.1)))
        .fold(1.0_f64, f64::max);
    let tools: BTreeSet<&Arc<str>> = pts().flat_map(|p| p.llm.keys()).collect();
    frame(
        area,
        "LLM token latency (ms): time to first token p95 solid, inter-token latency p95 dashed",
        time_range(d, t.load.iter().map(|p| p.t_s)),
        0.0..y_max * 1.05,
        ("run time (s)", "ms"),
        |chart| {
            shade_phases(chart, d)?;
            for (i, tool) in tools.iter().enumerate() {
                let c = COLORS[i % COLORS.len()];
                let pick = |f: fn(&(f64, f64)) -> f64| -> Vec<(f64, f64)> {
                    pts()
                        .filter_map(|p| p.llm.get(*tool).map(|v| (p.t_s, f(v))))
                        .collect()
                };
                draw_series(chart, pick(|v| v.0), c, false, format!("{tool} TTFT p95"))?;
                draw_series(chart, pick(|v| v.1), c, true, format!("{tool} ITL p95"))?;
            }
            Ok(())
        },
    )
}

/// Output tokens/s of each stage against its offered load (rate, or users
/// in a closed phase), per LLM tool.
fn llm_throughput<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &ChartData) -> Res<()> {
    let offered = |s: &StageSummary| s.users.map_or(s.target_rate, f64::from);
    let x_max = d
        .llm_stages()
        .map(|(_, s, _)| offered(s))
        .fold(1.0_f64, f64::max);
    let tps =
        |t: &crate::load::stats::ToolSummary| t.llm.as_ref().map_or(0.0, |l| l.output_tokens_per_s);
    let y_max = d
        .llm_stages()
        .map(|(_, _, t)| tps(t))
        .fold(1.0_f64, f64::max);
    let closed = d.llm_stages().any(|(_, s, _)| s.users.is_some());
    frame(
        area,
        "LLM output tokens/s per stage against the offered load",
        0.0..x_max * 1.05,
        0.0..y_max * 1.1,
        (
            if closed {
                "users"
            } else {
                "offered rate (req/s)"
            },
            "tokens/s",
        ),
        |chart| {
            let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
            for (p, s, t) in d.llm_stages() {
                series
                    .entry(format!("{} {}", p.name, t.tool))
                    .or_default()
                    .push((offered(s), tps(t)));
            }
            for (i, (name, pts)) in series.into_iter().enumerate() {
                let c = COLORS[i % COLORS.len()];
                chart
                    .ctx
                    .draw_series(pts.iter().map(|&xy| Circle::new(xy, 3, c.filled())))
                    .map_err(err)?;
                draw_series(chart, pts, c, false, name)?;
            }
            Ok(())
        },
    )
}

/// `phase ` before a series label when several phases share a chart.
fn phase_prefix(p: &PhaseSummary, phases: usize) -> String {
    if phases > 1 {
        format!("{} ", p.name)
    } else {
        String::new()
    }
}

/// Points with a marker each, joined by a line.
fn draw_points<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    points: Vec<(f64, f64)>,
    color: RGBColor,
    label: String,
) -> Res<()> {
    chart
        .ctx
        .draw_series(points.iter().map(|&xy| Circle::new(xy, 3, color.filled())))
        .map_err(err)?;
    draw_series(chart, points, color, false, label)
}

/// A limit more than this many times the data's largest value is named in
/// the legend rather than drawn (it would squash the data to the axis).
const LIMIT_HEADROOM: f64 = 3.0;

/// p50 and p95 of each closed stage against its users, with the p95 limit
/// the run is judged against as a dashed line.
fn users_latency<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &ChartData) -> Res<()> {
    let phases: Vec<&PhaseSummary> = d.users_phases().collect();
    let stages = || {
        phases
            .iter()
            .flat_map(|p| p.stages.iter())
            .filter_map(|s| Some((stage_users(s)?, s)))
    };
    let x_max = stages().map(|s| s.0).fold(1.0_f64, f64::max);
    let data_max = stages()
        .map(|s| s.1.all.latency_ms.p95)
        .fold(1.0_f64, f64::max);
    let limit = d.max_p95_ms.filter(|l| l.is_finite() && *l > 0.0);
    let drawn = limit.filter(|l| *l <= data_max * LIMIT_HEADROOM);
    let y_max = drawn.map_or(data_max, |l| l.max(data_max));
    frame(
        area,
        "Users vs latency (ms, from the actual send): p50 and p95 per stage",
        0.0..x_max * 1.05,
        0.0..y_max * 1.1,
        ("users", "ms"),
        |chart| {
            for (i, p) in phases.iter().enumerate() {
                let name = phase_prefix(p, phases.len());
                let pts = |f: fn(&crate::load::stats::Percentiles) -> f64| -> Vec<(f64, f64)> {
                    p.stages
                        .iter()
                        .filter_map(|s| Some((stage_users(s)?, f(&s.all.latency_ms))))
                        .collect()
                };
                let base = i * 2;
                draw_points(
                    chart,
                    pts(|l| l.p50),
                    COLORS[base % COLORS.len()],
                    format!("{name}p50"),
                )?;
                draw_points(
                    chart,
                    pts(|l| l.p95),
                    COLORS[(base + 1) % COLORS.len()],
                    format!("{name}p95"),
                )?;
            }
            match (limit, drawn) {
                (Some(l), Some(_)) => {
                    let x = chart.x_range();
                    draw_series(
                        chart,
                        vec![(x.start, l), (x.end, l)],
                        COLORS[3],
                        true,
                        format!("p95 limit {l} ms"),
                    )?;
                }
                (Some(l), None) => chart.legend.push((
                    format!("p95 limit {l} ms (above the plot)"),
                    ShapeStyle::from(&COLORS[3]).stroke_width(1),
                )),
                _ => {}
            }
            Ok(())
        },
    )
}

/// The targets' summed RSS at each closed stage's end against its users,
/// with the phase's least-squares line (`scalability.rss_mb_per_user`)
/// dashed through the points' centre.
fn users_rss<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &ChartData) -> Res<()> {
    let phases: Vec<(&PhaseSummary, Vec<(f64, f64)>)> =
        d.users_rss_phases().map(|p| (p, rss_points(p))).collect();
    let all = || phases.iter().flat_map(|(_, pts)| pts.iter());
    let x_max = all().map(|p| p.0).fold(1.0_f64, f64::max);
    let y_max = all().map(|p| p.1).fold(1.0_f64, f64::max);
    frame(
        area,
        "Users vs RSS: the targets' summed RSS at each stage's end (MB)",
        0.0..x_max * 1.05,
        0.0..y_max * 1.1,
        ("users", "MB"),
        |chart| {
            for (i, (p, pts)) in phases.iter().enumerate() {
                let name = phase_prefix(p, phases.len());
                let c = COLORS[(i * 2) % COLORS.len()];
                draw_points(chart, pts.clone(), c, format!("{name}targets' RSS"))?;
                let Some(sc) = p.scalability.as_ref() else {
                    continue;
                };
                let Some(m) = sc.rss_mb_per_user else {
                    continue;
                };
                // The least-squares line passes through the points' mean.
                let n = pts.len() as f64;
                let (mx, my) = pts
                    .iter()
                    .fold((0.0, 0.0), |(a, b), p| (a + p.0 / n, b + p.1 / n));
                let (lo, hi) = pts
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                        (lo.min(p.0), hi.max(p.0))
                    });
                let at = |x: f64| (x, my + m * (x - mx));
                let r2 = sc
                    .rss_r2
                    .map(|r| format!(", R² {r:.2}"))
                    .unwrap_or_default();
                draw_series(
                    chart,
                    vec![at(lo), at(hi)],
                    COLORS[(i * 2 + 1) % COLORS.len()],
                    true,
                    format!("{name}fit {m:.1} MB per user{r2}"),
                )?;
            }
            Ok(())
        },
    )
}

/// The chart as an SVG document.
pub fn render_svg(kind: ChartKind, d: &ChartData) -> Res<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, kind.size()).into_drawing_area();
        kind.draw(&root, d)?;
    }
    Ok(out)
}

/// The chart as a PNG file (8-bit RGB).
pub fn render_png(kind: ChartKind, d: &ChartData) -> Res<Vec<u8>> {
    let (w, h) = kind.size();
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        kind.draw(&root, d)?;
    }
    let mut png = Vec::new();
    let mut enc = png::Encoder::new(&mut png, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Best);
    enc.write_header()
        .and_then(|mut wr| wr.write_image_data(&rgb))
        .map_err(ChartError::Png)?;
    Ok(png)
}

/// Writes `<chart>.svg` and `<chart>.png` for every chart that applies.
pub fn write(dir: &Path, d: &ChartData) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut put = |name: String, bytes: Res<Vec<u8>>| -> anyhow::Result<()> {
        let bytes = bytes.map_err(|e| anyhow::anyhow!("chart {name}: {e}"))?;
        let p = dir.join(&name);
        std::fs::write(&p, bytes).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        out.push(p);
        Ok(())
    };
    for kind in ChartKind::ALL.into_iter().filter(|k| k.applies(d)) {
        put(
            format!("{}.svg", kind.stem()),
            render_svg(kind, d).map(String::into_bytes),
        )?;
        put(format!("{}.png", kind.stem()), render_png(kind, d))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline() -> Timeline {
        let mut t = Timeline::default();
        for i in 0..30 {
            let x = f64::from(i);
            push_bounded(
                &mut t.load,
                LoadPoint {
                    t_s: x,
                    target_rps: 5.0 + x,
                    achieved_rps: 5.0 + x * 0.9,
                    tools: [("fs:read_file".into(), (x, 2.0 * x, 3.0 * x))].into(),
                    llm: [("chat".into(), (200.0 + x, 20.0))].into(),
                },
            );
            t.temps
                .entry("cpu-thermal".into())
                .or_default()
                .push((x, 50.0 + x));
            t.memory.push(MemoryPoint {
                t_s: x,
                used_mb: Some(1000.0 + x),
                available_mb: Some(7000.0 - x),
            });
            t.rss
                .entry("llm-server (42)".into())
                .or_default()
                .push((x, 300.0 + x));
        }
        t.memory_total_mb = Some(8000.0);
        t.trips.insert("cpu-thermal".into(), 99.0);
        t
    }

    fn parses(svg: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}\n{svg}"))
    }

    fn texts(svg: &str) -> Vec<String> {
        let doc = parses(svg);
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert!(doc.descendants().any(|n| n.tag_name().name() == "polyline"));
        doc.descendants()
            .filter_map(|n| n.text())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn charts_are_well_formed_svg_with_their_labels() {
        let t = timeline();
        let d = ChartData {
            timeline: &t,
            run: None,
            max_p95_ms: None,
        };
        for (kind, needles) in [
            (
                ChartKind::Latency,
                vec!["fs:read_file p95", "fs:read_file p99"],
            ),
            (ChartKind::Rate, vec!["target", "achieved"]),
            (
                ChartKind::Temperatures,
                vec!["cpu-thermal", "cpu-thermal trip 99.0 °C"],
            ),
            (
                ChartKind::Memory,
                vec!["used", "available", "total 8000 MB", "llm-server (42)"],
            ),
        ] {
            let texts = texts(&render_svg(kind, &d).unwrap());
            for n in needles {
                assert!(texts.iter().any(|t| t.contains(n)), "{n} not in {texts:?}");
            }
        }
        assert!(!ChartKind::StressCurve.applies(&d));
    }

    /// A run with an open phase and, if `users` is not empty, a closed phase
    /// with one stage per entry: (users, p50, p95, the targets' RSS).
    fn users_run(users: &[(u32, f64, f64, Option<f64>)]) -> RunSummary {
        use crate::load::engine::{Scalability, StageSummary};
        use crate::load::stats::{Percentiles, ToolSummary};
        let stage = |users: Option<u32>, p50: f64, p95: f64, rss: Option<f64>| StageSummary {
            name: users.map_or_else(|| "hold".into(), |u| format!("{u} users")),
            target_rate: if users.is_some() { 0.0 } else { 10.0 },
            all: ToolSummary {
                count: 100,
                latency_ms: Percentiles {
                    p50,
                    p95,
                    ..Default::default()
                },
                ..Default::default()
            },
            users,
            target_rss_mb: rss,
            ..Default::default()
        };
        let phase = |name: &str, model: LoadModel, stages: Vec<StageSummary>| PhaseSummary {
            name: name.into(),
            kind: if model == LoadModel::Closed {
                crate::load::schedule::PhaseKind::Users
            } else {
                crate::load::schedule::PhaseKind::Custom
            },
            started_s: 0.0,
            duration_s: 10.0,
            status: "completed".into(),
            model,
            arrivals: None,
            users: None,
            scalability: None,
            stages,
            whole: vec![],
            breaking_point: None,
            spike: None,
            soak: None,
            invalid: None,
            sweep: None,
        };
        let mut phases = vec![phase(
            "open",
            LoadModel::Open,
            vec![
                stage(None, 5.0, 9.0, Some(50.0)),
                stage(None, 6.0, 12.0, Some(55.0)),
            ],
        )];
        if !users.is_empty() {
            let stages: Vec<StageSummary> = users
                .iter()
                .map(|&(u, p50, p95, rss)| stage(Some(u), p50, p95, rss))
                .collect();
            let mut closed = phase("population", LoadModel::Closed, stages);
            let rss: Vec<(f64, f64)> = users
                .iter()
                .filter_map(|&(u, _, _, rss)| Some((f64::from(u), rss?)))
                .collect();
            closed.scalability = Some(Scalability {
                rss_mb_per_user: crate::load::engine::slope(&rss),
                rss_r2: Some(0.99),
                p95_ms_per_user: None,
                points: users.len(),
            });
            phases.push(closed);
        }
        RunSummary {
            schema: "jetstress.run/1".into(),
            started_unix_ms: 0,
            elapsed_s: 20.0,
            in_flight: 0,
            phases,
            targets: vec![],
            generators: vec![],
            guard_events: vec![],
            console: Default::default(),
        }
    }

    fn count(svg: &str, tag: &str) -> usize {
        parses(svg)
            .descendants()
            .filter(|n| n.tag_name().name() == tag)
            .count()
    }

    #[test]
    fn users_charts_plot_each_stage_against_its_users() {
        let stages = [
            (2, 10.0, 20.0, Some(60.0)),
            (4, 20.0, 45.0, Some(78.0)),
            (8, 60.0, 150.0, Some(110.0)),
        ];
        let run = users_run(&stages);
        let t = Timeline::default();
        let d = ChartData {
            timeline: &t,
            run: Some(&run),
            max_p95_ms: Some(100.0),
        };
        assert!(ChartKind::UsersLatency.applies(&d));
        assert!(ChartKind::UsersRss.applies(&d));
        let has = |texts: &[String], n: &str| {
            assert!(texts.iter().any(|t| t.trim() == n), "{n} not in {texts:?}");
        };

        let svg = render_svg(ChartKind::UsersLatency, &d).unwrap();
        let labels = texts(&svg);
        for n in ["users", "ms", "p50", "p95", "p95 limit 100 ms"] {
            has(&labels, n);
        }
        // A marker per stage for p50 and for p95; the open phase is not drawn.
        assert_eq!(count(&svg, "circle"), 2 * stages.len(), "{svg}");

        let sc = run.phases[1].scalability.unwrap();
        let svg = render_svg(ChartKind::UsersRss, &d).unwrap();
        let labels = texts(&svg);
        let fit = format!(
            "fit {:.1} MB per user, R² {:.2}",
            sc.rss_mb_per_user.unwrap(),
            sc.rss_r2.unwrap()
        );
        for n in ["users", "MB", "targets' RSS", fit.as_str()] {
            has(&labels, n);
        }
        assert_eq!(count(&svg, "circle"), stages.len(), "{svg}");
        assert!(render_png(ChartKind::UsersRss, &d)
            .unwrap()
            .starts_with(b"\x89PNG"));

        // A limit far above the data is named, not drawn to squash it.
        let d = ChartData {
            max_p95_ms: Some(5000.0),
            ..d
        };
        let labels = texts(&render_svg(ChartKind::UsersLatency, &d).unwrap());
        has(&labels, "p95 limit 5000 ms (above the plot)");
        let d = ChartData {
            max_p95_ms: None,
            ..d
        };
        let labels = texts(&render_svg(ChartKind::UsersLatency, &d).unwrap());
        assert!(
            !labels.iter().any(|t| t.starts_with("p95 limit")),
            "{labels:?}"
        );
    }

    #[test]
    fn users_charts_need_a_closed_phase_of_two_stages() {
        let t = Timeline::default();
        let applies = |run: &RunSummary| {
            let d = ChartData {
                timeline: &t,
                run: Some(run),
                max_p95_ms: Some(100.0),
            };
            (
                ChartKind::UsersLatency.applies(&d),
                ChartKind::UsersRss.applies(&d),
            )
        };
        // Open phases only, even with RSS at every stage.
        assert_eq!(applies(&users_run(&[])), (false, false));
        assert_eq!(
            applies(&users_run(&[(4, 1.0, 2.0, Some(50.0))])),
            (false, false)
        );
        // Without the targets' RSS there is nothing to plot against users.
        assert_eq!(
            applies(&users_run(&[(2, 1.0, 2.0, None), (4, 2.0, 3.0, None)])),
            (true, false)
        );
        assert_eq!(
            applies(&users_run(&[
                (2, 1.0, 2.0, Some(5.0)),
                (4, 2.0, 3.0, Some(9.0))
            ])),
            (true, true)
        );
    }

    #[test]
    fn png_decodes_to_the_chart_size_with_ink_on_it() {
        let t = timeline();
        let d = ChartData {
            timeline: &t,
            run: None,
            max_p95_ms: None,
        };
        let bytes = render_png(ChartKind::Temperatures, &d).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), ChartKind::Temperatures.size());
        let px = &buf[..info.buffer_size()];
        // Mostly white canvas, with the series' blue (COLORS[0]) drawn on it.
        let white = px.chunks(3).filter(|p| p == &[255, 255, 255]).count();
        let blue = px.chunks(3).filter(|p| p == &[31, 119, 180]).count();
        let total = px.len() / 3;
        assert!(white > total / 2, "{white} of {total}");
        assert!(blue > 50, "{blue}");
    }

    #[test]
    fn empty_timelines_still_render_and_series_stay_bounded() {
        let t = Timeline::default();
        let d = ChartData {
            timeline: &t,
            run: None,
            max_p95_ms: None,
        };
        for kind in ChartKind::ALL {
            parses(&render_svg(kind, &d).unwrap());
            assert!(render_png(kind, &d).unwrap().starts_with(b"\x89PNG"));
        }
        let mut v = Vec::new();
        for i in 0..10 * MAX_POINTS {
            push_bounded(&mut v, i);
        }
        assert!(v.len() <= MAX_POINTS, "{}", v.len());
        assert_eq!(v[0], 0);
        assert_eq!(*v.last().unwrap(), 10 * MAX_POINTS - 1);
    }

    #[test]
    fn snapshot_times_count_from_the_origin() {
        let mut s = Snapshot::empty();
        s.time_unix_ms = 5_500;
        s.memory.used_mb = Some(10.0);
        let mut t = Timeline::with_origin(5_000);
        t.observe_snapshot(&s);
        assert_eq!(t.memory[0].t_s, 0.5);
        let mut t = Timeline::default();
        t.observe_snapshot(&s);
        assert_eq!(t.memory[0].t_s, 0.0);
        assert_eq!(t.origin_unix_ms, Some(5_500));
    }
}
