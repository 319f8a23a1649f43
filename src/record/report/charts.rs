//! Report charts as SVG (plotters' SVG backend; text uses its built-in font
//! metrics, so no system font libraries are needed — PNG is not produced for
//! that reason). [`Timeline`] gathers what the charts need during a run in
//! bounded memory; the `render_*` functions are pure (timeline in, SVG out).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::snapshot::Snapshot;
use crate::workloads::engine::LoadWindow;

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
    /// tool → (p50, p95, p99).
    pub tools: BTreeMap<String, (f64, f64, f64)>,
}

/// Time series for the charts, bounded by [`MAX_POINTS`] per series.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    pub load: Vec<LoadPoint>,
    /// zone → (t_s, °C).
    pub temps: BTreeMap<String, Vec<(f64, f64)>>,
    /// zone → throttle trip, °C.
    pub trips: BTreeMap<String, f64>,
}

impl Timeline {
    pub fn observe_window(&mut self, w: &LoadWindow) {
        if w.all.count == 0 && w.target_rate == 0.0 {
            return;
        }
        push_bounded(
            &mut self.load,
            LoadPoint {
                t_s: w.elapsed_s,
                target_rps: w.target_rate,
                achieved_rps: w.all.rps,
                tools: w
                    .tools
                    .iter()
                    .filter(|t| t.count > 0)
                    .map(|t| {
                        let l = &t.latency_ms;
                        (t.tool.clone(), (l.p50, l.p95, l.p99))
                    })
                    .collect(),
            },
        );
    }

    /// `t_s`: seconds since the run started.
    pub fn observe_snapshot(&mut self, t_s: f64, s: &Snapshot) {
        for z in s.thermal.iter().filter(|z| z.online) {
            if let Some(t) = z.temp_c.filter(|t| t.is_finite()) {
                push_bounded(self.temps.entry(z.name.clone()).or_default(), (t_s, t));
            }
            if let Some(trip) = z.throttle_trip_c() {
                self.trips.insert(z.name.clone(), trip);
            }
        }
    }
}

type Res<T> = Result<T, String>;

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn x_range(t: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let max = t.fold(0.0_f64, f64::max);
    0.0..max.max(1.0)
}

fn draw_series(
    chart: &mut Chart<'_, '_>,
    points: Vec<(f64, f64)>,
    color: RGBColor,
    dashed: bool,
    label: String,
) -> Res<()> {
    let style = ShapeStyle::from(&color).stroke_width(if dashed { 1 } else { 2 });
    let anno = if dashed {
        chart
            .draw_series(DashedLineSeries::new(points, 6, 4, style))
            .map_err(err)?
    } else {
        chart
            .draw_series(LineSeries::new(points, style))
            .map_err(err)?
    };
    anno.label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
    Ok(())
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

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The frame every chart shares: white SVG canvas, caption, axes with
/// descriptions, mesh, and the legend drawn after `series` has drawn the lines.
fn render_chart(
    size: (u32, u32),
    caption: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    (x_desc, y_desc): (&str, &str),
    series: impl FnOnce(&mut Chart<'_, '_>) -> Res<()>,
) -> Res<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(x, y)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()
            .map_err(err)?;
        series(&mut chart)?;
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}

