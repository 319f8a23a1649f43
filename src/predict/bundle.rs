//! [`Predictors`]: the thermal, memory and leak predictors fed from one
//! snapshot stream. The dashboard, `mcp-serve` and the run's report observer
//! all hold this one type, so every reader predicts from the same inputs
//! (every zone by id, the CPU load, memory against the floor, each watched
//! process's RSS and GPU memory). [`Predictors::planned`] gives each zone's ETA under a
//! planned load ([`LoadPlan`]), for the plan's remaining stages.

use crate::predict::memory::{
    LeakConfig, LeakDetector, LeakEstimate, LeakMemory, MemoryConfig, MemoryPrediction,
    MemoryPredictor,
};
use crate::predict::thermal::{ThermalPredictor, ZonePrediction};
use crate::predict::{LoadPlan, PredictConfig};
use crate::snapshot::Snapshot;

#[derive(Debug, Clone)]
pub struct Predictors {
    config: PredictConfig,
    thermal: ThermalPredictor,
    memory: MemoryPredictor,
    leaks: LeakDetector,
    now_s: f64,
}

impl Default for Predictors {
    fn default() -> Self {
        Predictors::new(PredictConfig::default())
    }
}

impl Predictors {
    pub fn new(config: PredictConfig) -> Predictors {
        Predictors {
            thermal: ThermalPredictor::new(config.clone()),
            memory: MemoryPredictor::new(MemoryConfig {
                floor_fraction: config
                    .memory_floor_pct
                    .map_or(MemoryConfig::default().floor_fraction, |p| p / 100.0),
                ..MemoryConfig::default()
            }),
            leaks: LeakDetector::new(LeakConfig::default()),
            config,
            now_s: 0.0,
        }
    }

    pub fn config(&self) -> &PredictConfig {
        &self.config
    }

    /// Forget everything (a replay seek, new settings): predictions start over.
    pub fn reset(&mut self) {
        *self = Predictors::new(self.config.clone());
    }

    /// Feed one sample, at the snapshot's own time.
    pub fn observe(&mut self, s: &Snapshot) {
        let t = s.elapsed_s;
        self.now_s = t;
        self.thermal.observe_load(s.cpu.util_pct.map(|p| p / 100.0));
        for z in &s.thermal {
            self.thermal
                .observe(t, &z.id, z.temp_c, z.throttle_trip_c());
        }
        if let (Some(avail), Some(total)) = (s.memory.available_mb, s.memory.total_mb) {
            self.memory.observe(t, avail, total);
        }
        for w in &s.watched {
            if let Some(rss) = w.rss_mb {
                self.leaks.observe(t, w.pid, &w.name, rss);
            }
            if let Some(gpu) = w.gpu_mem_mb {
                self.leaks
                    .observe_memory(t, w.pid, &w.name, LeakMemory::Gpu, gpu);
            }
        }
    }

    /// Time of the latest sample (the snapshot's `elapsed_s`).
    pub fn now_s(&self) -> f64 {
        self.now_s
    }

    /// Per-zone predictions by zone id, in the predictor's order.
    pub fn by_id(&self) -> Vec<ZonePrediction> {
        self.thermal.predictions(self.now_s)
    }

    /// Per-zone predictions as an operator reads them: zones by name (the id
    /// beside it where names repeat), soonest ETA first, hotter first on a tie.
    pub fn named(&self, s: &Snapshot) -> Vec<ZonePrediction> {
        let mut preds = self.by_id();
        for p in &mut preds {
            name_zone(s, p);
        }
        preds.sort_by(|a, b| {
            let ka = a.eta_s.unwrap_or(f64::INFINITY);
            let kb = b.eta_s.unwrap_or(f64::INFINITY);
            ka.total_cmp(&kb)
                .then_with(|| b.temp_c.total_cmp(&a.temp_c))
        });
        preds
    }

    /// Per-zone ETAs (by zone id) under a planned load: `plan` counts from
    /// the latest sample, loads 0–1 (the CPU busy fraction the plan's stages
    /// will cause). The load-aware model only; see `docs/predictions.md`.
    pub fn planned(&self, plan: &LoadPlan) -> Vec<ZonePrediction> {
        let f = |s: f64| plan.at(s);
        self.thermal
            .zone_ids()
            .filter_map(|z| self.thermal.predict_load(z, self.now_s, Some(&f)))
            .collect()
    }

    /// Per-zone ETAs (by zone id) of the load-aware model at the current load.
    pub fn at_this_load(&self) -> Vec<ZonePrediction> {
        self.thermal
            .zone_ids()
            .filter_map(|z| self.thermal.predict_load(z, self.now_s, None))
            .collect()
    }

    /// One zone's ETA (by id) of the load-aware model at the current load:
    /// what [`Self::at_this_load`] gives for it, at the cost of one zone.
    pub fn at_this_load_for(&self, zone_id: &str) -> Option<ZonePrediction> {
        self.thermal.predict_load(zone_id, self.now_s, None)
    }

