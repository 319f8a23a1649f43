//! Memory predictions: ETA until `MemAvailable` reaches the guard floor, and the
//! leak rate (MB/h, with a range) of each watched process's RSS and, where
//! the platform gives it, its GPU memory ([`LeakMemory`]).
//!
//! Both are a linear trend on a sliding window of running sums, O(1) per sample.

use super::human_eta;
use super::regression::{LinearFit, Point, Window};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `[predict.memory]`: ETA to the available-memory floor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemoryConfig {
    pub window_s: f64,
    pub max_samples: usize,
    pub min_samples: usize,
    pub min_span_s: f64,
    /// Floor as a fraction of total memory (default 0.15).
    pub floor_fraction: f64,
    /// Absolute floor in MB; wins over `floor_fraction` when set.
    pub floor_mb: Option<f64>,
    /// |slope| below this (MB/min) counts as steady.
    pub min_slope_mb_per_min: f64,
    pub min_slope_t: f64,
    pub confidence_z: f64,
    pub max_eta_s: f64,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            window_s: 120.0,
            max_samples: 4096,
            min_samples: 10,
            min_span_s: 10.0,
            floor_fraction: 0.15,
            floor_mb: None,
            min_slope_mb_per_min: 1.0,
            min_slope_t: 2.0,
            confidence_z: 1.645,
            max_eta_s: 24.0 * 3600.0,
        }
    }
}

/// Why a memory prediction has (or lacks) an ETA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryStatus {
    Ok,
    TooFewSamples,
    /// No meaningful trend, or one too slow to matter.
    Steady,
    /// Available memory is going up.
    Recovering,
    /// A downward trend not distinguishable from the noise.
    Noisy,
    /// Already at or below the floor.
    BelowFloor,
}

/// ETA until available memory reaches the floor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryPrediction {
    pub eta_s: Option<f64>,
    pub lo_s: Option<f64>,
    pub hi_s: Option<f64>,
    pub status: MemoryStatus,
    pub available_mb: f64,
    pub total_mb: f64,
    pub floor_mb: f64,
    /// Change of available memory, MB/min (negative = being used up).
    pub slope_mb_per_min: f64,
    pub message: String,
}

/// Linear trend of `MemAvailable` → ETA to the floor.
#[derive(Debug, Clone)]
pub struct MemoryPredictor {
    cfg: MemoryConfig,
    win: Window,
    last: Option<(f64, f64, f64)>,
}

impl MemoryPredictor {
    pub fn new(cfg: MemoryConfig) -> Self {
        let win = Window::new(cfg.window_s, cfg.max_samples);
        MemoryPredictor {
            cfg,
            win,
            last: None,
        }
    }

    /// Feeds one sample; non-finite values and non-advancing times are ignored.
    pub fn observe(&mut self, t_s: f64, available_mb: f64, total_mb: f64) {
        if !(t_s.is_finite() && available_mb.is_finite() && total_mb.is_finite()) {
            return;
        }
        if let Some((t_prev, _, _)) = self.last {
            if t_s <= t_prev {
                return;
            }
        }
        self.last = Some((t_s, available_mb, total_mb));
        self.win.push(Point {
            t: t_s,
            i: 0.0,
            y: available_mb,
        });
    }

    /// The floor in MB for a given total.
    pub fn floor_mb(&self, total_mb: f64) -> f64 {
        self.cfg
            .floor_mb
            .unwrap_or(self.cfg.floor_fraction * total_mb)
    }

