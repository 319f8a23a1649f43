//! The prediction tools' state and answers: the server feeds every collector
//! sample into its own predictors (throttle ETA per zone, memory ETA to the
//! floor, leak rate of watched processes) and `predict_throttle` /
//! `predict_memory` read them. Outputs are views with JSON schemas.

use schemars::JsonSchema;
use serde::Serialize;

use crate::predict::{LeakMemory, Predictors};
use crate::snapshot::Snapshot;

/// The prediction tools' answers, read from the server's predictors.
pub trait Views {
    /// `predict_throttle`.
    fn throttle(&self, s: &Snapshot) -> PredictThrottle;
    /// `predict_memory`.
    fn memory(&self) -> PredictMemory;
}

impl Views for Predictors {
    fn throttle(&self, s: &Snapshot) -> PredictThrottle {
        let p = self;
        let mut zones: Vec<ThrottlePrediction> = p
            .by_id()
            .into_iter()
            .map(|p| {
                let name = s
                    .thermal
                    .iter()
                    .find(|z| z.id == p.zone)
                    .map(|z| z.name.clone())
                    .unwrap_or(p.zone.clone());
                ThrottlePrediction {
                    message: p.message.replace(&p.zone, &name),
                    zone: name,
                    id: p.zone,
                    eta_s: p.eta_s,
                    lo_s: p.lo_s,
                    hi_s: p.hi_s,
                    model: p.model.as_str().to_string(),
                    status: serde_json::to_value(p.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    t_inf_c: p.t_inf_c,
                    trip_c: p.trip_c,
                    temp_c: p.temp_c,
                    slope_c_per_min: p.slope_c_per_min,
                }
            })
            .collect();
        zones.sort_by(|a, b| {
            a.eta_s
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.eta_s.unwrap_or(f64::INFINITY))
        });
        let soonest = zones.iter().find(|z| z.eta_s.is_some());
        PredictThrottle {
            soonest_zone: soonest.map(|z| z.zone.clone()),
            soonest_eta_s: soonest.and_then(|z| z.eta_s),
            window_s: p.config().window_s,
            zones,
        }
    }

    fn memory(&self) -> PredictMemory {
        let p = self;
        let m = p.memory_prediction();
        PredictMemory {
            eta_s: m.as_ref().and_then(|m| m.eta_s),
            lo_s: m.as_ref().and_then(|m| m.lo_s),
            hi_s: m.as_ref().and_then(|m| m.hi_s),
            status: m
                .as_ref()
                .and_then(|m| serde_json::to_value(m.status).ok())
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "no_data".to_string()),
            available_mb: m.as_ref().map(|m| m.available_mb),
            floor_mb: m.as_ref().map(|m| m.floor_mb),
            slope_mb_per_min: m.as_ref().map(|m| m.slope_mb_per_min),
            message: m
                .as_ref()
                .map_or_else(|| "no memory samples yet".into(), |m| m.message.clone()),
            leaks: p
                .leaks()
                .into_iter()
                .map(|l| LeakView {
                    pid: l.pid,
                    name: l.name,
                    memory: l.memory,
                    slope_mb_per_h: l.slope_mb_per_h,
                    lo_mb_per_h: l.lo,
                    hi_mb_per_h: l.hi,
                    flagged: l.flagged,
                    mb: l.mb,
                    rss_mb: (l.memory == LeakMemory::Rss).then_some(l.mb),
                })
                .collect(),
        }
    }
}

