//! Power rails from INA3221 monitors: the hwmon layout (`JetPack` 5+,
//! `inN_label`/`inN_input` mV/`currN_input` mA) and the older iio layout
//! (`JetPack` 4, `rail_name_N`/`in_voltageN_input`/`in_currentN_input`/
//! `in_powerN_input`). Total = `VDD_IN`/`POM_5V_IN` when present, else the sum.

use super::sysfs::{list_dir, read_trimmed, Pinned, Root};
use crate::snapshot::{Power, Rail};

/// Should a channel with this label be shown? (`in7` "sum of shunt voltages"
/// and unconnected "NC" channels are not rails.)
pub fn is_rail_label(label: &str) -> bool {
    let l = label.trim();
    !l.is_empty()
        && !l.to_ascii_lowercase().contains("sum of shunt")
        && !l.split(['_', ' ', '-']).any(|w| w == "NC")
}

/// mW from mV and mA.
pub fn rail_mw(mv: Option<f64>, ma: Option<f64>) -> Option<f64> {
    Some(mv? * ma? / 1000.0)
}

/// The board's input rail if it has one, else the sum of all rails.
pub fn total_mw(rails: &[Rail]) -> Option<f64> {
    const INPUTS: [&str; 3] = ["VDD_IN", "POM_5V_IN", "VIN"];
    if let Some(r) = rails.iter().find(|r| INPUTS.contains(&r.name.as_str())) {
        return r.mw;
    }
    let mut sum = None;
    for r in rails {
        if let Some(mw) = r.mw {
            *sum.get_or_insert(0.0) += mw;
        }
    }
    sum
}

#[derive(Debug)]
struct Channel {
    name: String,
    mv: Pinned,
    ma: Pinned,
    /// iio only: the monitor's own power reading.
    mw: Option<Pinned>,
}

#[derive(Debug, Default)]
pub struct PowerProbe {
    channels: Vec<Channel>,
}

impl PowerProbe {
    pub fn discover(root: &Root) -> Self {
        let mut channels = Vec::new();
        for (_, dev) in list_dir(&root.path("sys/bus/i2c/drivers/ina3221"), "") {
            for (_, hw) in list_dir(&dev.join("hwmon"), "hwmon") {
                for n in 1..=8 {
                    let Some(label) = read_trimmed(&hw.join(format!("in{n}_label"))) else {
                        continue;
                    };
                    if !is_rail_label(&label) || !hw.join(format!("curr{n}_input")).exists() {
                        continue;
                    }
                    channels.push(Channel {
                        name: label,
                        mv: Pinned::new(hw.join(format!("in{n}_input"))),
                        ma: Pinned::new(hw.join(format!("curr{n}_input"))),
                        mw: None,
                    });
                }
            }
        }
        for (_, dev) in list_dir(&root.path("sys/bus/i2c/drivers/ina3221x"), "") {
            for (_, iio) in list_dir(&dev, "iio:device") {
                for n in 0..8 {
                    let Some(label) = read_trimmed(&iio.join(format!("rail_name_{n}"))) else {
                        continue;
                    };
                    if !is_rail_label(&label) {
                        continue;
                    }
                    let p = iio.join(format!("in_power{n}_input"));
                    channels.push(Channel {
                        name: label,
                        mv: Pinned::new(iio.join(format!("in_voltage{n}_input"))),
                        ma: Pinned::new(iio.join(format!("in_current{n}_input"))),
                        mw: p.exists().then(|| Pinned::new(p)),
                    });
                }
            }
        }
        PowerProbe { channels }
    }

    pub fn sample(&mut self) -> Power {
        let rails: Vec<Rail> = self
            .channels
            .iter_mut()
            .map(|c| {
                let mv = c.mv.read_int().map(|v| v as f64);
                let ma = c.ma.read_int().map(|v| v as f64);
                let mw =
                    c.mw.as_mut()
                        .and_then(Pinned::read_int)
                        .map(|v| v as f64)
                        .or_else(|| rail_mw(mv, ma));
                Rail {
                    name: c.name.clone(),
                    mv,
                    ma,
                    mw,
                }
            })
            .collect();
        Power {
            total_mw: total_mw(&rails),
            rails,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!(is_rail_label("VDD_GPU_SOC"));
        assert!(!is_rail_label("sum of shunt voltages"));
        assert!(!is_rail_label("NC"));
        assert!(!is_rail_label(""));
    }

    fn rail(name: &str, mw: f64) -> Rail {
        Rail {
            name: name.into(),
            mv: None,
            ma: None,
            mw: Some(mw),
        }
    }

    #[test]
    fn total_prefers_input_rail() {
        assert_eq!(
            total_mw(&[rail("VDD_CPU", 100.0), rail("VDD_IN", 5000.0)]),
            Some(5000.0)
        );
        assert_eq!(total_mw(&[rail("A", 100.0), rail("B", 50.0)]), Some(150.0));
        assert_eq!(total_mw(&[]), None);
        assert_eq!(rail_mw(Some(5000.0), Some(780.0)), Some(3900.0));
    }
}
