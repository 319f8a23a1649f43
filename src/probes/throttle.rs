//! Throttle state, derived (pure) from a sample: a zone at or over its passive/hot
//! trip, a frequency-limiting cooling device engaged, CPU or GPU capped below its
//! maximum, over-current counters rising — each as a human-readable reason.
//! Also judges whether `jetson_clocks` is active.

use crate::snapshot::{CoolingDevice, Cpu, Gpu, ThermalZone, Throttle};

/// Cooling devices that act by lowering clocks (fans do not throttle).
pub fn is_throttling_cooler(kind: &str) -> bool {
    let k = kind.to_ascii_lowercase();
    [
        "cpufreq",
        "devfreq",
        "gpufreq",
        "processor",
        "powerclamp",
        "cpu-balanced",
        "gpu-balanced",
    ]
    .iter()
    .any(|p| k.contains(p))
}

/// Format a list of core ids compactly: `[4,5,6,7,9]` → `4-7,9`.
pub fn format_ids(ids: &[u32]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let start = ids[i];
        let mut end = start;
        while i + 1 < ids.len() && ids[i + 1] == end + 1 {
            i += 1;
            end = ids[i];
        }
        parts.push(if start == end {
            format!("{start}")
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

pub fn derive_throttle(
    zones: &[ThermalZone],
    cooling: &[CoolingDevice],
    cpu: &Cpu,
    gpus: &[Gpu],
    oc_events: &[(String, i64)],
) -> Throttle {
    let mut reasons = Vec::new();
    for z in zones.iter().filter(|z| z.online) {
        let Some(t) = z.temp_c else { continue };
        if let Some(trip) = z
            .trips
            .iter()
            .filter(|tr| (tr.kind == "passive" || tr.kind == "hot") && t >= tr.temp_c)
            .min_by(|a, b| a.temp_c.total_cmp(&b.temp_c))
        {
            reasons.push(format!(
                "{} at {t:.1} °C ≥ {} trip {:.1} °C",
                z.name, trip.kind, trip.temp_c
            ));
        }
    }
    for c in cooling {
        if let (Some(cur), true) = (c.cur_state, is_throttling_cooler(&c.kind)) {
            if cur > 0 {
                let max = c.max_state.map(|m| format!("/{m}")).unwrap_or_default();
                reasons.push(format!(
                    "cooling device {} engaged (state {cur}{max})",
                    c.kind
                ));
            }
        }
    }
    // Group capped cores by (cap, max) so a capped cluster is one reason.
    let mut groups: Vec<(f64, f64, Vec<u32>)> = Vec::new();
    for core in cpu.cores.iter().filter(|c| c.online) {
        if let (Some(cap), Some(max)) = (core.cap_mhz, core.max_freq_mhz) {
            if cap + 0.5 < max {
                match groups.iter_mut().find(|g| g.0 == cap && g.1 == max) {
                    Some(g) => g.2.push(core.id),
                    None => groups.push((cap, max, vec![core.id])),
                }
            }
        }
    }
    for (cap, max, ids) in groups {
        let which = if ids.len() == 1 {
            "CPU core"
        } else {
            "CPU cores"
        };
        reasons.push(format!(
            "{which} {} capped at {cap:.0} MHz (max {max:.0} MHz)",
            format_ids(&ids)
        ));
    }
    for g in gpus {
        if let (Some(cap), Some(max)) = (g.max_freq_mhz, g.hw_max_freq_mhz) {
            if cap + 0.5 < max {
                reasons.push(format!(
                    "GPU {} capped at {cap:.0} MHz (max {max:.0} MHz)",
                    g.name
                ));
            }
        }
    }
    for (name, n) in oc_events {
        let what = match name.as_str() {
            "oc1" => " (under-voltage)",
            "oc2" => " (average over-current)",
            "oc3" => " (instantaneous over-current)",
            _ => "",
        };
        reasons.push(format!("over-current event {name}{what}: +{n}"));
    }
    Throttle {
        throttled: !reasons.is_empty(),
        reasons,
    }
}

/// `jetson_clocks` pins every online core's min to its max and the GPU's min to
/// its max. `None` when the frequencies needed to judge are missing.
pub fn jetson_clocks_active(cpu: &Cpu, gpus: &[Gpu]) -> Option<bool> {
    let mut judged = false;
    for c in cpu.cores.iter().filter(|c| c.online) {
        let (Some(min), Some(cap)) = (c.min_freq_mhz, c.cap_mhz) else {
            return None;
        };
        judged = true;
        if (min - cap).abs() > 0.5 {
            return Some(false);
        }
    }
    for g in gpus.iter().filter(|g| g.kind == "tegra") {
        if let (Some(min), Some(max)) = (g.min_freq_mhz, g.max_freq_mhz) {
            if (min - max).abs() > 0.5 {
                return Some(false);
            }
        }
    }
    judged.then_some(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{CpuCore, Trip};

    fn core(id: u32, cap: f64, max: f64) -> CpuCore {
        CpuCore {
            id,
            online: true,
            cap_mhz: Some(cap),
            max_freq_mhz: Some(max),
            ..Default::default()
        }
    }

    #[test]
    fn ids_compact() {
        assert_eq!(format_ids(&[4, 5, 6, 7, 9]), "4-7,9");
        assert_eq!(format_ids(&[0]), "0");
        assert_eq!(format_ids(&[]), "");
    }

    #[test]
    fn capped_cluster_is_one_reason() {
        let cpu = Cpu {
            util_pct: None,
            cores: vec![
                core(0, 2201.6, 2201.6),
                core(4, 1420.8, 2201.6),
                core(5, 1420.8, 2201.6),
            ],
        };
        let t = derive_throttle(&[], &[], &cpu, &[], &[]);
        assert!(t.throttled);
        assert_eq!(
            t.reasons,
            vec!["CPU cores 4-5 capped at 1421 MHz (max 2202 MHz)"]
        );
    }

    #[test]
    fn zone_over_passive_trip_and_coolers() {
        let z = ThermalZone {
            name: "BCPU-therm".into(),
            online: true,
            temp_c: Some(97.0),
            trips: vec![
                Trip {
                    kind: "passive".into(),
                    temp_c: 96.5,
                },
                Trip {
                    kind: "critical".into(),
                    temp_c: 101.0,
                },
            ],
            ..Default::default()
        };
        let fan = CoolingDevice {
            kind: "pwm-fan".into(),
            cur_state: Some(4),
            max_state: Some(10),
            ..Default::default()
        };
        let cf = CoolingDevice {
            kind: "thermal-cpufreq-0".into(),
            cur_state: Some(3),
            max_state: Some(10),
            ..Default::default()
        };
        let t = derive_throttle(&[z], &[fan, cf], &Cpu::default(), &[], &[("oc3".into(), 2)]);
        assert_eq!(t.reasons.len(), 3, "{:?}", t.reasons);
        assert!(t.reasons[0].contains("passive trip 96.5"));
        assert!(t.reasons[1].contains("thermal-cpufreq-0"));
        assert!(t.reasons[2].contains("instantaneous"));
    }

    #[test]
    fn calm_board_is_not_throttled() {
        let t = derive_throttle(
            &[],
            &[],
            &Cpu {
                util_pct: None,
                cores: vec![core(0, 1000.0, 1000.0)],
            },
            &[],
            &[],
        );
        assert!(!t.throttled);
        assert!(t.reasons.is_empty());
    }
}