    /// `None` before the first sample.
    pub fn predict(&self, now_s: f64) -> Option<MemoryPrediction> {
        let (t_last, avail, total) = self.last?;
        let cfg = &self.cfg;
        let floor = self.floor_mb(total);
        let fit = self.win.linear();
        let slope_min = fit.map_or(0.0, |f| f.slope * 60.0);
        let mut p = MemoryPrediction {
            eta_s: None,
            lo_s: None,
            hi_s: None,
            status: MemoryStatus::TooFewSamples,
            available_mb: avail,
            total_mb: total,
            floor_mb: floor,
            slope_mb_per_min: slope_min,
            message: String::new(),
        };
        if avail <= floor {
            p.status = MemoryStatus::BelowFloor;
            p.eta_s = Some(0.0);
            p.lo_s = Some(0.0);
            p.hi_s = Some(0.0);
            p.message =
                format!("available memory {avail:.0} MB is at or below the {floor:.0} MB floor");
            return Some(p);
        }
        let fit = match fit {
            Some(f) if self.win.len() >= cfg.min_samples && self.win.span() >= cfg.min_span_s => f,
            _ => {
                p.message = format!(
                    "memory: {} samples over {:.0} s, need {} over {:.0} s",
                    self.win.len(),
                    self.win.span(),
                    cfg.min_samples,
                    cfg.min_span_s
                );
                return Some(p);
            }
        };
        let t_stat = t_stat(&fit);
        if slope_min >= cfg.min_slope_mb_per_min && t_stat >= cfg.min_slope_t {
            p.status = MemoryStatus::Recovering;
            p.message = format!("available memory rising ({slope_min:+.0} MB/min)");
            return Some(p);
        }
        if -slope_min < cfg.min_slope_mb_per_min {
            p.status = MemoryStatus::Steady;
            p.message =
                format!("available memory steady at {avail:.0} MB ({slope_min:+.1} MB/min)");
            return Some(p);
        }
        if -t_stat < cfg.min_slope_t {
            p.status = MemoryStatus::Noisy;
            p.message =
                format!("available memory trend {slope_min:+.0} MB/min is within the noise");
            return Some(p);
        }
        let now_fit = fit.at(t_last);
        let eta_last = ((floor - now_fit) / fit.slope).max(0.0);
        let sd = fit.sd_of_crossing_time(t_last + eta_last);
        let eta = (eta_last - (now_s - t_last).max(0.0)).max(0.0);
        if eta > cfg.max_eta_s {
            p.status = MemoryStatus::Steady;
            p.message = format!("available memory falling slowly ({slope_min:+.1} MB/min)");
            return Some(p);
        }
        p.status = MemoryStatus::Ok;
        p.eta_s = Some(eta);
        p.lo_s = Some((eta - cfg.confidence_z * sd).max(0.0));
        p.hi_s = Some(eta + cfg.confidence_z * sd);
        p.message = format!(
            "available memory reaches the {floor:.0} MB floor in {}",
            human_eta(eta, p.lo_s, p.hi_s)
        );
        Some(p)
    }
}

fn t_stat(f: &LinearFit) -> f64 {
    if f.se_slope > 0.0 {
        f.slope / f.se_slope
    } else if f.slope > 0.0 {
        f64::INFINITY
    } else if f.slope < 0.0 {
        f64::NEG_INFINITY
    } else {
        0.0
    }
}

/// `[predict.leak]`: per-process growth of RSS and of GPU memory (one
/// threshold for both).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LeakConfig {
    /// Window, seconds (default 600 = 10 min).
    pub window_s: f64,
    pub max_samples: usize,
    pub min_samples: usize,
    /// No verdict before the window covers this many seconds.
    pub min_span_s: f64,
    /// Flag above this growth, MB/h (default 10).
    pub threshold_mb_per_h: f64,
    pub confidence_z: f64,
}

impl Default for LeakConfig {
    fn default() -> Self {
        LeakConfig {
            window_s: 600.0,
            max_samples: 4096,
            min_samples: 10,
            min_span_s: 120.0,
            threshold_mb_per_h: 10.0,
            confidence_z: 1.645,
        }
    }
}

/// Which memory of a watched entry a leak estimate is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LeakMemory {
    /// `VmRSS` of a process, `memory.current` of a cgroup.
    Rss,
    /// GPU memory (NVML per process, nvmap iovmm clients on a Jetson).
    Gpu,
}

impl LeakMemory {
    pub const ALL: [LeakMemory; 2] = [LeakMemory::Rss, LeakMemory::Gpu];

