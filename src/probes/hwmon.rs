//! Generic hwmon devices (`/sys/class/hwmon/hwmon*`): fans (PWM, tach, control
//! mode, plus the legacy Jetson `pwm-fan`), temperatures on non-Jetson machines
//! (coretemp, k10temp, nvme …) and the Jetson `soctherm_oc` over-current counters.

use std::path::Path;

use super::sysfs::{list_dir, read_int, read_trimmed, Pinned, Root};
use crate::snapshot::{Fan, ThermalZone, Trip};

/// `pwmN_enable`: 0 = disabled, 1 = manual (userspace), 2+ = automatic.
pub fn fan_control(enable: i64) -> &'static str {
    match enable {
        0 => "disabled",
        1 => "manual",
        _ => "auto",
    }
}

/// PWM duty 0–255 as percent.
pub fn pwm_pct(pwm: i64) -> f64 {
    (pwm.clamp(0, 255) as f64) * 100.0 / 255.0
}

/// Chips whose temperatures are not board sensors, or are read elsewhere.
fn skip_temp_chip(name: &str) -> bool {
    matches!(
        name,
        "ina3221" | "soctherm_oc" | "pwmfan" | "pwm_tach" | "pwm-fan"
    )
}

fn normalise(name: &str) -> String {
    name.to_ascii_lowercase().replace('-', "_")
}

#[derive(Debug)]
struct FanDev {
    name: String,
    pwm: Option<Pinned>,
    rpm: Option<Pinned>,
    enable: Option<Pinned>,
}

#[derive(Debug)]
struct TempSensor {
    id: String,
    name: String,
    input: Pinned,
    trips: Vec<Trip>,
}

#[derive(Debug)]
struct OcCounter {
    name: String,
    file: Pinned,
    last: Option<i64>,
}

#[derive(Debug, Default)]
pub struct HwmonProbe {
    fans: Vec<FanDev>,
    temps: Vec<TempSensor>,
    oc: Vec<OcCounter>,
}

fn pinned_if(p: &Path) -> Option<Pinned> {
    p.exists().then(|| Pinned::new(p.to_path_buf()))
}

