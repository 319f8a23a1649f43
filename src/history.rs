//! Bounded time-series history, the one kind the crate keeps: one ring
//! buffer per series, trimmed by age (retention) and by a hard point cap, so
//! a 24-hour session holds steady memory. The dashboard's charts read a
//! [`Store`] of them; `mcp-serve`'s diagnosis trends are [`Series`] too.

use std::collections::{BTreeMap, VecDeque};

use crate::snapshot::Snapshot;

/// One series of `(elapsed_s, value)` points with retention.
#[derive(Debug, Clone)]
pub struct Series {
    points: VecDeque<(f64, f64)>,
    retention_s: f64,
    cap: usize,
}

impl Series {
    pub fn new(retention_s: f64, cap: usize) -> Self {
        Series {
            points: VecDeque::with_capacity(cap.min(1024)),
            retention_s,
            cap: cap.max(2),
        }
    }

    pub fn push(&mut self, t: f64, v: f64) {
        if let Some(&(last, _)) = self.points.back() {
            if t < last {
                // Time went backwards (replay seek): start over rather than draw a loop.
                self.points.clear();
            }
        }
        self.points.push_back((t, v));
        while self.points.len() > self.cap {
            self.points.pop_front();
        }
        while let Some(&(t0, _)) = self.points.front() {
            if t - t0 > self.retention_s {
                self.points.pop_front();
            } else {
                break;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    pub fn last(&self) -> Option<(f64, f64)> {
        self.points.back().copied()
    }

    /// Points with `t >= from`, copied into `out` (reused buffer, no allocation per frame).
    pub fn window_into(&self, from: f64, to: f64, out: &mut Vec<(f64, f64)>) {
        out.clear();
        out.extend(
            self.points
                .iter()
                .copied()
                .filter(|&(t, _)| t >= from && t <= to),
        );
    }

    /// Like [`Series::window_into`], but at most about `max_points` points: each
    /// of `max_points / 2` time buckets keeps its minimum and maximum (in time
    /// order), so spikes survive while a chart draws no more than it can show.
    pub fn window_decimated(
        &self,
        from: f64,
        to: f64,
        max_points: usize,
        out: &mut Vec<(f64, f64)>,
    ) {
        out.clear();
        let buckets = (max_points / 2).max(1);
        let width = (to - from).max(f64::EPSILON) / buckets as f64;
        // (bucket, lowest point, highest point)
        type Bucket = (usize, (f64, f64), (f64, f64));
        let mut current: Option<Bucket> = None;
        let flush = |out: &mut Vec<(f64, f64)>, lo: (f64, f64), hi: (f64, f64)| {
            if lo == hi {
                out.push(lo);
            } else if lo.0 <= hi.0 {
                out.push(lo);
                out.push(hi);
            } else {
                out.push(hi);
                out.push(lo);
            }
        };
        for &(t, v) in self.points.iter().filter(|&&(t, _)| t >= from && t <= to) {
            let b = ((t - from) / width) as usize;
            match current.as_mut() {
                Some((cb, lo, hi)) if *cb == b => {
                    if v < lo.1 {
                        *lo = (t, v);
                    }
                    if v > hi.1 {
                        *hi = (t, v);
                    }
                }
                _ => {
                    if let Some((_, lo, hi)) = current.take() {
                        flush(out, lo, hi);
                    }
                    current = Some((b, (t, v), (t, v)));
                }
            }
        }
        if let Some((_, lo, hi)) = current {
            flush(out, lo, hi);
        }
    }

    /// Min and max value among points in `[from, to]`.
    pub fn range(&self, from: f64, to: f64) -> Option<(f64, f64)> {
        self.points
            .iter()
            .filter(|&&(t, _)| t >= from && t <= to)
            .fold(None, |acc, &(_, v)| {
                Some(acc.map_or((v, v), |(lo, hi): (f64, f64)| (lo.min(v), hi.max(v))))
            })
    }

    pub fn values(&self) -> impl Iterator<Item = &(f64, f64)> + Clone {
        self.points.iter()
    }
}

/// Every series the dashboard charts, keyed by stable ids.
#[derive(Debug, Clone)]
pub struct Store {
    retention_s: f64,
    cap: usize,
    /// Per thermal zone id.
    pub zones: BTreeMap<String, Series>,
    pub mem_used: Series,
    pub mem_available: Series,
    pub swap_used: Series,
    /// Per watched pid.
    pub rss: BTreeMap<u32, Series>,
    pub cpu_util: Series,
    pub gpu_load: Series,
    pub power_total: Series,
    /// Most series a store will hold per map (zones, watched processes).
    max_keys: usize,
    latest_t: f64,
}

impl Store {
    /// `retention_s`: how much history to keep; `interval_s`: sampling interval
    /// (sets the point cap, with slack for jitter).
    pub fn new(retention_s: f64, interval_s: f64) -> Self {
        let cap = ((retention_s / interval_s.max(0.05)) * 1.2) as usize + 16;
        let s = || Series::new(retention_s, cap);
        Store {
            retention_s,
            cap,
            zones: BTreeMap::new(),
            mem_used: s(),
            mem_available: s(),
            swap_used: s(),
            rss: BTreeMap::new(),
            cpu_util: s(),
            gpu_load: s(),
            power_total: s(),
            max_keys: 64,
            latest_t: 0.0,
        }
    }

    pub fn retention_s(&self) -> f64 {
        self.retention_s
    }

    pub fn latest_t(&self) -> f64 {
        self.latest_t
    }

    pub fn push(&mut self, s: &Snapshot) {
        let t = s.elapsed_s;
        self.latest_t = t;
        let (retention, cap) = (self.retention_s, self.cap);
        for z in &s.thermal {
            if let Some(temp) = z.temp_c {
                if !self.zones.contains_key(&z.id) && self.zones.len() >= self.max_keys {
                    continue;
                }
                self.zones
                    .entry(z.id.clone())
                    .or_insert_with(|| Series::new(retention, cap))
                    .push(t, temp);
            }
        }
        let m = &s.memory;
        if let Some(v) = m.used_mb {
            self.mem_used.push(t, v);
        }
        if let Some(v) = m.available_mb {
            self.mem_available.push(t, v);
        }
        if let Some(v) = m.swap_used_mb {
            self.swap_used.push(t, v);
        }
        for w in &s.watched {
            if let Some(v) = w.rss_mb {
                if !self.rss.contains_key(&w.pid) && self.rss.len() >= self.max_keys {
                    continue;
                }
                self.rss
                    .entry(w.pid)
                    .or_insert_with(|| Series::new(retention, cap))
                    .push(t, v);
            }
        }
        // Forget processes that are gone and whose history has aged out.
        self.rss
            .retain(|_, series| series.last().is_some_and(|(lt, _)| t - lt <= retention));
        if let Some(v) = s.cpu.util_pct {
            self.cpu_util.push(t, v);
        }
        if let Some(v) = s.gpus.iter().filter_map(|g| g.load_pct).reduce(f64::max) {
            self.gpu_load.push(t, v);
        }
        if let Some(v) = s.power.total_mw {
            self.power_total.push(t, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Memory, ThermalZone};

    #[test]
    fn retention_and_cap_bound_the_series() {
        let mut s = Series::new(10.0, 1000);
        for i in 0..100 {
            s.push(f64::from(i), f64::from(i));
        }
        assert_eq!(s.len(), 11, "only the last 10 s are kept");
        let mut capped = Series::new(1e9, 5);
        for i in 0..100 {
            capped.push(f64::from(i), 0.0);
        }
        assert_eq!(capped.len(), 5);
        let mut buf = Vec::new();
        s.window_into(95.0, 99.0, &mut buf);
        assert_eq!(buf.len(), 5);
        assert_eq!(s.range(90.0, 99.0), Some((90.0, 99.0)));
    }

    #[test]
    fn a_day_of_samples_holds_steady_memory() {
        let mut store = Store::new(600.0, 1.0);
        let mut snap = Snapshot::empty();
        snap.thermal.push(ThermalZone {
            id: "z0".into(),
            temp_c: Some(40.0),
            online: true,
            ..Default::default()
        });
        snap.memory = Memory {
            used_mb: Some(1.0),
            available_mb: Some(2.0),
            ..Default::default()
        };
        for i in 0..86_400 {
            snap.elapsed_s = f64::from(i);
            store.push(&snap);
        }
        assert!(store.zones["z0"].len() <= 601);
        assert!(store.mem_used.len() <= 601);
    }

    #[test]
    fn decimation_keeps_extremes_and_bounds_points() {
        let mut s = Series::new(1e9, 100_000);
        for i in 0..10_000 {
            let v = if i == 5_000 { 99.0 } else { f64::from(i % 7) };
            s.push(f64::from(i), v);
        }
        let mut out = Vec::new();
        s.window_decimated(0.0, 9_999.0, 200, &mut out);
        assert!(out.len() <= 202, "{}", out.len());
        assert!(out.iter().any(|p| p.1 == 99.0), "the spike survives");
        assert!(out.windows(2).all(|w| w[0].0 <= w[1].0), "time order kept");
        let mut few = Vec::new();
        s.window_decimated(0.0, 3.0, 200, &mut few);
        assert_eq!(few.len(), 4, "sparse data passes through");
    }

    #[test]
    fn time_going_backwards_restarts_the_series() {
        let mut s = Series::new(100.0, 100);
        s.push(50.0, 1.0);
        s.push(10.0, 2.0);
        assert_eq!(s.len(), 1);
        assert_eq!(s.last(), Some((10.0, 2.0)));
    }
}
