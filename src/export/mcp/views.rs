//! The tools' output contract: one `#[derive(Serialize, JsonSchema)]` type per
//! status tool (so each output schema is generated from the very type that is
//! serialised), built from a [`Snapshot`] by pure functions, plus each tool's
//! one-paragraph text summary. No I/O here: tests feed snapshots.

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::Serialize;

use crate::snapshot::{CoolingDevice, Fan, Gpu, ProbeError, Rail, Snapshot, Trip, WatchedProcess};

/// A probe that could not read in the sample this answer comes from.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProbeFailure {
    pub probe: String,
    pub message: String,
}

/// The probe failures whose probe is one of `probes` (plus the collector's own).
pub fn failures(errors: &[ProbeError], probes: &[&str]) -> Vec<ProbeFailure> {
    errors
        .iter()
        .filter(|e| {
            e.probe == "collector" || probes.is_empty() || probes.contains(&e.probe.as_str())
        })
        .map(|e| ProbeFailure {
            probe: e.probe.clone(),
            message: e.message.clone(),
        })
        .collect()
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ZoneView {
    pub id: String,
    pub name: String,
    /// `zone` (kernel thermal zone) or `hwmon`.
    pub source: String,
    pub temp_c: Option<f64>,
    pub online: bool,
    pub offline_reason: Option<String>,
    pub trips: Vec<Trip>,
    /// Lowest passive/hot trip: where throttling starts.
    pub throttle_trip_c: Option<f64>,
    /// Lowest critical trip: where the board shuts down.
    pub critical_trip_c: Option<f64>,
    /// `throttle_trip_c - temp_c` when both are known.
    pub headroom_c: Option<f64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ThermalStatus {
    /// Wall-clock time of the sample answered from (ms since the Unix epoch).
    pub sample_time_unix_ms: u64,
    pub zones: Vec<ZoneView>,
    /// Id of the hottest online zone.
    pub hottest_zone: Option<String>,
    pub hottest_temp_c: Option<f64>,
    /// Ids of zones that are present but cannot be read (power-gated, errors).
    pub offline_zones: Vec<String>,
    pub cooling: Vec<CoolingDevice>,
    pub throttled: bool,
    pub throttle_reasons: Vec<String>,
    pub probe_errors: Vec<ProbeFailure>,
}

pub fn thermal_status(s: &Snapshot) -> ThermalStatus {
    let zones = s
        .thermal
        .iter()
        .map(|z| {
            let throttle_trip_c = z.throttle_trip_c();
            ZoneView {
                id: z.id.clone(),
                name: z.name.clone(),
                source: z.source.clone(),
                temp_c: z.temp_c,
                online: z.online,
                offline_reason: z.offline_reason.clone(),
                trips: z.trips.clone(),
                throttle_trip_c,
                critical_trip_c: z.critical_trip_c(),
                headroom_c: match (throttle_trip_c, z.temp_c) {
                    (Some(trip), Some(t)) if z.online => Some(round2(trip - t)),
                    _ => None,
                },
            }
        })
        .collect();
    let hottest = s.hottest_zone();
    ThermalStatus {
        sample_time_unix_ms: s.time_unix_ms,
        zones,
        hottest_zone: hottest.map(|z| z.id.clone()),
        hottest_temp_c: hottest.and_then(|z| z.temp_c),
        offline_zones: s
            .thermal
            .iter()
            .filter(|z| !z.online)
            .map(|z| z.id.clone())
            .collect(),
        cooling: s.cooling.clone(),
        throttled: s.throttle.throttled,
        throttle_reasons: s.throttle.reasons.clone(),
        probe_errors: failures(&s.probe_errors, &["thermal", "hwmon"]),
    }
}

pub fn thermal_text(v: &ThermalStatus) -> String {
    let mut o = String::new();
    let online = v.zones.len() - v.offline_zones.len();
    match (&v.hottest_zone, v.hottest_temp_c) {
        (Some(id), Some(t)) => {
            let name = v
                .zones
                .iter()
                .find(|z| &z.id == id)
                .map_or(id.as_str(), |z| z.name.as_str());
            let _ = write!(o, "{online} zones online, hottest {name} {t:.1} °C");
        }
        _ => o.push_str("no readable thermal zone"),
    }
    if !v.offline_zones.is_empty() {
        let _ = write!(o, "; offline: {}", v.offline_zones.join(", "));
    }
    if v.throttled {
        let _ = write!(o, "; THROTTLED: {}", v.throttle_reasons.join("; "));
    } else {
        o.push_str("; not throttled");
    }
    push_failures(&mut o, &v.probe_errors);
    o
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MemoryStatus {
    pub sample_time_unix_ms: u64,
    pub total_mb: Option<f64>,
    pub available_mb: Option<f64>,
    pub used_mb: Option<f64>,
    /// `used_mb / total_mb` in percent.
    pub used_pct: Option<f64>,
    pub swap_total_mb: Option<f64>,
    pub swap_used_mb: Option<f64>,
    /// Jetson `NvMap` (GPU/multimedia buffers carved from RAM).
    pub nvmap_mb: Option<f64>,
    pub watched: Vec<WatchedProcess>,
    pub probe_errors: Vec<ProbeFailure>,
}

pub fn memory_status(s: &Snapshot) -> MemoryStatus {
    let m = &s.memory;
    MemoryStatus {
        sample_time_unix_ms: s.time_unix_ms,
        total_mb: m.total_mb,
        available_mb: m.available_mb,
        used_mb: m.used_mb,
        used_pct: match (m.used_mb, m.total_mb) {
            (Some(u), Some(t)) if t > 0.0 => Some(round2(100.0 * u / t)),
            _ => None,
        },
        swap_total_mb: m.swap_total_mb,
        swap_used_mb: m.swap_used_mb,
        nvmap_mb: m.nvmap_mb,
        watched: s.watched.clone(),
        probe_errors: failures(&s.probe_errors, &["memory"]),
    }
}

pub fn memory_text(v: &MemoryStatus) -> String {
    let mut o = format!(
        "RAM used {} of {} MB ({}), available {} MB; swap {} of {} MB",
        num(v.used_mb, 0),
        num(v.total_mb, 0),
        v.used_pct.map_or("—".into(), |p| format!("{p:.1} %")),
        num(v.available_mb, 0),
        num(v.swap_used_mb, 0),
        num(v.swap_total_mb, 0)
    );
    if let Some(n) = v.nvmap_mb {
        let _ = write!(o, "; NvMap {n:.0} MB");
    }
    for w in &v.watched {
        let _ = write!(
            o,
            "; {} {} {} MB{}{}",
            w.label(),
            if w.cgroup.is_some() { "memory" } else { "RSS" },
            num(w.rss_mb, 1),
            w.cpu_pct
                .map(|c| format!(", CPU {c:.1} %"))
                .unwrap_or_default(),
            if w.alive { "" } else { " (gone)" }
        );
    }
    push_failures(&mut o, &v.probe_errors);
    o
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GpuStatus {
    pub sample_time_unix_ms: u64,
    /// The snapshot's own GPU entries (`jetstress.snapshot/1` shape).
    pub gpus: Vec<Gpu>,
    pub probe_errors: Vec<ProbeFailure>,
}

pub fn gpu_status(s: &Snapshot) -> GpuStatus {
    GpuStatus {
        sample_time_unix_ms: s.time_unix_ms,
        gpus: s.gpus.clone(),
        probe_errors: failures(&s.probe_errors, &["gpu"]),
    }
}

pub fn gpu_text(v: &GpuStatus) -> String {
    let mut o = if v.gpus.is_empty() {
        "no GPU found".to_string()
    } else {
        String::new()
    };
    for (i, g) in v.gpus.iter().enumerate() {
        if i > 0 {
            o.push_str("; ");
        }
        let _ = write!(
            o,
            "{} ({}): load {} %, {} MHz of {} MHz, {} °C",
            g.name,
            g.kind,
            num(g.load_pct, 1),
            num(g.freq_mhz, 0),
            num(g.max_freq_mhz, 0),
            num(g.temp_c, 1)
        );
    }
    push_failures(&mut o, &v.probe_errors);
    o
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PowerStatus {
    pub sample_time_unix_ms: u64,
    pub rails: Vec<Rail>,
    /// `VDD_IN`/`POM_5V_IN` when present, else the sum of the rails.
    pub total_mw: Option<f64>,
    pub probe_errors: Vec<ProbeFailure>,
}

pub fn power_status(s: &Snapshot) -> PowerStatus {
    PowerStatus {
        sample_time_unix_ms: s.time_unix_ms,
        rails: s.power.rails.clone(),
        total_mw: s.power.total_mw,
        probe_errors: failures(&s.probe_errors, &["power"]),
    }
}

pub fn power_text(v: &PowerStatus) -> String {
    let mut o = if v.rails.is_empty() {
        "no power rails on this board".to_string()
    } else {
        let rails: Vec<String> = v
            .rails
            .iter()
            .map(|r| format!("{} {} mW", r.name, num(r.mw, 0)))
            .collect();
        format!("total {} mW ({})", num(v.total_mw, 0), rails.join(", "))
    };
    push_failures(&mut o, &v.probe_errors);
    o
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BoardInfo {
    pub sample_time_unix_ms: u64,
    pub model: Option<String>,
    pub soc: Option<String>,
    /// L4T release, e.g. `36.4.3`.
    pub l4t: Option<String>,
    pub nvpmodel_id: Option<u32>,
    pub nvpmodel_name: Option<String>,
    /// `null` when it cannot be judged (not a Jetson).
    pub jetson_clocks: Option<bool>,
    pub hostname: Option<String>,
    pub cpu_cores: u32,
    pub cpu_cores_online: u32,
    pub fans: Vec<Fan>,
    pub probe_errors: Vec<ProbeFailure>,
}

pub fn board_info(s: &Snapshot) -> BoardInfo {
    let b = &s.board;
    BoardInfo {
        sample_time_unix_ms: s.time_unix_ms,
        model: b.model.clone(),
        soc: b.soc.clone(),
        l4t: b.l4t.clone(),
        nvpmodel_id: b.nvpmodel.as_ref().and_then(|m| m.id),
        nvpmodel_name: b.nvpmodel.as_ref().and_then(|m| m.name.clone()),
        jetson_clocks: b.jetson_clocks,
        hostname: b.hostname.clone(),
        cpu_cores: s.cpu.cores.len() as u32,
        cpu_cores_online: s.cpu.cores.iter().filter(|c| c.online).count() as u32,
        fans: s.fans.clone(),
        probe_errors: failures(&s.probe_errors, &["board", "cpu"]),
    }
}

pub fn board_text(v: &BoardInfo) -> String {
    let mut o = v.model.clone().unwrap_or_else(|| "unknown model".into());
    if let Some(soc) = &v.soc {
        let _ = write!(o, ", SoC {soc}");
    }
    if let Some(l4t) = &v.l4t {
        let _ = write!(o, ", L4T {l4t}");
    }
    if v.nvpmodel_id.is_some() || v.nvpmodel_name.is_some() {
        let id = v.nvpmodel_id.map_or("?".into(), |i| i.to_string());
        let _ = write!(
            o,
            ", nvpmodel {id} {}",
            v.nvpmodel_name.as_deref().unwrap_or("")
        );
        o = o.trim_end().to_string();
    }
    if let Some(jc) = v.jetson_clocks {
        let _ = write!(o, ", jetson_clocks {}", if jc { "on" } else { "off" });
    }
    let _ = write!(
        o,
        ", {}/{} CPU cores online",
        v.cpu_cores_online, v.cpu_cores
    );
    for f in &v.fans {
        let _ = write!(
            o,
            ", fan {} {} % PWM {} rpm",
            f.name,
            num(f.pwm_pct, 0),
            num(f.rpm, 0)
        );
    }
    push_failures(&mut o, &v.probe_errors);
    o
}

fn push_failures(o: &mut String, f: &[ProbeFailure]) {
    for e in f {
        let _ = write!(o, "; probe {} failed: {}", e.probe, e.message);
    }
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "—".to_string(), |x| format!("{x:.digits$}"))
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{ThermalZone, Trip};

    fn zone(id: &str, t: Option<f64>) -> ThermalZone {
        ThermalZone {
            id: id.into(),
            name: format!("{id}-thermal"),
            source: "zone".into(),
            temp_c: t,
            online: t.is_some(),
            offline_reason: t.is_none().then(|| "power-gated".into()),
            mode: None,
            trips: vec![
                Trip {
                    kind: "passive".into(),
                    temp_c: 99.0,
                },
                Trip {
                    kind: "critical".into(),
                    temp_c: 104.5,
                },
            ],
        }
    }

    #[test]
    fn thermal_view_headroom_offline_and_text() {
        let mut s = Snapshot::empty();
        s.thermal = vec![
            zone("cpu", Some(45.5)),
            zone("cv0", None),
            zone("tj", Some(47.75)),
        ];
        s.probe_errors.push(ProbeError {
            probe: "collector".into(),
            message: "boom".into(),
        });
        s.probe_errors.push(ProbeError {
            probe: "memory".into(),
            message: "unrelated".into(),
        });
        let v = thermal_status(&s);
        assert_eq!(v.hottest_zone.as_deref(), Some("tj"));
        assert_eq!(v.offline_zones, vec!["cv0".to_string()]);
        assert_eq!(v.zones[0].headroom_c, Some(53.5));
        assert_eq!(v.zones[1].headroom_c, None);
        assert_eq!(
            v.probe_errors.len(),
            1,
            "only the collector's failure concerns thermal"
        );
        let t = thermal_text(&v);
        assert!(t.contains("hottest tj-thermal 47.8 °C"), "{t}");
        assert!(
            t.contains("offline: cv0") && t.contains("probe collector failed: boom"),
            "{t}"
        );
    }

    #[test]
    fn memory_view_percent_and_missing_values() {
        let mut s = Snapshot::empty();
        s.memory.total_mb = Some(1000.0);
        s.memory.used_mb = Some(250.0);
        let v = memory_status(&s);
        assert_eq!(v.used_pct, Some(25.0));
        let t = memory_text(&v);
        assert!(
            t.contains("used 250 of 1000 MB (25.0 %)") && t.contains("swap — of —"),
            "{t}"
        );
    }
}