impl HwmonProbe {
    /// `zone_names`: thermal zone types already read, so hwmon mirrors of them
    /// (e.g. `acpitz`) are not listed twice.
    pub fn discover<'a>(root: &Root, zone_names: impl Iterator<Item = &'a str>) -> Self {
        let zones: Vec<String> = zone_names.map(normalise).collect();
        let mut probe = HwmonProbe::default();
        let mut pwms = Vec::new();
        let mut tachs = Vec::new();
        for (id, dir) in list_dir(&root.path("sys/class/hwmon"), "hwmon") {
            let chip = read_trimmed(&dir.join("name")).unwrap_or_else(|| id.clone());
            if chip == "soctherm_oc" {
                for (file, path) in list_dir(&dir, "oc") {
                    if file.ends_with("_event_cnt") || file.ends_with("_irq_cnt") {
                        let name = file.split('_').next().unwrap_or(&file).to_string();
                        probe.oc.push(OcCounter {
                            name,
                            file: Pinned::new(path),
                            last: None,
                        });
                    }
                }
                continue;
            }
            let pwm = pinned_if(&dir.join("pwm1")).or_else(|| pinned_if(&dir.join("target_pwm")));
            let rpm = pinned_if(&dir.join("fan1_input")).or_else(|| pinned_if(&dir.join("rpm")));
            let enable = pinned_if(&dir.join("pwm1_enable"));
            match (pwm, rpm) {
                (Some(p), r) => pwms.push(FanDev {
                    name: chip.clone(),
                    pwm: Some(p),
                    rpm: r,
                    enable,
                }),
                (None, Some(r)) => tachs.push(FanDev {
                    name: chip.clone(),
                    pwm: None,
                    rpm: Some(r),
                    enable,
                }),
                (None, None) => {}
            }
            if skip_temp_chip(&chip) || zones.contains(&normalise(&chip)) {
                continue;
            }
            for (file, path) in list_dir(&dir, "temp") {
                let Some(n) = file
                    .strip_prefix("temp")
                    .and_then(|f| f.strip_suffix("_input"))
                else {
                    continue;
                };
                let label = read_trimmed(&dir.join(format!("temp{n}_label")))
                    .unwrap_or_else(|| format!("temp{n}"));
                let mut trips = Vec::new();
                for (suffix, kind) in [("max", "hot"), ("crit", "critical")] {
                    if let Some(v) = read_int(&dir.join(format!("temp{n}_{suffix}"))) {
                        if v > 0 && v < 1_000_000 {
                            trips.push(Trip {
                                kind: kind.to_string(),
                                temp_c: v as f64 / 1000.0,
                            });
                        }
                    }
                }
                probe.temps.push(TempSensor {
                    id: format!("{id}/temp{n}"),
                    name: format!("{chip}:{label}"),
                    input: Pinned::new(path),
                    trips,
                });
            }
        }
        // A PWM node and a tach node on separate hwmons (Jetson pwmfan +
        // pwm_tach) are one fan when there is exactly one of each.
        if pwms.len() == 1 && tachs.len() == 1 && pwms[0].rpm.is_none() {
            let t = tachs.pop().expect("one tach");
            pwms[0].rpm = t.rpm;
        }
        probe.fans.extend(pwms);
        probe.fans.extend(tachs);
        let legacy = root.path("sys/devices/pwm-fan");
        if probe.fans.is_empty() && legacy.is_dir() {
            probe.fans.push(FanDev {
                name: "pwm-fan".to_string(),
                pwm: pinned_if(&legacy.join("target_pwm")),
                rpm: pinned_if(&legacy.join("rpm_measured")),
                enable: None,
            });
        }
        probe
    }

    pub fn sample_fans(&mut self, out: &mut Vec<Fan>) {
        for f in &mut self.fans {
            out.push(Fan {
                name: f.name.clone(),
                pwm_pct: f.pwm.as_mut().and_then(Pinned::read_int).map(pwm_pct),
                rpm: f.rpm.as_mut().and_then(Pinned::read_int).map(|v| v as f64),
                control: f
                    .enable
                    .as_mut()
                    .and_then(Pinned::read_int)
                    .map(|v| fan_control(v).to_string()),
            });
        }
    }

    pub fn sample_temps(&mut self, out: &mut Vec<ThermalZone>) {
        for t in &mut self.temps {
            let (temp_c, offline_reason) = match super::thermal::classify_temp(t.input.read()) {
                Ok(c) => (Some(c), None),
                Err(r) => (None, Some(r.to_string())),
            };
            out.push(ThermalZone {
                id: t.id.clone(),
                name: t.name.clone(),
                source: "hwmon".to_string(),
                online: temp_c.is_some(),
                temp_c,
                offline_reason,
                mode: None,
                trips: t.trips.clone(),
            });
        }
    }

    /// Over-current counters that rose since the previous sample, as
    /// `(counter, increase)`. The first sample only sets the baseline.
    pub fn sample_oc_events(&mut self) -> Vec<(String, i64)> {
        let mut rose = Vec::new();
        for c in &mut self.oc {
            let Some(v) = c.file.read_int() else { continue };
            if let Some(last) = c.last {
                if v > last {
                    rose.push((c.name.clone(), v - last));
                }
            }
            c.last = Some(v);
        }
        rose
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pwm_and_control() {
        assert_eq!(pwm_pct(255), 100.0);
        assert_eq!(pwm_pct(0), 0.0);
        assert!((pwm_pct(128) - 50.196).abs() < 0.01);
        assert_eq!(fan_control(2), "auto");
        assert_eq!(fan_control(1), "manual");
        assert_eq!(fan_control(0), "disabled");
    }
}
