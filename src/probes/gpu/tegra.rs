//! Jetson iGPU via devfreq: `/sys/class/devfreq/*` whose `device/of_node/name`
//! is a known GPU (gv11b, gp10b, ga10b, gb10b, or anything with "gpu"); load is
//! per-mille in `device/load`, frequencies are Hz.

use super::super::sysfs::{list_dir, read_int, read_trimmed, Pinned, Root};
use crate::snapshot::Gpu;

const GPU_NODES: [&str; 4] = ["gv11b", "gp10b", "ga10b", "gb10b"];

/// Does a devfreq node name (or its directory name) denote the iGPU?
pub fn is_gpu_node(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    GPU_NODES.iter().any(|g| n.contains(g)) || n.contains("gpu")
}

/// Highest entry of `available_frequencies` (Hz, space separated).
pub fn parse_max_available(text: &str) -> Option<i64> {
    text.split_ascii_whitespace()
        .filter_map(|f| f.parse::<i64>().ok())
        .max()
}

fn hz_to_mhz(v: i64) -> f64 {
    v as f64 / 1_000_000.0
}

#[derive(Debug)]
struct Dev {
    name: String,
    cur: Pinned,
    max: Pinned,
    min: Pinned,
    load: Option<Pinned>,
    hw_max_mhz: Option<f64>,
    railgate: Option<bool>,
}

#[derive(Debug, Default)]
pub struct TegraGpuProbe {
    devs: Vec<Dev>,
}

impl TegraGpuProbe {
    pub fn discover(root: &Root) -> Self {
        let devs = list_dir(&root.path("sys/class/devfreq"), "")
            .into_iter()
            .filter_map(|(dir_name, path)| {
                let node = read_trimmed(&path.join("device/of_node/name"));
                let is_gpu = match &node {
                    Some(n) => is_gpu_node(n),
                    None => is_gpu_node(&dir_name),
                };
                if !is_gpu {
                    return None;
                }
                let dev = path.join("device");
                let load = dev.join("load");
                Some(Dev {
                    name: node.unwrap_or_else(|| dir_name.clone()),
                    cur: Pinned::new(path.join("cur_freq")),
                    max: Pinned::new(path.join("max_freq")),
                    min: Pinned::new(path.join("min_freq")),
                    load: load.exists().then(|| Pinned::new(load)),
                    hw_max_mhz: read_trimmed(&path.join("available_frequencies"))
                        .and_then(|t| parse_max_available(&t))
                        .map(hz_to_mhz),
                    railgate: read_int(&dev.join("railgate_enable")).map(|v| v != 0),
                })
            })
            .collect();
        TegraGpuProbe { devs }
    }

    pub fn sample(&mut self, out: &mut Vec<Gpu>) {
        for d in &mut self.devs {
            out.push(Gpu {
                kind: "tegra".to_string(),
                name: d.name.clone(),
                load_pct: d
                    .load
                    .as_mut()
                    .and_then(Pinned::read_int)
                    .map(|pm| pm as f64 / 10.0),
                freq_mhz: d.cur.read_int().map(hz_to_mhz),
                max_freq_mhz: d.max.read_int().map(hz_to_mhz),
                hw_max_freq_mhz: d.hw_max_mhz,
                min_freq_mhz: d.min.read_int().map(hz_to_mhz),
                railgated: d.railgate,
                ..Default::default()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_nodes() {
        for n in ["gv11b", "gp10b", "ga10b", "gpu", "17000000.gpu", "gb10b"] {
            assert!(is_gpu_node(n), "{n}");
        }
        assert!(!is_gpu_node("vic"));
        assert!(!is_gpu_node("15340000.vic"));
    }

    #[test]
    fn max_available_frequency() {
        assert_eq!(
            parse_max_available("306000000 408000000 1300500000\n"),
            Some(1300500000)
        );
        assert_eq!(parse_max_available(""), None);
    }
}