    /// `rss` or `gpu`: the wire word (`/metrics`, MCP) and the pane's.
    pub fn as_str(self) -> &'static str {
        match self {
            LeakMemory::Rss => "rss",
            LeakMemory::Gpu => "gpu",
        }
    }

    /// `RSS` or `GPU memory`, for sentences.
    pub fn words(self) -> &'static str {
        match self {
            LeakMemory::Rss => "RSS",
            LeakMemory::Gpu => "GPU memory",
        }
    }

    fn index(self) -> usize {
        match self {
            LeakMemory::Rss => 0,
            LeakMemory::Gpu => 1,
        }
    }
}

impl std::fmt::Display for LeakMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Leak rate of one memory of one process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeakEstimate {
    pub pid: u32,
    pub name: String,
    /// Which memory grows: `rss` or `gpu`.
    pub memory: LeakMemory,
    /// Growth, MB/h.
    pub slope_mb_per_h: f64,
    /// Range of the growth, MB/h.
    pub lo: f64,
    pub hi: f64,
    /// Growth above the threshold and significantly above zero.
    pub flagged: bool,
    /// The latest sample of that memory, MB.
    pub mb: f64,
    pub samples: usize,
    pub span_s: f64,
}

/// One memory's samples of one process: a bounded window and the latest.
#[derive(Debug, Clone)]
struct Series {
    win: Window,
    last_t: f64,
    last_mb: f64,
}

#[derive(Debug, Clone)]
struct Proc {
    name: String,
    /// By [`LeakMemory::index`]; a series starts with its first sample.
    series: [Option<Series>; 2],
}