    /// One zone's ETA (by id) under a planned load: what [`Self::planned`]
    /// gives for it, at the cost of one zone (it steps the model's
    /// trajectory and its first passage; see Cost in `docs/predictions.md`).
    pub fn planned_for(&self, zone_id: &str, plan: &LoadPlan) -> Option<ZonePrediction> {
        let f = |s: f64| plan.at(s);
        self.thermal.predict_load(zone_id, self.now_s, Some(&f))
    }

    pub fn memory_prediction(&self) -> Option<MemoryPrediction> {
        self.memory.predict(self.now_s)
    }

    /// Leak estimates of every watched entry, RSS and GPU memory apart.
    pub fn leaks(&self) -> Vec<LeakEstimate> {
        self.leaks.estimates()
    }
}

/// A zone as [`Predictors::named`] shows it: its name, with the id beside it
/// where names repeat; the id where the snapshot does not list it.
pub fn zone_label(s: &Snapshot, zone_id: &str) -> String {
    match s.thermal.iter().find(|z| z.id == zone_id) {
        Some(z) if s.thermal.iter().filter(|o| o.name == z.name).count() > 1 => {
            format!("{} ({})", z.name, z.id)
        }
        Some(z) => z.name.clone(),
        None => zone_id.to_string(),
    }
}

/// The zone id behind a label of [`zone_label`].
pub fn zone_id_of<'a>(s: &'a Snapshot, label: &str) -> Option<&'a str> {
    s.thermal
        .iter()
        .find(|z| zone_label(s, &z.id) == label)
        .map(|z| z.id.as_str())
}

/// A prediction by zone id renamed as the operator reads it (its message too).
pub fn name_zone(s: &Snapshot, p: &mut ZonePrediction) {
    if s.thermal.iter().any(|z| z.id == p.zone) {
        let shown = zone_label(s, &p.zone);
        p.message = p.message.replace(&p.zone, &shown);
        p.zone = shown;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A watched server whose GPU memory grows 1 MB every 10 s (360 MB/h)
    /// while its RSS holds: the bundle's estimates flag the GPU memory only.
    #[test]
    fn a_growing_gpu_memory_is_flagged_from_snapshots() {
        let mut p = Predictors::default();
        let mut s = Snapshot::empty();
        for i in 0..=180 {
            s.elapsed_s = f64::from(i);
            s.watched = vec![crate::snapshot::WatchedProcess {
                pid: 4242,
                name: "llama-server".into(),
                rss_mb: Some(800.0),
                gpu_mem_mb: Some(4096.0 + f64::from(i) / 10.0),
                alive: true,
                ..Default::default()
            }];
            p.observe(&s);
        }
        let leaks = p.leaks();
        assert_eq!(leaks.len(), 2, "{leaks:?}");
        let (rss, gpu) = (&leaks[0], &leaks[1]);
        assert_eq!((rss.memory, gpu.memory), (LeakMemory::Rss, LeakMemory::Gpu));
        assert!(!rss.flagged && rss.slope_mb_per_h.abs() < 1e-6, "{rss:?}");
        assert!(gpu.flagged, "{gpu:?}");
        assert!((gpu.slope_mb_per_h - 360.0).abs() < 1e-6, "{gpu:?}");
        assert!((gpu.mb - 4114.0).abs() < 1e-9, "{gpu:?}");
    }

    /// The memory ETA aims at the run's guard floor: available memory
    /// falling 10 MB/s from 8 000 of 10 000 MB reaches a 60 % floor
    /// (6 000 MB) 200 s after the start, the default 15 % one much later.
    #[test]
    fn the_memory_eta_aims_at_the_guard_floor() {
        let eta = |floor_pct: Option<f64>| {
            let mut p = Predictors::new(PredictConfig {
                memory_floor_pct: floor_pct,
                ..PredictConfig::default()
            });
            let mut s = Snapshot::empty();
            s.memory.total_mb = Some(10_000.0);
            for i in 0..=60 {
                s.elapsed_s = f64::from(i);
                s.memory.available_mb = Some(8_000.0 - 10.0 * f64::from(i));
                p.observe(&s);
            }
            let m = p.memory_prediction().unwrap();
            (m.floor_mb, m.eta_s.unwrap())
        };
        let (floor, at_60) = eta(Some(60.0));
        assert!((floor - 6_000.0).abs() < 1e-6, "{floor}");
        // 7 400 MB left at t = 60 s: 1 400 MB to go at 10 MB/s.
        assert!((at_60 - 140.0).abs() < 1.4, "{at_60}");
        let (floor, default) = eta(None);
        assert!((floor - 1_500.0).abs() < 1e-6, "{floor}");
        assert!(default > at_60 * 4.0, "{default}");
    }
}