/// Per-tool p50 and p95 (and p99 dashed) latency over time, log-free ms axis.
pub fn render_latency(t: &Timeline) -> Res<String> {
    let y_max = t
        .load
        .iter()
        .flat_map(|p| p.tools.values().map(|v| v.2))
        .fold(1.0_f64, f64::max);
    let tools: Vec<&String> = t
        .load
        .iter()
        .flat_map(|p| p.tools.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    render_chart(
        (960, 480),
        "Latency per tool (ms, from the scheduled send time)",
        x_range(t.load.iter().map(|p| p.t_s)),
        0.0..y_max * 1.05,
        ("run time (s)", "ms"),
        |chart| {
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

/// Achieved vs target request rate over time.
pub fn render_rate(t: &Timeline) -> Res<String> {
    let y_max = t
        .load
        .iter()
        .map(|p| p.target_rps.max(p.achieved_rps))
        .fold(1.0_f64, f64::max);
    render_chart(
        (960, 360),
        "Request rate (req/s): target vs achieved",
        x_range(t.load.iter().map(|p| p.t_s)),
        0.0..y_max * 1.1,
        ("run time (s)", "req/s"),
        |chart| {
            let target = t.load.iter().map(|p| (p.t_s, p.target_rps)).collect();
            let achieved = t.load.iter().map(|p| (p.t_s, p.achieved_rps)).collect();
            draw_series(chart, target, COLORS[7], true, "target".into())?;
            draw_series(chart, achieved, COLORS[0], false, "achieved".into())
        },
    )
}

/// Zone temperatures over time with each zone's throttle trip as a dashed line.
pub fn render_temperatures(t: &Timeline) -> Res<String> {
    let all = t.temps.values().flatten();
    let lo = all
        .clone()
        .map(|p| p.1)
        .chain(t.trips.values().copied())
        .fold(f64::INFINITY, f64::min);
    let hi = all
        .clone()
        .map(|p| p.1)
        .chain(t.trips.values().copied())
        .fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() {
        (lo - 5.0, hi + 5.0)
    } else {
        (0.0, 100.0)
    };
    render_chart(
        (960, 480),
        "Temperatures (°C) and throttle trips (dashed)",
        x_range(all.map(|p| p.0)),
        lo..hi,
        ("run time (s)", "°C"),
        |chart| {
            let x_end = chart.x_range().end;
            for (i, (zone, pts)) in t.temps.iter().enumerate() {
                let c = COLORS[i % COLORS.len()];
                draw_series(chart, pts.clone(), c, false, zone.clone())?;
                if let Some(trip) = t.trips.get(zone) {
                    draw_series(
                        chart,
                        vec![(0.0, *trip), (x_end, *trip)],
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

/// Writes `latency.svg`, `rate.svg` and `temperatures.svg` into `dir`.
pub fn write(dir: &Path, t: &Timeline) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for (name, svg) in [
        ("latency.svg", render_latency(t)),
        ("rate.svg", render_rate(t)),
        ("temperatures.svg", render_temperatures(t)),
    ] {
        let svg = svg.map_err(|e| anyhow::anyhow!("chart {name}: {e}"))?;
        let p = dir.join(name);
        std::fs::write(&p, svg).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline() -> Timeline {
        let mut t = Timeline::default();
        for i in 0..30 {
            let x = i as f64;
            push_bounded(
                &mut t.load,
                LoadPoint {
                    t_s: x,
                    target_rps: 5.0 + x,
                    achieved_rps: 5.0 + x * 0.9,
                    tools: [("fs:read_file".to_string(), (x, 2.0 * x, 3.0 * x))].into(),
                },
            );
            t.temps
                .entry("cpu-thermal".into())
                .or_default()
                .push((x, 50.0 + x));
        }
        t.trips.insert("cpu-thermal".into(), 99.0);
        t
    }

    fn parses(svg: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}\n{svg}"))
    }

    #[test]
    fn charts_are_well_formed_svg_with_their_labels() {
        let t = timeline();
        for (svg, needles) in [
            (
                render_latency(&t).unwrap(),
                vec!["fs:read_file p95", "fs:read_file p99"],
            ),
            (render_rate(&t).unwrap(), vec!["target", "achieved"]),
            (
                render_temperatures(&t).unwrap(),
                vec!["cpu-thermal", "cpu-thermal trip 99.0 °C"],
            ),
        ] {
            let doc = parses(&svg);
            assert_eq!(doc.root_element().tag_name().name(), "svg");
            let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
            for n in needles {
                assert!(texts.iter().any(|t| t.contains(n)), "{n} not in {texts:?}");
            }
            assert!(doc.descendants().any(|n| n.tag_name().name() == "polyline"));
        }
    }

    #[test]
    fn empty_timelines_still_render_and_series_stay_bounded() {
        let t = Timeline::default();
        parses(&render_latency(&t).unwrap());
        parses(&render_temperatures(&t).unwrap());
        let mut v = Vec::new();
        for i in 0..10 * MAX_POINTS {
            push_bounded(&mut v, i);
        }
        assert!(v.len() <= MAX_POINTS, "{}", v.len());
        assert_eq!(v[0], 0);
        assert_eq!(*v.last().unwrap(), 10 * MAX_POINTS - 1);
    }
}