impl Proc {
    fn last_t(&self) -> f64 {
        self.series
            .iter()
            .flatten()
            .map(|s| s.last_t)
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

/// Per-process slope of RSS and of GPU memory over a long window: at most
/// two windows of `max_samples` per watched entry.
#[derive(Debug, Clone)]
pub struct LeakDetector {
    cfg: LeakConfig,
    procs: BTreeMap<u32, Proc>,
    last_prune_t: f64,
}

impl LeakDetector {
    pub fn new(cfg: LeakConfig) -> Self {
        LeakDetector {
            cfg,
            procs: BTreeMap::new(),
            last_prune_t: f64::NEG_INFINITY,
        }
    }

    /// Feeds one RSS sample (see [`LeakDetector::observe_memory`]).
    pub fn observe(&mut self, t_s: f64, pid: u32, name: &str, rss_mb: f64) {
        self.observe_memory(t_s, pid, name, LeakMemory::Rss, rss_mb);
    }

    /// Feeds one sample of one memory. A pid that shows up under a new name
    /// is a new process (pid reuse) and starts over; a series silent for a
    /// whole window is forgotten, and a process with none left too.
    pub fn observe_memory(&mut self, t_s: f64, pid: u32, name: &str, memory: LeakMemory, mb: f64) {
        if !(t_s.is_finite() && mb.is_finite()) {
            return;
        }
        let cfg = &self.cfg;
        let proc = self.procs.entry(pid).or_insert_with(|| Proc {
            name: name.to_string(),
            series: [None, None],
        });
        if proc.name != name {
            proc.name = name.to_string();
            proc.series = [None, None];
        }
        let s = proc.series[memory.index()].get_or_insert_with(|| Series {
            win: Window::new(cfg.window_s, cfg.max_samples),
            last_t: f64::NEG_INFINITY,
            last_mb: mb,
        });
        if t_s > s.last_t {
            s.last_t = t_s;
            s.last_mb = mb;
            s.win.push(Point {
                t: t_s,
                i: 0.0,
                y: mb,
            });
        }
        if t_s - self.last_prune_t > self.cfg.window_s / 4.0 {
            self.last_prune_t = t_s;
            let keep_after = t_s - self.cfg.window_s;
            for p in self.procs.values_mut() {
                for s in &mut p.series {
                    if s.as_ref().is_some_and(|s| s.last_t < keep_after) {
                        *s = None;
                    }
                }
            }
            self.procs.retain(|_, p| p.last_t() >= keep_after);
        }
    }

    /// The RSS estimate for one process; `None` while its window is too short.
    pub fn estimate(&self, pid: u32) -> Option<LeakEstimate> {
        self.estimate_of(pid, LeakMemory::Rss)
    }

    /// The estimate for one memory of one process; `None` while that
    /// memory's window is too short (or it has none).
    pub fn estimate_of(&self, pid: u32, memory: LeakMemory) -> Option<LeakEstimate> {
        let p = self.procs.get(&pid)?;
        let s = p.series[memory.index()].as_ref()?;
        let cfg = &self.cfg;
        if s.win.len() < cfg.min_samples || s.win.span() < cfg.min_span_s {
            return None;
        }
        let f = s.win.linear()?;
        let per_h = f.slope * 3600.0;
        let half = cfg.confidence_z * f.se_slope * 3600.0;
        let lo = per_h - half;
        Some(LeakEstimate {
            pid,
            name: p.name.clone(),
            memory,
            slope_mb_per_h: per_h,
            lo,
            hi: per_h + half,
            flagged: per_h > cfg.threshold_mb_per_h && lo > 0.0,
            mb: s.last_mb,
            samples: s.win.len(),
            span_s: s.win.span(),
        })
    }

    /// Estimates of every memory with a long enough window, by pid, RSS
    /// before GPU.
    pub fn estimates(&self) -> Vec<LeakEstimate> {
        self.procs
            .keys()
            .flat_map(|&pid| {
                LeakMemory::ALL
                    .into_iter()
                    .filter_map(move |m| self.estimate_of(pid, m))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_eta_on_exact_line() {
        // 8000 MB total, floor 1200 MB; available 5000 − 10 MB/s → floor at t = 380 s.
        let mut m = MemoryPredictor::new(MemoryConfig::default());
        for k in 0..=60 {
            let t = f64::from(k);
            m.observe(t, 5000.0 - 10.0 * t, 8000.0);
        }
        let p = m.predict(60.0).unwrap();
        assert_eq!(p.status, MemoryStatus::Ok);
        assert!((p.floor_mb - 1200.0).abs() < 1e-9);
        assert!((p.eta_s.unwrap() - 320.0).abs() < 1e-6, "{:?}", p.eta_s);
    }

    #[test]
    fn memory_statuses() {
        let mut steady = MemoryPredictor::new(MemoryConfig::default());
        let mut rising = MemoryPredictor::new(MemoryConfig::default());
        let mut low = MemoryPredictor::new(MemoryConfig::default());
        for k in 0..60 {
            let t = f64::from(k);
            steady.observe(t, 4000.0, 8000.0);
            rising.observe(t, 2000.0 + 5.0 * t, 8000.0);
            low.observe(t, 1000.0, 8000.0);
        }
        assert_eq!(steady.predict(59.0).unwrap().status, MemoryStatus::Steady);
        assert_eq!(
            rising.predict(59.0).unwrap().status,
            MemoryStatus::Recovering
        );
        assert_eq!(low.predict(59.0).unwrap().status, MemoryStatus::BelowFloor);
        let mut short = MemoryPredictor::new(MemoryConfig::default());
        short.observe(0.0, 4000.0, 8000.0);
        assert_eq!(
            short.predict(0.0).unwrap().status,
            MemoryStatus::TooFewSamples
        );
        assert!(MemoryPredictor::new(MemoryConfig::default())
            .predict(0.0)
            .is_none());
    }

    #[test]
    fn leak_slope_and_flag() {
        let mut d = LeakDetector::new(LeakConfig::default());
        // pid 1 grows 36 MB/h (0.01 MB/s) with ±0.5 MB jitter; pid 2 is flat.
        for k in 0..600u32 {
            let t = f64::from(k);
            let jitter = if k % 2 == 0 { 0.5 } else { -0.5 };
            d.observe(t, 1, "leaky", 100.0 + 0.01 * t + jitter);
            d.observe(t, 2, "steady", 200.0 + jitter);
        }
        let e1 = d.estimate(1).unwrap();
        assert!(
            (e1.slope_mb_per_h - 36.0).abs() < 1.0,
            "{}",
            e1.slope_mb_per_h
        );
        assert!(e1.lo <= 36.0 && 36.0 <= e1.hi + 1.0);
        assert!(e1.flagged);
        let e2 = d.estimate(2).unwrap();
        assert!(!e2.flagged);
        assert!(e2.slope_mb_per_h.abs() < 1.0);
        assert_eq!(d.estimates().len(), 2);
    }

    #[test]
    fn leak_needs_span_and_handles_pid_reuse_and_staleness() {
        let mut d = LeakDetector::new(LeakConfig::default());
        for k in 0..60 {
            d.observe(f64::from(k), 7, "a", 100.0 + f64::from(k));
        }
        assert!(d.estimate(7).is_none(), "60 s < min_span 120 s");
        for k in 60..200 {
            d.observe(f64::from(k), 7, "a", 100.0 + f64::from(k));
        }
        assert!(d.estimate(7).unwrap().flagged);
        d.observe(200.0, 7, "b", 50.0);
        assert!(d.estimate(7).is_none(), "new name = new process");
        d.observe(2000.0, 8, "c", 1.0);
        assert!(!d.procs.contains_key(&7), "stale pid forgotten");
    }

    /// A process whose RSS holds still while its GPU memory grows: the GPU
    /// series is flagged at the slope of its samples, the RSS one is not.
    #[test]
    fn gpu_memory_is_a_second_series_per_process() {
        let mut d = LeakDetector::new(LeakConfig::default());
        let mut gpu = Vec::new();
        for k in 0..300u32 {
            let t = f64::from(k) * 2.0;
            // CUDA grows in 2 MiB pages: a step every 40 s, jitter ±0.5 MB on RSS.
            let g = 512.0 + 2.0 * f64::from(k / 20);
            gpu.push((t, g));
            d.observe(t, 9, "trtexec", 300.0 + if k % 2 == 0 { 0.5 } else { -0.5 });
            d.observe_memory(t, 9, "trtexec", LeakMemory::Gpu, g);
        }
        // The expected slope: least squares over the very samples fed.
        let n = gpu.len() as f64;
        let (mt, mg) = (
            gpu.iter().map(|p| p.0).sum::<f64>() / n,
            gpu.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxy: f64 = gpu.iter().map(|(t, g)| (t - mt) * (g - mg)).sum();
        let sxx: f64 = gpu.iter().map(|(t, _)| (t - mt) * (t - mt)).sum();
        let want_per_h = sxy / sxx * 3600.0;
        assert!(
            (want_per_h - 180.0).abs() < 10.0,
            "about 2 MB per 40 s: {want_per_h}"
        );

        let g = d.estimate_of(9, LeakMemory::Gpu).unwrap();
        assert_eq!(g.memory, LeakMemory::Gpu);
        assert!(
            (g.slope_mb_per_h - want_per_h).abs() < 1e-6 * want_per_h,
            "{} vs {want_per_h}",
            g.slope_mb_per_h
        );
        assert!(g.flagged && g.lo > 0.0 && g.lo <= want_per_h && want_per_h <= g.hi);
        assert_eq!(g.mb, gpu.last().unwrap().1);
        let r = d.estimate(9).unwrap();
        assert_eq!(r.memory, LeakMemory::Rss);
        assert!(!r.flagged, "{r:?}");
        let all = d.estimates();
        assert_eq!(
            all.iter().map(|e| e.memory).collect::<Vec<_>>(),
            [LeakMemory::Rss, LeakMemory::Gpu]
        );
        assert_eq!(serde_json::to_value(&g).unwrap()["memory"], "gpu");
    }

    #[test]
    fn a_gpu_series_that_stops_is_forgotten_while_rss_goes_on() {
        let mut d = LeakDetector::new(LeakConfig::default());
        for k in 0..200 {
            let t = f64::from(k);
            d.observe(t, 5, "a", 100.0);
            d.observe_memory(t, 5, "a", LeakMemory::Gpu, 10.0 + t);
        }
        assert!(d.estimate_of(5, LeakMemory::Gpu).unwrap().flagged);
        // The process frees its GPU context; RSS samples go on past a window.
        for k in 200..1000 {
            d.observe(f64::from(k), 5, "a", 100.0);
        }
        assert!(d.estimate_of(5, LeakMemory::Gpu).is_none());
        assert!(d.estimate(5).is_some());
        assert_eq!(d.estimates().len(), 1);
        // A reused pid starts both series over.
        d.observe_memory(1000.0, 5, "b", LeakMemory::Gpu, 1.0);
        assert!(d.estimate(5).is_none());
    }
}