/// One zone's time to its throttle trip.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ThrottlePrediction {
    /// Zone name (`type`).
    pub zone: String,
    /// Zone id (unique when names repeat).
    pub id: String,
    /// Seconds until the trip is reached; null when no crossing is predicted.
    pub eta_s: Option<f64>,
    pub lo_s: Option<f64>,
    /// Upper end of the range; null with an ETA means "possibly never".
    pub hi_s: Option<f64>,
    /// `linear` or `newton`.
    pub model: String,
    /// `ok`, `too_few_samples`, `flat`, `falling`, `noisy`, `levelling_off`, `already_over`.
    pub status: String,
    /// Newton asymptote, °C.
    pub t_inf_c: Option<f64>,
    pub trip_c: f64,
    pub temp_c: f64,
    pub slope_c_per_min: f64,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PredictThrottle {
    /// Every zone with a trip, soonest ETA first.
    pub zones: Vec<ThrottlePrediction>,
    pub soonest_zone: Option<String>,
    pub soonest_eta_s: Option<f64>,
    /// Regression window, seconds.
    pub window_s: f64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LeakView {
    pub pid: u32,
    pub name: String,
    /// Which memory this is the growth of: `rss` (a cgroup's memory.current)
    /// or `gpu` (GPU memory, where the platform gives it per process).
    pub memory: LeakMemory,
    pub slope_mb_per_h: f64,
    pub lo_mb_per_h: f64,
    pub hi_mb_per_h: f64,
    /// Growth above 10 MB/h and significantly above zero.
    pub flagged: bool,
    /// The latest sample of that memory, MB.
    pub mb: f64,
    /// The latest RSS, MB, on `rss` entries (as before `memory` existed);
    /// null on `gpu` entries.
    pub rss_mb: Option<f64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PredictMemory {
    /// Seconds until `MemAvailable` reaches the floor (15 % of total); null when not heading there.
    pub eta_s: Option<f64>,
    pub lo_s: Option<f64>,
    pub hi_s: Option<f64>,
    /// `ok`, `too_few_samples`, `steady`, `recovering`, `noisy`, `below_floor`, `no_data`.
    pub status: String,
    pub available_mb: Option<f64>,
    pub floor_mb: Option<f64>,
    pub slope_mb_per_min: Option<f64>,
    pub message: String,
    /// Leak rate of each watched process.
    pub leaks: Vec<LeakView>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Memory, ThermalZone, Trip};

    fn snap(t: f64, temp: f64, avail: f64) -> Snapshot {
        let mut s = Snapshot::empty();
        s.elapsed_s = t;
        s.thermal.push(ThermalZone {
            id: "thermal_zone1".into(),
            name: "gpu-thermal".into(),
            source: "zone".into(),
            temp_c: Some(temp),
            online: true,
            trips: vec![Trip {
                kind: "passive".into(),
                temp_c: 99.0,
            }],
            ..Default::default()
        });
        s.memory = Memory {
            total_mb: Some(8000.0),
            available_mb: Some(avail),
            ..Default::default()
        };
        s
    }

    #[test]
    fn a_steady_rise_gives_the_eta_by_zone_name() {
        let mut p = Predictors::default();
        // 0.1 °C/s from 60 °C: at t = 120 s it is 72 °C, 27 °C below the trip → 270 s.
        let mut last = Snapshot::empty();
        for i in 0..=120 {
            last = snap(
                f64::from(i),
                60.0 + 0.1 * f64::from(i),
                6000.0 - 10.0 * f64::from(i),
            );
            p.observe(&last);
        }
        let v = p.throttle(&last);
        assert_eq!(v.soonest_zone.as_deref(), Some("gpu-thermal"));
        let eta = v.soonest_eta_s.unwrap();
        assert!((eta - 270.0).abs() < 15.0, "eta {eta}");
        assert!(
            v.zones[0].message.contains("gpu-thermal"),
            "{}",
            v.zones[0].message
        );
        assert_eq!(v.zones[0].id, "thermal_zone1");
        let m = p.memory();
        // 10 MB/s down from 4800 MB to the 1200 MB floor: 360 s.
        let eta = m.eta_s.unwrap();
        assert!((eta - 360.0).abs() < 20.0, "memory eta {eta}");
        assert_eq!(m.status, "ok");
    }

    #[test]
    fn no_samples_says_so() {
        let p = Predictors::default();
        assert_eq!(p.memory().status, "no_data");
        assert!(p.throttle(&Snapshot::empty()).zones.is_empty());
    }
}
